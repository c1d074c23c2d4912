"""The rehearsal, step by step: MWAA's runtime, startup.sh, a Celery Airflow, one DAG run, what it did.

Only the bundle and what MWAA itself provides go in: the runtime has MWAA's Airflow and nothing of
this project; startup.sh builds the dbt virtualenv where it says; the DAG folder is the bundle's
dags/, synced to AIRFLOW_HOME/dags as MWAA syncs the bucket. What replaces AWS is said as it happens:
PostgreSQL for Redshift (TICKIT_TARGET=postgres and DBT_POSTGRES_*, set over startup.sh's exports as
MWAA's airflow_configuration_options would be), Redis for SQS, local files for the S3 source.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tickit_platform.data.postgres_staging import PostgresAddress
from tickit_platform.deploy.bundle import bundle_airflow_version
from tickit_platform.deploy.rehearsal import RehearsalError
from tickit_platform.deploy.rehearsal.cluster import CeleryAirflow
from tickit_platform.deploy.rehearsal.runtime import Constraints, Runtime, ensure_runtime
from tickit_platform.deploy.rehearsal.services import Postgres, Redis
from tickit_platform.deploy.rehearsal.startup import TIMEOUT_SECONDS, mwaa_env, offline_pip_env, source_startup
from tickit_platform.deploy.versions import MWAA_DEFAULT_AIRFLOW_VERSION, MWAA_PYTHON_VERSION
from tickit_platform.deploy.wheelhouse import PLUGINS_ZIP, extract_plugins_zip
from tickit_platform.history.record import DagRunResult
from tickit_platform.local.api_client import AirflowApi
from tickit_platform.local.runner import trigger_and_wait
from tickit_platform.warehouse.results import GOLD_ORDER
from tickit_runtime import envvars
from tickit_runtime.config import DAG_ID, DagConfig, airflow_variable_names
from tickit_runtime.home import HomeLayout
from tickit_runtime.schemas import WarehouseSchemas, prefix_from_env

Say = Callable[[str], None]
ProgressCallback = Callable[[list[dict[str, Any]]], None]
# Each MWAA container kind sources startup.sh itself; these are the ones the rehearsal runs.
STARTUP_COMPONENTS = ("worker", "scheduler", "webserver")
# What a worker's environment keeps from the machine: pip's index settings (MWAA has its own), locale, home.
_KEPT_FROM_MACHINE = ("HOME", "LANG", "LC_ALL", "TERM", "USER", "LOGNAME", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")


@dataclass(frozen=True)
class RehearsalOptions:
    home: Path
    bundle_dir: Path
    # The seven raw files, readable by the PostgreSQL server (postgres_staging.raw_dir_for_target).
    raw_dir: Path
    workers: int = 2
    keep: bool = False
    constraints: Path | None = None
    warehouse_db: str = "tickit_rehearsal"
    redis_db: int | None = None
    # dbt's postgres address (DBT_POSTGRES_*, the same defaults as profiles.yml); its database is warehouse_db.
    postgres: PostgresAddress = field(default_factory=PostgresAddress)
    # Extra variables for the DAG's processes (tests shorten TICKIT_DAG_RETRY_DELAY_SECONDS with it).
    extra_env: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 1800.0

    @property
    def root(self) -> Path:
        return HomeLayout(self.home).rehearsal

    @property
    def airflow_home(self) -> Path:
        """MWAA's /usr/local/airflow: kept between rehearsals, as the dbt virtualenv inside it."""
        return self.root / "airflow"


@dataclass(frozen=True)
class RehearsalResult:
    run: DagRunResult
    runtime: Runtime
    airflow_home: Path
    logs_dir: Path
    component_logs: dict[str, Path]
    startup_logs: dict[str, Path]
    # None: the view was not built (its model failed or never ran).
    gold_rows: dict[str, int | None]
    metadata_db: str
    warehouse_db: str
    broker_url: str
    seconds: dict[str, float]
    # How long startup.sh took per MWAA container kind (MWAA allows TIMEOUT_SECONDS), and the package index
    # it was given: an address where nothing listens, so any use of it would have failed the step.
    startup_seconds: dict[str, float] = field(default_factory=dict)
    unreachable_index: str = ""

    @property
    def hosts(self) -> set[str]:
        return {t.hostname for t in self.run.tasks if t.hostname}


