"""tickit_platform: the `tickit` tool. Airflow runs a dbt project over the tickit dataset, locally on DuckDB, in
production on MWAA; this package starts and watches it, loads the data, reports, keeps the history, deploys.

What runs inside Airflow is the other package, `tickit_runtime`: the tool imports it, never the reverse.
The tool's rooms, each importing only those listed before it (tests/unit/test_layering.py): settings;
data/; dbt_project/, warehouse/ (which reads PostgreSQL through data/'s connection); history/ (the run
record); reporting/; local/ (the local Airflow); deploy/; console; commands/ (one module per command
group); cli.
"""
