"""A project of more than 1,000 models runs green through the real scheduler, every task shown.

Real dbt projects have hundreds to thousands of models, each its own task here. At that size Airflow's
whole-DAG work per task (the triggerer deserializing the DAG per model trigger, the DAG processor parsing
it per success callback) once made the run quadratic and took the triggerer to 6 GB (docs/decisions/023),
and Airflow 3's API returns at most 100 task instances per page whatever `limit` asks, so a runner reading
one page showed 100 tasks live and in its summary, and said "All 100 tasks succeeded." of a bigger run.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.faults import TickitRun, stop_started_runs
from tests.support import project_with_extra_models, where_extra_model_tasks_ran

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(2700)]
EXTRA_MODELS = 1001  # with the 17 models, load_raw, the producer and freshness: 1,021 tasks


def test_1000_model_tasks_run_green_in_the_triggerer_and_every_one_is_shown(tmp_path: Path) -> None:
    project = project_with_extra_models(tmp_path / "project", EXTRA_MODELS)
    done = subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", "--home", str(tmp_path / "home"), "run", "--synthetic",
         "--scale", "0.01"],
        env={**os.environ, "TICKIT_DBT_PROJECT_DIR": str(project), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=2600,
        check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    tasks = 17 + EXTRA_MODELS + 3
    assert f"All {tasks} tasks succeeded." in output
    live = {m.group(1) for m in re.finditer(r"^\[ *[\d.]+s\] (\S+): success$", done.stdout, re.M)}
    assert len(live) == tasks and {f"extra_{i:04d}" for i in range(EXTRA_MODELS)} <= live
    summary = {m.group(1) for m in re.finditer(r"^│ (\S+) +│ success ", done.stdout, re.M)}
    assert summary == live
    # Every model task started and ended in the triggerer: none of them had a worker process (whose log
    # would be attempt=1.log beside the trigger's).
    logs = tmp_path / "home" / "airflow" / "logs"
    in_triggerer, on_worker = where_extra_model_tasks_ran(logs, EXTRA_MODELS)
    assert len(in_triggerer) == EXTRA_MODELS
    assert not on_worker


PRODUCER = "dbt_producer_watcher"
KILLED_AT = 200  # extra models: with the 17, 217 models


@pytest.fixture
def _nothing_left_running() -> Iterator[None]:
    yield
    stop_started_runs()


def _wait_until_built(run: TickitRun, models: int, timeout: float = 900.0) -> None:
    """Until the shared build's log reports `models` models built."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = run.task_log(PRODUCER)
        with contextlib.suppress(OSError):
            if log is not None and log.read_text(errors="replace").count("OK created sql ") >= models:
                return
        assert run.proc.poll() is None, run.output[-5000:]
        time.sleep(0.2)
    raise AssertionError(f"the shared build did not build {models} models in {timeout:.0f} s:\n{run.output[-5000:]}")


@pytest.mark.usefixtures("_nothing_left_running")
def test_a_shared_build_killed_outright_at_217_models_is_finished_in_one_build_and_the_run_is_green(
    tmp_path: Path,
) -> None:
    """Killed at about half its models, the build's retry builds the models whose tasks had not ended in one
    dbt build: no model task builds its own model (hundreds would queue on the warehouse's writer lock)."""
    project = project_with_extra_models(tmp_path / "project", KILLED_AT)
    home = tmp_path / "home"
    run = TickitRun(
        home,
        "--synthetic",
        "--scale",
        "0.01",
        env={"TICKIT_DBT_PROJECT_DIR": str(project), "TICKIT_DAG_RETRY_DELAY_SECONDS": "1"},
    )
    _wait_until_built(run, (KILLED_AT + 17) // 2)
    os.kill(run.task_process(PRODUCER), signal.SIGKILL)
    assert run.finish(timeout=1500) == 0, run.output[-5000:]
    assert f"All {KILLED_AT + 17 + 3} tasks succeeded." in run.output
    retry = run.task_log(PRODUCER, attempt=2)
    assert retry is not None, run.output[-5000:]
    said = re.search(r"killed outright\): building the (\d+) models", retry.read_text(errors="replace"))
    assert said is not None and 0 < int(said.group(1)) <= KILLED_AT + 17, run.output[-5000:]
    in_triggerer, on_worker = where_extra_model_tasks_ran(home / "airflow" / "logs", KILLED_AT)
    assert len(in_triggerer) == KILLED_AT
    assert not on_worker  # none built its model itself
