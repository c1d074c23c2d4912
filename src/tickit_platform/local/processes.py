"""The processes of a local Airflow's components: recorded, found again, stopped, and the errors they end in.

Every component runs in a session (process group) of its own, so that stopping it ends what it started
too, and is recorded in a state file (components.json) with its start time, so that a later start or
`tickit down` stops exactly those processes, never another that reused a PID. What the components are
and how they start is local/airflow.py's: nothing here runs an Airflow command.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from tickit_runtime.errors import TickitError


class AirflowStartError(TickitError):
    """A component did not come up; the message names its log file."""


class ComponentDiedError(TickitError):
    """A component exited during a run and again after its one restart; the message says which and why."""


# Where an installation lists its running processes (in AIRFLOW_HOME), for a later start to find.
STATE_FILE = "components.json"
# How the running processes are listed: Linux's /proc, or `ps` where there is none (macOS). "auto" picks /proc
# when it is there; the tests force "ps" to run the other way on Linux, against real processes.
Listing = Literal["auto", "proc", "ps"]
LISTING: Listing = "auto"

# The exit "code" of a component this process did not start (a resident one, local/resident.py): it is not
# our child, so its real exit status is not ours to read.
GONE = -(1 << 16)


class Process(Protocol):
    """What supervision needs of a component: a `subprocess.Popen`, one forked from this process, or a
    resident one adopted by PID."""

    @property
    def pid(self) -> int: ...

    def poll(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


@dataclass
class AdoptedProcess:
    """A component an earlier `tickit up` started: not this process's child, so it is watched by its PID and
    start time (/proc, or `ps` where there is none)."""

    pid: int
    # When it started (process_start): a PID alone may name another process since.
    started: str | None
    returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not _is_ours(self.pid, self.started):
            self.returncode = GONE
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"PID {self.pid}", timeout or 0.0)
            time.sleep(0.05)
        return code


@dataclass
class ForkedProcess:
    """A component forked from this process (local/warm_airflow.py): our child, so its exit status is ours
    to read, as a `subprocess.Popen`'s is (a negative code names the signal that killed it)."""

    pid: int
    returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped elsewhere: ended, its status unknown
                self.returncode = GONE
                return self.returncode
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(f"PID {self.pid}", timeout or 0.0)
            time.sleep(0.05)
        return code


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_strays(
    airflow_home: Path,
    say: Callable[[str], None],
    state_file: str = STATE_FILE,
    why: str = "left running by an earlier tickit that was killed",
    listing: Listing | None = None,
) -> None:
    """Stop what an earlier `tickit` left running under this AIRFLOW_HOME (it was killed, no cleanup)."""
    state = airflow_home / state_file
    if not state.exists():
        return
    ours = set()
    for name, pid, started in recorded_components(airflow_home, state_file):
        if started is None and process_start(pid, listing) is not None:
            # Recorded without its start time (by an older version): it may be another program's PID by now.
            say(f"Not stopping PID {pid} (recorded as Airflow {name}): nothing says it is still that process.")
        elif _is_ours(pid, started, listing):
            say(f"Stopping Airflow {name} (PID {pid}) {why}.")
            ours.add(pid)
    kill_sessions(ours, listing=listing)
    state.unlink(missing_ok=True)


def recorded_components(airflow_home: Path, state_file: str = STATE_FILE) -> list[tuple[str, int, str | None]]:
    """(name, PID, start time) of every process `LocalAirflow.record` listed in this state file (the start
    time None where the record has none); none if it is unreadable."""
    try:
        recorded = json.loads((airflow_home / state_file).read_text())
        return [(str(row[0]), int(row[1]), str(row[2]) if row[2:3] and row[2] else None) for row in recorded]
    except (OSError, ValueError, TypeError, IndexError):
        return []


