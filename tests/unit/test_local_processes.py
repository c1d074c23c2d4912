"""The local Airflow's secrets and processes: its secret files are the user's only from the first byte; a
recorded process is stopped only while it is the very process recorded (PID and start time); stopping
never waits forever; a live component whose heartbeat stopped is restarted once. Real processes
throughout, started and ended by each test."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import pytest

from tickit_platform.local import processes
from tickit_platform.local.airflow import AUTH_MANAGER_FILE, LocalAirflow
from tickit_platform.local.processes import ComponentDiedError, process_start, stop_strays


@contextlib.contextmanager
def umask(mask: int) -> Iterator[None]:
    old = os.umask(mask)
    try:
        yield
    finally:
        os.umask(old)


def test_the_jwt_secret_and_the_password_file_are_created_owner_only(tmp_path: Path) -> None:
    home = tmp_path / "airflow"
    with umask(0o022):  # the usual one: files readable by everyone
        env = LocalAirflow(home, dag_env={}).env()
    for name in ("jwt_secret", AUTH_MANAGER_FILE):
        assert (home / name).stat().st_mode & 0o777 == 0o600, name
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == (home / "jwt_secret").read_text()
    # One an older version left readable is narrowed, and keeps its secret (the running API server's).
    (home / "jwt_secret").chmod(0o644)
    assert LocalAirflow(home, dag_env={}).env()["AIRFLOW__API_AUTH__JWT_SECRET"] == env["AIRFLOW__API_AUTH__JWT_SECRET"]
    assert (home / "jwt_secret").stat().st_mode & 0o777 == 0o600


@pytest.fixture
def lookalike() -> Iterator[subprocess.Popen[bytes]]:
    """A process another program started that looks like an Airflow component: a process-group leader
    whose command line says airflow (what the old check took for ours)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)", "airflow", "scheduler"], start_new_session=True
    )
    yield proc
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


def _stop_strays_recorded(home: Path, rows: list[list[object]]) -> list[str]:
    home.mkdir(parents=True, exist_ok=True)
    (home / "components.json").write_text(json.dumps(rows))
    said: list[str] = []
    stop_strays(home, said.append)
    return said


def test_a_recorded_pid_that_is_another_process_now_is_never_stopped(
    tmp_path: Path, lookalike: subprocess.Popen[bytes]
) -> None:
    pid = lookalike.pid
    started = process_start(pid)
    assert started is not None
    # A record without a start time (an older version's): nothing proves the PID is still that process.
    said = _stop_strays_recorded(tmp_path / "a", [["scheduler", pid]])
    assert said == [f"Not stopping PID {pid} (recorded as Airflow scheduler): nothing says it is still that process."]
    # The same PID, started at another time: the recorded process exited and the PID was reused.
    assert _stop_strays_recorded(tmp_path / "b", [["scheduler", pid, f"{started}0"]]) == []
    time.sleep(0.2)
    assert lookalike.poll() is None, "a process that merely reused a recorded PID was killed"
    # The very process recorded (PID and start time): stopped.
    said = _stop_strays_recorded(tmp_path / "c", [["scheduler", pid, started]])
    assert said == [f"Stopping Airflow scheduler (PID {pid}) left running by an earlier tickit that was killed."]
    assert lookalike.wait(10) == -signal.SIGKILL


def test_a_start_time_names_one_process(lookalike: subprocess.Popen[bytes]) -> None:
    assert process_start(lookalike.pid) == process_start(lookalike.pid) != process_start(os.getpid())
    lookalike.kill()
    lookalike.wait(10)
    assert process_start(lookalike.pid) is None


def test_stop_returns_even_when_a_process_does_not_end(tmp_path: Path) -> None:
    """A recorded process SIGKILL does not reach (here: one that is not the leader of the session stop
    kills, as a process stuck in the kernel stays alive): stop names it and returns, within its bound."""
    airflow = LocalAirflow(tmp_path / "airflow", dag_env={})
    (tmp_path / "airflow").mkdir()
    survivor = subprocess.Popen(["sleep", "600"])  # in this session, not a session of its own
    said: list[str] = []
    airflow.say = said.append
    airflow.spawned.append(survivor)
    stopping = threading.Thread(target=airflow.stop, kwargs={"grace": 0.5}, daemon=True)
    try:
        began = time.monotonic()
        stopping.start()
        stopping.join(60)
        assert not stopping.is_alive(), "stop() waited for a process that does not end"
        assert time.monotonic() - began < 20
        assert len(said) == 1 and said[0].startswith(f"Airflow process(es) {survivor.pid} did not end within 10 s")
        # Still recorded, so the next start stops it if it is still that process then.
        assert [row[1] for row in json.loads((tmp_path / "airflow" / "components.json").read_text())] == [survivor.pid]
    finally:
        survivor.kill()
        survivor.wait(10)


