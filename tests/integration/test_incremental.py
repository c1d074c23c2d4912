"""Incremental silver models on DuckDB: a backfill over days equals one full refresh over the same data.

The raw files are cut down to three consecutive days of sales and listings, loaded once, then built
two ways: one `dbt run --full-refresh`, and a day-by-day backfill with the interval vars the DAG passes
(days out of order, one day twice, one empty day). Gold must come out identical, row for row.
"""

from __future__ import annotations

import csv
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from tests.support import DBT_PROJECT_DIR, run_dbt

from tickit_platform.data.formats import load_formats
from tickit_platform.data.synth import generate

FORMATS = load_formats()
FIRST_DAY = datetime(2008, 3, 10)
DAYS = 3
GOLD = ("gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity")


def _keep_days(path: Path, column: str, table: str, fmt: str) -> int:
    spec = FORMATS[table]
    index = spec.column_names.index(column)
    with path.open(newline="") as handle:
        rows = list(csv.reader(handle, delimiter=spec.delimiter, quoting=csv.QUOTE_NONE))
    end = FIRST_DAY + timedelta(days=DAYS)
    kept = [row for row in rows if FIRST_DAY <= datetime.strptime(row[index], fmt) < end]
    path.write_text("".join(spec.delimiter.join(row) + "\n" for row in kept))
    return len(kept)


def _interval(day: datetime, rows_per_delete: int = 2_000_000) -> list[str]:
    start, end = day, day + timedelta(days=1)
    return [
        "--vars",
        f"{{tickit_interval_start: '{start:%Y-%m-%d %H:%M:%S}', tickit_interval_end: '{end:%Y-%m-%d %H:%M:%S}', "
        f"delete_insert_rows_per_delete: {rows_per_delete}}}",
    ]


def _rows(database: Path, relation: str) -> list[tuple[object, ...]]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(f"select * from {relation} order by all").fetchall()


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int]]:
    root = tmp_path_factory.mktemp("incremental")
    raw = generate(root / "raw", scale=0.05, seed=5)
    counts = {
        "sales": _keep_days(raw / FORMATS["sales"].file, "saletime", "sales", "%m/%d/%Y %H:%M:%S"),
        "listing": _keep_days(raw / FORMATS["listing"].file, "listtime", "listing", "%Y-%m-%d %H:%M:%S"),
    }
    assert counts["sales"] > 20 and counts["listing"] > 20, counts
    (root / "base").mkdir()
    database = root / "base" / "tickit.duckdb"
    load = run_dbt(["run-operation", "load_raw_tables"], root, database, raw)
    assert load.returncode == 0, load.output
    return raw, database, counts


def _copy(database: Path, folder: Path) -> Path:
    folder.mkdir()
    # Same file name: the views name the database after the file.
    return Path(shutil.copyfile(database, folder / database.name))


def test_a_backfill_over_the_days_equals_a_full_refresh(
    loaded: tuple[Path, Path, dict[str, int]], tmp_path: Path
) -> None:
    raw, base, counts = loaded
    full = _copy(base, tmp_path / "full")
    # A full refresh processes all the data, even when the run has an interval.
    done = run_dbt(["run", "--full-refresh", *_interval(FIRST_DAY)], tmp_path, full, raw)
    assert done.returncode == 0, done.output
    assert len(_rows(full, "silver.silver_sales")) == counts["sales"]

    backfill = _copy(base, tmp_path / "backfill")
    days = [FIRST_DAY + timedelta(days=n) for n in range(DAYS)]
    # The last day first: the first run creates the incremental tables with that day's rows only.
    first = run_dbt(["run", *_interval(days[-1])], tmp_path, backfill, raw)
    assert first.returncode == 0, first.output
    ((day_sales,),) = (
        duckdb.connect(str(backfill), read_only=True).execute("select count(*) from silver.silver_sales").fetchall()
    )
    assert 0 < day_sales < counts["sales"], "the interval did not restrict the run"
    # An empty day before the data, the remaining days, and one day again: all of them idempotent. Their rows
    # are replaced 3 keys at a time, as 2 M at a time at scale 100 (macros/delete_insert_in_key_ranges.sql).
    for day in [FIRST_DAY - timedelta(days=1), days[0], *days[1:-1], days[0]]:
        step = run_dbt(["run", *_interval(day, rows_per_delete=3)], tmp_path, backfill, raw)
        assert step.returncode == 0, step.output
    # More deletes than one per model and run (2 models, 4 runs): each run's rows went in several ranges.
    deletes = (tmp_path / "logs" / "dbt.log").read_text().count("delete from")
    assert deletes > 2 * 4, deletes

    for relation in ("silver.silver_sales", "silver.silver_listing", *(f"gold.{view}" for view in GOLD)):
        assert _rows(backfill, relation) == _rows(full, relation), relation
    assert len(_rows(backfill, "silver.silver_sales")) == counts["sales"]
    assert len(_rows(backfill, "silver.silver_listing")) == counts["listing"]


@pytest.mark.parametrize(
    ("id_sql", "unique_key"), [("'k' || i", "'id'"), ("i", "['id', 'part']")], ids=["varchar", "composite"]
)
def test_a_key_that_is_not_one_whole_number_is_replaced_by_dbt_duckdbs_own_delete(
    tmp_path: Path, id_sql: str, unique_key: str
) -> None:
    """The ranges are only for a key of one whole-number column; any other key is deleted as dbt-duckdb does."""
    project = tmp_path / "project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    (project / "models" / "scratch.sql").write_text(
        f"{{{{ config(materialized='incremental', unique_key={unique_key}, incremental_strategy='delete+insert') }}}}\n"
        f"select {id_sql} as id, i % 2 as part, {{{{ var('round', 1) }}}} as round from range(10) as t(i)\n"
    )
    database = tmp_path / "scratch.duckdb"
    for run in (1, 2):
        done = run_dbt(["run", "-s", "scratch", "--vars", f"{{round: {run}}}"], tmp_path, database, None, project)
        assert done.returncode == 0, done.output
    # Every row replaced once: ten rows, all of them the second run's.
    with duckdb.connect(str(database), read_only=True) as con:
        found = con.execute("select table_schema from information_schema.tables where table_name = 'scratch'")
        (schema,) = found.fetchone() or ("",)
        assert con.execute(f"select count(*), min(round) from {schema}.scratch").fetchall() == [(10, 2)]
