"""Everything a finished run shows of its warehouse, read once through one read-only connection, on
whichever engine the run wrote to (warehouse/connection.py).

The console's summary, the run's kept data figures (data.json) and the report all take their figures
from this one read (history/summary.py), so they cannot disagree and the warehouse is queried once per
run. A gold view a failed run left unbuilt, or a manifest that cannot be read, is an error of that
figure alone: the others are still read.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickit_platform.warehouse.connection import WarehouseLocation, WarehouseReader, first_line, open_warehouse
from tickit_platform.warehouse.quality import LoadCount, TestOutcome, load_counts, quarantine_by_source, test_outcomes
from tickit_platform.warehouse.results import GoldSummary, Row, gold_summary, layer_counts, top_rows

GOLD_VIEWS = ("gold_revenue_by_venue", "gold_sales_by_event", "gold_user_activity")
CONSOLE_TOP = 5  # rows of each gold view the console shows
REPORT_TOP = 10  # rows of each gold view the report shows


@dataclass(frozen=True)
class GoldTop:
    """The first rows of one gold view, all its columns; `error` says why there are none."""

    view: str
    columns: list[str]
    rows: list[tuple[Any, ...]]
    error: str | None = None


@dataclass(frozen=True)
class WarehouseFigures:
    layers: dict[str, dict[str, int]]  # layer -> relation -> rows
    load_counts: list[LoadCount] | None  # None: the warehouse predates the load audit
    quarantine: list[Row] | None  # quarantined lines per source; None: the warehouse predates the quarantine
    tests: list[TestOutcome] | None  # None: tests_error says why they could not be read
    tests_error: str | None
    gold_top: tuple[GoldTop, ...]
    gold: GoldSummary | None  # None: gold_error says why the report's gold figures could not be read
    gold_error: str | None


def _gold_top(reader: WarehouseReader, view: str) -> GoldTop:
    """The report's top rows, every column: the console shows the first of them (one reading for both)."""
    try:
        columns, rows = top_rows(reader, view, n=REPORT_TOP)
    except reader.errors as err:  # a failed run may have left a view unbuilt
        return GoldTop(view, [], [], first_line(err))
    return GoldTop(view, columns, rows)


def read_figures(location: WarehouseLocation, manifest: Path) -> WarehouseFigures:
    """Every figure of the warehouse's last build; the data tests' severities come from `manifest`.

    Each gold view is read as few times as its figures allow (its top rows once for the console and the
    report, its totals once, its rows counted with them): at scale 100 every reading of a view is seconds."""
    with open_warehouse(location) as reader:
        manifest_errors: tuple[type[Exception], ...] = (*reader.errors, OSError, ValueError, KeyError)
        tests: list[TestOutcome] | None
        try:
            tests, tests_error = test_outcomes(reader, manifest), None
        except manifest_errors as err:  # a manifest from another dbt, a half file
            tests, tests_error = None, first_line(err)
        tops = {view: _gold_top(reader, view) for view in GOLD_VIEWS}
        # ValueError: a view without a column the report shows.
        gold_errors: tuple[type[Exception], ...] = (*reader.errors, ValueError)
        gold: GoldSummary | None = None
        gold_error = next((top.error for top in tops.values() if top.error is not None), None)
        if gold_error is None:
            try:
                gold = gold_summary(reader, {view: (top.columns, top.rows) for view, top in tops.items()})
            except gold_errors as err:
                gold_error = first_line(err)
        return WarehouseFigures(
            layers=layer_counts(reader, known=gold.counts if gold is not None else None),
            load_counts=load_counts(reader),
            quarantine=quarantine_by_source(reader),
            tests=tests,
            tests_error=tests_error,
            gold_top=tuple(dataclasses.replace(top, rows=top.rows[:CONSOLE_TOP]) for top in tops.values()),
            gold=gold,
            gold_error=gold_error,
        )


def load_audit_rows(counts: list[LoadCount]) -> list[Row]:
    """The load audit as raw.load_audit names its columns (the report's data keeps those names)."""
    return [
        {
            "source_name": c.source,
            "file_name": c.file,
            "lines_in_file": c.lines,
            "rows_loaded": c.loaded,
            "rows_quarantined": c.quarantined,
        }
        for c in counts
    ]
