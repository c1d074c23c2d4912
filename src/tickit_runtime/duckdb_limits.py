"""DuckDB's memory and threads for the local warehouse, derived from the machine unless set.

Unbounded, DuckDB takes up to 80% of the machine's memory for itself in every dbt process, beside Airflow's
components: at scale 100 a `tickit run` peaked at 3 GiB. Bounded, DuckDB spills what does not fit to the
home's temp folder instead (docs/decisions/036-the-article-dag-at-the-cost-of-one-build.md, 043).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from tickit_runtime import envvars
from tickit_runtime.errors import SettingsError

MIB = 1024 * 1024
# DuckDB spills past its bound, so the bound sets how fast large data builds more than whether it does. 384 MiB
# keeps a whole `tickit run` within 2 GiB at scale 100 (17 M sales) beside Airflow's components, 1.2 GiB of it at
# any scale. Within 512 MiB the run peaked over 2 GiB; within 256 MiB a warm run's gold tests, four at once,
# and the summary ran out of memory (docs/decisions/043-a-run-within-2-gib.md). On a machine under 3 GiB, an
# eighth of it. A raw file that is not plain (CR-LF, Latin-1) is still read whole (decision 042): it needs a
# bound well above twice its size.
DEFAULT_MIB = 384
SHARE_OF_MEMORY = 8
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|TB|KIB|MIB|GIB|TIB)\s*$", re.IGNORECASE)


def machine_memory_mib() -> int:
    """The machine's physical memory, in MiB."""
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // MIB)


def machine_cores() -> int:
    """The cores this process may run on (a container's or `taskset`'s share, not the whole machine's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def default_memory_limit() -> str:
    return f"{min(DEFAULT_MIB, machine_memory_mib() // SHARE_OF_MEMORY)}MiB"


def memory_limit(env: Mapping[str, str]) -> str:
    """The setting's value when given (checked: a size DuckDB reads), the machine's share otherwise."""
    given = envvars.text(env, envvars.DUCKDB_MEMORY_LIMIT)
    if given is None:
        return default_memory_limit()
    if not _SIZE.match(given):
        raise SettingsError(
            f"{envvars.DUCKDB_MEMORY_LIMIT}={given!r} is not a size DuckDB reads: write it like 1GB or 512MB."
        )
    return given.strip().replace(" ", "")


def threads(env: Mapping[str, str]) -> int:
    return envvars.whole_number(env, envvars.DUCKDB_THREADS, machine_cores(), minimum=1)
