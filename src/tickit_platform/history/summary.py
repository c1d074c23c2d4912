"""The summary of one run's data, built once when it ends: given to the console, kept as data.json, and
given to the report, so the three never disagree and the warehouse is read once per run.

The warehouse holds only the latest run's rows and load audit; to chart them over runs, each run keeps
its own copy of those figures (runs/<run_id>/data.json, history/runs.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tickit_platform.settings import Settings
from tickit_platform.warehouse.availability import check_warehouse
from tickit_platform.warehouse.connection import WarehouseLocation
from tickit_platform.warehouse.figures import WarehouseFigures, read_figures
from tickit_platform.warehouse.quality import Freshness, freshness, manifest_path
from tickit_runtime.errors import TickitError


@dataclass(frozen=True)
class RunSummary:
    description: str  # which data the run loaded, as `tickit run` said it
    freshness: list[Freshness]  # the DAG's source freshness check
    warehouse: WarehouseFigures | None  # None: no warehouse yet, or `unread` says why it was not read
    unread: str | None = None
    location: WarehouseLocation | None = None  # the warehouse the run wrote to (and this summary read)

    def data_figures(self) -> dict[str, Any]:
        """What the run keeps in data.json: rows per layer and the load audit, null where not read, and
        which warehouse they were read from."""
        figures: dict[str, Any] = {
            "description": self.description,
            "warehouse": self.location.describe() if self.location is not None else None,
            "layers": None,
            "load_audit": None,
        }
        if self.warehouse is None:
            return figures
        figures["layers"] = self.warehouse.layers
        figures["load_audit"] = [
            {"source": c.source, "file": c.file, "lines": c.lines, "loaded": c.loaded, "quarantined": c.quarantined}
            for c in self.warehouse.load_counts or []
        ]
        return figures


def warehouse_location(settings: Settings) -> WarehouseLocation:
    """The warehouse the settings' target writes to, in the schemas their prefix names: what a run's summary,
    `tickit quarantine` and `tickit report` read, and how they name it."""
    from tickit_platform.data.postgres_staging import PostgresAddress

    return WarehouseLocation(
        settings.target,
        settings.dag.schemas,
        duckdb_path=settings.warehouse_path if settings.target == "local" else None,
        server=PostgresAddress.from_env(dict(settings.dag.postgres)) if settings.target == "postgres" else None,
        redshift=settings.redshift if settings.target == "dwh" else (),
        duckdb_config=(
            ("memory_limit", settings.dag.duckdb_memory_limit),
            ("threads", str(settings.dag.duckdb_threads)),
        ),
    )


def read_summary(settings: Settings, description: str = "", location: WarehouseLocation | None = None) -> RunSummary:
    """The run's figures from the warehouse at `location` (default: the settings' own; the one the run wrote
    to, on any engine); a warehouse another program holds, or a server that cannot be reached, is said in
    `unread`, not raised."""
    location = location or warehouse_location(settings)
    fresh = freshness(settings.layout.freshness)
    if not location.exists():
        return RunSummary(description, fresh, None, location=location)
    try:
        if location.duckdb_path is not None:
            check_warehouse(location.duckdb_path, write=False)
        figures = read_figures(location, manifest_path(settings))
    except TickitError as err:  # another program may have opened the file meanwhile, a server gone
        return RunSummary(description, fresh, None, unread=str(err), location=location)
    return RunSummary(description, fresh, figures, location=location)
