"""The report's History figures, computed from the kept runs only (never from the warehouse as it is now).

Every series has one value per kept run, oldest first; None where that run did not say (a model dbt
skipped, a run without data figures). Model times are dbt's own `execution_time` per model from the
shared build's run_results.json, so they are the same locally and on MWAA.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from tickit_platform.history.runs import RecordedRun

TOP_MODELS = 5
TEST_STATUSES = ("pass", "warn", "fail", "error", "skipped")


@dataclass(frozen=True)
class RunPoint:
    run_id: str
    started: str | None  # ISO 8601
    state: str
    seconds: float | None
    data: str  # which data the run loaded


@dataclass(frozen=True)
class ModelTrend:
    model: str
    median: float  # seconds, over the runs that built it
    latest: float | None
    growth: float | None  # latest minus the median of the earlier runs; None with fewer than two values


@dataclass(frozen=True)
class History:
    runs: list[RunPoint]
    model_seconds: dict[str, list[float | None]]
    slowest: list[ModelTrend]
    grew: list[ModelTrend]  # the models whose time grew most, growth > 0 only
    layers: dict[str, list[int | None]]  # layer -> total rows
    quarantine: dict[str, list[int | None]]  # source -> lines quarantined
    tests: dict[str, list[int]]  # status -> data tests with that status
    selected: str | None = None  # the run the report is about, when not the latest
    notices: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.runs


def _model_name(unique_id: str) -> str:
    return unique_id.rsplit(".", 1)[-1]


def _results(run: RecordedRun, kind: str) -> list[dict[str, Any]]:
    return [r for r in (run.run_results or {}).get("results", []) if str(r.get("unique_id", "")).startswith(kind)]


def model_seconds(runs: Sequence[RecordedRun]) -> dict[str, list[float | None]]:
    names = sorted({_model_name(r["unique_id"]) for run in runs for r in _results(run, "model.")})
    series: dict[str, list[float | None]] = {name: [] for name in names}
    for run in runs:
        built = {
            _model_name(r["unique_id"]): float(r["execution_time"])
            for r in _results(run, "model.")
            if r.get("status") not in {"skipped", None}
        }
        for name in names:
            series[name].append(built.get(name))
    return series


def model_trends(series: dict[str, list[float | None]]) -> list[ModelTrend]:
    trends = []
    for model, values in series.items():
        known = [v for v in values if v is not None]
        if not known:
            continue
        latest = values[-1]
        earlier = [v for v in values[:-1] if v is not None]
        growth = latest - statistics.median(earlier) if latest is not None and earlier else None
        trends.append(ModelTrend(model, statistics.median(known), latest, growth))
    return trends


def test_counts(runs: Sequence[RecordedRun]) -> dict[str, list[int]]:
    counts: dict[str, list[int]] = {status: [] for status in TEST_STATUSES}
    for run in runs:
        statuses = [str(r.get("status")) for r in _results(run, "test.")]
        for status in TEST_STATUSES:
            counts[status].append(statuses.count(status))
    return counts


def layer_rows(runs: Sequence[RecordedRun]) -> dict[str, list[int | None]]:
    layers = sorted({layer for run in runs for layer in ((run.data or {}).get("layers") or {})})
    series: dict[str, list[int | None]] = {layer: [] for layer in layers}
    for run in runs:
        counts = (run.data or {}).get("layers")
        for layer in layers:
            series[layer].append(sum(counts[layer].values()) if counts and layer in counts else None)
    return series


def quarantined(runs: Sequence[RecordedRun]) -> dict[str, list[int | None]]:
    sources = sorted({a["source"] for run in runs for a in ((run.data or {}).get("load_audit") or [])})
    series: dict[str, list[int | None]] = {source: [] for source in sources}
    for run in runs:
        audit = {a["source"]: int(a["quarantined"]) for a in ((run.data or {}).get("load_audit") or [])}
        for source in sources:
            series[source].append(audit.get(source))
    return series


def history(runs: Sequence[RecordedRun], selected: str | None = None) -> History:
    """The figures over `runs` (oldest first); with `selected`, over the runs up to and including it."""
    if selected is not None:
        ids = [r.run_id for r in runs]
        runs = runs[: ids.index(selected) + 1] if selected in ids else runs
    series = model_seconds(runs)
    trends = model_trends(series)
    notices = []
    if len(runs) == 1:
        notices.append("Only one run is kept so far: no history yet. Trends appear from the next run on.")
    points = [
        RunPoint(r.run_id, r.when.isoformat() if r.when else None, r.state, r.seconds, r.description) for r in runs
    ]
    return History(
        runs=points,
        model_seconds=series,
        slowest=sorted(trends, key=lambda t: (-t.median, t.model))[:TOP_MODELS],
        grew=sorted((t for t in trends if t.growth and t.growth > 0), key=lambda t: (-(t.growth or 0), t.model))[
            :TOP_MODELS
        ],
        layers=layer_rows(runs),
        quarantine=quarantined(runs),
        tests=test_counts(runs),
        selected=selected,
        notices=notices,
    )
