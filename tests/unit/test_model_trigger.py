"""How often the model triggers of one run look at the shared build's results (tickit_runtime/model_trigger.py).

A look is in memory; a reading is a few requests to Airflow's API server. The article's 17 model tasks should
end a moment after dbt reported their model, and a thousand waiting tasks should cost no more than before.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tickit_runtime import model_trigger
from tickit_runtime.model_trigger import BRISKEST_LOOK, LOOKS_PER_SECOND_BUDGET, STALEST_READING, ModelTrigger


@pytest.fixture
def trigger() -> ModelTrigger:
    made = ModelTrigger("model.dbt_tickit.silver_users", "dbt_producer_watcher", poke_interval=3.0)
    made.task_instance = SimpleNamespace(  # type: ignore[assignment]
        dag_id="dbt_tickit_medallion_dag", run_id="manual__1", task_id="silver_users"
    )
    return made


def _with_triggers(count: int) -> None:
    model_trigger._runs.clear()
    watch = model_trigger._RunWatch()
    watch.triggers = count
    model_trigger._runs[("dbt_tickit_medallion_dag", "manual__1")] = watch


@pytest.mark.parametrize("waiting", [1, 17, 25])
def test_a_run_with_few_model_tasks_looks_four_times_a_second(trigger: ModelTrigger, waiting: int) -> None:
    _with_triggers(waiting)
    assert trigger._look_every() == BRISKEST_LOOK == 0.25


@pytest.mark.parametrize(
    ("waiting", "build_age", "stale_after"),
    [
        (17, 8.0, BRISKEST_LOOK),  # the article's DAG at scale 1: its build is read four times a second throughout
        (17, 30.0, 0.6),  # a longer build: less often as it lasts ...
        (17, 300.0, STALEST_READING),  # ... at scale 100 once a second
        (1000, 300.0, 1.5),  # a large run's slower looks set its pace: half a poke_interval, as before
    ],
)
def test_the_runs_reading_grows_staler_as_its_build_lasts(
    trigger: ModelTrigger, waiting: int, build_age: float, stale_after: float
) -> None:
    _with_triggers(waiting)
    watch = model_trigger._runs[("dbt_tickit_medallion_dag", "manual__1")]
    watch.since -= build_age
    assert trigger._stale_after(watch) == pytest.approx(stale_after, abs=0.01)


@pytest.mark.parametrize("waiting", [217, 1000, 3000])
def test_a_run_with_many_keeps_its_looks_to_the_budget_and_each_to_the_poke_interval(
    trigger: ModelTrigger, waiting: int
) -> None:
    _with_triggers(waiting)
    look = trigger._look_every()
    # Looks a second: within the budget, or, past it, no more than one per trigger per poke_interval.
    assert waiting / look <= max(LOOKS_PER_SECOND_BUDGET, waiting / trigger.poke_interval) + 1e-9
    assert look <= trigger.poke_interval
    # Past a run of 300 waiting tasks, exactly as before the brisk looks: once per poke_interval.
    if waiting >= trigger.poke_interval * LOOKS_PER_SECOND_BUDGET:
        assert look == trigger.poke_interval


def test_a_poke_interval_below_the_brisk_look_is_kept(trigger: ModelTrigger) -> None:
    _with_triggers(17)
    trigger.poke_interval = 0.1
    assert trigger._look_every() == 0.1
