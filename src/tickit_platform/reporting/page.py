"""The report as one self-contained HTML page: inline CSS, charts as base64 PNG, no script, no network.

The page is laid out by a Jinja2 template (templates/report.html.j2) with autoescaping on, so no value
reaches the page unescaped; this module only shapes the figures into the tables the template lays out.
The figures behind the page are also embedded as JSON (`<script type="application/json" id="report-data">`)
so a program can read exactly what a person sees.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from tickit_platform.reporting.data import Report, data_description
from tickit_platform.warehouse.results import Row

TEMPLATE = "report.html.j2"


def cell(value: Any) -> str:
    """A value as a table cell shows it: thousands separated, money with cents, nothing for NULL."""
    if value is None:
        return ""
    if isinstance(value, Decimal | float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("tickit_platform.reporting", "templates"),
        autoescape=True,
        undefined=StrictUndefined,  # a misspelt name in the template fails the report, not prints nothing
        keep_trailing_newline=True,
    )
    env.filters["cell"] = cell
    env.tests["number_cell"] = is_number
    return env


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[Any]]
    css_id: str = ""


@dataclass(frozen=True)
class DataSection:
    title: str
    table: Table | None = None
    text: str = ""  # shown instead of a table
    css_id: str = ""


@dataclass(frozen=True)
class DataView:
    description: str
    sections: list[DataSection] = field(default_factory=list)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal | Path | datetime):
        return str(value) if not isinstance(value, datetime) else value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def report_json(report: Report) -> str:
    """The figures the page shows, as JSON; numbers from the warehouse keep their exact decimal text."""
    business = asdict(report.business) if report.business else None
    run = None
    if report.run is not None:
        run = {
            "run_id": report.run.run_id,
            "state": report.run.state,
            "seconds": report.run.seconds,
            "started": report.run_started,
            "tasks": [asdict(t) for t in report.run.tasks],
            "failed": [t.task_id for t in report.run.failed],
        }
    data = report.data
    payload = {
        "created": report.created,
        "target": report.settings.target,
        "warehouse": report.warehouse,
        "business": business,
        "run": run,
        "data": {
            "description": data_description(data),
            "provenance": asdict(data.provenance) if data.provenance else None,
            "folder": data.data_folder,
            "checksums": data.checksums,
            "layers": data.layers,
            "quarantine": data.quarantine,
            "load_audit": data.load_audit,
            "tests": data.tests,
        },
        "history": asdict(report.history) if report.history is not None else None,
        "notices": report.notices,
    }
    # "</" would end the script element early whatever the JSON says.
    return json.dumps(payload, default=_json_default, indent=1).replace("</", "<\\/")


def _business(report: Report) -> dict[str, Any] | None:
    b = report.business
    if b is None:
        return None
    total = b.events_total
    top = sum((r["total_revenue"] for r in b.events), Decimal(0))
    return {
        "venues": Table(
            ["rank", "venue", "city", "state", "revenue"],
            [
                (
                    r["revenue_rank"],
                    r["venue_name"] or f"venue {r['venue_id']} (not in venue)",
                    r["venue_city"],
                    r["venue_state"],
                    r["total_revenue"],
                )
                for r in b.venues
            ],
            "venues",
        ),
        "events_summary": {
            "events": int(total["events"]),
            "events_with_sales": int(total["events_with_sales"]),
            "total": Decimal(total["total_revenue"]),
            "shown": len(b.events),
            "top": top,
            "others": int(total["events"]) - len(b.events),
            "rest": Decimal(total["total_revenue"]) - top,
        },
        "events": Table(
            ["event", "name", "category", "tickets", "revenue"],
            [
                (r["event_id"], r["event_name"], r["category_name"], r["tickets_sold"], r["total_revenue"])
                for r in b.events
            ],
            "events",
        ),
        "customers": Table(
            ["rank", "user", "username", "name", "city", "state", "purchases", "spent"],
            [
                (
                    r["spend_rank"],
                    r["user_id"],
                    r["username"],
                    r["full_name"],
                    r["city"],
                    r["state"],
                    r["purchases_count"],
                    r["total_spent"],
                )
                for r in b.customers
            ],
            "customers",
        ),
    }


def _run_tasks(report: Report) -> Table | None:
    if report.run is None:
        return None
    return Table(
        ["task", "state", "started", "seconds", "tries"],
        [
            (
                t.task_id,
                t.state or "",
                (t.start_date or "")[:23],
                round(t.duration, 1) if t.duration else None,
                t.try_number,
            )
            for t in report.run.tasks
        ],
        "tasks",
    )


def _history(report: Report) -> dict[str, Table] | None:
    trends = report.history
    if trends is None or trends.empty:
        return None

    def models(rows: Sequence[Any], css_id: str) -> Table:
        columns = ["model", "median s", "latest s", "growth s"]
        return Table(columns, [(t.model, t.median, t.latest, t.growth) for t in rows], css_id)

    runs = Table(
        ["run", "started", "state", "seconds", "data"],
        [(r.run_id, (r.started or "")[:19], r.state, r.seconds, r.data) for r in reversed(trends.runs)],
        "history-runs",
    )
    slowest, grew = models(trends.slowest, "history-slowest"), models(trends.grew, "history-grew")
    return {"runs": runs, "slowest": slowest, "grew": grew}


def _pick(records: Sequence[Row], *keys: str) -> list[tuple[Any, ...]]:
    return [tuple(record[key] for key in keys) for record in records]


def _data(report: Report) -> DataView:
    data = report.data
    view = DataView(data_description(data))
    add = view.sections.append
    if data.provenance is not None:
        p = data.provenance
        facts: list[tuple[str, Any]] = [
            ("kind", p.kind),
            ("source", p.source),
            ("folder", data.data_folder),
            ("created", p.created),
        ]
        facts += [("scale", p.scale), ("seed", p.seed)] if p.kind == "synthetic" else [("zip sha256", p.sha256)]
        add(DataSection("", Table(["", ""], facts, "provenance")))
        add(DataSection("", Table(["file", "sha256"], sorted(data.checksums.items()), "checksums")))
    if data.layers is not None:
        layers = [(layer, len(t), sum(t.values())) for layer, t in data.layers.items()]
        add(DataSection("Rows per layer", Table(["layer", "relations", "rows"], layers, "layers")))
    if data.quarantine:
        rows = _pick(data.quarantine, "source_name", "rows_quarantined", "reasons", "example_reason")
        table = Table(["source", "rows quarantined", "reasons", "e.g."], rows, "quarantine")
        add(DataSection("Quarantined rows", table))
    elif data.quarantine is not None:
        add(DataSection("Quarantined rows", text="No rows were quarantined.", css_id="quarantine"))
    if data.load_audit is not None:
        rows = _pick(data.load_audit, "source_name", "file_name", "lines_in_file", "rows_loaded", "rows_quarantined")
        add(DataSection("Load audit", Table(["source", "file", "lines", "loaded", "quarantined"], rows, "load-audit")))
    if data.tests is not None:
        rows = _pick(data.tests, "name", "model", "severity", "status", "failures")
        table = Table(["test", "model", "severity", "status", "failures"], rows, "tests")
        add(DataSection("Data-quality tests", table))
    return view


def render(report: Report, charts: dict[str, bytes], docs_index: Path | None = None) -> str:
    return (
        environment()
        .get_template(TEMPLATE)
        .render(
            report=report,
            charts={name: base64.b64encode(png).decode("ascii") for name, png in charts.items()},
            business=_business(report),
            run=report.run,
            run_tasks=_run_tasks(report),
            history=_history(report),
            data=_data(report),
            docs_index=docs_index,
            # Markup: report_json already turned every "</" into "<\/", so the JSON cannot end the script early,
            # and HTML-escaping it would change the JSON a program reads.
            report_json=Markup(report_json(report)),
        )
    )
