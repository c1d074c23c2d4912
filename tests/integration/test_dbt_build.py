"""Load synthetic tickit files with the dbt macro, build all 17 models on DuckDB, check them against Python."""

from __future__ import annotations

import csv
import itertools
import json
import re
import shutil
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.support import MODELS, Run
from tests.support import run_dbt as dbt

from tickit_platform.data.formats import TABLES, TableFormat, load_formats
from tickit_platform.data.synth import generate

FORMATS = load_formats()
SCALE, SEED = 0.01, 7
EXPECTED_TYPES = {"timestamp": "TIMESTAMP", "boolean": "BOOLEAN", "decimal(8,2)": "DECIMAL(8,2)"}


@dataclass(frozen=True)
class Warehouse:
    raw_dir: Path
    database: Path
    load: Run
    build: Run
    rows: dict[str, list[dict[str, str]]]

    @property
    def manifest(self) -> dict[str, Any]:
        # run_dbt keeps dbt's target/ beside the raw folder, under the module's work folder.
        loaded: dict[str, Any] = json.loads((self.raw_dir.parent / "target" / "manifest.json").read_text())
        return loaded

    def query(self, sql: str) -> list[tuple[object, ...]]:
        with duckdb.connect(str(self.database), read_only=True) as con:
            return con.execute(sql).fetchall()


def parse(path: Path, fmt: TableFormat) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=fmt.delimiter, quoting=csv.QUOTE_NONE)
        return [dict(zip(fmt.column_names, line, strict=True)) for line in reader]


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    root = tmp_path_factory.mktemp("dbt_build")
    raw_dir = generate(root / "raw", scale=SCALE, seed=SEED)
    (root / "warehouse").mkdir()
    database = root / "warehouse" / "tickit.duckdb"
    load = dbt(["run-operation", "load_raw_tables"], root, database, raw_dir)
    assert load.returncode == 0, load.output
    build = dbt(["build"], root, database, raw_dir)
    rows = {table: parse(raw_dir / FORMATS[table].file, FORMATS[table]) for table in TABLES}
    return Warehouse(raw_dir, database, load, build, rows)


def saletime(value: str) -> datetime:
    return datetime.strptime(value, "%m/%d/%Y %H:%M:%S")


def money(value: object) -> Decimal:
    assert isinstance(value, Decimal), value
    return value


# --- load ---------------------------------------------------------------------------------------------------


def test_load_reports_every_table(warehouse: Warehouse) -> None:
    for table in TABLES:
        fmt = FORMATS[table]
        lines = len(warehouse.rows[table])
        assert f'"raw"."{table}": {lines} rows, 0 quarantined, of {lines} lines in {fmt.file}' in warehouse.load.output


def test_raw_column_types(warehouse: Warehouse) -> None:
    found = {
        (table, column): data_type
        for table, column, data_type in warehouse.query(
            "select table_name, column_name, data_type from information_schema.columns where table_schema = 'raw' "
            "and table_name not in ('quarantine', 'load_audit', 'built_from')"
        )
    }
    expected = {}
    for table, fmt in FORMATS.items():
        for column in fmt.columns:
            kind = column.data_type.lower()
            if kind.startswith(("char", "varchar")):
                expected[(table, column.name)] = "VARCHAR"
            else:
                expected[(table, column.name)] = EXPECTED_TYPES.get(kind, kind.upper())
    assert found == expected
    assert found[("sales", "saletime")] == "TIMESTAMP"
    assert found[("event", "starttime")] == "TIMESTAMP"
    assert found[("listing", "listtime")] == "TIMESTAMP"
    assert found[("users", "likesports")] == "BOOLEAN"
    assert found[("date", "holiday")] == "BOOLEAN"
    assert found[("sales", "pricepaid")] == "DECIMAL(8,2)"
    assert found[("listing", "priceperticket")] == "DECIMAL(8,2)"


def test_raw_row_counts(warehouse: Warehouse) -> None:
    for table in TABLES:
        ((count,),) = warehouse.query(f'select count(*) from raw."{table}"')
        assert count == len(warehouse.rows[table]) == FORMATS[table].rows_at_scale(SCALE), table


