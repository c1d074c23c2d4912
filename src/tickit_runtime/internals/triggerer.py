"""The changes to Airflow's triggerer that let model tasks start and end in it at any project size.

Made in the triggerer's supervisor process before it starts its runner, which it forks (on Linux; on macOS,
where Airflow forks and execs, the runner's two changes below are not inherited: Airflow's own cadence, slower,
never wrong). Each stays within the versions it was verified on (gate.py).

In the supervisor:
- **workloads without the DAG**: Airflow puts the whole serialized DAG into the workload of every trigger
  whose task starts in the triggerer (2.9 MB at 1,017 models), for a template context `ModelTrigger` never
  renders; the supervisor deserializes it per trigger and, past the socket's buffer, its send to the runner
  can hang the triggerer for good (docs/decisions/023, docs/upstream/). A model trigger's workload is built as
  for a trigger a worker deferred to.
- **new triggers in bounded batches**: the supervisor answers each of the runner's talks with every trigger
  to start (about 0.84 KB each without the DAG: 0.8 MB when 1,000 tasks become ready at once). It hands them
  over `WORKLOADS_BYTES` at a time, so that no message it sends grows with the project.
- **the largest message measured**: every message the supervisor sends its runner is measured; each new
  largest is logged, and one over `MESSAGE_BOUND` as a warning (benchmarks read it from the triggerer's log).

In the runner:
- **a brisk cadence around model triggers**: the runner talks to its supervisor once a second; a model task
  pays that second twice (before its trigger starts, before its success is recorded). While a few model
  triggers run, and for a while after, it talks every `BRISK_WAIT`; while the supervisor still holds new
  triggers back (a batch near `WORKLOADS_BYTES` arrived), at once.
- **a trigger's end reported a grace after it ended**: the supervisor closes a trigger's log file when told
  it finished, before reading the log lines still on their way (docs/upstream/): the end is reported
  `FINISHED_GRACE` later, its events at once.
"""

from __future__ import annotations

import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tickit_runtime.internals.gate import (
    Change,
    expect_names,
    expect_parameters,
    first_problem,
    is_made,
    mark,
    unchanged,
)

RUNNER_MODULE = "airflow.jobs.triggerer_job_runner"
# model_trigger.ModelTrigger's class path, spelled out: this module must not import Airflow's triggerer code
# (tests/unit/test_internals.py checks that the trigger serializes under it).
MODEL_TRIGGER_CLASSPATH = "tickit_runtime.model_trigger.ModelTrigger"
VERIFIED_ON = frozenset({"3.3.1", "3.3.2"})

# What the supervisor hands its runner in one message: new triggers' workloads up to this many bytes as JSON (at
# least one). The message is msgpack, about a tenth smaller (48 KiB of JSON measured 44 KB), which leaves room
# under MESSAGE_BOUND for the rest of it (the ids to cancel, confirmations).
WORKLOADS_BYTES = 56 * 1024
# The bound every message from the supervisor to its runner is held to: well under the 208 KiB a Unix socket
# buffers by default on Linux, past which a send can block (docs/upstream/triggerer-blocking-send.md).
MESSAGE_BOUND = 64 * 1024
# Largest messages are logged from this size on, each at least a quarter larger than the last logged.
MESSAGE_LOGGED_FROM = 4 * 1024

# The runner's longest wait while model tasks are about: five talks a second, none more when idle.
BRISK_WAIT = 0.2
# Up to how many model triggers at once: with more, each talk carries many events, and talking five times as
# often cost more CPU than the second saved (217 models: 30.4 s against 28.0 s; benchmarks/README.md).
BRISK_UP_TO = 50
# How long after the last model trigger ended the runner stays brisk: the next stage's tasks come a moment later.
BRISK_AFTER = 30.0
# The wait while the supervisor holds new triggers back: none, it has them ready, only the message size keeps
# them (1,000 triggers ready at once come in about 17 talks).
CATCH_UP_WAIT = 0.0
# How long after a trigger ended its end is reported (its log file closed).
FINISHED_GRACE = 1.0

WORKLOADS_WITHOUT_DAG_NOTE = "tickit_runtime: the triggerer builds the workloads of %s without their DAG"
LARGEST_MESSAGE_NOTE = "tickit_runtime: largest message from the triggerer's supervisor to its runner: %d bytes"

log = logging.getLogger("tickit_runtime.internals")


def _runner_module() -> Any:
    import importlib

    return importlib.import_module(RUNNER_MODULE)


# Workloads without the DAG.


class _NoDag:
    """The supervisor's DAG bag, for a trigger whose workload needs no DAG: it finds none."""

    def get_serialized_dag_model_for_run(self, *args: Any, **kwargs: Any) -> None:
        return None

    def get_serialized_dag_model(self, *args: Any, **kwargs: Any) -> None:
        return None


