"""What the DAG needs at parse and run time, and nothing else: its configuration, the Cosmos DAG
factory, the model task, the kept dbt artifacts and the failure alerts. This folder ships to MWAA;
the local launcher lives in `local/`."""

import warnings

# Cosmos 1.15 still imports `airflow.DAG`, and Airflow 3 warns about it on every parse of the DAG: code
# that is not ours to change (the project itself uses airflow.sdk). Set here, before dag_factory imports
# Cosmos; only that one warning is ignored.
warnings.filterwarnings("ignore", message=r"Import 'DAG' directly from the airflow module is deprecated")
