"""The DuckDB warehouse's writer lock: a task waits for it a bounded time, then fails naming who holds it.
The holder is another real process, as another task of the DAG would be."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tickit_runtime.model_task import WriterLockTimeout, writer_lock

HOLDER = "task silver_users (try 1) of run manual__2026"


def test_a_lock_held_too_long_fails_the_waiting_task_naming_its_holder(tmp_path: Path) -> None:
    lock = tmp_path / "warehouse.duckdb.lock"
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from tickit_runtime.model_task import writer_lock\n"
        f"with writer_lock(Path({str(lock)!r}), 5, {HOLDER!r}):\n"
        "    print('held', flush=True)\n"
        "    time.sleep(600)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None
        # Airflow may print its own warnings first.
        assert "held" in (line.strip() for line in holder.stdout), "the holder never took the lock"
        began = time.monotonic()
        with pytest.raises(WriterLockTimeout) as caught, writer_lock(lock, timeout=1.0, holder="task freshness"):
            pytest.fail("the lock was taken while another process held it")
        waited = time.monotonic() - began
        assert 1.0 <= waited < 5.0
        assert str(caught.value).startswith(
            f"the DuckDB warehouse's writer lock ({lock}) was still held after 1 s, by {HOLDER} (PID {holder.pid} on "
        )
    finally:
        holder.kill()
        holder.wait(10)
    # Its holder gone, the lock is free again at once, and held in turn.
    with writer_lock(lock, timeout=1.0, holder="task freshness"):
        assert lock.read_text().startswith("task freshness (PID ")
    assert lock.read_text() == ""