def rehearsal_variables(options: RehearsalOptions) -> dict[str, str]:
    """The DAG's Airflow Variables, named as Terraform names them, valued for the local stand-ins.

    Terraform stores only those it has a value for (no cluster identifier on Serverless); so does this.
    The postgres target reads none of them: they are set so that the environment holds what MWAA's does.
    """
    pg = options.postgres
    values = {
        "redshift_host": pg.host,
        "redshift_database_name": options.warehouse_db,
        "redshift_db_user": pg.user,
        "redshift_region": "local",
        "redshift_workgroup_name": "rehearsal",
        # No S3 here: the raw files come from a local folder (TICKIT_RAW_DIR), so no role reads them.
        "tickit_source_iam_role_arn": "",
        "tickit_source_s3_region": "local",
        "tickit_source_manifest_uri": "",
        # No SNS here: an empty topic leaves the alerts to whatever the environment configures.
        "tickit_alert_sns_topic_arn": "",
    }
    unknown = set(values) - set(airflow_variable_names())
    if unknown:  # a name the DAG no longer reads
        raise RehearsalError(f"the rehearsal sets Airflow Variables the DAG does not read: {sorted(unknown)}")
    return values


# What the rehearsal sets over startup.sh's exports; the rest of the DAG's variables stay MWAA's.
_REHEARSAL_VARIABLES = (envvars.TARGET, *envvars.POSTGRES, envvars.RAW_DIR)


def rehearsal_dag_env(options: RehearsalOptions) -> dict[str, str]:
    """The DAG's variables the rehearsal sets over startup.sh's exports, written by `DagConfig.to_env` as
    for any other Airflow: instead of Redshift, the same dbt project on PostgreSQL, with the raw files from
    a local folder. `extra_env` last: the tests' own tuning."""
    config = DagConfig(
        target="postgres", raw_dir=options.raw_dir, postgres=options.postgres.dbt_variables(options.warehouse_db)
    )
    written = config.to_env()
    return {**{k: written[k] for k in _REHEARSAL_VARIABLES if k in written}, **options.extra_env}


def _machine_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _KEPT_FROM_MACHINE or k.lower().endswith("_proxy")}
    env.update(
        {k: v for k, v in os.environ.items() if k.startswith("PIP_") and k not in ("PIP_USER", "PIP_CONSTRAINT")}
    )
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin"
    env.setdefault("LANG", "C.UTF-8")
    return env


def _extract_plugins(bundle_dir: Path, airflow_home: Path) -> Path:
    """The bundle's plugins.zip extracted to AIRFLOW_HOME/plugins, as MWAA does before startup.sh runs."""
    archive = bundle_dir / PLUGINS_ZIP
    if not archive.is_file():
        raise RehearsalError(
            f"{bundle_dir} holds no {PLUGINS_ZIP} (the wheels requirements.txt and startup.sh install from): "
            "rebuild it with `tickit deploy build`"
        )
    dest = airflow_home / "plugins"
    extract_plugins_zip(archive, dest)
    return dest


def _sync_dags(bundle_dir: Path, airflow_home: Path) -> Path:
    """The bundle's dags/ at AIRFLOW_HOME/dags, as MWAA syncs the bucket's dags/ (deletions included)."""
    source = bundle_dir / "dags"
    if not source.is_dir():
        raise RehearsalError(f"{bundle_dir} holds no dags/ folder: is it a folder from `tickit deploy build`?")
    dest = airflow_home / "dags"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(source, dest)
    return dest


