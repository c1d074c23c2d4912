"""Property-based tests of the raw loader's parsing (hypothesis), on the SQL dbt really sends, on DuckDB and on
PostgreSQL.

The load SQL for a table is printed once per engine by dbt (`show_raw_load_sql`), then run against many
generated files: whatever a line holds, it is either loaded with exactly its values or quarantined with a
reason, every line is counted once, and the loader never raises on content. On PostgreSQL the file is read
in pieces of 7 bytes (`tickit_raw_piece_bytes`), so lines straddle pieces, newlines fall on their edges,
and the way a file of 1 GiB or more is read (in pieces of 64 MiB) runs on every example; both engines read
the file from a folder whose name holds a quote and glob characters. The tests at the end hold both engines
to one rule for every value (docs/loading-rules.md): the same verdict, the same loaded value, and the verdict
that page's table gives.
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
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Protocol

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support import PG, fresh_database, run_dbt, run_dbt_postgres

from tickit_platform.data.formats import load_formats
from tickit_platform.data.synth import generate
from tickit_runtime import duckdb_plugin

pytestmark = pytest.mark.timeout(900)

FORMATS = load_formats()
SALES = FORMATS["sales"]
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
# A folder name PostgreSQL and DuckDB must read literally: a quote, and DuckDB's glob characters.
ODD_FOLDER = "it's [raw] *?"
PIECE_BYTES = 7

Loaded = tuple[list[tuple[object, ...]], list[tuple[int, str, str]], tuple[int, int, int]]


class Loader(Protocol):
    def load(self, data: bytes) -> Loaded: ...


@dataclass(frozen=True)
class DuckDBLoader:
    sql: str
    path: Path  # the file the SQL reads; each example overwrites it
    database: Path

    def load(self, data: bytes) -> Loaded:
        self.path.write_bytes(data)
        self.database.unlink(missing_ok=True)
        with duckdb.connect(str(self.database)) as con:
            duckdb_plugin.register(con)  # what the profile's plugin gives every dbt connection
            con.execute(self.sql)
            loaded = con.execute("select * from raw.sales order by salesid").fetchall()
            quarantined = con.execute(
                "select line_number, raw_line, reason from raw.quarantine order by line_number"
            ).fetchall()
            audit = con.execute("select lines_in_file, rows_loaded, rows_quarantined from raw.load_audit").fetchone()
        assert audit is not None
        return loaded, quarantined, (int(audit[0]), int(audit[1]), int(audit[2]))


@dataclass(frozen=True)
class PostgresLoader:
    sql: Path
    path: Path
    database: str

    def _rows(self, sql: str) -> list[list[str]]:
        out = _psql(self.database, "-c", f"copy ({sql}) to stdout with (format csv, null '<null>')")
        return list(csv.reader(io.StringIO(out)))

    def load(self, data: bytes) -> Loaded:
        self.path.write_bytes(data)
        self.path.chmod(0o644)
        _psql(self.database, "-f", str(self.sql))
        loaded = [
            (int(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5]), int(r[6]), Decimal(r[7]),
             Decimal(r[8]), datetime.fromisoformat(r[9]))
            for r in self._rows("select * from raw.sales order by salesid")
        ]  # fmt: skip
        quarantined = [
            (int(n), text, reason)
            for n, text, reason in self._rows(
                "select line_number, coalesce(raw_line, ''), reason from raw.quarantine order by line_number"
            )
        ]
        ((lines, rows, held),) = self._rows("select lines_in_file, rows_loaded, rows_quarantined from raw.load_audit")
        return loaded, quarantined, (int(lines), int(rows), int(held))


def _psql(database: str, *args: str) -> str:
    cmd = ["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", database, "-v", "ON_ERROR_STOP=1"]
    done = subprocess.run([*cmd, "-q", *args], capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def shared_folder() -> Iterator[Path]:
    """A folder the PostgreSQL server may read (it reads as its own OS user)."""
    parent = Path(tempfile.mkdtemp(prefix="tickit-test-loader-", dir="/tmp"))
    try:
        parent.chmod(0o755)
        raw_dir = generate(parent / ODD_FOLDER / "raw", scale=0.001, seed=3)
        for folder in (parent / ODD_FOLDER, raw_dir):
            folder.chmod(0o755)
        for path in raw_dir.iterdir():
            path.chmod(0o644)
        yield raw_dir
    finally:
        shutil.rmtree(parent, ignore_errors=True)


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def loader(
    request: pytest.FixtureRequest, shared_folder: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Loader]:
    root = tmp_path_factory.mktemp(f"loader-{request.param}")
    show = ["run-operation", "show_raw_load_sql", "--args", "{table: sales}", "--quiet"]
    if request.param == "duckdb":
        run = run_dbt(show, root, root / "tickit.duckdb", shared_folder)
        assert run.returncode == 0, run.output
        assert "read_blob(" in run.stdout and "[[]raw]" in run.stdout
        yield DuckDBLoader(run.stdout, shared_folder / SALES.file, root / "tickit.duckdb")
        return
    with fresh_database("tickit_loader") as database:
        run = run_dbt_postgres(
            [*show, "--vars", f"{{tickit_raw_piece_bytes: {PIECE_BYTES}}}"], root, database, shared_folder
        )
        assert run.returncode == 0, run.output
        assert f", start, {PIECE_BYTES})" in run.stdout
        sql = root / "load_sales.sql"
        sql.write_text(run.stdout)
        yield PostgresLoader(sql, shared_folder / SALES.file, database)


@dataclass(frozen=True)
class Sale:
    salesid: int
    listid: int
    qtysold: int
    pricepaid: Decimal
    saletime: datetime

    def line(self) -> str:
        t = self.saletime
        when = f"{t.month}/{t.day}/{t.year} {t:%H:%M:%S}"
        commission = (self.pricepaid * Decimal("0.15")).quantize(Decimal("0.01"))
        fields = [self.salesid, self.listid, 7, 8, 9, 1900, self.qtysold, f"{self.pricepaid:.2f}", commission, when]
        return "\t".join(str(f) for f in fields)


sales = st.builds(
    Sale,
    salesid=st.integers(1, 2**31 - 1),
    listid=st.integers(1, 2**31 - 1),
    qtysold=st.integers(-(2**15), 2**15 - 1),
    pricepaid=st.decimals(min_value=-999999, max_value=999999, places=2, allow_nan=False),
    saletime=st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2099, 12, 31)).map(
        lambda t: t.replace(microsecond=0)
    ),
)


@PROPERTY_SETTINGS
@given(st.lists(sales, min_size=1, max_size=30, unique_by=lambda s: s.salesid))
def test_good_lines_load_with_exactly_their_values(loader: Loader, rows: list[Sale]) -> None:
    loaded, quarantined, audit = loader.load("\n".join(s.line() for s in rows).encode() + b"\n")
    assert quarantined == []
    assert audit == (len(rows), len(rows), 0)
    got = {r[0]: (r[1], r[6], r[7], r[9]) for r in loaded}
    assert got == {s.salesid: (s.listid, s.qtysold, s.pricepaid, s.saletime) for s in rows}


def _escaped(data: bytes) -> str:
    """Bytes as the quarantine shows a line that is not text: printable ASCII but quotes and backslash as
    itself, every other byte as \\xNN (DuckDB's cast of a blob to text)."""
    return "".join(chr(b) if 32 <= b <= 126 and b not in b"\"'\\" else f"\\x{b:02X}" for b in data)


def _mangle(line: str, how: int, junk: str) -> str:
    fields = line.split("\t")
    if how == 0:
        return "\t".join(fields[:-1])  # a field short
    if how == 1:
        return line + "\t" + junk  # a field too many
    if how == 2:
        fields[6] = junk + "x"  # not a number
        return "\t".join(fields)
    if how == 3:
        fields[9] = "13/45/2008 99:00:00"  # not a time
        return "\t".join(fields)
    return junk  # anything at all


@PROPERTY_SETTINGS
@given(
    st.lists(
        st.tuples(
            sales,
            st.integers(0, 5),
            st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\n\r"), max_size=20),
        ),
        min_size=1,
        max_size=30,
        unique_by=lambda t: t[0].salesid,
    )
)
def test_every_line_is_loaded_or_quarantined_with_a_reason(loader: Loader, rows: list[tuple[Sale, int, str]]) -> None:
    lines = [sale.line() if how == 5 else _mangle(sale.line(), how, junk) for sale, how, junk in rows]
    loaded, quarantined, audit = loader.load("\n".join(lines).encode() + b"\n")
    assert audit == (len(lines), len(loaded), len(quarantined))
    assert len(loaded) + len(quarantined) == len(lines)
    assert all(reason for _, _, reason in quarantined)
    by_line = {number: text for number, text, _ in quarantined}
    for number, line in enumerate(lines, start=1):
        if number in by_line:  # the exact text is kept for valid UTF-8 (PostgreSQL escapes a line with NUL)
            assert by_line[number] == line or ("\x00" in line and by_line[number] == _escaped(line.encode()))
    # Every untouched line loaded (unless a mangled line happened to take its key first, it is a duplicate).
    clean = [sale for sale, how, _ in rows if how == 5]
    loaded_ids = {r[0] for r in loaded}
    for sale in clean:
        assert sale.salesid in loaded_ids or any("duplicate" in reason for *_, reason in quarantined)


@PROPERTY_SETTINGS
@given(st.lists(st.binary(max_size=80).filter(lambda b: b"\n" not in b and b"\r" not in b), min_size=1, max_size=20))
def test_the_loader_never_raises_on_content(loader: Loader, lines: list[bytes]) -> None:
    loaded, quarantined, audit = loader.load(b"\n".join(lines) + b"\n")
    assert audit[0] == len(lines)
    assert audit == (len(lines), len(loaded), len(quarantined))


def test_nul_bytes_and_lines_and_reasons_of_any_length_are_quarantined(loader: Loader) -> None:
    good = Sale(1, 2, 3, Decimal("10.00"), datetime(2008, 1, 2, 3, 4, 5)).line()
    fields = Sale(4, 5, 6, Decimal("1.00"), datetime(2008, 1, 2, 3, 4, 5)).line().split("\t")
    fields[6] = "9" * 70_000 + "x"  # the line is over 65,535 characters, and so is its reason
    long_line = "\t".join(fields)
    nul = Sale(7, 8, 9, Decimal("1.00"), datetime(2008, 1, 2, 3, 4, 5)).line().replace("\t9\t", "\t9\x00\t", 1)
    loaded, quarantined, audit = loader.load("\n".join([good, long_line, nul]).encode() + b"\n")
    assert audit == (3, 1, 2)
    assert [row[0] for row in loaded] == [1]
    assert [number for number, _, _ in quarantined] == [2, 3]
    (long_text, long_reason), (_, nul_reason) = [(text, reason) for _, text, reason in quarantined]
    assert long_text == long_line
    assert long_reason.startswith("qtysold: '999") and len(long_reason) > 70_000
    assert nul_reason  # DuckDB: qtysold is not a number; PostgreSQL: text cannot hold the NUL


NOT_THE_FILES_TIME_FORMAT = [
    "now", "today", "tomorrow", "infinity", "-infinity", "epoch", "allballs", "2008-01-05", "2008-01-05 10:00:00",
    "1/5/2008", "2/30/2008 10:00:00", "1/5/2008 24:00:00", "1/5/2008 10:00:60", "1/5/2008 10:00:00.1234567",
    "1/5/2008 10:00", " 1/5/2008 10:00:00", "1/5/2008  10:00:00", "1/5/0000 10:00:00",
    "J2454471", "1/5/2008 10:00:00 BC", "1/5/2008 10:00:00+02",
]  # fmt: skip


def test_a_time_not_in_the_files_format_is_quarantined(loader: Loader) -> None:
    """The sales file's times are MM/DD/YYYY HH:MI:SS: PostgreSQL's or DuckDB's own cast would take some of these."""
    base = Sale(1, 2, 3, Decimal("10.00"), datetime(2008, 1, 2, 3, 4, 5)).line().split("\t")
    lines = ["\t".join([str(100 + i), *base[1:9], when]) for i, when in enumerate(NOT_THE_FILES_TIME_FORMAT)]
    lines.append("\t".join(["1", *base[1:9], "1/5/2008 1:2:3"]))  # one or two digits (docs/loading-rules.md)
    lines.append("\t".join(["2", *base[1:9], "1/5/2008 10:00:00.5"]))  # seconds to the microsecond, as COPY takes
    loaded, quarantined, audit = loader.load("\n".join(lines).encode() + b"\n")
    assert [(row[0], row[9]) for row in loaded] == [
        (1, datetime(2008, 1, 5, 1, 2, 3)),
        (2, datetime(2008, 1, 5, 10, 0, 0, 500000)),
    ]
    assert [reason for *_, reason in quarantined] == [
        f"saletime: '{when}' is not a timestamp (MM/DD/YYYY HH:MI:SS)" for when in NOT_THE_FILES_TIME_FORMAT
    ]
    assert audit == (len(lines), 2, len(NOT_THE_FILES_TIME_FORMAT))


# One rule for every value (docs/loading-rules.md). The oracle below is written from that page's table,
# the rules of Redshift's COPY with the project's options, not from either engine: every generated value
# must get the same verdict and, when loaded, the same value on DuckDB and PostgreSQL, and that verdict.

RULE_TABLES = ("sales", "event", "users", "date")
BLANK = re.compile(r"[ \t]+")
INTEGER_RANGES = {"smallint": 2**15, "integer": 2**31, "bigint": 2**63}
TRUE_WORDS = ("TRUE", "true", "t", "y", "yes", "1")
FALSE_WORDS = ("FALSE", "false", "f", "n", "no", "0")
# Each part of a Redshift time format: its pattern (as the table gives it) and its name.
TIME_PARTS = {
    "YYYY": r"(?P<year>[0-9]{4})", "MM": r"(?P<month>[0-9]{1,2})", "DD": r"(?P<day>[0-9]{1,2})",
    "HH": r"(?P<hour>[0-9]{1,2})", "MI": r"(?P<minute>[0-9]{1,2})",
    "SS": r"(?P<second>[0-9]{1,2})(?:\.(?P<fraction>[0-9]{1,6}))?",
}  # fmt: skip
Verdict = tuple[bool, object]  # (loaded, the value loaded: None for null)


def _time_oracle(text: str, time_format: str) -> datetime | None:
    pattern = re.escape(time_format)
    for token, part in TIME_PARTS.items():
        pattern = pattern.replace(token, part)
    found = re.fullmatch(pattern, text)
    if found is None:
        return None
    parts = {"hour": 0, "minute": 0, "second": 0}
    parts.update({k: int(v) for k, v in found.groupdict().items() if k != "fraction"})
    microsecond = int((found.groupdict().get("fraction") or "").ljust(6, "0"))
    if parts["year"] == 0 or parts["hour"] > 23 or parts["minute"] > 59 or parts["second"] > 59:
        return None
    try:
        return datetime(parts["year"], parts["month"], parts["day"], parts["hour"], parts["minute"],
                        parts["second"], microsecond)  # fmt: skip
    except ValueError:  # no such day (or month)
        return None


def redshift_verdict(text: str, data_type: str, time_format: str | None) -> Verdict:
    """What Redshift's COPY (NULL AS '', no DATEFORMAT, the file's TIMEFORMAT) does with one field, per the
    table in docs/loading-rules.md, and where AWS is silent, the table's decision (reject)."""
    if "\x00" in text:
        return False, None  # the whole line, on every engine
    if text == "":
        return True, None
    if data_type.startswith(("char", "varchar")):
        size = int(data_type.split("(")[1].rstrip(")"))
        ascii_only = data_type.startswith("char")
        fits = len(text.encode()) <= size and (text.isascii() or not ascii_only)
        return fits, text if fits else None
    if BLANK.fullmatch(text):
        return True, None
    if data_type in INTEGER_RANGES:
        limit = INTEGER_RANGES[data_type]
        ok = re.fullmatch(r"-?[0-9]+", text) is not None and -limit <= int(text) < limit
        return ok, int(text) if ok else None
    if data_type.startswith("decimal"):
        precision, scale = (int(n) for n in data_type.split("(")[1].rstrip(")").split(","))
        pattern = rf"-?[0-9]+(\.[0-9]{{1,{scale}}})?"
        ok = re.fullmatch(pattern, text) is not None and abs(Decimal(text)) < 10 ** (precision - scale)
        return ok, Decimal(text).quantize(Decimal(1).scaleb(-scale)) if ok else None
    if data_type == "boolean":
        if text in TRUE_WORDS or text in FALSE_WORDS:
            return True, text in TRUE_WORDS
        return False, None
    if data_type == "date":
        when = _time_oracle(text, "YYYY-MM-DD")
        return when is not None, when.date() if when else None
    if data_type == "timestamp":
        when = _time_oracle(text, time_format or "YYYY-MM-DD HH:MI:SS")
        return when is not None, when
    raise AssertionError(f"no rule for {data_type}")


@dataclass(frozen=True)
class Case:
    table: str
    column: str
    text: str


@dataclass(frozen=True)
class BothEngines:
    """The load SQL of each rule table on DuckDB and on PostgreSQL, and the folder both read from."""

    duckdb_sql: dict[str, str]
    postgres_sql: dict[str, Path]
    raw_dir: Path
    duckdb_file: Path
    database: str

    def load(self, table: str, data: bytes) -> tuple[dict[int, object], dict[int, object]]:
        """Each engine's outcome per line number: the loaded row's typed values, or the quarantine's reason."""
        path = self.raw_dir / FORMATS[table].file
        path.write_bytes(data)
        path.chmod(0o644)
        self.duckdb_file.unlink(missing_ok=True)
        key = FORMATS[table].column_names[0]
        types = [c.data_type for c in FORMATS[table].columns]
        with duckdb.connect(str(self.duckdb_file)) as con:
            duckdb_plugin.register(con)
            con.execute(self.duckdb_sql[table])
            duck: dict[int, object] = {
                int(row[0]) - 1: _comparable_row(row, types)
                for row in con.execute(f"select * from raw.{table} order by {key}").fetchall()
            }  # the key is the line number + 1 (see _check_rules)
            for number, reason in con.execute("select line_number, reason from raw.quarantine").fetchall():
                duck[int(number)] = reason
        _psql(self.database, "-f", str(self.postgres_sql[table]))
        pg: dict[int, object] = {}
        rows = _psql(
            self.database, "-c", f"copy (select * from raw.{table}) to stdout with (format csv, null '<null>')"
        )
        for row in csv.reader(io.StringIO(rows)):
            pg[int(row[0]) - 1] = _comparable_row(tuple(_typed(v, t) for v, t in zip(row, types, strict=True)), types)
        quarantine = _psql(
            self.database, "-c", "copy (select line_number, reason from raw.quarantine) to stdout with (format csv)"
        )
        for number, reason in csv.reader(io.StringIO(quarantine)):
            pg[int(number)] = reason
        return duck, pg


def _typed(value: str, data_type: str) -> object:
    """A PostgreSQL value as text (COPY csv) -> the Python value DuckDB's driver gives for the same type."""
    if value == "<null>":
        return None
    if value.endswith(" BC") or value.endswith("infinity"):  # PostgreSQL values Python's types cannot hold
        return value
    if data_type in INTEGER_RANGES:
        return int(value)
    if data_type.startswith("decimal"):
        return Decimal(value)
    if data_type == "boolean":
        return value == "t"
    if data_type == "date":
        return datetime.fromisoformat(value).date()
    if data_type == "timestamp":
        return datetime.fromisoformat(value)
    return value


def _comparable_row(row: tuple[object, ...], types: list[str]) -> tuple[object, ...]:
    return tuple(_comparable(value, data_type) for value, data_type in zip(row, types, strict=True))


def _comparable(value: object, data_type: str) -> object:
    # CHAR(n) is padded with blanks by PostgreSQL (and Redshift), not by DuckDB; trailing blanks of a CHAR are
    # not part of its value on any of them.
    return value.rstrip(" ") if isinstance(value, str) and data_type.startswith("char") else value


@pytest.fixture(scope="module")
def both_engines(shared_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BothEngines]:
    root = tmp_path_factory.mktemp("rules")
    show = ["run-operation", "show_raw_load_sql", "--args", f"{{table: [{', '.join(RULE_TABLES)}]}}", "--quiet"]
    duck = run_dbt(show, root, root / "tickit.duckdb", shared_folder)
    assert duck.returncode == 0, duck.output
    with fresh_database("tickit_rules") as database:
        pg = run_dbt_postgres(show, root, database, shared_folder)
        assert pg.returncode == 0, pg.output
        scripts: dict[str, Path] = {}
        for table, sql in _scripts(pg.stdout).items():
            scripts[table] = root / f"load_{table}.sql"
            scripts[table].write_text(sql)
        yield BothEngines(_scripts(duck.stdout), scripts, shared_folder, root / "tickit.duckdb", database)


def _scripts(printed: str) -> dict[str, str]:
    parts = re.split(r"^-- load (\w+)$", printed, flags=re.MULTILINE)
    scripts = dict(zip(parts[1::2], parts[2::2], strict=True))
    assert sorted(scripts) == sorted(RULE_TABLES), printed[:500]
    return scripts


def _template(table: str) -> list[str]:
    """A line of the table whose every field is good, to put one value under test into."""
    good = {
        "sales": ["0", "1", "2", "3", "4", "1900", "7", "10.00", "1.50", "2/18/2008 02:36:48"],
        "event": ["0", "1", "2", "1900", "Mamma Mia!", "2008-01-25 14:30:00"],
        "users": ["0", "JSG99FHE", "Rafael", "Taylor", "Kent", "WA", "a@b.org", "(664) 602-4412",
                  "TRUE", "FALSE", "", "TRUE", "FALSE", "TRUE", "FALSE", "TRUE", "FALSE", "TRUE"],
        "date": ["0", "2008-01-01", "TU", "1", "JAN", "1", "2008", "FALSE"],
    }  # fmt: skip
    assert len(good[table]) == len(FORMATS[table].columns)
    return list(good[table])


def _check_rules(engines: BothEngines, cases: list[Case]) -> None:
    """Every case's outcome on both engines against the rule; all the cases that differ are listed at once."""
    wrong: list[str] = []
    for table in RULE_TABLES:
        mine = [case for case in cases if case.table == table]
        if not mine:
            continue
        fmt = FORMATS[table]
        names = list(fmt.column_names)
        lines = []
        for number, case in enumerate(mine, start=1):
            fields = _template(table)
            fields[0] = str(number + 1)  # a key per line: the line number + 1
            fields[names.index(case.column)] = case.text
            lines.append(fmt.delimiter.join(fields))
        duck, pg = engines.load(table, ("\n".join(lines) + "\n").encode())
        for number, case in enumerate(mine, start=1):
            column = fmt.columns[names.index(case.column)]
            loaded, value = redshift_verdict(case.text, column.data_type, fmt.time_format)
            expected = _comparable(value, column.data_type)
            seen = {"DuckDB": duck.get(number), "PostgreSQL": pg.get(number)}
            where = f"{table}.{case.column} = {case.text!r} ({column.data_type}; the rule: "
            where += f"{'load ' + repr(expected) if loaded else 'quarantine'})"
            for engine, outcome in seen.items():
                if isinstance(outcome, tuple) != loaded:
                    wrong.append(f"{where}: {engine} gave {outcome!r}")
                elif loaded and isinstance(outcome, tuple) and outcome[names.index(case.column)] != expected:
                    wrong.append(f"{where}: {engine} loaded {outcome[names.index(case.column)]!r}")
                elif not loaded and "\x00" not in case.text and not str(outcome).startswith(f"{case.column}: "):
                    wrong.append(f"{where}: {engine}'s reason does not name the column: {outcome!r}")
            if seen["DuckDB"] != seen["PostgreSQL"]:
                wrong.append(
                    f"{where}: the engines differ: DuckDB {seen['DuckDB']!r}, PostgreSQL {seen['PostgreSQL']!r}"
                )
    assert not wrong, f"{len(wrong)} outcomes break the rule:\n" + "\n".join(wrong)


# Values of every kind, per column type, for the tables' columns that are not keys.
COLUMNS_BY_TYPE: dict[str, list[tuple[str, str]]] = {}
for _table in RULE_TABLES:
    for _column in FORMATS[_table].columns[1:]:
        COLUMNS_BY_TYPE.setdefault(_column.data_type.lower(), []).append((_table, _column.name))

_digits = st.text(alphabet="0123456789", min_size=1, max_size=22)
_boundaries = st.sampled_from([b + d for limit in INTEGER_RANGES.values() for b in (limit, -limit) for d in (-1, 0, 1)])
_integer_texts = st.one_of(
    st.integers(-(2**64), 2**64).map(str),
    _boundaries.map(str),
    _digits,
    st.tuples(st.integers(-999, 999), _digits).map(lambda t: f"{t[0]}.{t[1]}"),  # fractions
    st.tuples(st.integers(-99, 99), st.integers(-9, 9)).map(lambda t: f"{t[0]}e{t[1]}"),  # exponents
    st.integers(0, 4096).map(lambda i: st.sampled_from([hex(i), oct(i), bin(i), f"0X{i:X}"])).flatmap(lambda s: s),
    st.tuples(st.integers(1, 999), st.integers(0, 999)).map(lambda t: f"{t[0]}_{t[1]:03d}"),  # underscores
    st.tuples(st.sampled_from(["+", "-", "--", "+-", " ", "  ", "\u00a0", "0", "00"]), st.integers(0, 99999)).map(
        lambda t: f"{t[0]}{t[1]}"
    ),  # signs, padding, leading zeros
    st.integers(0, 99999).map(lambda i: f"{i} "),
    st.sampled_from(
        ["NaN", "nan", "inf", "-Infinity", "\uff11\uff12", "\u0661\u0662", "1,000", "1.0", "\\N", "-", "", " ", "null"]
    ),
)
_decimal_texts = st.one_of(
    st.integers(0, 4).flatmap(
        lambda places: st.decimals(min_value=-(10**7), max_value=10**7, allow_nan=False, places=places)
    ).map(str),
    st.tuples(st.integers(-(10**7), 10**7), st.text(alphabet="0123456789", max_size=4)).map(
        lambda t: f"{t[0]}.{t[1]}"
    ),
    st.sampled_from(["999999.99", "-999999.99", "1000000.00", "999999.995", ".5", "5.", "-.5", "1e2", "1.5e1",
                     "0x1A", "1_000.00", "+1.00", " 1.00", "1.00 ", "NaN", "Infinity", "1,50", "00000001.50"]),
    _integer_texts,
)  # fmt: skip


def _time_texts(time_format: str) -> st.SearchStrategy[str]:
    def spell(t: datetime, pad: bool, fraction: str) -> str:
        values = {"YYYY": f"{t.year:04d}", "MM": f"{t.month:02d}" if pad else str(t.month),
                  "DD": f"{t.day:02d}" if pad else str(t.day), "HH": f"{t.hour:02d}", "MI": f"{t.minute:02d}",
                  "SS": f"{t.second:02d}" + fraction}  # fmt: skip
        out = time_format
        for token, value in values.items():
            out = out.replace(token, value)
        return out

    whens = st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 59))
    fractions = st.one_of(st.just(""), st.text(alphabet="0123456789", min_size=1, max_size=8).map(lambda f: "." + f))
    spelled = st.builds(spell, whens, st.booleans(), fractions)
    return st.one_of(
        spelled,
        spelled.map(lambda s: " " + s),
        spelled.map(lambda s: s + " "),
        spelled.map(lambda s: s.replace(" ", "  ").replace(" ", "T", 1)),
        st.builds(lambda s, n: s.replace("2", str(n), 1), spelled, st.integers(0, 99)),  # out-of-range parts
        st.sampled_from(["now", "today", "tomorrow", "yesterday", "infinity", "-infinity", "epoch", "allballs",
                         "J2454474", "2008-01-08", "01/08/2008", "2008/01/08", "20080108", "2008-01-08T10:00:00",
                         "1/8/2008 10:00", "2/30/2008 10:00:00", "2008-02-30 10:00:00", "1/5/2008 24:00:00",
                         "2008-01-05 10:00:60", "0000-01-01 00:00:00", "1/1/0000 00:00:00", "10000-01-01 00:00:00",
                         "2008-01-05 10:00:00+02", "2008-01-05 10:00:00 BC", "1/5/2008 1:2:3", "2008-1-5 1:2:3",
                         "2008-01-05 10:00:00.123456", "2008-01-05 10:00:00.1234567", "Jan-05-2008", ""]),
    )  # fmt: skip


