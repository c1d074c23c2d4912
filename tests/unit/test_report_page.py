"""The report page and the run record it reads, without a warehouse or Airflow: made-up figures in,
the page a person opens out."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tickit_platform.history.record import DagRunResult, RunRecordError, TaskOutcome, read_run
from tickit_platform.history.runs import (
    RUN_RECORD,
    as_recorded,
    kept_runs,
    latest_recorded,
    read_recorded_run,
    record_run,
)
from tickit_platform.history.summary import read_summary
from tickit_platform.reporting.data import Business, DataQuality, Report, gather
from tickit_platform.reporting.history_charts import history_charts
from tickit_platform.reporting.page import render
from tickit_platform.settings import Settings

SCRIPT = "<script>alert(1)</script>"


def task(task_id: str, state: str | None, log: Path, start: str | None = "2026-01-02T03:04:05+00:00") -> TaskOutcome:
    end = "2026-01-02T03:04:09+00:00" if start else None
    return TaskOutcome(task_id, state, 4.0 if start else None, 1, start, end, log)


def run_result(tmp_path: Path, *tasks: TaskOutcome) -> DagRunResult:
    return DagRunResult("tickit_run__1", "failed", 12.5, tasks, started_at="2026-01-02T03:04:00+00:00")


def business(venue_name: str) -> Business:
    venue = {
        "venue_id": 7,
        "venue_name": venue_name,
        "venue_city": "Boston",
        "venue_state": "MA",
        "total_revenue": Decimal("1234.50"),
        "revenue_rank": 1,
    }
    event = {
        "event_id": 3,
        "event_name": "Hamlet",
        "category_name": "Plays",
        "tickets_sold": 4,
        "total_revenue": Decimal("20"),
    }
    customer = {
        "spend_rank": 1,
        "user_id": 9,
        "username": "ABC12345",
        "full_name": "Ann Lee",
        "city": "Reno",
        "state": "NV",
        "purchases_count": 2,
        "total_spent": Decimal("20"),
    }
    total = {"events": 5, "events_with_sales": 1, "total_revenue": Decimal("20")}
    return Business([venue], [event], total, [customer], {"customers": 1, "total_spent": 20.0}, [(0.0, 0.0)])


def report(tmp_path: Path, run: DagRunResult | None, venue_name: str = "Fenway Park") -> Report:
    data = DataQuality(None, None, {}, {"raw": {"sales": 10}}, [], None, None)
    created = datetime(2026, 1, 2, 3, 5, tzinfo=UTC)
    return Report(Settings(home=tmp_path), created, business(venue_name), run, None, data, {"run": []})


def embedded_json(page: str) -> dict[str, Any]:
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match
    loaded: dict[str, Any] = json.loads(match.group(1))
    return loaded


CHARTS = {name: b"\x89PNG" for name in ("revenue-by-venue", "sales-by-event", "customer-spend-pareto", "run-timeline")}


def test_markup_in_a_task_state_task_id_or_venue_name_is_shown_as_text(tmp_path: Path) -> None:
    log = tmp_path / "attempt=1.log"
    run = run_result(tmp_path, task(SCRIPT, "failed", log), task("gold_user_activity", SCRIPT, log, start=None))
    page = render(report(tmp_path, run, venue_name=SCRIPT), CHARTS)
    body = page.split('<script type="application/json" id="report-data">')[0]
    assert "<script>" not in body  # the only script element is the JSON data block
    assert body.count("&lt;script&gt;alert(1)&lt;/script&gt;") >= 4  # failed list and task table, venue table
    assert "<tr><td>gold_user_activity</td><td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in body  # the state
    # The JSON keeps the exact text a program reads, and still cannot close its script element early.
    data = embedded_json(page)
    assert data["business"]["venues"][0]["venue_name"] == SCRIPT
    assert {t["task_id"] for t in data["run"]["tasks"]} == {SCRIPT, "gold_user_activity"}


def test_failed_tasks_are_listed_with_the_log_of_each_failed_one(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "attempt=1.log"
    run = run_result(
        tmp_path, task("silver_users", "failed", log), task("gold_user_activity", "upstream_failed", log, None)
    )
    page = render(report(tmp_path, run), CHARTS)
    assert f'<li><b>silver_users</b> <span class="failed">failed</span> log: <code>{log}</code></li>' in page
    assert '<li><b>gold_user_activity</b> <span class="upstream_failed">upstream_failed</span></li>' in page
    assert '<td class="n">1,234.50</td>' in page  # money with thousands separators, right-aligned


def test_a_run_record_round_trips(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "attempt=2.log"
    run = run_result(
        tmp_path, task("silver_users", "failed", log), task("gold_user_activity", "upstream_failed", log, None)
    )
    layout = Settings(home=tmp_path).layout
    assert record_run(layout.runs, run, {}, keep=20) == []
    path = tmp_path / "runs" / "tickit_run__1" / RUN_RECORD
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == ["tickit_run__1"]  # one record per run
    record = json.loads(path.read_text())
    assert record["run_id"] == "tickit_run__1" and record["state"] == "failed"
    assert (
        record["start_date"] == "2026-01-02T03:04:00+00:00" and record["end_date"] == "2026-01-02T03:04:12.500000+00:00"
    )
    assert record["tasks"][0] == {
        "task_id": "silver_users",
        "state": "failed",
        "duration": 4.0,
        "try_number": 1,
        "start_date": "2026-01-02T03:04:05+00:00",
        "end_date": "2026-01-02T03:04:09+00:00",
        "log_path": str(log),
    }
    again, started = read_run(path)
    assert again == run
    assert started == datetime(2026, 1, 2, 3, 4, tzinfo=UTC)


def test_a_report_after_a_recorded_run_shows_its_tasks(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    log = tmp_path / "logs" / "attempt=1.log"
    record_run(
        settings.runs_dir,
        run_result(tmp_path, task("bronze_users", "success", log), task("silver_users", "failed", log)),
        {},
        keep=20,
    )
    gathered = gather(settings, read_summary(settings))
    assert gathered.run is not None and gathered.notices["run"] == []
    assert [t.task_id for t in gathered.run.tasks] == ["bronze_users", "silver_users"]
    # The recorded run is a kept run: the History section charts it too.
    assert gathered.history is not None and [r.run_id for r in gathered.history.runs] == ["tickit_run__1"]
    page = render(gathered, {"run-timeline": b"\x89PNG", **history_charts(gathered.history)})
    assert "<td>bronze_users</td>" in page and "<b>silver_users</b>" in page


def test_no_run_record_is_a_notice_saying_what_to_run(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    gathered = gather(settings, read_summary(settings))
    assert gathered.run is None
    assert gathered.notices["run"] == [f"No run recorded at {tmp_path / 'runs'}: run `tickit run` to record a DAG run."]


@pytest.mark.parametrize("content", ["{not json", '{"format": 99}', '{"format": 1, "run_id": "x"}', "[]"])
def test_an_unreadable_run_record_is_a_notice_not_a_traceback(tmp_path: Path, content: str) -> None:
    settings = Settings(home=tmp_path)
    record = settings.layout.run_folder("tickit_run__1") / RUN_RECORD
    record.parent.mkdir(parents=True)
    record.write_text(content)
    with pytest.raises(RunRecordError):
        read_run(record)
    gathered = gather(settings, read_summary(settings))
    assert gathered.run is None
    assert gathered.notices["run"][0].startswith("The run record could not be read:")


def test_the_run_just_recorded_is_what_a_later_reader_finds(tmp_path: Path) -> None:
    """`tickit run` hands its report the run it recorded instead of reading it back: the two must agree."""
    layout = Settings(home=tmp_path).layout
    log = tmp_path / "logs" / "attempt=1.log"
    run = run_result(tmp_path, task("bronze_users", "success", log), task("silver_users", "failed", log))
    figures = {"description": "synthetic", "layers": {"raw": {"sales": 10}}, "load_audit": []}
    record_run(layout.runs, run, figures, keep=20)
    assert as_recorded(layout.runs, run, figures) == read_recorded_run(layout.run_folder(run.run_id))
    assert latest_recorded(kept_runs(layout.runs)) == as_recorded(layout.runs, run, figures)
