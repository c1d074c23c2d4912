"""How often the producer reads the load's state while it waits (tickit_runtime/build_start.py, decision 044).

Each reading is a request to Airflow's API server, on the same two cores as the load it waits for. The loop runs
here as it does in the producer, on a simulated clock: only `time` and the state reading are replaced.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest

from tickit_runtime import build_start
from tickit_runtime.build_start import BuildStart


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def _wait(monkeypatch: pytest.MonkeyPatch, load_seconds: float, end_state: str = "success") -> tuple[int, float]:
    """Wait for a load that ends `end_state` after `load_seconds`: (readings taken, seconds waited)."""
    clock = Clock()
    monkeypatch.setattr(build_start, "time", clock)
    readings = []

    def load_state(self: BuildStart, ti: object) -> str:
        readings.append(clock.now)
        return end_state if clock.now >= load_seconds else "running"

    monkeypatch.setattr(BuildStart, "_load_state", load_state)
    start = BuildStart("load_raw", "/p", "/p", "dbt_tickit", "local", in_process=False)
    ti = SimpleNamespace(task=SimpleNamespace(execution_timeout=timedelta(hours=2)), dag_id="d", run_id="r")
    start.wait_for_load({"ti": ti})
    return len(readings), clock.now


def test_a_short_load_is_seen_to_end_within_a_fifth_of_a_second(monkeypatch: pytest.MonkeyPatch) -> None:
    # The article's DAG at scale 1: its load takes a few seconds, and the build's start is on its critical path.
    readings, waited = _wait(monkeypatch, load_seconds=4.0)
    assert 4.0 <= waited <= 4.2 + 1e-9
    assert readings == pytest.approx(4.0 / 0.2 + 1, abs=1)


def test_a_long_load_is_read_about_once_a_second_and_its_end_seen_within_one(monkeypatch: pytest.MonkeyPatch) -> None:
    # Scale 100: the load takes about 4.5 minutes. Five readings a second would be 1,350 requests; growing from
    # 0.2 s to 1 s between 10 and 50 s in, about 350.
    readings, waited = _wait(monkeypatch, load_seconds=270.0)
    assert 270.0 <= waited <= 271.0 + 1e-9
    assert readings < 400


def test_a_failed_load_still_ends_the_wait_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    from cosmos.airflow.compatibility import AirflowSkipException

    with pytest.raises(AirflowSkipException, match="load_raw ended failed"):
        _wait(monkeypatch, load_seconds=120.0, end_state="failed")