def test_unpadded_saletime_loads_as_the_right_timestamp(warehouse: Warehouse) -> None:
    loaded = dict(warehouse.query("select salesid, saletime from raw.sales"))
    expected = {int(row["salesid"]): saletime(row["saletime"]) for row in warehouse.rows["sales"]}
    assert loaded == expected
    # The file really does hold unpadded months or days, so the check above covered them.
    assert any(re.match(r"^(\d/|\d{1,2}/\d/)", row["saletime"]) for row in warehouse.rows["sales"])
    ((parsed,),) = warehouse.query("select strptime('2/18/2008 02:36:48', '%m/%d/%Y %H:%M:%S')")
    assert parsed == datetime(2008, 2, 18, 2, 36, 48)


def test_event_and_listing_timestamps_load(warehouse: Warehouse) -> None:
    events = dict(warehouse.query("select eventid, starttime from raw.event"))
    assert events == {int(row["eventid"]): datetime.fromisoformat(row["starttime"]) for row in warehouse.rows["event"]}
    listings = dict(warehouse.query("select listid, listtime from raw.listing"))
    assert listings == {
        int(row["listid"]): datetime.fromisoformat(row["listtime"]) for row in warehouse.rows["listing"]
    }


def test_decimals_load_exactly(warehouse: Warehouse) -> None:
    rows = warehouse.query("select salesid, pricepaid, commission from raw.sales")
    loaded = {sid: (paid, commission) for sid, paid, commission in rows}
    expected = {
        int(row["salesid"]): (Decimal(row["pricepaid"]), Decimal(row["commission"])) for row in warehouse.rows["sales"]
    }
    assert loaded == expected


def test_empty_likes_are_null(warehouse: Warehouse) -> None:
    likes = [c for c in FORMATS["users"].column_names if c.startswith("like")]
    assert len(likes) == 10
    total_empty = 0
    for column in likes:
        empty = sum(1 for row in warehouse.rows["users"] if row[column] == "")
        trues = sum(1 for row in warehouse.rows["users"] if row[column] == "TRUE")
        ((nulls, true_count),) = warehouse.query(
            f"select count(*) - count({column}), count(*) filter ({column}) from raw.users"
        )
        assert (nulls, true_count) == (empty, trues), column
        total_empty += empty
    assert total_empty > 0


def test_date_holiday_loads_as_boolean(warehouse: Warehouse) -> None:
    loaded = dict(warehouse.query("select dateid, holiday from raw.date"))
    assert loaded == {int(row["dateid"]): row["holiday"] == "TRUE" for row in warehouse.rows["date"]}
    assert loaded[1827] is True


# --- build --------------------------------------------------------------------------------------------------


def test_build_succeeds(warehouse: Warehouse) -> None:
    assert warehouse.build.returncode == 0, warehouse.build.output


def test_build_output_has_the_orphan_warning_and_no_error(warehouse: Warehouse) -> None:
    out = warehouse.build.stdout
    warn_lines = [line for line in out.splitlines() if re.search(r"\bWARN\b", line)]
    assert any("relationships_silver_event_venue_id" in line and "WARN 2" in line for line in warn_lines), out
    assert re.search(r"\bWARN=1\b", out), out
    assert re.search(r"\bERROR=0\b", out), out
    errors = [line for line in out.splitlines() if re.search(r"\bERROR\b", line) and "ERROR=0" not in line]
    assert not errors, errors
    assert "SKIP=0" in out


def test_all_models_exist_in_their_schema(warehouse: Warehouse) -> None:
    found = {
        name: (schema, kind)
        for schema, name, kind in warehouse.query(
            "select table_schema, table_name, table_type from information_schema.tables "
            "where table_schema in ('bronze', 'silver', 'gold')"
        )
    }
    assert len(MODELS) == 17
    expected = {model: (model.split("_")[0], "VIEW" if model.startswith("gold_") else "BASE TABLE") for model in MODELS}
    assert found == expected


