"""A dbt call made inside a task's own process (dbt's `dbtRunner`), and the warehouse let go of after it.

The shared build's process calls dbt besides Cosmos' own call: to ready dbt before the build (build_start.py) and to
check the sources' freshness after it (freshness.py). dbt reads its settings from the process's environment and
resolves paths from the working directory, so both are set for the call and put back after.

After a call dbt keeps its adapters, and dbt-duckdb keeps the DuckDB file open (its profile's `keep_open` defaults
to true): in a task's process that lives on, or one whose task is reported done while it still exits, the next
writer of the warehouse (another task's process; DuckDB takes one) would find it locked. `release_warehouse`
closes it.

This module ships to MWAA with the DAG; it imports dbt only when called.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any


def build_flags(
    project_dir: str, *, profiles_dir: str, profile: str, target: str, dbt_vars: Mapping[str, Any] | None
) -> list[str]:
    """The flags of the shared build's own dbt call that its other calls must repeat: the same project, profile,
    target and vars keep dbt's partial parse valid (dbt parses the whole project again when the vars differ)."""
    flags = ["--project-dir", project_dir, "--profiles-dir", profiles_dir, "--profile", profile, "--target", target]
    if dbt_vars:
        flags += ["--vars", json.dumps(dict(dbt_vars))]
    return flags


def invoke(command: Sequence[str], *, env: Mapping[str, Any], cwd: str) -> Any:
    """dbt's `dbtRunner().invoke(command)` with `env` set and `cwd` as the working directory; its result. The
    warehouse is let go of after it, whatever happened."""
    from dbt.cli.main import dbtRunner

    plain_env = {str(k): str(v) for k, v in env.items()}
    with environment(plain_env), working_directory(cwd):
        try:
            return dbtRunner().invoke(list(command))
        finally:
            release_warehouse()


def release_warehouse() -> None:
    """Close what dbt keeps open in this process after a call: its adapters' connections and DuckDB's file."""
    from dbt.adapters.factory import reset_adapters

    reset_adapters()  # type: ignore[no-untyped-call]  # dbt's factory is untyped
    with contextlib.suppress(ImportError, Exception):  # no dbt-duckdb here, or no DuckDB opened by this process
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager

        DuckDBConnectionManager.env().close()  # type: ignore[no-untyped-call]  # dbt-duckdb is untyped


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`env` set in the process's environment while in use (dbt in-process reads its settings from it); each
    variable as it was after. Only set, never cleared: other threads of the task's process read it too."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def working_directory(path: str) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)
