"""The report as one self-contained HTML page: inline CSS, charts as base64 PNG, no script, no network.

The figures behind the page are also embedded as JSON (`<script type="application/json" id="report-data">`)
so a program can read exactly what a person sees.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from tickit_platform.reporting.data import Report, data_description

CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: #212121; margin: 0; }
body { background: #fafafa; }
main { max-width: 1100px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; } h2 { border-bottom: 2px solid #1565c0; padding-bottom: 4px; margin-top: 36px; }
h3 { margin: 24px 0 8px; } .meta { color: #616161; }
table { border-collapse: collapse; margin: 8px 0 16px; background: white; font-size: 13px; }
th, td { border: 1px solid #e0e0e0; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eeeeee; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; background: white; border: 1px solid #e0e0e0; }
.notice { background: #fff8e1; border-left: 4px solid #f9a825; padding: 8px 12px; margin: 8px 0; }
.failed { color: #c62828; font-weight: 600; } .upstream_failed { color: #f57f17; font-weight: 600; }
.success { color: #2e7d32; } code { font-size: 12px; word-break: break-all; }
"""


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], css_id: str = "") -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for value in row:
            numeric = isinstance(value, int | float | Decimal) and not isinstance(value, bool)
            cells.append(
                f'<td class="n">{escape(_value(value))}</td>' if numeric else f"<td>{escape(_value(value))}</td>"
            )
        body.append(f"<tr>{''.join(cells)}</tr>")
    ident = f' id="{escape(css_id)}"' if css_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def image(name: str, png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<p><img id="chart-{escape(name)}" alt="{escape(alt)}" src="data:image/png;base64,{data}"></p>'


def _notices(report: Report, section: str) -> str:
    return "".join(f'<div class="notice">{escape(text)}</div>' for text in report.notices.get(section, []))


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
        "notices": report.notices,
    }
    # "</" would end the script element early whatever the JSON says.
    return json.dumps(payload, default=_json_default, indent=1).replace("</", "<\\/")


def _business(report: Report, charts: dict[str, bytes]) -> str:
    parts = ["<h2>Business</h2>", '<p class="meta">Read from the gold views of the warehouse.</p>']
    parts.append(_notices(report, "business"))
    b = report.business
    if b is None:
        return "".join(parts)
    parts.append("<h3>Revenue per venue</h3>")
    parts.append(image("revenue-by-venue", charts["revenue-by-venue"], "Revenue per venue, top 10"))
    parts.append(
        table(
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
        )
    )
    parts.append("<h3>Sales per event</h3>")
    parts.append(image("sales-by-event", charts["sales-by-event"], "Sales per event, top 10 and the rest"))
    total = b.events_total
    top = sum((r["total_revenue"] for r in b.events), Decimal(0))
    rest = Decimal(total["total_revenue"]) - top
    parts.append(
        f"<p>{int(total['events']):,} events, {int(total['events_with_sales']):,} with sales; total revenue "
        f"${Decimal(total['total_revenue']):,.2f}. The {len(b.events)} below: ${top:,.2f}; the other "
        f"{int(total['events']) - len(b.events):,} events: ${rest:,.2f}.</p>"
    )
    parts.append(
        table(
            ["event", "name", "category", "tickets", "revenue"],
            [
                (r["event_id"], r["event_name"], r["category_name"], r["tickets_sold"], r["total_revenue"])
                for r in b.events
            ],
            "events",
        )
    )
    parts.append("<h3>Customers by total spend</h3>")
    parts.append(image("customer-spend-pareto", charts["customer-spend-pareto"], "Cumulative share of revenue"))
    parts.append(
        table(
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
        )
    )
    return "".join(parts)


