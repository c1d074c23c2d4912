"""The `tickit` command as a user runs it: exit codes, what it prints, what it leaves behind."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.alert_receivers import webhook_server
from tests.faults import alive_components
from tests.support import MODELS, copy_project, latest_run_record, shared_wheelhouse, wait_for_log

from tickit_platform.data.formats import load_formats
from tickit_platform.data.synth import generate
from tickit_platform.local.processes import STATE_FILE

pytestmark = pytest.mark.timeout(900)
FORMATS = load_formats()


def tickit(*args: str, home: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "TICKIT_HOME": str(home), "COLUMNS": "200", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", *args],
        env=full_env,
        capture_output=True,
        text=True,
        timeout=850,
        check=False,
    )


def report_data(stdout: str, home: Path) -> dict[str, Any]:
    """The figures of the report whose path is the last line of a run's output."""
    last = stdout.strip().splitlines()[-1]
    assert last == f"Report: {home / 'reports' / 'report.html'}", last
    page = Path(last.removeprefix("Report: ")).read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match
    data: dict[str, Any] = json.loads(match.group(1))
    return data


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/tickitdb.zip"


@pytest.fixture(scope="module")
def shared_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One TICKIT_HOME for this module's real runs, so their history accumulates (one Airflow run costs minutes)."""
    return tmp_path_factory.mktemp("history") / "home"


# The runs made on shared_home, in order: run id -> the state it ended in.
SHARED_RUNS: dict[str, str] = {}


def _remember_run(home: Path, state: str) -> None:
    record = latest_run_record(home)
    assert record["state"] == state
    SHARED_RUNS[record["run_id"]] = state


@pytest.mark.airflow
def test_run_offline_falls_back_to_synthetic_data_and_builds_everything(shared_home: Path) -> None:
    home = shared_home
    result = tickit("run", "--scale", "0.01", "--full-refresh", home=home, env={"TICKIT_DATA_URL": closed_port_url()})
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    _remember_run(home, "success")
    assert "Official tickit data unavailable" in output
    assert "running on synthetic data (scale 0.01, seed 42)" in output
    assert "Data: synthetic tickit data (scale 0.01, seed 42)" in output
    assert "All 20 tasks succeeded" in output
    assert "Model tasks wait in Airflow's triggerer: the changes to Airflow's triggerer apply" in output
    # The whole run's peak memory, the bound DuckDB had, where the command's seconds went, and whether Airflow
    # still runs (docs/decisions/036).
    peak = re.search(
        r"Peak memory of the run: ([\d,]+) MiB \(tickit, Airflow's components and their tasks, dbt\)", output
    )
    assert peak and 100 < int(peak[1].replace(",", "")) < 20_000, output
    assert "DuckDB limited to " in output
    assert re.search(
        r"Time: [\d.]+ s in all \(data and checks [\d.]+ s, Airflow started [\d.]+ s, DAG run [\d.]+ s, ", output
    )
    assert "Airflow was started for this run and is stopped now" in output and "`tickit up` keeps one running" in output
    # Its components shut down while the summary and report were written, and all of them had ended by the
    # command's end: the list of what runs is gone, and no process of it is left.
    assert re.search(r"report [\d.]+ s, Airflow stopped [\d.]+ s more\)\.", output), output
    assert not (home / "airflow" / STATE_FILE).exists()
    assert alive_components(home) == [], output
    # The freshness check ran in the DAG: synthetic data ends in 2008, so it warns and says how old it is.
    assert re.search(r"Source freshness: sales warn \(newest row 2008-\S+, [\d,]+ days old\)", output), output
    assert re.search(r"Data tests: (\d+) of \1 passed", output) is None  # the orphan venues warn
    assert "warn relationships_silver_event_venue_id__venue_id__ref_silver_venue_ on silver_event: 2 row(s)" in output
    # --full-refresh reached dbt's shared build.
    producer_logs = list((home / "airflow" / "logs").rglob("task_id=dbt_producer_watcher/**/attempt=1.log"))
    assert producer_logs and "--full-refresh" in producer_logs[0].read_text(errors="replace")
    for view in ("gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity"):
        assert f"{view} (top 5)" in output
    warehouse = home / "warehouse" / "tickit.duckdb"
    assert str(warehouse) in output.replace("\n", "")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        built = {name for (name,) in con.execute("select table_name from information_schema.tables").fetchall()}
    assert set(MODELS) <= built
    # Everything the run wrote is under TICKIT_HOME, and the failed download left nothing behind.
    assert sorted(p.name for p in home.iterdir()) == [
        "airflow", "cosmos", "dbt", "downloads", "reports", "runs", "synthetic", "warehouse",
    ]  # fmt: skip
    assert list((home / "downloads").iterdir()) == []
    # The run ends with its report (the run's timeline from the run's own record) and the dbt docs beside the DAG.
    report = report_data(result.stdout, home)
    assert report["run"]["state"] == "success" and report["run"]["failed"] == []
    assert {t["task_id"] for t in report["run"]["tasks"]} >= set(MODELS)
    assert all(t["state"] == "success" for t in report["run"]["tasks"] if t["task_id"] in MODELS)
    assert report["data"]["description"] == "synthetic tickit data (scale 0.01, seed 42)"
    assert (home / "reports" / "run-timeline.png").is_file()
    docs = home / "dbt" / "docs"
    assert f"dbt docs: {docs / 'index.html'}" in result.stdout
    catalog = json.loads((docs / "catalog.json").read_text())
    assert "model.dbt_tickit.gold_user_activity" in catalog["nodes"]  # the catalog was read from the warehouse


