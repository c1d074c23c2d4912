"""The seven tickit files as typed objects, read from the dbt sources YAML (the one source of truth).

dbt's load macro reads the same YAML through its graph, so the generator, the downloader's checks and
the warehouse load can never disagree on a delimiter, a column or a time format.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from tickit_runtime.paths import SOURCES_YML

# Redshift COPY time-format tokens and their strptime equivalents, longest first.
_TIME_TOKENS = (("YYYY", "%Y"), ("MM", "%m"), ("DD", "%d"), ("HH", "%H"), ("MI", "%M"), ("SS", "%S"))


@dataclass(frozen=True)
class Column:
    # No description: the YAML's is a doc() reference only dbt can render (models/docs/*.md).
    name: str
    data_type: str


@dataclass(frozen=True)
class TableFormat:
    """How one raw table is written to its file."""

    table: str
    file: str
    delimiter: str
    columns: tuple[Column, ...]
    official_rows: int
    scales: bool
    time_format: str | None = None  # Redshift COPY notation, e.g. "MM/DD/YYYY HH:MI:SS"

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def strptime_format(self) -> str | None:
        """The time format in strptime notation (month and day accept one or two digits)."""
        if self.time_format is None:
            return None
        fmt = self.time_format
        for token, directive in _TIME_TOKENS:
            fmt = fmt.replace(token, directive)
        return fmt

    def rows_at_scale(self, scale: float) -> int:
        return round(self.official_rows * scale) if self.scales else self.official_rows


def _table_format(raw: dict[str, Any]) -> TableFormat:
    meta = raw["meta"]
    return TableFormat(
        table=raw["name"],
        file=meta["file"],
        delimiter=meta["delimiter"],
        columns=tuple(Column(c["name"], c["data_type"]) for c in raw["columns"]),
        official_rows=int(meta["rows"]),
        scales=bool(meta["scales"]),
        time_format=meta.get("time_format"),
    )


@cache
def load_formats(path: Path = SOURCES_YML) -> dict[str, TableFormat]:
    """All seven raw tables keyed by table name, in dependency-free declaration order."""
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    (source,) = [s for s in doc["sources"] if s["name"] == "tickit_raw"]
    return {t["name"]: _table_format(t) for t in source["tables"]}


def table_format(table: str) -> TableFormat:
    try:
        return load_formats()[table]
    except KeyError:
        raise KeyError(f"unknown tickit table {table!r}; known: {', '.join(load_formats())}") from None


TABLES: tuple[str, ...] = ("users", "venue", "category", "date", "event", "listing", "sales")
