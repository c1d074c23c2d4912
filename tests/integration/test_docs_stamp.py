"""`tickit run` regenerates the dbt docs only when what they show changed: the project or the schema.

DuckDB's catalog has names, types and comments, no row counts, so new rows alone leave the docs current
and the run skips `dbt docs generate`; a new column makes them stale. The SQL the docs show is the run's
build's, compiled once: it is compiled again only for a project changed since.
"""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
from tests.support import copy_project, dag_config, run_dbt

from tickit_platform.dbt_project.docs import docs_current, generate_docs


def test_docs_stay_current_for_new_rows_go_stale_for_a_new_column_and_show_the_sql_the_build_compiled(
    tmp_path: Path,
) -> None:
    project = copy_project(tmp_path / "project")
    config = dag_config(tmp_path / "home", raw_dir=tmp_path / "raw", project_dir=project)
    config.warehouse_path.parent.mkdir(parents=True)
    done = run_dbt(["compile"], tmp_path / "build", config.warehouse_path, tmp_path / "raw", project_dir=project)
    assert done.returncode == 0, done.output
    built = tmp_path / "build" / "target" / "manifest.json"
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("create schema gold; create table gold.example (id integer)")
    out = config.layout.docs
    generate_docs(config, out, catalog=True, compiled=built)
    assert docs_current(config, out, catalog=True)
    shown = json.loads((out / "manifest.json").read_text())["nodes"]
    assert shown == json.loads(built.read_text())["nodes"]
    assert not (config.layout.docs_build / "compiled").exists()  # nothing compiled a second time

    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("insert into gold.example select range from range(1000)")
    assert docs_current(config, out, catalog=True)  # same schema: nothing for the docs to show anew

    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("alter table gold.example add column name varchar")
    assert not docs_current(config, out, catalog=True)

    # A project changed since the build: its SQL is compiled again, and shown as it is now.
    model = project / "models" / "gold" / "gold_user_activity.sql"
    model.write_text(model.read_text() + "\n-- changed after the build\n")
    generate_docs(config, out, catalog=True, compiled=built)
    shown = json.loads((out / "manifest.json").read_text())["nodes"]
    assert "-- changed after the build" in shown["model.dbt_tickit.gold_user_activity"]["compiled_code"]
    assert all(node["compiled_code"] for node in shown.values() if node["resource_type"] == "model")