def _run(report: Report, charts: dict[str, bytes]) -> str:
    parts = ["<h2>Run</h2>", _notices(report, "run")]
    run = report.run
    if run is None:
        return "".join(parts)
    parts.append(
        f'<p>DAG run <code>{escape(run.run_id)}</code>: <span class="{escape(run.state)}">{escape(run.state)}</span> '
        f"in {run.seconds:.1f} s, {len(run.tasks)} tasks.</p>"
    )
    if run.failed:
        items = []
        for task in run.failed:
            # The same rule as the command line's summary: a failed task has its own log to read.
            where = f" log: <code>{escape(str(task.log_path))}</code>" if task.state == "failed" else ""
            items.append(
                f'<li><b>{escape(task.task_id)}</b> <span class="{task.state}">{task.state}</span>{where}</li>'
            )
        parts.append(f'<ul id="failed-tasks">{"".join(items)}</ul>')
    parts.append(image("run-timeline", charts["run-timeline"], "Task timeline of the last DAG run"))
    parts.append(
        table(
            ["task", "state", "started", "seconds", "tries"],
            [
                (
                    t.task_id,
                    t.state or "",
                    (t.start_date or "")[:23],
                    round(t.duration, 1) if t.duration else None,
                    t.try_number,
                )
                for t in run.tasks
            ],
            "tasks",
        )
    )
    return "".join(parts)


def _data(report: Report, docs_index: Path | None) -> str:
    data = report.data
    parts = ["<h2>Data</h2>", _notices(report, "data")]
    parts.append(f"<p>Data: {escape(data_description(data))}</p>")
    if data.provenance is not None:
        p = data.provenance
        rows: list[tuple[str, Any]] = [
            ("kind", p.kind),
            ("source", p.source),
            ("folder", data.data_folder),
            ("created", p.created),
        ]
        rows += [("scale", p.scale), ("seed", p.seed)] if p.kind == "synthetic" else [("zip sha256", p.sha256)]
        parts.append(table(["", ""], rows, "provenance"))
        parts.append(table(["file", "sha256"], sorted(data.checksums.items()), "checksums"))
    if data.layers is not None:
        parts.append("<h3>Rows per layer</h3>")
        parts.append(
            table(
                ["layer", "relations", "rows"],
                [(layer, len(t), sum(t.values())) for layer, t in data.layers.items()],
                "layers",
            )
        )
    if data.quarantine is not None:
        parts.append("<h3>Quarantined rows</h3>")
        if data.quarantine:
            parts.append(
                table(
                    ["source", "rows quarantined", "reasons", "e.g."],
                    [
                        (q["source_name"], q["rows_quarantined"], q["reasons"], q["example_reason"])
                        for q in data.quarantine
                    ],
                    "quarantine",
                )
            )
        else:
            parts.append('<p id="quarantine">No rows were quarantined.</p>')
    if data.load_audit is not None:
        parts.append("<h3>Load audit</h3>")
        parts.append(
            table(
                ["source", "file", "lines", "loaded", "quarantined"],
                [
                    (a["source_name"], a["file_name"], a["lines_in_file"], a["rows_loaded"], a["rows_quarantined"])
                    for a in data.load_audit
                ],
                "load-audit",
            )
        )
    if data.tests is not None:
        parts.append("<h3>Data-quality tests</h3>")
        parts.append(
            table(
                ["test", "model", "severity", "status", "failures"],
                [(t["name"], t["model"], t["severity"], t["status"], t["failures"]) for t in data.tests],
                "tests",
            )
        )
    if docs_index is not None:
        parts.append(
            f"<p>dbt docs (models, columns, lineage): <code>{escape(str(docs_index))}</code>, "
            "also under Browse &gt; dbt Docs in <code>tickit ui</code>.</p>"
        )
    return "".join(parts)


def render(report: Report, charts: dict[str, bytes], docs_index: Path | None = None) -> str:
    settings = report.settings
    head = (
        f'<h1>tickit report</h1><p class="meta">Written {report.created:%Y-%m-%d %H:%M:%S} UTC · target '
        f"{escape(settings.target)} · warehouse <code>{escape(str(settings.warehouse_path))}</code></p>"
    )
    body = head + _business(report, charts) + _run(report, charts) + _data(report, docs_index)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>tickit report</title><style>{CSS}</style></head><body><main>{body}</main>"
        f'<script type="application/json" id="report-data">{report_json(report)}</script></body></html>\n'
    )
