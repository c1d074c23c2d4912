"""The data figures a run leaves in the warehouse, written into its folder when `tickit run` ends.

The warehouse holds only the latest run's rows and load audit; to chart them over runs, each run keeps
its own copy (runs/<run_id>/data.json). Read-only, and empty where there is no local warehouse.
"""

from __future__ import annotations

from typing import Any

from tickit_platform.settings import Settings
from tickit_platform.warehouse.quality import load_counts
from tickit_platform.warehouse.results import layer_row_counts


def data_figures(settings: Settings, description: str) -> dict[str, Any]:
    figures: dict[str, Any] = {"description": description, "layers": None, "load_audit": None}
    if settings.target != "local" or not settings.warehouse_path.is_file():
        return figures
    figures["layers"] = layer_row_counts(settings.warehouse_path)
    figures["load_audit"] = [
        {"source": c.source, "file": c.file, "lines": c.lines, "loaded": c.loaded, "quarantined": c.quarantined}
        for c in load_counts(settings.warehouse_path)
    ]
    return figures
