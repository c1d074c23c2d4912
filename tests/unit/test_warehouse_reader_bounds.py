"""What `tickit` reads from the local warehouse (a run's summary, `tickit quarantine`, `tickit report`) runs under
the same DuckDB bound as dbt: reading the gold views of a large warehouse must not take 80% of the machine."""

from __future__ import annotations

from pathlib import Path

import duckdb

from tickit_platform.history.summary import warehouse_location
from tickit_platform.settings import Settings
from tickit_platform.warehouse.connection import open_warehouse
from tickit_runtime import envvars


def test_the_summarys_reader_works_within_the_bound_dbt_has(tmp_path: Path) -> None:
    env = {envvars.DUCKDB_MEMORY_LIMIT: "300MB", envvars.DUCKDB_THREADS: "1"}
    location = warehouse_location(Settings.from_env(env, home=tmp_path))
    assert location.duckdb_path is not None
    location.duckdb_path.parent.mkdir(parents=True)
    duckdb.connect(str(location.duckdb_path)).close()
    with open_warehouse(location) as reader:
        _, rows = reader.query("select current_setting('memory_limit'), current_setting('threads')")
    assert rows == [("286.1 MiB", 1)]
