"""Helpers shared by the tests: synthetic data, dbt project copies and one-off Airflow runs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def run_dbt(
    args: list[str],
    work: Path,
    database: Path,
    raw_dir: Path | None,
    project_dir: Path = DBT_PROJECT_DIR,
    **env_overrides: str,
) -> Run:
    """Run dbt on DuckDB against a project, with every file dbt writes kept under `work`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DBT_") and k != "TICKIT_RAW_DIR"}
    env.update(
        DBT_TARGET="local",
        DBT_PROFILES_DIR=str(project_dir),
        DBT_DUCKDB_PATH=str(database),
        DBT_USE_COLORS="false",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DBT_THREADS="2",
        **env_overrides,
    )
    if raw_dir is not None:
        env["TICKIT_RAW_DIR"] = str(raw_dir)
    command = [
        str(Path(sys.executable).parent / "dbt"),
        *args,
        "--project-dir",
        str(project_dir),
        "--target-path",
        str(work / "target"),
        "--log-path",
        str(work / "logs"),
    ]
    done = subprocess.run(command, cwd=project_dir, env=env, capture_output=True, text=True, timeout=300)
    return Run(done.returncode, done.stdout, done.stderr)
