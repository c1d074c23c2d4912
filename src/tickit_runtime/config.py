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
from typing import Any

from tickit_runtime import duckdb_limits, envvars
from tickit_runtime.alerts.settings import AlertSettings, variable_name
from tickit_runtime.artifacts import DEFAULT_KEEP_RUNS, HistoryConfig
from tickit_runtime.home import DEFAULT_HOME, HomeLayout
from tickit_runtime.paths import DBT_PROJECT_DIR
from tickit_runtime.redaction import masked, redacted_repr
from tickit_runtime.schemas import DEFAULT_TARGET_SCHEMA, WarehouseSchemas, check_prefix, prefix_from_env

DAG_ID = "dbt_tickit_medallion_dag"
DEFAULT_TASK_TIMEOUT_SECONDS = 3600.0
PROFILE_NAME = "dbt_tickit"
# The data interval the incremental silver models process (macros/data_interval.sql), passed as dbt vars by
# every dbt call of a run: a scheduled or backfill run's own day, empty for a manual run (all the data).
INTERVAL_VAR_NAMES = ("tickit_interval_start", "tickit_interval_end")
# A manual run's vars, which `dbt parse` is given too: dbt reuses a partial parse only under the same vars, so
# the parse that writes the manifest also seeds every task of a manual run with a parse it can reuse.
MANUAL_RUN_VARS: dict[str, str] = dict.fromkeys(INTERVAL_VAR_NAMES, "")

# What dbt reads from its own process's environment at run time (profiles.yml's `env_var`), never from the DAG:
# an operator's arguments (its `env` among them) are stored in the serialized DAG and its rendered fields, in
# Airflow's metadata database. The task processes inherit it: locally from the components `tickit` starts
# (`to_env`), on MWAA from the startup script's exports (docs/secrets.md).
RUN_TIME_SECRETS = (envvars.POSTGRES_PASSWORD,)

# The names the article's MWAA setup uses for its Airflow Variables; rendered at run time only.
REDSHIFT_ENV_TEMPLATES: dict[str, str] = {
    envvars.REDSHIFT_HOST: "{{ var.value.get('redshift_host', '') }}",
    envvars.REDSHIFT_DBNAME: "{{ var.value.get('redshift_database_name', 'dev') }}",
    envvars.REDSHIFT_USER: "{{ var.value.get('redshift_db_user', 'admin') }}",
    envvars.REDSHIFT_REGION: "{{ var.value.get('redshift_region', 'eu-central-1') }}",
    envvars.REDSHIFT_CLUSTER_ID: "{{ var.value.get('redshift_cluster_identifier', '') }}",
    envvars.REDSHIFT_WORKGROUP_NAME: "{{ var.value.get('redshift_workgroup_name', '') }}",
    envvars.S3_IAM_ROLE_ARN: "{{ var.value.get('tickit_source_iam_role_arn', '') }}",
    envvars.S3_REGION: "{{ var.value.get('tickit_source_s3_region', 'us-east-1') }}",
    # The S3 folder of the manifests COPY reads (`tickit deploy push` uploads them to raw-manifests/).
    envvars.S3_MANIFEST_URI: "{{ var.value.get('tickit_source_manifest_uri', '') }}",
    envvars.REDSHIFT_SCHEMA: "tickit",
    envvars.REDSHIFT_PORT: "5439",
}


def airflow_variable_names() -> list[str]:
    """The Airflow Variables the DAG reads: the templates above, and the alerts' settings (read when an alert
    is sent). Terraform sets the same names."""
    found = (re.search(r"var\.value\.get\('([^']+)'", t) for t in REDSHIFT_ENV_TEMPLATES.values())
    return [m[1] for m in found if m] + [variable_name(name) for name in envvars.ALERTS]


