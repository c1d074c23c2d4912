"""The shared build's results under one XCom key, so that one look serves every model task waiting on it.

Cosmos' producer publishes one XCom per dbt node (its status) and per model (its tests' aggregated
result), and Airflow's execution API reads one key per request. A model task waiting in the triggerer
would need a request per look; at 1,000 waiting models those looks, budgeted, paced the end of the run
(benchmarks/README.md). So the producer also publishes every result so far under `RESULTS_KEY`, at most
once a `PUBLISH_INTERVAL` while results change and once more when its build ended well, and the triggers
of a run share one reader of that key (orchestration/model_trigger.py).

The results are the ones Cosmos pushed: its producer keeps a copy of each XCom it pushes
(`_cosmos_xcom_backup_buffer`, docs/decisions/017), read here under the lock Cosmos pushes with.

Cosmos also pushes a node's dbt event four times (started, compiling, executing, finished) under one key
that is read only once the node ended, and a model's compiled SQL twice: each push is a request the API
server answers (about 4,000 of them at 1,000 models), made from dbt's own threads one at a time under one
lock, so the build waits for them. So the producer pushes neither the in-between events (the last, which says
how the node ended and with what message, is pushed) nor a value its key already holds. And where the model
tasks wait in the triggerer (Airflow 3.2+), it pushes neither the dbt event nor the compiled SQL of a node that
succeeded: their only readers are Cosmos' consumers in a worker (before 3.2), and a model task reads a
model's event only to quote dbt's message on a failure. That leaves one push per succeeded model (its status,
which a model task reads if the build ended without publishing it) instead of three.

This module ships to MWAA with the DAG and needs nothing from the rest of the package.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from enum import Enum
from typing import Any

from cosmos.operators._watcher.state import (
    get_compiled_sql_xcom_key,
    get_dbt_event_xcom_key,
    get_status_xcom_key,
    is_dbt_node_status_success,
    xcom_set_lock,
)

RESULTS_KEY = "tickit_build_results"
PUBLISH_INTERVAL = 1.0
# Cosmos' per-node keys end "_status" and its per-model tests keys "_tests_status"; "task_status" is the
# producer's own end, which the trigger reads as the task's state instead.
_RESULT_SUFFIX = "_status"
_NOT_A_RESULT = frozenset({"task_status"})

# dbt's RunningStatus: a node's events before it ended.
IN_BETWEEN_STATUSES = frozenset({"started", "compiling", "executing"})
_EVENT_SUFFIX = get_dbt_event_xcom_key("")
_COMPILED_SQL_SUFFIX = get_compiled_sql_xcom_key("")
_STATUS_SUFFIX = get_status_xcom_key("")
_NOTHING = object()

log = logging.getLogger(__name__)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        value = value.get("status")
    return value.value if isinstance(value, Enum) else value


def results_of(pushed: Mapping[str, Any]) -> dict[str, str]:
    """The results among the XComs Cosmos pushed: XCom key -> dbt's status (or the tests' aggregate)."""
    return {
        key: str(_plain(value))
        for key, value in pushed.items()
        if key.endswith(_RESULT_SUFFIX) and key not in _NOT_A_RESULT and _plain(value) is not None
    }


class ResultsPublisher:
    """Pushes the producer's results so far under one key, from a thread, while its build runs."""

    def __init__(self, ti: Any, interval: float = PUBLISH_INTERVAL) -> None:
        self._ti = ti
        self._interval = interval
        self._published: dict[str, str] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tickit-build-results", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def publish(self) -> None:
        """Push the results if they changed since the last push."""
        # Cosmos pushes from dbt's threads under this lock (the Task SDK's channel is not thread-safe), and
        # mutates its copy of what it pushed under it: hold it to read that copy and to push.
        with xcom_set_lock:
            results = results_of(getattr(self._ti, "_cosmos_xcom_backup_buffer", None) or {})
            if results == self._published:
                return
            self._ti.xcom_push(key=RESULTS_KEY, value=results)
            self._published = results

    def finish(self) -> None:
        self._stop.set()
        self._thread.join(timeout=self._interval * 5)
        self.publish()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.publish()
            # Any failure to publish must leave the build running: the model tasks then see their results
            # when the build ends (from Cosmos' own keys), later but the same.
            except Exception:
                log.warning(
                    "Could not publish the build's results under the XCom key %s; the model tasks will read "
                    "them when the build ends.",
                    RESULTS_KEY,
                    exc_info=True,
                )


_publishers: dict[int, ResultsPublisher] = {}


def is_in_between_event(key: str, value: Any) -> bool:
    """Whether an XCom is a node's dbt event from before the node ended (read by no one: the last overwrites it)."""
    return key.endswith(_EVENT_SUFFIX) and isinstance(value, Mapping) and value.get("status") in IN_BETWEEN_STATUSES


def is_a_succeeded_nodes_detail(key: str, value: Any, pushed: Mapping[str, Any]) -> bool:
    """Whether an XCom is the dbt event or the compiled SQL of a node that succeeded (`pushed`: Cosmos' copy)."""
    if key.endswith(_EVENT_SUFFIX):
        return isinstance(value, Mapping) and bool(is_dbt_node_status_success(_plain(value)))
    if key.endswith(_COMPILED_SQL_SUFFIX):
        # Cosmos pushes a node's compiled SQL just after its status.
        status = pushed.get(key.removesuffix(_COMPILED_SQL_SUFFIX) + _STATUS_SUFFIX)
        return bool(is_dbt_node_status_success(_plain(status)))
    return False


def skip_needless_pushes(ti: Any, *, details_read_on_success: bool = True) -> None:
    """Make the producer's task instance drop the pushes of in-between dbt events and of values a key already
    holds, and unless `details_read_on_success`, a succeeded node's dbt event and compiled SQL (Cosmos still
    keeps its copy of each)."""
    push = ti.xcom_push

    def xcom_push(key: str, value: Any, **kwargs: Any) -> None:
        # Cosmos updates its copy after the push, under the lock it pushes with: it holds the key's last value.
        pushed = getattr(ti, "_cosmos_xcom_backup_buffer", None) or {}
        if is_in_between_event(key, value) or pushed.get(key, _NOTHING) == value:
            return
        if not details_read_on_success and is_a_succeeded_nodes_detail(key, value, pushed):
            return
        push(key=key, value=value, **kwargs)

    # The task instance is a pydantic model, which refuses new attributes: set it on the instance itself.
    object.__setattr__(ti, "xcom_push", xcom_push)


def start_publishing(context: Any, *, details_read_on_success: bool = True) -> None:
    """The producer's `pre_execute`: publish the results while the build runs, without needless pushes
    (`details_read_on_success`: whether Cosmos' consumers in workers wait on the build, before Airflow 3.2)."""
    ti = context["ti"]
    skip_needless_pushes(ti, details_read_on_success=details_read_on_success)
    publisher = _publishers[id(ti)] = ResultsPublisher(ti)
    publisher.publish()  # an empty publication first: a model task that looks before dbt's first result finds it
    publisher.start()


def finish_publishing(context: Any, result: Any = None) -> None:
    """The producer's `post_execute` (after a build that ended well): publish the last results at once.

    After a failed build the thread's last push stands; a trigger that finds no result for its model once
    the producer ended reads Cosmos' own key for it.
    """
    publisher = _publishers.pop(id(context["ti"]), None)
    if publisher is not None:
        publisher.finish()
