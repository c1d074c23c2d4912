"""The run record and the kept runs: a DAG run's types and `run.json` (`record.py`), the run folders
(`runs.py`, `tickit runs`), the summary of a run's data read once when it ends (`summary.py`), and the
trends over the kept runs the report charts (`trends.py`)."""
