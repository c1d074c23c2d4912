"""A project of more than 1,000 models runs green through the real scheduler, every task shown.

Real dbt projects have hundreds to thousands of models, each its own task here. At that size Airflow's
whole-DAG work per task (the triggerer deserializing the DAG per model trigger, the DAG processor parsing
it per success callback) once made the run quadratic and took the triggerer to 6 GB (docs/decisions/023),
and Airflow 3's API returns at most 100 task instances per page whatever `limit` asks, so a runner reading
one page showed 100 tasks live and in its summary, and said "All 100 tasks succeeded." of a bigger run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
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
