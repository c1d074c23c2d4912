"""`tickit deploy rehearse`: the MWAA bundle installed and run as MWAA runs it, on Celery with two workers.

Real components only: MWAA's Python 3.12 and Airflow (3.3.1, the default, and 3.0.6) in virtualenvs built
by pip against MWAA's constraints files (requirements.txt from plugins.zip's wheels with the package index
unreachable, as on an MWAA network without the internet), the bundle's startup.sh building its dbt virtualenv from the
bundle's wheels with the package index unreachable, CeleryExecutor with Redis and a triggerer, Airflow's
metadata and the warehouse on PostgreSQL. One TICKIT_HOME serves the whole session, so each runtime and
the dbt virtualenv are built once (from nothing: the session's home starts empty).

CI time: one DAG run per Airflow for the green path (the 3.3.1 one also kills a worker and opens the dbt
docs in a browser), plus the failure scenario on 3.3.1 with 200 generated models beside the 17.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.alert_receivers import wait_for, webhook_server
from tests.integration.test_postgres_parity import GOLD, _as_text, _build, _duckdb_rows, _postgres_rows
from tests.support import (
    IN_CI,
    MODELS,
    PG,
    fresh_database,
    project_with_extra_models,
    psql,
    server_readable_synthetic,
    shared_wheelhouse,
    skip_or_fail,
    where_extra_model_tasks_ran,
)

from tickit_platform.deploy.bundle import build_bundle
from tickit_platform.deploy.rehearsal import RehearsalError
from tickit_platform.deploy.rehearsal.cluster import CeleryAirflow
from tickit_platform.deploy.rehearsal.rehearse import RehearsalOptions, RehearsalResult, prepare, rehearse
from tickit_platform.deploy.rehearsal.runtime import REQUIREMENTS_TIMEOUT_SECONDS, find_python
from tickit_platform.deploy.rehearsal.services import Redis
from tickit_platform.deploy.rehearsal.startup import TIMEOUT_SECONDS
from tickit_platform.deploy.versions import MWAA_DEFAULT_AIRFLOW_VERSION
from tickit_platform.local.airflow import ADMIN_USER
from tickit_platform.local.api_client import AirflowApi
from tickit_runtime import envvars
from tickit_runtime.config import DAG_ID
from tickit_runtime.dag_factory import FRESHNESS_TASK_ID, LOAD_RAW_TASK_ID, PRODUCER_TASK_ID
from tickit_runtime.internals.triggerer import MODEL_TRIGGER_CLASSPATH, WORKLOADS_WITHOUT_DAG_NOTE
from tickit_runtime.paths import REPO_ROOT

pytestmark = [pytest.mark.airflow, pytest.mark.postgres, pytest.mark.timeout(1500)]

ALL_TASKS = {LOAD_RAW_TASK_ID, PRODUCER_TASK_ID, FRESHNESS_TASK_ID, *MODELS}
# A failed try is retried after 2 s instead of the DAG's 30 s: the tests wait less, nothing else changes.
FAST_RETRY = {"TICKIT_DAG_RETRY_DELAY_SECONDS": "2"}
LAYERS = ("bronze", "silver", "gold")
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
OUTPUT = Path(os.environ.get("TICKIT_TEST_OUTPUT") or REPO_ROOT / ".test-output")


@pytest.fixture(scope="session")
def rehearsal_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's TICKIT_HOME; the servers and Python 3.12 are checked once (skip locally, fail in CI)."""
    if shutil.which("psql") is None or psql("select 1", "postgres").returncode != 0:
        skip_or_fail(f"PostgreSQL is not reachable on {PG['host']}:{PG['port']} as user {PG['user']}")
    try:
        Redis().ping()
        find_python("3.12")
    except RehearsalError as err:
        skip_or_fail(str(err))
    home = tmp_path_factory.mktemp("rehearsal-home")
    shared_wheelhouse(home / "deploy" / "cache", tmp_path_factory)
    return home


@pytest.fixture(scope="module")
def raw_dir() -> Iterator[Path]:
    with server_readable_synthetic("tickit-rehearsal-", scale=0.02, seed=7) as folder:
        yield folder


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    cache = shared_wheelhouse(tmp_path_factory.mktemp("bundle-cache"), tmp_path_factory)
    return build_bundle(tmp_path_factory.mktemp("bundle") / "bundle", cache_dir=cache).out_dir