def _check_dbt_postgres(worker_env: Mapping[str, str], say: Say) -> None:
    """The postgres target needs dbt-postgres in the venv startup.sh built; it comes with dbt-redshift."""
    dbt = Path(worker_env.get(envvars.DBT_EXECUTABLE, ""))
    python = dbt.parent / "python"
    if not python.exists():
        raise RehearsalError(f"step 'startup.sh' left no dbt virtualenv: {envvars.DBT_EXECUTABLE}={dbt} does not exist")
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('dbt-postgres'))"]
    done = subprocess.run(probe, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode == 0:
        say(
            f"rehearsal only: dbt runs on PostgreSQL through dbt-postgres {done.stdout.strip()}, already in "
            f"{dbt.parent.parent} as a dependency of dbt-redshift (nothing added)"
        )
        return
    raise RehearsalError(
        f"the dbt virtualenv {dbt.parent.parent} has no dbt-postgres, which the rehearsal's PostgreSQL target needs "
        "(it normally comes with dbt-redshift)"
    )


def _gold_rows(pg: Postgres, dbname: str, gold: str) -> dict[str, int | None]:
    """Rows of each gold view in `gold`, the schema the DAG's prefix names (`gold` without one)."""
    rows: dict[str, int | None] = {}
    query = f"select table_name from information_schema.tables where table_schema = '{gold}'"
    built = {str(r[0]) for r in pg.query(dbname, query)}
    for view in GOLD_ORDER:
        count = pg.query(dbname, f'select count(*) from "{gold}"."{view}"') if view in built else None
        rows[view] = int(str(count[0][0])) if count else None
    return rows


def _timed(seconds: dict[str, float], step: str) -> contextlib.AbstractContextManager[None]:
    @contextlib.contextmanager
    def timer() -> Iterator[None]:
        started = time.monotonic()
        try:
            yield
        finally:
            seconds[step] = time.monotonic() - started

    return timer()


def prepare(
    options: RehearsalOptions,
    say: Say,
    seconds: dict[str, float],
    startup_seconds: dict[str, float] | None = None,
) -> tuple[Runtime, dict[str, dict[str, str]]]:
    """Steps 1 and 2: the runtime with requirements.txt, then startup.sh per MWAA component, offline.

    startup_seconds, when given, receives each component's startup.sh time (MWAA allows TIMEOUT_SECONDS).
    """
    bundle = options.bundle_dir
    named = bundle_airflow_version(bundle)
    airflow_version, python_version = named or (MWAA_DEFAULT_AIRFLOW_VERSION, MWAA_PYTHON_VERSION)
    constraints = Constraints.for_airflow(airflow_version, options.constraints)
    if constraints.essential is None:
        say(f"constraints: {constraints.airflow} only (no MWAA essential constraints file beside it)")
    home = options.airflow_home
    (home / "logs").mkdir(parents=True, exist_ok=True)
    _sync_dags(bundle, home)
    # First, as on MWAA: requirements.txt installs from the wheels plugins.zip brings.
    _extract_plugins(bundle, home)
    with _timed(seconds, "runtime"):
        runtime = ensure_runtime(
            options.root / "venvs",
            bundle,
            airflow_version,
            constraints,
            say,
            python_version=python_version,
            airflow_home=home,
        )
    # Workers start without the internet: startup.sh gets a package index where nothing listens.
    offline = offline_pip_env(_machine_env())
    say(
        f"startup.sh runs with the package index unreachable (PIP_INDEX_URL={offline['PIP_INDEX_URL']}, nothing "
        "listens there; no pip configuration file): dbt must come from the bundle's plugins.zip"
    )
    envs: dict[str, dict[str, str]] = {}
    with _timed(seconds, "startup.sh"):
        for component in STARTUP_COMPONENTS:
            started = time.monotonic()
            log = home / "logs" / f"startup-{component}.log"
            say(f"startup.sh: sourcing as MWAA_AIRFLOW_COMPONENT={component}…")
            env = mwaa_env(offline, component, home, runtime.bin_dir)
            captured = source_startup(bundle / "startup.sh", env, log)
            # MWAA's pip --user setting is for its own install of requirements.txt; the runtime here is a venv.
            captured.pop("PIP_USER", None)
            envs[component] = captured
            took = time.monotonic() - started
            if startup_seconds is not None:
                startup_seconds[component] = took
            say(f"startup.sh ({component}): {took:.0f} s of MWAA's {TIMEOUT_SECONDS} s limit, log {log}")
    _check_dbt_postgres(envs["worker"], say)
    return runtime, envs


def rehearse(
    options: RehearsalOptions,
    say: Say,
    on_change: ProgressCallback | None = None,
    on_started: Callable[[CeleryAirflow, AirflowApi], None] | None = None,
) -> RehearsalResult:
    """Run the bundle as MWAA would, once; Airflow is stopped and its metadata database dropped on the way out."""
    if options.workers < 1:
        raise RehearsalError(f"--workers {options.workers}: at least one worker is needed (two to rehearse MWAA's)")
    seconds: dict[str, float] = {}
    startup_seconds: dict[str, float] = {}
    started = time.monotonic()
    runtime, envs = prepare(options, say, seconds, startup_seconds)
    pg = Postgres(options.postgres)
    redis = Redis()
    owner = uuid.uuid4().hex
    redis_db = options.redis_db if options.redis_db is not None else redis.claim_empty_db(owner)
    broker = f"redis://{redis.host}:{redis.port}/{redis_db}"
    if not pg.exists(options.warehouse_db):
        pg.create(options.warehouse_db)
    dag_env = rehearsal_dag_env(options)
    say(
        "rehearsal only, over startup.sh's exports: "
        + " ".join(f"{k}={v}" for k, v in dag_env.items() if "PASSWORD" not in k)
    )
    home = options.airflow_home
    try:
        with pg.scratch_database("tickit_rehearsal_airflow", keep=options.keep) as metadata_db:
            airflow = CeleryAirflow(
                airflow_home=home,
                dag_env=dag_env,
                dags_folder=home / "dags",
                sql_alchemy_conn=pg.url(metadata_db),
                dbt_docs_dir=None,
                python=str(runtime.python),
                base_env=envs["scheduler"],
                component_envs=envs,
                broker_url=broker,
                result_backend=pg.url(metadata_db, scheme="db+postgresql"),
                workers=options.workers,
                hosts_dir=options.root / "hosts",
            )
            components = ", ".join(airflow.components())
            say(
                f"Airflow {runtime.airflow_version} on CeleryExecutor (broker {broker}, metadata {metadata_db}): "
                f"{components}…"
            )
            try:
                # Inside the try: a component that fails to start must not leave the others running.
                with _timed(seconds, "airflow start"):
                    airflow.start()
                api = airflow.api()
                api.warm_execution_api()
                api.wait_for_dag(DAG_ID)
                for key, value in rehearsal_variables(options).items():
                    api.call("POST", "/variables", {"key": key, "value": value})
                say(f"Airflow is up: {airflow.url} (admin / {airflow.password()}); running {DAG_ID}…")
                if on_started is not None:
                    on_started(airflow, api)
                with _timed(seconds, "dag run"):
                    run = trigger_and_wait(airflow, api, on_change=on_change, timeout=options.timeout)
            finally:
                airflow.stop()
            gold = _gold_rows(pg, options.warehouse_db, WarehouseSchemas(prefix_from_env(dag_env)).gold)
    finally:
        # Only a database this rehearsal found empty and claimed is emptied; a --redis-db is the user's.
        if not options.keep and options.redis_db is None:
            redis.flush(redis_db)
    seconds["total"] = time.monotonic() - started
    return RehearsalResult(
        run=run,
        runtime=runtime,
        airflow_home=home,
        logs_dir=airflow.logs_dir,
        component_logs={name: airflow.logs_dir / f"{name}.log" for name in airflow.components()},
        startup_logs={c: home / "logs" / f"startup-{c}.log" for c in STARTUP_COMPONENTS},
        gold_rows=gold,
        metadata_db=metadata_db,
        warehouse_db=options.warehouse_db,
        broker_url=broker,
        seconds=seconds,
        startup_seconds=startup_seconds,
        unreachable_index=envs["worker"].get("PIP_INDEX_URL", ""),
    )