@pytest.mark.airflow
def _damaged_copy(folder: Path) -> Path:
    """Synthetic files with two lines to quarantine in sales and a negative listing price (an error rule)."""
    raw = generate(folder, scale=0.01, seed=42)
    formats = load_formats()
    sales = raw / formats["sales"].file
    lines = sales.read_text().splitlines()
    header = "\t".join(formats["sales"].column_names)
    sales.write_text("\n".join([header, *lines, lines[0]]) + "\n")
    listing = raw / formats["listing"].file
    rows = listing.read_text().splitlines()
    fields = rows[5].split("|")
    fields[6] = "-" + fields[6]
    rows[5] = "|".join(fields)
    listing.write_text("\n".join(rows) + "\n")
    return raw


@pytest.mark.airflow
def test_run_with_a_failing_model_and_bad_input_names_what_failed_and_what_was_quarantined(
    tmp_path: Path, shared_home: Path
) -> None:
    project = copy_project(tmp_path / "dbt_tickit")
    model = project / "models" / "silver" / "silver_users.sql"
    model.write_text(model.read_text().replace("select * from final", "select no_such_column from final"))
    # Sales older than a year is an error, not a warning: the data ends in 2008.
    sources = project / "models" / "bronze" / "_bronze__sources.yml"
    text = sources.read_text()
    sales_freshness = "loaded_at_field: saletime\n          freshness:\n"
    assert sales_freshness in text
    error_after = "            error_after:\n              count: 365\n              period: day\n"
    sources.write_text(text.replace(sales_freshness, sales_freshness + error_after))
    raw = _damaged_copy(tmp_path / "raw")
    env = {"TICKIT_DBT_PROJECT_DIR": str(project), "TICKIT_DAG_RETRIES": "0", "TICKIT_ALERT_QUARANTINE_THRESHOLD": "1"}
    home = shared_home
    with webhook_server() as hook:
        result = tickit("run", "--source", str(raw), home=home, env={**env, "TICKIT_ALERT_WEBHOOK_URL": hook.url})
        # Every alert arrived before `tickit run` ended, the run's own (sent by the DAG processor) included.
        subjects = sorted(r.subject for r in hook.received())
    output = result.stdout + result.stderr
    lines = output.splitlines()
    assert result.returncode == 1, output
    _remember_run(home, "failed")
    assert "The run failed" in output
    failed_line = next(line for line in lines if "✗ silver_users" in line)
    log = Path(failed_line.split("log: ", 1)[1].strip())
    content = wait_for_log(log, "no_such_column")
    assert "no_such_column" in content, content[-4000:]
    assert any("✗ gold_user_activity upstream_failed" in line for line in lines)
    # A business rule with severity error fails its own model only: silver_listing has no model downstream.
    assert any("✗ silver_listing failed" in line for line in lines), output
    assert not any(f"✗ {m} " in line for line in lines for m in MODELS if m.startswith("bronze_")), output
    # The stale source: the shared build reported the check's error, and the task ran the check itself to fail in
    # dbt's words (docs/decisions/041); the summary shows it.
    stale_line = next(line for line in lines if "✗ source_freshness failed" in line)
    stale_log = wait_for_log(Path(stale_line.split("log: ", 1)[1].strip()), "ERROR STALE")
    assert "ERROR STALE freshness of tickit_raw.sales" in stale_log, stale_log[-4000:]
    assert "Checking the sources' freshness in this task: " in stale_log, stale_log[-4000:]
    assert re.search(r"Source freshness: sales error \(newest row 2008-", output), output
    # The rest of the warehouse was built and is still summarised, with what the load set aside.
    assert "gold_revenue_by_venue (top 5)" in output
    sales_row = next(line for line in lines if "sales_tab.txt" in line and "│" in line)
    assert [cell.strip() for cell in sales_row.split("│")[1:-1]][-1] == "2", sales_row
    assert "2 line(s) quarantined; list them with `tickit quarantine`" in output
    assert "fail non_negative_silver_listing_total_price on silver_listing: 1 row(s)" in output
    assert "warn relationships_silver_event_venue_id__venue_id__ref_silver_venue_ on silver_event: 2 row(s)" in output
    listed = tickit("quarantine", "--source", "sales", home=home)
    assert listed.returncode == 0, listed.stderr
    assert "header line" in listed.stdout and "duplicate salesid 1 (first at line 2)" in listed.stdout
    # The report is written all the same, its path the last line, naming the failed task and its log.
    report = report_data(result.stdout, home)
    assert report["run"]["state"] == "failed"
    assert set(report["run"]["failed"]) >= {"silver_users", "gold_user_activity"}
    page = (home / "reports" / "report.html").read_text(encoding="utf-8")
    assert f'<b>silver_users</b> <span class="failed">failed</span> log: <code>{log}</code>' in page
    assert "<b>gold_user_activity</b>" in page
    run_id = report["run"]["run_id"]
    assert [s for s in subjects if not s.startswith("[tickit] data tests: ")] == sorted(
        [
            f"[tickit] silver_users failed in run {run_id}",
            f"[tickit] silver_listing failed in run {run_id}",
            f"[tickit] source_freshness failed in run {run_id}",
            f"[tickit] the load quarantined 2 lines in run {run_id}",
            f"[tickit] run {run_id} of dbt_tickit_medallion_dag failed",
        ]
    ), subjects
    assert len([s for s in subjects if s.startswith("[tickit] data tests: ")]) == 1, subjects
    assert "Sending the failed run's alert (webhook)…" in output


