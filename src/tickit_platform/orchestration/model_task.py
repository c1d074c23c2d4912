"""One Airflow task per dbt model, gated on the model's own data-quality tests.

Cosmos' watcher mode runs the whole project in one `dbt build` (the producer) and gives every model a
sensor task that turns green or red as dbt reports it. Out of the box that sensor only looks at the
model's run status; here it also waits for the aggregated result of the model's tests, so a failed
test fails the model's task and its downstream tasks become upstream_failed, exactly as
`TestBehavior.BUILD` would do with one dbt process per task. A retry or a manual clear re-runs
`dbt build --select <model>`: the model and its tests, nothing else.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Not airflow.sdk.exceptions: it has no AirflowException before Airflow 3.1, and MWAA runs 3.0.x. From 3.1 on,
# airflow.exceptions imports the SDK's class (the same object) without marking it as re-exported.
from airflow.exceptions import AirflowException  # type: ignore[attr-defined]
from cosmos.airflow.compatibility import AirflowSkipException
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import (
    DbtTestStatus,
    get_dbt_event_xcom_key,
    get_status_xcom_key,
    get_xcom_val,
    is_dbt_node_status_success,
    is_dbt_node_status_terminal,
)
from cosmos.operators.local import DbtSourceLocalOperator
from cosmos.operators.watcher import DbtRunWatcherOperator

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


# States in which the producer's `dbt build` no longer runs (and no longer holds the warehouse).
PRODUCER_DONE = frozenset({"success", "failed", "skipped", "upstream_failed"})
# How much lower a model task's CPU priority is than the producer's (os.nice; 19 is the lowest).
WATCHER_NICENESS = 10


class DbtModelTask(DbtRunWatcherOperator):  # type: ignore[misc]  # cosmos ships no type hints
    """A model's task: success once dbt built the model and every test on it passed (or warned)."""

    # The fallback on retry or clear runs the model together with its tests.
    base_cmd = ["build"]  # noqa: RUF012 - Cosmos reads it as a class attribute

    def __init__(
        self,
        *,
        has_tests: bool,
        upstream_models: list[str] | None = None,
        writer_lock_path: str | None = None,
        writer_lock_timeout: float = WRITER_LOCK_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.has_tests = has_tests
        self.upstream_models = upstream_models or []
        self.writer_lock_path = writer_lock_path
        self.writer_lock_timeout = writer_lock_timeout
        self._ran_locally = False

    def execute(self, context: Any) -> Any:
        # The producer first: on a machine with few cores, the tasks watching the shared `dbt build` must
        # not slow it down (issue 14 measured the build 1.5x slower beside its watchers). A model task runs
        # at a lower CPU priority than the producer, which costs it nothing: it mostly waits. Its own
        # fallback build runs at that priority too, when there is no shared build left to slow.
        with contextlib.suppress(OSError):
            os.nice(WATCHER_NICENESS)
        return super().execute(context)

    def _fallback_to_non_watcher_run(self, try_number: int, context: Any) -> bool:
        lock = Path(self.writer_lock_path) if self.writer_lock_path else None
        with writer_lock(lock, self.writer_lock_timeout, _holder(context)):
            result = super()._fallback_to_non_watcher_run(try_number, context)
        self._ran_locally = True
        return bool(result)

    def _status(self, ti: Any, unique_id: str) -> Any:
        """What the shared `dbt build` reported for a node (None while it has not reached it)."""
        status = get_xcom_val(ti, self.producer_task_id, get_status_xcom_key(unique_id))
        return status.get("status") if isinstance(status, dict) else status

    def _failed_in_build(self, ti: Any) -> bool:
        status = self._status(ti, self.model_unique_id)
        return is_dbt_node_status_terminal(status) and not is_dbt_node_status_success(status)

    def _skipped_for_upstream(self, ti: Any) -> bool:
        """dbt did not build this model because a parent failed in the same `dbt build`.

        This task only starts once its upstream tasks succeeded, so such a parent has since been
        retried or cleared and succeeded: the model's own turn has come, it is not a failure.
        """
        if not self._failed_in_build(ti):
            return False
        return any(not is_dbt_node_status_success(self._status(ti, parent)) for parent in self.upstream_models)

    def _dbt_message(self, ti: Any, wait: float = 10.0) -> str | None:
        """dbt's message on this model's failure; the producer may publish it just after the status."""
        deadline = time.monotonic() + wait
        while True:
            event = get_xcom_val(ti, self.producer_task_id, get_dbt_event_xcom_key(self.model_unique_id))
            if isinstance(event, dict) and event.get("msg"):
                return str(event["msg"])
            if time.monotonic() >= deadline:
                return None
            time.sleep(1)

    def poke(self, context: Any) -> bool:
        ti = context["ti"]
        if not self._ran_locally and self.upstream_models and self._skipped_for_upstream(ti):
            self.log.info(
                "dbt skipped %s because an upstream model failed in the build; that model has since "
                "succeeded, so this one runs now.",
                self.model_unique_id,
            )
            return self._fallback_to_non_watcher_run(ti.try_number, context)
        if not self._ran_locally and ti.try_number > 1:
            # A retry: the shared build's verdict on this model is the old try's. Wait until the build (and
            # the producer's own retry, which clears its results) has let go of the warehouse, then build
            # the model again unless the build reported it a success.
            if self._get_producer_task_status(context) not in PRODUCER_DONE:
                self.log.info("Retry of %s waits for the shared dbt build to finish.", self.model_unique_id)
                return False
            if not is_dbt_node_status_success(self._status(ti, self.model_unique_id)):
                return self._fallback_to_non_watcher_run(ti.try_number, context)
        try:
            if not super().poke(context):
                return False
        except AirflowSkipException:
            raise
        except AirflowException as failure:
            # The task's own log must say why, in dbt's words, not only that the model failed.
            reason = self._dbt_message(ti)
            if reason:
                raise AirflowException(f"{failure}: {reason}") from failure
            raise
        if self._ran_locally or not self.has_tests:
            return True
        status = get_xcom_val(context["ti"], self.producer_task_id, get_tests_status_xcom_key(self.model_unique_id))
        if status is None:
            if self._get_producer_task_status(context) in PRODUCER_DONE:
                raise AirflowException(
                    f"dbt finished without reporting every test of '{self.model_unique_id}'; "
                    f"see the log of task '{self.producer_task_id}'."
                )
            return False
        if status == DbtTestStatus.FAIL:
            raise AirflowException(
                f"Data-quality tests on '{self.model_unique_id}' failed, so its downstream models do not run. "
                f"See the test results in the log of task '{self.producer_task_id}'."
            )
        return True


class SourceFreshnessTask(DbtSourceLocalOperator):  # type: ignore[misc]  # cosmos ships no type hints
    """`dbt source freshness`, holding the warehouse's writer lock: dbt opens DuckDB for writing."""

    def __init__(
        self, *, writer_lock_path: str | None = None, writer_lock_timeout: float = WRITER_LOCK_TIMEOUT, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.writer_lock_path = writer_lock_path
        self.writer_lock_timeout = writer_lock_timeout

    def execute(self, context: Any) -> Any:
        lock = Path(self.writer_lock_path) if self.writer_lock_path else None
        with writer_lock(lock, self.writer_lock_timeout, _holder(context)):
            return super().execute(context)


def _holder(context: Any) -> str:
    """The task holding the writer lock, as its lock file names it."""
    ti = context.get("ti") if hasattr(context, "get") else None
    if ti is None:
        return "a task"
    return f"task {ti.task_id} (try {ti.try_number}) of run {ti.run_id}"
