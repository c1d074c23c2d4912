"""Projects with many models under the real scheduler: every task is shown, and 1,000 model tasks run.

Real dbt projects have hundreds of models. Airflow 3's API returns at most 100 task instances per page
whatever `limit` asks, so a runner reading one page showed 100 tasks live and in its summary, and said
"All 100 tasks succeeded." of a bigger run. At 1,000 models, every model task waits in the triggerer
(docs/decisions/023): the run must end green with every task listed, none of them stuck.
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
THOUSAND = 1000  # with the 17 models and the three other tasks: 1,020 tasks
SILVER = ("silver_category", "silver_date", "silver_event", "silver_listing", "silver_sales", "silver_users",
          "silver_venue")  # fmt: skip


def _project_with_extra_models(dest: Path, count: int = EXTRA_MODELS) -> Path:
    project = copy_project(dest)
    folder = project / "models" / "generated"
    folder.mkdir()
    for i in range(count):
        # Spread over the silver models, so the tasks wait in the triggerer many at once, as in a wide project.
        parent = "silver_venue" if count == EXTRA_MODELS else SILVER[i % len(SILVER)]
        (folder / f"extra_{i:03d}.sql").write_text(f"select count(*) as n, {i} as i from {{{{ ref('{parent}') }}}}\n")
    return project


def _tickit_run(home: Path, project: Path, timeout: float) -> tuple[subprocess.CompletedProcess[str], str]:
    done = subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", "--home", str(home), "run", "--synthetic", "--scale", "0.01"],
        env={**os.environ, "TICKIT_DBT_PROJECT_DIR": str(project), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return done, done.stdout + done.stderr


def test_a_run_of_more_than_100_tasks_shows_every_one_live_and_in_the_summary(tmp_path: Path) -> None:
    project = _project_with_extra_models(tmp_path / "project")
    done, output = _tickit_run(tmp_path / "home", project, timeout=1100)
    assert done.returncode == 0, output[-5000:]
    tasks = 17 + EXTRA_MODELS + 3
    assert f"All {tasks} tasks succeeded." in output
    live = {m.group(1) for m in re.finditer(r"^\[ *[\d.]+s\] (\S+): success$", done.stdout, re.M)}
    assert len(live) == tasks and {f"extra_{i:03d}" for i in range(EXTRA_MODELS)} <= live
    summary = {m.group(1) for m in re.finditer(r"^│ (\S+) +│ success ", done.stdout, re.M)}
    assert summary == live


def test_a_thousand_model_tasks_run_green_through_the_scheduler(tmp_path: Path) -> None:
    project = _project_with_extra_models(tmp_path / "project", THOUSAND)
    done, output = _tickit_run(tmp_path / "home", project, timeout=1100)
    assert done.returncode == 0, output[-5000:]
    tasks = 17 + THOUSAND + 3
    assert f"All {tasks} tasks succeeded." in output
    summary = {m.group(1) for m in re.finditer(r"^│ (\S+) +│ success ", done.stdout, re.M)}
    assert {f"extra_{i:03d}" for i in range(THOUSAND)} <= summary and len(summary) == tasks
    # They waited in the triggerer and ended there: not one model task needed a worker to build itself.
    logs = tmp_path / "home" / "airflow" / "logs"
    own_builds = [log for log in logs.rglob("task_id=extra_*/attempt=*.log") if "Falling back" in log.read_text()]
    assert own_builds == []
    assert len(list(logs.rglob("task_id=extra_*/attempt=1.log.trigger.*.log"))) == THOUSAND