def _date_texts() -> st.SearchStrategy[str]:
    return st.one_of(
        st.dates(min_value=date(1, 1, 1)).map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"),
        st.dates(min_value=date(1, 1, 1)).map(lambda d: f"{d.year}-{d.month}-{d.day}"),
        st.tuples(st.integers(0, 10000), st.integers(0, 13), st.integers(0, 32)).map(
            lambda t: f"{t[0]:04d}-{t[1]:02d}-{t[2]:02d}"
        ),
        st.sampled_from(["today", "tomorrow", "infinity", "-infinity", "epoch", "J2454474", "01/08/2008",
                         "2008/01/08", "20080108", "2008-01-08 00:00:00", "2008-1-8", " 2008-01-08", "2008-01-08 ",
                         "08-01-08", "2008-02-29", "2009-02-29", "0000-01-01", "2008-01-08 BC", "January 8, 2008"]),
    )  # fmt: skip


_bool_texts = st.sampled_from(
    [*TRUE_WORDS, *FALSE_WORDS, "True", "False", "T", "F", "Y", "N", "YES", "NO", "Yes", "on", "off", "ON", "OFF",
     "2", "-1", "tru", "yess", " TRUE", "TRUE ", "", " ", "\\N", "null", "unknown"]
)  # fmt: skip


