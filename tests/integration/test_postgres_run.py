"""`tickit run --target postgres` as a user runs it, then the commands that read what it left.

A real run under a local Airflow loads files with two bad lines into a fresh PostgreSQL database, under a
schema prefix and with a password set (the server trusts local connections, so any password works, and it
must show nowhere). The run's end names PostgreSQL (server, database, schemas), never a DuckDB file, and
shows what a DuckDB run shows: rows per layer, the gold views' top rows, lines loaded and quarantined per
file. `tickit quarantine`, `tickit report` and `tickit runs`, given no target, read that same warehouse.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.support import MODELS, PG, SALES_HEADER, fresh_database, psql

from tickit_platform.data.synth import generate

pytestmark = [pytest.mark.postgres, pytest.mark.airflow, pytest.mark.timeout(900)]

PASSWORD = "pg-sentinel-5b1e9c"  # pragma: allowlist secret
PREFIX = "e2e"


def tickit(*args: str, home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "TICKIT_"))}
    full.update(env, TICKIT_HOME=str(home), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", *args],
        env=full,
        capture_output=True,
        text=True,
        timeout=850,
        check=False,
    )


def _psql(database: str, sql: str) -> list[str]:
    done = psql(sql, database)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _report(stdout: str) -> dict[str, Any]:
    page = Path(stdout.strip().splitlines()[-1].removeprefix("Report: ")).read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match, "the report embeds its figures as JSON"
    data: dict[str, Any] = json.loads(match.group(1))
    return data


class Ran:
    def __init__(self, home: Path, database: str, result: subprocess.CompletedProcess[str], env: dict[str, str]):
        self.home, self.database, self.result, self.env = home, database, result, env

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr

    @property
    def warehouse(self) -> str:
        return (
            f"PostgreSQL {PG['user']}@{PG['host']}:{PG['port']}/{self.database}, "
            f"schemas {PREFIX}_raw, {PREFIX}_bronze, {PREFIX}_silver, {PREFIX}_gold"
        )


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ran]:
    root = tmp_path_factory.mktemp("pg-run")
    raw = generate(root / "raw", scale=0.01, seed=3)
    sales = raw / "sales_tab.txt"
    sales.write_bytes(SALES_HEADER.encode() + b"\n" + sales.read_bytes())  # line 1: a header, quarantined
    home = root / "home"
    with fresh_database("tickit_pg_run") as database:
        env = {
            "DBT_POSTGRES_HOST": PG["host"],
            "DBT_POSTGRES_PORT": PG["port"],
            "DBT_POSTGRES_USER": PG["user"],
            "DBT_POSTGRES_DBNAME": database,
            "DBT_POSTGRES_PASSWORD": PASSWORD,
            "TICKIT_SCHEMA_PREFIX": PREFIX,
        }
        result = tickit("run", "--target", "postgres", "--source", str(raw), home=home, env=env)
        yield Ran(home, database, result, env)


def test_the_runs_end_names_postgres_and_shows_what_it_holds(ran: Ran) -> None:
    output = ran.output
    assert ran.result.returncode == 0, output
    assert "All 20 tasks succeeded" in output
    assert f"Warehouse: {ran.warehouse}" in output
    assert "tickit.duckdb" not in output and not (ran.home / "warehouse" / "tickit.duckdb").exists()
    # Rows per layer, as the database holds them.
    silver_sales = _psql(ran.database, f"select count(*) from {PREFIX}_silver.silver_sales")[0]
    layers = next(line for line in output.splitlines() if re.match(r"\W*silver\W", line))
    assert [cell.strip() for cell in layers.split("│")[1:-1]] == ["silver", "7", f"{_silver_rows(ran):,}"], layers
    assert int(silver_sales) > 0
    # The top rows of each gold view: the best venue is the database's.
    for view in ("gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity"):
        assert f"{view} (top 5)" in output
    best = _psql(ran.database, f"select venue_name from {PREFIX}_gold.gold_revenue_by_venue where revenue_rank = 1")
    assert best[0] in output
    # Lines loaded and quarantined per file: the sales header is the one line set aside.
    sales_row = next(line for line in output.splitlines() if "sales_tab.txt" in line and "│" in line)
    assert [cell.strip() for cell in sales_row.split("│")[1:-1]][-1] == "1", sales_row
    assert f"1 line(s) quarantined; list them with `tickit quarantine` (or query {PREFIX}_raw.quarantine" in output
    assert PASSWORD not in output


def _silver_rows(ran: Ran) -> int:
    counts = _psql(
        ran.database,
        "select table_name from information_schema.tables where table_schema = 'e2e_silver' order by 1",
    )
    return sum(int(_psql(ran.database, f"select count(*) from {PREFIX}_silver.{name}")[0]) for name in counts)


def test_quarantine_reads_the_postgres_warehouse_the_run_used(ran: Ran) -> None:
    # No target and no prefix given: the command reads where the last run wrote (the password from the env).
    env = {k: v for k, v in ran.env.items() if k != "TICKIT_SCHEMA_PREFIX"}
    listed = tickit("quarantine", home=ran.home, env=env)
    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"Warehouse: {ran.warehouse}" in listed.stdout
    line = next(line for line in listed.stdout.splitlines() if "header line" in line)
    assert "sales" in line and "sales_tab.txt" in line
    assert f"The same in SQL: select * from {PREFIX}_raw.quarantine" in listed.stdout
    assert PASSWORD not in listed.stdout + listed.stderr


def test_report_reads_the_postgres_warehouse(ran: Ran) -> None:
    env = {k: v for k, v in ran.env.items() if k != "TICKIT_SCHEMA_PREFIX"}
    written = tickit("report", home=ran.home, env=env)
    assert written.returncode == 0, written.stdout + written.stderr
    report = _report(written.stdout)
    assert report["warehouse"] == ran.warehouse and report["target"] == "postgres"
    venues = _psql(
        ran.database,
        f"select venue_id, total_revenue from {PREFIX}_gold.gold_revenue_by_venue order by revenue_rank, venue_id "
        "limit 10",
    )
    assert [(v["venue_id"], Decimal(v["total_revenue"])) for v in report["business"]["venues"]] == [
        (int(i), Decimal(r)) for i, r in (line.split("\t") for line in venues)
    ]
    layers = report["data"]["layers"]
    assert {name for layer in ("bronze", "silver", "gold") for name in layers[layer]} == set(MODELS)
    assert {q["source_name"]: q["rows_quarantined"] for q in report["data"]["quarantine"]} == {"sales": 1}
    assert {t["status"] for t in report["data"]["tests"]} >= {"pass", "warn"}  # the orphan venues warn
    page = (ran.home / "reports" / "report.html").read_text(encoding="utf-8")
    assert "reads the local DuckDB warehouse only" not in page and PASSWORD not in page
    assert PASSWORD not in written.stdout + written.stderr


def test_runs_names_the_warehouse_each_run_wrote_to(ran: Ran) -> None:
    listed = tickit("runs", home=ran.home, env={})
    assert listed.returncode == 0, listed.stderr
    assert f"Warehouse: {ran.warehouse}" in listed.stdout
    kept = next((ran.home / "runs").glob("*/data.json"))
    figures = json.loads(kept.read_text())
    assert figures["warehouse"] == ran.warehouse
    assert figures["layers"]["gold"] and figures["load_audit"]
    assert PASSWORD not in kept.read_text()
