"""The same dbt project on PostgreSQL (the local stand-in for Redshift's SQL) gives the same gold rows.

Both engines load the same synthetic files with their own `load_raw_tables` variant and build all 17
models; the three gold views must then be identical, row for row. PostgreSQL runs on 127.0.0.1:5432
on every machine here, CI included: in CI a missing server fails the test instead of skipping it.

The DAG itself on PostgreSQL, with Airflow's metadata there too, is the MWAA rehearsal's
(tests/integration/test_rehearsal.py: its warehouse compared with plain dbt's on DuckDB); `tickit run
--target postgres` is tests/integration/test_postgres_run.py's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from tests.support import MODELS, PG, fresh_database, psql, server_readable_synthetic

from tickit_runtime.paths import DBT_PROJECT_DIR

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(900)]

GOLD = {
    "gold_revenue_by_venue": "venue_id",
    "gold_sales_by_event": "event_id",
    "gold_user_activity": "user_id",
}
DBT = str(Path(sys.executable).parent / "dbt")


def dbt(args: list[str], work: Path, raw_dir: Path, **env_overrides: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_")}
    env.update(
        DBT_PROFILES_DIR=str(DBT_PROJECT_DIR),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_USE_COLORS="false",
        DBT_THREADS="2",
        TICKIT_RAW_DIR=str(raw_dir),
        **env_overrides,
    )
    cmd = [DBT, *args, "--project-dir", str(DBT_PROJECT_DIR)]
    cmd += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, timeout=500)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with fresh_database("tickit_parity") as name:
        yield name


@pytest.fixture(scope="module")
def raw_dir() -> Iterator[Path]:
    with server_readable_synthetic("tickit-pg-", scale=0.01, seed=5) as folder:
        yield folder


def _build(work: Path, raw_dir: Path, **env: str) -> str:
    for args in (["run-operation", "load_raw_tables"], ["build"]):
        run = dbt(args, work, raw_dir, **env)
        assert run.returncode == 0, run.stdout + run.stderr
    return run.stdout


def _normalise(value: Any) -> Any:
    if isinstance(value, float | Decimal):
        return Decimal(str(value)).quantize(Decimal("0.01"))
    return value


def _duckdb_rows(path: Path, view: str, key: str) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(f"select * from gold.{view} order by {key}").fetchall()
    return [tuple(_normalise(v) for v in row) for row in rows]


def _postgres_rows(dbname: str, view: str, key: str) -> list[tuple[Any, ...]]:
    # psql prints text, so both sides are compared as text rather than through two drivers' type mappings.
    out = psql(f"select * from gold.{view} order by {key}", dbname)
    assert out.returncode == 0, out.stderr
    return [tuple(line.split("\t")) for line in out.stdout.splitlines()]


def _as_text(rows: list[tuple[Any, ...]]) -> list[tuple[str, ...]]:
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, bool):
            return "t" if value else "f"
        return str(value)

    return [tuple(text(v) for v in row) for row in rows]


def _pg_env(database: str) -> dict[str, str]:
    return {
        "DBT_POSTGRES_HOST": PG["host"],
        "DBT_POSTGRES_PORT": PG["port"],
        "DBT_POSTGRES_USER": PG["user"],
        "DBT_POSTGRES_DBNAME": database,
    }


@pytest.fixture(scope="module")
def duckdb_gold(raw_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[tuple[str, ...]]]:
    """The three gold views built by plain dbt on DuckDB from the same files: the reference."""
    work = tmp_path_factory.mktemp("duck")
    warehouse = work / "tickit.duckdb"
    _build(work, raw_dir, DBT_TARGET="local", DBT_DUCKDB_PATH=str(warehouse))
    gold = {view: _as_text(_duckdb_rows(warehouse, view, key)) for view, key in GOLD.items()}
    assert all(gold.values())
    return gold


def _assert_gold_equal(database: str, duckdb_gold: dict[str, list[tuple[str, ...]]]) -> None:
    built = psql(
        "select table_schema || '.' || table_name from information_schema.tables "
        "where table_schema in ('bronze', 'silver', 'gold')",
        database,
    )
    assert {line.split(".")[1] for line in built.stdout.split()} == set(MODELS)
    for view, key in GOLD.items():
        assert _postgres_rows(database, view, key) == duckdb_gold[view], view


def test_gold_views_are_identical_on_postgres_and_duckdb(
    database: str, raw_dir: Path, duckdb_gold: dict[str, list[tuple[str, ...]]], tmp_path: Path
) -> None:
    pg_out = _build(tmp_path / "pg", raw_dir, DBT_TARGET="postgres", **_pg_env(database))
    assert "WARN 2" in pg_out  # the orphan venue ids, reported the same way on both engines
    _assert_gold_equal(database, duckdb_gold)
