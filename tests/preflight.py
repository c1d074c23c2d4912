"""Before the tests: the machine's own services and programs the tests need, each named with how to get it.

Everything the package registries carry comes through the locked environment (.venv). What they cannot
carry is checked here, so a missing server is one line saying what to start, not a traceback in the middle
of a test. Locally the tests that need a missing one are skipped (and this says which); in CI (CI=true)
nothing may be skipped, so a missing one stops the run here.

    python -m tests.preflight        exit 0 when all are there (or not in CI), 1 in CI when one is missing
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from tests.support import IN_CI, PG

from tickit_platform.deploy.rehearsal import RehearsalError
from tickit_platform.deploy.rehearsal.runtime import find_python


@dataclass(frozen=True)
class Need:
    name: str
    used_by: str
    how: str
    check: Callable[[], str | None]  # None when present, else what is wrong


def _postgres() -> str | None:
    if shutil.which("psql") is None:
        return "psql is not on PATH"
    done = subprocess.run(
        ["psql", "-h", PG["host"], "-p", PG["port"], "-U", PG["user"], "-d", "postgres", "-Atc", "select 1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=20,
    )
    if done.returncode != 0:
        first = (done.stderr.strip().splitlines() or ["no answer"])[0]
        return f"no answer at {PG['host']}:{PG['port']} as user {PG['user']} ({first})"
    return None


def _redis() -> str | None:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=3) as conn:
            conn.sendall(b"PING\r\n")
            if not conn.recv(16).startswith(b"+PONG"):
                return "127.0.0.1:6379 does not answer PING"
    except OSError as err:
        return f"nothing answers on 127.0.0.1:6379 ({err.strerror or err})"
    return None


def _chromium() -> str | None:
    return None if shutil.which("chromium") else "chromium is not on PATH"


def _python312() -> str | None:
    try:
        find_python("3.12")
    except RehearsalError:
        return "no python3.12 on PATH or in pyenv's versions"
    return None


NEEDS = (
    Need(
        "PostgreSQL 13+ (trust auth for user postgres on 127.0.0.1:5432)",
        "the postgres target, the rehearsal, the Redshift stand-in tests",
        "Debian/Ubuntu: apt-get install -y postgresql && pg_ctlcluster $(ls /etc/postgresql) main start "
        "(then allow trust for 127.0.0.1 in pg_hba.conf)",
        _postgres,
    ),
    Need(
        "Redis on 127.0.0.1:6379",
        "the MWAA rehearsal (Celery's broker)",
        "Debian/Ubuntu: apt-get install -y redis-server && redis-server --daemonize yes --port 6379",
        _redis,
    ),
    Need(
        "Chromium",
        "the browser tests of the Airflow UI and the report",
        "Debian/Ubuntu: apt-get install -y chromium chromium-driver",
        _chromium,
    ),
    Need(
        "Python 3.12",
        "the MWAA rehearsal (MWAA's Python)",
        "pyenv install 3.12 (or your system's python3.12 and python3.12-venv packages)",
        _python312,
    ),
)


def main() -> int:
    missing = [(need, problem) for need in NEEDS if (problem := need.check()) is not None]
    for need, problem in missing:
        print(f"test: {need.name} is missing: {problem}.", file=sys.stderr)
        print(f"      needed by {need.used_by}; to get it: {need.how}", file=sys.stderr)
    if missing and IN_CI:
        print("test: CI runs every test, so it stops here; install or start the above and rerun.", file=sys.stderr)
        return 1
    if missing:
        print("test: the tests that need them will be skipped (listed at the end as SKIPPED).", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
