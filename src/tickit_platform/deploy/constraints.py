"""MWAA's own constraints files per Airflow release, checked in: what MWAA installs requirements.txt under.

`tickit deploy build` resolves requirements.txt's wheels under them, and `tickit deploy rehearse` installs
requirements.txt with them, as MWAA's image does (docs/decisions/016-rehearsal.md, 030). The folder's
README says where they come from and how to add a release.
"""

from __future__ import annotations

from pathlib import Path

CONSTRAINTS_DIR = Path(__file__).parent / "rehearsal" / "constraints"
AIRFLOW_CONSTRAINTS = "airflow_constraints.txt"
ESSENTIAL_CONSTRAINTS = "mwaa_essential_constraints.txt"


def known_airflow_versions() -> list[str]:
    return sorted(p.name for p in CONSTRAINTS_DIR.iterdir() if (p / AIRFLOW_CONSTRAINTS).is_file())


def constraint_files(airflow_version: str) -> list[Path]:
    """Airflow's constraints file for the release, then MWAA's essential pins where known; empty if none is here."""
    folder = CONSTRAINTS_DIR / airflow_version
    files = [folder / AIRFLOW_CONSTRAINTS, folder / ESSENTIAL_CONSTRAINTS]
    return [f for f in files if f.is_file()] if files[0].is_file() else []
