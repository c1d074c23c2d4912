"""Property-based tests of the raw loader's parsing (hypothesis), on the SQL dbt really sends, on DuckDB and on
PostgreSQL.

The load SQL for a table is printed once per engine by dbt (`show_raw_load_sql`), then run against many
generated files: whatever a line holds, it is either loaded with exactly its values or quarantined with a
reason, every line is counted once, and the loader never raises on content. On PostgreSQL the file is read
in pieces of 7 bytes (`tickit_raw_piece_bytes`), so lines straddle pieces, newlines fall on their edges,
and the way a file of 1 GiB or more is read (in pieces of 64 MiB) runs on every example; both engines read
the file from a folder whose name holds a quote and glob characters.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
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
    "1/5/2008", "2/30/2008 10:00:00", "1/5/2008 24:00:00", "1/5/2008 10:00:60", "1/5/2008 10:00:00.5", "1/5/2008 10:00",
    "J2454471", "1/5/2008 10:00:00 BC", "1/5/2008 10:00:00+02",
]  # fmt: skip


def test_a_time_not_in_the_files_format_is_quarantined(loader: Loader) -> None:
    """The sales file's times are MM/DD/YYYY HH:MI:SS: PostgreSQL's own cast would take these too."""
    base = Sale(1, 2, 3, Decimal("10.00"), datetime(2008, 1, 2, 3, 4, 5)).line().split("\t")
    lines = ["\t".join([str(100 + i), *base[1:9], when]) for i, when in enumerate(NOT_THE_FILES_TIME_FORMAT)]
    lines.append("\t".join(["1", *base[1:9], "1/5/2008 1:2:3"]))  # one or two digits, as DuckDB's strptime takes
    loaded, quarantined, audit = loader.load("\n".join(lines).encode() + b"\n")
    assert [(row[0], row[9]) for row in loaded] == [(1, datetime(2008, 1, 5, 1, 2, 3))]
    assert [reason for *_, reason in quarantined] == [
        f"saletime: '{when}' is not a timestamp" for when in NOT_THE_FILES_TIME_FORMAT
    ]
    assert audit == (len(lines), 1, len(NOT_THE_FILES_TIME_FORMAT))