@pytest.fixture(scope="module")
def reference(raw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The same files built by plain dbt on DuckDB: gold rows and every layer's row counts, undisturbed."""
    work = tmp_path_factory.mktemp("duck")
    warehouse = work / "tickit.duckdb"
    _build(work, raw_dir, DBT_TARGET="local", DBT_DUCKDB_PATH=str(warehouse))
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('bronze', 'silver', 'gold')"
        ).fetchall()
        counts = {f"{s}.{t}": int(con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0]) for s, t in relations}  # type: ignore[index]
    gold = {view: _as_text(_duckdb_rows(warehouse, view, key)) for view, key in GOLD.items()}
    return {"gold": gold, "counts": counts}


def _options(home: Path, bundle: Path, raw_dir: Path, warehouse_db: str) -> RehearsalOptions:
    return RehearsalOptions(
        home=home, bundle_dir=bundle, raw_dir=raw_dir, warehouse_db=warehouse_db, extra_env=FAST_RETRY, timeout=900
    )


def _assert_warehouse_as_reference(database: str, reference: dict[str, Any]) -> None:
    for view, key in GOLD.items():
        assert _postgres_rows(database, view, key) == reference["gold"][view], view
    listed = psql(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('bronze', 'silver', 'gold')",
        database,
    ).stdout.split()
    counts = {name: int(psql(f"select count(*) from {name}", database).stdout) for name in listed}
    assert counts == reference["counts"]


def _metadata_databases() -> list[str]:
    out = psql("select datname from pg_database where datname like 'tickit_rehearsal_airflow_%'", "postgres")
    return out.stdout.split()


