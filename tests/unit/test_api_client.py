"""How `tickit run` watches a run through Airflow's REST API: the run's end as soon as its tasks are done,
the task list and the run's state at a pace the API server can afford however big the run (the live view's
and the summary's source)."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tickit_platform.local.api_client import AirflowApi
from tickit_runtime import pacing


class RecordingApi(AirflowApi):
    """The REST API's answers for a run of `tasks` task instances whose tasks finish after `runs_for` seconds
    and which the scheduler marks ended `marked_after` seconds later (`ended` its state then).

    The polling policy is what is tested here; the real API server answers it in every integration test. The
    paces are the class's, scaled down so that a test takes a second, not minutes."""

    listed_per_second = 20_000.0  # 1,000 tasks: a list every 0.05 s (at the real 200: every 5 s)
    run_state_every = 0.5
    quiet_list_every = 0.0  # a quiet run's slower listing: off, except in the test of it

    def __init__(self, tasks: int, runs_for: float, ended: str = "success", finished: str = "success") -> None:
        self.tasks, self.ended, self.finished = tasks, ended, finished
        self.tasks_done_at = time.monotonic() + runs_for
        self.marked_at = self.tasks_done_at + 0.05
        self.listed = self.state_reads = 0
        self.state_reads_while_running = 0

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        self.listed += 1
        state = self.finished if time.monotonic() >= self.tasks_done_at else "running"
        return [{"task_id": f"m{i}", "state": state} for i in range(self.tasks)]

    def run_state(self, dag_id: str, run_id: str) -> str:
        self.state_reads += 1
        if time.monotonic() < self.tasks_done_at:
            self.state_reads_while_running += 1
        return self.ended if time.monotonic() >= self.marked_at else "running"


def _watch(api: RecordingApi) -> tuple[str, list[list[dict[str, Any]]], float]:
    seen: list[list[dict[str, Any]]] = []
    state = api.wait_run("d", "r", on_change=seen.append, interval=0.01)
    return state, seen, time.monotonic() - api.marked_at


def test_a_small_run_is_listed_on_every_poll_and_its_end_read_once_its_tasks_are_done() -> None:
    api = RecordingApi(tasks=17, runs_for=1.0)
    state, seen, late = _watch(api)
    assert state == "success"
    assert api.listed >= 50  # every poll of 0.01 s (and the poll's own time) for a second
    # While the tasks ran, the run's state was read only at the run_state_every pace, not on every poll ...
    assert api.state_reads_while_running <= 3
    # ... and once they were done, on every poll until the scheduler marked the run: its end is seen at once.
    assert late < api.run_state_every
    assert {ti["state"] for ti in seen[-1]} == {"success"}


def test_a_run_of_a_thousand_tasks_is_listed_at_the_api_servers_pace_and_its_end_still_seen() -> None:
    api = RecordingApi(tasks=1000, runs_for=1.0)
    state, seen, late = _watch(api)
    assert state == "success"
    assert api.listed <= 1.2 / 0.05 + 2  # a list per 0.05 s, and once more at the end
    assert api.state_reads_while_running <= 3
    assert late < api.run_state_every
    assert len(seen[-1]) == 1000 and {ti["state"] for ti in seen[-1]} == {"success"}


def test_a_run_that_ends_with_tasks_left_is_seen_at_the_state_reads_pace() -> None:
    # A deadlocked or timed-out run: the scheduler ends it while its tasks never finished.
    api = RecordingApi(tasks=17, runs_for=0.3, ended="failed", finished="scheduled")
    state, _, late = _watch(api)
    assert state == "failed"
    assert late < api.run_state_every + 0.2


def test_a_run_whose_tasks_stay_quiet_is_listed_less_often_as_it_lasts_and_its_end_seen_soon(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Scaled down as the paces above: a second of this run stands for minutes of a load at scale 100.
    monkeypatch.setattr(pacing, "SHARE_OF_WAIT", 0.5)
    api = RecordingApi(tasks=17, runs_for=1.0)
    api.quiet_list_every = 0.1
    state, seen, late = _watch(api)
    assert state == "success"
    # Every poll (0.01 s) at first, then less often, at last every 0.1 s: about 15 lists, where every poll was 90.
    assert api.listed <= 25
    # The tasks' end is listed within the slowest pace, and the run's end read on the polls after it.
    assert late < api.quiet_list_every + 0.1
    assert {ti["state"] for ti in seen[-1]} == {"success"}
