"""`tickit run`'s summary of the gold views as an 80-column terminal shows it."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from typing import Any

import pytest
from rich.console import Console

from tickit_platform import console as out

# One row per view, every column the view has (as `select *` returns it), with long real-world values.
ROWS: dict[str, dict[str, Any]] = {
    "gold_revenue_by_venue": {
        "venue_id": 220,
        "venue_name": "Hubert H. Humphrey Metrodome",
        "venue_city": "Minneapolis",
        "venue_state": "MN",
        "events_with_sales": 1234,
        "sales_count": 98765,
        "tickets_sold": 187654,
        "total_revenue": Decimal("12345678.90"),
        "total_commission": Decimal("1851851.84"),
        "is_known_venue": True,
        "revenue_rank": 1,
    },
    "gold_sales_by_event": {
        "event_id": 8645,
        "event_name": "Fiddler on the Roof: Broadway Revival",
        "category_group": "Shows",
        "category_name": "Musicals",
        "venue_id": 220,
        "starts_at": datetime(2008, 7, 4, 19, 30),
        "sales_count": 4321,
        "tickets_sold": 12345,
        "total_revenue": Decimal("1234567.50"),
        "total_commission": Decimal("185185.13"),
    },
    "gold_user_activity": {
        "user_id": 49990,
        "username": "ABC12XYZ",
        "full_name": "Constance Wellington-Smythe",
        "city": "San Bernardino",
        "state": "CA",
        "purchases_count": 1234,
        "tickets_bought": 5678,
        "total_spent": Decimal("123456.78"),
        "first_purchase_at": datetime(2008, 1, 1),
        "last_purchase_at": datetime(2008, 12, 31),
        "spend_rank": 1,
    },
}
EXPECTED = {
    "gold_revenue_by_venue": ["Hubert H. Humphrey Metrodome", "Minneapolis", "187,654", "12,345,678.90"],
    "gold_sales_by_event": ["Fiddler on the Roof: Broadway Revival", "Musicals", "12,345", "1,234,567.50"],
    "gold_user_activity": ["Constance Wellington-Smythe", "San Bernardino", "1,234", "123,456.78"],
}


def rendered(view: str, row: dict[str, Any]) -> str:
    terminal = Console(width=80, record=True, file=io.StringIO(), color_system=None)
    out.print_gold(terminal, f"{view} (top 5)", view, list(row), [tuple(row.values())] * 5)
    return terminal.export_text()


@pytest.mark.parametrize("view", list(ROWS))
def test_gold_views_read_whole_at_80_columns(view: str) -> None:
    text = rendered(view, ROWS[view])
    assert f"{view} (top 5)" in text
    assert "…" not in text, text
    assert max(len(line) for line in text.splitlines()) <= 80
    for value in EXPECTED[view]:
        assert text.count(value) == 5, (value, text)  # each value whole, on one line, in every row


def test_a_venue_missing_from_venue_is_named_by_its_id() -> None:
    row = {**ROWS["gold_revenue_by_venue"], "venue_name": None, "venue_city": None, "venue_id": 31}
    assert "venue 31 (not in venue)" in rendered("gold_revenue_by_venue", row)
