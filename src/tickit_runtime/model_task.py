"""One Airflow task per dbt model, gated on the model's own data-quality tests.

Cosmos' watcher mode runs the whole project in one `dbt build` (the producer) and gives every model a
task that turns green or red as dbt reports it. Out of the box that task only looks at the model's run
status; here it also waits for the aggregated result of the model's tests, so a failed test fails the
model's task and its downstream tasks become upstream_failed, exactly as `TestBehavior.BUILD` would do
with one dbt process per task. It waits in Airflow's triggerer (model_trigger.py), not in a worker. A
retry or a manual clear re-runs `dbt build --select <model>`: the model and its tests, nothing else.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

# Not airflow.sdk.exceptions: it has no AirflowException before Airflow 3.1, and MWAA runs 3.0.x. From 3.1 on,
# airflow.exceptions imports the SDK's class (the same object) without marking it as re-exported.
from airflow.exceptions import AirflowException  # type: ignore[attr-defined]
from airflow.triggers.base import StartTriggerArgs
from cosmos.airflow.compatibility import AirflowSkipException
from cosmos.constants import AIRFLOW_VERSION
from cosmos.operators.local import DbtSourceLocalOperator
from cosmos.operators.watcher import DbtRunWatcherOperator

from tickit_runtime.cosmos_watcher import (
    DbtTestStatus,
    build_producer_state_fetcher,
    get_dbt_event_xcom_key,
    get_status_xcom_key,
    get_tests_status_xcom_key,
    get_xcom_val,
    is_dbt_node_status_success,
    is_dbt_node_status_terminal,
)
from tickit_runtime.dags_folder import DbtWithoutDagsFolder
from tickit_runtime.freshness import FRESHNESS_NODE
from tickit_runtime.internals import model_tasks_in_triggerer
from tickit_runtime.model_trigger import BUILD, PRODUCER_DONE, ModelTrigger

try:
    from airflow.sdk.exceptions import AirflowSensorTimeout
except ImportError:  # Airflow 3.0 (MWAA's 3.0.6) has it only in airflow.exceptions, which later ones deprecate
    from airflow.exceptions import AirflowSensorTimeout  # type: ignore[no-redef,unused-ignore]

# How long a task waits for the writer lock unless told (the DAG passes half the task's execution_timeout).
WRITER_LOCK_TIMEOUT = 1800.0


class WriterLockTimeout(AirflowException):
    """The warehouse's writer lock stayed held; the message names its holder."""


@contextmanager
def writer_lock(path: Path | None, timeout: float = WRITER_LOCK_TIMEOUT, holder: str = "a task") -> Iterator[None]:
    """Hold an exclusive lock while a dbt process writes the DuckDB file (it allows one writer).

    Waits at most `timeout` seconds. The holder writes who it is into the lock file, so that a task that
    waited in vain can say who kept the warehouse.
    """
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    who = handle.read().strip() or "a process that did not say who it is"
                    raise WriterLockTimeout(
                        f"the DuckDB warehouse's writer lock ({path}) was still held after {timeout:.0f} s, by "
                        f"{who}. If that process is hung, stop it; then clear this task."
                    ) from None
                time.sleep(0.5)
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(f"{holder} (PID {os.getpid()} on {socket.gethostname()}, since {time.strftime('%H:%M:%S')})")
            handle.flush()
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


# How much lower a model task's CPU priority is than the producer's (os.nice; 19 is the lowest).
WATCHER_NICENESS = 10
# Seconds a failed model's task waits at most for dbt's message on it: on a loaded two-core machine running
# two Airflows, a failed model's task once ended before the build had published it, and its log and alert
# said only that the model failed.
DBT_MESSAGE_WAIT = 60.0


def model_trigger_start(wait_timeout: timedelta | None, **trigger_kwargs: Any) -> StartTriggerArgs:
    """How a task starts in the triggerer with `ModelTrigger(**trigger_kwargs)`, resuming on a worker in
    `resume_on_worker`, and waits at most `wait_timeout`."""
    return StartTriggerArgs(
        trigger_cls=f"{ModelTrigger.__module__}.{ModelTrigger.__qualname__}",
        trigger_kwargs=trigger_kwargs,
        next_method="resume_on_worker",
        next_kwargs=None,
        timeout=wait_timeout,
    )


