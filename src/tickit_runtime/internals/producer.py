"""The change to Cosmos' watcher producer: it pushes only the XComs someone reads.

Cosmos' producer (`DbtProducerWatcherOperator`) pushes each dbt node's event four times (started, compiling,
executing, finished) under one key read only once the node ended, and a model's compiled SQL twice: each push is
a request the API server answers (about 4,000 at 1,000 models), made from dbt's threads one at a time under one
lock, so the build waits for them. So its task instance drops the pushes of in-between events and of a value its
key already holds, and, where the model tasks wait in the triggerer, a succeeded node's event and compiled SQL
(read only by Cosmos' consumers in workers; a model task quotes a model's event only when it failed).

It also reads what Cosmos pushed from the copy Cosmos keeps (`_cosmos_xcom_backup_buffer`, under the lock Cosmos
pushes with), from which the producer publishes the build's results (tickit_runtime/build_results.py).

And it tells a retry after a build killed outright from one after a build that failed: Cosmos saves its copy in a
Variable only when the build fails (its failure and retry callbacks), and its retry restores that Variable and
ends skipped. Without one the earlier try never ended, and the retry finishes the build (tickit_runtime/
killed_build.py), its pushes kept in a new copy as the first try's were.

Made on the producer's task instance only, in its `pre_execute`: nothing else in the worker changes.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from enum import Enum
from typing import Any

from tickit_runtime.internals.gate import Change, expect_names, expect_parameters, first_problem

STATE_MODULE = "cosmos.operators._watcher.state"
XCOM_MODULE = "cosmos.operators._watcher.xcom"
VERIFIED_ON = frozenset({"1.15.1"})
BACKUP_BUFFER = "_cosmos_xcom_backup_buffer"
# dbt's RunningStatus: a node's events before it ended.
IN_BETWEEN_STATUSES = frozenset({"started", "compiling", "executing"})
_NOTHING = object()


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        value = value.get("status")
    return value.value if isinstance(value, Enum) else value


@contextmanager
def pushes_held() -> Iterator[None]:
    """Hold Cosmos' pushes: Cosmos pushes from dbt's threads under this lock (the Task SDK's channel is not
    thread-safe) and mutates its copy of what it pushed under it."""
    from cosmos.operators._watcher.state import xcom_set_lock

    with xcom_set_lock:
        yield


def pushed_so_far(ti: Any) -> Mapping[str, Any]:
    """Cosmos' copy of every XCom its producer pushed (read it within `pushes_held()`)."""
    return getattr(ti, BACKUP_BUFFER, None) or {}


def is_in_between_event(key: str, value: Any) -> bool:
    """Whether an XCom is a node's dbt event from before the node ended (read by no one: the last overwrites it)."""
    from cosmos.operators._watcher.state import get_dbt_event_xcom_key

    return (
        key.endswith(get_dbt_event_xcom_key(""))
        and isinstance(value, Mapping)
        and value.get("status") in IN_BETWEEN_STATUSES
    )


def is_a_succeeded_nodes_detail(key: str, value: Any, pushed: Mapping[str, Any]) -> bool:
    """Whether an XCom is the dbt event or the compiled SQL of a node that succeeded (`pushed`: Cosmos' copy)."""
    from cosmos.operators._watcher.state import (
        get_compiled_sql_xcom_key,
        get_dbt_event_xcom_key,
        get_status_xcom_key,
        is_dbt_node_status_success,
    )

    if key.endswith(get_dbt_event_xcom_key("")):
        return isinstance(value, Mapping) and bool(is_dbt_node_status_success(_plain(value)))
    if key.endswith(sql := get_compiled_sql_xcom_key("")):
        # Cosmos pushes a node's compiled SQL just after its status.
        status = pushed.get(key.removesuffix(sql) + get_status_xcom_key(""))
        return bool(is_dbt_node_status_success(_plain(status)))
    return False


