"""The DAG under Airflow's real scheduler and LocalExecutor: parallel runs, failure isolation, retries.

Each test starts a local Airflow (API server, scheduler, DAG processor) on free ports under a temporary
TICKIT_HOME, triggers the DAG through the REST API as a user would, and reads the task states back.
"""

from __future__ import annotations

import csv
import itertools
import json
import secrets
import shutil
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from tests.alert_receivers import Received, smtp_server, sns_topic, wait_for, webhook_server
from tests.support import MODELS, copy_project, dag_config, wait_for_log

from tickit_platform.data.formats import table_format
from tickit_platform.data.synth import generate
from tickit_platform.history.record import DagRunResult
from tickit_platform.local.runner import started_airflow, trigger_and_wait, wait_existing
from tickit_platform.warehouse.results import layer_row_counts
from tickit_runtime.alerts.settings import AlertSettings
from tickit_runtime.config import DAG_ID
from tickit_runtime.dag_factory import FRESHNESS_TASK_ID, LOAD_RAW_TASK_ID, PRODUCER_TASK_ID
from tickit_runtime.paths import DAGS_DIR

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("raw") / "tickit", scale=0.02, seed=11)


def _lock_errors(airflow_logs: Path) -> list[str]:
    hits = []
    for log in airflow_logs.rglob("attempt=*.log"):
        text = log.read_text(errors="replace")
        if "Could not set lock" in text or "Conflicting lock" in text:
            hits.append(str(log))
    return hits


def _full_parses(airflow_logs: Path) -> list[str]:
    return [
        str(log)
        for log in airflow_logs.rglob("attempt=*.log*")
        if "Unable to do partial parsing" in log.read_text(errors="replace")
    ]


def _spend_by_buyer(raw_dir: Path) -> dict[int, Decimal]:
    """An independent computation of total spend per buyer, straight from the raw sales file."""
    fmt = table_format("sales")
    spend: dict[int, Decimal] = defaultdict(Decimal)
    with (raw_dir / fmt.file).open(newline="") as handle:
        for row in csv.reader(handle, delimiter=fmt.delimiter):
            record = dict(zip(fmt.column_names, row, strict=True))
            spend[int(record["buyerid"])] += Decimal(record["pricepaid"])
    return spend


def _gold_spend(warehouse: Path) -> dict[int, Decimal]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute("select user_id, total_spent from gold.gold_user_activity").fetchall()
    return {int(user_id): Decimal(str(total)) for user_id, total in rows}


