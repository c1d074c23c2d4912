"""While model tasks wait in the triggerer, its runner talks to its supervisor every 0.2 s, not every 1 s.

Airflow's trigger runner (`TriggerRunner.arun`) wakes once a second: to hand its supervisor the events its
triggers fired and to be told which triggers to start. A model task lives in the triggerer from start to end
(docs/decisions/023), so that second is paid twice per task stage: once before its trigger starts, once
before its success is recorded. Measured at 17 models: a silver task began at 24.27 s, its trigger started
at 26.21 s, fired at 26.24 s (the build was long done), and the task ended at 27.22 s; the run's four task
stages in a row added about 3 s each once the shared build had ended (benchmarks/README.md).

So while a model trigger runs, and for a while after the last one ended (the next stage's tasks come a
moment later), the runner waits at most `BRISK_WAIT` between two talks, as long as no more than
`BRISK_UP_TO` model triggers run at once (a stage of hundreds of tasks is worth its second). The
supervisor answers each talk at once and loads new triggers right after it, so both halves of the latency
shrink. Idle, with only other triggers, or with hundreds of model triggers, the runner keeps Airflow's
second.

A trigger's end is still reported at least `FINISHED_GRACE` after it ended, however brisk the talks. Its log
lines travel to the supervisor on a socket of their own, and the supervisor closes the trigger's log file
when it hears the trigger finished: lines read after that go to the triggerer's own log instead, and a
trigger that started and fired within one brisk turn (its model built long before) lost its whole log
file so (17 of 200 tasks once, in the 217-model rehearsal). Its event, which ends its task, is not held.
Airflow's own second-long turn leaves the same race open, only narrower; the grace closes it for both.

This replaces private parts of Airflow (the `anyio` its runner module calls, and the runner's report of
its triggers' state; docs/decisions/023 lists them); tests/unit/test_triggerer_dags.py fails when Airflow's
loop no longer waits or reports as assumed. Where a name is missing nothing is replaced: Airflow's own
cadence stays, slower, never wrong.
"""

from __future__ import annotations

import functools
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

from tickit_platform.orchestration.triggerer_dags import RUNNER_MODULE

# The runner's longest wait while model tasks are about. Each talk is one message to the supervisor and
# one query for new triggers there: five a second while a run's model tasks wait, none more when idle.
BRISK_WAIT = 0.2
# Up to how many model triggers at once: with more, each talk carries many events and many new triggers, and
# talking five times as often cost more CPU than the second saved (217 models: 30.4 s against 28.0 s, the
# triggerer's, scheduler's and API server's CPU up by a tenth; benchmarks/README.md).
BRISK_UP_TO = 50
# How long after the last model trigger ended the runner stays brisk: long enough for the scheduler to
# start the next stage's tasks, short enough that an idle triggerer soon goes back to Airflow's pace.
BRISK_AFTER = 30.0
# How long after a trigger ended its end is reported (its log file closed): the supervisor reads the log
# lines it sent before ending well within this, even busy with hundreds of triggers.
FINISHED_GRACE = 1.0


_GRACED = "_tickit_finished_after_grace"


class _Activity:
    running = 0
    last_ended = float("-inf")


def brisk() -> bool:
    """Whether a few model triggers run in this process, or did a moment ago."""
    if _Activity.running > BRISK_UP_TO:
        return False
    return _Activity.running > 0 or time.monotonic() - _Activity.last_ended < BRISK_AFTER


@contextmanager
def model_trigger_running() -> Iterator[None]:
    """Around a model trigger's run: the runner stays brisk while it runs and for `BRISK_AFTER` after."""
    _Activity.running += 1
    try:
        yield
    finally:
        _Activity.running -= 1
        _Activity.last_ended = time.monotonic()


class _BriskAnyio:
    """The runner module's `anyio`, whose `move_on_after` (the runner's wait) is capped while `brisk()`."""

    def __init__(self, anyio: Any) -> None:
        self._anyio = anyio

    def move_on_after(self, delay: float | None, *args: Any, **kwargs: Any) -> Any:
        if brisk() and (delay is None or delay > BRISK_WAIT):
            delay = BRISK_WAIT
        return self._anyio.move_on_after(delay, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._anyio, name)


def report_finished_after_grace(sync: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
    """`TriggerRunner.sync_state_to_supervisor`, reporting each finished trigger only once it ended
    `FINISHED_GRACE` ago (its events and failures go at once, as before)."""
    ended: dict[int, float] = {}

    @functools.wraps(sync)
    async def sync_state_to_supervisor(self: Any, finished_ids: list[int]) -> None:
        now = time.monotonic()
        for trigger_id in finished_ids:
            ended.setdefault(trigger_id, now)
        due = [trigger_id for trigger_id, at in ended.items() if now - at >= FINISHED_GRACE]
        for trigger_id in due:
            del ended[trigger_id]
        await sync(self, due)

    sync_state_to_supervisor.__dict__[_GRACED] = True
    return sync_state_to_supervisor


def sync_briskly_in_runner() -> bool:
    """In a triggerer's runner process: the brisk wait and the graced end above. Elsewhere: nothing.
    Idempotent."""
    runner = sys.modules.get(RUNNER_MODULE)
    current = getattr(runner, "anyio", None)
    if isinstance(current, _BriskAnyio):
        return True
    trigger_runner = getattr(runner, "TriggerRunner", None)
    sync = getattr(trigger_runner, "sync_state_to_supervisor", None)
    if runner is None or not hasattr(current, "move_on_after") or sync is None:
        return False
    # Graced first: a brisk wait alone would widen the race the grace closes.
    if not getattr(sync, _GRACED, False):
        trigger_runner.sync_state_to_supervisor = report_finished_after_grace(sync)  # type: ignore[union-attr]
    setattr(runner, "anyio", _BriskAnyio(current))  # noqa: B010 - the module's global, looked up at each wait
    return True
