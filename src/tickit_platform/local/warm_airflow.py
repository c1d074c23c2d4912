"""Run Airflow's own command line for one local component, prepared for this DAG.

- scheduler: LocalExecutor forks its workers from the scheduler and each task process from a worker, so
  modules imported here are inherited instead of imported again by every one of the DAG's tasks.
- DAG processor: it forks a process per parse, which inherits the same imports; and it does not parse the
  DAG file to run task success callbacks, which Airflow 3.3 requests for every task that ends in the
  triggerer and then ignores (`_execute_task_callbacks` returns at once for anything but a failure or retry;
  task success callbacks run where the task ran). At 1,000 model tasks each such parse costs seconds and
  they came back to back for the whole run.
- triggerer: a model trigger's workload is built without its DAG (orchestration/triggerer_dags.py).
"""

from __future__ import annotations

from typing import Any


def _import_dbt_and_cosmos() -> None:
    import cosmos  # noqa: F401
    import dbt.adapters.duckdb
    import dbt.cli.main  # noqa: F401

    import tickit_platform.orchestration.dag_factory  # noqa: F401


def is_ignored_callback(request: Any) -> bool:
    """A callback the DAG processor would parse the DAG file for, then skip: a task's success."""
    from airflow.callbacks.callback_requests import TaskCallbackRequest

    return isinstance(request, TaskCallbackRequest) and not request.is_failure_callback


def skip_task_success_callbacks() -> None:
    from airflow.dag_processing.manager import DagFileProcessorManager

    fetch = DagFileProcessorManager.fetch_callbacks

    def fetch_callbacks(self: Any) -> list[Any]:
        return [request for request in fetch(self) if not is_ignored_callback(request)]

    DagFileProcessorManager.fetch_callbacks = fetch_callbacks  # type: ignore[method-assign]


def prepare(component: str) -> None:
    if component in ("scheduler", "dag-processor"):
        _import_dbt_and_cosmos()
    if component == "dag-processor":
        skip_task_success_callbacks()
    if component == "triggerer":
        from tickit_platform.orchestration.triggerer_dags import install_in_triggerer_when_loaded

        install_in_triggerer_when_loaded()


def main() -> None:
    import sys

    from airflow.__main__ import main as airflow_main

    prepare(sys.argv[1] if len(sys.argv) > 1 else "")
    airflow_main()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    import sys

    sys.argv[0] = "airflow"
    main()
