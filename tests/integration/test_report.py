"""`tickit report` on a warehouse built by dbt: its numbers are the gold views', and it renders offline.

One small dbt build (scale 0.01) is shared by the module; no Airflow is started here (the run timeline
is checked by the full-run tests in test_cli.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.support import skip_or_fail

from tickit_runtime.paths import REPO_ROOT

pytestmark = pytest.mark.timeout(300)

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
OUTPUT = Path(os.environ.get("TICKIT_TEST_OUTPUT") or REPO_ROOT / ".test-output")
BUSINESS_CHARTS = ("revenue-by-venue", "sales-by-event", "customer-spend-pareto")


def tickit(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TICKIT_HOME": str(home), "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", *args], env=env, capture_output=True, text=True, timeout=280
    )


@dataclass(frozen=True)
class Written:
    home: Path
    result: subprocess.CompletedProcess[str]

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse" / "tickit.duckdb"

    @property
    def html_path(self) -> Path:
        return Path(self.result.stdout.strip().splitlines()[-1].removeprefix("Report: "))

    def data(self) -> dict[str, Any]:
        page = self.html_path.read_text(encoding="utf-8")
        match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
        assert match, "the report embeds its figures as JSON"
        parsed: dict[str, Any] = json.loads(match.group(1))
        return parsed

    def gold(self, view: str) -> list[dict[str, Any]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            cursor = con.execute(f"select * from gold.{view}")
            columns = [d[0] for d in cursor.description or []]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Written]:
    home = tmp_path_factory.mktemp("report") / "home"
    data = ("--synthetic", "--scale", "0.01", "--seed", "7")
    for dbt_args in (("run-operation", "load_raw_tables"), ("build",)):
        done = tickit("dbt", *data, *dbt_args, home=home)
        assert done.returncode == 0, done.stdout + done.stderr
    result = tickit("report", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    yield Written(home, result)


def test_report_prints_its_files_last_and_writes_them_under_home(built: Written) -> None:
    lines = built.result.stdout.strip().splitlines()
    assert lines[-1] == f"Report: {built.home / 'reports' / 'report.html'}"
    charts = [Path(line.removeprefix("Chart: ")) for line in lines if line.startswith("Chart: ")]
    assert {c.stem for c in charts} == set(BUSINESS_CHARTS)
    for chart in charts:
        assert chart.parent == built.home / "reports" and chart.read_bytes().startswith(b"\x89PNG")
    assert built.html_path.is_file()


def test_business_figures_are_the_gold_views(built: Written) -> None:
    business = built.data()["business"]

    venues = sorted(built.gold("gold_revenue_by_venue"), key=lambda r: (-r["total_revenue"], r["venue_id"]))
    assert [(v["venue_id"], Decimal(v["total_revenue"])) for v in business["venues"]] == [
        (v["venue_id"], v["total_revenue"]) for v in venues[:10]
    ]

    events = sorted(built.gold("gold_sales_by_event"), key=lambda r: (-r["total_revenue"], r["event_id"]))
    assert [(e["event_id"], Decimal(e["total_revenue"])) for e in business["events"]] == [
        (e["event_id"], e["total_revenue"]) for e in events[:10]
    ]
    assert business["events_total"]["events"] == len(events)
    assert Decimal(business["events_total"]["total_revenue"]) == sum(e["total_revenue"] for e in events)

    customers = sorted(built.gold("gold_user_activity"), key=lambda r: (-r["total_spent"], r["user_id"]))
    assert [(c["user_id"], Decimal(c["total_spent"])) for c in business["customers"]] == [
        (c["user_id"], c["total_spent"]) for c in customers[:10]
    ]
    # The Pareto curve: after the top tenth of customers, their share of all spend.
    curve = business["pareto"]
    assert curve[0] == [0.0, 0.0] and curve[-1][0] == pytest.approx(1.0) and curve[-1][1] == pytest.approx(1.0)
    total = sum(c["total_spent"] for c in customers)
    for share_of_customers, share_of_revenue in curve[1:]:
        top = round(share_of_customers * len(customers))
        assert share_of_revenue == pytest.approx(float(sum(c["total_spent"] for c in customers[:top]) / total))


def test_page_says_what_is_missing_and_shows_the_layers(built: Written) -> None:
    report = built.data()
    page = built.html_path.read_text(encoding="utf-8")
    with duckdb.connect(str(built.warehouse), read_only=True) as con:
        sales = con.execute("select count(*) from silver.silver_sales").fetchone()
    assert report["data"]["layers"]["silver"]["silver_sales"] == (sales[0] if sales else None)
    # The gold views' rows, counted on the way to their other figures (warehouse/figures.py).
    views = ("gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity")
    assert report["data"]["layers"]["gold"] == {view: len(built.gold(view)) for view in views}
    assert report["data"]["description"] == "synthetic tickit data (scale 0.01, seed 7)"
    assert len(report["data"]["checksums"]) == 7
    # No Airflow ran here: the page says so and what to run, and the rest is still there.
    assert report["run"] is None
    assert "No run recorded at" in page and "run `tickit run`" in page
    # Interfaces another module provides: when absent, the page says so instead of failing.
    if report["data"]["tests"] is None:
        assert "Data-quality results unavailable" in page
    if report["data"]["quarantine"] is None:
        assert "no quarantine table (older warehouse)" in page.lower()
    # Offline: nothing in the page is fetched from anywhere.
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)


def test_quarantine_and_load_audit_are_counted_per_source(built: Written, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    shutil.copy2(built.warehouse, home / "warehouse" / "tickit.duckdb")
    with duckdb.connect(str(home / "warehouse" / "tickit.duckdb")) as con:
        con.execute("drop table if exists raw.quarantine; drop table if exists raw.load_audit")
        con.execute(
            "create table raw.quarantine (source_name varchar, file_name varchar, line_number integer, "
            "raw_line varchar, reason varchar)"
        )
        con.execute(
            "insert into raw.quarantine values ('sales', 'sales_tab.txt', 3, 'x', 'bad date'), "
            "('sales', 'sales_tab.txt', 9, 'y', 'too few fields'), ('venue', 'venue_pipe.txt', 1, 'z', 'bad id')"
        )
        con.execute(
            "create table raw.load_audit as select 'sales' as source_name, 'sales_tab.txt' as file_name, "
            "12 as lines_in_file, 10 as rows_loaded, 2 as rows_quarantined"
        )
    result = tickit("report", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    data = Written(home, result).data()["data"]
    assert {q["source_name"]: q["rows_quarantined"] for q in data["quarantine"]} == {"sales": 2, "venue": 1}
    assert data["load_audit"] == [
        {
            "source_name": "sales",
            "file_name": "sales_tab.txt",
            "lines_in_file": 12,
            "rows_loaded": 10,
            "rows_quarantined": 2,
        }
    ]


def test_a_report_after_a_recorded_run_shows_its_tasks_and_timeline(built: Written, tmp_path: Path) -> None:

    from tickit_platform.history.record import DagRunResult, TaskOutcome
    from tickit_platform.history.runs import record_run
    from tickit_runtime.home import HomeLayout

    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    shutil.copy2(built.warehouse, home / "warehouse" / "tickit.duckdb")
    log = home / "airflow" / "logs" / "attempt=1.log"
    start, end = "2026-01-02T03:04:05+00:00", "2026-01-02T03:04:09+00:00"
    tasks = (
        TaskOutcome("bronze_users", "success", 4.0, 1, start, end, log),
        TaskOutcome("silver_users", "failed", 4.0, 2, start, end, log),
        TaskOutcome("gold_user_activity", "upstream_failed", None, 0, None, None, log),
    )
    record_run(
        HomeLayout(home).runs, DagRunResult("tickit_run__x", "failed", 9.0, tasks, started_at=start), {}, keep=20
    )
    result = tickit("report", home=home)
    assert result.returncode == 0, result.stdout + result.stderr
    run = Written(home, result).data()["run"]
    assert run["run_id"] == "tickit_run__x" and run["state"] == "failed"
    assert [t["task_id"] for t in run["tasks"]] == ["bronze_users", "silver_users", "gold_user_activity"]
    assert run["failed"] == ["silver_users", "gold_user_activity"]
    assert f"Chart: {home / 'reports' / 'run-timeline.png'}" in result.stdout
    page = Written(home, result).html_path.read_text(encoding="utf-8")
    assert f'<b>silver_users</b> <span class="failed">failed</span> log: <code>{log}</code>' in page


def test_nothing_to_report_is_an_error_saying_what_to_run(tmp_path: Path) -> None:
    result = tickit("report", home=tmp_path / "empty")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("tickit: nothing to report on")
    assert "Run `tickit run` first" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "empty" / "reports" / "report.html").exists()


def test_business_charts_render_in_a_browser_offline(built: Written) -> None:
    if not Path(CHROMIUM).exists():
        skip_or_fail("Debian's chromium is not installed (apt-get install -y chromium chromium-driver)")
    from PIL import Image
    from playwright.sync_api import Route, sync_playwright

    fetched: list[str] = []

    def refuse(route: Route) -> None:
        if not route.request.url.startswith(("file:", "data:")):
            fetched.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    OUTPUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.route("**/*", refuse)
        page.goto(built.html_path.as_uri())
        widths = {name: page.eval_on_selector(f"#chart-{name}", "img => img.naturalWidth") for name in BUSINESS_CHARTS}
        page.screenshot(path=str(OUTPUT / "report.png"), full_page=True)
        browser.close()
    assert fetched == []
    assert all(width > 0 for width in widths.values()), widths
    for name in BUSINESS_CHARTS:
        with Image.open(built.home / "reports" / f"{name}.png") as chart:
            colours = chart.convert("RGB").getcolors(maxcolors=1 << 20) or []
        inked = sum(count for count, rgb in colours if rgb != (255, 255, 255))
        assert inked > 0.02 * chart.width * chart.height, f"{name}.png is (nearly) blank"
