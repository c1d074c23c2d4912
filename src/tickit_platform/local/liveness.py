"""Whether a component that is alive still works, judged from the heartbeat Airflow records for it.

A process that is stopped, deadlocked or blocked forever is still running, so `poll()` never tells
supervision about it (local/airflow.py). Airflow's jobs write a heartbeat to the metadata database every
few seconds, and the API server's health endpoint reports the latest one per component: a heartbeat that
stops advancing while the process lives means the process is stuck.

Unless the machine is only too busy for it: a triggerer starved of CPU (two cores running two Airflows) also
goes silent, and killing it costs the run its triggers' progress. Where Linux tells how long each process ran
or waited for a CPU (/proc/<pid>/schedstat), a silent component whose every process kept running or asking
to run is left alone up to a longer bound; a stopped or deadlocked one neither runs nor asks.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import deque
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tickit_platform.local.processes import session_members

HEALTH_PATH = "/api/v2/monitor/health"
# Where the health endpoint puts each watched component's latest heartbeat (`section.key`).
HEARTBEAT_FIELDS = {"triggerer": ("triggerer", "latest_triggerer_heartbeat")}


def latest_heartbeat(api_url: str, component: str, timeout: float = 2.0) -> datetime | None:
    """The latest heartbeat Airflow records for a component (None: none yet).

    Raises OSError when the API server does not answer (it may be restarting) and ValueError when its
    answer cannot be read: no reading, so no verdict.
    """
    section, key = HEARTBEAT_FIELDS[component]
    with urllib.request.urlopen(f"{api_url}{HEALTH_PATH}", timeout=timeout) as resp:
        body = json.load(resp)
    # A database it could not read reports no heartbeat at all: that says nothing of the component.
    if (body.get("metadatabase") or {}).get("status") != "healthy":
        raise ValueError("Airflow's metadata database did not answer the health check")
    value = (body.get(section) or {}).get(key)
    if not value:
        return None
    heartbeat = datetime.fromisoformat(value)
    return heartbeat if heartbeat.tzinfo else heartbeat.replace(tzinfo=UTC)


def session_activity(leader: int) -> dict[int, tuple[tuple[int, int], ...]] | None:
    """Per process of a component's session, each of its threads with the nanoseconds it has run on a CPU or
    waited in a run queue for one (Linux's schedstat); None where the system does not tell (no /proc: macOS).
    A process whose reading has not changed at all neither ran nor asked to run in between.

    Every thread counts: a triggerer's main loop waits, asleep, on the thread that serves its in-process
    execution API, which works meanwhile (seen: the main thread idle 8 s on a busy machine, the process not).
    """
    if not Path("/proc/self/schedstat").exists():
        return None
    found = {}
    for pid in session_members({leader}, "proc"):
        try:
            threads = {
                int(task.name): (task / "schedstat").read_text().split() for task in Path(f"/proc/{pid}/task").iterdir()
            }
        except OSError:
            continue  # ended since it was listed (or one of its threads did)
        found[pid] = tuple(sorted((tid, int(ran) + int(waited)) for tid, (ran, waited, *_) in threads.items()))
    return found


@dataclass
class HeartbeatWatch:
    """How long one process of a component has gone without a heartbeat, from the readings it is shown."""

    # Seconds without a new heartbeat that mean the process is stuck.
    stale_after: float
    # Seconds a new process may take until its heartbeat first moves on.
    startup_grace: float
    # When the process started (epoch seconds): an older heartbeat is a predecessor's. None: unknown (a
    # process this command adopted, running for a while), so any heartbeat is its own.
    since: float | None
    # Seconds a silent component may go on while every process of it runs or waits for a CPU (session_activity):
    # past them it is stuck all the same (a loop that never ends). Unbounded: the activity is not looked at.
    busy_limit: float = float("inf")
    spawned: float = field(default_factory=time.monotonic)
    # The silence (seconds) the last verdict forgave a component because it kept running (a busy machine).
    spared: float | None = None
    # Whether supervision said so (once per process: a watch is one process's).
    spared_said: bool = False
    # The processes that neither ran nor waited for a CPU over half `stale_after`, when the last verdict read
    # them: what made it stuck.
    still: list[int] = field(default_factory=list)
    _seen: datetime | None = None
    _running: bool = False
    _last_read: float | None = None
    _activity: deque[tuple[float, Mapping[int, Hashable]]] = field(default_factory=deque)

    def silence(
        self, heartbeat: datetime | None, now: float | None = None, activity: Mapping[int, Hashable] | None = None
    ) -> float | None:
        """Seconds the process has been silent when that means it is stuck, else None.

        `activity`: session_activity of the component's processes read now (None: not known), compared with a
        reading from at least half of `stale_after` earlier.
        """
        now = time.time() if now is None else now
        self.spared, self.still = None, []
        if activity is not None:
            self._remember(now, activity)
        unwatched = self._last_read is not None and now - self._last_read > self.stale_after
        self._last_read = now
        if heartbeat is not None and self.since is not None and heartbeat.timestamp() < self.since:
            heartbeat = None
        if heartbeat is not None and (heartbeat != self._seen or unwatched):
            # A job's first heartbeat is written as it starts, before its loop's first turn, which can take
            # many seconds (a restarted triggerer takes over every waiting trigger at once): a new process
            # runs once its heartbeat moved on from that one. And one reading is never enough: after a
            # pause of this process (a laptop's sleep) the latest heartbeat is old for a moment.
            self._running = self._running or self._seen is not None or self.since is None
            self._seen = heartbeat
            return None
        if not self._running or heartbeat is None:
            waited = time.monotonic() - self.spawned
            return waited if waited > self.startup_grace else None
        age = now - heartbeat.timestamp()
        if age <= self.stale_after:
            return None
        if age <= self.busy_limit and activity is not None:
            self.still = self._still(now, activity)
            if not self.still:
                self.spared = age
                return None
        return age

    def _remember(self, now: float, activity: Mapping[int, Hashable]) -> None:
        """Keep the readings of the last half `stale_after`, and the latest one older than that."""
        self._activity.append((now, activity))
        while len(self._activity) > 1 and self._activity[1][0] <= now - self.stale_after / 2:
            self._activity.popleft()

    def _still(self, now: float, activity: Mapping[int, Hashable]) -> list[int]:
        """The processes read both now and half `stale_after` ago that neither ran nor waited for a CPU in
        between ([0]: none read twice). Too few readings yet (a watch just begun) find none: the verdict waits."""
        then, before = self._activity[0]
        if then > now - self.stale_after / 2:
            return []
        common = before.keys() & activity.keys()
        return sorted(pid for pid in common if activity[pid] == before[pid]) if common else [0]
