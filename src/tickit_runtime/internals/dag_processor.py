"""The change to Airflow's DAG processor: no parse of the DAG file for a callback it would then ignore.

Airflow 3.3 sends the DAG processor a success callback request for every task that ends in the triggerer
(`TaskSuccessEvent`), and the processor parses the DAG file for it, then skips it ("Task callback requested but
is not a failure callback": task success callbacks run where the task ran). At 1,017 models a parse is 4 to 5 s,
so the processor parsed back to back for the whole run. The processor drops these requests before they cause a
parse, by the processor's own rule; failure and retry callbacks pass.
"""

from __future__ import annotations

import inspect
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
from tickit_runtime.internals.triggerer import VERIFIED_ON

MANAGER_MODULE = "airflow.dag_processing.manager"
# The rule the filter mirrors, in the processor's own words.
PROCESSORS_RULE = "if not request.is_failure_callback"


def is_ignored_callback(request: Any) -> bool:
    """A callback the DAG processor would parse the DAG file for, then skip: a task's success."""
    from airflow.callbacks.callback_requests import TaskCallbackRequest

    return isinstance(request, TaskCallbackRequest) and not request.is_failure_callback


def _shape() -> str | None:
    from airflow.callbacks.callback_requests import TaskCallbackRequest
    from airflow.dag_processing import processor
    from airflow.dag_processing.manager import DagFileProcessorManager

    fetch = unchanged(DagFileProcessorManager.fetch_callbacks)
    return first_problem(
        expect_parameters(fetch, ["self"]),
        None if hasattr(TaskCallbackRequest, "is_failure_callback") else "TaskCallbackRequest.is_failure_callback",
        expect_names(processor._execute_task_callbacks, ["is_failure_callback"]),
        None
        if PROCESSORS_RULE in inspect.getsource(processor._execute_task_callbacks)
        else f"the processor no longer skips by '{PROCESSORS_RULE}'",
    )


def _make() -> None:
    from airflow.dag_processing.manager import DagFileProcessorManager

    fetch = DagFileProcessorManager.fetch_callbacks
    if is_made(fetch):
        return

    def fetch_callbacks(self: Any) -> list[Any]:
        return [request for request in fetch(self) if not is_ignored_callback(request)]

    DagFileProcessorManager.fetch_callbacks = mark(fetch_callbacks, "success callbacks dropped", fetch)  # type: ignore[method-assign]


def callbacks_dropped() -> bool:
    from airflow.dag_processing.manager import DagFileProcessorManager

    return is_made(DagFileProcessorManager.fetch_callbacks)


CHANGES = (
    Change(
        name="success callbacks dropped before a parse",
        target=f"{MANAGER_MODULE}.DagFileProcessorManager.fetch_callbacks",
        package="airflow",
        verified_on=VERIFIED_ON,
        shape=_shape,
        make=_make,
    ),
)
