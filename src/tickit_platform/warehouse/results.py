"""What a finished run shows the user, read from the DuckDB warehouse in read-only mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

LAYERS = ("raw", "bronze", "silver", "gold")

# How each gold view is best read: by its own rank, best first.
GOLD_ORDER = {
    "gold_revenue_by_venue": "revenue_rank, venue_id",
    "gold_sales_by_event": "total_revenue desc, event_id",
    "gold_user_activity": "spend_rank, user_id",
}


def layer_row_counts(warehouse: Path) -> dict[str, dict[str, int]]:
    """Rows per relation, grouped by layer (schema), for every table and view the layers hold."""
    counts: dict[str, dict[str, int]] = {layer: {} for layer in LAYERS}
    with duckdb.connect(str(warehouse), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema in (" + ", ".join("?" for _ in LAYERS) + ") order by table_schema, table_name",
            list(LAYERS),
        ).fetchall()
        for schema, name in relations:
            row = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()
            counts[schema][name] = int(row[0]) if row else 0
    return counts


def top_rows(warehouse: Path, view: str, n: int = 5) -> tuple[list[str], list[tuple[Any, ...]]]:
    order = GOLD_ORDER.get(view, "1")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(f'select * from gold."{view}" order by {order} limit {int(n)}')
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()
