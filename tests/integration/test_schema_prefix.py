"""Two deployments in one database, told apart by their schema prefix (TICKIT_SCHEMA_PREFIX).

On PostgreSQL (as on a shared Redshift database) two prefixes load and build side by side in one database:
each one's schemas hold its own data, complete, and a later load of one leaves every row of the other as it
was. On DuckDB, where each home has its own file, the prefix is accepted all the same, and the commands that
read the warehouse (`tickit quarantine`, `tickit report`) follow it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from tests.support import MODELS, damage_raw_files, fresh_database, psql, run_dbt_postgres, server_readable_synthetic

pytestmark = pytest.mark.timeout(900)

LAYERS = ("raw", "bronze", "silver", "gold", "tickit_audit")


def _lines(database: str, sql: str) -> list[str]:
    done = psql(sql, database)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def _snapshot(database: str, prefix: str) -> dict[str, tuple[int, str]]:
    """Every table and view of the prefix's schemas: its row count and a digest of all its rows."""
    schemas = ", ".join(f"'{prefix}_{layer}'" for layer in LAYERS)
    relations = _lines(
        database,
        "select quote_ident(table_schema) || '.' || quote_ident(table_name) from information_schema.tables "
        f"where table_schema in ({schemas})",
    )
    found = {}
    for relation in relations:
        row = _lines(
            database, f"select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) from {relation} t"
        )[0]
        count, digest = row.split("\t")
        found[relation] = (int(count), digest)
    return found


def _build(database: str, prefix: str, raw_dir: Path, work: Path, *, build: bool = True) -> None:
    steps = [["run-operation", "load_raw_tables"], *([["build"]] if build else [])]
    for args in steps:
        done = run_dbt_postgres(args, work, database, raw_dir, TICKIT_SCHEMA_PREFIX=prefix)
        assert done.returncode == 0, done.output


@pytest.fixture(scope="module")
def datasets(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, Path]]:
    with (
        server_readable_synthetic("tickit-prefix-a-", scale=0.001, seed=5) as a,
        server_readable_synthetic("tickit-prefix-b-", scale=0.002, seed=6) as b,
        server_readable_synthetic("tickit-prefix-c-", scale=0.001, seed=7) as c,
    ):
        damage_raw_files(c)  # a later load of team_a with lines to quarantine
        yield a, b, c


@pytest.mark.postgres
def test_two_prefixes_share_one_postgres_database_without_touching_each_other(
    datasets: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    a, b, c = datasets
    with fresh_database("tickit_prefix") as db:
        _build(db, "team_a", a, tmp_path / "a")
        _build(db, "team_b", b, tmp_path / "b")
        schemas = set(_lines(db, "select nspname from pg_namespace where nspname not like 'pg_%'"))
        owned = {f"{prefix}_{layer}" for prefix in ("team_a", "team_b") for layer in LAYERS}
        assert schemas == {"information_schema", "public"} | owned
        # Each deployment holds all of its own models, and its own data: the two datasets differ in size.
        for prefix, raw in (("team_a", a), ("team_b", b)):
            built = _lines(
                db,
                "select table_name from information_schema.tables "
                f"where table_schema in ('{prefix}_bronze', '{prefix}_silver', '{prefix}_gold')",
            )
            assert sorted(built) == sorted(MODELS)
            sales_lines = len((raw / "sales_tab.txt").read_bytes().splitlines())
            assert _lines(db, f"select count(*) from {prefix}_silver.silver_sales") == [str(sales_lines)]
        # The load's helper functions live in each deployment's raw schema, none in a shared one.
        functions = _lines(
            db,
            "select distinct n.nspname from pg_proc p join pg_namespace n on n.oid = p.pronamespace "
            "where p.proname like 'tickit%'",
        )
        assert sorted(functions) == ["team_a_raw", "team_b_raw"]

        before = _snapshot(db, "team_b")
        models = {relation: count for relation, (count, _) in before.items() if relation.split(".")[1] in MODELS}
        assert len(models) == len(MODELS) and all(models.values()), models
        team_a_before = _snapshot(db, "team_a")
        # team_a loads other files, some of them damaged: its raw tables and quarantine change, team_b's do not.
        _build(db, "team_a", c, tmp_path / "c", build=False)
        assert _snapshot(db, "team_b") == before
        assert _snapshot(db, "team_a") != team_a_before
        assert _lines(db, "select count(*) from team_a_raw.quarantine where source_name = 'sales'") != ["0"]
        assert _lines(db, "select count(*) from team_b_raw.quarantine") == ["0"]


def tickit(*args: str, home: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {**{k: v for k, v in os.environ.items() if not k.startswith(("DBT_", "TICKIT_"))}, **env}
    full.update(TICKIT_HOME=str(home), COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", *args], env=full, capture_output=True, text=True, timeout=600
    )


def test_on_duckdb_the_prefix_is_accepted_and_the_readers_follow_it(
    datasets: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    _, _, damaged = datasets
    home = tmp_path / "home"
    prefixed = {"TICKIT_SCHEMA_PREFIX": "bob"}
    for args in (("run-operation", "load_raw_tables"), ("build",)):
        done = tickit("dbt", "--source", str(damaged), *args, home=home, env=prefixed)
        # The damaged file's bad sale fails a model test; the build's outcome is not what is tested here.
        assert done.returncode == 0 or args == ("build",), done.stdout + done.stderr
    warehouse = home / "warehouse" / "tickit.duckdb"
    with duckdb.connect(str(warehouse), read_only=True) as con:
        schemas = {s for (s,) in con.execute("select schema_name from information_schema.schemata").fetchall()}
        quarantined = con.execute("select count(*) from bob_raw.quarantine").fetchone()
    assert {f"bob_{layer}" for layer in LAYERS} <= schemas
    assert not {"raw", "bronze", "silver", "gold"} & schemas
    assert quarantined and quarantined[0] > 0

    # With no prefix given, the readers take the one the last load used; they name the schemas they read.
    listed = tickit("quarantine", "--source", "sales", home=home, env={})
    assert listed.returncode == 0, listed.stderr
    assert "header line" in listed.stdout
    assert f"Warehouse: DuckDB {warehouse}, schemas bob_raw, bob_bronze, bob_silver, bob_gold" in listed.stdout
    assert "The same in SQL: select * from bob_raw.quarantine" in listed.stdout
    report = tickit("report", home=home, env={})
    assert report.returncode == 0, report.stderr
    page = Path(report.stdout.strip().splitlines()[-1].removeprefix("Report: ")).read_text(encoding="utf-8")
    match = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S)
    assert match
    data = json.loads(match.group(1))
    assert data["warehouse"].startswith("DuckDB ") and "bob_raw" in data["warehouse"]
    assert data["data"]["layers"]["silver"]["silver_users"] > 0
    assert {q["source_name"] for q in data["data"]["quarantine"]} >= {"sales", "users"}
    # Another prefix, given explicitly, is another (here empty) set of schemas: nothing of bob's is shown.
    other = tickit("quarantine", home=home, env={"TICKIT_SCHEMA_PREFIX": "carol"})
    assert other.returncode == 1
    assert "no quarantine in the warehouse" in other.stderr and "carol_raw" in other.stderr
