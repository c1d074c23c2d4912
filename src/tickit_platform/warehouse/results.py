"""What a finished run shows the user, read from the warehouse (any engine) through a read-only reader."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tickit_platform.warehouse.connection import WarehouseLocation, WarehouseReader, open_warehouse
from tickit_runtime.schemas import WarehouseSchemas

Row = dict[str, Any]

LAYERS = ("raw", "bronze", "silver", "gold")

# How each gold view is best read: by its own rank, best first.
GOLD_ORDER = {
    "gold_revenue_by_venue": "revenue_rank, venue_id",
    "gold_sales_by_event": "total_revenue desc, event_id",
    "gold_user_activity": "spend_rank, user_id",
}


def layer_row_counts(warehouse: Path, schemas: WarehouseSchemas | None = None) -> dict[str, dict[str, int]]:
    """Rows per relation and layer of a DuckDB file (the seed's schema names unless `schemas` says otherwise)."""
    location = WarehouseLocation("local", schemas or WarehouseSchemas(), duckdb_path=warehouse)
    with open_warehouse(location) as reader:
        return layer_counts(reader)


def layer_counts(reader: WarehouseReader, known: dict[str, int] | None = None) -> dict[str, dict[str, int]]:
    """Rows per relation, grouped by layer, for every table and view the layers' schemas hold (the
    deployment's own: with a schema prefix, `<prefix>_silver` is the silver layer). `known`: gold views'
    counts already read with their other figures, not counted again (each count of a gold view evaluates it
    over every sale)."""
    schemas = reader.schemas.layers
    layer_of = {schema: layer for layer, schema in schemas.items()}
    counts: dict[str, dict[str, int]] = {layer: {} for layer in LAYERS}
    _, relations = reader.query(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in (" + ", ".join("?" for _ in LAYERS) + ") order by table_schema, table_name",
        [schemas[layer] for layer in LAYERS],
    )
    known = known or {}
    for schema, name in relations:
        if layer_of[schema] == "gold" and name in known:
            counts["gold"][name] = known[name]
            continue
        _, found = reader.query(f'select count(*) from "{schema}"."{name}"')
        counts[layer_of[schema]][name] = int(found[0][0]) if found else 0
    return counts


def top_rows(reader: WarehouseReader, view: str, n: int = 5) -> tuple[list[str], list[tuple[Any, ...]]]:
    order = GOLD_ORDER.get(view, "1")
    return reader.query(f'select * from "{reader.schemas.gold}"."{view}" order by {order} limit {int(n)}')


def rows(reader: WarehouseReader, sql: str, params: list[Any] | None = None) -> list[Row]:
    """A query's rows as dictionaries keyed by column name."""
    columns, found = reader.query(sql, params or [])
    return [dict(zip(columns, values, strict=True)) for values in found]


def tables(reader: WarehouseReader, schema: str) -> set[str]:
    _, found = reader.query("select table_name from information_schema.tables where table_schema = ?", [schema])
    return {name for (name,) in found}


@dataclass(frozen=True)
class GoldSummary:
    venues: list[Row]  # the top venues by revenue
    events: list[Row]  # the top events by revenue
    events_total: Row  # events, events_with_sales, total_revenue over every event
    customers: list[Row]  # the top customers by spend
    spends: list[Any]  # every customer's total spend, in no particular order

    @property
    def counts(self) -> dict[str, int]:
        """The rows of the gold views these figures counted on the way (layer_counts' `known`)."""
        return {"gold_sales_by_event": int(self.events_total["events"]), "gold_user_activity": len(self.spends)}


# The columns of each gold view the report shows of its top rows.
REPORT_COLUMNS = {
    "gold_revenue_by_venue": ("venue_id", "venue_name", "venue_city", "venue_state", "total_revenue", "revenue_rank"),
    "gold_sales_by_event": ("event_id", "event_name", "category_name", "tickets_sold", "total_revenue"),
    "gold_user_activity": (
        "spend_rank", "user_id", "username", "full_name", "city", "state", "purchases_count", "total_spent",
    ),
}  # fmt: skip


def gold_summary(reader: WarehouseReader, tops: dict[str, tuple[list[str], list[tuple[Any, ...]]]]) -> GoldSummary:
    """The three gold views as the report shows them: the top of each, from `tops` (every column of each view's
    first rows, best first: top_rows), and the totals behind them. Two readings of the views besides `tops`: at
    scale 100 each one evaluates a view over 17 million sales."""
    gold = f'"{reader.schemas.gold}"'

    def shown(view: str) -> list[Row]:
        columns, found = tops[view]
        return [{name: row[columns.index(name)] for name in REPORT_COLUMNS[view]} for row in found]

    return GoldSummary(
        venues=shown("gold_revenue_by_venue"),
        events=shown("gold_sales_by_event"),
        events_total=rows(
            reader,
            # `sum(case …)`, not `count(*) filter (…)`: Redshift has no filter clause.
            "select count(*) as events, "
            "coalesce(sum(case when sales_count > 0 then 1 else 0 end), 0) as events_with_sales, "
            f"coalesce(sum(total_revenue), 0) as total_revenue from {gold}.gold_sales_by_event",
        )[0],
        customers=shown("gold_user_activity"),
        # Unordered: the Pareto curve sorts them itself, and the engine is spared sorting every customer.
        spends=[v for (v,) in reader.query(f"select total_spent from {gold}.gold_user_activity")[1]],
    )
