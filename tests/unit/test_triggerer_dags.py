"""The triggerer deserializes a model task's DAG once, not once per waiting model task.

These replace private parts of Airflow (orchestration/triggerer_dags.py, local/warm_airflow.py); the tests
run them against the installed Airflow, so a release that moves what they rely on fails here first.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import sys
import time
from typing import Any

import pytest
from airflow.callbacks.callback_requests import TaskCallbackRequest
from airflow.jobs import triggerer_job_runner
from airflow.sdk import DAG
from airflow.sdk.bases.operator import BaseOperator
from airflow.serialization.serialized_objects import DagSerialization

from tickit_platform.local import warm_airflow
from tickit_platform.orchestration import triggerer_cadence, triggerer_dags
from tickit_platform.orchestration.model_trigger import ModelTrigger
from tickit_platform.orchestration.triggerer_dags import MODEL_TRIGGER_CLASSPATH


def _encoded_dag(tasks: int) -> dict[str, Any]:
    with DAG("wide", schedule=None) as dag:
        for i in range(tasks):
            BaseOperator(task_id=f"model_{i}")
    return DagSerialization.to_dict(dag)


@pytest.fixture
def fresh_runner_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Airflow's triggerer module as a new process has it: nothing replaced yet."""
    import airflow.jobs

    monkeypatch.delitem(sys.modules, triggerer_dags.RUNNER_MODULE)
    monkeypatch.setattr(airflow.jobs, "triggerer_job_runner", triggerer_job_runner)
    return importlib.import_module(triggerer_dags.RUNNER_MODULE)


def test_the_runner_deserializes_equal_dags_once_and_a_changed_dag_again(fresh_runner_module: Any) -> None:
    # The runner looks the name up in its module when it builds a task's context (create_runtime_ti).
    assert "DagSerialization.from_dict(" in inspect.getsource(fresh_runner_module.TriggerRunner.create_runtime_ti)
    encoded = _encoded_dag(5)
    before = fresh_runner_module.DagSerialization.from_dict(copy.deepcopy(encoded))
    assert before is not fresh_runner_module.DagSerialization.from_dict(copy.deepcopy(encoded))

    assert triggerer_dags.share_deserialized_dags_in_runner()
    assert triggerer_dags.share_deserialized_dags_in_runner()  # a second import changes nothing
    shared = fresh_runner_module.DagSerialization
    first = shared.from_dict(copy.deepcopy(encoded))
    # Each trigger's workload arrives as its own copy of the data: equal, not the same object.
    assert shared.from_dict(copy.deepcopy(encoded)) is first
    assert sorted(first.task_ids) == [f"model_{i}" for i in range(5)]

    changed = _encoded_dag(6)
    second = shared.from_dict(changed)
    assert second is not first and len(second.task_ids) == 6
    assert shared.from_dict(copy.deepcopy(changed)) is second


def test_nothing_is_replaced_outside_a_triggerer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, triggerer_dags.RUNNER_MODULE)
    assert not triggerer_dags.share_deserialized_dags_in_runner()
    assert triggerer_dags.RUNNER_MODULE not in sys.modules


def test_a_model_triggers_workload_is_built_without_its_dag(monkeypatch: pytest.MonkeyPatch) -> None:
    supervisor = triggerer_job_runner.TriggerRunnerSupervisor
    parameters = inspect.signature(supervisor._create_workload).parameters
    assert {"trigger", "dag_bag"} <= set(parameters)
    seen: list[Any] = []
    monkeypatch.setattr(supervisor, "_create_workload", lambda self, *, trigger, dag_bag, **kw: seen.append(dag_bag))
    # An unchanged supervisor (Airflow's own, which MWAA runs without the bundle's local settings).
    assert not triggerer_dags.workloads_carry_no_dag()
    assert triggerer_dags.build_model_trigger_workloads_without_the_dag(MODEL_TRIGGER_CLASSPATH)
    assert triggerer_dags.workloads_carry_no_dag()

    class Row:
        def __init__(self, classpath: str) -> None:
            self.classpath = classpath

    real_bag = object()
    supervisor._create_workload(None, trigger=Row(MODEL_TRIGGER_CLASSPATH), dag_bag=real_bag, session=None)
    supervisor._create_workload(None, trigger=Row("other.Trigger"), dag_bag=real_bag, session=None)
    assert seen[0].get_serialized_dag_model_for_run(object(), session=None) is None
    assert seen[0].get_serialized_dag_model(version_id="v", session=None) is None
    assert seen[1] is real_bag
    assert ModelTrigger("m", "p").serialize()[0] == MODEL_TRIGGER_CLASSPATH


def test_the_dag_processor_skips_only_the_callbacks_it_would_ignore() -> None:
    from airflow.utils.state import TaskInstanceState

    def request(state: TaskInstanceState) -> TaskCallbackRequest:
        return TaskCallbackRequest.model_construct(task_callback_type=state)

    assert warm_airflow.is_ignored_callback(request(TaskInstanceState.SUCCESS))
    assert not warm_airflow.is_ignored_callback(request(TaskInstanceState.FAILED))
    assert not warm_airflow.is_ignored_callback(request(TaskInstanceState.UP_FOR_RETRY))
    # The processor's own rule, which the filter mirrors: anything but a failure is logged and skipped.
    from airflow.dag_processing import processor

    assert "if not request.is_failure_callback" in inspect.getsource(processor._execute_task_callbacks)


