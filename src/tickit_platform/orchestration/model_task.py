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
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Not airflow.sdk.exceptions: it has no AirflowException before Airflow 3.1, and MWAA runs 3.0.x. From 3.1 on,
# airflow.exceptions imports the SDK's class (the same object) without marking it as re-exported.
from airflow.exceptions import AirflowException  # type: ignore[attr-defined]
from airflow.triggers.base import StartTriggerArgs
from cosmos.operators._watcher.state import DbtTestStatus, get_dbt_event_xcom_key, get_xcom_val
from cosmos.operators.local import DbtSourceLocalOperator
from cosmos.operators.watcher import DbtRunWatcherOperator

from tickit_platform.orchestration.model_trigger import BUILD, ModelTrigger


@contextmanager
def writer_lock(path: Path | None) -> Iterator[None]:
    """Hold an exclusive lock while a dbt process writes the DuckDB file (it allows one writer)."""
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# How much lower a model task's CPU priority is than the producer's (os.nice; 19 is the lowest).
WATCHER_NICENESS = 10


class DbtModelTask(DbtRunWatcherOperator):  # type: ignore[misc]  # cosmos ships no type hints
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
        writer_lock_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.has_tests = has_tests
        self.upstream_models = upstream_models or []
        self.writer_lock_path = writer_lock_path
        self.start_from_trigger = True
        self.start_trigger_args = StartTriggerArgs(
            trigger_cls=f"{ModelTrigger.__module__}.{ModelTrigger.__qualname__}",
            trigger_kwargs={
                "model_unique_id": self.model_unique_id,
                "producer_task_id": self.producer_task_id,
                "upstream_models": self.upstream_models,
                "has_tests": self.has_tests,
                "poke_interval": float(self.poke_interval),
            },
            next_method="resume_on_worker",
            next_kwargs=None,
            timeout=None,
        )

    def execute(self, context: Any) -> Any:
        # Every try starts in the triggerer (start_from_trigger); the scheduler never sends this task to a
        # worker's execute, only to resume_on_worker.
        raise AirflowException(f"{self.task_id} starts in Airflow's triggerer; is an `airflow triggerer` running?")

    def resume_on_worker(self, context: Any, event: dict[str, Any] | None = None) -> Any:
        """What the trigger could not do in the triggerer: build the model, or fail saying dbt's words."""
        event = event or {}
        if event.get("action") == BUILD:
            self.log.info("%s.", str(event.get("why", "")).capitalize())
            # Below the producer's CPU priority: a shared build may still run beside this one's reads.
            with contextlib.suppress(OSError):
                os.nice(WATCHER_NICENESS)
            return self._fallback_to_non_watcher_run(context["ti"].try_number, context)
        ti = context["ti"]
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
        reason = self._dbt_message(ti)
        raise AirflowException(f"{failure}: {reason}" if reason else failure)

    def _fallback_to_non_watcher_run(self, try_number: int, context: Any) -> bool:
        lock = Path(self.writer_lock_path) if self.writer_lock_path else None
        with writer_lock(lock):
            return bool(super()._fallback_to_non_watcher_run(try_number, context))

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


class SourceFreshnessTask(DbtSourceLocalOperator):  # type: ignore[misc]  # cosmos ships no type hints
    """`dbt source freshness`, holding the warehouse's writer lock: dbt opens DuckDB for writing."""

    def __init__(self, *, writer_lock_path: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.writer_lock_path = writer_lock_path

    def execute(self, context: Any) -> Any:
        with writer_lock(Path(self.writer_lock_path) if self.writer_lock_path else None):
            return super().execute(context)
