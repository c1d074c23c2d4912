"""Fault injection for `tickit run`: start it as a user would, wait for a task state, signal a component.

Every wait is bounded: a fault that makes the run hang fails its test instead of hanging CI.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import duckdb

from tickit_platform.local.processes import session_members

GOLD_VIEWS = ("gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity")


class TickitRun:
    """`tickit --home HOME run ARGS…` in its own session, its output collected line by line."""

    started: ClassVar[list[TickitRun]] = []  # for the tests' clean-up, whatever their outcome

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        self.home = home
        TickitRun.started.append(self)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tickit_platform.cli", "--home", str(home), "run", *args],
            env={**os.environ, "COLUMNS": "200", **(env or {})},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.lines: list[str] = []
        # When each line was read (time.monotonic()), for faults whose report must come within a bound.
        self.arrived: list[float] = []
        # Every component's session (each is started in a new one) seen while the run lasted.
        self.sessions: set[int] = set()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        threading.Thread(target=self._watch_components, daemon=True).start()

    def _watch_components(self) -> None:
        state = self.home / "airflow" / "components.json"
        while self.proc.poll() is None:
            with contextlib.suppress(OSError, ValueError):
                self.sessions |= {int(row[1]) for row in json.loads(state.read_text())}
            time.sleep(0.1)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.arrived.append(time.monotonic())
            self.lines.append(line.rstrip("\n"))

    @property
    def output(self) -> str:
        return "\n".join(self.lines)

    def wait_for(self, text: str, timeout: float = 300.0) -> float:
        """Wait until a line says `text`; when that line was read (time.monotonic())."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if (seen := self._seen(text)) is not None:
                return seen
            if self.proc.poll() is not None:
                time.sleep(0.2)  # the reader may still be draining the pipe
                if (seen := self._seen(text)) is not None:
                    return seen
                raise AssertionError(f"tickit ended (code {self.proc.returncode}) before {text!r}:\n{self.output}")
            time.sleep(0.1)
        raise AssertionError(f"no {text!r} within {timeout:.0f} s:\n{self.output}")

    def _seen(self, text: str) -> float | None:
        # The reader appends the time before the line: a line found has its time.
        return next((self.arrived[i] for i, line in enumerate(list(self.lines)) if text in line), None)

    def component_pid(self, name: str) -> int:
        """The PID of the named Airflow component now running (the latest one started under that name)."""
        groups = json.loads((self.home / "airflow" / "components.json").read_text())
        return int([row[1] for row in groups if row[0] == name][-1])

    def kill_component(self, name: str, sig: signal.Signals = signal.SIGKILL) -> int:
        pid = self.component_pid(name)
        os.kill(pid, sig)
        return pid

    def task_process(self, task_id: str, timeout: float = 30.0) -> int:
        """The PID of the process running a task's code now (for a model task, its dbt; for the producer,
        the shared `dbt build`, which runs inside it).

        Airflow names that process after the task instance's id only ("airflow worker -- <uuid>"); its
        parent, the task's supervisor, holds the task's log file open, whose path names the task.
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in alive_components(self.home, self.sessions):
                if _holds_log_of(pid, task_id):
                    runners = [c for c in _children(pid) if _cmdline(c).startswith("airflow worker -- ")]
                    if runners:
                        return runners[0]
            time.sleep(0.2)
        raise AssertionError(f"no process runs {task_id} within {timeout:.0f} s:\n{self.output}")

    def task_log(self, task_id: str, attempt: int = 1) -> Path | None:
        pattern = f"dag_id=*/run_id=*/task_id={task_id}/attempt={attempt}.log"
        found = sorted((self.home / "airflow" / "logs").glob(pattern))
        return found[-1] if found else None

    def wait_in_task_log(self, task_id: str, text: str, timeout: float = 300.0) -> None:
        """Wait until a task's log (its first try) says `text`: for faults timed inside a task's work."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.task_log(task_id)
            with contextlib.suppress(OSError):
                if log is not None and text in log.read_text(errors="replace"):
                    return
            if self.proc.poll() is not None:
                raise AssertionError(f"tickit ended before {task_id}'s log said {text!r}:\n{self.output}")
            time.sleep(0.1)
        raise AssertionError(f"{task_id}'s log did not say {text!r} within {timeout:.0f} s:\n{self.output}")

    def finish(self, timeout: float = 600.0) -> int:
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            raise AssertionError(f"tickit run did not end within {timeout:.0f} s:\n{self.output}") from None
        self._reader.join(10)
        return code


def stop_started_runs() -> None:
    """Kill every `tickit run` a test started and the Airflow components it left, whatever the test's outcome."""
    for run in TickitRun.started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(run.proc.pid, signal.SIGKILL)
        for pid in alive_components(run.home, run.sessions):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    TickitRun.started.clear()


def alive_components(home: Path, sessions: set[int] | None = None) -> list[int]:
    """PIDs of processes a run left behind: in one of the given sessions, or with this home's AIRFLOW_HOME.

    Airflow's components rename themselves (setproctitle), which hides their environment in /proc; the
    sessions (each component is started in its own, with its PID as the session id) find them anyway.
    """
    found = set(session_members(sessions or set()))
    marker = f"AIRFLOW_HOME={home / 'airflow'}".encode()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) in found:
            continue
        try:
            if Path(proc / "stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue  # exited, waiting to be reaped: runs nothing, holds nothing
            if marker in (proc / "environ").read_bytes().split(b"\0"):
                found.add(int(proc.name))
        except (OSError, IndexError):
            continue
    return sorted(found)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(c) for t in tasks for c in (t / "children").read_text().split()]
    except OSError:
        return []


def _holds_log_of(pid: int, task_id: str) -> bool:
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if f"/task_id={task_id}/attempt=" in os.readlink(fd):
                return True
    return False


def warehouse_state(warehouse: Path) -> tuple[dict[str, int], dict[str, list[tuple[object, ...]]]]:
    """Rows per bronze/silver/gold relation and every gold row: what "an identical warehouse" compares."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in ('bronze', 'silver', 'gold')"
        ).fetchall()
        counts = {
            f"{schema}.{name}": int(con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()[0])  # type: ignore[index]
            for schema, name in relations
        }
        gold = {view: con.execute(f"select * from gold.{view} order by all").fetchall() for view in GOLD_VIEWS}
    return counts, gold


def parent_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None
