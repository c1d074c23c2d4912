"""Run history on real dbt artifacts: one green `dbt build` and one with silver_users broken (no Airflow).

The DAG's callback keeps them per run (in a folder and in S3, moto's server standing in), `tickit run`'s
part adds the run record and data figures, and the report's History figures are read back from its JSON
and compared with the kept files themselves.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.support import copy_project, in_process_tickit, run_dbt
from tests.unit.test_deploy_push import aws_env, new_bucket, s3, s3_endpoint  # noqa: F401 - moto's S3 fixtures
from tests.unit.test_report_page import CHARTS, embedded_json

from tickit_platform.commands.session import settings_from
from tickit_platform.data.synth import generate
from tickit_platform.history.record import DagRunResult, TaskOutcome
from tickit_platform.history.runs import DATA_FIGURES, RUN_RECORD, find_run, kept_runs, record_run
from tickit_platform.history.summary import read_summary
from tickit_platform.history.trends import history
from tickit_platform.reporting.data import gather
from tickit_platform.reporting.history_charts import history_charts
from tickit_platform.reporting.page import render
from tickit_platform.settings import Settings
from tickit_runtime.artifacts import (
    BUILD_FILES,
    FolderStore,
    HistoryConfig,
    S3Store,
    keep_artifacts,
    prune,
)
from tickit_runtime.config import DagConfig
from tickit_runtime.errors import SettingsError
from tickit_runtime.home import HomeLayout

pytestmark = pytest.mark.timeout(600)
BUILD = {name: f"target/{name}" for name in BUILD_FILES}


@dataclass(frozen=True)
class Builds:
    green: Path  # a dbt project dir whose target/ holds a green build's artifacts (and sources.json)
    broken: Path  # the same after a build with silver_users broken
    warehouse: Path


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    work = tmp_path_factory.mktemp("history")
    raw = generate(work / "raw", scale=0.01, seed=42)
    warehouse = work / "warehouse" / "tickit.duckdb"
    warehouse.parent.mkdir()
    for args in (["run-operation", "load_raw_tables"], ["build"]):
        done = run_dbt(args, work / "green", warehouse, raw)
        assert done.returncode == 0, done.output
    sources = work / "green" / "target" / "sources.json"
    done = run_dbt(["source", "freshness", "--output", str(sources)], work / "green", warehouse, raw)
    assert done.returncode == 0, done.output
    project = copy_project(work / "project")
    model = project / "models" / "silver" / "silver_users.sql"
    model.write_text(model.read_text().replace("select * from final", "select no_such_column from final"))
    done = run_dbt(["build"], work / "broken", warehouse, raw, project_dir=project)
    assert done.returncode == 1, done.output
    return Builds(work / "green", work / "broken", warehouse)


def results(project: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((project / "target" / "run_results.json").read_text())
    return loaded


def keep(project: Path, location: Path, run_id: str, keep_runs: int = 20, **files: str) -> list[str]:
    return keep_artifacts(
        str(project), location=str(location), keep=keep_runs, files=files or BUILD, context={"run_id": run_id}
    )


def age(folder: Path, when: datetime) -> None:
    """Date every file of a run folder: runs are ordered by when their first file was kept."""
    for path in folder.rglob("*"):
        os.utime(path, (when.timestamp(), when.timestamp()))


def dag_run(run_id: str, state: str, started: datetime, seconds: float) -> DagRunResult:
    log = Path("attempt=1.log")
    start, end = started.isoformat(), (started + timedelta(seconds=seconds)).isoformat()
    failed = state == "failed"
    tasks = (
        TaskOutcome("silver_users", "failed" if failed else "success", seconds, 1, start, end, log),
        TaskOutcome("gold_user_activity", "upstream_failed" if failed else "success", None, 0, None, None, log),
    )
    return DagRunResult(run_id, state, seconds, tasks, started_at=start)


@pytest.fixture
def three_runs(builds: Builds, tmp_path: Path) -> Iterator[Settings]:
    """A home with the article's three runs kept as the DAG and `tickit run` keep them: green, failed, green."""
    settings = Settings(home=tmp_path / "home")
    settings.layout.warehouse.parent.mkdir(parents=True)
    shutil.copyfile(builds.warehouse, settings.warehouse_path)
    start = datetime(2026, 3, 1, 6, tzinfo=UTC)
    figures = read_summary(settings, "synthetic tickit data (scale 0.01, seed 42)").data_figures()
    for i, (project, state) in enumerate(
        [(builds.green, "success"), (builds.broken, "failed"), (builds.green, "success")]
    ):
        run_id = f"tickit_run__{i}"
        keep(project, settings.runs_dir, run_id)
        if project == builds.green:
            keep(project, settings.runs_dir, run_id, **{"sources.json": "target/sources.json"})
        quarantined = {**figures, "load_audit": [{**a, "quarantined": i} for a in figures["load_audit"]]}
        run = dag_run(run_id, state, start + timedelta(hours=i), 60.0 + i)
        record_run(settings.runs_dir, run, quarantined, keep=settings.dag.keep_runs)
        age(settings.layout.run_folder(run_id), start + timedelta(hours=i))
    yield settings


