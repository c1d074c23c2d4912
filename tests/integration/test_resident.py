"""`tickit up` keeps a local Airflow running; `tickit run` and `tickit ui` use it, and `tickit down` stops it.

One Airflow through a whole session, as a user would keep it: the runs must use it (same processes, no
start-up), survive a component that died in between (restarted once, as during a run), pick up a change
to the dbt project without a restart, and `tickit down` must leave nothing running.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.faults import alive_components
from tests.support import copy_project

from tickit_platform.local.processes import session_members
from tickit_platform.local.resident import RESIDENT_COMPONENTS, RESIDENT_FILE, stop_resident

pytestmark = [pytest.mark.airflow, pytest.mark.timeout(900)]
DATA = ("--synthetic", "--scale", "0.01")


def _tickit(home: Path, project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tickit_platform.cli", "--home", str(home), *args],
        env={**os.environ, "TICKIT_DBT_PROJECT_DIR": str(project), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def _components(home: Path) -> dict[str, int]:
    recorded = json.loads((home / "airflow" / RESIDENT_COMPONENTS).read_text())
    return {name: int(pid) for name, pid, _started in recorded if name != "component"}


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Path]:
    home = tmp_path / "home"
    yield home
    stop_resident(home / "airflow", lambda _: None)  # whatever the test's outcome


def test_up_run_and_down_keep_one_airflow_that_survives_a_dead_component_and_a_project_change(
    home: Path, tmp_path: Path
) -> None:
    project = copy_project(tmp_path / "project")

    up = _tickit(home, project, "up", *DATA)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "It keeps running: `tickit run` and `tickit ui` use it; `tickit down` stops it." in up.stdout
    started = _components(home)
    assert set(started) == {"api-server", "scheduler", "dag-processor", "triggerer"}
    # Its secrets are the user's only: the JWT secret, the admin's password, the log that prints it.
    for secret in ("jwt_secret", "simple_auth_manager_passwords.json.generated", "logs/api-server.log"):
        assert (home / "airflow" / secret).stat().st_mode & 0o777 == 0o600, secret
    assert session_members(set(started.values())), "nothing of what `tickit up` started is running"

    first = _tickit(home, project, "run", *DATA)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr
    assert "Using the local Airflow `tickit up` started" in first.stdout
    assert "All 20 tasks succeeded." in first.stdout
    # Said at the end of the run: Airflow still runs, and the command's seconds name it checked, not started.
    assert "Airflow is still running (`tickit up`): the next `tickit run` starts at once." in first.stdout
    assert re.search(
        r"Time: [\d.]+ s in all \(data and checks [\d.]+ s, Airflow checked [\d.]+ s, DAG run", first.stdout
    )
    # What the run wrote that may hold secrets is the user's only (decision 031): the metadata database, the
    # task logs Airflow creates (0664 by its default), the home around them.
    task_logs = list((home / "airflow" / "logs").glob("dag_id=*/run_id=*/task_id=*/attempt=*.log"))
    assert task_logs and {log.stat().st_mode & 0o777 for log in task_logs} == {0o600}
    assert (home / "airflow" / "airflow.db").stat().st_mode & 0o777 == 0o600
    assert (home / "airflow").stat().st_mode & 0o777 == 0o700
    # The same processes ran it, and are still up after it.
    # A component restarted by supervision is named on the run's stderr.
    assert _components(home) == started, first.stderr + first.stdout[:3000]
    assert set(session_members(set(started.values()))) >= set(started.values())

    # Meanwhile the scheduler dies, and the project gains a model.
    os.killpg(started["scheduler"], signal.SIGKILL)
    (project / "models" / "gold" / "gold_venue_count.sql").write_text(
        "select count(*) as venues from {{ ref('silver_venue') }}\n"
    )
    second = _tickit(home, project, "run", *DATA)
    output = second.stdout + second.stderr
    assert second.returncode == 0, output[-3000:]
    assert f"Airflow scheduler (PID {started['scheduler']}) is no longer running; restarting it." in output
    assert "The dbt project or the DAG changed since Airflow parsed it; parsing the DAG again" in output
    assert "All 21 tasks succeeded." in second.stdout
    assert "gold_venue_count" in second.stdout
    now = _components(home)
    assert now["scheduler"] != started["scheduler"]
    assert {k: v for k, v in now.items() if k != "scheduler"} == {k: v for k, v in started.items() if k != "scheduler"}

    # The UI uses the same Airflow, restarted first when it asks for other data: the command says which
    # setting differs, then where the UI is, and returns.
    ui = _tickit(home, project, "ui", "--synthetic", "--scale", "0.02")
    assert ui.returncode == 0, ui.stdout + ui.stderr
    assert "has other settings (TICKIT_RAW_DIR); restarting it with these." in ui.stdout + ui.stderr
    assert "This is the Airflow `tickit up` started: it keeps running; `tickit down` stops it." in ui.stdout
    restarted = _components(home)
    assert not set(restarted.values()) & set(now.values())

    # Everything it ran is gone (as after a reboot): the next command starts it again, on free ports.
    for pid in restarted.values():
        os.killpg(pid, signal.SIGKILL)
    old_port = json.loads((home / "airflow" / RESIDENT_FILE).read_text())["api_port"]
    rebooted = _tickit(home, project, "ui", "--synthetic", "--scale", "0.02")
    assert rebooted.returncode == 0, rebooted.stdout + rebooted.stderr
    assert "The Airflow `tickit up` started is no longer running; starting it again." in rebooted.stderr
    assert json.loads((home / "airflow" / RESIDENT_FILE).read_text())["api_port"] != old_port
    again_started = _components(home)

    down = _tickit(home, project, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert "Stopped the local Airflow `tickit up` started." in down.stdout
    assert not (home / "airflow" / RESIDENT_FILE).exists()
    sessions = {*started.values(), *now.values(), *restarted.values(), *again_started.values()}
    assert alive_components(home, sessions) == []
    again = _tickit(home, project, "down")
    assert "No local Airflow was kept running here (`tickit up` starts one)." in again.stdout