def test_installed_in_a_triggerer_before_airflows_triggerer_code_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """As MWAA's triggerer runs the bundle's airflow_local_settings: while `import airflow` runs, before the
    triggerer's module can be imported; the change is made when it is."""
    import airflow.jobs

    monkeypatch.delitem(sys.modules, triggerer_dags.RUNNER_MODULE)
    monkeypatch.delattr(airflow.jobs, "triggerer_job_runner")
    finders = list(sys.meta_path)
    monkeypatch.setattr(sys, "meta_path", list(finders))

    triggerer_dags.install_in_triggerer_when_loaded()
    triggerer_dags.install_in_triggerer_when_loaded()  # imported twice (Airflow's plugin loader): one change
    assert len(sys.meta_path) == len(finders) + 1

    fresh = importlib.import_module(triggerer_dags.RUNNER_MODULE)
    assert fresh is not triggerer_job_runner
    assert triggerer_dags.workloads_carry_no_dag()
    assert sys.meta_path == finders  # the finder went with its one use
    # The module is Airflow's own, found and run as Python would (its source readable, for tracebacks).
    assert "class TriggerRunnerSupervisor(" in inspect.getsource(fresh.TriggerRunnerSupervisor)
    # Installed where the module is already imported (the local triggerer): at once.
    triggerer_dags.install_in_triggerer_when_loaded()
    assert sys.meta_path == finders


def test_the_runner_talks_to_its_supervisor_briskly_only_around_model_triggers(
    fresh_runner_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Airflow's runner waits a second between two talks to its supervisor; while model triggers run (and a
    moment after), at most BRISK_WAIT (orchestration/triggerer_cadence.py)."""
    import anyio

    # The runner's loop waits on the name looked up in its module at each turn.
    assert "anyio.move_on_after(1)" in inspect.getsource(fresh_runner_module.TriggerRunner.arun)
    assert triggerer_cadence.sync_briskly_in_runner()
    assert triggerer_cadence.sync_briskly_in_runner()  # a second import changes nothing
    waits = fresh_runner_module.anyio
    assert waits.Event is anyio.Event  # the rest of anyio is anyio's own

    def wait_of_one_turn() -> float:
        async def turn() -> float:
            with waits.move_on_after(1) as scope:
                return float(scope.deadline - anyio.current_time())

        return anyio.run(turn)

    monkeypatch.setattr(triggerer_cadence._Activity, "last_ended", float("-inf"))
    assert wait_of_one_turn() > 0.9  # idle: Airflow's own second
    with triggerer_cadence.model_trigger_running():
        assert wait_of_one_turn() <= triggerer_cadence.BRISK_WAIT
    assert wait_of_one_turn() <= triggerer_cadence.BRISK_WAIT  # the next stage's tasks come a moment later
    monkeypatch.setattr(triggerer_cadence._Activity, "running", triggerer_cadence.BRISK_UP_TO + 1)
    assert wait_of_one_turn() > 0.9  # a stage of hundreds of model tasks keeps Airflow's second
    monkeypatch.setattr(triggerer_cadence._Activity, "running", 0)
    monkeypatch.setattr(triggerer_cadence, "BRISK_AFTER", 0.0)
    assert wait_of_one_turn() > 0.9


def test_a_model_trigger_keeps_the_runner_brisk_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    seen: list[bool] = []

    async def first_try(self: ModelTrigger) -> Any:
        seen.append(triggerer_cadence.brisk())
        return "event"

    class Ti:
        dag_id, run_id, task_id, map_index, try_number = "d", "r", "m", -1, 1

    monkeypatch.setattr(ModelTrigger, "_first_try", first_try)
    monkeypatch.setattr(triggerer_cadence, "BRISK_AFTER", 0.0)
    trigger = ModelTrigger("m", "p")
    trigger.task_instance = Ti()  # type: ignore[assignment]

    async def events() -> list[Any]:
        return [event async for event in trigger.run()]

    assert not triggerer_cadence.brisk()
    assert asyncio.run(events()) == ["event"]
    assert seen == [True] and not triggerer_cadence.brisk()


def test_a_triggers_end_is_reported_a_grace_after_it_ended_and_its_event_at_once(
    fresh_runner_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The supervisor closes a trigger's log file when told it finished: told at once, it sent lines still
    on their way to the triggerer's own log instead (orchestration/triggerer_cadence.py)."""
    import asyncio
    import collections

    from airflow.triggers.base import TriggerEvent

    runner_class = fresh_runner_module.TriggerRunner
    assert "finished=finished_ids" in inspect.getsource(runner_class.process_trigger_events)
    assert triggerer_cadence.sync_briskly_in_runner()
    assert triggerer_cadence.sync_briskly_in_runner()  # graced once, not twice
    sent: list[Any] = []

    async def asend(msg: Any) -> None:
        sent.append(msg)

    runner = runner_class.__new__(runner_class)
    runner.events, runner.failed_triggers = collections.deque(), collections.deque()
    runner.asend = asend
    monkeypatch.setattr(triggerer_cadence, "FINISHED_GRACE", 0.3)

    runner.events.append(fresh_runner_module.TriggerEventEntry(7, TriggerEvent("built"), None))
    asyncio.run(runner.sync_state_to_supervisor([7]))
    assert [e.trigger_id for e in sent[-1].events] == [7] and sent[-1].finished is None
    asyncio.run(runner.sync_state_to_supervisor([]))
    assert sent[-1].finished is None and sent[-1].events is None
    time.sleep(0.3)
    asyncio.run(runner.sync_state_to_supervisor([8]))
    assert sent[-1].finished == [7]
    time.sleep(0.3)
    asyncio.run(runner.sync_state_to_supervisor([]))
    assert sent[-1].finished == [8]
