"""The private parts of astronomer-cosmos the model task relies on, checked by name and signature.

`tickit_runtime/model_task.py` and `tickit_runtime/model_trigger.py` extend Cosmos' watcher sensor through
symbols Cosmos does not promise to keep (docs/decisions/017-cosmos-private-api.md). A Cosmos release that
renames or reshapes one would otherwise show up as an ImportError in the DAG processor or, worse, a task
that never turns green. This test names the missing piece and the decision to read instead.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect

import pytest

DECISION = "docs/decisions/017-cosmos-private-api.md"
# (module, attribute, the parameters model_task.py or model_trigger.py call it with; None for a non-callable)
PRIVATE_FUNCTIONS = (
    ("cosmos.operators._watcher.aggregation", "get_tests_status_xcom_key", ("model_uid",)),
    ("cosmos.operators._watcher.state", "get_status_xcom_key", ("unique_id",)),
    ("cosmos.operators._watcher.state", "get_dbt_event_xcom_key", ("unique_id",)),
    ("cosmos.operators._watcher.state", "get_xcom_val", ("task_instance", "task_ids", "key")),
    ("cosmos.operators._watcher.state", "is_dbt_node_status_success", ("status",)),
    ("cosmos.operators._watcher.state", "is_dbt_node_status_terminal", ("status",)),
    ("cosmos.operators._watcher.state", "DbtTestStatus", None),
    # tickit_runtime/build_results.py reads the producer's copy of its pushes under this lock
    # (the copy itself: tests/unit/test_build_results.py).
    ("cosmos.operators._watcher.state", "xcom_set_lock", None),
)
# Methods of DbtRunWatcherOperator that DbtModelTask (and WorkerModelTask, before Airflow 3.2) override or call.
PRIVATE_METHODS = (
    ("_fallback_to_non_watcher_run", ("self", "try_number", "context")),
    ("_get_producer_task_status", ("self", "context")),
    ("poke", ("self", "context")),
)


def _explain(what: str) -> str:
    version = importlib.metadata.version("astronomer-cosmos")
    return (
        f"astronomer-cosmos {version} {what}, which src/tickit_runtime/model_task.py relies on; "
        f"see {DECISION} for what it is used for, then adapt the model task or pin Cosmos back."
    )


@pytest.mark.parametrize(("module", "name", "params"), PRIVATE_FUNCTIONS)
def test_the_private_watcher_helpers_are_there(module: str, name: str, params: tuple[str, ...] | None) -> None:
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        pytest.fail(_explain(f"has no {module}.{name}"))
    if params is not None:
        actual = tuple(inspect.signature(found).parameters)
        assert actual[: len(params)] == params, _explain(f"changed {module}.{name}{actual}")


@pytest.mark.parametrize(("name", "params"), PRIVATE_METHODS)
def test_the_watcher_sensor_methods_the_model_task_overrides_are_there(name: str, params: tuple[str, ...]) -> None:
    from cosmos.operators.watcher import DbtRunWatcherOperator

    method = getattr(DbtRunWatcherOperator, name, None)
    if method is None:
        pytest.fail(_explain(f"has no DbtRunWatcherOperator.{name}"))
    actual = tuple(inspect.signature(method).parameters)
    assert actual == params, _explain(f"changed DbtRunWatcherOperator.{name}{actual}")


def test_cosmos_private_modules_are_imported_in_one_place_and_checked_on_the_installed_cosmos() -> None:
    """The model tasks and triggers take Cosmos' private watcher API from tickit_runtime/cosmos_watcher.py only;
    the producer's side is a version-gated change (tickit_runtime/internals/)."""
    from pathlib import Path

    from tickit_runtime import cosmos_watcher
    from tickit_runtime.internals import producer

    package = Path(cosmos_watcher.__file__).parents[1]
    allowed = {Path(cosmos_watcher.__file__), *package.joinpath("tickit_runtime", "internals").glob("*.py")}
    importing = {
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if "cosmos.operators._watcher" in path.read_text() and path not in allowed
    }
    assert importing == set(), f"take Cosmos' private watcher API from tickit_runtime/cosmos_watcher.py: {importing}"
    assert importlib.metadata.version("astronomer-cosmos") in cosmos_watcher.CHECKED_ON, _explain("is not checked")
    assert cosmos_watcher.CHECKED_ON == producer.VERIFIED_ON
