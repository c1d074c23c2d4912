"""How `tickit run` watches a run through Airflow's REST API: the run's end at once, the task list at a rate
the API server can afford however big the run (the live view's and the summary's source)."""

from __future__ import annotations

from typing import Any

from tickit_platform.local.api_client import AirflowApi


class RecordingApi(AirflowApi):
    """The REST API's answers for a run of `tasks` task instances that ends after `polls` state reads.

    The polling policy is what is tested here; the real API server answers it in every integration test."""

    def __init__(self, tasks: int, polls: int) -> None:
        self.tasks, self.polls = tasks, polls
        self.listed = self.state_reads = 0

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        self.listed += 1
        state = "success" if self.state_reads >= self.polls else "running"
        return [{"task_id": f"m{i}", "state": state} for i in range(self.tasks)]

    def run_state(self, dag_id: str, run_id: str) -> str:
        self.state_reads += 1
        return "success" if self.state_reads >= self.polls else "running"


def test_a_small_run_is_listed_on_every_poll_and_its_end_seen_at_once() -> None:
    api = RecordingApi(tasks=1, polls=20)
    seen: list[list[dict[str, Any]]] = []
    assert api.wait_run("d", "r", on_change=seen.append, interval=0.01) == "success"
    assert api.state_reads == 20
    assert api.listed == 20 + 1  # every poll, and once more at the end
    assert {ti["state"] for ti in seen[-1]} == {"success"}


def test_a_run_of_a_thousand_tasks_is_listed_at_the_api_servers_pace_and_its_end_still_seen_at_once() -> None:
    api = RecordingApi(tasks=1000, polls=20)
    seen: list[list[dict[str, Any]]] = []
    assert api.wait_run("d", "r", on_change=seen.append, interval=0.01) == "success"
    assert api.state_reads == 20
    assert api.listed == 2  # the first poll's list, then the last (1,000 at 200 a second: one per 5 s)
    assert len(seen[-1]) == 1000 and {ti["state"] for ti in seen[-1]} == {"success"}
