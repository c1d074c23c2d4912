"""Write the report: gather the figures, draw the charts, render the page, all under TICKIT_HOME."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from tickit_platform.history.runs import RecordedRun
from tickit_platform.history.summary import RunSummary
from tickit_platform.reporting import charts
from tickit_platform.reporting.data import gather
from tickit_platform.reporting.history_charts import history_charts
from tickit_platform.reporting.page import render
from tickit_platform.settings import Settings
from tickit_runtime.errors import TickitError

REPORT_FILE = "report.html"


class ReportError(TickitError):
    """There is nothing to report on; the message says what to run first."""


@dataclass(frozen=True)
class ReportFiles:
    html: Path
    images: tuple[Path, ...]


def _write(path: Path, content: bytes) -> None:
    # Renamed into place: a browser reloading the page never reads half a file.
    part = path.with_name(f".{path.name}.part")
    part.write_bytes(content)
    os.replace(part, path)


def write_report(
    settings: Settings,
    summary: RunSummary,
    data_folder: Path | None = None,
    run_id: str | None = None,
    latest: RecordedRun | None = None,
) -> ReportFiles:
    """The report of the latest run under reports/, or of the kept run `run_id` under reports/runs/<run_id>/;
    `latest`, the run this process just recorded."""
    report = gather(settings, summary, data_folder, run_id, latest)
    if report.empty:
        raise ReportError(
            f"nothing to report on: no warehouse at {report.warehouse} and no run recorded under "
            f"{settings.runs_dir}. Run `tickit run` first."
        )
    images: dict[str, bytes] = {}
    if report.business is not None:
        images["revenue-by-venue"] = charts.revenue_by_venue(report.business)
        images["sales-by-event"] = charts.sales_by_event(report.business)
        images["customer-spend-pareto"] = charts.customer_pareto(report.business)
    if report.run is not None:
        images["run-timeline"] = charts.run_timeline(report.run, report.run_started)
    if report.history is not None:
        images.update(history_charts(report.history))
    out = settings.reports_dir if run_id is None else settings.layout.run_report(run_id)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, png in images.items():
        path = out / f"{name}.png"
        _write(path, png)
        written.append(path)
    docs_index = settings.layout.docs / "index.html"
    html = render(report, images, docs_index if docs_index.is_file() else None)
    _write(out / REPORT_FILE, html.encode("utf-8"))
    return ReportFiles(out / REPORT_FILE, tuple(written))