def test_requirements_and_startup_install_on_mwaas_python_and_airflow(rehearsal_home: Path, bundle: Path) -> None:
    lines: list[str] = []
    options = RehearsalOptions(home=rehearsal_home, bundle_dir=bundle, raw_dir=bundle)
    runtime, envs = prepare(options, lines.append, {})

    probe = "import sys, importlib.metadata as m; print('%d.%d' % sys.version_info[:2], *(m.version(d) for d in sys.argv[1:]))"  # noqa: E501
    found = subprocess.run(
        [str(runtime.python), "-c", probe, "apache-airflow", "apache-airflow-providers-celery", "astronomer-cosmos"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    pinned_cosmos = next(line for line in (bundle / "requirements.txt").read_text().splitlines() if "cosmos==" in line)
    assert MWAA_DEFAULT_AIRFLOW_VERSION == "3.3.1"
    assert found[:2] == ["3.12", "3.3.1"]  # what a bundle built with no --airflow-version gets
    assert found[3] == pinned_cosmos.split("==")[1].split()[0]  # pinned by hash after it
    install_log = (runtime.venv / "install.log").read_text()
    assert "\nERROR" not in install_log and "error:" not in install_log.lower()
    # MWAA's command installed requirements.txt with the index unreachable: Cosmos and every package MWAA's
    # Airflow lacks came from plugins.zip's wheels, extracted under AIRFLOW_HOME as MWAA does.
    said = "install requirements.txt with the package index unreachable (PIP_INDEX_URL=http://127.0.0.1:"
    assert any(said in line for line in lines), lines
    requirements_step = install_log.split("install --disable-pip-version-check --constraint")[-1]
    wheels = options.airflow_home / "plugins" / "tickit-airflow-wheels"
    assert f"Looking in links: {wheels}" in requirements_step
    assert f"Processing {wheels}/astronomer_cosmos-{found[3]}-py3-none-any.whl" in requirements_step
    assert "raw.githubusercontent" not in install_log
    assert runtime.requirements_seconds is not None and runtime.requirements_seconds < REQUIREMENTS_TIMEOUT_SECONDS
    print(f"requirements.txt installed offline in {runtime.requirements_seconds:.0f} s (MWAA allows 540 s)")

    dbt = Path(envs["worker"]["TICKIT_DBT_EXECUTABLE"])
    assert dbt.is_relative_to(options.airflow_home)  # where the script says: AIRFLOW_HOME/python3-virtualenv
    version = subprocess.run([str(dbt), "--version"], capture_output=True, text=True, check=True).stdout
    assert "redshift" in version and "postgres" in version
    worker_log = (options.airflow_home / "logs" / "startup-worker.log").read_text()
    assert "ERROR" not in worker_log
    # dbt came from plugins.zip, with an index where nothing listens: the worker needed no network.
    assert "(no package index)" in worker_log
    said = "startup.sh runs with the package index unreachable (PIP_INDEX_URL=http://127.0.0.1:"
    assert any(said in line for line in lines), lines
    assert (options.airflow_home / "plugins" / "tickit-dbt-wheels" / "requirements.txt").is_file()
    assert envs["scheduler"]["TICKIT_DBT_PROJECT_DIR"] == str(options.airflow_home / "dags" / "dbt_tickit")

    # The second time nothing is installed: the runtime is cached, and startup.sh finds its venv.
    lines.clear()
    prepare(options, lines.append, {})
    assert any(line.startswith("runtime: cached") for line in lines), lines
    assert "already has" in (options.airflow_home / "logs" / "startup-worker.log").read_text()


def test_the_articles_failure_scenario_on_celery_at_217_models(
    rehearsal_home: Path, raw_dir: Path, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """On MWAA's Airflow (3.3.1, the default) and executor: only silver_users' downstream is hurt, and the
    failure alerts arrive (task callbacks in the Celery worker, the run's in the DAG processor), none for the
    upstream_failed gold_user_activity.

    With 200 generated models beside the 17, whose tasks wait and end in MWAA's single triggerer, most of them
    within seconds of each other: an unchanged triggerer supervisor hung there for good (decision 023); the
    bundle's plugins.zip changes MWAA's."""
    extra = 200
    project = project_with_extra_models(tmp_path / "dbt_tickit", extra)
    model = project / "models" / "silver" / "silver_users.sql"
    model.write_text(model.read_text().replace("select * from final", "select no_such_column from final"))
    cache = shared_wheelhouse(tmp_path / "bundle-cache", tmp_path_factory)
    broken = build_bundle(tmp_path / "bundle", project_dir=project, cache_dir=cache).out_dir
    with webhook_server() as hook, fresh_database("tickit_rehearsal_wh") as warehouse:
        options = _options(rehearsal_home, broken, raw_dir, warehouse)
        options = dataclasses.replace(options, extra_env={**options.extra_env, envvars.ALERT_WEBHOOK_URL: hook.url})
        result = rehearse(options, say=lambda _: None)
        run = result.run.run_id
        # The run's alert comes from the DAG processor, a moment after the run ended.
        subjects = sorted(r.subject for r in wait_for(hook.received, 2, timeout=90))
        time.sleep(5)  # nothing more may arrive
        subjects = sorted(r.subject for r in hook.received())
    states = result.run.states()
    assert result.run.state == "failed"
    assert states["silver_users"] == "failed"
    assert states["gold_user_activity"] == "upstream_failed"
    others = (set(MODELS) - {"silver_users", "gold_user_activity"}) | {f"extra_{i:04d}" for i in range(extra)}
    assert {m: states[m] for m in others} == dict.fromkeys(others, "success")
    assert len(states) == len(ALL_TASKS) + extra, states
    assert result.gold_rows["gold_user_activity"] is None
    # MWAA's triggerer got the bundle's change, and every generated model's task started and ended there: none
    # had a worker process (whose log would be attempt=1.log beside the trigger's).
    assert WORKLOADS_WITHOUT_DAG_NOTE % MODEL_TRIGGER_CLASSPATH in result.component_logs["triggerer"].read_text()
    run_logs = result.logs_dir / f"dag_id={DAG_ID}" / f"run_id={run}"
    in_triggerer, on_worker = where_extra_model_tasks_ran(run_logs, extra)
    assert len(in_triggerer) == extra
    assert not on_worker
    # The data tests may warn on these files (an alert of their own); nothing names gold_user_activity.
    assert [s for s in subjects if "data tests" not in s] == sorted(
        [f"[tickit] silver_users failed in run {run}", f"[tickit] run {run} of dbt_tickit_medallion_dag failed"]
    ), subjects
    assert not [s for s in subjects if "gold_user_activity" in s]


def _dbt_docs_in_the_browser(airflow: CeleryAirflow) -> set[str]:
    """Log in to the rehearsal's UI, find the docs under Browse, open them: the model names the page shows."""
    if not Path(CHROMIUM).exists():
        skip_or_fail("Debian's chromium is not installed (apt-get install -y chromium chromium-driver)")
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(parents=True, exist_ok=True)
    docs_url = f"{airflow.url}/cosmos/dbt_tickit/dbt_docs_index.html"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1600, "height": 1200})
        page.goto(f"{airflow.url}/dags/{DAG_ID}")
        page.locator("input[name='username']").fill(ADMIN_USER)
        page.locator("input[name='password']").fill(airflow.password())
        page.locator("button[type='submit']").click()
        page.wait_for_url(re.compile(rf".*/dags/{DAG_ID}.*"), timeout=60_000)
        # Cosmos' plugin loaded in MWAA's API server (3.1+) and registered the menu entry startup.sh configured.
        page.get_by_role("button", name=re.compile("Browse")).click()
        page.get_by_text("dbt Docs (tickit)").first.wait_for(timeout=30_000)
        page.goto(docs_url)
        # The model names exist in the page only once dbt's docs app has loaded the shipped manifest.
        page.get_by_text("gold_user_activity").first.wait_for(state="attached", timeout=60_000)
        shown = {model for model in MODELS if page.get_by_text(model).count()}
        page.screenshot(path=str(OUTPUT / "rehearsal-mwaa-dbt-docs.png"), full_page=True)
        browser.close()
    return shown


def test_the_bundle_runs_green_on_two_celery_workers_with_duckdbs_gold_even_when_one_is_killed(
    rehearsal_home: Path, bundle: Path, raw_dir: Path, reference: dict[str, Any]
) -> None:
    """One run on MWAA's default Airflow (3.3.1) checks all of it: the green run (tasks spread over the
    workers, the warehouse equal to plain dbt's on DuckDB), a worker SIGKILLed mid-run, the triggerer up as
    MWAA's single one, and the dbt docs served through the API server (before the run starts). More runs
    would cost CI minutes for no other assertion."""
    cluster: list[tuple[CeleryAirflow, AirflowApi]] = []
    killed: dict[str, Any] = {}
    hosts: set[str] = set()
    docs: set[str] = set()
    health: dict[str, Any] = {}

    def on_started(airflow: CeleryAirflow, api: AirflowApi) -> None:
        cluster.append((airflow, api))
        health.update(api.call("GET", "/monitor/health"))
        docs.update(_dbt_docs_in_the_browser(airflow))

    def on_change(tis: list[dict[str, Any]]) -> None:
        running = [ti for ti in tis if ti["state"] == "running" and ti.get("hostname")]
        hosts.update(ti["hostname"] for ti in running)
        if killed or not cluster:
            return
        # On 3.3.1 the model tasks wait in the triggerer: the work a worker holds is the shared dbt build. Kill
        # the worker running it as soon as it is seen running (waiting for a model to be reported first missed
        # the whole build once in CI): its task is failed after the heartbeat timeout, Cosmos skips the
        # producer's retry, and the models the build had not reported build themselves on the other worker.
        producer = next((ti for ti in tis if ti["task_id"] == PRODUCER_TASK_ID), {})
        if producer.get("state") != "running" or not producer.get("hostname"):
            return
        victims = [producer["hostname"]]
        airflow, _ = cluster[0]
        proc = airflow.processes[victims[0]]
        os.killpg(proc.pid, signal.SIGKILL)
        killed.update(
            worker=victims[0],
            pgid=proc.pid,
            tasks=sorted(ti["task_id"] for ti in running if ti["hostname"] == victims[0]),
            at=time.monotonic(),
        )

    before = set(_metadata_databases())
    with fresh_database("tickit_rehearsal_wh") as warehouse:
        result: RehearsalResult = rehearse(
            _options(rehearsal_home, bundle, raw_dir, warehouse),
            say=lambda _: None,
            on_change=on_change,
            on_started=on_started,
        )
        assert result.runtime.airflow_version == "3.3.1"
        assert health["triggerer"]["status"] == "healthy", health
        assert "triggerer" in result.component_logs
        # MWAA's triggerer got the bundle's change through plugins.zip (docs/decisions/023).
        assert WORKLOADS_WITHOUT_DAG_NOTE % MODEL_TRIGGER_CLASSPATH in result.component_logs["triggerer"].read_text()
        assert docs == set(MODELS), docs
        # startup.sh installed dbt offline, well inside MWAA's limit.
        assert result.unreachable_index.startswith("http://127.0.0.1:")
        assert result.startup_seconds["worker"] < TIMEOUT_SECONDS
        assert killed, "the shared dbt build was never seen running on a worker"
        with pytest.raises(ProcessLookupError):
            os.killpg(killed["pgid"], 0)  # the whole worker, task processes included, is gone
        states = result.run.states()
        assert result.run.state == "success", (killed, states)
        assert killed["tasks"] == [PRODUCER_TASK_ID], killed
        # The producer's retry is a skip (Cosmos never runs the build twice); every model task succeeded.
        assert states.pop(PRODUCER_TASK_ID) == "skipped", states
        assert set(states) == ALL_TASKS - {PRODUCER_TASK_ID} and set(states.values()) == {"success"}, states
        # Celery spread the run over both workers, each recording its own host name.
        assert hosts == {"worker-1", "worker-2"}, hosts
        # What ran on the dead worker finished on the other one, after the heartbeat timeout.
        survivor = {"worker-1", "worker-2"} - {killed["worker"]}
        finished = {t.task_id: t.hostname for t in result.run.tasks}
        assert {finished[task] for task in killed["tasks"]} <= survivor | {killed["worker"]}, finished
        # A task the dead worker had taken but not started is requeued after SCHEDULER_TIMEOUTS'
        # task_queued_timeout (150 s); with Airflow's default (600 s) the run would last over 700 s.
        assert result.run.seconds < 540, result.run.seconds
        _assert_warehouse_as_reference(warehouse, reference)
        assert result.gold_rows == {view: len(rows) for view, rows in reference["gold"].items()}
    # Airflow's metadata database was the rehearsal's own, and is gone.
    assert set(_metadata_databases()) == before
    assert all(log.is_file() for log in result.component_logs.values())


def _tickit_deploy_rehearse(
    home: Path, args: list[str], timeout: float, **env: str
) -> subprocess.CompletedProcess[str]:
    """`tickit deploy rehearse ARGS` as a user types it, on the session's home (CI's no-skip rule passed on)."""
    full_env = {**os.environ, "TICKIT_HOME": str(home), **env}
    if IN_CI:
        full_env["CI"] = "true"
    command = [str(Path(sys.executable).parent / "tickit"), "deploy", "rehearse", *args]
    return subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=timeout, check=False)


