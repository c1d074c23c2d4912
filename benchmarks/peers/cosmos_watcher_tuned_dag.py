"""Peer: Cosmos' WATCHER as a careful user tunes it (airflow DAG, benchmark only).

The consumers look every second instead of every 10 s (Cosmos' default), Cosmos'
incremental XCom backup is off (the benchmark's Airflow sets `[cosmos] enable_watcher_reliable_retry = False`
for every DAG, as `tickit` does), and every task retries as the benchmarked DAG's do (2 retries, 30 s apart by
default): a consumer failed by Airflow's deferral race (benchmarks/README.md) is retried, as a user's would be.
Otherwise Cosmos' defaults: a task per model and one per model's tests.
"""

from datetime import datetime

from cosmos import DbtDag, settings
from cosmos.constants import ExecutionMode
from peer_project import cosmos_arguments, this_dags_retries

settings.enable_watcher_reliable_retry = False

cosmos_watcher_tuned = DbtDag(
    dag_id="cosmos_watcher_tuned",
    start_date=datetime(2026, 1, 1),
    operator_args={"poke_interval": 1},
    default_args=this_dags_retries(),
    **cosmos_arguments(ExecutionMode.WATCHER),
)
