"""tickit-platform: Airflow runs a dbt project over the tickit dataset, locally on DuckDB, in production on MWAA.

Its rooms, each importing only those listed before it (tests/unit/test_layering.py):
errors, paths, envvars, home, settings; orchestration/ (the DAG's code, all that ships to MWAA with the
modules before it); data/, dbt_project/, warehouse/; history/ (the run record); reporting/; local/ (the
local Airflow); deploy/; console; commands/ (one module per command group); cli.
"""
