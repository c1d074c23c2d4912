"""dbt_tickit_medallion_dag: the tickit medallion warehouse, one Airflow task per dbt model.

Cosmos reads the dbt project `dbt_tickit` (beside this file) from its manifest and renders its 17
models (7 bronze, 7 silver, 3 gold) as Airflow tasks with dbt's own dependency arrows. A failed model
fails only its own task; its downstream models are upstream_failed; everything else carries on.
Configuration comes from the environment (`tickit run`/`tickit ui` locally, the MWAA startup script
in production); production settings are Airflow Variables rendered at run time, never at parse time.
"""

from tickit_runtime.dag_factory import build_dag

# The word "DAG" must appear for the Airflow DAG processor to open this file (safe mode).
dbt_tickit_medallion_dag = build_dag()