def _is_ours(pid: int, started: str | None, listing: Listing | None = None) -> bool:
    """Is this PID still the process recorded with this start time, and running? A PID is reused (after it
    exits, or a reboot); a PID together with its start time names one process for good."""
    if started is None or process_start(pid, listing) != started:
        return False
    # A zombie holds nothing.
    if _listing(listing) == "proc":
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return False
    try:
        state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return True  # the start time matched; better stop a process that ended than leave one running
    return state.returncode == 0 and not state.stdout.strip().startswith("Z")


def _listing(listing: Listing | None) -> Literal["proc", "ps"]:
    chosen = LISTING if listing is None else listing
    if chosen == "auto":
        return "proc" if Path("/proc/self/stat").exists() else "ps"
    return chosen


@dataclass(frozen=True)
class RunningProcess:
    pid: int
    session: int | None  # None: the system would not say (see running_processes)
    group: int
    parent: int


def running_processes(listing: Listing | None = None) -> list[RunningProcess]:
    """Every process running now, zombies (which hold nothing) left out.

    With /proc, each process's session comes from its stat file. With `ps` (macOS has no /proc), `ps` lists
    the processes and os.getsid asks each one's session, since `ps -o sess` prints a kernel address on macOS;
    where the system refuses to tell a process's session, it is None and `session_members` falls back on the
    process group and the parent.
    """
    if _listing(listing) == "proc":
        found = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            try:
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != "Z":
                found.append(RunningProcess(int(proc.name), int(fields[3]), int(fields[2]), int(fields[1])))
        return found
    try:
        listed = subprocess.run(
            ["ps", "-A", "-o", "pid=", "-o", "ppid=", "-o", "pgid=", "-o", "stat="],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError) as err:
        raise TickitError(
            f"cannot list the running processes: there is no /proc and `ps -A -o pid=,ppid=,pgid=,stat=` failed "
            f"({err}); stop the Airflow processes listed in its components.json by hand"
        ) from None
    found = []
    for line in listed.splitlines():
        columns = line.split()
        if len(columns) < 4 or not columns[0].isdigit() or columns[3].startswith("Z"):
            continue
        pid = int(columns[0])
        try:
            session: int | None = os.getsid(pid)
        except ProcessLookupError:
            continue  # ended since ps listed it
        except PermissionError:
            session = None
        found.append(RunningProcess(pid, session, int(columns[2]), int(columns[1])))
    return found


def process_start(pid: int, listing: Listing | None = None) -> str | None:
    """When this process started, as the system records it; None when no such process exists.

    Linux: field 22 of /proc/<pid>/stat (clock ticks after boot) with the boot's id, since the same tick
    comes again after a reboot. Elsewhere (macOS): what `ps -o lstart=` prints.
    """
    if _listing(listing) == "proc":
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        except (OSError, IndexError):
            return None
        # The fields after the command's ")" start at field 3: field 22 is the 20th of them.
        return f"{boot}:{fields[19]}" if len(fields) > 19 else None
    try:
        result = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() or None if result.returncode == 0 else None


def session_members(sessions: set[int], listing: Listing | None = None) -> list[int]:
    """The processes still running in these sessions (zombies, which hold nothing, aside).

    Each component is started in a session of its own (its PID is the session id), and everything it
    starts stays in it, a task process that moved to a process group of its own included. A process whose
    session the system would not tell counts when its process group is one of them or its parent is a member.
    """
    running = running_processes(listing)
    members = {p.pid for p in running if p.session in sessions}
    unknown = [p for p in running if p.session is None]
    grew = True
    while grew:  # parents before children, however ps ordered them
        grew = False
        for p in unknown:
            if p.pid not in members and (p.group in sessions or p.parent in members):
                members.add(p.pid)
                grew = True
    return sorted(members)


def kill_sessions(sessions: set[int], timeout: float = 5.0, listing: Listing | None = None) -> None:
    """SIGKILL everything in these sessions, and return once nothing of them runs (ports, files released)."""
    deadline = time.monotonic() + timeout
    while (members := session_members(sessions, listing)) and time.monotonic() < deadline:
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.05)


def signal_group(proc: Process, sig: signal.Signals) -> None:
    if proc.poll() is not None and sig == signal.SIGTERM:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
