"""Peer: a vanilla Cosmos DbtDag in ExecutionMode.LOCAL (airflow DAG, benchmark only).

A dbt process per task. DuckDB takes one writer at a time, so the DAG runs one task at a time
(max_active_tasks=1): run in parallel, its tasks fail on the file's lock.
"""

from datetime import datetime

from cosmos import DbtDag
from cosmos.constants import ExecutionMode
from peer_project import cosmos_arguments

cosmos_local = DbtDag(
    dag_id="cosmos_local",
    start_date=datetime(2026, 1, 1),
    max_active_tasks=1,
    **cosmos_arguments(ExecutionMode.LOCAL),
)
