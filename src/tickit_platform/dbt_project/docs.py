"""dbt's documentation site (`dbt docs generate`) and where Airflow's UI finds it.

Cosmos' Airflow 3 plugin serves a folder holding `index.html`, `manifest.json` and `catalog.json`
under the API server (`/cosmos/<slug>/dbt_docs_index.html`, Browse menu), read on every request, so
regenerating the files updates the page without restarting Airflow (docs/decisions/011-dbt-docs.md).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from tickit_platform.dbt_project.manifest import (
    PARTIAL_PARSE_FILE,
    ensure_manifest,
    manual_run_vars,
    project_fingerprint,
)
from tickit_runtime.config import PROFILE_NAME, DagConfig
from tickit_runtime.errors import TickitError

DOCS_SLUG = "dbt_tickit"
DOCS_TITLE = "dbt Docs (tickit)"
DOCS_FILES = ("index.html", "manifest.json", "catalog.json")
STAMP_FILE = "docs.stamp"
# The nodes whose SQL dbt compiles (and the docs show): a seed, a snapshot's source or an analysis aside.
COMPILED_TYPES = frozenset({"model", "test"})


class DbtDocsError(TickitError):
    """`dbt docs generate` failed; the message carries dbt's own words and what to do."""


def cosmos_docs_projects(folder: str) -> str:
    """The value of `[cosmos] dbt_docs_projects` (AIRFLOW__COSMOS__DBT_DOCS_PROJECTS) for one folder or URI."""
    return json.dumps({DOCS_SLUG: {"dir": folder, "index": "index.html", "name": DOCS_TITLE}})


def _stamp(config: DagConfig, catalog: bool) -> str:
    """What the docs were made from: the project's files, the target and, with a catalog, the warehouse's schema.

    DuckDB's catalog holds names, types and comments only (no row counts), so a run that changes rows but
    not the schema leaves the docs as they are; `dbt docs generate` is then skipped (about 6 s).
    """
    return f"{project_fingerprint(config.project_dir)} {config.target} {_schema(config) if catalog else '-'}"


def _schema(config: DagConfig) -> str:
    if config.target != "local":
        return f"unknown-{time.time_ns()}"  # another engine's catalog is read, not fingerprinted: always rebuilt
    if not config.warehouse_path.exists():
        return "none"
    import duckdb

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        columns = con.execute(
            "select table_schema, table_name, column_name, data_type, ordinal_position "
            "from information_schema.columns order by all"
        ).fetchall()
    return hashlib.sha256(repr(columns).encode()).hexdigest()


def docs_current(config: DagConfig, out_dir: Path, *, catalog: bool) -> bool:
    stamp = out_dir / STAMP_FILE
    return (
        all((out_dir / f).is_file() for f in DOCS_FILES)
        and stamp.is_file()
        and stamp.read_text() == _stamp(config, catalog)
    )


def generate_docs(config: DagConfig, out_dir: Path, *, catalog: bool = True, compiled: Path | None = None) -> Path:
    """Write the docs site into out_dir and return its index.html.

    catalog=True reads column types and row counts from the warehouse (it must exist and no dbt may
    be writing to it); False writes an empty catalog and compiles nothing, so no warehouse is touched.
    compiled: a manifest.json a build of this project wrote (a run's kept artifacts); when it holds the
    compiled SQL of every node of the project as it is now, the docs show it and nothing is compiled again
    (about half of `dbt docs generate`'s time).
    """
    # dbt's own target folder is kept between calls so its partial parse makes the next call faster; the
    # DAG's parse (same project, profile and target) seeds it, so the first call parses nothing either.
    build = config.layout.docs_build
    parsed = ensure_manifest(config)
    build.mkdir(parents=True, exist_ok=True)
    if (seed := parsed.parent / PARTIAL_PARSE_FILE).is_file():
        shutil.copyfile(seed, build / PARTIAL_PARSE_FILE)
    shown = compiled if catalog and compiled is not None and compiled_for(compiled, parsed) else None
    args = ["--no-compile"] if not catalog or shown is not None else []
    args += [] if catalog else ["--empty-catalog"]
    result = subprocess.run(
        [
            str(config.dbt_executable),
            "docs",
            "generate",
            *args,
            "--project-dir",
            str(config.project_dir),
            "--profiles-dir",
            str(config.project_dir),
            "--profile",
            PROFILE_NAME,
            "--target",
            config.target,
            *manual_run_vars(),  # the seed's vars: a partial parse is reused only under the same ones
            "--target-path",
            str(build),
            "--log-path",
            str(config.layout.dbt_logs),
        ],
        env={**os.environ, **config.dbt_env(), "DBT_USE_COLORS": "false"},
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise DbtDocsError(
            f"`dbt docs generate` failed for {config.project_dir}; run `tickit dbt docs generate` to see why:\n"
            f"{result.stdout[-2000:]}"
        )
    # Without compiling, dbt writes no manifest: the docs then describe the build's compiled one or, with
    # none, the DAG's own (parsed) manifest.
    sources = {name: build / name for name in DOCS_FILES}
    if "--no-compile" in args:
        sources["manifest.json"] = shown or parsed
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, source in sources.items():
        # Copied then renamed: the UI, which reads these files on every request, never sees half of one.
        part = out_dir / f".{name}.part"
        shutil.copyfile(source, part)
        os.replace(part, out_dir / name)
    (out_dir / STAMP_FILE).write_text(_stamp(config, catalog))
    return out_dir / "index.html"


def compiled_for(compiled: Path, parsed: Path) -> bool:
    """Whether a build's manifest holds the compiled SQL of every node `parsed` (the project as it is now)
    holds, each from the same file content: then its SQL is what compiling now would give."""
    try:
        built = json.loads(compiled.read_text())["nodes"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    nodes = json.loads(parsed.read_text())["nodes"]
    return built.keys() == nodes.keys() and all(
        node.get("checksum") == built[key].get("checksum") and built[key].get("compiled_code") is not None
        for key, node in nodes.items()
        if node.get("resource_type") in COMPILED_TYPES
    )


def refresh_docs(
    config: DagConfig, *, before: Callable[[], None] | None = None, compiled: Path | None = None
) -> tuple[Path, bool]:
    """The docs site's index.html, generated unless it is current (`before` is called first, to say so);
    the bool: whether it was generated now. A warehouse that exists lends its catalog; `compiled`, a run's
    manifest, its compiled SQL (generate_docs)."""
    catalog = config.target != "local" or config.warehouse_path.exists()
    if docs_current(config, config.layout.docs, catalog=catalog):
        return config.layout.docs / "index.html", False
    if before is not None:
        before()
    return generate_docs(config, config.layout.docs, catalog=catalog, compiled=compiled), True
