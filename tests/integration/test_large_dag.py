"""A project of more than 1,000 models runs green through the real scheduler, every task shown.

Real dbt projects have hundreds to thousands of models, each its own task here. At that size Airflow's
whole-DAG work per task (the triggerer deserializing the DAG per model trigger, the DAG processor parsing
it per success callback) once made the run quadratic and took the triggerer to 6 GB (docs/decisions/023),
and Airflow 3's API returns at most 100 task instances per page whatever `limit` asks, so a runner reading
one page showed 100 tasks live and in its summary, and said "All 100 tasks succeeded." of a bigger run.

One run checks all of it, its shared build killed outright half way (CI time: each run of this size is minutes):
the build's retry builds what it had not built in one dbt build, and no model task builds its own model.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.faults import TickitRun, stop_started_runs
from tests.support import project_with_extra_models, where_extra_model_tasks_ran

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(2700)]
EXTRA_MODELS = 1001  # with the 17 models, load_raw, the producer and freshness: 1,021 tasks
PRODUCER = "dbt_producer_watcher"


@pytest.fixture
def _nothing_left_running() -> Iterator[None]:
    yield
    stop_started_runs()


def _wait_until_built(run: TickitRun, models: int, timeout: float = 1200.0) -> None:
    """Until the shared build's log reports `models` models built."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = run.task_log(PRODUCER)
        with contextlib.suppress(OSError):
            if log is not None and log.read_text(errors="replace").count("OK created sql ") >= models:
                return
        assert run.proc.poll() is None, run.output[-5000:]
        time.sleep(0.5)
    raise AssertionError(f"the shared build did not build {models} models in {timeout:.0f} s:\n{run.output[-5000:]}")


@pytest.mark.usefixtures("_nothing_left_running")
def test_1000_model_tasks_run_green_in_the_triggerer_every_one_shown_even_with_the_build_killed_half_way(
    tmp_path: Path,
) -> None:
    project = project_with_extra_models(tmp_path / "project", EXTRA_MODELS)
    home = tmp_path / "home"
    run = TickitRun(
        home,
        "--synthetic",
        "--scale",
        "0.01",
        env={"TICKIT_DBT_PROJECT_DIR": str(project), "TICKIT_DAG_RETRY_DELAY_SECONDS": "1"},
    )
    models = 17 + EXTRA_MODELS
    _wait_until_built(run, models // 2)
    os.kill(run.task_process(PRODUCER), signal.SIGKILL)
    assert run.finish(timeout=2400) == 0, run.output[-5000:]
    output = run.output
    tasks = models + 3
    # The producer's retry ends skipped (Cosmos never runs the build twice), which the run counts as done.
    assert f"All {tasks} tasks succeeded." in output
    live = {m.group(1) for m in re.finditer(r"^\[ *[\d.]+s\] (\S+): success$", output, re.M)}
    assert len(live) == tasks - 1 and PRODUCER not in live, output[-5000:]
    assert {f"extra_{i:04d}" for i in range(EXTRA_MODELS)} <= live
    summary = {m.group(1) for m in re.finditer(r"^│ (\S+) +│ success ", output, re.M)}
    assert summary == live
    # Killed outright at about half its models, the build's retry built the models whose tasks had not ended in
    # one dbt build: no model task built its own model (hundreds would queue on the warehouse's writer lock).
    retry = run.task_log(PRODUCER, attempt=2)
    assert retry is not None, output[-5000:]
    said = re.search(r"killed outright\): building the (\d+) models", retry.read_text(errors="replace"))
    assert said is not None and 0 < int(said.group(1)) <= models, output[-5000:]
    # Every model task started and ended in the triggerer: none of them had a worker process (whose log
    # would be attempt=1.log beside the trigger's).
    in_triggerer, on_worker = where_extra_model_tasks_ran(home / "airflow" / "logs", EXTRA_MODELS)
    assert len(in_triggerer) == EXTRA_MODELS
    assert not on_worker
