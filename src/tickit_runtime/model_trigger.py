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
server). The triggers of one run share one reader: every quarter second to `poke_interval / 2` (the more
triggers, and the longer the build has run, the less often), it reads the producer's state and the pieces of
the build's results published since its last reading (tickit_runtime/build_results.py), a few requests however
many model tasks wait, none returning more than a bounded piece. A trigger reads Cosmos' own key for its model
only once the producer ended without that result in the last publication (a failed build's last second).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent
from asgiref.sync import sync_to_async

from tickit_runtime import pacing
from tickit_runtime.build_results import RESULTS_KEY, count_of, piece_key, results_of, try_of
from tickit_runtime.cosmos_watcher import (
    DbtTestStatus,
    get_status_xcom_key,
    get_tests_status_xcom_key,
    is_dbt_node_status_success,
    is_dbt_node_status_terminal,
)
from tickit_runtime.internals.triggerer import model_trigger_running

# States in which the producer's `dbt build` no longer runs (and no longer holds the warehouse).
PRODUCER_DONE = frozenset({"success", "failed", "skipped", "upstream_failed", "removed"})
BUILD = "build"
FAIL = "fail"


class _RunWatch:
    """What one run's shared build reported, as last read for every trigger of the run in this process."""

    def __init__(self) -> None:
        self.results: dict[str, str] = {}  # the producer's publications read so far: XCom key -> status
        self.pieces = 0  # how many of the publication's pieces are read
        self.attempt: int | None = None  # the producer's try whose publication they are
        self.fetched: dict[str, str] = {}  # read from Cosmos' own keys once the producer ended
        self.producer: str | None = None
        self.read_at = float("-inf")
        self.since = time.monotonic()  # when the run's first trigger here began to watch: about the build's age
        self.lock = asyncio.Lock()
        self.triggers = 0


_runs: dict[tuple[str, str], _RunWatch] = {}
# A trigger waiting for other tasks (the models its tests read) asks for their states itself. Hundreds of
# model tasks can wait at once, and each asking every few seconds cost more CPU than the build itself
# (benchmarks/README.md), so those requests of one run share a budget: each such trigger looks every
# poke_interval, or less often when that many waiting would exceed it.
LOOKS_PER_SECOND_PER_RUN = 8.0
_waiting_on_peers: dict[tuple[str, str], set[int]] = {}
# How often a trigger looks at its run's shared reading (in memory), and how old the reading may be before a
# look reads it again (a few requests): a run with few model tasks, as the article's 17, looks four times a
# second, so that each stage's tasks end a moment after the build reported them (a look every poke_interval cost
# up to three seconds per stage, at the end of every run; twice a second still half a second per stage, the three
# stages one after another, decision 044); a run with many keeps to a budget of looks, up to one look per
# poke_interval, and reads no more often than before (every poke_interval / 2).
BRISKEST_LOOK = 0.25
LOOKS_PER_SECOND_BUDGET = 100.0
# The reading (requests through the triggerer's supervisor to the API server) grows staler as the build lasts
# (pacing.py), up to this: during a build of minutes (scale 100) read four times a second, the triggerer took up
# to a quarter of a core beside it; a stage of its models is then seen at most a second later.
STALEST_READING = 1.0


def task_states(dag_id: str, run_id: str, task_ids: list[str]) -> dict[str, str | None]:
    """Each task's state in the run (None: not yet scheduled), through the Task SDK: in a trigger, or in a task's
    process (the producer waiting for the load, finishing a killed build)."""
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance

    states = RuntimeTaskInstance.get_task_states(dag_id=dag_id, task_ids=task_ids, run_ids=[run_id])
    found = states.get(run_id, {})
    return {task: (str(found[task]) if found.get(task) is not None else None) for task in task_ids}


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

    def _run_key(self) -> tuple[str, str]:
        ti = self._ti()
        return (ti.dag_id, ti.run_id)

    async def _watch(self) -> _RunWatch:
        """The run's shared reading, read again once older than `_stale_after`."""
        watch = _runs.setdefault(self._run_key(), _RunWatch())
        async with watch.lock:
            if time.monotonic() - watch.read_at >= self._stale_after(watch):
                ti = self._ti()
                # The producer's state first: once it ended, the results read after it are all it published.
                watch.producer = await sync_to_async(self._read_producer_state)(ti.dag_id, ti.run_id)
                await self._read_new_pieces(watch)
                watch.read_at = time.monotonic()
        return watch

    def _stale_after(self, watch: _RunWatch) -> float:
        """Seconds after which the run's reading is read again: half the run's look interval (BRISKEST_LOOK at
        least), longer as the build lasts (STALEST_READING at most, unless the looks are slower), and never more
        than half a poke_interval."""
        brisk = max(BRISKEST_LOOK, self._look_every() / 2)
        return min(self.poke_interval / 2, pacing.pause(brisk, time.monotonic() - watch.since, STALEST_READING))

    async def _read_new_pieces(self, watch: _RunWatch) -> None:
        """The pieces of the publication not read yet (each reading one bounded piece, build_results.py)."""
        index = await self._xcom(RESULTS_KEY)
        count, attempt = count_of(index), try_of(index)
        if attempt != watch.attempt or count < watch.pieces:
            # A new try of the producer (one finishing a killed build) publishes again from the first piece.
            watch.results, watch.fetched, watch.pieces, watch.attempt = {}, {}, 0, attempt
        while watch.pieces < count:
            piece = await self._xcom(piece_key(watch.pieces))
            if not isinstance(piece, dict):
                return  # not visible yet: read at the next look
            watch.results.update(piece)
            watch.pieces += 1

    async def _result(self, key: str) -> str | None:
        watch = await self._watch()
        found = watch.results.get(key) or watch.fetched.get(key)
        if found is None and watch.producer in PRODUCER_DONE:
            # The build's last results may not have been published (a failed build ends without the final
            # publication): Cosmos' own key for them is complete once the producer ended.
            value = results_of({key: await self._xcom(key)}).get(key)
            if value is not None:
                watch.fetched[key] = found = value
        return found

    async def _status(self, unique_id: str) -> str | None:
        return await self._result(get_status_xcom_key(unique_id))

    async def _producer_state(self) -> str | None:
        return (await self._watch()).producer

    def _read_producer_state(self, dag_id: str, run_id: str) -> str | None:
        return task_states(dag_id, run_id, [self.producer_task_id])[self.producer_task_id]

    async def _peers_done(self) -> bool:
        """Whether the tasks of the models this model's tests read are done (built, failed or not run)."""
        ti = self._ti()
        states = await sync_to_async(task_states)(ti.dag_id, ti.run_id, self.test_peers)
        return all(state in PRODUCER_DONE for state in states.values())

    # The verdict.

    async def run(self) -> AsyncIterator[TriggerEvent]:
        key = self._run_key()
        watch = _runs.setdefault(key, _RunWatch())
        watch.triggers += 1
        try:
            with model_trigger_running():
                event = await (self._retry() if self._ti().try_number > 1 else self._first_try())
        finally:
            watch.triggers -= 1
            if not watch.triggers:
                _runs.pop(key, None)  # the run's reading goes with its last trigger
        yield event

    def _look_every(self) -> float:
        """Seconds between two looks of this trigger: BRISKEST_LOOK while its run has few triggers in this
        process, longer as they grow past the budget, poke_interval at most."""
        watch = _runs.get(self._run_key())
        triggers = watch.triggers if watch is not None else 1
        return min(self.poke_interval, max(BRISKEST_LOOK, triggers / LOOKS_PER_SECOND_BUDGET))

    async def _pause(self) -> None:
        """Wait before the next look at the shared reading (one reading per run, however many triggers look)."""
        await asyncio.sleep(self._look_every())

    async def _pause_asking_for_peers(self) -> None:
        """Wait before asking again: poke_interval, stretched so the run's askers keep to the budget."""
        waiting = len(_waiting_on_peers.get(self._run_key(), ()))
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
        return bool(await self._result(get_tests_status_xcom_key(self.model_unique_id)) == DbtTestStatus.PASS.value)

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
            self.log.info("The shared dbt build reported %s a success.", self.model_unique_id)
            return TaskSuccessEvent()
        tests = await self._result(get_tests_status_xcom_key(self.model_unique_id))
        if tests == DbtTestStatus.PASS.value:
            self.log.info("dbt built %s and its data-quality tests passed (or warned).", self.model_unique_id)
            return TaskSuccessEvent()
        if tests == DbtTestStatus.FAIL.value:
            return self._to_worker(FAIL, f"data-quality tests on {self.model_unique_id} failed", tests="fail")
        if await self._producer_state() in PRODUCER_DONE:
            return self._to_worker(FAIL, f"dbt finished without reporting every test of {self.model_unique_id}")
        return None

    async def _build(self, why: str) -> TriggerEvent:
        """Hand the task to a worker to build its model, once the models its tests read were built in the run."""
        if self.test_peers and not await self._peers_done():
            self.log.info("Waiting for the tasks of %s: the tests on this model read them.", ", ".join(self.test_peers))
            asking = _waiting_on_peers.setdefault(self._run_key(), set())
            asking.add(id(self))
            try:
                while not await self._peers_done():
                    await self._pause_asking_for_peers()
            finally:
                asking.discard(id(self))
                if not asking:
                    _waiting_on_peers.pop(self._run_key(), None)
        return self._to_worker(BUILD, why)

    def _to_worker(self, action: str, why: str, **extra: str) -> TriggerEvent:
        self.log.info("Handing the task to a worker (%s): %s.", action, why)
        return TriggerEvent({"action": action, "why": why, **extra})  # type: ignore[no-untyped-call]
