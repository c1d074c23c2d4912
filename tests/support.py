"""Helpers shared by the tests: synthetic data, dbt project copies and one-off Airflow runs."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from tickit_platform.orchestration.config import DagConfig
from tickit_platform.paths import DBT_PROJECT_DIR

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
MODELS = (
    "bronze_users", "bronze_venue", "bronze_category", "bronze_date", "bronze_event", "bronze_listing",
    "bronze_sales", "silver_users", "silver_venue", "silver_category", "silver_date", "silver_event",
    "silver_listing", "silver_sales", "gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity",
)  # fmt: skip


def skip_or_fail(reason: str) -> None:
    """Locally a missing service skips; in CI it is a failure, because CI must run everything."""
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


def copy_project(dest: Path) -> Path:
    shutil.copytree(DBT_PROJECT_DIR, dest, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages"))
    return dest


def dag_config(home: Path, raw_dir: Path, project_dir: Path = DBT_PROJECT_DIR, **overrides: object) -> DagConfig:
    values: dict[str, object] = {
        "home": home,
        "project_dir": project_dir,
        "manifest_path": home / "dbt" / "manifest" / "manifest.json",
        "raw_dir": raw_dir,
        "dbt_executable": Path(sys.executable).parent / "dbt",
        "retries": 2,
        "retry_delay": timedelta(seconds=1),
    }
    values.update(overrides)
    return DagConfig(**values)  # type: ignore[arg-type]
