"""`tickit run` regenerates the dbt docs only when what they show changed: the project or the schema.

DuckDB's catalog has names, types and comments, no row counts, so new rows alone leave the docs current
and the run skips `dbt docs generate`; a new column makes them stale.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
from tests.support import dag_config

from tickit_platform.dbt_project.docs import docs_current, generate_docs


def test_docs_stay_current_for_new_rows_and_go_stale_for_a_new_column(tmp_path: Path) -> None:
    config = dag_config(tmp_path / "home", raw_dir=tmp_path / "raw")
    config.warehouse_path.parent.mkdir(parents=True)
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("create schema gold; create table gold.example (id integer)")
    out = config.layout.docs
    generate_docs(config, out, catalog=True)
    assert docs_current(config, out, catalog=True)

    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("insert into gold.example select range from range(1000)")
    assert docs_current(config, out, catalog=True)  # same schema: nothing for the docs to show anew

    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("alter table gold.example add column name varchar")
    assert not docs_current(config, out, catalog=True)
