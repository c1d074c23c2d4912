"""Where a model's task waits for the shared `dbt build`: in Airflow's triggerer, not in a worker process.

A model task starts in the triggerer (`start_from_trigger`) and, in the usual case, ends there too: once the
shared build reported the model and its tests a success, the trigger yields `TaskSuccessEvent` and no worker
process is ever started for it. It hands the task to a worker (an ordinary `TriggerEvent`, which resumes the
task's `resume_on_worker`) only when work or a failure's own words are needed there:

- ``build``: the model must be built by its task (a retry or a clear whose model the build did not leave a
  success; a model dbt skipped because a parent failed that has since succeeded; a build that ended, or
  died, before reaching the model);
- ``fail``: the model or its tests failed in the build. The worker raises with dbt's message, so the task's
  own log and its failure alert (sent from the task's process, as for every other task) say why.

The trigger reads what Cosmos' producer publishes (its XCom protocol, docs/decisions/017) through the Task
SDK's XCom and task-state calls, the ones a trigger may use in the triggerer (each a request to the API
server). The producer's state is read once per run and poll, however many model tasks wait on it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent
from asgiref.sync import sync_to_async
from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import (
    DbtTestStatus,
    get_status_xcom_key,
    is_dbt_node_status_success,
    is_dbt_node_status_terminal,
)

from tickit_platform.orchestration.triggerer_dags import share_deserialized_dags_in_runner

# States in which the producer's `dbt build` no longer runs (and no longer holds the warehouse).
PRODUCER_DONE = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
BUILD = "build"
FAIL = "fail"

# The producer's state per (dag_id, run_id), shared by every trigger of the run in this triggerer process:
# when it was read, and what it was.
_producer_states: dict[tuple[str, str], tuple[float, str | None]] = {}
_producer_locks: dict[tuple[str, str], asyncio.Lock] = {}
# Every look is a request to the API server. Hundreds of model tasks can wait at once (a wide project, a
# slow build), and each looking every few seconds cost more CPU than the build itself (benchmarks/README.md),
# so the looks of one run share a budget: each waiting trigger looks every poke_interval, or less often when
# that many waiting would exceed it. Measured against the one `dbt build`, a few seconds of latency is cheap.
LOOKS_PER_SECOND_PER_RUN = 8.0
_waiting: dict[tuple[str, str], set[int]] = {}


class ModelTrigger(BaseTrigger):
    """Follows one model through the shared `dbt build`; ends its task, or hands it to a worker."""

    def __init__(
        self,
        model_unique_id: str,
        producer_task_id: str,
        upstream_models: list[str] | None = None,
        has_tests: bool = False,
        poke_interval: float = 3.0,
        test_peers: list[str] | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Airflow's BaseTrigger is untyped
        self.model_unique_id = model_unique_id
        self.producer_task_id = producer_task_id
        self.upstream_models = list(upstream_models or [])
        self.has_tests = has_tests
        self.poke_interval = poke_interval
        self.test_peers = list(test_peers or [])

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "model_unique_id": self.model_unique_id,
                "producer_task_id": self.producer_task_id,
                "upstream_models": self.upstream_models,
                "has_tests": self.has_tests,
                "poke_interval": self.poke_interval,
                "test_peers": self.test_peers,
            },
        )

    # What the shared build reported, read through the Task SDK (the triggerer's way to the API server).

    def _ti(self) -> Any:
        ti = self.task_instance
        if ti is None:
            raise RuntimeError(f"{type(self).__name__} runs only as the start of a task (start_from_trigger)")
        return ti

    async def _xcom(self, key: str) -> Any:
        from airflow.sdk.execution_time.xcom import XCom

        ti = self._ti()
        return await sync_to_async(XCom.get_one)(
            run_id=ti.run_id, key=key, task_id=self.producer_task_id, dag_id=ti.dag_id, map_index=-1
        )

    async def _status(self, unique_id: str) -> str | None:
        value = await self._xcom(get_status_xcom_key(unique_id))
        return value.get("status") if isinstance(value, dict) else value

    async def _producer_state(self) -> str | None:
        ti = self._ti()
        key = (ti.dag_id, ti.run_id)
        lock = _producer_locks.setdefault(key, asyncio.Lock())
        async with lock:
            read_at, state = _producer_states.get(key, (float("-inf"), None))
            if time.monotonic() - read_at < self.poke_interval / 2:
                return state
            state = await sync_to_async(self._read_producer_state)(ti.dag_id, ti.run_id)
            _producer_states[key] = (time.monotonic(), state)
            return state

    def _read_producer_state(self, dag_id: str, run_id: str) -> str | None:
        return self._read_states(dag_id, run_id, [self.producer_task_id]).get(self.producer_task_id)

    @staticmethod
    def _read_states(dag_id: str, run_id: str, task_ids: list[str]) -> dict[str, str | None]:
        from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

        states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, task_ids=task_ids, run_ids=[run_id])
        found = states.get(run_id, {})
        return {task: (str(found[task]) if found.get(task) is not None else None) for task in task_ids}

    async def _peers_done(self) -> bool:
        """Whether the tasks of the models this model's tests read are done (built, failed or not run)."""
        ti = self._ti()
        states = await sync_to_async(self._read_states)(ti.dag_id, ti.run_id, self.test_peers)
        return all(state in PRODUCER_DONE for state in states.values())

    # The verdict.

    async def run(self) -> AsyncIterator[TriggerEvent]:
        ti = self._ti()
        waiting = _waiting.setdefault((ti.dag_id, ti.run_id), set())
        waiting.add(id(self))
        try:
            event = await (self._retry() if ti.try_number > 1 else self._first_try())
        finally:
            waiting.discard(id(self))
        yield event

    async def _pause(self) -> None:
        """Wait before the next look: poke_interval, stretched so the run's waiting triggers keep to the budget."""
        ti = self._ti()
        waiting = len(_waiting.get((ti.dag_id, ti.run_id), ()))
        await asyncio.sleep(max(self.poke_interval, waiting / LOOKS_PER_SECOND_PER_RUN))

    async def _retry(self) -> TriggerEvent:
        """A retry or a clear: the build's verdict on this model is the earlier try's.

        Wait until the build (and the producer's own retry) let go of the warehouse; then the task is done
        if the build left the model and its tests a success, and builds the model itself otherwise.
        """
        while (await self._producer_state()) not in PRODUCER_DONE:
            await self._pause()
        if is_dbt_node_status_success(await self._status(self.model_unique_id)) and await self._tests_passed():
            self.log.info("The shared dbt build already built %s and its tests passed.", self.model_unique_id)
            return TaskSuccessEvent()
        return await self._build(f"try {self._ti().try_number}: {self.model_unique_id} is built by its task")

    async def _tests_passed(self) -> bool:
        if not self.has_tests:
            return True
        return bool(await self._xcom(get_tests_status_xcom_key(self.model_unique_id)) == DbtTestStatus.PASS)

    async def _first_try(self) -> TriggerEvent:
        while True:
            status = await self._status(self.model_unique_id)
            if status is None:
                producer = await self._producer_state()
                if producer in PRODUCER_DONE:
                    return await self._build(
                        f"the shared dbt build ended ({producer}) without reporting {self.model_unique_id}"
                    )
            elif is_dbt_node_status_success(status):
                if event := await self._tests_verdict():
                    return event
            elif is_dbt_node_status_terminal(status):
                parents = [await self._status(parent) for parent in self.upstream_models]
                if any(not is_dbt_node_status_success(parent) for parent in parents):
                    # This task only starts once its upstream tasks succeeded, so the parent that failed in
                    # the build has since been retried or cleared and succeeded: the model's turn has come.
                    return await self._build(
                        f"dbt skipped {self.model_unique_id} after a parent failed; that parent succeeded since"
                    )
                return self._to_worker(FAIL, f"{self.model_unique_id} finished with status '{status}'", status=status)
            await self._pause()

    async def _tests_verdict(self) -> TriggerEvent | None:
        """Once the model is built: the task's end by its tests' aggregated result (None: not reported yet)."""
        if not self.has_tests:
            self.log.info("dbt built %s.", self.model_unique_id)
            return TaskSuccessEvent()
        tests = await self._xcom(get_tests_status_xcom_key(self.model_unique_id))
        if tests == DbtTestStatus.PASS:
            self.log.info("dbt built %s and its data-quality tests passed (or warned).", self.model_unique_id)
            return TaskSuccessEvent()
        if tests == DbtTestStatus.FAIL:
            return self._to_worker(FAIL, f"data-quality tests on {self.model_unique_id} failed", tests="fail")
        if await self._producer_state() in PRODUCER_DONE:
            return self._to_worker(FAIL, f"dbt finished without reporting every test of {self.model_unique_id}")
        return None

    async def _build(self, why: str) -> TriggerEvent:
        """Hand the task to a worker to build its model, once the models its tests read were built in the run."""
        if self.test_peers and not await self._peers_done():
            self.log.info("Waiting for the tasks of %s: the tests on this model read them.", ", ".join(self.test_peers))
            while not await self._peers_done():
                await self._pause()
        return self._to_worker(BUILD, why)

    def _to_worker(self, action: str, why: str, **extra: str) -> TriggerEvent:
        self.log.info("Handing the task to a worker (%s): %s.", action, why)
        return TriggerEvent({"action": action, "why": why, **extra})  # type: ignore[no-untyped-call]


MODEL_TRIGGER_CLASSPATH = f"{ModelTrigger.__module__}.{ModelTrigger.__qualname__}"
# The triggerer's runner imports this module to create the first model trigger, before it deserializes that
# trigger's DAG: from then on it deserializes each DAG once (orchestration/triggerer_dags.py).
share_deserialized_dags_in_runner()
