"""The run's peak-memory sampler keeps its own cost small: a sample that costs CPU spaces out the next one."""

from __future__ import annotations

import os
import time

from tickit_platform.local import memory


def _sampled_while(cpu_per_sample: float, seconds: float) -> int:
    calls = 0

    def roots() -> list[int]:
        nonlocal calls
        calls += 1
        spent = time.thread_time()
        while time.thread_time() - spent < cpu_per_sample:  # what reading a large process's PSS costs
            pass
        # No process: reading this test's own PSS would cost what the machine's load makes it cost.
        return []

    with memory.PeakMemory(roots, every=0.1):
        time.sleep(seconds)
    return calls - 1  # the last sample, taken on leaving


def test_the_peak_is_the_largest_sum_seen_of_the_processes_named() -> None:
    with memory.PeakMemory(lambda: [os.getpid()], every=0.1) as peak:
        time.sleep(0.3)
    assert peak.mib > 0


def test_cheap_samples_come_at_the_interval_asked() -> None:
    assert _sampled_while(0.0, 2.0) >= 5  # ten a second: 20, on a loaded machine fewer


def test_a_sample_that_costs_cpu_spaces_out_the_next_so_the_sampler_stays_under_two_percent_of_a_core() -> None:
    # 20 ms of CPU per sample: ten a second would be a fifth of a core; waiting 50 times the cost, one a second.
    assert _sampled_while(0.02, 1.5) <= 3