def _workloads_shape() -> str | None:
    create = unchanged(_runner_module().TriggerRunnerSupervisor._create_workload)
    # Every lookup it makes in the DAG bag must be one _NoDag answers (3.3.1 makes one, 3.3.2 both).
    lookups = {name for name in create.__code__.co_names if name.startswith("get_serialized_dag")}
    unanswered = sorted(lookups - {name for name in dir(_NoDag) if not name.startswith("_")})
    return first_problem(
        expect_parameters(create, ["self", "trigger", "dag_bag", "render_log_fname", "session"]),
        expect_names(create, ["classpath", "get_serialized_dag_model", "start_from_trigger"]),
        f"it asks the DAG bag for {unanswered}" if unanswered else None,
    )


def _make_workloads_without_dag() -> None:
    supervisor = _runner_module().TriggerRunnerSupervisor
    original = supervisor._create_workload
    if is_made(original):
        return

    def _create_workload(self: Any, trigger: Any, dag_bag: Any, render_log_fname: Any, session: Any) -> Any:
        if trigger.classpath == MODEL_TRIGGER_CLASSPATH:
            dag_bag = _NoDag()
        return original(self, trigger=trigger, dag_bag=dag_bag, render_log_fname=render_log_fname, session=session)

    supervisor._create_workload = mark(_create_workload, "workloads without the DAG", original)
    log.info(WORKLOADS_WITHOUT_DAG_NOTE, MODEL_TRIGGER_CLASSPATH)


def workloads_carry_no_dag() -> bool:
    """Whether this process's triggerer supervisor builds model-trigger workloads without the DAG."""
    return is_made(_runner_module().TriggerRunnerSupervisor._create_workload)


# New triggers in bounded batches.


def workload_bytes(workload: Any) -> int:
    return len(workload.model_dump_json())


def take_up_to(queued: deque[Any], limit: int) -> int:
    """How many of the first queued workloads fit in `limit` bytes (at least one)."""
    total = count = 0
    for workload in queued:
        total += workload_bytes(workload)
        if count and total > limit:
            break
        count += 1
    return count


def _batches_shape() -> str | None:
    runner = _runner_module()
    handle = unchanged(runner.TriggerRunnerSupervisor._handle_request)
    return first_problem(
        expect_parameters(handle, ["self", "msg", "log", "req_id"]),
        expect_names(handle, ["TriggerStateChanges", "creating_triggers", "to_create"]),
        None if hasattr(runner.messages, "TriggerStateChanges") else "it has no messages.TriggerStateChanges",
    )


def _make_bounded_batches() -> None:
    runner = _runner_module()
    supervisor = runner.TriggerRunnerSupervisor
    original = supervisor._handle_request
    if is_made(original):
        return
    state_changes = runner.messages.TriggerStateChanges

    def _handle_request(self: Any, msg: Any, log: Any, req_id: int) -> None:
        queued = self.creating_triggers
        held: deque[Any] = deque()
        if isinstance(msg, state_changes) and queued:
            keep = take_up_to(queued, WORKLOADS_BYTES)
            while len(queued) > keep:
                held.appendleft(queued.pop())
        try:
            original(self, msg, log, req_id)
        finally:
            # Still known to the supervisor (update_triggers counts what is queued): sent at the next talks.
            queued.extend(held)

    supervisor._handle_request = mark(_handle_request, "new triggers in bounded batches", original)


# The largest message measured.


class _Largest:
    sent = 0
    logged = 0


def largest_message() -> int:
    """The largest message this process's supervisor sent its runner, in bytes."""
    return _Largest.sent


def note_message(size: int) -> None:
    if size <= _Largest.sent:
        return
    _Largest.sent = size
    if size > MESSAGE_BOUND:
        log.warning(LARGEST_MESSAGE_NOTE + ", over the bound of %d", size, MESSAGE_BOUND)
        _Largest.logged = size
    elif size >= MESSAGE_LOGGED_FROM and size >= _Largest.logged * 1.25:
        log.info(LARGEST_MESSAGE_NOTE, size)
        _Largest.logged = size


