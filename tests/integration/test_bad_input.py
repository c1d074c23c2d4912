"""Damaged raw files through the real load macro and `dbt build` on DuckDB: every line is accounted for.

One damaged copy of a small synthetic dataset carries every kind of bad line at a known line number;
the tests check the exact quarantine rows, the counts that reconcile, and which models and tests the
damage stops (and which it must not).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from tests.support import MODELS, SALES_HEADER, Run, damage_raw_files, run_dbt

from tickit_platform.data.formats import TABLES, load_formats
from tickit_platform.data.synth import generate

FORMATS = load_formats()


@dataclass(frozen=True)
class Damaged:
    raw_dir: Path
    database: Path
    work: Path
    load: Run
    build: Run
    lines: dict[str, int]  # lines per file after the damage
    first_sale: list[str]

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.execute(sql).fetchall()


@pytest.fixture(scope="module")
def damaged(tmp_path_factory: pytest.TempPathFactory) -> Damaged:
    root = tmp_path_factory.mktemp("damaged")
    raw_dir = generate(root / "raw", scale=0.001, seed=1)
    lines, first = damage_raw_files(raw_dir)
    database = root / "tickit.duckdb"
    load = run_dbt(["run-operation", "load_raw_tables"], root, database, raw_dir)
    assert load.returncode == 0, load.output
    build = run_dbt(["build"], root, database, raw_dir)
    return Damaged(raw_dir, database, root, load, build, lines, first)


def test_every_bad_line_is_quarantined_with_its_file_line_text_and_reason(damaged: Damaged) -> None:
    rows = damaged.query(
        "select line_number, raw_line, reason from raw.quarantine where source_name = 'sales' order by line_number"
    )
    found = {line: (text, reason) for line, text, reason in rows}
    first = damaged.first_sale
    assert found[1] == (SALES_HEADER, "header line")
    assert found[5] == ("900100\t1\t2", "expected 10 fields, found 3")
    assert found[6][1] == "saletime: '2/30/2008 02:36:48' is not a timestamp (MM/DD/YYYY HH:MI:SS)"
    assert found[7][1] == "qtysold: 'two' is not a smallint (digits and an optional minus, -32768 to 32767)"
    assert found[8][1].startswith("not valid UTF-8")
    # Kept byte for byte: what is not printable UTF-8 is shown escaped (\xNN), tabs included.
    assert found[8][0].startswith("900105\\x0910\\x09") and "387\\xFF.00" in found[8][0], found[8][0]
    assert found[9] == ("\t".join(first), f"duplicate salesid {first[0]} (first at line 2)")
    assert found[10] == ("", "empty line")
    assert sorted(found) == [1, 5, 6, 7, 8, 9, 10]
    assert {
        r[0] for r in damaged.query("select distinct file_name from raw.quarantine where source_name = 'sales'")
    } == {"sales_tab.txt"}
    users = dict(damaged.query("select raw_line, reason from raw.quarantine where source_name = 'users'"))
    assert sorted(users.values()) == [
        "likesports: 'MAYBE' is not a boolean (TRUE, true, t, y, yes, 1, FALSE, false, f, n, no or 0)",
        "username: 10 bytes, at most 8",
    ]


def test_lines_in_each_file_equal_rows_loaded_plus_rows_quarantined(damaged: Damaged) -> None:
    audit = {
        name: (lines, loaded, quarantined)
        for name, lines, loaded, quarantined in damaged.query(
            "select source_name, lines_in_file, rows_loaded, rows_quarantined from raw.load_audit"
        )
    }
    assert set(audit) == set(TABLES)
    for table in TABLES:
        lines, loaded, quarantined = audit[table]
        ((bronze,),) = damaged.query(f"select count(*) from bronze.bronze_{table}")
        ((held,),) = damaged.query(f"select count(*) from raw.quarantine where source_name = '{table}'")
        assert lines == damaged.lines[table], table
        assert (loaded, quarantined) == (bronze, held), table
        assert lines == bronze + held, table
    assert audit["sales"][2] == 7 and audit["users"][2] == 2
    assert sum(v[2] for k, v in audit.items() if k not in {"sales", "users"}) == 0
    # The load's quarantine alert reads these figures from dbt's log of the load: the real log, parsed.
    from tickit_runtime.alerts.messages import loaded_files

    dbt_log = (damaged.work / "logs" / "dbt.log").read_text(errors="replace")
    reported = {f.relation.split(".")[-1].strip('"'): (f.lines, f.rows, f.quarantined) for f in loaded_files(dbt_log)}
    assert reported == audit
    # The load log says it per file, too.
    assert f"{audit['sales'][1]} rows, 7 quarantined, of {damaged.lines['sales']} lines in sales_tab.txt" in (
        damaged.load.output
    )


def test_rows_that_parse_but_break_a_rule_reach_bronze(damaged: Damaged) -> None:
    rows = dict(damaged.query("select salesid, pricepaid from bronze.bronze_sales where salesid in (900103, 900104)"))
    assert set(rows) == {900103, 900104}
    assert str(rows[900103]) == "-50.00"


def _result(build: Run, node: str) -> str:
    """dbt's verdict on one node from its console output: PASS, WARN n, FAIL n, ERROR, SKIP, OK..."""
    match = re.search(rf"\d+ of \d+ (\S+(?: \d+)?) +\S* ?{re.escape(node)} ", build.stdout)
    if match is None:
        match = re.search(rf"(SKIP) relation \S*{re.escape(node)}\b", build.stdout)
    assert match, f"{node} not in dbt's output:\n{build.stdout}"
    return match.group(1)


