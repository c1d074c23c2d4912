"""The kept runs under `<runs>/<run_id>/`: written by `tickit run` and the DAG, read back here.

`<runs>` is the one location the DAG keeps its runs in (`Settings.runs_dir`: TICKIT_RUNS_URI's folder,
else `$TICKIT_HOME/runs`), so every function here takes that folder rather than the home.

A run's folder holds what the DAG's tasks kept of dbt (`dbt/run_results.json`, `dbt/manifest.json`,
`dbt/sources.json`; tickit_runtime/artifacts.py) and what `tickit run` adds when the run ends: the task
instances' outcome (`run.json`, history/record.py) and the data figures only the warehouse knows after
the run (`data.json`: rows per layer, the load audit; history/summary.py). A folder may lack any of them
(a run started from `tickit ui` has no run.json, a failed load no dbt/): readers take what is there.

This is the one record of a run: the latest run is the newest kept run with a run.json.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from tickit_platform.history.record import DagRunResult, RunRecordError, read_run, run_started, to_json
from tickit_runtime.artifacts import ARTIFACTS_DIR, FolderStore, prune
from tickit_runtime.errors import TickitError

RUN_RECORD = "run.json"
DATA_FIGURES = "data.json"


class UnknownRunError(TickitError):
    """No kept run has the id asked for; the message says how to list the ids."""


@dataclass(frozen=True)
class RecordedRun:
    """One run's folder, read back (tickit_runtime/artifacts.py's KeptRun is only its id and age in a store).
    None: the folder does not hold that file."""

    run_id: str
    folder: Path
    run: DagRunResult | None
    started: datetime | None
    data: dict[str, Any] | None  # data.json
    run_results: dict[str, Any] | None  # dbt's, of the shared build
    sources: dict[str, Any] | None  # dbt's, of the freshness check
    record_error: str | None = None  # why run.json, present, could not be read

    @property
    def build_manifest(self) -> Path:
        """The manifest the run's shared build wrote (with the SQL it compiled); it may not exist."""
        return self.folder / ARTIFACTS_DIR / "manifest.json"

    @property
    def recorded(self) -> bool:
        """`tickit run` recorded this run (its run.json exists, readable or not)."""
        return self.run is not None or self.record_error is not None

    @property
    def state(self) -> str:
        """The DAG run's state; without a run record, what dbt's build says (or "unknown")."""
        if self.run is not None:
            return self.run.state
        if self.run_results is None:
            return "unknown"
        bad = {"error", "fail", "runtime error"}
        return "failed" if any(r.get("status") in bad for r in self.run_results.get("results", [])) else "success"

    @property
    def seconds(self) -> float | None:
        if self.run is not None:
            return self.run.seconds
        return float(self.run_results["elapsed_time"]) if self.run_results else None

    @property
    def when(self) -> datetime | None:
        """When the run started: its record's start, else when dbt's build started."""
        if self.started is not None:
            return self.started
        stamp = (self.run_results or {}).get("metadata", {}).get("invocation_started_at")
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None

    @property
    def description(self) -> str:
        """Which data the run loaded, as `tickit run` said it."""
        return str((self.data or {}).get("description") or "")

    @property
    def warehouse(self) -> str:
        """The warehouse the run wrote to, as `tickit run` named it (empty for a run recorded before that)."""
        return str((self.data or {}).get("warehouse") or "")


def _json(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def _write_json(path: Path, value: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.part")
    part.write_text(json.dumps(value, indent=1, default=str) + "\n", encoding="utf-8")
    os.replace(part, path)


def read_recorded_run(folder: Path) -> RecordedRun:
    run, started, error = None, None, None
    # An unreadable record leaves the run to what dbt kept.
    if (folder / RUN_RECORD).is_file():
        try:
            run, started = read_run(folder / RUN_RECORD)
        except RunRecordError as err:
            error = str(err)
    return _recorded(folder, run, started, _json(folder / DATA_FIGURES), error)


def _recorded(
    folder: Path, run: DagRunResult | None, started: datetime | None, data: dict[str, Any] | None, error: str | None
) -> RecordedRun:
    dbt = folder / ARTIFACTS_DIR
    return RecordedRun(
        run_id=folder.name,
        folder=folder,
        run=run,
        started=started,
        data=data,
        run_results=_json(dbt / "run_results.json"),
        sources=_json(dbt / "sources.json"),
        record_error=error,
    )


def kept_runs(runs: Path, known: RecordedRun | None = None) -> list[RecordedRun]:
    """Every kept run under the folder `runs`, oldest first (the order the DAG's pruning uses too); `known`,
    the run this process just recorded, is taken as it is rather than read back."""
    return [
        known if known is not None and r.run_id == known.run_id else read_recorded_run(runs / r.run_id)
        for r in FolderStore(runs).runs()
    ]


def latest_recorded(runs: list[RecordedRun]) -> RecordedRun | None:
    """The newest run `tickit run` recorded (a newer one started from the UI has no record)."""
    return next((r for r in reversed(runs) if r.recorded), None)


def find_run(runs: Path, run_id: str) -> RecordedRun:
    folder = runs / run_id
    if not run_id or "/" in run_id or run_id.startswith(".") or not folder.is_dir():
        raise UnknownRunError(f"no kept run {run_id!r} under {runs}; `tickit runs` lists the kept runs' ids")
    return read_recorded_run(folder)


def record_run(runs: Path, result: DagRunResult, data: Mapping[str, Any], keep: int) -> list[str]:
    """Keep `tickit run`'s record and data figures in the run's folder under `runs`, then keep the last
    `keep` runs; the run ids dropped."""
    folder = runs / result.run_id
    _write_json(folder / RUN_RECORD, to_json(result))
    _write_json(folder / DATA_FIGURES, data)
    return prune(FolderStore(runs), keep)


def as_recorded(runs: Path, result: DagRunResult, data: Mapping[str, Any]) -> RecordedRun:
    """The run `record_run` just kept, as a reader would find it, without reading its record back."""
    figures = json.loads(json.dumps(data, default=str))  # the values data.json holds, as JSON gives them back
    return _recorded(runs / result.run_id, result, run_started(result), figures, None)
