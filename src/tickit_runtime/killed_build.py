"""A shared build killed outright is finished by the producer's retry, in one `dbt build`.

Cosmos' producer never runs dbt twice: its retry restores what the earlier try pushed (a Variable its failure
callbacks save) and ends skipped, and each model the build had not reported is then built by its own task, one
dbt process at a time under the warehouse's writer lock. After a build that failed, those are the few models
after the failure, and their tasks must say why. After a build killed outright (its process or its worker
lost: nothing saved, nothing said) they are every model the build had not reached, hundreds in a big project:
one by one, each starting dbt and parsing the project, that is hours, and tasks queueing on the lock.

So where Cosmos saved nothing, the producer's retry builds those models itself, in one `dbt build` in dbt's
order, and publishes the results as a first try does (build_results.py). The model tasks have kept waiting
(the producer was up for retry, not done) and take each result as they would have taken the first try's.
Cosmos then ends the try as skipped, as it always does; the log says what the retry built.

Which models: those whose tasks have not ended. Models whose tasks failed for good are left out with every
model after them (their tasks are upstream_failed); a model task up for retry is built again (its retry then
finds it built).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tickit_runtime import internals
from tickit_runtime.build_results import ResultsPublisher, start_publishing
from tickit_runtime.internals import producer
from tickit_runtime.model_task import WRITER_LOCK_TIMEOUT, writer_lock
from tickit_runtime.model_trigger import task_states

log = logging.getLogger(__name__)
# A model task in one of these states needs nothing from the build; in FAILED ones, its model and those after
# it must not be built.
ENDED = frozenset({"success", "skipped", "removed"})
FAILED = frozenset({"failed", "upstream_failed"})


def producer_starting(
    context: Any,
    *,
    details_read_on_success: bool = True,
    writer_lock_path: str | None = None,
    lock_timeout: float = WRITER_LOCK_TIMEOUT,
) -> None:
    """The producer's `pre_execute`: a first try publishes its build's results; a retry finishes a build
    killed outright, before Cosmos' own retry (restore, skip) runs."""
    ti = context["ti"]
    if ti.try_number <= 1:
        start_publishing(context, details_read_on_success=details_read_on_success)
        return
    if not internals.in_producer(ti, details_read_on_success=details_read_on_success):
        return
    if producer.earlier_try_saved_its_pushes(context):
        log.info("The shared build's earlier try failed and Cosmos saved what it reported: nothing to finish.")
        return
    left, failed = models_left(_model_task_states(context))
    if not left:
        log.info("The shared build's earlier try ended without a word, and every model task has ended since.")
        return
    log.warning(
        "The shared build's earlier try ended without a word (killed outright): building the %d models whose "
        "tasks have not ended, in one dbt build%s.",
        len(left),
        f", leaving out {', '.join(sorted(failed))} and the models after them" if failed else "",
    )
    finish(context, left, failed, Path(writer_lock_path) if writer_lock_path else None, lock_timeout)


def models_left(states: Mapping[str, str | None]) -> tuple[list[str], list[str]]:
    """From each model's task state: the models to build, and the failed ones nothing after may be built."""
    left = sorted(model for model, state in states.items() if state not in ENDED and state not in FAILED)
    failed = sorted(model for model, state in states.items() if state in FAILED)
    return left, failed


def selection(left: list[str], failed: list[str]) -> list[str]:
    """dbt's selection of the models left (their tests follow them), none after a failed model."""
    flags = ["--select", *left]
    if failed:
        flags += ["--exclude", *(f"{model}+" for model in failed)]
    return flags


def finish(context: Any, left: list[str], failed: list[str], lock: Path | None, lock_timeout: float) -> None:
    """Build `left` in one dbt build through the producer's own command (its flags, its callbacks, its pushes),
    publishing the results while it runs, within the producer's execution_timeout."""
    ti = context["ti"]
    task = ti.task
    producer.keep_a_copy_of_pushes(context)
    publisher = ResultsPublisher(ti)
    publisher.publish()  # the try's first publication: readers drop the killed try's
    publisher.start()
    # Airflow's execution_timeout covers `execute`, not `pre_execute`: the same bound, with Airflow's own timer
    # (this path runs only where the change to the producer was verified, Airflow 3.3).
    from airflow.sdk.exceptions import AirflowTaskTimeout
    from airflow.sdk.execution_time.timeout import timeout

    bound = task.execution_timeout.total_seconds() if task.execution_timeout else None
    message = f"the build of the models left by the killed try ran past {bound} s"
    within = timeout(bound, message) if bound else contextlib.nullcontext()  # type: ignore[no-untyped-call]
    try:
        with writer_lock(lock, lock_timeout, f"task {ti.task_id} (try {ti.try_number})"), within:
            task.build_and_run_cmd(context=context, cmd_flags=[*task.add_cmd_flags(), *selection(left, failed)])
    except AirflowTaskTimeout:
        with contextlib.suppress(Exception):
            task.on_kill()
        raise
    finally:
        publisher.finish()
    log.info("Built the %d models left by the killed try; Cosmos now ends this try as skipped.", len(left))


def _model_task_states(context: Any) -> dict[str, str | None]:
    """Each model of the producer's DAG (by name) and its task's state in this run."""
    ti = context["ti"]
    models = {
        task.task_id: str(task.model_unique_id).rsplit(".", 1)[-1]
        for task in ti.task.dag.tasks
        if getattr(task, "producer_task_id", None) == ti.task_id and getattr(task, "model_unique_id", None)
    }
    states = task_states(ti.dag_id, ti.run_id, list(models))
    return {model: states[task] for task, model in models.items()}
