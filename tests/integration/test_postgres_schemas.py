"""The project touches only what is its own in a shared PostgreSQL database (as a Redshift database is shared).

Another team's `audit` schema, and a table a person put beside the project's stored test failures,
survive a load; the project's own stored failures (`tickit_audit`, named after the target's schema)
are written by the build and removed by the next load.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support import fresh_database, psql, run_dbt_postgres, server_readable_synthetic

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(900)]


def _one(database: str, sql: str) -> str:
    done = psql(sql, database)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _exists(database: str, relation: str) -> bool:
    return _one(database, f"select to_regclass('{relation}') is not null") == "t"


@pytest.fixture(scope="module")
def raw_dir() -> Iterator[Path]:
    with server_readable_synthetic("tickit-test-schemas-", scale=0.001, seed=5) as folder:
        yield folder


def test_a_load_keeps_other_projects_schemas_and_drops_only_its_own_stored_failures(
    raw_dir: Path, tmp_path: Path
) -> None:
    with fresh_database("tickit_schemas") as db:
        _one(db, "create schema audit; create table audit.other_team (id int); insert into audit.other_team values (1)")
        load = run_dbt_postgres(["run-operation", "load_raw_tables"], tmp_path, db, raw_dir)
        assert load.returncode == 0, load.output
        assert _one(db, "select count(*) from audit.other_team") == "1"
        build = run_dbt_postgres(["build"], tmp_path, db, raw_dir)
        assert build.returncode == 0, build.output
        # The project's own stored failures: the two orphan venue ids, in the target schema's audit.
        assert _one(db, "select count(*) from tickit_audit.silver_event_orphan_venues") == "2"
        assert not _exists(db, "audit.silver_event_orphan_venues")
        _one(db, "create table tickit_audit.notes (note text); insert into tickit_audit.notes values ('mine')")

        again = run_dbt_postgres(["run-operation", "load_raw_tables"], tmp_path, db, raw_dir)
        assert again.returncode == 0, again.output
        assert _one(db, "select count(*) from audit.other_team") == "1"
        assert _one(db, "select note from tickit_audit.notes") == "mine"
        assert not _exists(db, "tickit_audit.silver_event_orphan_venues")  # this load's own: gone
        stored = _one(db, "select count(*) from information_schema.tables where table_schema = 'tickit_audit'")
        assert stored == "1"  # only the person's table is left