def test_error_rules_stop_only_what_depends_on_the_broken_model(damaged: Damaged) -> None:
    out = damaged.build.stdout
    assert damaged.build.returncode == 1, out
    assert re.search(r"FAIL 1 +non_negative_silver_sales_price_paid", out), out
    assert re.search(r"FAIL 1 +non_negative_silver_sales_tickets_sold", out), out
    assert re.search(r"FAIL 1 +relationships_silver_sales_", out), out
    # Every gold view reads sales, so all three wait; nothing else is skipped.
    skipped = set(re.findall(r"SKIP relation \w+\.(\w+)", out))
    assert skipped == {"gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity"}, out
    # Reconciliation and keys hold in every bronze model despite the damage.
    for table in TABLES:
        assert re.search(rf"PASS +reconciles_with_raw_file_bronze_{table}_", out), out
    built = {name for (name,) in damaged.query("select table_name from information_schema.tables")}
    assert {m for m in MODELS if not m.startswith("gold_")} <= built


def test_warn_rules_let_the_build_finish_and_keep_the_offending_rows(damaged: Damaged) -> None:
    out = damaged.build.stdout
    assert re.search(r"WARN 2 +relationships_silver_event_venue_id", out), out
    ((orphans,),) = damaged.query("select count(*) from tickit_audit.silver_event_orphan_venues")
    assert orphans == 2


def test_reloading_the_same_files_changes_nothing(damaged: Damaged, tmp_path: Path) -> None:
    copy = tmp_path / "tickit.duckdb"
    shutil.copyfile(damaged.database, copy)
    reload = run_dbt(["run-operation", "load_raw_tables"], damaged.work, copy, damaged.raw_dir)
    assert reload.returncode == 0, reload.output
    query = "select source_name, lines_in_file, rows_loaded, rows_quarantined from raw.load_audit order by 1"
    with duckdb.connect(str(copy), read_only=True) as con:
        again = con.execute(query).fetchall()
        quarantine = con.execute("select * from raw.quarantine order by all").fetchall()
        sales = con.execute("select count(*), count(distinct salesid) from raw.sales").fetchall()
    assert again == damaged.query(query)
    assert quarantine == damaged.query("select * from raw.quarantine order by all")
    assert sales == damaged.query("select count(*), count(distinct salesid) from raw.sales")
    assert sales[0][0] == sales[0][1]


def test_a_lost_row_fails_reconciliation_and_stops_that_source(damaged: Damaged, tmp_path: Path) -> None:
    """The check is live: delete one loaded venue behind the loader's back and bronze_venue fails."""
    copy = tmp_path / "tickit.duckdb"
    shutil.copyfile(damaged.database, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("delete from raw.venue where venueid = (select min(venueid) from raw.venue)")
    build = run_dbt(["build", "--select", "bronze_venue+"], damaged.work, copy, damaged.raw_dir)
    assert build.returncode == 1, build.output
    assert re.search(r"FAIL 1 +reconciles_with_raw_file_bronze_venue_", build.stdout), build.stdout
    assert re.search(r"SKIP relation \w+\.silver_venue", build.stdout), build.stdout


@pytest.mark.parametrize("problem", ["missing", "empty"])
def test_a_missing_or_empty_file_fails_the_load_naming_it_and_loads_nothing(tmp_path: Path, problem: str) -> None:
    raw_dir = generate(tmp_path / "raw", scale=0.001, seed=1)
    venue = raw_dir / FORMATS["venue"].file
    if problem == "missing":
        venue.unlink()
    else:
        venue.write_bytes(b"")
    database = tmp_path / "tickit.duckdb"
    load = run_dbt(["run-operation", "load_raw_tables"], tmp_path, database, raw_dir)
    assert load.returncode != 0, load.output
    assert f"venue_pipe.txt is {problem} (table venue)" in load.output, load.output
    assert "Nothing was loaded" in load.output
    if database.exists():
        with duckdb.connect(str(database), read_only=True) as con:
            tables = con.execute("select table_name from information_schema.tables").fetchall()
        assert tables == []
