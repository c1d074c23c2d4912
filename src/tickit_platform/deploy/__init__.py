"""Production on MWAA: the bundle (`bundle.py`), its upload and the environment's update (`push.py`,
`publish.py`, `aws.py`), DAG runs there (`mwaa.py`), and the bundle's local rehearsal (`rehearsal/`).

The bundle is a folder laid out like the MWAA environment's S3 bucket, ready for `aws s3 sync`.
`build_bundle` (in `bundle.py`) writes::

    dags/dbt_tickit_medallion_dag.py   the thin DAG file, as in the repository
    dags/.airflowignore                keeps the DAG processor out of the two folders below
    dags/dbt_tickit/                   the dbt project, plus its precompiled target/manifest.json
    dags/tickit_runtime/               what runs inside Airflow (src/tickit_runtime, whole): the DAG's code
    requirements.txt                   Airflow's constraints line + astronomer-cosmos, nothing else
    startup.sh                         the dbt virtualenv on the workers, and the DAG's environment
    plugins.zip                        tickit-dbt-wheels/: every wheel of that virtualenv, pinned by hash;
                                       airflow_local_settings.py: the triggerer change of decision 023
    bundle-manifest.txt                sha256 of every file above (`sha256sum -c` format)

Why the runtime goes inside `dags/` (and not into `plugins.zip` or a wheel): Airflow 3 puts the
DAG folder on `sys.path` wherever it parses a DAG file, both in the DAG processor and on the worker
that re-parses it to run a task, so `import tickit_runtime` resolves from
`/usr/local/airflow/dags/tickit_runtime` with no install step. It then travels with the same
`aws s3 sync` as the DAG file and the dbt project, so the three can never be out of step; a
`plugins.zip` change needs an environment update (a restart), and a wheel in `requirements.txt` needs
a package index the environment can reach. `dags/.airflowignore` lists `tickit_runtime/` and
`dbt_tickit/` so the DAG processor does not import the package's modules (several of them mention
"airflow" and "dag" and would pass its safe-mode check) as if they were DAG files.

Where the package finds the dbt project: `tickit_runtime/paths.py` resolves the project as
`<two folders above paths.py>/dags/dbt_tickit`, which is right in the repository (`src/...`) and in
the bundle alike (`/usr/local/airflow/dags/tickit_runtime/paths.py` gives
`/usr/local/airflow/dags/dbt_tickit`). The startup script nevertheless exports
`TICKIT_DBT_PROJECT_DIR` (and `TICKIT_DBT_MANIFEST`) explicitly, so production does not depend on
that coincidence of folder depths.
"""
