"""A task's in-process dbt call lets go of the DuckDB warehouse when it returns (tickit_runtime/in_process_dbt.py).

DuckDB lets one process open the file for writing, and dbt-duckdb keeps it open after a call (its `keep_open`
defaults to true). The shared build starts the moment the load's task reports success (build_start.py), while
that task's process may still be alive: the load must have closed the file by then. A real dbt call, in a process
that stays alive as a task's does, and another process opening the warehouse as the build would.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from tests.support import dag_config

from tickit_platform.data.synth import generate
from tickit_runtime.paths import DBT_PROJECT_DIR

CALL = """
import json, sys
from dbt.cli.main import dbtRunner
from tickit_runtime import in_process_dbt

command, env, cwd, release = json.loads(sys.argv[1])
if release:
    result = in_process_dbt.invoke(command, env=env, cwd=cwd)
else:
    with in_process_dbt.environment(env), in_process_dbt.working_directory(cwd):
        result = dbtRunner().invoke(command)
print("called", result.success, flush=True)
sys.stdin.readline()  # alive, as a task's process is while it reports its end
"""


def _opened_while_the_caller_lives(tmp_path: Path, raw: Path, *, release: bool) -> str:
    config = dag_config(tmp_path / "home", raw)
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    work = tmp_path / ("released" if release else "kept")
    command = ["run-operation", "load_raw_tables", "--project-dir", str(DBT_PROJECT_DIR)]
    command += ["--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    env = {**config.dbt_env(), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    caller = subprocess.Popen(
        [sys.executable, "-c", CALL, json.dumps([command, env, str(DBT_PROJECT_DIR), release])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("DBT_")},
    )
    try:
        assert caller.stdout is not None and caller.stdin is not None
        lines = iter(caller.stdout.readline, "")
        called = next((line.strip() for line in lines if line.startswith("called")), "no answer")  # after dbt's own
        assert called == "called True"
        try:
            with duckdb.connect(str(config.warehouse_path)) as other:
                return f"opened: {other.execute('select count(*) from raw.sales').fetchone()}"
        except duckdb.IOException as held:
            return f"held: {held}"
    finally:
        caller.communicate("\n", timeout=60)


@pytest.mark.timeout(300)
def test_the_warehouse_is_free_once_an_in_process_dbt_call_returned(tmp_path: Path) -> None:
    raw = generate(tmp_path / "raw", scale=0.01, seed=5)
    # dbt's own call keeps the file: what the load's task did before (and why the build could not start at once).
    assert "Conflicting lock" in _opened_while_the_caller_lives(tmp_path, raw, release=False)
    assert _opened_while_the_caller_lives(tmp_path, raw, release=True).startswith("opened: (")
