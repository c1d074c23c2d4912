"""The report's charts as PNG bytes, drawn with matplotlib's Agg backend: no display, no network."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from tickit_platform.history.record import DagRunResult
from tickit_platform.reporting.chart_style import BAR, STATE_COLOURS, UNKNOWN_STATE, png, subplots
from tickit_platform.reporting.data import Business, share_of_top
from tickit_platform.warehouse.results import Row

DOLLARS = FuncFormatter(lambda value, _: f"${value:,.0f}")
LABEL_WIDTH = 42  # characters of a bar's label; longer ones are cut with an ellipsis


def _short(text: str, width: int = LABEL_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def venue_labels(rows: list[Row]) -> list[str]:
    """One label per venue, never two alike: venues are keyed by id, and tickit has venues that share
    a name (and some a city too), whose bars would otherwise be drawn as one."""
    bases = []
    for row in rows:
        if row["venue_name"] is None:
            bases.append(f"venue {row['venue_id']} (not in venue)")
        else:
            city = f", {row['venue_city']}" if row.get("venue_city") else ""
            bases.append(f"{row['venue_name']}{city}")
    repeated = {label for label, count in Counter(_short(b) for b in bases).items() if count > 1}
    labels = []
    for row, base in zip(rows, bases, strict=True):
        if _short(base) in repeated:
            suffix = f" #{row['venue_id']}"
            labels.append(_short(base, LABEL_WIDTH - len(suffix)) + suffix)
        else:
            labels.append(_short(base))
    return labels


def _revenue_bars(labels: list[str], values: list[float], title: str, extra_height: float) -> Figure:
    """Horizontal revenue bars, best at the top, each labelled with its amount.

    Bars are placed by position, not by label: matplotlib draws equal category labels as one bar.
    """
    fig, ax = subplots(8, 0.45 * max(len(values), 3) + extra_height)
    positions = list(range(len(values)))
    bars = ax.barh(positions, values, color=BAR)
    ax.set_yticks(positions, labels, fontsize=8)
    ax.invert_yaxis()  # the best first, at the top
    ax.bar_label(bars, labels=[f"${v:,.0f}" for v in values], padding=3, fontsize=8)
    ax.set_xlabel("revenue (USD)")
    ax.xaxis.set_major_formatter(DOLLARS)
    # Few ticks: dollar amounts in the millions are wide, and more of them overlap at this width.
    ax.xaxis.set_major_locator(MaxNLocator(nbins=4, min_n_ticks=2))
    ax.tick_params(axis="x", labelsize=8)
    ax.set_title(title)
    ax.margins(x=0.15)
    ax.spines[["top", "right"]].set_visible(False)
    return fig


def revenue_by_venue_figure(business: Business) -> Figure:
    rows = business.venues
    values = [float(r["total_revenue"]) for r in rows]
    return _revenue_bars(venue_labels(rows), values, f"Revenue per venue: top {len(rows)}", 1)


def revenue_by_venue(business: Business) -> bytes:
    return png(revenue_by_venue_figure(business))


def sales_by_event(business: Business) -> bytes:
    rows = business.events
    total = float(business.events_total["total_revenue"]) or 1.0
    top = sum(float(r["total_revenue"]) for r in rows)
    rest_events = int(business.events_total["events"]) - len(rows)
    labels = [_short(f"{r['event_name']} (#{r['event_id']})") for r in rows]
    values = [float(r["total_revenue"]) for r in rows]
    title = f"Sales per event: top {len(rows)} of {int(business.events_total['events']):,}"
    fig = _revenue_bars(labels, values, title, 1.4)
    fig.text(
        0.01,
        -0.02,
        f"Top {len(rows)}: {top / total:.1%} of revenue. The other {rest_events:,} events: "
        f"${total - top:,.0f} ({(total - top) / total:.1%}); "
        f"{int(business.events_total['events']) - int(business.events_total['events_with_sales']):,} sold nothing.",
        fontsize=9,
    )
    return png(fig)


def customer_pareto(business: Business) -> bytes:
    curve = business.pareto
    fig, ax = subplots(6.5, 4.8)
    xs = [x * 100 for x, _ in curve]
    ys = [y * 100 for _, y in curve]
    ax.plot(xs, ys, color=BAR, linewidth=2, label="customers ranked by spend")
    ax.plot([0, 100], [0, 100], color="#9e9e9e", linestyle="--", linewidth=1, label="everyone spends the same")
    for fraction in (0.1, 0.2):
        share = share_of_top(curve, fraction)
        ax.annotate(
            f"top {fraction:.0%}: {share:.0%} of revenue",
            (fraction * 100, share * 100),
            xytext=(fraction * 100 + 12, share * 100 - 12),
            arrowprops={"arrowstyle": "->", "color": "#424242"},
            fontsize=8,
        )
    ax.set_xlabel("share of customers, biggest spenders first (%)")
    ax.set_ylabel("cumulative share of revenue (%)")
    ax.set_title(f"Customers by total spend ({business.customers_total['customers']:,} customers)")
    ax.set_xlim(0, 100)
    ax.set_ylim(0, 102)
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)
    return png(fig)


def run_timeline(run: DagRunResult, started: datetime | None) -> bytes:
    tasks = [t for t in run.tasks if t.start_date]
    origin = started or min((datetime.fromisoformat(t.start_date or "") for t in tasks), default=datetime.now(UTC))
    fig, ax = subplots(9, 0.3 * max(len(run.tasks), 4) + 1.2)
    labels, lefts, widths, colours = [], [], [], []
    for task in run.tasks:
        labels.append(task.task_id)
        if task.start_date:
            start = (datetime.fromisoformat(task.start_date) - origin).total_seconds()
            end = (datetime.fromisoformat(task.end_date) - origin).total_seconds() if task.end_date else start
            lefts.append(start)
            widths.append(max(end - start, 0.2))  # a task that took no time still shows
        else:  # never started (upstream_failed): a thin mark at the origin keeps its row and colour
            lefts.append(0.0)
            widths.append(0.2)
        colours.append(STATE_COLOURS.get(task.state or "", UNKNOWN_STATE))
    y = list(range(len(labels)))[::-1]
    ax.barh(y, widths, left=lefts, color=colours, height=0.7)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel("seconds since the run started")
    ax.set_title(f"DAG run {run.run_id}: {run.state}, {run.seconds:.1f} s")
    states = sorted({t.state or "none" for t in run.tasks})
    ax.legend(
        handles=[Patch(color=STATE_COLOURS.get(s, UNKNOWN_STATE), label=s) for s in states],
        loc="lower right",
        fontsize=8,
    )
    ax.grid(axis="x", alpha=0.3)
    ax.spines[["top", "right"]].set_visible(False)
    return png(fig)
