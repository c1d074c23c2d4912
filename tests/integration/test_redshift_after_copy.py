"""The plain-SQL part of the Redshift load, run on PostgreSQL against the damaged files the local engines load.

No Redshift runs here. What Redshift's typed COPY would leave behind is set up on PostgreSQL instead:
the raw tables hold what the local parse loads plus the two kinds of line COPY accepts and the local
parse refuses (a duplicate key, an empty key, loaded as null); the quarantine holds the lines COPY
rejects, with their line numbers; `raw.tickit_lines_<table>` holds one row per line of the file, as
the second, one-column COPY would. Then the SQL the Redshift load runs after its COPYs,
`raw_after_copy_sql`, compiled by dbt for PostgreSQL, runs on that state, and its outcome is checked:
keys, quarantine, audit, and the bronze models' reconciliation test, which must be able to fail.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.support import PG, damage_raw_files, fresh_database, psql, run_dbt_postgres

from tickit_platform.data.formats import TABLES, load_formats
from tickit_platform.data.synth import generate

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]

FORMATS = load_formats()
# Loaded by COPY, refused by the local parse: the two classes the SQL after COPY handles.
AFTER_COPY = "reason like 'duplicate %' or reason like 'primary key % is empty'"
AFTER_COPY_SQL = (
    "{% for node in dbt_tickit.raw_sources() if node.name in var('tables') %}"
    "{{ dbt_tickit.raw_after_copy_sql(node, 'raw.tickit_lines_' ~ node.name) }};\n{% endfor %}"
)


@dataclass(frozen=True)
class AfterCopy:
    database: str
    work: Path
    raw_dir: Path
    lines: dict[str, int]  # lines per file, counted here from the bytes
    first_sale: list[str]
    empty_key_line: int


def _rows(database: str, sql: str) -> list[tuple[str, ...]]:
    out = psql(f"copy ({sql}) to stdout with (format csv)", database)
    assert out.returncode == 0, out.stderr
    return [tuple(row) for row in csv.reader(io.StringIO(out.stdout))]


def _run(database: str, sql: str) -> None:
    cmd = ["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", database, "-v", "ON_ERROR_STOP=1"]
    done = subprocess.run([*cmd, "-q", "-c", sql], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _as_copy_loads_it(table: str, line: str) -> str:
    """An insert of one line's fields as COPY types them (an empty field of a number is null)."""
    fmt = FORMATS[table]
    values = [
        f"cast(nullif({_literal(text)}, '') as {column.data_type})"
        for column, text in zip(fmt.columns, line.split(fmt.delimiter), strict=True)
    ]
    return f"insert into raw.{table} ({', '.join(fmt.column_names)}) values ({', '.join(values)})"


def after_copy_sql(work: Path, database: str, raw_dir: Path, tables: list[str]) -> str:
    vars_ = "{tables: [" + ", ".join(tables) + "]}"
    compiled = run_dbt_postgres(
        ["compile", "--no-populate-cache", "--vars", vars_, "--inline", AFTER_COPY_SQL], work, database, raw_dir
    )
    assert compiled.returncode == 0, compiled.stdout + compiled.stderr
    sql = compiled.stdout.split("Compiled inline node is:", 1)[1]
    return re.split(r"^\d\d:\d\d:\d\d ", sql, maxsplit=1, flags=re.M)[0]


@pytest.fixture(scope="module")
def after_copy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AfterCopy]:
    work = tmp_path_factory.mktemp("after-copy")
    # The server reads the files itself (pg_read_binary_file), so they live where it may read them.
    shared = Path(tempfile.mkdtemp(prefix="tickit-test-after-copy-", dir="/tmp"))
    try:
        raw_dir = generate(shared / "raw", scale=0.001, seed=1)
        _, first_sale = damage_raw_files(raw_dir)
        sales = raw_dir / FORMATS["sales"].file
        empty_key = "\t".join(["", *first_sale[1:]])  # a sale whose key is empty: COPY loads it as null
        sales.write_bytes(sales.read_bytes() + empty_key.encode() + b"\n")
        for path in [shared, raw_dir]:
            path.chmod(0o755)
        for path in raw_dir.iterdir():
            path.chmod(0o644)
        lines = {}
        for table in TABLES:
            data = (raw_dir / FORMATS[table].file).read_bytes()
            lines[table] = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        with fresh_database("tickit_after_copy") as database:
            load = run_dbt_postgres(["run-operation", "load_raw_tables"], work, database, raw_dir)
            assert load.returncode == 0, load.stdout + load.stderr
            # What COPY would have loaded: the local parse's rows and the lines it refused for a
            # duplicate or an empty key, which COPY does not check.
            inserts = [
                _as_copy_loads_it(source, line)
                for source, line in _rows(
                    database, f"select source_name, raw_line from raw.quarantine where {AFTER_COPY}"
                )
            ]
            assert len(inserts) == 2  # sales line 9 (a duplicate of line 2) and the empty key
            # The one-column table of whole lines the second COPY fills: every line, an empty one too.
            counted = [
                f"create table raw.tickit_lines_{table} as select line from string_to_table("
                f"(select case when right(text, 1) = E'\\n' then left(text, -1) else text end from"
                f" (select convert_from(pg_read_binary_file('{raw_dir / FORMATS[table].file}'), 'LATIN1') as text)"
                f" as file), E'\\n') as line"
                for table in TABLES
            ]
            _run(
                database,
                "; ".join([
                    "set datestyle = 'ISO, MDY'",
                    *inserts,
                    f"delete from raw.quarantine where {AFTER_COPY}",
                    "delete from raw.load_audit",
                    *counted,
                ]),
            )  # fmt: skip
            _run(database, after_copy_sql(work, database, raw_dir, list(TABLES)))
            yield AfterCopy(database, work, raw_dir, lines, first_sale, lines["sales"])
    finally:
        shutil.rmtree(shared, ignore_errors=True)


