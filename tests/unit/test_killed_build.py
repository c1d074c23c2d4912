"""What the producer's retry builds after a shared build killed outright (tickit_runtime/killed_build.py).

The retry itself runs under the real scheduler in tests/integration/test_faults.py; here, which models it
selects from the model tasks' states, and how a publication says which try made it.
"""

from __future__ import annotations

from tickit_runtime.build_results import RESULTS_KEY, ResultsPublisher, count_of, try_of
from tickit_runtime.killed_build import models_left, selection


def test_the_models_whose_tasks_have_not_ended_are_built_and_none_after_a_failed_one() -> None:
    states = {
        "bronze_users": "success",
        "silver_users": "deferred",  # waiting in the triggerer for the killed build
        "silver_venue": "up_for_retry",  # its tests failed in the killed build: built again, its retry sees it
        "silver_sales": "failed",  # failed for good: neither it nor what reads it
        "gold_sales_by_event": None,  # not started: its upstream tasks had not ended
        "gold_user_activity": "upstream_failed",
        "extra_0001": "skipped",
    }
    left, failed = models_left(states)
    assert left == ["gold_sales_by_event", "silver_users", "silver_venue"]
    assert failed == ["gold_user_activity", "silver_sales"]
    assert selection(left, failed) == [
        "--select", "gold_sales_by_event", "silver_users", "silver_venue",
        "--exclude", "gold_user_activity+", "silver_sales+",
    ]  # fmt: skip
    assert selection(["silver_users"], []) == ["--select", "silver_users"]


class _Retry:
    """The producer's task instance on its second try (only xcom_push and try_number are read)."""

    dag_id = "dbt_tickit_medallion_dag"
    try_number = 2
    _cosmos_xcom_backup_buffer: dict[str, object] = {}  # noqa: RUF012 - Cosmos' copy, empty at a try's start

    def __init__(self) -> None:
        self.pushed: list[tuple[str, object]] = []

    def xcom_push(self, key: str, value: object) -> None:
        self.pushed.append((key, value))


def test_a_retrys_publication_says_which_try_made_it() -> None:
    ti = _Retry()
    ResultsPublisher(ti, interval=3600).publish()
    [(key, index)] = ti.pushed
    assert key == RESULTS_KEY
    assert (count_of(index), try_of(index)) == (0, 2)
    assert try_of(None) is None
