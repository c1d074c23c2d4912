"""Bad input on PostgreSQL: the same damaged files give the same quarantine and load audit as on DuckDB.

The PostgreSQL load is started the way a user starts it, `tickit dbt run-operation load_raw_tables
--target postgres`, with TICKIT_HOME under pytest's private temp folder, which the server's OS user
cannot read: the command must find that out and have the server read a copy. The staging decision is
then checked on its own against the same server: a readable folder is used in place, an unreadable one
is copied and the copy removed, a role without file privileges is told the grants that fix it.
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from tests.support import PG, damage_raw_files, fresh_database, psql, run_dbt

from tickit_platform.data.formats import TABLES, load_formats
from tickit_platform.data.postgres_staging import (
    STAGING_PREFIX,
    PostgresAddress,
    PostgresStagingError,
    choose_raw_dir,
    server_readable_raw_dir,
)
from tickit_platform.data.synth import generate

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(600)]

FORMATS = load_formats()
INVALID_UTF8 = "not valid UTF-8 (bytes shown escaped)"
QUARANTINE = "select source_name, file_name, line_number, reason, raw_line from raw.quarantine order by 1, 3"
# The fingerprint too: it names the dataset (macros/dataset_identity.sql), and the same bytes give the same one.
AUDIT = (
    "select source_name, file_name, lines_in_file, rows_loaded, rows_quarantined, fingerprint "
    "from raw.load_audit order by 1"
)


@dataclass(frozen=True)
class Loads:
    raw_dir: Path  # the damaged files, in a folder the server cannot read
    home: Path
    database: str
    cli: subprocess.CompletedProcess[str]  # `tickit dbt run-operation load_raw_tables --target postgres`
    duckdb: Path


def _private_folder(parent: Path) -> Path:
    parent.mkdir(parents=True, exist_ok=True)
    parent.chmod(0o700)  # as a home directory is: the server's OS user may not enter
    return parent


def _readable_folder() -> Path:
    folder = Path(tempfile.mkdtemp(prefix="tickit-test-pg-", dir="/tmp"))
    folder.chmod(0o755)
    return folder


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with fresh_database("tickit_bad_input") as name:
        yield name


@pytest.fixture(scope="module")
def loads(database: str, tmp_path_factory: pytest.TempPathFactory) -> Loads:
    root = _private_folder(tmp_path_factory.mktemp("pg-bad-input"))
    raw_dir = generate(root / "raw", scale=0.001, seed=1)
    damage_raw_files(raw_dir)
    home = root / "home"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "TICKIT_"))},
        "TICKIT_HOME": str(home),
        "DBT_POSTGRES_HOST": PG["host"],
        "DBT_POSTGRES_PORT": PG["port"],
        "DBT_POSTGRES_USER": PG["user"],
        "DBT_POSTGRES_DBNAME": database,
        "DBT_USE_COLORS": "false",
    }
    args = ["--source", str(raw_dir), "run-operation", "load_raw_tables", "--target", "postgres"]
    cli = subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", "dbt", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    duck = root / "tickit.duckdb"
    load = run_dbt(["run-operation", "load_raw_tables"], root, duck, raw_dir)
    assert load.returncode == 0, load.output
    return Loads(raw_dir, home, database, cli, duck)


def _duckdb(loads: Loads, sql: str) -> list[tuple[str, ...]]:
    with duckdb.connect(str(loads.duckdb), read_only=True) as con:
        rows = con.execute(sql).fetchall()
    return [tuple("" if v is None else str(v) for v in row) for row in rows]


def _postgres(loads: Loads, sql: str) -> list[tuple[str, ...]]:
    # Through COPY ... csv: psql's plain output would not survive a raw line holding a tab or a newline.
    out = psql(f"copy ({sql}) to stdout with (format csv)", loads.database)
    assert out.returncode == 0, out.stderr
    return [tuple(row) for row in csv.reader(io.StringIO(out.stdout))]


def _bytes_of_shown(shown: str) -> bytes:
    """The bytes behind the quarantined text of a line that is not UTF-8 (escaped as \\xNN)."""
    return re.sub(rb"\\x([0-9A-F]{2})", lambda m: bytes([int(m.group(1), 16)]), shown.encode("ascii"))


def test_the_command_has_the_server_read_a_copy_and_removes_it(loads: Loads) -> None:
    assert loads.cli.returncode == 0, loads.cli.stdout + loads.cli.stderr
    said = re.search(r"PostgreSQL cannot read (\S+) \((.*)\); it reads a copy in (\S+), removed", loads.cli.stderr)
    assert said, loads.cli.stderr
    original, why, copy = said.groups()
    assert Path(original).is_relative_to(loads.home)  # the files `tickit` took into TICKIT_HOME
    assert "Permission denied" in why
    assert Path(copy).name.startswith(STAGING_PREFIX)
    assert not Path(copy).exists()
    assert re.search(r"loaded \S+sales\S*: \d+ rows, 7 quarantined", loads.cli.stdout), loads.cli.stdout


def test_quarantine_is_the_same_on_postgres_and_duckdb(loads: Loads) -> None:
    duck, pg = _duckdb(loads, QUARANTINE), _postgres(loads, QUARANTINE)
    assert pg == duck
    assert [int(r[2]) for r in duck if r[0] == "sales"] == [1, 5, 6, 7, 8, 9, 10]
    assert len([r for r in duck if r[0] == "users"]) == 2 and {r[0] for r in duck} == {"sales", "users"}
    # Even the line that is not UTF-8 reads the same: both engines escape it as \xNN, and it gives back
    # the file's bytes exactly.
    (shown,) = [r[4] for r in pg if r[3] == INVALID_UTF8]
    line_8 = (loads.raw_dir / FORMATS["sales"].file).read_bytes().split(b"\n")[7]
    assert b"\xff" in line_8 and "\\xFF" in shown
    assert _bytes_of_shown(shown) == line_8


def test_load_audit_is_the_same_on_postgres_and_duckdb(loads: Loads) -> None:
    duck, pg = _duckdb(loads, AUDIT), _postgres(loads, AUDIT)
    assert pg == duck
    assert [row[0] for row in duck] == sorted(TABLES)
    for _source, _file, lines, loaded, held, fingerprint in duck:
        assert int(lines) == int(loaded) + int(held)
        assert fingerprint.startswith(f"{lines}:")


def test_a_folder_the_server_reads_is_used_in_place(database: str) -> None:
    parent = _readable_folder()
    try:
        raw_dir = generate(parent / "raw", scale=0.001, seed=2)
        raw_dir.chmod(0o755)
        for path in raw_dir.iterdir():
            path.chmod(0o644)
        said: list[str] = []
        staging = _readable_folder()
        with server_readable_raw_dir(
            raw_dir, PostgresAddress(dbname=database), say=said.append, staging_parents=[staging]
        ) as folder:
            assert folder == raw_dir.resolve()
            assert list(staging.iterdir()) == []
        assert said == [f"PostgreSQL reads the raw files in {raw_dir.resolve()}"]
        assert raw_dir.exists()
    finally:
        shutil.rmtree(parent, ignore_errors=True)
        shutil.rmtree(staging, ignore_errors=True)


def test_a_folder_the_server_cannot_read_is_copied_where_it_can_and_removed_after(
    database: str, tmp_path: Path
) -> None:
    raw_dir = generate(_private_folder(tmp_path / "private") / "raw", scale=0.001, seed=2)
    closed = _private_folder(tmp_path / "closed")  # a staging place the server cannot enter: passed over
    staging = _readable_folder()
    try:
        said: list[str] = []
        with server_readable_raw_dir(
            raw_dir, PostgresAddress(dbname=database), say=said.append, staging_parents=[closed, staging]
        ) as folder:
            assert folder.parent == staging and folder.name.startswith(STAGING_PREFIX)
            assert folder.stat().st_mode & 0o777 == 0o755
            for fmt in FORMATS.values():
                assert (folder / fmt.file).read_bytes() == (raw_dir / fmt.file).read_bytes()
                assert (folder / fmt.file).stat().st_mode & 0o777 == 0o644
            sales = folder / FORMATS["sales"].file
            read = psql(f"select length(pg_read_binary_file('{sales}'))", database)
            assert read.stdout.strip() == str(sales.stat().st_size), read.stderr
            assert list(closed.iterdir()) == []
        assert not folder.exists()
        assert list(staging.iterdir()) == []
        assert len(said) == 1 and f"it reads a copy in {folder}" in said[0], said
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def test_a_role_that_may_not_read_files_is_told_the_grants_that_fix_it(database: str, tmp_path: Path) -> None:
    raw_dir = generate(tmp_path / "raw", scale=0.001, seed=2)
    role = f"tickit_reader_{database.rsplit('_', 1)[1]}"
    assert psql(f'create role "{role}" login').returncode == 0
    try:
        address = PostgresAddress(dbname=database, user=role)
        with pytest.raises(PostgresStagingError) as caught:
            choose_raw_dir(raw_dir, address, staging_parents=[])
        message = str(caught.value)
        assert f"the PostgreSQL role '{role}' may not read files on the server" in message
        grants = re.findall(r"GRANT [^;]+;", message)
        assert len(grants) == 2, message
        for grant in grants:  # run exactly what the message says, as a superuser
            done = psql(grant, database)
            assert done.returncode == 0, done.stderr
        staging = _readable_folder()
        try:
            chosen = choose_raw_dir(raw_dir, address, staging_parents=[staging])
            assert chosen.copied and chosen.folder.parent == staging
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    finally:
        psql(f'drop owned by "{role}"; drop role if exists "{role}"', database)


def test_an_unreachable_server_is_an_error_saying_where_it_looked(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    raw_dir = generate(tmp_path / "raw", scale=0.001, seed=2)
    with pytest.raises(PostgresStagingError, match=rf"cannot connect to PostgreSQL at postgres@127.0.0.1:{port}/"):
        choose_raw_dir(raw_dir, PostgresAddress(port=port))
