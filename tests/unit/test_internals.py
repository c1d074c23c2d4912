"""The changes to Airflow's and Cosmos' internals (tickit_runtime/internals), run against the installed ones.

Each is checked as it is made: on a version it was verified on, with its target of the expected shape, or not
at all, for its whole component. These tests run every change against the Airflow and Cosmos installed here,
so a release that moves what one relies on fails here first, and they show what happens when a change is
refused: nothing is changed, the component says why, and the DAG takes the path that needs no change.
"""

from __future__ import annotations

import asyncio
import collections
import importlib
import inspect
import logging
import socket
import subprocess
import sys
import threading
import time
from typing import Any

import pytest
from airflow.callbacks.callback_requests import TaskCallbackRequest
from airflow.executors import workloads
from airflow.jobs import triggerer_job_runner

from tickit_runtime import envvars, internals
from tickit_runtime.internals import dag_processor, gate, triggerer
from tickit_runtime.internals.triggerer import MODEL_TRIGGER_CLASSPATH
from tickit_runtime.model_trigger import ModelTrigger

RUNNER = triggerer.RUNNER_MODULE
ORIGINAL = {
    "_create_workload": triggerer_job_runner.TriggerRunnerSupervisor._create_workload,
    "_handle_request": triggerer_job_runner.TriggerRunnerSupervisor._handle_request,
    "send_msg": triggerer_job_runner.TriggerRunnerSupervisor.send_msg,
    "sync_state_to_supervisor": triggerer_job_runner.TriggerRunner.sync_state_to_supervisor,
}


@pytest.fixture
def fresh_runner_module(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Airflow's triggerer module as a new process has it: nothing changed yet (the module is run again)."""
    import airflow.jobs

    monkeypatch.delitem(sys.modules, RUNNER)
    monkeypatch.setattr(airflow.jobs, "triggerer_job_runner", triggerer_job_runner)
    return importlib.import_module(RUNNER)


def _unchanged(module: Any) -> bool:
    supervisor, runner = module.TriggerRunnerSupervisor, module.TriggerRunner
    return not any(
        triggerer.is_made(f)
        for f in (
            supervisor._create_workload,
            supervisor._handle_request,
            supervisor.send_msg,
            runner.sync_state_to_supervisor,
        )
    ) and not isinstance(module.anyio, triggerer._BriskAnyio)


# Importing changes nothing; every change is verified here.


_IMPORT_EVERYTHING = """
import airflow.jobs.triggerer_job_runner as runner
import airflow.dag_processing.manager as manager
import tickit_runtime.internals
import tickit_runtime.model_trigger
import tickit_runtime.dag_factory
import tickit_runtime.airflow_local_settings
import tickit_platform.local.warm_airflow
from tickit_runtime.internals.triggerer import is_made, _BriskAnyio
changed = [f.__qualname__ for f in (
    runner.TriggerRunnerSupervisor._create_workload, runner.TriggerRunnerSupervisor._handle_request,
    runner.TriggerRunnerSupervisor.send_msg, runner.TriggerRunner.sync_state_to_supervisor,
    manager.DagFileProcessorManager.fetch_callbacks) if is_made(f)]
print(changed + (["anyio"] if isinstance(runner.anyio, _BriskAnyio) else []))
"""


def test_importing_the_package_the_dag_factory_and_the_trigger_changes_nothing() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERYTHING], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize("component", sorted(internals.CHANGES))
def test_every_change_was_verified_on_the_installed_version_and_finds_its_target_as_verified(component: str) -> None:
    for change in internals.CHANGES[component]:
        assert gate.installed_version(change.package) in change.verified_on, change.name
        assert change.shape() is None, change.name
    assert gate.plan(component, internals.CHANGES[component], make=gate.MAKE_VERIFIED).made


def test_each_report_a_change_names_is_in_docs_upstream() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    reports = [change.report for changes in internals.CHANGES.values() for change in changes if change.report]
    assert len(reports) == 3
    for report in reports:
        assert (root / report).is_file(), report


# Refused: nothing changed, said once, the DAG on the safe path.


