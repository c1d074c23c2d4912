"""The Airflow REST API v2 as a user's script would call it, with a token from the auth manager.

The handful of calls `tickit run`, `tickit up` and the rehearsal make: wait for the DAG, trigger a run,
watch its task instances, clear tasks and fail abandoned runs. A call is tried again while SQLite's
locking answers with server errors.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from tickit_platform.local.processes import AirflowStartError
from tickit_runtime import pacing

TERMINAL_RUN_STATES = {"success", "failed"}
FINISHED_TASK_STATES = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
# How often a call is made before its server error is the answer.
API_ATTEMPTS = 5


class AirflowApi:
    """The handful of Airflow REST API v2 calls the runner needs, with a token from the auth manager."""

    # Both reads below cost the API server in proportion to the run's size (a run's state lists the DAG
    # versions of all its task instances): at 1,000 tasks, listing twice a second and reading the state on
    # every poll kept it busy for the whole run. So the list is read at most this many task instances a
    # second (every poll up to 100 tasks, every 5 s at 1,000) ...
    listed_per_second = 200.0
    # ... and the run's state once the last list shows every task instance finished (a run ends only after
    # them), or at most this often otherwise (a run can end with tasks left: a deadlock, a timeout, by hand).
    run_state_every = 5.0
    # The list is also read less often the longer no task's state has changed (tickit_runtime/pacing.py), at
    # least this often: at scale 100 the load alone runs for minutes, and a list twice a second took the API
    # server's CPU from it. A change is then seen up to this much later; the run's end at once, as above.
    quiet_list_every = 2.0

    def __init__(self, base_url: str, username: str, password: str) -> None:
        self.base_url = base_url
        body = json.dumps({"username": username, "password": password}).encode()
        req = urllib.request.Request(
            f"{base_url}/auth/token", data=body, headers={"Content-Type": "application/json"}, method="POST"
        )
        with urllib.request.urlopen(req, timeout=30) as resp:
            self.token = json.loads(resp.read())["access_token"]

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.base_url}/api/v2{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        # SQLite metadata answers "database is locked" (a 500) while many tasks start at once: try again.
        for attempt in range(API_ATTEMPTS):
            try:
                with urllib.request.urlopen(req, timeout=30) as resp:
                    return json.loads(resp.read() or b"null")
            except urllib.error.HTTPError as err:
                if err.code < 500 or attempt == API_ATTEMPTS - 1:
                    raise
            time.sleep(1.0 + attempt)
        raise AssertionError("unreachable")

    def warm_execution_api(self) -> None:
        """The API server builds its task-execution API on first use (about 4 s here); pay that now,
        while Airflow starts, rather than inside the first task of a run."""
        with urllib.request.urlopen(f"{self.base_url}/execution/health", timeout=60):
            pass

    def wait_for_dag(self, dag_id: str, timeout: float = 180.0) -> None:
        """Wait until the DAG processor has parsed the DAG; fail with its import error if it has one."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                self.call("GET", f"/dags/{dag_id}")
                return
            except urllib.error.HTTPError as err:
                if err.code != 404:
                    raise
            errors = self.call("GET", "/importErrors").get("import_errors", [])
            if errors:
                raise AirflowStartError(f"The DAG file failed to import:\n{errors[0].get('stack_trace', errors[0])}")
            time.sleep(0.5)
        raise AirflowStartError(f"DAG {dag_id} did not appear within {timeout:.0f} s")

    def trigger(self, dag_id: str, run_id: str, logical_date: str | None, conf: dict[str, Any] | None = None) -> str:
        self.call("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        body: dict[str, Any] = {"dag_run_id": run_id, "logical_date": logical_date, "conf": conf or {}}
        try:
            return str(self.call("POST", f"/dags/{dag_id}/dagRuns", body)["dag_run_id"])
        except urllib.error.HTTPError as err:
            if err.code == 409:  # a retried request whose first try was stored after all
                return run_id
            raise

    def fail_unfinished_runs(self, dag_id: str, prefix: str) -> list[str]:
        """Mark failed the runs with this id prefix that are still queued or running; their ids."""
        runs = self.call("GET", f"/dags/{dag_id}/dagRuns?state=queued&state=running&limit=100")["dag_runs"]
        abandoned = [str(r["dag_run_id"]) for r in runs if str(r["dag_run_id"]).startswith(prefix)]
        for run_id in abandoned:
            self.call("PATCH", f"/dags/{dag_id}/dagRuns/{run_id}", {"state": "failed"})
        return abandoned

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.call("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        """Every task instance of the run: the API returns at most `maximum_page_limit` (100) per page."""
        found: list[dict[str, Any]] = []
        while True:
            page = self.call(
                "GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances?order_by=id&limit=100&offset={len(found)}"
            )
            found.extend(page["task_instances"])
            if not page["task_instances"] or len(found) >= int(page["total_entries"]):
                return found

    def clear(self, dag_id: str, run_id: str, task_ids: list[str], downstream: bool = True) -> None:
        body = {
            "dry_run": False,
            "dag_run_id": run_id,
            "task_ids": task_ids,
            "include_downstream": downstream,
            "only_failed": False,
            "reset_dag_runs": True,
        }
        self.call("POST", f"/dags/{dag_id}/clearTaskInstances", body)

    def wait_run(
        self,
        dag_id: str,
        run_id: str,
        on_change: Callable[[list[dict[str, Any]]], None] | None = None,
        timeout: float = 1800.0,
        interval: float = 0.5,
        supervise: Callable[[], None] | None = None,
    ) -> str:
        """Poll until the run ends; `on_change` sees the task instances whenever a state changes.

        `supervise` is called on every poll: it restarts a dead component or raises. Meanwhile a
        restarting API server refuses connections; that is waited out, not taken for the run's end.
        The task instances and the run's state are read only as often as the class's paces allow.
        """
        deadline = time.monotonic() + timeout
        seen: dict[str, str | None] = {}
        next_listing = next_state = 0.0
        changed_at = time.monotonic()
        while time.monotonic() < deadline:
            if supervise is not None:
                supervise()
            try:
                if time.monotonic() >= next_listing:
                    tis = self.task_instances(dag_id, run_id)
                    states = {ti["task_id"]: ti["state"] for ti in tis}
                    if states != seen:
                        changed_at = time.monotonic()
                        if on_change is not None:
                            on_change(tis)
                    seen = states
                    quiet = pacing.pause(0.0, time.monotonic() - changed_at, self.quiet_list_every)
                    next_listing = time.monotonic() + max(len(tis) / self.listed_per_second, quiet)
                state = None
                if time.monotonic() >= next_state or (seen and set(seen.values()) <= FINISHED_TASK_STATES):
                    state = self.run_state(dag_id, run_id)
                    next_state = time.monotonic() + self.run_state_every
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if supervise is None:
                    raise
                time.sleep(interval)
                continue
            if state in TERMINAL_RUN_STATES:
                if on_change is not None:
                    on_change(self.task_instances(dag_id, run_id))
                return state
            time.sleep(interval)
        raise TimeoutError(f"DAG run {run_id} did not finish within {timeout:.0f} s")