class DbtModelTask(DbtWithoutDagsFolder, DbtRunWatcherOperator):  # type: ignore[misc]  # cosmos ships no type hints
    """A model's task: success once dbt built the model and every test on it passed (or warned).

    It starts in the triggerer, where `ModelTrigger` waits for the shared build's verdict and, on success,
    ends the task with no worker process (docs/decisions/023). It comes to a worker only to build its model
    itself or to fail in dbt's words (`resume_on_worker`).
    """

    # The fallback on retry or clear runs the model together with its tests.
    base_cmd = ["build"]  # noqa: RUF012 - Cosmos reads it as a class attribute

    def __init__(
        self,
        *,
        has_tests: bool,
        upstream_models: list[str] | None = None,
        cross_model_tests: list[str] | None = None,
        test_peers: list[str] | None = None,
        writer_lock_path: str | None = None,
        writer_lock_timeout: float = WRITER_LOCK_TIMEOUT,
        wait_timeout: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.has_tests = has_tests
        # How long the task may wait for the shared build's verdict (dag_factory.model_wait_timeout).
        self.wait_timeout = wait_timeout
        self.upstream_models = upstream_models or []
        self.cross_model_tests = cross_model_tests or []
        self.test_peers = test_peers or []
        self._own_build = False
        self.writer_lock_path = writer_lock_path
        self.writer_lock_timeout = writer_lock_timeout
        self.start_from_trigger = True
        self.start_trigger_args = model_trigger_start(
            wait_timeout,
            model_unique_id=self.model_unique_id,
            producer_task_id=self.producer_task_id,
            upstream_models=self.upstream_models,
            has_tests=self.has_tests,
            poke_interval=float(self.poke_interval),
            test_peers=self.test_peers,
        )

    def execute(self, context: Any) -> Any:
        # Every try starts in the triggerer (start_from_trigger); the scheduler never sends this task to a
        # worker's execute, only to resume_on_worker.
        raise AirflowException(f"{self.task_id} starts in Airflow's triggerer; is an `airflow triggerer` running?")

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        # A trigger that timed out reaches the worker only to fail (Airflow's sensor raises a bare "Trigger
        # timeout"); the task's log and its alert must say what it waited for and what to look at.
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSensorTimeout as timed_out:
            raise AirflowSensorTimeout(self.waited_too_long()) from timed_out

    def wait_bound(self) -> float | None:
        """Seconds the task waits at most for the build's verdict: Airflow ends a deferral at the earlier of
        the trigger's timeout and the task's execution_timeout."""
        bounds = [b.total_seconds() for b in (self.wait_timeout, self.execution_timeout) if b is not None]
        return min(bounds) if bounds else None

    def waited_too_long(self) -> str:
        """What a task that timed out waiting for the shared build says, in its log and its alert."""
        bound = self.wait_bound()
        waited = f"longer than {bound:.0f} s" if bound is not None else "too long"
        producer = self.producer_task_id
        return (
            f"{self.task_id} waited {waited} for the shared dbt build (task '{producer}') to report model "
            f"'{self.model_unique_id}', so it was failed.\n"
            f"Check task '{producer}': is it still running, and what does its log say last (a hung connection "
            "to the warehouse, a lock held)?\n"
            "Check that Airflow's triggerer is running and healthy (the health status in the Airflow UI)."
        )

    def resume_on_worker(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """What the trigger could not do in the triggerer: build the model, or fail saying dbt's words."""
        event = event or {}
        if event.get("action") == BUILD:
            self.log.info("%s.", str(event.get("why", "")).capitalize())
            # Below the producer's CPU priority: a shared build may still run beside this one's reads.
            with contextlib.suppress(OSError):
                os.nice(WATCHER_NICENESS)
            return self._fallback_to_non_watcher_run(context["ti"].try_number, context)
        if event.get("tests") == DbtTestStatus.FAIL:
            raise AirflowException(
                f"Data-quality tests on '{self.model_unique_id}' failed, so its downstream models do not run. "
                f"See the test results in the log of task '{self.producer_task_id}'."
            )
        status = event.get("status")
        if status is None:
            raise AirflowException(
                f"dbt finished without reporting every test of '{self.model_unique_id}'; "
                f"see the log of task '{self.producer_task_id}'."
            )
        # The task's own log and its alert must say why, in dbt's words, not only that the model failed.
        failure = f"Model '{self.model_unique_id}' finished with status '{status}'"
        reason = self._dbt_message(context)
        raise AirflowException(f"{failure}: {reason}" if reason else failure)

    def _fallback_to_non_watcher_run(self, try_number: int, context: Any) -> bool:
        lock = Path(self.writer_lock_path) if self.writer_lock_path else None
        with writer_lock(lock, self.writer_lock_timeout, _holder(context)):
            self._own_build = True
            try:
                return bool(super()._fallback_to_non_watcher_run(try_number, context))
            finally:
                self._own_build = False

    def build_and_run_cmd(self, context: Any, cmd_flags: list[str] | None = None, **kwargs: Any) -> Any:
        if self._own_build:
            cmd_flags = own_build_selection(cmd_flags or [], self.cross_model_tests)
        return super().build_and_run_cmd(context, cmd_flags=cmd_flags, **kwargs)

    def _dbt_message(self, context: Any, wait: float = DBT_MESSAGE_WAIT) -> str | None:
        """dbt's message on this model's failure, read again while the shared build runs and once after it
        ended, for `wait` seconds at most."""
        ti = context["ti"]
        deadline = time.monotonic() + wait
        while True:
            build_ended = self._get_producer_task_status(context) in PRODUCER_DONE
            event = get_xcom_val(ti, self.producer_task_id, get_dbt_event_xcom_key(self.model_unique_id))
            if isinstance(event, dict) and event.get("msg"):
                return str(event["msg"])
            if build_ended or time.monotonic() >= deadline:
                return None
            time.sleep(1)


def own_build_selection(cmd_flags: list[str], cross_model_tests: list[str]) -> list[str]:
    """The model's own `dbt build`: the model, the tests on it alone, and the tests defined on it that read
    other models (whose tasks are done by now), never the tests of other models that read this one (dbt's
    default, eager selection, would run those before their own model may exist)."""
    flags = list(cmd_flags)
    if "--select" in flags:
        at = flags.index("--select") + 2
        flags[at:at] = cross_model_tests
    return [*flags, "--indirect-selection", "cautious"]


class WorkerModelTask(DbtModelTask):
    """The same model task where Airflow cannot start a task in the triggerer (before 3.2, e.g. MWAA's 3.0.6).

    It waits in a worker process instead, as a Cosmos watcher consumer polling the shared build, with the same
    verdicts: success once the model and its tests passed, a retry or clear rebuilding only what needs it, a
    failure in dbt's words (docs/decisions/023).
    """

    def __init__(self, **kwargs: Any) -> None:
        # The sensor's own bound on poking (Airflow's default: a week) is the triggerer path's bound on waiting.
        if "timeout" not in kwargs and kwargs.get("wait_timeout") is not None:
            kwargs["timeout"] = kwargs["wait_timeout"].total_seconds()
        super().__init__(**kwargs)
        self.start_from_trigger = False
        self._ran_locally = False

    def wait_bound(self) -> float | None:
        bounds = [b for b in (super().wait_bound(), float(self.timeout)) if b is not None]
        return min(bounds)

    def execute(self, context: Any) -> Any:
        # The producer first: the tasks watching the shared `dbt build` must not slow it down on few cores.
        with contextlib.suppress(OSError):
            os.nice(WATCHER_NICENESS)
        try:
            return DbtRunWatcherOperator.execute(self, context)
        except AirflowSensorTimeout as timed_out:
            raise AirflowSensorTimeout(self.waited_too_long()) from timed_out

    def _fallback_to_non_watcher_run(self, try_number: int, context: Any) -> bool:
        # Cosmos' poke starts the model's own build on several paths; each waits here, in the worker, for the
        # models its tests read (ModelTrigger waits in the triggerer), within the task's execution_timeout.
        if not self._peers_done(context):
            self.log.info("Waiting for the tasks of %s: the tests on this model read them.", ", ".join(self.test_peers))
            while not self._peers_done(context):
                time.sleep(float(self.poke_interval))
        result = super()._fallback_to_non_watcher_run(try_number, context)
        self._ran_locally = True
        return result

    def _peers_done(self, context: Any) -> bool:
        """Whether the tasks of the models this model's tests read are done (as ModelTrigger waits for)."""
        ti = context["ti"]
        for peer in self.test_peers:
            fetch = build_producer_state_fetcher(
                airflow_version=AIRFLOW_VERSION,
                dag_id=ti.dag_id,
                run_id=ti.run_id,
                producer_task_id=peer,
                logger=self.log,
            )
            if fetch is not None and fetch() not in PRODUCER_DONE:
                return False
        return True

    def _status(self, ti: Any, unique_id: str) -> Any:
        """What the shared `dbt build` reported for a node (None while it has not reached it)."""
        status = get_xcom_val(ti, self.producer_task_id, get_status_xcom_key(unique_id))
        return status.get("status") if isinstance(status, dict) else status

    def _skipped_for_upstream(self, ti: Any) -> bool:
        """dbt did not build this model because a parent failed in the same build; that parent has since
        succeeded (this task starts only once its upstream tasks did), so the model's own turn has come."""
        status = self._status(ti, self.model_unique_id)
        if not is_dbt_node_status_terminal(status) or is_dbt_node_status_success(status):
            return False
        return any(not is_dbt_node_status_success(self._status(ti, parent)) for parent in self.upstream_models)

    def poke(self, context: Any) -> bool:
        ti = context["ti"]
        if not self._ran_locally and self.upstream_models and self._skipped_for_upstream(ti):
            self.log.info("dbt skipped %s after a parent failed; that parent succeeded since.", self.model_unique_id)
            return self._fallback_to_non_watcher_run(ti.try_number, context)
        if not self._ran_locally and ti.try_number > 1:
            # A retry: the build's verdict is the earlier try's. Wait until the build (and the producer's own
            # retry) let go of the warehouse, then build the model unless the build left it a success.
            if self._get_producer_task_status(context) not in PRODUCER_DONE:
                return False
            if not is_dbt_node_status_success(self._status(ti, self.model_unique_id)):
                return self._fallback_to_non_watcher_run(ti.try_number, context)
        try:
            if not super().poke(context):
                return False
        except AirflowSkipException:
            raise
        except AirflowException as failure:
            reason = self._dbt_message(context)
            if reason:
                raise AirflowException(f"{failure}: {reason}") from failure
            raise
        if self._ran_locally or not self.has_tests:
            return True
        status = get_xcom_val(ti, self.producer_task_id, get_tests_status_xcom_key(self.model_unique_id))
        if status is None:
            if self._get_producer_task_status(context) in PRODUCER_DONE:
                return bool(self.resume_on_worker(context, {"status": None}))
            return False
        if status == DbtTestStatus.FAIL:
            return bool(self.resume_on_worker(context, {"tests": DbtTestStatus.FAIL}))
        return True


def model_task_class() -> type[DbtModelTask]:
    """The model task this Airflow runs safely: in the triggerer from 3.2 on where the changes to the triggerer
    apply (tickit_runtime/internals), else in a worker."""
    in_triggerer, _why = model_tasks_in_triggerer()
    return DbtModelTask if in_triggerer else WorkerModelTask


class SourceFreshnessTask(DbtWithoutDagsFolder, DbtSourceLocalOperator):  # type: ignore[misc]  # cosmos ships no type hints
    """`dbt source freshness`, holding the warehouse's writer lock: dbt opens DuckDB for writing.

    Given `producer_task_id`, the shared build checks freshness after it (tickit_runtime/freshness.py): the task
    starts in the triggerer, where `ModelTrigger` waits for that verdict as for a model's, and ends there on a
    pass. Anything else (an error, no verdict) hands it to a worker, which runs the check itself.
    """

    def __init__(
        self,
        *,
        writer_lock_path: str | None = None,
        writer_lock_timeout: float = WRITER_LOCK_TIMEOUT,
        producer_task_id: str | None = None,
        poke_interval: float = 3.0,
        wait_timeout: timedelta | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.writer_lock_path = writer_lock_path
        self.writer_lock_timeout = writer_lock_timeout
        self.producer_task_id = producer_task_id
        if producer_task_id is not None:
            self.start_from_trigger = True
            self.start_trigger_args = model_trigger_start(
                wait_timeout,
                model_unique_id=FRESHNESS_NODE,
                producer_task_id=producer_task_id,
                poke_interval=float(poke_interval),
            )

    def execute(self, context: Any) -> Any:
        lock = Path(self.writer_lock_path) if self.writer_lock_path else None
        with writer_lock(lock, self.writer_lock_timeout, _holder(context)):
            return super().execute(context)

    def resume_on_worker(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """The shared build did not report a pass: the check runs here, and says its own result."""
        why = str((event or {}).get("why", "the shared build did not report it"))
        self.log.info("Checking the sources' freshness in this task: %s.", why)
        return self.execute(context)

    def resume_execution(self, next_method: str, next_kwargs: dict[str, Any] | None, context: Any) -> Any:
        try:
            return super().resume_execution(next_method, next_kwargs, context)
        except AirflowSensorTimeout as timed_out:
            raise AirflowSensorTimeout(
                f"{self.task_id} waited too long for the shared dbt build (task '{self.producer_task_id}') to check "
                "the sources' freshness, so it was failed. Check that task's log, and that Airflow's triggerer is "
                "running and healthy; clearing this task checks freshness again."
            ) from timed_out


def _holder(context: Any) -> str:
    """The task holding the writer lock, as its lock file names it."""
    ti = context.get("ti") if hasattr(context, "get") else None
    if ti is None:
        return "a task"
    return f"task {ti.task_id} (try {ti.try_number}) of run {ti.run_id}"
