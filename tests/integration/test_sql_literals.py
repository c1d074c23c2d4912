"""Values written into SQL literals are escaped, and a folder's name is taken literally, not as a glob.

A raw folder whose name holds a quote and DuckDB's wildcard characters loads exactly its own files,
even beside another folder its name would match as a pattern. (PostgreSQL reads such a path in
tests/integration/test_loader_properties.py; the Redshift COPY's role and region in
tests/integration/test_redshift_compile.py.)
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from tests.support import run_dbt

from tickit_platform.data.formats import TABLES, load_formats
from tickit_platform.data.synth import generate

pytestmark = pytest.mark.timeout(300)

FORMATS = load_formats()


@pytest.mark.parametrize(
    ("folder", "decoy"), [("it's [a] *folder", "it's a decoy folder"), ("[a] *?folder", "a decoy folder")]
)
def test_a_folder_named_with_a_quote_and_wildcards_loads_exactly_its_own_files(
    tmp_path: Path, folder: str, decoy: str
) -> None:
    raw_dir = generate(tmp_path / folder / "raw", scale=0.001, seed=4)
    # As a glob, the folder's name also matches the decoy's: the decoy's files must not be read.
    generate(tmp_path / decoy / "raw", scale=0.002, seed=9)
    database = tmp_path / "tickit.duckdb"
    load = run_dbt(["run-operation", "load_raw_tables"], tmp_path, database, raw_dir)
    assert load.returncode == 0, load.output
    with duckdb.connect(str(database), read_only=True) as con:
        audit = dict(con.execute("select source_name, lines_in_file from raw.load_audit").fetchall())
        held = con.execute("select count(*) from raw.quarantine").fetchone()
        sales = {row[0] for row in con.execute("select salesid from raw.sales").fetchall()}
    assert held == (0,)
    for table in TABLES:
        assert audit[table] == len((raw_dir / FORMATS[table].file).read_bytes().splitlines()), table
    own = {int(line.split("\t")[0]) for line in (raw_dir / FORMATS["sales"].file).read_text().splitlines()}
    assert sales == own
