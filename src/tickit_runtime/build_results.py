"""The shared build's results in bounded pieces, so that one look serves every model task waiting on it.

Cosmos' producer publishes one XCom per dbt node (its status) and per model (its tests' aggregated
result), and Airflow's execution API reads one key per request. A model task waiting in the triggerer
would need a request per look; at 1,000 waiting models those looks, budgeted, paced the end of the run
(benchmarks/README.md). So the producer also publishes the results, at most once a `PUBLISH_INTERVAL`
while they change and once more when its build ended well, and the triggers of a run share one reader
(tickit_runtime/model_trigger.py).

What changed since the last publication goes into new pieces of at most `PIECE_BYTES` each (`piece_key(i)`), then
`RESULTS_KEY` says how many pieces there are, and of which try of the producer (a retry that finishes a killed build
publishes again from the first piece, tickit_runtime/killed_build.py). A reader reads the count, then only the pieces
it has not read: no reading returns more than a piece, however many models the project has (every reading passes
through the triggerer supervisor's blocking send, docs/upstream/triggerer-blocking-send.md). One key holding every
result so far grew past what that send can pass without blocking at about 1,500 tested models.

The results are the ones Cosmos pushed, read from the copy Cosmos keeps (tickit_runtime/internals/producer.py,
one of the changes to Cosmos' internals, made only where verified; where it is not, nothing is published and
the model tasks read Cosmos' own keys once the build ended).

This module ships to MWAA with the DAG and needs nothing from the rest of the package but the internals.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator, Mapping
from enum import Enum
from typing import Any

from tickit_runtime import internals
from tickit_runtime.internals.producer import pushed_so_far, pushes_held

RESULTS_KEY = "tickit_build_results"
# A stage of model tasks waits for the publication, then for its trigger's look: once a second cost the article's
# 17-model run up to a second per stage, its three stages one after another (decision 044). A project with more
# model tasks than BRISK_UP_TO keeps to once a second: four times as many pieces, each a request to push and one
# per reading to read, cost the 1,017-model run a third more CPU in the API server and the triggerer.
PUBLISH_INTERVAL = 1.0
BRISK_PUBLISH_INTERVAL = 0.25
BRISK_UP_TO = 50
# A piece's results, as JSON, stay under this (one result is about 150 bytes): with the XCom response around
# it, a reading is far under the 64 KiB every message from the triggerer's supervisor is held to.
PIECE_BYTES = 16 * 1024
# Cosmos' per-node keys end "_status" and its per-model tests keys "_tests_status"; "task_status" is the
# producer's own end, which the trigger reads as the task's state instead.
_RESULT_SUFFIX = "_status"
_NOT_A_RESULT = frozenset({"task_status"})

log = logging.getLogger(__name__)


def piece_key(index: int) -> str:
    return f"{RESULTS_KEY}_{index}"


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


def pieces(results: Mapping[str, str], limit: int = PIECE_BYTES) -> Iterator[dict[str, str]]:
    """`results` cut into dicts of at most `limit` bytes as JSON (a result alone over it is a piece alone)."""
    piece: dict[str, str] = {}
    size = 2  # {}
    for key, value in results.items():
        entry = len(json.dumps({key: value}))  # the entry and its separator
        if piece and size + entry > limit:
            yield piece
            piece, size = {}, 2
        piece[key] = value
        size += entry
    if piece:
        yield piece


def count_of(index: Any) -> int:
    """The number of pieces a publication's index announces (0 for anything else)."""
    count = index.get("pieces") if isinstance(index, Mapping) else None
    return count if isinstance(count, int) and count >= 0 else 0


def try_of(index: Any) -> int | None:
    """The producer's try that made the publication an index announces (None: no publication)."""
    attempt = index.get("try") if isinstance(index, Mapping) else None
    return attempt if isinstance(attempt, int) else None


