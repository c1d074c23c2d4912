"""Run Airflow's own command line after importing what every task of this DAG needs.

LocalExecutor forks its workers from the scheduler and each task process from a worker, so modules
imported here are inherited instead of imported again by every one of the DAG's tasks.
"""

from __future__ import annotations


def main() -> None:
    import cosmos  # noqa: F401
    import dbt.adapters.duckdb
    import dbt.cli.main  # noqa: F401
    from airflow.__main__ import main as airflow_main

    import tickit_platform.orchestration.dag_factory  # noqa: F401

    airflow_main()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    import sys

    sys.argv[0] = "airflow"
    main()