def test_every_built_column_is_documented(warehouse: Warehouse) -> None:
    built: dict[str, set[str]] = defaultdict(set)
    for table, column in warehouse.query(
        "select table_name, column_name from information_schema.columns "
        "where table_schema in ('bronze', 'silver', 'gold')"
    ):
        built[str(table)].add(str(column))
    documented = {
        node["name"]: {name for name, c in node["columns"].items() if c["description"].strip()}
        for node in warehouse.manifest["nodes"].values()
        if node["resource_type"] == "model"
    }
    assert {model: built[model] - documented.get(model, set()) for model in MODELS} == {
        model: set() for model in MODELS
    }


@pytest.mark.parametrize("table", TABLES)
def test_bronze_mirrors_raw(warehouse: Warehouse, table: str) -> None:
    columns = ", ".join(f'"{c}"' for c in FORMATS[table].column_names)
    raw = warehouse.query(f'select {columns} from raw."{table}" order by all')
    bronze = warehouse.query(f"select {columns} from bronze.bronze_{table} order by all")
    assert bronze == raw


# --- gold against plain Python ------------------------------------------------------------------------------


def test_gold_revenue_by_venue(warehouse: Warehouse) -> None:
    venue_of = {row["eventid"]: int(row["venueid"]) for row in warehouse.rows["event"]}
    known = {int(row["venueid"]): row["venuename"] for row in warehouse.rows["venue"]}
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    commission: dict[int, Decimal] = defaultdict(Decimal)
    tickets: Counter[int] = Counter()
    sales: Counter[int] = Counter()
    for sale in warehouse.rows["sales"]:
        venue = venue_of[sale["eventid"]]
        revenue[venue] += Decimal(sale["pricepaid"])
        commission[venue] += Decimal(sale["commission"])
        tickets[venue] += int(sale["qtysold"])
        sales[venue] += 1
    rows = warehouse.query(
        "select venue_id, venue_name, total_revenue, total_commission, tickets_sold, sales_count, is_known_venue, "
        "revenue_rank from gold.gold_revenue_by_venue"
    )
    assert {r[0]: money(r[2]) for r in rows} == dict(revenue)
    assert {r[0]: money(r[3]) for r in rows} == dict(commission)
    assert {r[0]: r[4] for r in rows} == dict(tickets)
    assert {r[0]: r[5] for r in rows} == dict(sales)
    assert {r[0]: r[6] for r in rows} == {venue: venue in known for venue in revenue}
    assert {r[0]: r[1] for r in rows} == {venue: known.get(venue) for venue in revenue}
    orphans = {int(row["venueid"]) for row in warehouse.rows["event"]} - set(known)
    assert len(orphans) == 2
    orphans_with_sales = orphans & set(revenue)
    assert orphans_with_sales, "no orphan venue sold anything: the quirk is not exercised"
    assert all(r[6] is False and r[1] is None for r in rows if r[0] in orphans)
    total = sum((Decimal(s["pricepaid"]) for s in warehouse.rows["sales"]), Decimal(0))
    assert sum((money(r[2]) for r in rows), Decimal(0)) == total
    top = max(revenue.values())
    assert {r[0] for r in rows if r[7] == 1} == {venue for venue, value in revenue.items() if value == top}


def test_gold_sales_by_event(warehouse: Warehouse) -> None:
    tickets: Counter[int] = Counter()
    revenue: dict[int, Decimal] = defaultdict(Decimal)
    commission: dict[int, Decimal] = defaultdict(Decimal)
    count: Counter[int] = Counter()
    for sale in warehouse.rows["sales"]:
        event = int(sale["eventid"])
        tickets[event] += int(sale["qtysold"])
        revenue[event] += Decimal(sale["pricepaid"])
        commission[event] += Decimal(sale["commission"])
        count[event] += 1
    events = [int(row["eventid"]) for row in warehouse.rows["event"]]
    rows = warehouse.query(
        "select event_id, sales_count, tickets_sold, total_revenue, total_commission, event_name "
        "from gold.gold_sales_by_event"
    )
    assert sorted(r[0] for r in rows) == sorted(events)
    assert {r[0]: r[1] for r in rows} == {e: count[e] for e in events}
    assert {r[0]: r[2] for r in rows} == {e: tickets[e] for e in events}
    assert {r[0]: Decimal(r[3]) for r in rows} == {e: revenue.get(e, Decimal(0)) for e in events}
    assert {r[0]: Decimal(r[4]) for r in rows} == {e: commission.get(e, Decimal(0)) for e in events}
    names = {int(row["eventid"]): row["eventname"].strip() for row in warehouse.rows["event"]}
    assert {r[0]: r[5] for r in rows} == names


