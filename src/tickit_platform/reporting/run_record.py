"""The record `tickit run` keeps of its DAG run: one JSON file the report reads after Airflow stopped.

It holds what the run already learnt through Airflow's REST API (the run's state, every task instance),
so the report needs neither a running Airflow nor Airflow's private metadata tables, whatever
database those live in (docs/decisions/010-report.md).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tickit_platform.local.runner import DagRunResult, TaskOutcome
from tickit_platform.orchestration.config import DAG_ID

LAST_RUN_FILE = "last_run.json"
# Bumped when a field changes meaning; a reader refuses a format it does not know rather than guess.
FORMAT = 1


class RunRecordError(ValueError):
    """The run record exists but cannot be read as one; the message names the file."""


def last_run_path(runs_dir: Path) -> Path:
    return runs_dir / LAST_RUN_FILE


def _parse_time(value: str | None) -> datetime | None:
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)  # Airflow's API speaks UTC


def run_started(result: DagRunResult) -> datetime | None:
    """When the run started: its trigger time, else its first task's start."""
    starts = [s for s in (_parse_time(t.start_date) for t in result.tasks) if s is not None]
    return _parse_time(result.started_at) or min(starts, default=None)


def to_json(result: DagRunResult) -> dict[str, Any]:
    started = run_started(result)
    return {
        "format": FORMAT,
        "dag_id": DAG_ID,
        "run_id": result.run_id,
        "state": result.state,
        "seconds": result.seconds,
        "start_date": started.isoformat() if started else None,
        "end_date": (started + timedelta(seconds=result.seconds)).isoformat() if started else None,
        "tasks": [
            {
                "task_id": t.task_id,
                "state": t.state,
                "duration": t.duration,
                "try_number": t.try_number,
                "start_date": t.start_date,
                "end_date": t.end_date,
                "log_path": str(t.log_path),
            }
            for t in result.tasks
        ],
    }


def save_run(runs_dir: Path, result: DagRunResult) -> Path:
    """Write the run's record as the last run; renamed into place, so a reader never sees half a file."""
    runs_dir.mkdir(parents=True, exist_ok=True)
    path = last_run_path(runs_dir)
    part = path.with_name(f".{path.name}.part")
    part.write_text(json.dumps(to_json(result), indent=1) + "\n", encoding="utf-8")
    os.replace(part, path)
    return path


def _task(t: dict[str, Any]) -> TaskOutcome:
    return TaskOutcome(
        task_id=str(t["task_id"]),
        state=t["state"],
        duration=float(t["duration"]) if t["duration"] is not None else None,
        try_number=int(t["try_number"]),
        start_date=t["start_date"],
        end_date=t["end_date"],
        log_path=Path(t["log_path"]),
    )


def read_run(path: Path) -> tuple[DagRunResult, datetime | None]:
    """The recorded run and when it started."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise RunRecordError(f"{path} could not be read as JSON ({err})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else None
        raise RunRecordError(f"{path} is a run record of format {found!r}, not {FORMAT}: run `tickit run` again")
    try:
        tasks = tuple(_task(t) for t in data["tasks"])
        result = DagRunResult(
            str(data["run_id"]), str(data["state"]), float(data["seconds"]), tasks, started_at=data["start_date"]
        )
        return result, _parse_time(data["start_date"])
    except (KeyError, TypeError, ValueError) as err:
        raise RunRecordError(f"{path} lacks a field or has a wrong value ({type(err).__name__}: {err})") from None
