"""The environment variables the project reads, spelled once, and the one parser for their values.

Configuration crosses process boundaries as environment variables: from `tickit` to the Airflow it
starts, from MWAA's startup script to the DAG's tasks, into dbt's profiles. Every such name is a
constant here, so the writer (`DagConfig.to_env`, the startup script) and the readers
(`DagConfig.from_env`, `Settings.from_env`) cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from tickit_runtime.errors import SettingsError

# Whether the changes to Airflow's and Cosmos' internals are made where verified (`verified`, the default) or
# refused (`none`), read where each Airflow component starts (tickit_runtime/internals).
AIRFLOW_CHANGES = "TICKIT_AIRFLOW_CHANGES"
"""`verified` makes this project's changes to Airflow's and Cosmos' internals where they were verified (model tasks
then wait in Airflow's triggerer); `none` refuses every one of them, as an Airflow they were never verified on
would: model tasks then wait in worker processes (slower, never the triggerer's hang). See decision 029. Default:
`verified`.
"""

# The CLI's settings.
HOME = "TICKIT_HOME"
"""Where everything a command writes lives: downloads, synthetic files, the DuckDB warehouse, Airflow's metadata and
logs, dbt's files, the kept runs, reports. Delete it and the machine is as before. The flag `--home` wins.
"""
TARGET = "TICKIT_TARGET"
"""The warehouse: `local` (DuckDB, a file under the home), `postgres` (PostgreSQL, `DBT_POSTGRES_*`) or `dwh`
(Redshift, on MWAA). The flag `--target` wins; when unset, `DBT_TARGET` is read.
"""
SCALE = "TICKIT_SCALE"
"""Size of synthetic data: 1 is the official row counts. The flag `--scale` wins."""
SEED = "TICKIT_SEED"
"""Seed of synthetic data: the same seed gives the same files. The flag `--seed` wins."""
SOURCE = "TICKIT_SOURCE"
"""The data to load instead of the official download: a local zip, a folder of the seven files, or a URL of a zip. The
flag `--source` wins. Default: the official `tickitdb.zip`.
"""

# What the DAG's processes need (DagConfig.to_env / from_env).
RAW_DIR = "TICKIT_RAW_DIR"
"""Set by `tickit` for Airflow's processes: the folder of the seven raw files the DAG's load reads."""
# Starts the name of every schema the project writes ("<prefix>_raw", …; none: the plain names), so that two
# deployments share one database without touching each other's tables (tickit_runtime/schemas.py); dbt reads
# it too (macros/generate_schema_name.sql, the sources' YAML). On MWAA Terraform sets the Airflow option
# [tickit] schema_prefix, which MWAA exports under the second name.
SCHEMA_PREFIX = "TICKIT_SCHEMA_PREFIX"
"""Starts the name of every schema the project writes (`<prefix>_raw`, `<prefix>_bronze`, …): two deployments or
people share one PostgreSQL or Redshift database without touching each other's tables. A lower-case letter, then
at most 39 lower-case letters, digits or underscores. Default: none (the plain names `raw`, `bronze`, `silver`,
`gold`).
"""
AIRFLOW_SCHEMA_PREFIX = "AIRFLOW__TICKIT__SCHEMA_PREFIX"
"""The schema prefix on MWAA: Terraform's `schema_prefix` becomes the Airflow option `[tickit] schema_prefix`, which
MWAA exports under this name."""
DBT_PROJECT_DIR = "TICKIT_DBT_PROJECT_DIR"
"""Set by `tickit` for Airflow's processes: the dbt project the DAG renders. Default: `dags/dbt_tickit`."""
DBT_MANIFEST = "TICKIT_DBT_MANIFEST"
"""Set by `tickit` for Airflow's processes: the dbt manifest the DAG is built from (no dbt process at parse time).
Default: under the home's `dbt/manifest/`, or the one shipped beside the DAG on MWAA.
"""
DBT_EXECUTABLE = "TICKIT_DBT_EXECUTABLE"
"""Set by `tickit` for Airflow's processes (and by the startup script on MWAA): the dbt program the tasks run. Default:
the `dbt` beside the running Python.
"""
DBT_THREADS = "TICKIT_DBT_THREADS"
"""dbt threads on the local targets (the shared build runs this many models at once)."""
# DuckDB's memory limit (a size DuckDB reads: "1GB", "512MB") and threads for every dbt call on the local
# target; unset, derived from the machine (tickit_runtime/duckdb_limits.py).
DUCKDB_MEMORY_LIMIT = "TICKIT_DUCKDB_MEMORY_LIMIT"
"""DuckDB's memory limit for every dbt call on the local target, as DuckDB reads a size (`4GB`, `512MB`); past it,
DuckDB spills to the home's `tmp/`; unset, half the machine's memory, at least 1 GiB."""
DUCKDB_THREADS = "TICKIT_DUCKDB_THREADS"
"""DuckDB's threads for every dbt call on the local target; unset, the machine's cores."""
DAG_RETRIES = "TICKIT_DAG_RETRIES"
"""How many times a failed task of the DAG is retried."""
DAG_RETRY_DELAY = "TICKIT_DAG_RETRY_DELAY_SECONDS"
"""Seconds between a task's failure and its retry."""
DAG_POKE_INTERVAL = "TICKIT_DAG_POKE_INTERVAL_SECONDS"
"""How often, in seconds, a model task checks the shared dbt build for its model (when it waits in a worker)."""
# How long one task of the DAG may run before Airflow fails it (its execution_timeout).
DAG_TASK_TIMEOUT = "TICKIT_DAG_TASK_TIMEOUT_SECONDS"
"""Every task's `execution_timeout`, in seconds: a task still running then fails (and alerts) instead of holding the
run. A model's task waits for the whole shared build, so this bounds the build too; a task waits for the DuckDB
writer lock at most half of it, then fails naming the lock's holder.
"""

# Where the DAG's failure alerts go (tickit_runtime/alerts); none set, no alerts. On MWAA the same settings
# are Airflow Variables (and an Airflow connection for the SMTP server), read when an alert is sent.
ALERT_SNS_TOPIC_ARN = "TICKIT_ALERT_SNS_TOPIC_ARN"
"""Send failure alerts to this Amazon SNS topic (boto3's usual credentials). On MWAA: the Airflow Variable
`tickit_alert_sns_topic_arn`, set by Terraform.
"""
ALERT_WEBHOOK_URL = "TICKIT_ALERT_WEBHOOK_URL"
"""Send failure alerts to this chat webhook (Slack-compatible `{"text": ...}`), over https; http only to this machine
unless `TICKIT_ALERT_WEBHOOK_ALLOW_HTTP=true`. A secret: never printed or logged.
"""
ALERT_SMTP_URL = "TICKIT_ALERT_SMTP_URL"
"""Send failure alerts by mail through this server: an `smtp://` URL (port 587, STARTTLS, required with a login) or
`smtps://` (port 465), with the login as the URL's user and password. A secret: never printed or logged. On MWAA:
the Airflow connection `tickit_alert_smtp` or the Variable `tickit_alert_smtp_url`.
"""
# A PEM file of the CA that signed the SMTP server's certificate (a private CA); none: the system's CAs.
ALERT_SMTP_CA_FILE = "TICKIT_ALERT_SMTP_CA_FILE"
"""A PEM file of the CA that signed the SMTP server's certificate (a private CA). Default: the system's CAs."""
ALERT_EMAIL_TO = "TICKIT_ALERT_EMAIL_TO"
"""Who gets the mail alerts: addresses separated by commas."""
ALERT_EMAIL_FROM = "TICKIT_ALERT_EMAIL_FROM"
"""The mail alerts' sender address."""
ALERT_QUARANTINE_THRESHOLD = "TICKIT_ALERT_QUARANTINE_THRESHOLD"
"""Alert when a load quarantines more lines of a file than this. Default: `0` (any quarantined line)."""
# `true` lets the webhook be an http:// URL to another machine (its token then crosses the network in clear
# text); an http:// URL to this machine (loopback) needs no permission.
ALERT_WEBHOOK_ALLOW_HTTP = "TICKIT_ALERT_WEBHOOK_ALLOW_HTTP"
"""`true` lets the webhook be an http:// URL to another machine (its token then crosses the network in clear text).
Default: `false`.
"""
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
"""Where `tickit data fetch` downloads the zip from, in place of the official URLs (a mirror). Default: the official
URLs.
"""

# Run history (tickit_runtime/artifacts.py): where every DAG run's artifacts are kept (a folder or
# s3://bucket/prefix; default $TICKIT_HOME/runs) and how many runs are kept.
RUNS_URI = "TICKIT_RUNS_URI"
"""Where the DAG's tasks keep each run's dbt artifacts, `tickit run` records the run, and `tickit runs` and `tickit
report` read them: a folder, or `s3://bucket/prefix` on MWAA (the command line needs a folder). Default: the home's
`runs/`.
"""
KEEP_RUNS = "TICKIT_KEEP_RUNS"
"""How many runs the run history keeps; each keeper deletes older run folders."""
# The same two as the Airflow configuration options [tickit] runs_uri / keep_runs: Terraform hands them
# to MWAA that way, and MWAA exports each option to every Airflow process under this name.
AIRFLOW_RUNS_URI = "AIRFLOW__TICKIT__RUNS_URI"
"""Set by MWAA from the Airflow option `tickit.runs_uri`, which Terraform sets: `TICKIT_RUNS_URI` under Airflow's name.
"""
AIRFLOW_KEEP_RUNS = "AIRFLOW__TICKIT__KEEP_RUNS"
"""Set by MWAA from the Airflow option `tickit.keep_runs`, which Terraform sets: `TICKIT_KEEP_RUNS` under Airflow's
name.
"""

# The PostgreSQL target's connection, read by profiles.yml and by the raw-file check before a run.
POSTGRES_HOST = "DBT_POSTGRES_HOST"
"""The PostgreSQL target's server. It must run on this machine: it reads the raw files itself."""
POSTGRES_PORT = "DBT_POSTGRES_PORT"
"""The PostgreSQL target's port."""
POSTGRES_USER = "DBT_POSTGRES_USER"
"""The PostgreSQL target's role: a superuser or a member of `pg_read_server_files`."""
POSTGRES_DBNAME = "DBT_POSTGRES_DBNAME"
"""The PostgreSQL target's database."""
POSTGRES_PASSWORD = "DBT_POSTGRES_PASSWORD"  # pragma: allowlist secret (a variable name)
"""The PostgreSQL target's password. A secret: never printed or logged."""
POSTGRES_SCHEMA = "DBT_POSTGRES_SCHEMA"
"""The PostgreSQL target's base schema; the layers are built in schemas named after it."""
POSTGRES = (POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, POSTGRES_DBNAME, POSTGRES_PASSWORD, POSTGRES_SCHEMA)
# The Redshift target's connection, read by profiles.yml; the DAG renders them from Airflow Variables.
REDSHIFT_HOST = "DBT_REDSHIFT_HOST"
"""The Redshift target's endpoint. On MWAA the DAG sets it from the Airflow Variable `redshift_host`."""
REDSHIFT_DBNAME = "DBT_REDSHIFT_DBNAME"
"""The Redshift target's database. On MWAA: the Variable `redshift_database_name`."""
REDSHIFT_USER = "DBT_REDSHIFT_USER"
"""The Redshift target's database user (IAM authentication, no password). On MWAA: the Variable `redshift_db_user`."""
REDSHIFT_REGION = "DBT_REDSHIFT_REGION"
"""The Redshift target's AWS region. On MWAA: the Variable `redshift_region`."""
REDSHIFT_CLUSTER_ID = "DBT_REDSHIFT_CLUSTER_ID"
"""A provisioned Redshift cluster to build in; set exactly one of it and `DBT_REDSHIFT_WORKGROUP_NAME` (decision 007).
On MWAA: the Variable `redshift_cluster_identifier`.
"""
REDSHIFT_WORKGROUP_NAME = "DBT_REDSHIFT_WORKGROUP_NAME"
"""A Redshift Serverless workgroup to build in; set exactly one of it and `DBT_REDSHIFT_CLUSTER_ID`. On MWAA: the
Variable `redshift_workgroup_name`.
"""
REDSHIFT_SCHEMA = "DBT_REDSHIFT_SCHEMA"
"""The Redshift target's base schema."""
REDSHIFT_PORT = "DBT_REDSHIFT_PORT"
"""The Redshift target's port."""
REDSHIFT = (
    REDSHIFT_HOST,
    REDSHIFT_DBNAME,
    REDSHIFT_USER,
    REDSHIFT_REGION,
    REDSHIFT_CLUSTER_ID,
    REDSHIFT_WORKGROUP_NAME,
    REDSHIFT_SCHEMA,
    REDSHIFT_PORT,
)
# dbt's target, as profiles.yml reads it (also honoured by the CLI when TICKIT_TARGET is unset).
DBT_TARGET = "DBT_TARGET"
"""dbt's target, as `profiles.yml` reads it; `tickit` reads it too when `TICKIT_TARGET` is unset."""
# Where Redshift's COPY reads the raw files, read by the dbt project's load macros (load_raw/redshift.sql);
# the DAG renders them from Airflow Variables (tickit_runtime/config.py, REDSHIFT_ENV_TEMPLATES).
S3_IAM_ROLE_ARN = "DBT_TICKIT_S3_IAM_ROLE_ARN"
"""The IAM role Redshift's COPY assumes to read the raw files. On MWAA: the Variable `tickit_source_iam_role_arn`."""
S3_REGION = "DBT_TICKIT_S3_REGION"
"""The region of the raw files' bucket. On MWAA: the Variable `tickit_source_s3_region`."""
S3_MANIFEST_URI = "DBT_TICKIT_S3_MANIFEST_URI"
"""The S3 folder of the manifests naming each raw file's exact key (the bundle's `raw-manifests/`). On MWAA: the
Variable `tickit_source_manifest_uri`.
"""
# What profiles.yml's DuckDB target reads for its `settings` (tickit_runtime/duckdb_limits.py).
PROFILE_DUCKDB_MEMORY_LIMIT = "DBT_TICKIT_DUCKDB_MEMORY_LIMIT"
"""Set by `tickit` for dbt: the DuckDB memory limit `profiles.yml` applies (from `TICKIT_DUCKDB_MEMORY_LIMIT`)."""
PROFILE_DUCKDB_THREADS = "DBT_TICKIT_DUCKDB_THREADS"
"""Set by `tickit` for dbt: the DuckDB threads `profiles.yml` applies (from `TICKIT_DUCKDB_THREADS`)."""
PROFILE_DUCKDB_TEMP_DIR = "DBT_TICKIT_DUCKDB_TEMP_DIR"
"""Set by `tickit` for dbt: the folder DuckDB spills to (the home's `tmp/`)."""

# Every name above that a DAG process reads: the startup script may export only these.
DAG_VARIABLES = (
    HOME,
    TARGET,
    RAW_DIR,
    SCHEMA_PREFIX,
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
"""Set by `tickit deploy build` in MWAA's startup script: the dbt virtualenv's pinned requirements."""
STARTUP_DBT_LOCK_SHA256 = "TICKIT_DBT_LOCK_SHA256"
"""Set by `tickit deploy build` in MWAA's startup script: the checksum the script checks `plugins.zip` against."""
STARTUP_DBT_DOCS = "TICKIT_DBT_DOCS"
"""Set by `tickit deploy build` in MWAA's startup script: where the dbt docs are in the bundle."""
STARTUP_DOCS_TITLE = "TICKIT_DOCS_TITLE"
"""Set by `tickit deploy build` in MWAA's startup script: the dbt docs' title in Airflow's menu."""

# A rehearsal's own (deploy/rehearsal/): the file the startup wrapper saves the script's environment to,
# and each Celery worker's host name, set by cluster.py and read by worker_hostname.py (which cannot import
# this module, so it spells the name itself; tests/unit/test_envvars_spelled_once.py holds the two equal).
STARTUP_ENV_FILE = "TICKIT_STARTUP_ENV_FILE"
"""Set by `tickit deploy rehearse`: the file the startup script's environment is saved to."""
REHEARSAL_HOSTNAME = "TICKIT_REHEARSAL_HOSTNAME"
"""Set by `tickit deploy rehearse`: each Celery worker's host name, as Airflow shows it."""

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
