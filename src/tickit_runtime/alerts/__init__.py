"""Failure alerts through Airflow's notifiers: what a message says (`messages`), where it goes
(`settings`, `channels`) and the notifiers the DAG hangs on its callbacks (`notifiers`)."""
