"""Peer: a vanilla Cosmos DbtDag in ExecutionMode.WATCHER with Cosmos' defaults (airflow DAG, benchmark only)."""

from datetime import datetime

from cosmos import DbtDag, settings
from cosmos.constants import ExecutionMode
from peer_project import cosmos_arguments

# Cosmos' default is on; the benchmark's Airflow turns it off for every DAG (as `tickit` does), so this DAG
# turns it back on in its own processes (the producer reads it when it runs, in the process that parsed this).
settings.enable_watcher_reliable_retry = True

cosmos_watcher_defaults = DbtDag(
    dag_id="cosmos_watcher_defaults",
    start_date=datetime(2026, 1, 1),
    **cosmos_arguments(ExecutionMode.WATCHER),
)
