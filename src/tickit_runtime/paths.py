"""Where the repository's fixed parts live, found from this file so any working directory works."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DAGS_DIR = REPO_ROOT / "dags"
DBT_PROJECT_DIR = DAGS_DIR / "dbt_tickit"
SOURCES_YML = DBT_PROJECT_DIR / "models" / "bronze" / "_bronze__sources.yml"
