"""The local Airflow behind `tickit run` and `tickit ui`: its components under TICKIT_HOME, one DAG run
through the REST API. Never shipped to MWAA."""