def test_a_target_of_another_shape_refuses_the_whole_component(
    fresh_runner_module: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A rename Airflow's version number does not show (a patched build): the check finds it, nothing changes."""
    supervisor = fresh_runner_module.TriggerRunnerSupervisor

    def _create_workload(self: Any, trigger: Any, dag_bag: Any, render_log_fname: Any, session: Any, team: Any) -> Any:
        raise AssertionError("never called here")

    monkeypatch.setattr(supervisor, "_create_workload", _create_workload)
    with caplog.at_level(logging.INFO, logger="tickit_runtime.internals"):
        planned = internals.in_triggerer()
    assert not planned.made
    assert "TriggerRunnerSupervisor._create_workload is not as verified: its parameters are" in str(planned.refused)
    assert _unchanged(fresh_runner_module)
    assert supervisor._create_workload is _create_workload
    said = [r for r in caplog.records if r.name == "tickit_runtime.internals"]
    assert len(said) == 1 and said[0].levelno == logging.WARNING
    assert "no change made to Airflow's triggerer" in said[0].getMessage()
    assert "Model tasks wait in worker processes instead" in said[0].getMessage()


def test_an_unverified_airflow_or_the_setting_refuses_every_change(
    fresh_runner_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import airflow

    monkeypatch.setattr(airflow, "__version__", "3.4.0")
    planned = internals.in_triggerer()
    assert planned.refused == (
        "Airflow 3.4.0 is not a version workloads without the DAG was verified on (3.3.1, 3.3.2)"
    )
    assert _unchanged(fresh_runner_module)
    assert internals.where_model_tasks_wait().startswith("Model tasks wait in worker processes (the safe path)")
    monkeypatch.undo()

    monkeypatch.setenv(envvars.AIRFLOW_CHANGES, "none")
    for component in (internals.in_triggerer, internals.in_dag_processor):
        assert component().refused == f"refused by {envvars.AIRFLOW_CHANGES}=none"
    assert _unchanged(fresh_runner_module)
    assert not dag_processor.callbacks_dropped()
    assert internals.where_model_tasks_wait() == (
        "Model tasks wait in worker processes (the safe path): refused by TICKIT_AIRFLOW_CHANGES=none."
    )


def test_a_bundle_for_mwaa_is_judged_by_the_airflow_it_targets() -> None:
    assert internals.where_model_tasks_wait(make="verified", airflow_version="3.3.1") == (
        "Model tasks wait in Airflow's triggerer: the changes to Airflow's triggerer apply to Airflow 3.3.1 "
        "(verified on 3.3.1, 3.3.2)."
    )
    assert internals.where_model_tasks_wait(make="verified", airflow_version="3.0.6") == (
        "Model tasks wait in worker processes (the safe path): Airflow 3.0.6 cannot start a task in the triggerer "
        "(from 3.2 on)."
    )


# The triggerer's changes, made.


def test_the_triggerer_makes_its_changes_once_and_says_so(
    fresh_runner_module: Any, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="tickit_runtime.internals"):
        assert internals.in_triggerer().made
        assert internals.in_triggerer().made  # imported twice (Airflow's plugin loader): one change
    supervisor = fresh_runner_module.TriggerRunnerSupervisor
    assert triggerer.is_made(supervisor._create_workload)
    assert isinstance(fresh_runner_module.anyio, triggerer._BriskAnyio)
    notes = [r.getMessage() for r in caplog.records if "changes made to Airflow's triggerer" in r.getMessage()]
    assert notes and "workloads without the DAG" in notes[0] and "new triggers in bounded batches" in notes[0]


def test_a_model_triggers_workload_is_built_without_its_dag(fresh_runner_module: Any) -> None:
    supervisor = fresh_runner_module.TriggerRunnerSupervisor
    seen: list[Any] = []

    def _create_workload(self: Any, trigger: Any, dag_bag: Any, render_log_fname: Any, session: Any) -> Any:
        seen.append(dag_bag)

    supervisor._create_workload = _create_workload  # Airflow's own shape, recording what it is given
    triggerer._make_workloads_without_dag()
    assert triggerer.workloads_carry_no_dag()

    class Row:
        def __init__(self, classpath: str) -> None:
            self.classpath = classpath

    real_bag = object()
    supervisor._create_workload(
        None, trigger=Row(MODEL_TRIGGER_CLASSPATH), dag_bag=real_bag, render_log_fname=None, session=None
    )
    supervisor._create_workload(
        None, trigger=Row("other.Trigger"), dag_bag=real_bag, render_log_fname=None, session=None
    )
    assert seen[0].get_serialized_dag_model_for_run(object(), session=None) is None
    assert seen[0].get_serialized_dag_model(version_id="v", session=None) is None
    assert seen[1] is real_bag
    assert ModelTrigger("m", "p").serialize()[0] == MODEL_TRIGGER_CLASSPATH


def _supervisor(module: Any, queued: list[Any]) -> tuple[Any, Any, list[bytes]]:
    """Airflow's triggerer supervisor, not started: what `_handle_request` reads, its socket to a runner a pair
    whose other end records what arrives."""
    cls = module.TriggerRunnerSupervisor
    supervisor = object.__new__(cls)
    for name, value in {
        "events": collections.deque(),
        "failed_triggers": collections.deque(),
        "running_triggers": set(),
        "cancelling_triggers": set(),
        "logger_cache": {},
        "persisted_event_seqs": collections.deque(),
        "creating_triggers": collections.deque(queued),
        "_last_runner_comms": 0.0,
    }.items():
        object.__setattr__(supervisor, name, value)
    ours, runners = socket.socketpair()
    object.__setattr__(supervisor, "stdin", ours)
    object.__setattr__(supervisor, "_subprocess_schema_version", None)
    received: list[bytes] = []

    def talk() -> None:
        """One talk of the runner: the supervisor answers in a thread while the runner's end reads it (the test
        fails instead of hanging if the answer never comes)."""
        answer = threading.Thread(
            target=supervisor._handle_request,
            args=(module.messages.TriggerStateChanges(), logging.getLogger("test"), 1),
            daemon=True,
        )
        answer.start()
        runners.settimeout(60)
        header = runners.recv(4, socket.MSG_WAITALL)
        size = int.from_bytes(header, "big")
        body = bytearray()
        while len(body) < size:
            body += runners.recv(size - len(body))
        answer.join(timeout=60)
        assert not answer.is_alive()
        received.append(header + bytes(body))

    return supervisor, talk, received


def _workloads(count: int) -> list[Any]:
    # About the size of a model trigger's workload without its DAG (0.84 KB measured).
    return [
        workloads.RunTrigger(id=i, classpath=MODEL_TRIGGER_CLASSPATH, encrypted_kwargs="k" * 700) for i in range(count)
    ]


def test_new_triggers_reach_the_runner_in_messages_of_bounded_size(fresh_runner_module: Any) -> None:
    """3,000 model tasks ready at once: one message of about 2.5 MB from an unchanged supervisor, past any
    socket's buffer; changed, every message is under the bound and every trigger arrives once, in order."""
    supervisor, talk, received = _supervisor(fresh_runner_module, _workloads(3000))
    talk()
    assert len(received) == 1 and len(received[0]) > 2_000_000  # an unchanged supervisor: one message of all

    triggerer._make_bounded_batches()
    triggerer._make_measured_sends()
    supervisor, talk, received = _supervisor(fresh_runner_module, _workloads(3000))
    while supervisor.creating_triggers:
        talk()
    assert max(len(message) for message in received) <= triggerer.MESSAGE_BOUND
    assert triggerer.largest_message() == max(len(message) for message in received)
    ids = [i for message in received for i in _trigger_ids(message)]
    assert ids == list(range(3000))
    assert supervisor.running_triggers == set(range(3000))


def _trigger_ids(message: bytes) -> list[int]:
    import msgspec

    frame = msgspec.msgpack.decode(message[4:])
    body = frame[1] if isinstance(frame, list) else frame["body"]
    return [workload["id"] for workload in body["to_create"]]


def test_a_message_over_the_bound_is_a_warning_in_the_triggerers_log(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="tickit_runtime.internals"):
        triggerer.note_message(triggerer.MESSAGE_BOUND + 1)
    said = [r for r in caplog.records if r.name == "tickit_runtime.internals"]
    assert said[-1].levelno == logging.WARNING
    assert said[-1].getMessage() == (
        triggerer.LARGEST_MESSAGE_NOTE % (triggerer.MESSAGE_BOUND + 1)
        + f", over the bound of {triggerer.MESSAGE_BOUND}"
    )


def test_the_dag_processor_skips_only_the_callbacks_it_would_ignore() -> None:
    from airflow.utils.state import TaskInstanceState

    def request(state: TaskInstanceState) -> TaskCallbackRequest:
        return TaskCallbackRequest.model_construct(task_callback_type=state)

    assert dag_processor.is_ignored_callback(request(TaskInstanceState.SUCCESS))
    assert not dag_processor.is_ignored_callback(request(TaskInstanceState.FAILED))
    assert not dag_processor.is_ignored_callback(request(TaskInstanceState.UP_FOR_RETRY))


def test_made_as_the_component_starts_before_airflows_module_is_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    """As MWAA's triggerer runs the bundle's airflow_local_settings: while `import airflow` runs, before the
    triggerer's module can be imported; the changes are made when it is."""
    import airflow.jobs

    monkeypatch.delitem(sys.modules, RUNNER)
    monkeypatch.delattr(airflow.jobs, "triggerer_job_runner")
    finders = list(sys.meta_path)
    monkeypatch.setattr(sys, "meta_path", list(finders))

    internals.component_starting("triggerer")
    internals.component_starting("triggerer")  # imported twice (Airflow's plugin loader): one change
    internals.component_starting("scheduler")  # no changes there
    assert len(sys.meta_path) == len(finders) + 1

    fresh = importlib.import_module(RUNNER)
    assert fresh is not triggerer_job_runner
    assert triggerer.workloads_carry_no_dag()
    assert sys.meta_path == finders  # the finder went with its one use
    # The module is Airflow's own, found and run as Python would (its source readable, for tracebacks).
    assert "class TriggerRunnerSupervisor(" in inspect.getsource(fresh.TriggerRunnerSupervisor)


# The runner's cadence and graced ends.


def test_the_runner_talks_to_its_supervisor_briskly_only_around_model_triggers(
    fresh_runner_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import anyio

    triggerer._make_brisk_cadence()
    triggerer._make_brisk_cadence()  # a second time changes nothing
    waits = fresh_runner_module.anyio
    assert waits.Event is anyio.Event  # the rest of anyio is anyio's own

    def wait_of_one_turn() -> float:
        async def turn() -> float:
            with waits.move_on_after(1) as scope:
                return float(scope.deadline - anyio.current_time())

        return anyio.run(turn)

    monkeypatch.setattr(triggerer._Activity, "last_ended", float("-inf"))
    assert wait_of_one_turn() > 0.9  # idle: Airflow's own second
    with triggerer.model_trigger_running():
        assert wait_of_one_turn() <= triggerer.BRISK_WAIT
    assert wait_of_one_turn() <= triggerer.BRISK_WAIT  # the next stage's tasks come a moment later
    monkeypatch.setattr(triggerer._Activity, "running", triggerer.BRISK_UP_TO + 1)
    assert wait_of_one_turn() > 0.9  # a stage of hundreds of model tasks keeps Airflow's second
    monkeypatch.setattr(triggerer._Activity, "catching_up", True)
    assert wait_of_one_turn() <= triggerer.CATCH_UP_WAIT  # the supervisor holds triggers back
    monkeypatch.setattr(triggerer._Activity, "catching_up", False)
    monkeypatch.setattr(triggerer._Activity, "running", 0)
    monkeypatch.setattr(triggerer, "BRISK_AFTER", 0.0)
    assert wait_of_one_turn() > 0.9


def test_a_model_trigger_keeps_the_runner_brisk_while_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[bool] = []

    async def first_try(self: ModelTrigger) -> Any:
        seen.append(triggerer.brisk())
        return "event"

    class Ti:
        dag_id, run_id, task_id, map_index, try_number = "d", "r", "m", -1, 1

    monkeypatch.setattr(ModelTrigger, "_first_try", first_try)
    monkeypatch.setattr(triggerer, "BRISK_AFTER", 0.0)
    trigger = ModelTrigger("m", "p")
    trigger.task_instance = Ti()  # type: ignore[assignment]

    async def events() -> list[Any]:
        return [event async for event in trigger.run()]

    assert not triggerer.brisk()
    assert asyncio.run(events()) == ["event"]
    assert seen == [True] and not triggerer.brisk()


def test_a_triggers_end_is_reported_a_grace_after_it_ended_and_its_event_at_once(
    fresh_runner_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The supervisor closes a trigger's log file when told it finished: told at once, it sent lines still
    on their way to the triggerer's own log instead (docs/upstream/trigger-log-closed-before-drained.md)."""
    from airflow.triggers.base import TriggerEvent

    runner_class = fresh_runner_module.TriggerRunner
    triggerer._make_graced_ends()
    triggerer._make_graced_ends()  # graced once, not twice
    sent: list[Any] = []

    async def asend(msg: Any) -> None:
        sent.append(msg)

    runner = runner_class.__new__(runner_class)
    runner.events, runner.failed_triggers = collections.deque(), collections.deque()
    runner.to_create = collections.deque()
    runner.asend = asend
    monkeypatch.setattr(triggerer, "FINISHED_GRACE", 0.3)

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


def test_where_model_tasks_wait_is_said_without_importing_airflow() -> None:
    """`tickit run` on a resident Airflow never imports Airflow itself: its summary's line must not either
    (importing it only for its version cost that summary 2 s)."""
    said = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from tickit_runtime.internals import where_model_tasks_wait as w; "
            "print(w()); print('airflow' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.splitlines()
    assert said[0].startswith("Model tasks wait in Airflow's triggerer: the changes to Airflow's triggerer apply to")
    assert said[1] == "False"
