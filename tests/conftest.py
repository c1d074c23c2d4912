"""The order the test files run in: the longest first, so the two workers of `./scripts/test` end together.

The workers take whole files (`--dist loadfile`), each its next file when it finishes one. xdist's own
order puts the files with the most tests first, which left the 1,000-model file and the resident Airflow's
(one test each, about 6 and 3½ minutes) for last, and one worker running them alone while the other was
done. Longest first, then the rest as collected, is the usual answer; the ranking below is read off the
30 slowest tests every run lists at its end (README: the tests), and a file it misses only runs later.
"""

from __future__ import annotations

import pytest

# File names, longest first (minutes on the two-core machine, 2026-12-08, measured with --durations=0: 10-12,
# 10, 6, 5, 5, 4, 3, then 2 to 1).
LONGEST_FIRST = (
    "test_rehearsal.py",
    "test_faults.py",
    "test_large_dag.py",
    "test_dag_airflow.py",
    "test_cli.py",
    "test_resident.py",
    "test_dataset_change.py",  # three datasets in a row on DuckDB, two on PostgreSQL
    "test_run_secrets.py",
    "test_incremental.py",
    "test_loader_properties.py",
    "test_postgres_run.py",
    "test_deploy_push.py",
    "test_redshift_compile.py",
    "test_schema_prefix.py",
    "test_bundle.py",
    "test_ui_browser.py",
    "test_bad_input.py",
    "test_report.py",
    "test_history.py",
    "test_docs_stamp.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    # Stable: the tests of a file keep their order, and the unranked files theirs.
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))
