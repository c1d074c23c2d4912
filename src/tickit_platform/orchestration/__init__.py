"""The Cosmos DAG factory and the local Airflow runner behind `tickit run` and `tickit ui`."""
