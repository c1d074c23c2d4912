"""What a finished run shows the user, read from the DuckDB warehouse in read-only mode."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

Row = dict[str, Any]

LAYERS = ("raw", "bronze", "silver", "gold")

# How each gold view is best read: by its own rank, best first.
GOLD_ORDER = {
    "gold_revenue_by_venue": "revenue_rank, venue_id",
    "gold_sales_by_event": "total_revenue desc, event_id",
    "gold_user_activity": "spend_rank, user_id",
}


def layer_row_counts(warehouse: Path) -> dict[str, dict[str, int]]:
    """Rows per relation, grouped by layer (schema), for every table and view the layers hold."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return layer_counts(con)


def layer_counts(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {layer: {} for layer in LAYERS}
    relations = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_schema in (" + ", ".join("?" for _ in LAYERS) + ") order by table_schema, table_name",
        list(LAYERS),
    ).fetchall()
    for schema, name in relations:
        row = con.execute(f'select count(*) from "{schema}"."{name}"').fetchone()
        counts[schema][name] = int(row[0]) if row else 0
    return counts


def top_rows(con: duckdb.DuckDBPyConnection, view: str, n: int = 5) -> tuple[list[str], list[tuple[Any, ...]]]:
    order = GOLD_ORDER.get(view, "1")
    cursor = con.execute(f'select * from gold."{view}" order by {order} limit {int(n)}')
    columns = [d[0] for d in cursor.description or []]
    return columns, cursor.fetchall()


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    """A query's rows as dictionaries keyed by column name."""
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description or []]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def tables(con: duckdb.DuckDBPyConnection, schema: str) -> set[str]:
    found = con.execute("select table_name from information_schema.tables where table_schema = ?", [schema])
    return {name for (name,) in found.fetchall()}


@dataclass(frozen=True)
class GoldSummary:
    venues: list[Row]  # the top venues by revenue
    events: list[Row]  # the top events by revenue
    events_total: Row  # events, events_with_sales, total_revenue over every event
    customers: list[Row]  # the top customers by spend
    spends: list[Any]  # every customer's total spend, best first


def gold_summary(con: duckdb.DuckDBPyConnection, top_n: int) -> GoldSummary:
    """The three gold views as the report shows them: the top of each, and the totals behind them."""
    return GoldSummary(
        venues=rows(
            con,
            "select venue_id, venue_name, venue_city, venue_state, total_revenue, revenue_rank "
            f"from gold.gold_revenue_by_venue order by {GOLD_ORDER['gold_revenue_by_venue']} limit {int(top_n)}",
        ),
        events=rows(
            con,
            "select event_id, event_name, category_name, tickets_sold, total_revenue "
            f"from gold.gold_sales_by_event order by {GOLD_ORDER['gold_sales_by_event']} limit {int(top_n)}",
        ),
        events_total=rows(
            con,
            "select count(*) as events, count(*) filter (where sales_count > 0) as events_with_sales, "
            "coalesce(sum(total_revenue), 0) as total_revenue from gold.gold_sales_by_event",
        )[0],
        customers=rows(
            con,
            "select spend_rank, user_id, username, full_name, city, state, purchases_count, total_spent "
            f"from gold.gold_user_activity order by {GOLD_ORDER['gold_user_activity']} limit {int(top_n)}",
        ),
        spends=[
            v
            for (v,) in con.execute(
                f"select total_spent from gold.gold_user_activity order by {GOLD_ORDER['gold_user_activity']}"
            ).fetchall()
        ],
    )
