"""tickit_runtime: what runs inside Airflow's processes, and ships to MWAA whole (docs/decisions/038).

The DAG's configuration and factory, the model tasks and their trigger, the build's results, the kept dbt
artifacts, the failure alerts, the changes to Airflow's and Cosmos' internals (`internals/`, made only where
verified, never on import), Cosmos' private API behind `cosmos_watcher.py`, and `airflow_local_settings.py`.
It imports nothing of the `tickit` tool (`tickit_platform`), which imports it (tests/unit/test_layering.py).
"""

import warnings

# Cosmos 1.15 still imports `airflow.DAG`, and Airflow 3 warns about it on every parse of the DAG: code
# that is not ours to change (the project itself uses airflow.sdk). Set here, before dag_factory imports
# Cosmos; only that one warning is ignored.
warnings.filterwarnings("ignore", message=r"Import 'DAG' directly from the airflow module is deprecated")
