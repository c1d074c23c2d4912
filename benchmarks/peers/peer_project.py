"""What the peer DAGs share with the benchmarked DAG: the same dbt project, manifest, profile and warehouse.

Read from the environment `tickit` gives every Airflow component (DagConfig.to_env), so the peers run dbt
exactly as the benchmarked DAG's tasks do: the same profiles.yml, target, DuckDB file and its limits.
Installed beside the peer DAG files by benchmarks/dag_benchmark.py (`--peers`), never into dags/.
"""

from __future__ import annotations

from typing import Any

from cosmos import ExecutionConfig, ProfileConfig, ProjectConfig, RenderConfig
from cosmos.constants import ExecutionMode, LoadMode

from tickit_runtime.config import PROFILE_NAME, DagConfig


def this_dags_retries() -> dict[str, Any]:
    """The benchmarked DAG's retries and their delay, as default_args: what a careful user sets too."""
    config = DagConfig.from_env()
    return {"retries": config.retries, "retry_delay": config.retry_delay}


def cosmos_arguments(mode: ExecutionMode) -> dict[str, Any]:
    """A DbtDag's arguments as a new user writes them from Cosmos' docs, on our project: its defaults."""
    config = DagConfig.from_env()
    return {
        "project_config": ProjectConfig(
            dbt_project_path=config.project_dir,
            manifest_path=config.manifest_path,
            install_dbt_deps=False,
            env_vars=config.dbt_env(),
        ),
        "profile_config": ProfileConfig(
            profile_name=PROFILE_NAME,
            target_name=config.target,
            profiles_yml_filepath=config.project_dir / "profiles.yml",
        ),
        "execution_config": ExecutionConfig(execution_mode=mode),
        # From the manifest, as the benchmarked DAG: no `dbt ls` at every parse.
        "render_config": RenderConfig(load_method=LoadMode.DBT_MANIFEST),
        "schedule": None,
        "catchup": False,
        "max_active_runs": 1,
        "tags": ["benchmark-peer"],
    }
