"""A project with more models than one page of Airflow's REST API (100 items): every task is shown.

Real dbt projects have hundreds of models. Airflow 3's API returns at most 100 task instances per page
whatever `limit` asks, so a runner reading one page showed 100 tasks live and in its summary, and said
"All 100 tasks succeeded." of a bigger run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from tests.support import copy_project

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(1200)]
EXTRA_MODELS = 101  # with the 17 models, load_raw, the producer and freshness: 121 tasks


def _project_with_extra_models(dest: Path) -> Path:
    project = copy_project(dest)
    folder = project / "models" / "generated"
    folder.mkdir()
    for i in range(EXTRA_MODELS):
        (folder / f"extra_{i:03d}.sql").write_text(
            f"select count(*) as n, {i} as i from {{{{ ref('silver_venue') }}}}\n"
        )
    return project


def test_a_run_of_more_than_100_tasks_shows_every_one_live_and_in_the_summary(tmp_path: Path) -> None:
    project = _project_with_extra_models(tmp_path / "project")
    done = subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", "--home", str(tmp_path / "home"), "run", "--synthetic",
         "--scale", "0.01"],
        env={**os.environ, "TICKIT_DBT_PROJECT_DIR": str(project), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=1100,
        check=False,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    tasks = 17 + EXTRA_MODELS + 3
    assert f"All {tasks} tasks succeeded." in output
    live = {m.group(1) for m in re.finditer(r"^\[ *[\d.]+s\] (\S+): success$", done.stdout, re.M)}
    assert len(live) == tasks and {f"extra_{i:03d}" for i in range(EXTRA_MODELS)} <= live
    summary = {m.group(1) for m in re.finditer(r"^│ (\S+) +│ success ", done.stdout, re.M)}
    assert summary == live
