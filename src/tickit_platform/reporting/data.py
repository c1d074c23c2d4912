"""The figures of `tickit report`, gathered read-only from what a run left behind.

Business figures come from the gold views only (a report that recomputed them could disagree with
the warehouse it describes), through the run's summary (history/summary.py), the one read of the
warehouse the console's summary and data.json share; the run from the record `tickit run` keeps
(history/), so the report works after Airflow stopped; the data's origin from the provenance file
beside the files the run loaded. Each source may be missing: a section then carries a notice saying
what is missing and what to run.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tickit_platform.data.formats import load_formats
from tickit_platform.data.provenance import Provenance, describe, is_complete, read_provenance
from tickit_platform.history.record import DagRunResult
from tickit_platform.history.runs import RecordedRun, find_run, kept_runs, latest_recorded
from tickit_platform.history.summary import RunSummary
from tickit_platform.history.trends import History, history
from tickit_platform.settings import Settings
from tickit_platform.warehouse.figures import load_audit_rows
from tickit_platform.warehouse.quality import TestOutcome
from tickit_platform.warehouse.results import GoldSummary, Row

CURVE_POINTS = 200  # the Pareto curve keeps its shape with this many points, whatever the customer count
DATASET_POINTER = "data-source.txt"


@dataclass(frozen=True)
class Business:
    venues: list[Row]  # top venues by revenue, from gold_revenue_by_venue
    events: list[Row]  # top events by revenue, from gold_sales_by_event
    events_total: Row  # events, events_with_sales, total_revenue over all of gold_sales_by_event
    customers: list[Row]  # top customers by spend, from gold_user_activity
    customers_total: Row  # customers, total_spent
    pareto: list[tuple[float, float]]  # (share of customers, share of revenue), best customers first


@dataclass(frozen=True)
class DataQuality:
    provenance: Provenance | None
    data_folder: Path | None
    checksums: dict[str, str]  # file name -> sha256
    layers: dict[str, dict[str, int]] | None
    quarantine: list[Row] | None  # per source; None when the warehouse has no quarantine table
    load_audit: list[Row] | None
    tests: list[Row] | None  # None when data-quality outcomes are unavailable


@dataclass(frozen=True)
class Report:
    settings: Settings
    created: datetime
    business: Business | None
    run: DagRunResult | None
    run_started: datetime | None
    data: DataQuality
    # Section name -> what is missing there and what to run; shown in the page.
    notices: dict[str, list[str]] = field(default_factory=dict)
    history: History | None = None  # the kept runs' trends (history/trends.py)
    warehouse: str = ""  # the warehouse read, as a person reads it: a DuckDB file, or engine, server and schemas

    @property
    def empty(self) -> bool:
        no_history = self.history is None or self.history.empty
        return self.business is None and self.run is None and self.data.layers is None and no_history


# --- business: the gold views ---------------------------------------------------------------------------


def business_figures(gold: GoldSummary) -> Business:
    spends = [float(v) for v in gold.spends]
    return Business(
        venues=gold.venues,
        events=gold.events,
        events_total=gold.events_total,
        customers=gold.customers,
        customers_total={"customers": len(spends), "total_spent": sum(spends)},
        pareto=pareto_curve(spends),
    )


def pareto_curve(values: Sequence[float], points: int = CURVE_POINTS) -> list[tuple[float, float]]:
    """Cumulative share of the total against share of the items, largest items first, from (0, 0) to (1, 1)."""
    ranked = sorted(values, reverse=True)
    total = sum(ranked)
    if not ranked or total <= 0:
        return []
    cumulative, running = [], 0.0
    for value in ranked:
        running += value
        cumulative.append(running / total)
    n = len(ranked)
    picks = sorted({round(i * (n - 1) / max(points - 1, 1)) for i in range(points)})
    return [(0.0, 0.0), *(((i + 1) / n, cumulative[i]) for i in picks)]


def share_of_top(curve: Sequence[tuple[float, float]], fraction: float) -> float:
    """The share of the total held by the top `fraction` of items, read off the curve."""
    held = [y for x, y in curve if x <= fraction + 1e-9]
    return held[-1] if held else 0.0


# --- the run: the record `tickit run` keeps -----------------------------------------------------------------


def latest_run(settings: Settings, runs: list[RecordedRun], notices: list[str]) -> RecordedRun | None:
    """The last `tickit run`'s record: the newest kept run that has one, or None with a notice saying why not."""
    latest = latest_recorded(runs)
    if latest is None:
        notices.append(f"No run recorded at {settings.runs_dir}: run `tickit run` to record a DAG run.")
    elif latest.record_error is not None:
        notices.append(f"The run record could not be read: {latest.record_error}.")
    return latest