def skip_needless_pushes(ti: Any, *, details_read_on_success: bool = True) -> None:
    """Make the producer's task instance drop the pushes of in-between dbt events and of values a key already
    holds, and unless `details_read_on_success`, a succeeded node's dbt event and compiled SQL (Cosmos still
    keeps its copy of each)."""
    push = ti.xcom_push

    def xcom_push(key: str, value: Any, **kwargs: Any) -> None:
        # Cosmos updates its copy after the push, under the lock it pushes with: it holds the key's last value.
        pushed = pushed_so_far(ti)
        if is_in_between_event(key, value) or pushed.get(key, _NOTHING) == value:
            return
        if not details_read_on_success and is_a_succeeded_nodes_detail(key, value, pushed):
            return
        push(key=key, value=value, **kwargs)

    # The task instance is a pydantic model, which refuses new attributes: set it on the instance itself.
    object.__setattr__(ti, "xcom_push", xcom_push)


def earlier_try_saved_its_pushes(context: Any) -> bool:
    """Whether an earlier try of the producer ended failing (Cosmos then saved its copy of the pushes in a
    Variable, which its retry restores): False after a try killed outright, or one that never ran."""
    from cosmos.airflow.compatibility import get_variable
    from cosmos.operators._watcher.xcom import _get_task_group_id, _xcom_backup_variable_key

    ti = context["ti"]
    key = _xcom_backup_variable_key(ti.dag_id, _get_task_group_id(ti), context["run_id"])
    return get_variable(key, default=None) is not None


def keep_a_copy_of_pushes(context: Any) -> None:
    """Have Cosmos keep its copy of the producer's pushes (saved in a Variable only if this try fails), as it
    does for a first try's build."""
    from cosmos.operators._watcher.xcom import _init_xcom_backup

    _init_xcom_backup(context, persist=False)


def _copy_shape() -> str | None:
    from cosmos.operators import watcher
    from cosmos.operators._watcher import xcom

    # The retry's build is bounded with Airflow's own timer (tickit_runtime/killed_build.py).
    try:
        from airflow.sdk.execution_time.timeout import timeout
    except ImportError:
        return "Airflow has no airflow.sdk.execution_time.timeout"

    # Airflow wraps every operator's execute (its executor safeguard): Cosmos' own is behind it.
    execute = inspect.unwrap(watcher.DbtProducerWatcherOperator.execute)
    return first_problem(
        expect_names(execute, ["_restore_xcom_from_variable", "_init_xcom_backup"]),
        expect_parameters(xcom._init_xcom_backup, ["context", "persist"]),
        expect_parameters(xcom._xcom_backup_variable_key, ["dag_id", "task_group_id", "run_id"]),
        expect_parameters(xcom._get_task_group_id, ["ti"]),
        expect_names(xcom._backup_xcom_to_variable, ["_persist_backup"]),
        expect_parameters(timeout.__init__, ["self", "seconds", "error_message"]),
    )


def _shape() -> str | None:
    from cosmos.operators._watcher import state

    push = state.safe_xcom_push
    return first_problem(
        None if hasattr(state, "xcom_set_lock") else "it has no xcom_set_lock",
        expect_names(push, ["xcom_set_lock", "xcom_push"]),
        None if BACKUP_BUFFER in push.__code__.co_consts else f"safe_xcom_push no longer keeps {BACKUP_BUFFER}",
        None
        if all(hasattr(state, name) for name in ("get_dbt_event_xcom_key", "get_compiled_sql_xcom_key"))
        else "its XCom key functions moved",
    )


CHANGES = (
    Change(
        name="the producer's needless pushes dropped, its results read from Cosmos' copy",
        target=f"{STATE_MODULE}.safe_xcom_push (the producer's task instance)",
        package="cosmos",
        verified_on=VERIFIED_ON,
        shape=_shape,
        # Made per task instance (skip_needless_pushes), not on the module.
        make=lambda: None,
    ),
    Change(
        name="a build killed outright finished by the producer's retry",
        target=f"{XCOM_MODULE} (the producer's retry: its saved copy, a new copy)",
        package="cosmos",
        verified_on=VERIFIED_ON,
        shape=_copy_shape,
        # Made per try, in the producer's pre_execute (tickit_runtime/killed_build.py).
        make=lambda: None,
    ),
)
