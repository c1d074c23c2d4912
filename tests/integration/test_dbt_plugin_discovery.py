"""No dbt call a task makes imports the DAGs folder's `dbt_*` modules (dbt's plugin discovery).

dbt imports every top-level module named `dbt_*` on `sys.path` looking for plugins, and Airflow puts the DAGs
folder on it in every task process: the DAG file itself (`dbt_tickit_medallion_dag.py`) was imported and built
again by each task's first dbt call. A spy module named like a dbt plugin sits beside the DAG file and writes a
line whenever it is imported; a real run under the real scheduler (the load, the shared build, the freshness
check: every dbt call of a run) must leave no line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.support import dag_config

from tickit_platform.data.synth import generate
from tickit_platform.local.runner import started_airflow, trigger_and_wait
from tickit_runtime.paths import DAGS_DIR

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]

# Airflow parses a file of its DAGs folder only if its text has both "dag" and "airflow" (safe mode).
SPY = """
import os
import sys
import traceback
from pathlib import Path

# Only dbt's plugin discovery imports this module: its text avoids both words the file processor looks for.
with Path(os.environ["TICKIT_TEST_SPY_FILE"]).open("a") as out:
    out.write(f"imported in process {os.getpid()} ({' '.join(sys.argv)}):\\n")
    out.write("".join(traceback.format_stack(limit=12)))
"""


def test_no_dbt_call_of_a_run_imports_the_dags_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    shutil.copy(DAGS_DIR / "dbt_tickit_medallion_dag.py", dags)
    (dags / "dbt_plugin_spy.py").write_text(SPY)
    spy_file = tmp_path / "spy.txt"
    monkeypatch.setenv("TICKIT_TEST_SPY_FILE", str(spy_file))
    raw = generate(tmp_path / "raw", scale=0.01, seed=3)
    config = dag_config(tmp_path / "home", raw)

    with started_airflow(config, dags_folder=dags) as (airflow, api):
        result = trigger_and_wait(airflow, api)

    assert result.state == "success", result.states()
    ran = {t.task_id for t in result.tasks if t.state == "success"}
    assert {"load_raw", "dbt_producer_watcher", "source_freshness"} <= ran
    assert not spy_file.exists(), f"dbt's plugin discovery imported the DAGs folder: {spy_file.read_text()}"