def _gold_rows(warehouse: Path) -> dict[str, list[tuple[object, ...]]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return {
            view: con.execute(f"select * from gold.{view} order by all").fetchall()
            for view in ("gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity")
        }


def _states(result: DagRunResult) -> dict[str, str | None]:
    return result.states()


def test_parallel_run_is_green_and_lock_free(tmp_path: Path, raw_dir: Path) -> None:
    config = dag_config(tmp_path / "home", raw_dir)
    with started_airflow(config, parallelism=24) as (airflow, api):
        # Two triggers at once, as two people (or a schedule and a person) would: the second must wait.
        now = datetime.now(UTC)
        first_id = api.trigger(DAG_ID, "overlap_1", now.isoformat(), {})
        second_id = api.trigger(DAG_ID, "overlap_2", (now + timedelta(seconds=1)).isoformat(), {})
        result = wait_existing(airflow, api, first_id)
        logs = airflow.logs_dir
        states = _states(result)
        assert result.state == "success", states
        first_counts = layer_row_counts(config.warehouse_path)
        first_gold = _gold_rows(config.warehouse_path)
        overlapping = wait_existing(airflow, api, second_id)
        assert overlapping.state == "success", _states(overlapping)
        assert layer_row_counts(config.warehouse_path) == first_counts
        assert _gold_rows(config.warehouse_path) == first_gold
    # (Clearing a run to build it again is tested with the failed model below, where it heals the run.)
    assert {states[m] for m in MODELS} == {"success"}
    assert states[LOAD_RAW_TASK_ID] == "success"
    # The shared build started with the run, readied dbt while the raw files loaded and built once the load
    # succeeded (tickit_runtime/build_start.py); the load let go of the warehouse in time (no lock error below).
    by_id = {t.task_id: t for t in result.tasks}
    load, producer = by_id[LOAD_RAW_TASK_ID], by_id[PRODUCER_TASK_ID]
    assert producer.start_date < load.end_date, (producer.start_date, load.end_date)
    said = wait_for_log(producer.log_path, "the build starts")
    readied, succeeded = said.index("dbt readied for the build in"), said.index(f"{LOAD_RAW_TASK_ID} succeeded")
    assert readied < succeeded < said.index("Running with dbt=", succeeded)  # the build's own dbt call after both
    # Model tasks really overlapped in time: the run used the executor's parallelism.
    spans = sorted((t.start_date, t.end_date) for t in result.tasks if t.task_id in MODELS)
    assert any(later_start < earlier_end for (_, earlier_end), (later_start, _) in itertools.pairwise(spans))
    assert _lock_errors(logs) == []
    # Every dbt call of both runs reused the parse that wrote the manifest (same profile, target and a manual
    # run's vars): none parsed the whole project again, a CPU's minutes at a thousand models.
    assert _full_parses(logs) == []
    # max_active_runs=1: the second run's first task started only after the first run's last one ended.
    first_end = max(t.end_date for t in result.tasks if t.end_date is not None)
    second_start = min(t.start_date for t in overlapping.tasks if t.start_date is not None)
    assert second_start >= first_end, (first_end, second_start)
    assert _gold_spend(config.warehouse_path) == _spend_by_buyer(raw_dir)
    _assert_no_per_model_dag_work(logs)
    # The shared build checked the sources' freshness; its task ended in the triggerer, with no worker process
    # (docs/decisions/041), and the summary's sources.json is the build's.
    assert states[FRESHNESS_TASK_ID] == "success"
    freshness_logs = logs / f"dag_id={DAG_ID}" / f"run_id={first_id}" / f"task_id={FRESHNESS_TASK_ID}"
    assert list(freshness_logs.glob("attempt=1.log.trigger.*.log")), sorted(freshness_logs.iterdir())
    assert not (freshness_logs / "attempt=1.log").exists()
    assert {r["unique_id"].split(".")[-1] for r in json.loads(config.layout.freshness.read_text())["results"]} >= {
        "sales",
        "listing",
    }


def _assert_no_per_model_dag_work(logs: Path) -> None:
    """Model tasks ended in the triggerer without it or the DAG processor redoing whole-DAG work per task."""
    triggerer = (logs / "triggerer.log").read_text(errors="replace")
    assert len(list(logs.rglob("attempt=*.log.trigger.*.log"))) >= 2 * len(MODELS)
    assert triggerer.count("Sending callback") >= 2 * len(MODELS)  # Airflow asks, once per task
    # ... but the DAG processor parses the DAG file for none of them (tickit_runtime/internals/dag_processor.py) ...
    processor = "".join(p.read_text(errors="replace") for p in (logs / "dag_processor").rglob("*.log"))
    assert "is not a failure callback" not in processor
    # ... and the triggerer built no model trigger from the deserialized DAG (tickit_runtime/internals/triggerer.py).
    assert "Start from trigger enabled" not in triggerer


def _subjects(received: list[Received]) -> list[str]:
    return [r.subject for r in received]


def test_failed_model_only_hurts_its_downstream_then_a_clear_heals_it(
    tmp_path: Path, raw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    project = copy_project(tmp_path / "dbt_tickit")
    model = project / "models" / "silver" / "silver_users.sql"
    good_sql = model.read_text()
    model.write_text(good_sql.replace("select * from final", "select no_such_column from final"))
    raw_copy = Path(shutil.copytree(raw_dir, tmp_path / "raw"))

    # Every alert channel, each a real receiver on 127.0.0.1: they must all get the same messages. The
    # webhook's URL carries a secret in its path, as Slack's does: no log of the run may show it.
    token = f"T0/B0/{secrets.token_hex(12)}"
    with smtp_server() as mail, webhook_server() as hook, sns_topic(monkeypatch, tmp_path) as topic:
        alerts = AlertSettings(
            sns_topic_arn=topic.topic_arn,
            webhook_url=f"{hook.url}/{token}",
            smtp_url=mail.url,
            email_to=("data@example.com",),
            email_from="tickit@example.com",
        )
        config = dag_config(tmp_path / "home", raw_copy, project_dir=project, retries=0, alerts=alerts)
        with started_airflow(config) as (airflow, api):
            first = trigger_and_wait(airflow, api)
            # The DAG's own alert comes from the DAG processor, a moment after the run ended.
            first_alerts = wait_for(hook.received, 3, timeout=90)
            states = _states(first)
            assert first.state == "failed"
            assert states["silver_users"] == "failed"
            assert states["gold_user_activity"] == "upstream_failed"
            others = set(MODELS) - {"silver_users", "gold_user_activity"}
            assert {m: states[m] for m in others} == dict.fromkeys(others, "success")
            failed = next(t for t in first.tasks if t.task_id == "silver_users")
            assert failed.log_path.exists()
            assert "no_such_column" in wait_for_log(failed.log_path, "no_such_column")

            # Fix the model and clear the failed task with its downstream, as a user does in the UI.
            model.write_text(good_sql)
            before = {t.task_id: (t.try_number, t.start_date) for t in first.tasks}
            api.clear(DAG_ID, first.run_id, ["silver_users"], downstream=True)
            time.sleep(1)
            second = wait_existing(airflow, api, first.run_id)
            healed_gold = _gold_rows(config.warehouse_path)
            second_alerts = hook.received()

            # A raw file goes missing and the whole run is cleared: the load fails naming the file, and no
            # model runs on the half-loaded warehouse.
            (raw_copy / table_format("venue").file).unlink()
            api.clear(DAG_ID, first.run_id, [LOAD_RAW_TASK_ID], downstream=True)
            time.sleep(1)
            third = wait_existing(airflow, api, first.run_id)
            all_alerts = wait_for(hook.received, 5, timeout=90)
            time.sleep(5)  # nothing more may arrive
        by_mail = wait_for(mail.received, len(hook.received()))
        by_sns = wait_for(topic.received, len(hook.received()))
    logs = [path for path in config.layout.airflow.rglob("*.log") if path.is_file()]
    assert any("tickit alert sent by webhook to http://127.0.0.1:" in p.read_text(errors="replace") for p in logs)
    assert [p for p in logs if token.rsplit("/", 1)[1] in p.read_text(errors="replace")] == []

    # One alert for the failed model, one for the data tests that warned (the orphan venues), one for the
    # run; none for gold_user_activity (upstream_failed: it never ran).
    run = first.run_id
    assert sorted(_subjects(first_alerts)) == sorted(
        [
            f"[tickit] silver_users failed in run {run}",
            f"[tickit] data tests: 1 warned in run {run}",
            f"[tickit] run {run} of {DAG_ID} failed",
        ]
    )
    model_alert = next(a for a in first_alerts if "silver_users failed" in a.subject)
    assert model_alert.body.startswith(f"Task silver_users of {DAG_ID} failed in run {run} (try 1, its last).\n\n")
    assert 'Referenced column "no_such_column" not found' in model_alert.body
    assert f"Log: {airflow.url}/dags/{DAG_ID}/runs/{run}/tasks/silver_users?try_number=1\n" in model_alert.body
    assert f"Log file: {failed.log_path}\n" in model_alert.body
    assert "select silver_users and Clear it with its downstream tasks" in model_alert.body
    tests_alert = next(a for a in first_alerts if "data tests" in a.subject)
    assert "    warn relationships_silver_event_venue_id__venue_id__ref_silver_venue_ on silver_event: " in (
        tests_alert.body
    )
    # The healed run sent nothing; the failed load sent one alert for itself and one for the run.
    assert second_alerts == first_alerts
    assert sorted(_subjects(all_alerts[3:])) == [
        f"[tickit] load_raw failed in run {run}",
        f"[tickit] run {run} of {DAG_ID} failed",
    ]
    load_alert = next(a for a in all_alerts[3:] if "load_raw failed" in a.subject)
    assert f"Log: {airflow.url}/dags/{DAG_ID}/runs/{run}/tasks/load_raw?try_number=2\n" in load_alert.body
    # Mail and SNS carried the very same messages.
    assert sorted(by_mail, key=repr) == sorted(all_alerts, key=repr)
    assert sorted(by_sns, key=repr) == sorted(all_alerts, key=repr)
    assert mail.envelopes[0] == ("tickit@example.com", ["data@example.com"])

    assert second.state == "success", _states(second)
    after = {t.task_id: (t.try_number, t.start_date) for t in second.tasks}
    rerun = {task for task in MODELS if after[task] != before[task]}
    assert rerun == {"silver_users", "gold_user_activity"}
    assert _gold_spend(config.warehouse_path) == _spend_by_buyer(raw_dir)

    states = _states(third)
    assert third.state == "failed", states
    assert states[LOAD_RAW_TASK_ID] == "failed"
    assert {states[m] for m in MODELS} == {"upstream_failed"}, states
    load = next(t for t in third.tasks if t.task_id == LOAD_RAW_TASK_ID)
    missing = "venue_pipe.txt is missing (table venue)"
    assert missing in wait_for_log(load.log_path, missing)
    # The build, started with the run, waited for the load and ended without building, saying why.
    assert states[PRODUCER_TASK_ID] == "skipped"
    producer = next(t for t in third.tasks if t.task_id == PRODUCER_TASK_ID)
    skipped = f"Task {LOAD_RAW_TASK_ID} ended failed: nothing is built"
    after_readying = wait_for_log(producer.log_path, skipped).split("dbt readied")[-1]
    assert "Running with dbt=" not in after_readying  # no dbt build started
    # The warehouse still holds the last good build: nothing was dropped or half-rewritten.
    assert _gold_rows(config.warehouse_path) == healed_gold


# A spy named like a dbt plugin, beside the DAG file: dbt imports every top-level module named `dbt_*` on
# `sys.path` looking for plugins, and Airflow puts the DAGs folder on it in every task process, so each task's
# first dbt call once imported and built the DAG file again. It writes a line whenever it is imported.
# Airflow parses a file of its DAGs folder only if its text has both "dag" and "airflow" (safe mode): it avoids them.
PLUGIN_SPY = """
import os
import sys
import traceback
from pathlib import Path

with Path(os.environ["TICKIT_TEST_SPY_FILE"]).open("a") as out:
    out.write(f"imported in process {os.getpid()} ({' '.join(sys.argv)}):\\n")
    out.write("".join(traceback.format_stack(limit=12)))
"""


def test_transient_failure_recovers_through_airflow_retry_and_no_dbt_call_imports_the_dags_folder(
    tmp_path: Path, raw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model failing once succeeds on its task's retry. Every dbt call of the run (the load, the shared build,
    the freshness check, the model's own retry) leaves the DAGs folder's `dbt_*` modules unimported."""
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAGS_DIR / "dbt_tickit_medallion_dag.py", dags)
    (dags / "dbt_plugin_spy.py").write_text(PLUGIN_SPY)
    spy_file = tmp_path / "spy.txt"
    monkeypatch.setenv("TICKIT_TEST_SPY_FILE", str(spy_file))
    project = copy_project(tmp_path / "dbt_tickit")
    markers = tmp_path / "attempts"
    markers.mkdir()
    model = project / "models" / "silver" / "silver_users.sql"
    # The first attempt records itself and fails; the second sees two records and succeeds.
    hook = (
        "{{ config(pre_hook=[\n"
        f"    \"copy (select 1 as x) to '{markers}/attempt-{{{{ invocation_id }}}}.csv'\",\n"
        f"    \"select case when (select count(*) from glob('{markers}/attempt-*.csv')) < 2 "
        "then error('injected transient failure') end\",\n"
        "]) }}\n"
    )
    model.write_text(hook + model.read_text())
    config = dag_config(tmp_path / "home", raw_dir, project_dir=project)

    with started_airflow(config, dags_folder=dags) as (airflow, api):
        result = trigger_and_wait(airflow, api)

    states = _states(result)
    assert result.state == "success", states
    assert {states[m] for m in MODELS} == {"success"}
    tries = {t.task_id: t.try_number for t in result.tasks}
    assert tries["silver_users"] == 2
    assert {m: tries[m] for m in MODELS if m != "silver_users"} == dict.fromkeys(set(MODELS) - {"silver_users"}, 1)
    # Cosmos' producer never runs dbt twice: its retry ends it as skipped.
    assert states[PRODUCER_TASK_ID] == "skipped"
    assert len(list(markers.glob("attempt-*.csv"))) == 2
    assert not spy_file.exists(), f"dbt's plugin discovery imported the DAGs folder: {spy_file.read_text()}"