def _string_texts(size: int) -> st.SearchStrategy[str]:
    chars = st.characters(codec="utf-8", exclude_characters="\n\r\t|\x00")
    return st.one_of(
        st.text(alphabet=chars, max_size=size + 3),
        st.text(alphabet=st.characters(codec="ascii", exclude_characters="\n\r\t|\x00"), min_size=size - 1,
                max_size=size + 1),
        st.text(alphabet=st.sampled_from("aé€😀 "), min_size=1, max_size=size + 1),
        st.sampled_from(["", " ", "  ", "\\N", "é" * size]),
    )  # fmt: skip


def _value_texts(data_type: str, time_format: str | None) -> st.SearchStrategy[str]:
    if data_type in INTEGER_RANGES:
        return _integer_texts
    if data_type.startswith("decimal"):
        return _decimal_texts
    if data_type == "date":
        return _date_texts()
    if data_type == "timestamp":
        return _time_texts(time_format or "YYYY-MM-DD HH:MI:SS")
    if data_type == "boolean":
        return _bool_texts
    return _string_texts(int(data_type.split("(")[1].rstrip(")")))


@st.composite
def _cases(draw: st.DrawFn) -> Case:
    data_type = draw(st.sampled_from(sorted(COLUMNS_BY_TYPE)))
    table, column = draw(st.sampled_from(COLUMNS_BY_TYPE[data_type]))
    text = draw(_value_texts(data_type, FORMATS[table].time_format))
    text = text.replace(FORMATS[table].delimiter, "")  # one field stays one field
    if draw(st.integers(0, 30)) == 0:  # a NUL byte somewhere in the field
        at = draw(st.integers(0, len(text)))
        text = text[:at] + "\x00" + text[at:]
    return Case(table, column, text)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_cases(), min_size=60, max_size=120))
