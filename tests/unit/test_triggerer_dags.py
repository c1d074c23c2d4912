"""The triggerer deserializes a model task's DAG once, not once per waiting model task.

These replace private parts of Airflow (orchestration/triggerer_dags.py, local/warm_airflow.py); the tests
run them against the installed Airflow, so a release that moves what they rely on fails here first.
"""

from __future__ import annotations

import copy
import importlib
import inspect
import sys
from typing import Any

import pytest
from airflow.callbacks.callback_requests import TaskCallbackRequest
from airflow.jobs import triggerer_job_runner
from airflow.sdk import DAG
from airflow.sdk.bases.operator import BaseOperator
from airflow.serialization.serialized_objects import DagSerialization

from tickit_platform.local import warm_airflow
from tickit_platform.orchestration import triggerer_dags
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
