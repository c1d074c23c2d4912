"""The record of a DAG run: its types and their JSON form (`run.json` in the run's folder, history/runs.py).

It holds what the run learnt through Airflow's REST API (the run's state, every task instance), so the
report needs neither a running Airflow nor Airflow's private metadata tables, whatever database those
live in (docs/decisions/010-report.md). The launcher (local/runner.py) and the rehearsal make these
values; history/ keeps them; reporting/ and the console read them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tickit_runtime.config import DAG_ID

# Bumped when a field changes meaning; a reader refuses a format it does not know rather than guess.
FORMAT = 1


class RunRecordError(ValueError):
    """The run record exists but cannot be read as one; the message names the file."""


@dataclass(frozen=True)
class TaskOutcome:
    task_id: str
    state: str | None
    duration: float | None
    try_number: int
    start_date: str | None
    end_date: str | None
    log_path: Path
    # The machine (on Celery: the worker) that ran the latest attempt, as Airflow recorded it.
    hostname: str | None = None

    @property
    def ok(self) -> bool:
        return self.state in {"success", "skipped"}


@dataclass(frozen=True)
class DagRunResult:
    run_id: str
    state: str
    seconds: float
    tasks: tuple[TaskOutcome, ...]
    started_at: str | None = None  # ISO 8601 UTC, when the run was triggered; None when not known
    # The whole run's peak memory (`tickit`, Airflow's components, their tasks, dbt and DuckDB), MiB of PSS.
    peak_memory_mib: float | None = None
    # How long Airflow took to be ready for the run (started, or a resident one checked), and whether it
    # was a resident one (`tickit up`); None when not known.
    airflow_ready_seconds: float | None = None
    resident_airflow: bool | None = None

    @property
    def failed(self) -> tuple[TaskOutcome, ...]:
        return tuple(t for t in self.tasks if t.state in {"failed", "upstream_failed"})

    def states(self) -> dict[str, str | None]:
        return {t.task_id: t.state for t in self.tasks}


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
