"""The local Airflow behind `tickit run` and `tickit ui`, and the one `tickit up` keeps running: its
components under TICKIT_HOME, one DAG run through the REST API. Never shipped to MWAA."""
