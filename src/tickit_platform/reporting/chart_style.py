"""What every chart of the report shares: matplotlib's Agg backend, the state colours, and PNG output."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # before pyplot: a report may be written on a machine with no display

import matplotlib.pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

# One colour per Airflow state, the same in the run's timeline and the history's durations.
STATE_COLOURS = {
    "success": "#2e7d32",
    "failed": "#c62828",
    "upstream_failed": "#f9a825",
    "skipped": "#9e9e9e",
    "up_for_retry": "#8e24aa",
    "running": "#00838f",
}
UNKNOWN_STATE = "#bdbdbd"
BAR = "#1565c0"


def subplots(width: float, height: float) -> tuple[Figure, Axes]:
    """One chart of this size in inches (pyplot is imported here only: after the backend is chosen)."""
    return plt.subplots(figsize=(width, height))


def png(fig: Figure) -> bytes:
    """The figure as PNG bytes; the figure is closed (pyplot keeps every open one in memory)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight", facecolor="white")
    plt.close(fig)
    return buffer.getvalue()