def test_every_value_gets_the_documented_verdict_and_value_on_both_engines(
    both_engines: BothEngines, cases: list[Case]
) -> None:
    _check_rules(both_engines, cases)


# The values the issue found each engine changing or taking, and the edges of every rule, checked every run.
KNOWN_CASES = [
    *[Case("sales", "qtysold", t) for t in ["12.7", "1e3", "0x10", "1_000", "+12", " 12", "12 ", "-0", "007",
                                            "32767", "32768", "-32768", "-32769", "", "  ", "\\N"]],
    *[Case("sales", "listid", t) for t in ["2147483647", "2147483648", "-2147483648", "-2147483649", "1.0"]],
    *[Case("sales", "pricepaid", t) for t in ["20.259", "20.25", "20.2", "20", "999999.99", "1000000.00",
                                              "-999999.99", ".5", "5.", "1e2", "-0.00", "0001.50"]],
    *[Case("sales", "saletime", t) for t in ["2/18/2008 02:36:48", "02/18/2008 02:36:48", "2/18/2008 02:36:48.5",
                                             "2/18/2008 02:36:48.123456", "2/18/2008 02:36:48.1234567", "infinity",
                                             "epoch", "now", "2008-02-18 02:36:48", "2/30/2008 02:36:48",
                                             "2/18/2008 24:00:00", "2/18/2008 23:59:60", "2/18/0000 00:00:00",
                                             " 2/18/2008 02:36:48", "2/18/2008  02:36:48"]],
    *[Case("event", "starttime", t) for t in ["2008-01-25 14:30:00", "2008-1-25 14:30:00", "2008-01-25T14:30:00",
                                              "2008-01-25", "J2454474", "0001-01-01 00:00:00"]],
    *[Case("date", "caldate", t) for t in ["2008-01-08", "2008-1-8", "today", "infinity", "epoch", "J2454474",
                                           "01/08/2008", "2008-02-29", "2009-02-29", "0000-01-01", "9999-12-31",
                                           "2008-01-08 00:00:00", " 2008-01-08"]],
    *[Case("date", "holiday", t) for t in [*TRUE_WORDS, *FALSE_WORDS, "on", "off", "True", "YES", "T", " TRUE", ""]],
    *[Case("users", "username", t) for t in ["ABCDEFGH", "ABCDEFGHI", "ABCDEFé", "ABCD    ", "", " "]],
    *[Case("users", "firstname", t) for t in ["é" * 15, "é" * 16, "😀" * 7, "😀" * 8, " padded ", "\\N", "a\x00b"]],
]  # fmt: skip


def test_the_values_each_engine_used_to_change_get_the_documented_verdict(both_engines: BothEngines) -> None:
    _check_rules(both_engines, KNOWN_CASES)