class _Measured:
    """The supervisor's socket to its runner, measuring what is sent on it."""

    def __init__(self, sock: Any) -> None:
        self._sock = sock

    def sendall(self, data: bytes, *args: Any) -> Any:
        note_message(len(data))
        return self._sock.sendall(data, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _measure_shape() -> str | None:
    send = unchanged(_runner_module().TriggerRunnerSupervisor.send_msg)
    return first_problem(
        expect_parameters(send, ["self", "msg", "request_id", "error", "dump_opts"]),
        expect_names(send, ["stdin", "sendall"]),
    )


def _make_measured_sends() -> None:
    supervisor = _runner_module().TriggerRunnerSupervisor
    original = supervisor.send_msg
    if is_made(original):
        return

    def send_msg(self: Any, msg: Any, request_id: int, error: Any = None, **dump_opts: Any) -> None:
        sock = self.stdin
        self.stdin = _Measured(sock)
        try:
            original(self, msg, request_id, error, **dump_opts)
        finally:
            self.stdin = sock

    supervisor.send_msg = mark(send_msg, "messages measured", original)


# The runner's cadence.


class _Activity:
    running = 0
    last_ended = float("-inf")
    catching_up = False


def brisk() -> bool:
    """Whether a few model triggers run in this process, or did a moment ago."""
    if _Activity.running > BRISK_UP_TO:
        return False
    return _Activity.running > 0 or time.monotonic() - _Activity.last_ended < BRISK_AFTER


def longest_wait() -> float | None:
    """The runner's longest wait between two talks now (None: Airflow's own)."""
    if _Activity.catching_up:
        return CATCH_UP_WAIT
    return BRISK_WAIT if brisk() else None


@contextmanager
def model_trigger_running() -> Iterator[None]:
    """Around a model trigger's run (it only counts: where the cadence is not changed, nothing reads it)."""
    _Activity.running += 1
    try:
        yield
    finally:
        _Activity.running -= 1
        _Activity.last_ended = time.monotonic()


class _BriskAnyio:
    """The runner module's `anyio`, whose `move_on_after` (the runner's wait) is capped by `longest_wait()`."""

    def __init__(self, anyio: Any) -> None:
        self._anyio = anyio

    def move_on_after(self, delay: float | None, *args: Any, **kwargs: Any) -> Any:
        cap = longest_wait()
        if cap is not None and (delay is None or delay > cap):
            delay = cap
        return self._anyio.move_on_after(delay, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._anyio, name)


def _cadence_shape() -> str | None:
    runner = _runner_module()
    return first_problem(
        None if hasattr(getattr(runner, "anyio", None), "move_on_after") else "it has no anyio.move_on_after",
        expect_names(runner.TriggerRunner.arun, ["anyio", "move_on_after", "sync_state_to_supervisor"]),
    )


def _make_brisk_cadence() -> None:
    runner = _runner_module()
    if not isinstance(runner.anyio, _BriskAnyio):
        runner.anyio = _BriskAnyio(runner.anyio)


def report_finished_after_grace(sync: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """`TriggerRunner.sync_state_to_supervisor`, reporting each finished trigger only once it ended
    `FINISHED_GRACE` ago (its events and failures at once), and noting whether the supervisor may still hold
    new triggers back (a batch of nearly `WORKLOADS_BYTES` arrived)."""
    ended: dict[int, float] = {}

    @functools.wraps(sync)
    async def sync_state_to_supervisor(self: Any, finished_ids: list[int]) -> None:
        now = time.monotonic()
        for trigger_id in finished_ids:
            ended.setdefault(trigger_id, now)
        due = [trigger_id for trigger_id, at in ended.items() if now - at >= FINISHED_GRACE]
        for trigger_id in due:
            del ended[trigger_id]
        before = len(self.to_create)
        await sync(self, due)
        arrived = list(self.to_create)[before:]
        _Activity.catching_up = sum(workload_bytes(w) for w in arrived) > WORKLOADS_BYTES // 2

    mark(sync_state_to_supervisor, "a trigger's end reported a grace after it ended", sync)
    return sync_state_to_supervisor


def _grace_shape() -> str | None:
    runner_class = _runner_module().TriggerRunner
    sync = unchanged(runner_class.sync_state_to_supervisor)
    return first_problem(
        expect_parameters(sync, ["self", "finished_ids"]),
        expect_names(sync, ["process_trigger_events", "to_create"]),
        expect_parameters(runner_class.process_trigger_events, ["self", "finished_ids"]),
    )


def _make_graced_ends() -> None:
    runner_class = _runner_module().TriggerRunner
    if not is_made(runner_class.sync_state_to_supervisor):
        runner_class.sync_state_to_supervisor = report_finished_after_grace(runner_class.sync_state_to_supervisor)


REPORTS = "docs/upstream/"
CHANGES = (
    Change(
        name="workloads without the DAG",
        target=f"{RUNNER_MODULE}.TriggerRunnerSupervisor._create_workload",
        package="airflow",
        verified_on=VERIFIED_ON,
        shape=_workloads_shape,
        make=_make_workloads_without_dag,
        report=REPORTS + "dag-in-every-trigger-workload.md",
    ),
    Change(
        name="new triggers in bounded batches",
        target=f"{RUNNER_MODULE}.TriggerRunnerSupervisor._handle_request",
        package="airflow",
        verified_on=VERIFIED_ON,
        shape=_batches_shape,
        make=_make_bounded_batches,
        report=REPORTS + "triggerer-blocking-send.md",
    ),
    Change(
        name="messages measured",
        target=f"{RUNNER_MODULE}.TriggerRunnerSupervisor.send_msg",
        package="airflow",
        verified_on=VERIFIED_ON,
        shape=_measure_shape,
        make=_make_measured_sends,
    ),
    Change(
        name="a trigger's end reported a grace after it ended",
        target=f"{RUNNER_MODULE}.TriggerRunner.sync_state_to_supervisor",
        package="airflow",
        verified_on=VERIFIED_ON,
        shape=_grace_shape,
        make=_make_graced_ends,
        report=REPORTS + "trigger-log-closed-before-drained.md",
    ),
    Change(
        name="a brisk cadence around model triggers",
        target=f"{RUNNER_MODULE}.anyio (TriggerRunner.arun's wait)",
        package="airflow",
        verified_on=VERIFIED_ON,
        shape=_cadence_shape,
        make=_make_brisk_cadence,
    ),
)