def publish_interval(ti: Any) -> float:
    """How often the producer of `ti` publishes: briskly for a project with few model tasks (a small DAG, as the
    article's), once a second for a larger one."""
    dag = getattr(ti.task, "dag", None)
    tasks = getattr(dag, "tasks", None) or []
    models = sum(1 for task in tasks if getattr(task, "producer_task_id", None) == ti.task_id)
    return BRISK_PUBLISH_INTERVAL if models <= BRISK_UP_TO else PUBLISH_INTERVAL


# The producer's running publisher, by its task instance: its callbacks and post_execute find it there.
_publishers: dict[int, ResultsPublisher] = {}


class ResultsPublisher:
    """Pushes the producer's new results in pieces, from a thread, while its build runs."""

    def __init__(self, ti: Any, interval: float | None = None) -> None:
        self._ti = ti
        self._interval = publish_interval(ti) if interval is None else interval
        self._published: dict[str, str] = {}
        self._own: dict[str, str] = {}  # results the producer adds beside dbt's nodes (the freshness check)
        self._pieces: int | None = None  # None: nothing pushed yet
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="tickit-build-results", daemon=True)

    def start(self) -> None:
        """Publish from a thread until `finish`; the task's process finds this publisher by its task instance."""
        _publishers[id(self._ti)] = self
        self._thread.start()

    def publish(self) -> None:
        """Push what changed since the last push as new pieces, then their count (nothing if nothing changed)."""
        # Cosmos pushes from dbt's threads under this lock and updates its copy of what it pushed under it: hold
        # it to read that copy and to push.
        with pushes_held():
            results = {**results_of(pushed_so_far(self._ti)), **self._own}
            changed = {key: value for key, value in results.items() if self._published.get(key) != value}
            if not changed and self._pieces is not None:
                return
            count = self._pieces or 0
            for piece in pieces(changed):
                self._ti.xcom_push(key=piece_key(count), value=piece)
                count += 1
            # The count last: a reader that sees it finds every piece it counts.
            self._ti.xcom_push(key=RESULTS_KEY, value={"pieces": count, "try": self._ti.try_number})
            self._pieces = count
            self._published.update(changed)

    def add(self, key: str, status: str) -> None:
        """A result of the producer's own, published with dbt's from now on."""
        with pushes_held():
            self._own[key] = status

    def finish(self) -> None:
        if _publishers.get(id(self._ti)) is self:
            del _publishers[id(self._ti)]
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


def start_publishing(context: Any, *, details_read_on_success: bool = True) -> None:
    """The producer's `pre_execute`: its task instance pushes only what is read, and the results are
    published while the build runs (`details_read_on_success`: whether Cosmos' consumers in workers wait on
    the build). Where the change to Cosmos' producer is refused, neither (tickit_runtime/internals)."""
    ti = context["ti"]
    if not internals.in_producer(ti, details_read_on_success=details_read_on_success):
        return
    publisher = ResultsPublisher(ti)
    publisher.publish()  # an empty publication first: a model task that looks before dbt's first result finds it
    publisher.start()


def finish_publishing(context: Any, result: Any = None) -> None:
    """The producer's `post_execute` (after a build that ended well): publish the last results at once.

    After a failed build the thread's last push stands; a trigger that finds no result for its model once
    the producer ended reads Cosmos' own key for it.
    """
    publisher = _publishers.get(id(context["ti"]))
    if publisher is not None:
        publisher.finish()


def publish_now(context: Any) -> None:
    """Publish what the build reported so far at once, not at the publishing thread's next turn."""
    publisher = _publishers.get(id(context["ti"]))
    if publisher is not None:
        publisher.publish()


def publish_result(context: Any, key: str, status: str) -> None:
    """A result of the producer's own (not a dbt node's), under a key read as a node's status is: in the next
    publication, and under `key` itself, which a trigger reads once the producer ended without publishing it."""
    ti = context["ti"]
    publisher = _publishers.get(id(ti))
    if publisher is None:
        ti.xcom_push(key=key, value=status)
        return
    publisher.add(key, status)
    with pushes_held():  # the Task SDK's channel is not thread-safe: the publishing thread pushes under it
        ti.xcom_push(key=key, value=status)
    publisher.publish()