def test_the_bundle_runs_green_on_mwaa_306_too(
    rehearsal_home: Path, raw_dir: Path, reference: dict[str, Any], tmp_path: Path
) -> None:
    """`tickit deploy rehearse --airflow-version 3.0.6`, as a user types it: MWAA's 3.0.6 image, its constraints,
    the same offline startup.sh, green, and the warehouse equal to plain dbt's on DuckDB. No dbt docs there."""
    with fresh_database("tickit_rehearsal_wh") as warehouse:
        rehearse_args = ["--airflow-version", "3.0.6", "--source", str(raw_dir), "--warehouse-db", warehouse]
        done = _tickit_deploy_rehearse(rehearsal_home, rehearse_args, timeout=1500, **FAST_RETRY)
        out = done.stdout + done.stderr
        assert done.returncode == 0, out[-6000:]
        assert "for Airflow 3.0.6" in out
        assert "Airflow 3.0.6 on CeleryExecutor" in out and "triggerer" in out
        assert f"Rehearsal passed: all {len(ALL_TASKS)} tasks succeeded." in out
        offline = r"startup\.sh: worker (\d+) s, .*\(MWAA allows 300 s each\); dbt came from the bundle's plugins\.zip"
        startup = re.search(offline, out)
        assert startup and int(startup[1]) < TIMEOUT_SECONDS, out[-3000:]
        # MWAA's own install of requirements.txt, from plugins.zip with the index unreachable, inside its 9 minutes.
        assert "install requirements.txt with the package index unreachable" in out, out[-6000:]
        installed = re.search(r"install requirements\.txt: (\d+) s of MWAA's 540 s limit, no package index", out)
        assert installed and int(installed[1]) < REQUIREMENTS_TIMEOUT_SECONDS, out[-6000:]
        print(f"3.0.6: requirements.txt installed offline in {installed[1]} s (MWAA allows 540 s)")
        _assert_warehouse_as_reference(warehouse, reference)
    bundle = rehearsal_home / "deploy" / "bundle"
    assert not (bundle / "dags" / "dbt_tickit" / "target" / "index.html").exists()
    assert "\nTICKIT_DBT_DOCS=false\n" in (bundle / "startup.sh").read_text()  # Cosmos' plugin needs 3.1+


def test_a_requirement_that_cannot_resolve_fails_the_install_step(
    rehearsal_home: Path, bundle: Path, tmp_path: Path
) -> None:
    """A package plugins.zip does not ship fails MWAA's install loudly: no index is there to fall back on."""
    broken = Path(shutil.copytree(bundle, tmp_path / "bundle"))
    with (broken / "requirements.txt").open("a") as handle:
        handle.write("tickit-rehearsal-no-such-package==0.0.1\n")
    done = _tickit_deploy_rehearse(rehearsal_home, ["--bundle", str(broken), "--synthetic", "--scale", "0.02"], 900)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "step 'install requirements.txt (as MWAA does)' failed: pip exited with code 1" in done.stderr
    # pip's own words, not ours.
    assert "No matching distribution found for tickit-rehearsal-no-such-package==0.0.1" in done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "Airflow" not in done.stdout.split("install requirements.txt")[-1]  # nothing started after the failure
