"""Property-based tests of the raw loader's parsing (hypothesis), on the SQL dbt really sends to DuckDB.

The load SQL for a table is printed once by dbt (`show_raw_load_sql`), then run against many generated
files: whatever a line holds, it is either loaded with exactly its values or quarantined with a reason,
every line is counted once, and the loader never raises on content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.support import run_dbt

from tickit_platform.data.formats import load_formats
from tickit_platform.data.synth import generate

FORMATS = load_formats()
SALES = FORMATS["sales"]
PROPERTY_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@dataclass(frozen=True)
class Loader:
    sql: str
    path: Path  # the file the SQL reads; each example overwrites it
    database: Path

    def load(self, data: bytes) -> tuple[list[tuple[object, ...]], list[tuple[int, str, str]], tuple[int, int, int]]:
        self.path.write_bytes(data)
        self.database.unlink(missing_ok=True)
        with duckdb.connect(str(self.database)) as con:
            con.execute(self.sql)
            loaded = con.execute("select * from raw.sales").fetchall()
            quarantined = con.execute(
                "select line_number, raw_line, reason from raw.quarantine order by line_number"
            ).fetchall()
            audit = con.execute("select lines_in_file, rows_loaded, rows_quarantined from raw.load_audit").fetchone()
        assert audit is not None
        return loaded, quarantined, (int(audit[0]), int(audit[1]), int(audit[2]))


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory) -> Loader:
    root = tmp_path_factory.mktemp("loader")
    raw_dir = generate(root / "raw", scale=0.001, seed=3)
    run = run_dbt(
        ["run-operation", "show_raw_load_sql", "--args", "{table: sales}", "--quiet"],
        root,
        root / "tickit.duckdb",
        raw_dir,
    )
    assert run.returncode == 0, run.output
    assert "read_blob(" in run.stdout
    return Loader(run.stdout, raw_dir / SALES.file, root / "tickit.duckdb")


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
        if number in by_line:
            assert by_line[number] == line  # the exact text is kept for valid UTF-8
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
