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
        return [os.getpid()]

    with memory.PeakMemory(roots, every=0.1) as peak:
        time.sleep(seconds)
    assert peak.mib > 0
    return calls - 1  # the last sample, taken on leaving


def test_cheap_samples_come_at_the_interval_asked() -> None:
    assert _sampled_while(0.0, 1.0) >= 5  # ten a second, on a loaded machine fewer


def test_a_sample_that_costs_cpu_spaces_out_the_next_so_the_sampler_stays_under_two_percent_of_a_core() -> None:
    # 20 ms of CPU per sample: ten a second would be a fifth of a core; waiting 50 times the cost, one a second.
    assert _sampled_while(0.02, 1.5) <= 3