@dataclass(frozen=True)
class DagConfig:
    """What the DAG needs to know, from the process that starts Airflow to every process that parses it.

    Built once per command with the CLI's settings (`Settings.dag`), it crosses into Airflow's processes
    as environment variables: `to_env` writes them and `from_env` reads them back, the only two places
    that spell their names (through `envvars`). MWAA's startup script exports the same names.
    """

    target: str = "local"
    project_dir: Path = DBT_PROJECT_DIR
    home: Path = field(default_factory=lambda: DEFAULT_HOME.resolve())
    # None: the home's manifest (HomeLayout.manifest).
    manifest_path: Path = None  # type: ignore[assignment]
    raw_dir: Path | None = None
    dbt_executable: Path = Path("dbt")
    retries: int = 2
    retry_delay: timedelta = timedelta(seconds=30)
    # How often a model's task asks how the shared dbt build is going. Each look is a request to the API
    # server, and 17 tasks looking twice a second slowed the build itself by a third on two cores;
    # every 3 s costs at most 3 s of latency per task (benchmarks/README.md).
    poke_interval: float = 3.0
    # dbt's threads mostly wait on the engine and on reporting to Airflow, so more than the cores.
    dbt_threads: int = 4
    # The local warehouse's DuckDB: its memory limit (spilling to the home's temp folder past it) and threads,
    # the machine's share unless set (tickit_runtime/duckdb_limits.py).
    duckdb_memory_limit: str = field(default_factory=duckdb_limits.default_memory_limit)
    duckdb_threads: int = field(default_factory=duckdb_limits.machine_cores)
    # Every task's execution_timeout: a hung task (a dead connection, a lock never released) fails and
    # alerts instead of holding its slot and the run forever. A model's task waits for the whole shared
    # build, so this bounds the build too (docs/decisions/024-secrets-and-bounded-waits.md).
    task_timeout: timedelta = timedelta(seconds=DEFAULT_TASK_TIMEOUT_SECONDS)
    # The PostgreSQL target's connection variables (DBT_POSTGRES_*), handed to dbt as they were given.
    postgres: tuple[tuple[str, str], ...] = ()
    # Where failure alerts go (tickit_runtime/alerts); never handed to dbt.
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # Run history (tickit_runtime/artifacts.py): where run folders go (None: the home's runs/; on MWAA an
    # s3:// prefix) and how many runs stay.
    runs_uri: str | None = None
    keep_runs: int = DEFAULT_KEEP_RUNS
    # Starts every schema name the project writes ("" : the seed's names), so deployments can share a
    # database (tickit_runtime/schemas.py).
    schema_prefix: str = ""

    def __post_init__(self) -> None:
        envvars.check_target(self.target, envvars.TARGET)
        check_prefix(self.schema_prefix)
        object.__setattr__(self, "home", Path(self.home).expanduser().resolve())
        if self.manifest_path is None:
            object.__setattr__(self, "manifest_path", self.layout.manifest)
        if self.runs_uri is not None and "://" not in self.runs_uri:
            # A folder, made absolute here: Airflow's processes do not share the CLI's working directory.
            object.__setattr__(self, "runs_uri", str(Path(self.runs_uri).expanduser().resolve()))

    def __repr__(self) -> str:
        # The PostgreSQL password is named, never shown; the alerts' settings redact their own secrets.
        postgres = tuple((name, masked(v) if name == envvars.POSTGRES_PASSWORD else v) for name, v in self.postgres)
        return redacted_repr(self, postgres=postgres)

    @property
    def layout(self) -> HomeLayout:
        return HomeLayout(self.home)

    @property
    def warehouse_path(self) -> Path:
        return self.layout.warehouse

    @property
    def schemas(self) -> WarehouseSchemas:
        """The schemas this deployment's dbt writes and the readers of the warehouse read."""
        if self.target == "postgres":
            target_schema = dict(self.postgres).get(envvars.POSTGRES_SCHEMA) or DEFAULT_TARGET_SCHEMA
        elif self.target == "dwh":
            target_schema = REDSHIFT_ENV_TEMPLATES[envvars.REDSHIFT_SCHEMA]
        else:
            target_schema = DEFAULT_TARGET_SCHEMA
        return WarehouseSchemas(self.schema_prefix, target_schema)

    @property
    def history(self) -> HistoryConfig:
        return HistoryConfig(self.runs_uri or str(self.layout.runs), self.keep_runs)

    @property
    def lock_path(self) -> Path:
        """Serialises the dbt processes that write the DuckDB file (one writer per file)."""
        return self.layout.warehouse_lock

    @classmethod
    def for_home(cls, home: Path, target: str, env: Mapping[str, str]) -> DagConfig:
        """A local command's configuration: home and target as the CLI settled them, the DAG's tuning from
        `env`, the same mapping the settings were read from (`Settings.from_env` is the one caller)."""
        return cls(home=home, target=target, **_tuning(env))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> DagConfig:
        """The configuration `to_env` (or MWAA's startup script) wrote into this process's environment."""
        env = os.environ if env is None else env
        home = Path(envvars.text(env, envvars.HOME) or DEFAULT_HOME)
        tuning = _tuning(env)
        shipped = Path(tuning["project_dir"]) / "target" / "manifest.json"
        if tuning["manifest_path"] is None and envvars.text(env, envvars.HOME) is None and shipped.exists():
            # The MWAA bundle ships the manifest inside the project; there is no TICKIT_HOME there.
            tuning["manifest_path"] = shipped
        raw_dir = envvars.text(env, envvars.RAW_DIR)
        return cls(
            target=envvars.text(env, envvars.TARGET) or "local",
            home=home,
            raw_dir=Path(raw_dir) if raw_dir else None,
            **tuning,
        )

    def to_env(self) -> dict[str, str]:
        """The environment that makes `from_env` return this configuration in another process."""
        env = {
            envvars.HOME: str(self.home),
            envvars.TARGET: self.target,
            envvars.DBT_PROJECT_DIR: str(self.project_dir),
            envvars.DBT_MANIFEST: str(self.manifest_path),
            envvars.DBT_EXECUTABLE: str(self.dbt_executable),
            envvars.DBT_THREADS: str(self.dbt_threads),
            envvars.DUCKDB_MEMORY_LIMIT: self.duckdb_memory_limit,
            envvars.DUCKDB_THREADS: str(self.duckdb_threads),
            envvars.DAG_RETRIES: str(self.retries),
            envvars.DAG_RETRY_DELAY: str(self.retry_delay.total_seconds()),
            envvars.DAG_POKE_INTERVAL: str(self.poke_interval),
            envvars.DAG_TASK_TIMEOUT: str(self.task_timeout.total_seconds()),
            **dict(self.postgres),
            **self.alerts.to_env(),
            envvars.KEEP_RUNS: str(self.keep_runs),
        }
        if self.raw_dir is not None:
            env[envvars.RAW_DIR] = str(self.raw_dir)
        if self.schema_prefix:
            env[envvars.SCHEMA_PREFIX] = self.schema_prefix
        if self.runs_uri is not None:
            env[envvars.RUNS_URI] = self.runs_uri
        return env

    def operator_env(self) -> dict[str, str]:
        """The `env` of the DAG's dbt operators: `dbt_env` without the secrets (`RUN_TIME_SECRETS`), which dbt
        takes from the task process's own environment (Cosmos' local operators add theirs to it)."""
        return {name: value for name, value in self.dbt_env().items() if name not in RUN_TIME_SECRETS}

    def dbt_env(self) -> dict[str, str]:
        """Environment of a dbt process started now, secrets included (`tickit dbt`, the manifest, the docs);
        production values are templates. The DAG's operators take `operator_env`."""
        env = {
            envvars.DBT_TARGET: self.target,
            "DBT_PROFILES_DIR": str(self.project_dir),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "False",
            envvars.HOME: str(self.home),
            # Always set, empty included: a dbt process must never take a prefix from elsewhere.
            envvars.SCHEMA_PREFIX: self.schema_prefix,
            **dict(self.postgres),
        }
        if self.target == "dwh":
            env.update(REDSHIFT_ENV_TEMPLATES)
            env["DBT_THREADS"] = "4"
        else:
            env["DBT_DUCKDB_PATH"] = str(self.warehouse_path)
            env[envvars.PROFILE_DUCKDB_MEMORY_LIMIT] = self.duckdb_memory_limit
            env[envvars.PROFILE_DUCKDB_THREADS] = str(self.duckdb_threads)
            env[envvars.PROFILE_DUCKDB_TEMP_DIR] = str(self.layout.duckdb_temp)
            env["DBT_THREADS"] = str(self.dbt_threads)
            if self.raw_dir is not None:
                env[envvars.RAW_DIR] = str(self.raw_dir)
        return env


