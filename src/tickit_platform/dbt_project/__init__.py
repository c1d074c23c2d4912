"""The dbt project as files the platform builds from it: the manifest the DAG is rendered from (`dbt
parse` when the project changed) and the dbt docs site."""
