"""Three defects of Airflow 3.3's triggerer (3.3.1, 3.3.2) that this project works around, reproduced.

Each test fails today for the defect's own reason (its xfail accepts only the exception that says so) and
passes once Airflow fixes it. Strict: the day one passes, the suite goes red to say which workaround to retire.
The reports for Airflow's maintainers are in docs/upstream/. The reproductions run in processes of their own
(tests/upstream/airflow_harness.py), on Airflow's own classes and an empty SQLite metadata DB, with nothing
of this project loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tests.upstream import airflow_harness as harness

REPO = Path(__file__).parents[2]
# Beyond the harness's own watchdog (HUNG_AFTER): a reproduction that overruns this hung somewhere else.
HARD_TIMEOUT = 90


class SupervisorBlockedInSend(AssertionError):
    """The triggerer's supervisor and its runner wait on each other for good."""


class TriggerLogMisrouted(AssertionError):
    """A trigger's log line went to the triggerer's own log instead of the trigger's log file."""


class WorkloadGrowsWithDag(AssertionError):
    """A start-from-trigger task's workload carries its whole DAG."""


def _reproduce(case: str, tmp_path: Path) -> tuple[dict[str, Any], str]:
    """Runs one case of the harness; returns what it saw and the triggerer's own log (its stdout)."""
    home = tmp_path / "airflow_home"
    home.mkdir()
    # Nothing of the calling environment's Airflow (its home, settings, process context) may leak in.
    env = {name: value for name, value in os.environ.items() if "AIRFLOW" not in name}
    env |= {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(home / "logs"),
        "PYTHONPATH": str(REPO),
    }
    result, own_log = tmp_path / "result.json", tmp_path / "triggerer.log"
    with own_log.open("wb") as stdout:
        done = subprocess.run(
            [sys.executable, "-m", "tests.upstream.airflow_harness", case, str(result)],
            cwd=REPO,
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            timeout=HARD_TIMEOUT,
            check=False,
        )
    if done.returncode != 0 or not result.exists():
        stderr = done.stderr.decode(errors="replace")[-4000:]
        raise RuntimeError(f"the {case} reproduction itself failed ({done.returncode}):\n{stderr}")
    seen = json.loads(result.read_text())
    assert not seen.pop("project_loaded"), "only Airflow's own code may run in a reproduction"
    return seen, own_log.read_text(errors="replace")


@pytest.mark.xfail(
    strict=True,
    raises=SupervisorBlockedInSend,
    reason="Airflow defect, docs/upstream/triggerer-blocking-send.md; when this passes, Airflow fixed it: retire "
    "the workaround (the bounded messages between the supervisor and its runner)",
)
def test_the_triggerer_supervisor_answers_a_big_response_while_its_runner_logs(tmp_path: Path) -> None:
    """A trigger logs from the event loop; the supervisor then sends a 2 MiB TriggerStateSync (a new trigger
    with big kwargs, as a workload carrying a serialized DAG is). The new trigger must start and fire."""
    seen, _ = _reproduce("blocking-send", tmp_path)
    if seen["hung_in_send"]:
        raise SupervisorBlockedInSend(
            f"the supervisor sat {seen['seconds_in_send']:.0f} s in send_msg -> socket.sendall of a "
            f"{seen['big_response_bytes']}-byte response while {seen['unread_log_bytes']} bytes of the runner's "
            f"log lines waited unread; the runner's threads wait in {seen['runner_threads_waiting_in']} "
            f"(the event loop, thread {seen['runner_pid']}, in a socket send: a log line).\n"
            f"Supervisor's stack:\n{seen['supervisor_stack']}"
        )
    assert seen["fired"] == [2]


@pytest.mark.xfail(
    strict=True,
    raises=TriggerLogMisrouted,
    reason="Airflow defect, docs/upstream/trigger-log-closed-before-drained.md; when this passes, Airflow fixed "
    "it: retire the workaround (internals/triggerer.py: a trigger's end reported a grace after it ended)",
)
def test_a_trigger_that_fires_at_once_keeps_its_log_line_in_its_log_file(tmp_path: Path) -> None:
    """The trigger logs a few lines and fires at once, while one turn of the supervisor outlasts one of the
    runner's; its last line must be in the trigger's log file."""
    seen, triggerers_own_log = _reproduce("log-closed", tmp_path)
    assert seen["fired"] == [1] and seen["log_path"], seen
    log_file = tmp_path / "airflow_home" / "logs" / seen["log_path"]
    in_file = log_file.exists() and harness.MARKER in log_file.read_text()
    if not in_file and harness.MARKER in triggerers_own_log:
        misrouted = [line for line in triggerers_own_log.splitlines() if "task_id=starts_in_triggerer" in line]
        raise TriggerLogMisrouted(
            f"the trigger's log file {'lacks the line' if log_file.exists() else 'was never created'}; "
            f"{len(misrouted)} of the trigger's lines went to the triggerer's own log, among them:\n"
            + "\n".join(line for line in misrouted if harness.MARKER in line)
        )
    assert in_file, "the line is in neither the trigger's log file nor the triggerer's own log"


@pytest.mark.xfail(
    strict=True,
    raises=WorkloadGrowsWithDag,
    reason="Airflow defect, docs/upstream/dag-in-every-trigger-workload.md; when this passes, Airflow fixed it: "
    "retire the workaround (internals/triggerer.py: workloads without the DAG)",
)
def test_a_start_from_trigger_workload_does_not_grow_with_its_dag(tmp_path: Path) -> None:
    """The workload of one start_from_trigger task, in a DAG of N and of 10N tasks: the task and its
    trigger are the same, so must its workload be, near enough."""
    sizes, _ = _reproduce("workload-size", tmp_path)
    small, big = sizes[str(harness.TASKS)], sizes[str(10 * harness.TASKS)]
    if big["response_bytes"] > 2 * small["response_bytes"]:
        raise WorkloadGrowsWithDag(
            f"one task's TriggerStateSync is {small['response_bytes']} bytes in a DAG of {harness.TASKS} tasks and "
            f"{big['response_bytes']} bytes in one of {10 * harness.TASKS} (carries the DAG: {big['carries_dag']}); "
            f"the runner deserializes it in {small['runner_deserializes_s'] * 1000:.0f} ms and "
            f"{big['runner_deserializes_s'] * 1000:.0f} ms"
        )
