"""The environment variables the project reads, spelled once, and the one parser for their values.

Configuration crosses process boundaries as environment variables: from `tickit` to the Airflow it
starts, from MWAA's startup script to the DAG's tasks, into dbt's profiles. Every such name is a
constant here, so the writer (`DagConfig.to_env`, the startup script) and the readers
(`DagConfig.from_env`, `Settings.from_env`) cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from tickit_platform.errors import SettingsError

# Whether the changes to Airflow's and Cosmos' internals are made where verified (`verified`, the default) or
# refused (`none`), read where each Airflow component starts (orchestration/internals).
AIRFLOW_CHANGES = "TICKIT_AIRFLOW_CHANGES"

# The CLI's settings.
HOME = "TICKIT_HOME"
TARGET = "TICKIT_TARGET"
SCALE = "TICKIT_SCALE"
SEED = "TICKIT_SEED"
SOURCE = "TICKIT_SOURCE"

# What the DAG's processes need (DagConfig.to_env / from_env).
RAW_DIR = "TICKIT_RAW_DIR"
DBT_PROJECT_DIR = "TICKIT_DBT_PROJECT_DIR"
DBT_MANIFEST = "TICKIT_DBT_MANIFEST"
DBT_EXECUTABLE = "TICKIT_DBT_EXECUTABLE"
DBT_THREADS = "TICKIT_DBT_THREADS"
# DuckDB's memory limit (a size DuckDB reads: "1GB", "512MB") and threads for every dbt call on the local
# target; unset, derived from the machine (orchestration/duckdb_limits.py).
DUCKDB_MEMORY_LIMIT = "TICKIT_DUCKDB_MEMORY_LIMIT"
DUCKDB_THREADS = "TICKIT_DUCKDB_THREADS"
DAG_RETRIES = "TICKIT_DAG_RETRIES"
DAG_RETRY_DELAY = "TICKIT_DAG_RETRY_DELAY_SECONDS"
DAG_POKE_INTERVAL = "TICKIT_DAG_POKE_INTERVAL_SECONDS"
# How long one task of the DAG may run before Airflow fails it (its execution_timeout).
DAG_TASK_TIMEOUT = "TICKIT_DAG_TASK_TIMEOUT_SECONDS"

# Where the DAG's failure alerts go (orchestration/alerts); none set, no alerts. On MWAA the same settings
# are Airflow Variables (and an Airflow connection for the SMTP server), read when an alert is sent.
ALERT_SNS_TOPIC_ARN = "TICKIT_ALERT_SNS_TOPIC_ARN"
ALERT_WEBHOOK_URL = "TICKIT_ALERT_WEBHOOK_URL"
ALERT_SMTP_URL = "TICKIT_ALERT_SMTP_URL"
# A PEM file of the CA that signed the SMTP server's certificate (a private CA); none: the system's CAs.
ALERT_SMTP_CA_FILE = "TICKIT_ALERT_SMTP_CA_FILE"
ALERT_EMAIL_TO = "TICKIT_ALERT_EMAIL_TO"
ALERT_EMAIL_FROM = "TICKIT_ALERT_EMAIL_FROM"
ALERT_QUARANTINE_THRESHOLD = "TICKIT_ALERT_QUARANTINE_THRESHOLD"
# `true` lets the webhook be an http:// URL to another machine (its token then crosses the network in clear
# text); an http:// URL to this machine (loopback) needs no permission.
ALERT_WEBHOOK_ALLOW_HTTP = "TICKIT_ALERT_WEBHOOK_ALLOW_HTTP"
ALERTS = (
    ALERT_SNS_TOPIC_ARN,
    ALERT_WEBHOOK_URL,
    ALERT_SMTP_URL,
    ALERT_SMTP_CA_FILE,
    ALERT_EMAIL_TO,
    ALERT_EMAIL_FROM,
    ALERT_QUARANTINE_THRESHOLD,
    ALERT_WEBHOOK_ALLOW_HTTP,
)

# data/fetch.py: one URL in place of the official tickitdb.zip URLs (a mirror, or a local server in tests).
DATA_URL = "TICKIT_DATA_URL"

# Run history (orchestration/artifacts.py): where every DAG run's artifacts are kept (a folder or
# s3://bucket/prefix; default $TICKIT_HOME/runs) and how many runs are kept.
RUNS_URI = "TICKIT_RUNS_URI"
KEEP_RUNS = "TICKIT_KEEP_RUNS"
# The same two as the Airflow configuration options [tickit] runs_uri / keep_runs: Terraform hands them
# to MWAA that way, and MWAA exports each option to every Airflow process under this name.
AIRFLOW_RUNS_URI = "AIRFLOW__TICKIT__RUNS_URI"
AIRFLOW_KEEP_RUNS = "AIRFLOW__TICKIT__KEEP_RUNS"

# The PostgreSQL target's connection, read by profiles.yml and by the raw-file check before a run.
POSTGRES_HOST = "DBT_POSTGRES_HOST"
POSTGRES_PORT = "DBT_POSTGRES_PORT"
POSTGRES_USER = "DBT_POSTGRES_USER"
POSTGRES_DBNAME = "DBT_POSTGRES_DBNAME"
POSTGRES_PASSWORD = "DBT_POSTGRES_PASSWORD"  # pragma: allowlist secret (a variable name)
POSTGRES_SCHEMA = "DBT_POSTGRES_SCHEMA"
POSTGRES = (POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_DBNAME, POSTGRES_PASSWORD, POSTGRES_SCHEMA)
# The Redshift target's connection, read by profiles.yml; the DAG renders them from Airflow Variables.
REDSHIFT_HOST = "DBT_REDSHIFT_HOST"
REDSHIFT_DBNAME = "DBT_REDSHIFT_DBNAME"
REDSHIFT_USER = "DBT_REDSHIFT_USER"
REDSHIFT_REGION = "DBT_REDSHIFT_REGION"
REDSHIFT_CLUSTER_ID = "DBT_REDSHIFT_CLUSTER_ID"
REDSHIFT_WORKGROUP_NAME = "DBT_REDSHIFT_WORKGROUP_NAME"
REDSHIFT_SCHEMA = "DBT_REDSHIFT_SCHEMA"
REDSHIFT_PORT = "DBT_REDSHIFT_PORT"
# dbt's target, as profiles.yml reads it (also honoured by the CLI when TICKIT_TARGET is unset).
DBT_TARGET = "DBT_TARGET"
# Where Redshift's COPY reads the raw files, read by the dbt project's load macros (load_raw/redshift.sql);
# the DAG renders them from Airflow Variables (orchestration/config.py, REDSHIFT_ENV_TEMPLATES).
S3_IAM_ROLE_ARN = "DBT_TICKIT_S3_IAM_ROLE_ARN"
S3_REGION = "DBT_TICKIT_S3_REGION"
S3_MANIFEST_URI = "DBT_TICKIT_S3_MANIFEST_URI"
# What profiles.yml's DuckDB target reads for its `settings` (orchestration/duckdb_limits.py).
PROFILE_DUCKDB_MEMORY_LIMIT = "DBT_TICKIT_DUCKDB_MEMORY_LIMIT"
PROFILE_DUCKDB_THREADS = "DBT_TICKIT_DUCKDB_THREADS"
PROFILE_DUCKDB_TEMP_DIR = "DBT_TICKIT_DUCKDB_TEMP_DIR"

# Every name above that a DAG process reads: the startup script may export only these.
DAG_VARIABLES = (
    HOME,
    TARGET,
    RAW_DIR,
    DBT_PROJECT_DIR,
    DBT_MANIFEST,
    DBT_EXECUTABLE,
    DBT_THREADS,
    DUCKDB_MEMORY_LIMIT,
    DUCKDB_THREADS,
    DAG_RETRIES,
    DAG_RETRY_DELAY,
    DAG_POKE_INTERVAL,
    DAG_TASK_TIMEOUT,
    *ALERTS,
    RUNS_URI,
    KEEP_RUNS,
    *POSTGRES,
)

# startup.sh's values block, filled in by `tickit deploy build` (deploy/bundle.py) and read by the script
# itself on MWAA: shell variables of the script, never exported to Airflow.
STARTUP_DBT_REQUIREMENTS = "TICKIT_DBT_REQUIREMENTS"
STARTUP_DBT_LOCK_SHA256 = "TICKIT_DBT_LOCK_SHA256"
STARTUP_DBT_DOCS = "TICKIT_DBT_DOCS"
STARTUP_DOCS_TITLE = "TICKIT_DOCS_TITLE"

# A rehearsal's own (deploy/rehearsal/): the file the startup wrapper saves the script's environment to,
# and each Celery worker's host name, set by cluster.py and read by worker_hostname.py (which cannot import
# this module, so it spells the name itself; tests/unit/test_envvars_spelled_once.py holds the two equal).
STARTUP_ENV_FILE = "TICKIT_STARTUP_ENV_FILE"
REHEARSAL_HOSTNAME = "TICKIT_REHEARSAL_HOSTNAME"

# The warehouses a target can name (profiles.yml): DuckDB, PostgreSQL, Redshift.
TARGETS = ("local", "postgres", "dwh")


def check_target(target: str, source: str = "target") -> str:
    if target not in TARGETS:
        raise SettingsError(f"unknown {source} {target!r}: use one of {', '.join(TARGETS)}")
    return target


def text(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, None when unset or empty (an empty variable means "the default")."""
    value = env.get(name, "").strip()
    return value or None


def number(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = text(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number (e.g. {name}={default:g})") from None
    if not value >= minimum:  # also refuses nan
        raise SettingsError(f"{name}={raw!r} must be at least {minimum:g}")
    if value == float("inf"):
        raise SettingsError(f"{name}={raw!r} must be a finite number (e.g. {name}={default:g})")
    return value


FLAG_VALUES = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def flag(env: Mapping[str, str], name: str) -> bool | None:
    """A yes/no setting; None when unset (so that another source, an Airflow Variable, may decide)."""
    raw = text(env, name)
    if raw is None:
        return None
    try:
        return FLAG_VALUES[raw.lower()]
    except KeyError:
        raise SettingsError(f"{name}={raw!r} is not true or false (e.g. {name}=true)") from None


def whole_number(env: Mapping[str, str], name: str, default: int, *, minimum: int = 0) -> int:
    raw = text(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number (e.g. {name}={default})") from None
    if value < minimum:
        raise SettingsError(f"{name}={raw!r} must be at least {minimum}")
    return value