def test_empty_and_duplicate_keys_loaded_by_copy_are_moved_to_the_quarantine(after_copy: AfterCopy) -> None:
    db = after_copy.database
    first_id = after_copy.first_sale[0]
    assert _rows(db, "select count(*) from raw.sales where salesid is null") == [("0",)]
    assert _rows(db, "select salesid from raw.sales group by salesid having count(*) > 1") == []
    # Which copy came first cannot be told after COPY: both copies go, the key is never counted twice.
    assert _rows(db, f"select count(*) from raw.sales where salesid = {first_id}") == [("0",)]
    held = _rows(db, "select line_number, reason from raw.quarantine where source_name = 'sales' order by 1, 2")
    assert [row for row in held if row[0]] == [
        (str(n), reason)
        for n, reason in [
            (1, "header line"),
            (5, "expected 10 fields, found 3"),
            (6, "saletime: '2/30/2008 02:36:48' is not a timestamp (MM/DD/YYYY HH:MI:SS)"),
            (7, "qtysold: 'two' is not a smallint (digits and an optional minus, -32768 to 32767)"),
            (8, "not valid UTF-8 (bytes shown escaped)"),
            (10, "empty line"),
        ]
    ]
    expected = f"duplicate salesid {first_id} (2 lines; which came first is unknown, all are quarantined)"
    assert sorted(row[1] for row in held if not row[0]) == sorted([expected, expected, "primary key salesid is empty"])


def test_the_audit_counts_lines_from_the_whole_line_table_and_reconciles(after_copy: AfterCopy) -> None:
    audit = _rows(
        after_copy.database,
        "select source_name, lines_in_file, rows_loaded, rows_quarantined from raw.load_audit order by 1",
    )
    assert [row[0] for row in audit] == sorted(TABLES)
    for source, lines, loaded, held in audit:
        assert int(lines) == after_copy.lines[source], source
        assert int(lines) == int(loaded) + int(held), source
        assert _rows(after_copy.database, f"select count(*) from raw.{source}") == [(loaded,)]


def test_a_row_lost_behind_the_loaders_back_fails_reconciliation(after_copy: AfterCopy) -> None:
    """The count is independent: a venue that vanishes between COPY and the audit is not explained
    away by the audit (as loaded + errors would), so bronze_venue's reconciliation fails."""
    db, work, raw_dir = after_copy.database, after_copy.work, after_copy.raw_dir
    before = run_dbt_postgres(["build", "--select", "bronze_venue"], work, db, raw_dir)
    assert before.returncode == 0, before.stdout
    assert re.search(r"PASS +reconciles_with_raw_file_bronze_venue_", before.stdout), before.stdout
    _run(
        db,
        "delete from raw.venue where venueid = (select min(venueid) from raw.venue); "
        "delete from raw.load_audit where source_name = 'venue'",
    )
    _run(db, after_copy_sql(work, db, raw_dir, ["venue"]))
    after = run_dbt_postgres(["build", "--select", "bronze_venue"], work, db, raw_dir)
    assert after.returncode == 1, after.stdout
    assert re.search(r"FAIL 1 +reconciles_with_raw_file_bronze_venue_", after.stdout), after.stdout


def test_the_sql_after_copy_run_again_leaves_the_same_rows(after_copy: AfterCopy) -> None:
    """dbt-redshift runs a script again after some errors, and each statement was committed on its own:
    a second run must not add audit rows or quarantine lines twice."""
    db = after_copy.database
    state = [
        "select source_name, lines_in_file, rows_loaded, rows_quarantined from raw.load_audit order by 1",
        "select source_name, line_number, reason from raw.quarantine order by 1, 2, 3",
        "select count(*) from raw.sales",
    ]
    before = [_rows(db, sql) for sql in state]
    _run(db, after_copy_sql(after_copy.work, db, after_copy.raw_dir, list(TABLES)))
    assert [_rows(db, sql) for sql in state] == before
