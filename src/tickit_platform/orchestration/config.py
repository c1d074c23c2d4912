"""Typed configuration of the DAG, read from the environment of the Airflow process parsing it.

The DAG file is parsed by Airflow's own processes, so the values travel as environment variables
(set by `tickit run`/`tickit ui` locally, by the startup script on MWAA). Nothing here touches the
network or the warehouse: parsing must stay fast and offline.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from tickit_platform.paths import DBT_PROJECT_DIR

DAG_ID = "dbt_tickit_medallion_dag"
PROFILE_NAME = "dbt_tickit"

# The names the article's MWAA setup uses for its Airflow Variables; rendered at run time only.
REDSHIFT_ENV_TEMPLATES: dict[str, str] = {
    "DBT_REDSHIFT_HOST": "{{ var.value.get('redshift_host', '') }}",
    "DBT_REDSHIFT_DBNAME": "{{ var.value.get('redshift_database_name', 'dev') }}",
    "DBT_REDSHIFT_USER": "{{ var.value.get('redshift_db_user', 'admin') }}",
    "DBT_REDSHIFT_REGION": "{{ var.value.get('redshift_region', 'eu-central-1') }}",
    "DBT_REDSHIFT_CLUSTER_ID": "{{ var.value.get('redshift_cluster_identifier', '') }}",
    "DBT_REDSHIFT_WORKGROUP_NAME": "{{ var.value.get('redshift_workgroup_name', '') }}",
    "DBT_TICKIT_S3_IAM_ROLE_ARN": "{{ var.value.get('tickit_source_iam_role_arn', '') }}",
    "DBT_TICKIT_S3_REGION": "{{ var.value.get('tickit_source_s3_region', 'us-east-1') }}",
    "DBT_REDSHIFT_SCHEMA": "tickit",
    "DBT_REDSHIFT_PORT": "5439",
}


def airflow_variable_names() -> list[str]:
    """The Airflow Variables the DAG reads, from the templates above (Terraform sets the same names)."""
    found = (re.search(r"var\.value\.get\('([^']+)'", t) for t in REDSHIFT_ENV_TEMPLATES.values())
    return [m[1] for m in found if m]


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number of seconds") from None


@dataclass(frozen=True)
class DagConfig:
    target: str = "local"
    project_dir: Path = DBT_PROJECT_DIR
    manifest_path: Path = DBT_PROJECT_DIR / "target" / "manifest.json"
    home: Path = field(default_factory=lambda: Path(".tickit").resolve())
    raw_dir: Path | None = None
    dbt_executable: Path = Path("dbt")
    retries: int = 2
    retry_delay: timedelta = timedelta(seconds=30)
    # How often a model's task asks how the shared dbt build is going. Each look is a request to the API
    # server, and 17 tasks looking twice a second slowed the build itself by a third on two cores;
    # every 3 s costs at most 3 s of latency per task (benchmarks/README.md).
    poke_interval: float = 3.0

    @property
    def warehouse_path(self) -> Path:
        return self.home / "warehouse" / "tickit.duckdb"

    @property
    def lock_path(self) -> Path:
        """Serialises the dbt processes that write the DuckDB file (one writer per file)."""
        return self.home / "warehouse" / "tickit.duckdb.writer-lock"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DagConfig:
        env = os.environ if env is None else env
        home = Path(env.get("TICKIT_HOME") or ".tickit").expanduser().resolve()
        project_dir = Path(env.get("TICKIT_DBT_PROJECT_DIR") or DBT_PROJECT_DIR)
        default_manifest = home / "dbt" / "manifest" / "manifest.json"
        if not env.get("TICKIT_HOME") and (project_dir / "target" / "manifest.json").exists():
            # The MWAA bundle ships the manifest inside the project; no TICKIT_HOME there.
            default_manifest = project_dir / "target" / "manifest.json"
        raw_dir = env.get("TICKIT_RAW_DIR")
        dbt = env.get("TICKIT_DBT_EXECUTABLE") or str(Path(sys.executable).parent / "dbt")
        return cls(
            target=env.get("TICKIT_TARGET") or "local",
            project_dir=project_dir,
            manifest_path=Path(env.get("TICKIT_DBT_MANIFEST") or default_manifest),
            home=home,
            raw_dir=Path(raw_dir) if raw_dir else None,
            dbt_executable=Path(dbt),
            retries=int(env.get("TICKIT_DAG_RETRIES") or 2),
            retry_delay=timedelta(seconds=_float(env, "TICKIT_DAG_RETRY_DELAY_SECONDS", 30.0)),
            poke_interval=_float(env, "TICKIT_DAG_POKE_INTERVAL_SECONDS", 3.0),
        )

    def dbt_env(self) -> dict[str, str]:
        """Environment of every dbt process the DAG starts; production values are templates."""
        env = {
            "DBT_TARGET": self.target,
            "DBT_PROFILES_DIR": str(self.project_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            "TICKIT_HOME": str(self.home),
        }
        if self.target == "dwh":
            env.update(REDSHIFT_ENV_TEMPLATES)
            env["DBT_THREADS"] = "4"
        else:
            env["DBT_DUCKDB_PATH"] = str(self.warehouse_path)
            # dbt's threads mostly wait on the engine and on reporting to Airflow, so more than the cores.
            env["DBT_THREADS"] = os.environ.get("TICKIT_DBT_THREADS") or "4"
            if self.raw_dir is not None:
                env["TICKIT_RAW_DIR"] = str(self.raw_dir)
        for name in (
            "DBT_POSTGRES_HOST",
            "DBT_POSTGRES_PORT",
            "DBT_POSTGRES_USER",
            "DBT_POSTGRES_DBNAME",
            "DBT_POSTGRES_PASSWORD",
            "DBT_POSTGRES_SCHEMA",
        ):
            if name in os.environ:
                env[name] = os.environ[name]
        return env
