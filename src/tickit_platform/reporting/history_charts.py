"""The History section's charts as PNG bytes: one x position per kept run, oldest on the left.

Readable with one run (one bar, one marked point) and with fifty: at most ~12 run labels are written on
the axis, and every series is drawn with markers so a single value still shows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from tickit_platform.history.trends import History
from tickit_platform.reporting.chart_style import BAR, STATE_COLOURS, UNKNOWN_STATE, png, subplots

MAX_RUN_LABELS = 12
TEST_COLOURS = {
    "pass": STATE_COLOURS["success"],
    "warn": STATE_COLOURS["upstream_failed"],
    "fail": STATE_COLOURS["failed"],
    "error": "#6a1b9a",
    "skipped": STATE_COLOURS["skipped"],
}


def _run_label(history: History, i: int) -> str:
    started = history.runs[i].started
    return started[5:16].replace("T", " ") if started else history.runs[i].run_id[-12:]


def _run_axis(ax: Axes, history: History) -> None:
    n = len(history.runs)
    step = max(1, -(-n // MAX_RUN_LABELS))  # ceiling division
    ticks = list(range(0, n, step))
    ax.set_xticks(ticks, [_run_label(history, i) for i in ticks], rotation=45, ha="right", fontsize=7)
    ax.set_xlim(-0.6, n - 0.4)
    ax.set_xlabel("run (start, UTC; oldest first)")
    ax.spines[["top", "right"]].set_visible(False)
    ax.grid(axis="y", alpha=0.3)
    if history.selected is not None:
        ax.axvline(n - 1, color="#424242", linestyle=":", linewidth=1)


def _figure(history: History) -> tuple[Figure, Axes]:
    width = min(max(6.5, 0.18 * len(history.runs) + 5), 12)
    return subplots(width, 3.8)


def run_durations(history: History) -> bytes:
    fig, ax = _figure(history)
    xs = list(range(len(history.runs)))
    heights = [r.seconds or 0.0 for r in history.runs]
    colours = [STATE_COLOURS.get(r.state, UNKNOWN_STATE) for r in history.runs]
    ax.bar(xs, heights, color=colours, width=0.7)
    ax.set_ylabel("seconds")
    ax.set_title(f"DAG run duration ({len(xs)} kept run{'s' * (len(xs) != 1)})")
    states = sorted({r.state for r in history.runs})
    ax.legend(handles=[Patch(color=STATE_COLOURS.get(s, UNKNOWN_STATE), label=s) for s in states], fontsize=8)
    _run_axis(ax, history)
    return png(fig)


def _lines(history: History, series: Mapping[str, Sequence[float | int | None]], title: str, ylabel: str) -> bytes:
    fig, ax = _figure(history)
    for name, values in series.items():
        points = [(i, v) for i, v in enumerate(values) if v is not None]
        if points:
            ax.plot([i for i, _ in points], [v for _, v in points], marker="o", markersize=4, label=name)
    if not series:
        ax.text(0.5, 0.5, "nothing recorded in the kept runs", ha="center", va="center", transform=ax.transAxes)
    else:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=ylabel != "seconds", min_n_ticks=2))
    _run_axis(ax, history)
    return png(fig)


def model_durations(history: History) -> bytes:
    names = [t.model for t in history.slowest] + [t.model for t in history.grew]
    shown = {name: history.model_seconds[name] for name in dict.fromkeys(names)}
    return _lines(history, shown, "dbt time of the slowest models and of those that grew most", "seconds")


def rows_per_layer(history: History) -> bytes:
    return _lines(history, history.layers, "Rows per layer", "rows")


def quarantine(history: History) -> bytes:
    return _lines(history, history.quarantine, "Lines quarantined per source", "lines")


def test_outcomes(history: History) -> bytes:
    fig, ax = _figure(history)
    xs = list(range(len(history.runs)))
    bottom = [0] * len(xs)
    for status, counts in history.tests.items():
        if any(counts):
            ax.bar(xs, counts, bottom=bottom, color=TEST_COLOURS.get(status, BAR), width=0.7, label=status)
            bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    ax.set_title("Data tests per outcome")
    ax.set_ylabel("tests")
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _run_axis(ax, history)
    return png(fig)


def history_charts(history: History) -> dict[str, bytes]:
    """File stem -> PNG, nothing without a kept run."""
    if history.empty:
        return {}
    return {
        "history-run-durations": run_durations(history),
        "history-model-durations": model_durations(history),
        "history-rows-per-layer": rows_per_layer(history),
        "history-quarantine": quarantine(history),
        "history-tests": test_outcomes(history),
    }