def test_gold_sales_by_event_shows_zero_for_events_without_sales(warehouse: Warehouse, tmp_path: Path) -> None:
    """Every event of this seed sold something, so drop one event's sales in a copy of the warehouse."""
    copy = tmp_path / warehouse.database.name  # same file name: the views name the database after it
    shutil.copyfile(warehouse.database, copy)
    with duckdb.connect(str(copy)) as con:
        ((event_id,),) = con.execute("select min(event_id) from silver.silver_sales").fetchall()
        con.execute("delete from silver.silver_sales where event_id = ?", [event_id])
        rows = con.execute(
            "select sales_count, tickets_sold, total_revenue, total_commission from gold.gold_sales_by_event "
            "where event_id = ?",
            [event_id],
        ).fetchall()
        ((events,),) = con.execute("select count(*) from gold.gold_sales_by_event").fetchall()
    assert rows == [(0, 0, Decimal(0), Decimal(0))]
    assert events == len(warehouse.rows["event"])


def test_gold_user_activity(warehouse: Warehouse) -> None:
    spent: dict[int, Decimal] = defaultdict(Decimal)
    purchases: Counter[int] = Counter()
    tickets: Counter[int] = Counter()
    for sale in warehouse.rows["sales"]:
        buyer = int(sale["buyerid"])
        spent[buyer] += Decimal(sale["pricepaid"])
        purchases[buyer] += 1
        tickets[buyer] += int(sale["qtysold"])
    rows = warehouse.query(
        "select user_id, total_spent, purchases_count, tickets_bought, spend_rank, first_purchase_at, "
        "last_purchase_at from gold.gold_user_activity"
    )
    assert {r[0]: money(r[1]) for r in rows} == dict(spent)
    assert {r[0]: r[2] for r in rows} == dict(purchases)
    assert {r[0]: r[3] for r in rows} == dict(tickets)
    top = max(spent.values())
    assert {r[0] for r in rows if r[4] == 1} == {buyer for buyer, value in spent.items() if value == top}
    # Ranks follow spending: a higher total never has a worse rank.
    ranked = sorted(rows, key=lambda r: r[4])
    assert all(money(a[1]) >= money(b[1]) for a, b in itertools.pairwise(ranked))
    times: dict[int, list[datetime]] = defaultdict(list)
    for sale in warehouse.rows["sales"]:
        times[int(sale["buyerid"])].append(saletime(sale["saletime"]))
    assert {r[0]: (r[5], r[6]) for r in rows} == {b: (min(t), max(t)) for b, t in times.items()}


# --- bad input ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_raw(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generate(tmp_path_factory.mktemp("small_raw"), scale=0.001, seed=1)


@pytest.fixture(scope="module")
def failing_work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dbt's target and log folders shared by the failing loads, so the second one reuses the parse.

    They also share the database path: dbt re-parses from scratch whenever the profile changes.
    """
    return tmp_path_factory.mktemp("failing_dbt")


def fresh_database(work: Path) -> Path:
    database = work / "tickit.duckdb"
    database.unlink(missing_ok=True)
    return database


def test_missing_raw_dir_env_fails_the_load(failing_work: Path) -> None:
    run = dbt(["run-operation", "load_raw_tables"], failing_work, fresh_database(failing_work), None)
    assert run.returncode != 0, run.output
    assert "TICKIT_RAW_DIR" in run.output, run.output
