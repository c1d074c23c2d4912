"""A component forked from `tickit` keeps what it inherited shared (local/warm_airflow.py, docs/decisions/043)."""

from __future__ import annotations

import gc
import os
from pathlib import Path

from tickit_platform.local import warm_airflow
from tickit_platform.local.processes import ForkedProcess


def test_a_forked_component_runs_airflow_and_leaves_the_inherited_objects_to_no_collector(tmp_path: Path) -> None:
    log = tmp_path / "component.log"
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path / "airflow")}
    fd = os.open(log, os.O_WRONLY | os.O_CREAT)
    try:
        gc.unfreeze()
        pid = warm_airflow.fork_component("version", env, fd)
        # Frozen before the fork, in both processes: the collector, which writes to each object it visits, then
        # never visits those the component shares with this process and its siblings (each visit copies a page).
        frozen = gc.get_freeze_count()
    finally:
        os.close(fd)
        gc.unfreeze()
    assert ForkedProcess(pid).wait(120) == 0, log.read_text()
    assert frozen > 1000