# --- the data: provenance, layers, quarantine, tests --------------------------------------------------------


def record_dataset(settings: Settings, folder: Path) -> None:
    """Remember which folder of files the last run loaded, so a later `tickit report` can describe it."""
    settings.reports_dir.mkdir(parents=True, exist_ok=True)
    (settings.reports_dir / DATASET_POINTER).write_text(str(folder.resolve()) + "\n", encoding="utf-8")


def last_dataset(settings: Settings) -> Path | None:
    pointer = settings.reports_dir / DATASET_POINTER
    if not pointer.is_file():
        return None
    folder = Path(pointer.read_text(encoding="utf-8").strip())
    return folder if is_complete(folder) else None


def file_checksums(folder: Path) -> dict[str, str]:
    sums = {}
    for fmt in load_formats().values():
        path = folder / fmt.file
        if path.is_file():
            digest = hashlib.sha256()
            with path.open("rb") as handle:
                for chunk in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(chunk)
            sums[fmt.file] = digest.hexdigest()
    return sums


def test_rows(outcomes: list[TestOutcome]) -> list[Row]:
    return [
        {
            "name": o.name,
            "model": o.model,
            "severity": o.severity,
            "status": o.status,
            "failures": int(o.failures),
        }
        for o in outcomes
    ]


# --- everything -------------------------------------------------------------------------------------------


def gather(
    settings: Settings,
    summary: RunSummary,
    data_folder: Path | None = None,
    run_id: str | None = None,
    latest: RecordedRun | None = None,
) -> Report:
    """Everything the page shows; with `run_id`, the Run and History sections are that kept run's.
    `latest`: the run this process just recorded, taken as it is rather than read back."""
    chosen = find_run(settings.runs_dir, run_id) if run_id is not None else None  # an unknown id fails first
    notices: dict[str, list[str]] = {"business": [], "run": [], "data": [], "history": []}
    figures = summary.warehouse
    warehouse = summary.location.describe() if summary.location is not None else str(settings.warehouse_path)
    if summary.unread is not None:
        notices["business"].append(f"The warehouse was not read: {summary.unread}")
    elif figures is None:
        notices["business"].append(f"No warehouse at {warehouse}: run `tickit run` first.")

    business = None
    if figures is not None:
        if figures.gold is not None:
            business = business_figures(figures.gold)
        else:  # a failed run may have left a gold view unbuilt
            notices["business"].append(
                f"The gold views could not be read ({figures.gold_error}). "
                "Fix the failed models (see Run) and run `tickit run` again."
            )

    runs = kept_runs(settings.runs_dir, known=latest)
    if chosen is None:
        shown = latest_run(settings, runs, notices["run"])
    else:
        shown = chosen
        if chosen.run is None:
            notices["run"].append(f"Run {chosen.run_id} has no run record (it was not started by `tickit run`).")
        now = f"Read from the warehouse as the latest run left it, not as run {chosen.run_id} did (see History)."
        notices["business"].append(now)
        notices["data"].append(now)
    run, run_started = (shown.run, shown.started) if shown is not None else (None, None)
    trends = history(runs, selected=run_id)
    if trends.empty:
        notices["history"].append(f"No runs kept under {settings.runs_dir} yet: `tickit run` keeps each run there.")
    notices["history"].extend(trends.notices)

    folder = data_folder or last_dataset(settings)
    provenance = read_provenance(folder) if folder is not None and is_complete(folder) else None
    if provenance is None:
        notices["data"].append("Which data the warehouse was built from is unknown: run `tickit run` to record it.")
    layers, quarantine, audit, tests = None, None, None, None
    if figures is not None:
        layers, quarantine = figures.layers, figures.quarantine
        audit = load_audit_rows(figures.load_counts) if figures.load_counts is not None else None
        if quarantine is None:
            notices["data"].append("No quarantine table (older warehouse): bad input rows were not set aside.")
        if figures.tests is None:
            notices["data"].append(f"Data-quality results could not be read ({figures.tests_error}).")
        else:
            tests = test_rows(figures.tests)
    else:
        tests = []
    data = DataQuality(
        provenance=provenance,
        data_folder=folder if provenance is not None else None,
        checksums=file_checksums(folder) if folder is not None and provenance is not None else {},
        layers=layers,
        quarantine=quarantine,
        load_audit=audit,
        tests=tests,
    )
    return Report(settings, datetime.now(UTC), business, run, run_started, data, notices, trends, warehouse)


def data_description(data: DataQuality) -> str:
    return describe(data.provenance) if data.provenance is not None else "unknown"