def _tuning(env: Mapping[str, str]) -> dict[str, Any]:
    """What the environment says beyond home and target: where dbt is, and how the DAG retries and polls."""
    manifest = envvars.text(env, envvars.DBT_MANIFEST)
    return {
        "project_dir": Path(envvars.text(env, envvars.DBT_PROJECT_DIR) or DBT_PROJECT_DIR),
        "manifest_path": Path(manifest) if manifest else None,
        "dbt_executable": Path(envvars.text(env, envvars.DBT_EXECUTABLE) or Path(sys.executable).parent / "dbt"),
        "retries": envvars.whole_number(env, envvars.DAG_RETRIES, 2),
        "retry_delay": timedelta(seconds=envvars.number(env, envvars.DAG_RETRY_DELAY, 30.0)),
        "poke_interval": envvars.number(env, envvars.DAG_POKE_INTERVAL, 3.0, minimum=0.1),
        "dbt_threads": envvars.whole_number(env, envvars.DBT_THREADS, 4, minimum=1),
        "duckdb_memory_limit": duckdb_limits.memory_limit(env),
        "duckdb_threads": duckdb_limits.threads(env),
        "task_timeout": timedelta(
            seconds=envvars.number(env, envvars.DAG_TASK_TIMEOUT, DEFAULT_TASK_TIMEOUT_SECONDS, minimum=1.0)
        ),
        "postgres": tuple((name, env[name]) for name in envvars.POSTGRES if name in env),
        "alerts": AlertSettings.from_env(env),
        # Ours first, else the Airflow options MWAA sets from Terraform's airflow_configuration_options.
        "runs_uri": envvars.text(env, envvars.RUNS_URI) or envvars.text(env, envvars.AIRFLOW_RUNS_URI),
        "keep_runs": envvars.whole_number(
            env,
            envvars.KEEP_RUNS if envvars.text(env, envvars.KEEP_RUNS) else envvars.AIRFLOW_KEEP_RUNS,
            DEFAULT_KEEP_RUNS,
            minimum=1,
        ),
        "schema_prefix": prefix_from_env(env),
    }
