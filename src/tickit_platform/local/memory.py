"""The peak memory of a whole run: `tickit`, Airflow's components and everything they started.

Summed as each process's proportional set size (PSS: a page shared by several processes counts a share in
each), so that the components forked from `tickit` (docs/decisions/027) and the task processes forked from
them are not counted once per process for the memory they share. Where PSS cannot be read, the resident size.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

KIB_PER_MIB = 1024
# Reading a process's PSS makes the kernel walk its page tables: with a DuckDB task holding a GiB or more, one
# sample of the run's tree took about 0.15 s of CPU, so sampling twice a second took 30% of a core (scale 100,
# two cores: the load and the build ran 1.45x slower than plain dbt beside it). The sampler waits at least this
# many times what its last sample cost, so that it never takes more than 2% of one core.
SAMPLE_COST_TIMES = 50


def descendants(pid: int) -> Iterator[int]:
    """A process and its live descendants, read from /proc (the process first)."""
    todo, seen = [pid], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            tasks = list(Path(f"/proc/{current}/task").iterdir())
            children = [int(c) for task in tasks for c in (task / "children").read_text().split()]
        except OSError:
            continue
        yield current
        todo.extend(children)


def process_kib(pid: int) -> int:
    """PSS of one process in KiB (its resident size where PSS is not readable); 0 once it is gone."""
    for name, field in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
        try:
            text = Path(f"/proc/{pid}/{name}").read_text()
        except OSError:
            continue
        for line in text.splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    return 0


def tree_mib(roots: Iterable[int]) -> float:
    """Memory of the processes `roots` and all their descendants, each counted once."""
    pids: set[int] = set()
    for root in roots:
        pids.update(descendants(root))
    return sum(process_kib(pid) for pid in pids) / KIB_PER_MIB


class PeakMemory:
    """While in use, samples the memory of `roots()` and their descendants every `every` seconds in a thread, or
    less often when a sample costs more than 1/SAMPLE_COST_TIMES of it in CPU; `mib` is the largest sum seen.
    `roots` is asked each time: a restarted component has a new PID."""

    def __init__(self, roots: Callable[[], Iterable[int]], every: float = 0.5) -> None:
        self.roots, self.every, self.mib = roots, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def sample(self) -> None:
        self.mib = max(self.mib, tree_mib(self.roots()))

    def _run(self) -> None:
        while True:
            started = time.thread_time()
            self.sample()
            if self._stop.wait(max(self.every, SAMPLE_COST_TIMES * (time.thread_time() - started))):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def own_process() -> int:
    return os.getpid()
