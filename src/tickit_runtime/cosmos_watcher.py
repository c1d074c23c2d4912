"""Cosmos' private watcher API: the one module the model tasks and their triggers take it from.

Cosmos' public watcher sensor only looks at a model's run status; gating a model's task on its tests, and
judging a retry, need the producer's XCom protocol, which Cosmos keeps private (docs/decisions/017). Every name
below was checked against the Cosmos versions in `CHECKED_ON`; tests/unit/test_cosmos_coupling.py checks each
name and signature in the installed Cosmos, and that nothing else in the package imports Cosmos' private
modules (the producer's side is a change made only where verified: tickit_runtime/internals/producer.py).
"""

from __future__ import annotations

from cosmos.operators._watcher.aggregation import get_tests_status_xcom_key
from cosmos.operators._watcher.state import (
    DbtTestStatus,
    build_producer_state_fetcher,
    get_dbt_event_xcom_key,
    get_status_xcom_key,
    get_xcom_val,
    is_dbt_node_status_success,
    is_dbt_node_status_terminal,
)

# The Cosmos releases these names were checked against (pyproject.toml pins Cosmos below the next minor).
CHECKED_ON = frozenset({"1.15.1"})

__all__ = [
    "CHECKED_ON",
    "DbtTestStatus",
    "build_producer_state_fetcher",
    "get_dbt_event_xcom_key",
    "get_status_xcom_key",
    "get_tests_status_xcom_key",
    "get_xcom_val",
    "is_dbt_node_status_success",
    "is_dbt_node_status_terminal",
]
