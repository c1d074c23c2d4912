"""The summary of one run's data, built once when it ends: given to the console, kept as data.json, and
given to the report, so the three never disagree and the warehouse is read once per run.

The warehouse holds only the latest run's rows and load audit; to chart them over runs, each run keeps
its own copy of those figures (runs/<run_id>/data.json, history/runs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import duckdb

from tickit_platform.errors import TickitError
from tickit_platform.settings import Settings
from tickit_platform.warehouse.availability import check_warehouse
from tickit_platform.warehouse.figures import WarehouseFigures, read_figures
from tickit_platform.warehouse.quality import Freshness, freshness, manifest_path


@dataclass(frozen=True)
class RunSummary:
    description: str  # which data the run loaded, as `tickit run` said it
    freshness: list[Freshness]  # the DAG's source freshness check
    warehouse: WarehouseFigures | None  # None: no local warehouse, or `unread` says why it was not read
    unread: str | None = None

    def data_figures(self) -> dict[str, Any]:
        """What the run keeps in data.json: rows per layer and the load audit, null where not read."""
        figures: dict[str, Any] = {"description": self.description, "layers": None, "load_audit": None}
        if self.warehouse is None:
            return figures
        figures["layers"] = self.warehouse.layers
        figures["load_audit"] = [
            {"source": c.source, "file": c.file, "lines": c.lines, "loaded": c.loaded, "quarantined": c.quarantined}
            for c in self.warehouse.load_counts or []
        ]
        return figures


def read_summary(settings: Settings, description: str = "") -> RunSummary:
    """The run's figures; a warehouse another program holds is said in `unread`, not raised."""
    fresh = freshness(settings.layout.freshness)
    if settings.target != "local" or not settings.warehouse_path.is_file():
        return RunSummary(description, fresh, None)
    try:
        check_warehouse(settings.warehouse_path, write=False)
        figures = read_figures(settings.warehouse_path, manifest_path(settings))
    except (TickitError, duckdb.Error) as err:  # another program may have opened the warehouse meanwhile
        return RunSummary(description, fresh, None, unread=str(err))
    return RunSummary(description, fresh, figures)
