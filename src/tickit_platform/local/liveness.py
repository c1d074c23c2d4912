"""Whether a component that is alive still works, judged from the heartbeat Airflow records for it.

A process that is stopped, deadlocked or blocked forever is still running, so `poll()` never tells
supervision about it (local/airflow.py). Airflow's jobs write a heartbeat to the metadata database every
few seconds, and the API server's health endpoint reports the latest one per component: a heartbeat that
stops advancing while the process lives means the process is stuck.
"""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime

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
    spawned: float = field(default_factory=time.monotonic)
    _seen: datetime | None = None
    _running: bool = False
    _last_read: float | None = None

    def silence(self, heartbeat: datetime | None, now: float | None = None) -> float | None:
        """Seconds the process has been silent when that means it is stuck, else None."""
        now = time.time() if now is None else now
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
        return age if age > self.stale_after else None
