"""Is the warehouse usable before anything starts? A held, foreign or unwritable file is named at once.

DuckDB allows one writer per file, and a DuckDB shell or a BI tool holding `tickit.duckdb` is the most
ordinary situation for its users. Found at the end of a run, it costs the user a minute of retries and a
run of upstream_failed tasks; found here, it costs a one-line message with the holder's PID.
"""

from __future__ import annotations

import contextlib
import re
import time
import uuid
from pathlib import Path

import duckdb

from tickit_runtime import envvars
from tickit_runtime.errors import TickitError

_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")


class WarehouseUnavailableError(TickitError):
    """The warehouse file is held by another program, is not a DuckDB database, or cannot be written."""


def check_warehouse(path: Path, *, write: bool) -> None:
    """Open the DuckDB file as the command will (read-write or read-only) and close it at once."""
    if not path.exists():
        return  # the load creates it
    try:
        duckdb.connect(str(path), read_only=not write).close()
    except duckdb.IOException as err:
        if holder := _holder(err):
            raise WarehouseUnavailableError(
                f"the warehouse {path} is in use by {holder['program']} (PID {holder['pid']}); close that program "
                f"(or its connection to the file) and run again."
            ) from None
        if "not a valid DuckDB database" in str(err):
            raise WarehouseUnavailableError(
                f"{path} is not a DuckDB database; move it away (it is rebuilt by `tickit run`), or point "
                f"{envvars.HOME} elsewhere."
            ) from None
        raise WarehouseUnavailableError(f"the warehouse {path} cannot be opened: {err}") from None


def wait_for_writer_to_let_go(path: Path, timeout: float) -> bool:
    """Wait until the program writing to the DuckDB file now lets go of it (a read-only open succeeds), for
    `timeout` seconds at most; whether it did. A task's process lets go of the file as it exits, which can be
    seconds after Airflow recorded the task's end and so the run's. Only the writer found first is waited
    for: another that takes the file after it (the next run's first task) is not."""
    deadline = time.monotonic() + timeout
    first: str | None = None
    while path.exists():
        try:
            duckdb.connect(str(path), read_only=True).close()
            break
        except duckdb.IOException as err:
            holder = _holder(err)
            if holder is None or time.monotonic() >= deadline:
                return False
            first = first or holder["pid"]
            if holder["pid"] != first:
                return False
        time.sleep(0.2)
    return True


def _holder(err: duckdb.IOException) -> re.Match[str] | None:
    """The program and PID holding a DuckDB file, from the error a refused open raised (None: another error)."""
    return _HOLDER.search(str(err))


def check_writable(folder: Path) -> None:
    """TICKIT_HOME must take files: a read-only or full disk is said here, naming the folder."""
    probe = folder / f".tickit-write-probe-{uuid.uuid4().hex}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with probe.open("wb") as handle:
            handle.write(b"\0" * 65536)  # room for a little more than nothing
    except OSError as err:
        raise WarehouseUnavailableError(
            f"cannot write under {folder} ({err.strerror or err}); free some space or choose a writable folder "
            f"with --home or {envvars.HOME}."
        ) from None
    finally:
        with contextlib.suppress(OSError):
            probe.unlink()
