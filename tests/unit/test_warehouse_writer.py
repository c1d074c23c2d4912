"""The end of a run waits for a task's exiting process to let go of the DuckDB file, and for that one only."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import duckdb

from tickit_platform.warehouse.availability import wait_for_writer_to_let_go

# A writer holding the file for `argv[2]` seconds, as a task's process does until it exits.
HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
"""


def _holding(path: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
    return proc


def test_a_writer_that_exits_is_waited_for_and_one_that_does_not_is_not_waited_for_beyond_the_bound(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tickit.duckdb"
    duckdb.connect(str(path)).close()
    assert wait_for_writer_to_let_go(path, timeout=0.0)  # nobody writes: at once

    exiting = _holding(path, 1.5)
    started = time.monotonic()
    assert wait_for_writer_to_let_go(path, timeout=30.0)
    assert 0.5 < time.monotonic() - started < 20.0
    exiting.wait(10)
    duckdb.connect(str(path), read_only=True).close()  # free indeed

    stays = _holding(path, 60)
    try:
        started = time.monotonic()
        assert not wait_for_writer_to_let_go(path, timeout=1.0)
        assert time.monotonic() - started < 10.0
    finally:
        stays.kill()
        stays.wait(10)
    # A file that does not exist yet has no writer.
    assert wait_for_writer_to_let_go(tmp_path / "none.duckdb", timeout=0.0)