def test_the_callback_keeps_the_builds_files_and_only_the_last_n_runs(builds: Builds, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for i in range(4):
        kept = keep(builds.green, runs, f"run{i}", keep_runs=3)
        assert sorted(kept) == sorted(str(runs / f"run{i}" / "dbt" / name) for name in BUILD_FILES)
        age(runs / f"run{i}", start + timedelta(minutes=i))
    assert [r.run_id for r in FolderStore(runs).runs()] == ["run1", "run2", "run3"]  # run0 was the oldest
    for name in BUILD_FILES:
        assert (runs / "run3" / "dbt" / name).read_bytes() == (builds.green / "target" / name).read_bytes()
    # A missing file (the build never ran) or an unwritable location is logged, never a failed task.
    assert keep(builds.green, runs, "run4", **{"sources.json": "target/nope.json"}) == []
    (tmp_path / "file").write_text("")
    assert keep(builds.green, tmp_path / "file", "run5") == []


def test_history_figures_are_the_kept_artifacts(three_runs: Settings) -> None:
    runs = kept_runs(three_runs.runs_dir)
    assert [r.run_id for r in runs] == ["tickit_run__0", "tickit_run__1", "tickit_run__2"]
    trends = history(runs)
    assert [r.state for r in trends.runs] == ["success", "failed", "success"]
    assert [r.seconds for r in trends.runs] == [60.0, 61.0, 62.0]
    for i, run in enumerate(runs):
        kept = json.loads((run.folder / "dbt" / "run_results.json").read_text())
        for result in kept["results"]:
            if result["unique_id"].startswith("model."):
                expected = None if result["status"] == "skipped" else result["execution_time"]
                assert trends.model_seconds[result["unique_id"].split(".")[-1]][i] == expected
        statuses = Counter(r["status"] for r in kept["results"] if r["unique_id"].startswith("test."))
        assert {s: trends.tests[s][i] for s in trends.tests} == {s: statuses.get(s, 0) for s in trends.tests}
        layers = json.loads((run.folder / DATA_FIGURES).read_text())["layers"]
        assert {layer: values[i] for layer, values in trends.layers.items()} == {
            layer: sum(counts.values()) for layer, counts in layers.items()
        }
    # The failed build: silver_users errored, gold_user_activity was skipped, its tests did not run.
    assert trends.model_seconds["silver_users"][1] is not None and trends.model_seconds["gold_user_activity"][1] is None
    assert trends.tests["skipped"][0] == 0 and trends.tests["skipped"][1] >= 1
    assert set(trends.quarantine) == {"category", "date", "event", "listing", "sales", "users", "venue"}
    assert all(values == [0, 1, 2] for values in trends.quarantine.values())
    assert trends.notices == []
    assert {t.model for t in trends.slowest} <= set(trends.model_seconds) and len(trends.slowest) == 5


def test_the_report_embeds_the_history_it_charts(three_runs: Settings) -> None:
    report = gather(three_runs, read_summary(three_runs))
    charts = history_charts(report.history) if report.history else {}
    assert sorted(charts) == [
        "history-model-durations", "history-quarantine", "history-rows-per-layer", "history-run-durations",
        "history-tests",
    ]  # fmt: skip
    assert all(png.startswith(b"\x89PNG") for png in charts.values())
    page = render(report, {**CHARTS, **charts})
    data = embedded_json(page)["history"]
    assert [r["run_id"] for r in data["runs"]] == ["tickit_run__0", "tickit_run__1", "tickit_run__2"]
    assert data["model_seconds"] == (report.history.model_seconds if report.history else None)
    assert data["tests"] == (report.history.tests if report.history else None)
    for name in charts:
        assert f'id="chart-{name}"' in page
    # An earlier run's report shows the history up to that run, and that run in the Run section.
    earlier = gather(three_runs, read_summary(three_runs), run_id="tickit_run__1")
    assert earlier.run is not None and earlier.run.state == "failed"
    assert earlier.history is not None and [r.run_id for r in earlier.history.runs] == [
        "tickit_run__0",
        "tickit_run__1",
    ]


def test_one_run_says_there_is_no_history_yet_and_fifty_stay_readable(builds: Builds, tmp_path: Path) -> None:
    layout = HomeLayout(tmp_path / "home")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    keep(builds.green, layout.runs, "only")
    one = history(kept_runs(layout.runs))
    assert one.notices == ["Only one run is kept so far: no history yet. Trends appear from the next run on."]
    assert all(png.startswith(b"\x89PNG") for png in history_charts(one).values())
    for i in range(50):
        run_id = f"run{i:02d}"
        keep(builds.broken if i % 7 == 3 else builds.green, layout.runs, run_id, keep_runs=60)
        age(layout.run_folder(run_id), start + timedelta(hours=i))
    age(layout.run_folder("only"), start - timedelta(days=1))
    fifty = history(kept_runs(layout.runs))
    assert len(fifty.runs) == 51 and fifty.runs[0].run_id == "only" and fifty.runs[-1].run_id == "run49"
    assert [r.state for r in fifty.runs[1:8]] == ["success"] * 3 + ["failed"] + ["success"] * 3  # from dbt alone
    assert all(png.startswith(b"\x89PNG") for png in history_charts(fifty).values())
    # `tickit run` prunes to TICKIT_KEEP_RUNS when it records its run.
    dropped = record_run(layout.runs, dag_run("run49", "success", start, 1.0), {}, keep=20)
    assert dropped == ["only", *(f"run{i:02d}" for i in range(30))]
    assert [r.run_id for r in kept_runs(layout.runs)] == [f"run{i:02d}" for i in range(30, 50)]
    assert (layout.run_folder("run49") / RUN_RECORD).is_file()


def test_history_settings_come_from_tickit_variables_or_mwaas_airflow_options(tmp_path: Path) -> None:
    home = {"TICKIT_HOME": str(tmp_path)}
    assert DagConfig.from_env(home).history == HistoryConfig(str(tmp_path / "runs"), 20)
    mwaa = {"AIRFLOW__TICKIT__RUNS_URI": "s3://bucket/runs", "AIRFLOW__TICKIT__KEEP_RUNS": "5"}
    assert DagConfig.from_env({**home, **mwaa}).history == HistoryConfig("s3://bucket/runs", 5)
    ours = {**home, **mwaa, "TICKIT_RUNS_URI": str(tmp_path / "x"), "TICKIT_KEEP_RUNS": "3"}
    assert DagConfig.from_env(ours).history == HistoryConfig(str(tmp_path / "x"), 3)


def test_the_cli_records_and_lists_runs_where_tickit_runs_uri_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The folder the DAG keeps its artifacts in is the one `tickit run` records in and `tickit runs` reads."""
    elsewhere = (tmp_path / "elsewhere").resolve()
    monkeypatch.setenv("TICKIT_RUNS_URI", str(elsewhere))
    settings = settings_from(argparse.Namespace(home=str(tmp_path / "home")))
    assert settings.runs_dir == elsewhere
    # The DAG reads its configuration back from the environment `tickit run` hands Airflow.
    assert DagConfig.from_env(settings.dag.to_env()).history.location == str(elsewhere)
    record_run(settings.runs_dir, dag_run("tickit_run__1", "success", datetime(2026, 1, 1, tzinfo=UTC), 5.0), {}, 20)
    assert (elsewhere / "tickit_run__1" / RUN_RECORD).is_file() and not settings.layout.runs.exists()
    code, out, err = in_process_tickit(capsys, "--home", str(settings.home))("runs")
    assert code == 0, err
    assert [line.split()[1] for line in out.splitlines() if "tickit_run__" in line] == ["tickit_run__1"]


def test_a_relative_runs_folder_is_the_same_for_every_process_and_an_s3_one_is_not_the_clis(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({"TICKIT_RUNS_URI": "kept"})
    assert settings.runs_dir == tmp_path.resolve() / "kept" and settings.dag.runs_uri == str(settings.runs_dir)
    with pytest.raises(SettingsError, match="AIRFLOW__TICKIT__RUNS_URI"):
        _ = Settings.from_env({"AIRFLOW__TICKIT__RUNS_URI": "s3://bucket/runs"}).runs_dir


def test_runs_and_report_of_an_unknown_run(three_runs: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    tickit = in_process_tickit(capsys, "--home", str(three_runs.home))
    code, out, err = tickit("runs")
    assert code == 0, err
    lines = [line for line in out.splitlines() if "tickit_run__" in line]
    assert [line.split()[1] for line in lines] == ["tickit_run__2", "tickit_run__1", "tickit_run__0"]
    assert "failed" in lines[1] and "61.0" in lines[1] and "synthetic" in lines[1]
    code, out, err = tickit("report", "--run", "nope")
    assert code == 1 and out == ""
    assert err.strip().splitlines() == [
        f"tickit: no kept run 'nope' under {three_runs.runs_dir}; `tickit runs` lists the kept runs' ids"
    ]
    with pytest.raises(Exception, match="no kept run"):
        find_run(three_runs.runs_dir, "../runs")
    code, out, err = tickit("report", "--run", "tickit_run__1")
    assert code == 0, err
    page = three_runs.layout.run_report("tickit_run__1") / "report.html"
    assert out.strip().splitlines()[-1] == f"Report: {page}"
    assert embedded_json(page.read_text())["run"]["state"] == "failed"


def test_s3_store_keeps_and_prunes_under_its_prefix_only(builds: Builds, s3: Any) -> None:  # noqa: F811
    bucket = new_bucket(s3, versioned=False)
    s3.put_object(Bucket=bucket, Key="dags/keep.txt", Body=b"x")
    store = S3Store(f"s3://{bucket}/runs", client=s3)
    for i in range(3):
        keep_artifacts(str(builds.green), location="", keep=2, files=BUILD, context={"run_id": f"r{i}"}, store=store)
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["dags/keep.txt"] + [f"runs/r{i}/dbt/{name}" for i in (1, 2) for name in sorted(BUILD_FILES)]
    body = s3.get_object(Bucket=bucket, Key="runs/r2/dbt/run_results.json")["Body"].read()
    assert body == (builds.green / "target" / "run_results.json").read_bytes()
    assert prune(store, 1) == ["r1"]
