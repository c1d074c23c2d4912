"""Peer: Cosmos' WATCHER as a careful user tunes it (airflow DAG, benchmark only).

The consumers look every second instead of every 10 s (Cosmos' default), and Cosmos'
incremental XCom backup is off (the benchmark's Airflow sets `[cosmos] enable_watcher_reliable_retry = False`
for every DAG, as `tickit` does). Otherwise Cosmos' defaults: a task per model and one per model's tests.
"""

from datetime import datetime

from cosmos import DbtDag, settings
from cosmos.constants import ExecutionMode
from peer_project import cosmos_arguments

settings.enable_watcher_reliable_retry = False

cosmos_watcher_tuned = DbtDag(
    dag_id="cosmos_watcher_tuned",
    start_date=datetime(2026, 1, 1),
    operator_args={"poke_interval": 1},
    **cosmos_arguments(ExecutionMode.WATCHER),
)