def test_a_forked_components_exit_reads_as_a_popens_does() -> None:
    """Supervision tells a forked component's end (local/warm_airflow.py) as it tells a command's: killed by
    which signal, or its exit code; and waiting on it is bounded."""
    from tickit_platform.local.processes import ForkedProcess

    def forked(code: int | None) -> ForkedProcess:
        pid = os.fork()
        if pid == 0:
            if code is None:
                time.sleep(60)
            os._exit(code or 0)
        return ForkedProcess(pid)

    sleeper = forked(None)
    assert sleeper.poll() is None
    with pytest.raises(subprocess.TimeoutExpired):
        sleeper.wait(0.2)
    os.kill(sleeper.pid, signal.SIGKILL)
    assert sleeper.wait(5) == -signal.SIGKILL
    assert sleeper.poll() == -signal.SIGKILL  # read once, kept
    assert forked(3).wait(5) == 3


class _Triggerer(LocalAirflow):
    """A stand-in triggerer (a sleeping process in a session of its own) whose heartbeat the test sets."""

    beat: datetime | None = None

    @classmethod
    def started(cls, tmp_path: Path) -> tuple[Self, list[str]]:
        """One, started with a 1 s bound, and what it says."""
        airflow = cls(tmp_path / "airflow", dag_env={}, stuck_after=1.0, heartbeat_every=0.0)
        said: list[str] = []
        airflow.say = said.append
        airflow.logs_dir.mkdir(parents=True)
        airflow._spawn("triggerer", airflow.env())
        return airflow, said

    def command(self, name: str) -> list[str]:
        return [sys.executable, "-c", "import time; time.sleep(600)"]

    def heartbeat(self, name: str) -> datetime | None:
        return self.beat

    def supervise_for(self, seconds: float) -> None:
        """Supervise as a run does, a few times a second."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.supervise()
            time.sleep(0.25)


def test_a_live_triggerer_whose_heartbeat_stops_is_killed_and_restarted_once_then_stops_the_run(
    tmp_path: Path,
) -> None:
    airflow, said = _Triggerer.started(tmp_path)
    try:
        first = airflow.processes["triggerer"]
        # Heartbeats that keep coming: alive, however long it runs.
        for _ in range(4):
            airflow.beat = datetime.now(UTC)
            airflow.supervise_for(0.5)
        assert said == []
        os.kill(first.pid, signal.SIGSTOP)  # alive, but it does nothing any more
        airflow.supervise_for(1.5)
        # On a loaded machine a reading taken just before the stop can still fall in the last half bound: then the
        # process is first judged busy (said once), and stuck at the next look, once it showed no change.
        stuck = _without_spared(said, first.pid)
        assert len(stuck) == 1, said
        assert re.match(
            rf"Airflow triggerer \(PID {first.pid}\) is alive but has sent no heartbeat for [12] s: stuck \(process "
            rf"{first.pid} did not run for 0\.5 s\); killed "
            rf"it, restarting it\. Last lines of {re.escape(str(airflow.component_log('triggerer')))}:",
            stuck[0],
        ), said
        assert first.poll() == -signal.SIGKILL
        second = airflow.processes["triggerer"]
        assert second.pid != first.pid and second.poll() is None
        # The new process has not heartbeat yet (the last heartbeat is its predecessor's), then only as its
        # job started, which its first turn can follow by many seconds: it is starting, not stuck.
        airflow.supervise_for(1.5)
        airflow.beat = datetime.now(UTC)
        airflow.supervise_for(1.5)
        assert _without_spared(said, first.pid) == stuck and airflow.processes["triggerer"] is second
        assert not [line for line in said if str(second.pid) in line]
        # It runs (its heartbeat moved on), then its heartbeat stops too: killed, and the run stopped naming it.
        airflow.beat = datetime.now(UTC)
        with pytest.raises(ComponentDiedError) as stopped:
            airflow.supervise_for(3.0)
        assert re.match(
            rf"Airflow triggerer \(PID {second.pid}\) is alive but has sent no heartbeat for [12] s: stuck \(process "
            rf"{second.pid} did not run for 0\.5 s\) again, "
            r"after a restart; killed it, so the run was stopped\.",
            str(stopped.value),
        ), stopped.value
        assert second.poll() == -signal.SIGKILL
    finally:
        airflow.stop(grace=0.5)


def _without_spared(said: list[str], pid: int) -> list[str]:
    """What supervision said, less its one line that a silent process `pid` was left running because it ran."""
    spared = [line for line in said if f"(PID {pid}) has sent no heartbeat" in line and "keeps running" in line]
    assert len(spared) <= 1, said
    return [line for line in said if line not in spared]


class _BusyTriggerer(_Triggerer):
    """A stand-in triggerer that keeps a CPU busy, as one starved on a loaded machine keeps asking for one."""

    def command(self, name: str) -> list[str]:
        return [sys.executable, "-c", "while True: pass"]


@pytest.mark.skipif(not Path("/proc/self/schedstat").exists(), reason="Linux tells how long a process ran")
def test_a_silent_triggerer_that_keeps_running_is_spared_then_killed_past_the_busy_limit(tmp_path: Path) -> None:
    airflow, said = _BusyTriggerer.started(tmp_path)
    try:
        first = airflow.processes["triggerer"]
        airflow.beat = datetime.now(UTC)
        airflow.supervise_for(0.5)
        airflow.beat = datetime.now(UTC)
        # Silent past stuck_after, but running: said once, left running.
        airflow.supervise_for(2.5)
        assert len(said) == 1, said
        assert re.match(
            rf"Airflow triggerer \(PID {first.pid}\) has sent no heartbeat for \d s, but it keeps running on a busy "
            r"machine: left running unless it stays silent past 4 s\.$",
            said[0],
        ), said
        assert airflow.processes["triggerer"] is first and first.poll() is None
        # Silent past the busy limit: stuck all the same.
        airflow.supervise_for(2.5)
        assert len(said) == 2, said
        assert re.match(
            rf"Airflow triggerer \(PID {first.pid}\) is alive but has sent no heartbeat for [45] s: stuck", said[1]
        )
        assert first.poll() == -signal.SIGKILL
    finally:
        airflow.stop(grace=0.5)


# --- where there is no /proc (macOS): the same, through `ps`, forced here on Linux ----------------------------

FAMILY = """
import os, subprocess, sys, time
# A child that moves to a process group of its own, as Airflow's task processes do: still in the session.
subprocess.Popen([sys.executable, "-c", "import os, time; os.setpgid(0, 0); time.sleep(600)"])
time.sleep(600)
"""


@pytest.fixture
def family() -> Iterator[subprocess.Popen[bytes]]:
    """A session leader (as every component is) with a child in a process group of its own."""
    proc = subprocess.Popen([sys.executable, "-c", FAMILY], start_new_session=True)
    deadline = time.monotonic() + 30
    while len(processes.session_members({proc.pid}, "proc")) < 2:
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)
    yield proc
    for pid in processes.session_members({proc.pid}, "proc"):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    proc.wait(10)


def test_ps_lists_a_session_as_proc_does(family: subprocess.Popen[bytes]) -> None:
    members = processes.session_members({family.pid}, "ps")
    assert members == processes.session_members({family.pid}, "proc")
    assert len(members) == 2 and family.pid in members
    started = processes.process_start(family.pid, "ps")
    assert started is not None and started == processes.process_start(family.pid, "ps")
    assert processes.process_start(family.pid, "ps") != processes.process_start(os.getpid(), "ps")


def test_stop_strays_without_proc_stops_the_recorded_session_only(
    tmp_path: Path, family: subprocess.Popen[bytes], lookalike: subprocess.Popen[bytes]
) -> None:
    home = tmp_path / "airflow"
    home.mkdir()
    rows = [
        ["scheduler", family.pid, processes.process_start(family.pid, "ps")],
        # Another program's process now holds this PID: its start time differs.
        ["triggerer", lookalike.pid, "Thu Jan  1 00:00:00 1970"],
    ]
    (home / "components.json").write_text(json.dumps(rows))
    members = processes.session_members({family.pid}, "ps")
    said: list[str] = []
    stop_strays(home, said.append, listing="ps")
    assert said == [f"Stopping Airflow scheduler (PID {family.pid}) left running by an earlier tickit that was killed."]
    assert family.wait(10) == -signal.SIGKILL
    assert processes.session_members({family.pid}, "ps") == []
    # The child in its own process group too, checked the Linux way.
    assert not set(members) & {p.pid for p in processes.running_processes("proc")}
    time.sleep(0.2)
    assert lookalike.poll() is None, "a process that merely reused a recorded PID was killed"


def test_stop_without_proc_ends_every_process_of_its_components(
    tmp_path: Path, family: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(processes, "LISTING", "ps")
    (tmp_path / "airflow").mkdir()
    airflow = LocalAirflow(tmp_path / "airflow", dag_env={})
    airflow.spawned.append(family)
    members = processes.session_members({family.pid})
    assert len(members) == 2
    airflow.stop(grace=0.5)
    assert family.returncode is not None
    assert processes.session_members({family.pid}, "proc") == []  # checked the Linux way: nothing is left


def test_the_api_server_asks_for_its_execution_api_as_soon_as_it_listens(monkeypatch: pytest.MonkeyPatch) -> None:
    """A forked API server requests its own task-execution API once it listens (so that it is built while the
    other components start): here a server that starts listening only after the request was first tried."""
    import http.server

    from tickit_platform.local import warm_airflow

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    monkeypatch.setenv("AIRFLOW__API__BASE_URL", f"http://127.0.0.1:{port}/")
    warm_airflow.prepare(warm_airflow.API_SERVER)
    time.sleep(0.5)  # refused meanwhile: tried again
    server = http.server.HTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        deadline = time.monotonic() + 10
        while not asked and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # and once only
    finally:
        server.shutdown()
        server.server_close()
    assert asked == ["/execution/health"]