@pytest.mark.airflow
def test_every_run_is_kept_and_the_report_charts_the_history_from_the_kept_artifacts(shared_home: Path) -> None:
    """The two runs above (green, then silver_users broken), charted by `tickit report` from what was kept."""
    home = shared_home
    if not SHARED_RUNS:  # the module's other runs were deselected
        run = tickit("run", "--synthetic", "--scale", "0.01", home=home)
        assert run.returncode == 0, run.stdout + run.stderr
        _remember_run(home, "success")
    result = tickit("report", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    history = report_data(result.stdout, home)["history"]
    assert [(r["run_id"], r["state"]) for r in history["runs"]] == list(SHARED_RUNS.items())
    if len(SHARED_RUNS) == 1:
        assert "no history yet" in " ".join(report_data(result.stdout, home)["notices"]["history"])
    for i, run_id in enumerate(SHARED_RUNS):
        folder = home / "runs" / run_id
        # What the DAG's producer kept (after a failed build too) and what `tickit run` added.
        record = json.loads((folder / "run.json").read_text())
        assert history["runs"][i]["seconds"] == record["seconds"]
        built = json.loads((folder / "dbt" / "run_results.json").read_text())["results"]
        assert json.loads((folder / "dbt" / "manifest.json").read_text())["metadata"]["dbt_version"]
        for r in built:
            if r["unique_id"].startswith("model."):
                expected = None if r["status"] == "skipped" else r["execution_time"]
                assert history["model_seconds"][r["unique_id"].split(".")[-1]][i] == expected, r["unique_id"]
        tests = [r["status"] for r in built if r["unique_id"].startswith("test.")]
        assert {s: history["tests"][s][i] for s in history["tests"]} == {s: tests.count(s) for s in history["tests"]}
        audit = json.loads((folder / "data.json").read_text())["load_audit"]
        assert {a["source"]: a["quarantined"] for a in audit} == {s: v[i] for s, v in history["quarantine"].items()}
        statuses = {r["unique_id"].split(".")[-1]: r["status"] for r in built if r["unique_id"].startswith("model.")}
        if SHARED_RUNS[run_id] == "failed":
            assert statuses["silver_users"] == "error" and statuses["gold_user_activity"] == "skipped"
            assert history["quarantine"]["sales"][i] == 2
        else:
            assert set(statuses.values()) == {"success"}
            assert (folder / "dbt" / "sources.json").is_file()  # the freshness check's
    for chart in ("run-durations", "model-durations", "rows-per-layer", "quarantine", "tests"):
        assert (home / "reports" / f"history-{chart}.png").read_bytes().startswith(b"\x89PNG")
    listed = tickit("runs", home=home)
    assert listed.returncode == 0, listed.stderr
    assert all(run_id in listed.stdout for run_id in SHARED_RUNS)


@pytest.mark.airflow
def test_a_run_on_other_files_than_the_warehouse_was_built_from_rebuilds_silver(tmp_path: Path) -> None:
    """Issue 31's trial, smaller: `tickit dbt build` on one dataset, then `tickit run` on a smaller one in the
    same home. silver_listing used to keep the first dataset's rows beside the new ones and fail its tests."""
    home = tmp_path / "home"
    for dbt_args in (("run-operation", "load_raw_tables"), ("build",)):
        done = tickit("dbt", "--synthetic", "--scale", "0.03", "--seed", "1", *dbt_args, home=home)
        assert done.returncode == 0, done.stdout + done.stderr
    result = tickit("run", "--synthetic", "--scale", "0.01", home=home)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "All 20 tasks succeeded" in output
    producer_logs = list((home / "airflow" / "logs").rglob("task_id=dbt_producer_watcher/**/attempt=1.log"))
    assert producer_logs and "silver_listing: the raw files changed since it was built" in producer_logs[0].read_text(
        errors="replace"
    )
    listings = FORMATS["listing"].rows_at_scale(0.01)
    with duckdb.connect(str(home / "warehouse" / "tickit.duckdb"), read_only=True) as con:
        assert con.execute("select count(*) from silver.silver_listing").fetchone() == (listings,)


def test_dbt_passthrough_uses_the_dags_environment_and_writes_only_under_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    args = ("dbt", "--synthetic", "--scale", "0.01", "ls", "--resource-type", "model", "--output", "name")
    result = tickit(*args, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    assert set(MODELS) <= set(result.stdout.split())
    assert (home / "dbt" / "target" / "manifest.json").is_file()


def test_duckdb_works_within_the_memory_and_threads_it_is_given_spilling_under_home(tmp_path: Path) -> None:
    """Every dbt call on the local warehouse runs under the profile's bound (docs/decisions/036), free to write
    rows in any order (decision 045)."""
    home = tmp_path / "home"
    query = (
        "select current_setting('memory_limit') as mem, current_setting('threads') as n, "
        "current_setting('temp_directory') as t, current_setting('preserve_insertion_order') as ordered"
    )
    args = ("dbt", "--synthetic", "--scale", "0.01", "show", "--inline", query, "--output", "json")
    result = tickit(*args, home=home, env={"TICKIT_DUCKDB_MEMORY_LIMIT": "300MB", "TICKIT_DUCKDB_THREADS": "1"})
    assert result.returncode == 0, result.stdout + result.stderr
    shown = json.loads(result.stdout[result.stdout.index("{") :])["show"][0]
    assert shown == {"mem": "286.1 MiB", "n": 1, "t": str(home.resolve() / "tmp"), "ordered": False}
    # Unset: 384 MiB (an eighth of a machine smaller than 3 GiB), and the machine's cores (docs/decisions/043).
    result = tickit(*args, home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = json.loads(result.stdout[result.stdout.index("{") :])["show"][0]
    total_mib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    assert shown["mem"] == f"{float(min(384, total_mib // 8)):.1f} MiB", shown
    assert int(shown["n"]) == len(os.sched_getaffinity(0))
    refused = tickit(*args, home=home, env={"TICKIT_DUCKDB_MEMORY_LIMIT": "lots"})
    assert refused.returncode == 2
    assert "TICKIT_DUCKDB_MEMORY_LIMIT" in refused.stderr and "1GB" in refused.stderr


def test_deploy_build_writes_the_mwaa_bucket_layout_and_refuses_a_foreign_folder(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path / "bundle"
    shared_wheelhouse(tmp_path / "home" / "deploy" / "cache", tmp_path_factory)
    result = tickit("deploy", "build", "--out", str(out), home=tmp_path / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"Bundle written to {out}" in result.stdout
    assert (out / "dags" / "dbt_tickit" / "target" / "manifest.json").is_file()
    assert (out / "requirements.txt").is_file() and (out / "startup.sh").is_file()
    # Where the model tasks will wait on the MWAA Airflow it targets, and why (docs/decisions/029).
    assert (
        "On MWAA's Airflow 3.3.1: Model tasks wait in Airflow's triggerer: the changes to Airflow's triggerer "
        "apply to Airflow 3.3.1 (verified on 3.3.1, 3.3.2)." in result.stdout
    )

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("mine")
    refused = tickit("deploy", "build", "--out", str(foreign), home=tmp_path / "home")
    assert refused.returncode == 1
    assert refused.stderr.startswith("tickit: ") and "Traceback" not in refused.stderr
    assert (foreign / "keep.txt").read_text() == "mine"


def test_synth_writes_the_files_and_says_what_it_wrote(tmp_path: Path) -> None:
    out = tmp_path / "files"
    result = tickit("data", "synth", "--scale", "0.01", "--seed", "3", "--out", str(out), home=tmp_path / "home")
    assert result.returncode == 0, result.stderr
    assert "synthetic tickit data (scale 0.01, seed 3)" in result.stdout
    assert {fmt.file for fmt in load_formats().values()} <= {p.name for p in out.iterdir()}


def test_fetch_of_a_missing_source_fails_with_what_to_do(tmp_path: Path) -> None:
    result = tickit("data", "fetch", "--source", str(tmp_path / "nope.zip"), home=tmp_path / "home")
    assert result.returncode == 1
    assert result.stderr.startswith("tickit: ")
    assert "nope.zip" in result.stderr
    assert "synth" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_is_a_usage_error(tmp_path: Path) -> None:
    result = tickit("data", "synth", "--scale", "0", home=tmp_path / "home")
    assert result.returncode == 2
    assert "scale must be greater than 0" in result.stderr
