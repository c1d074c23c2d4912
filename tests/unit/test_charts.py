"""The report's revenue-per-venue chart, inspected through matplotlib's own objects (not pixels)."""

from __future__ import annotations

from decimal import Decimal
from itertools import combinations
from typing import Any

from matplotlib.figure import Figure
from matplotlib.text import Text

from tickit_platform.reporting import charts
from tickit_platform.reporting.data import Business


def venue(venue_id: int, name: str | None, city: str, revenue: str) -> dict[str, Any]:
    return {
        "venue_id": venue_id,
        "venue_name": name,
        "venue_city": city,
        "venue_state": "NY",
        "total_revenue": Decimal(revenue),
        "revenue_rank": venue_id,
    }


VENUES = [
    venue(1, "Madison Square Garden", "New York City", "2512345.00"),
    venue(2, "Madison Square Garden", "New York City", "1900000.00"),  # same name, same city
    venue(3, "Shea Stadium", "New York City", "1500000.00"),
    venue(4, "Shea Stadium", "Flushing", "900000.00"),  # same name, another city
    venue(5, None, "", "12000.00"),
    *(venue(i, f"A venue with a rather long name number {i}", "Springfield", f"{1000 - i}.00") for i in range(6, 11)),
]


def business(venues: list[dict[str, Any]]) -> Business:
    return Business(venues, [], {"events": 0, "events_with_sales": 0, "total_revenue": 0}, [], {}, [])


def drawn(fig: Figure) -> tuple[list[Text], list[Text]]:
    """The visible x and y tick labels after a draw (their positions are only known then)."""
    fig.canvas.draw()
    (ax,) = fig.axes
    xs = [t for t in ax.get_xticklabels() if t.get_text() and t.get_visible()]
    ys = [t for t in ax.get_yticklabels() if t.get_text()]
    return xs, ys


def overlapping(labels: list[Text]) -> list[tuple[str, str]]:
    renderer = labels[0].figure.canvas.get_renderer()  # type: ignore[attr-defined]
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
    return [(a, b) for (a, box_a), (b, box_b) in combinations(boxes, 2) if box_a.overlaps(box_b)]


def test_venues_that_share_a_name_get_a_bar_and_a_label_each() -> None:
    fig = charts.revenue_by_venue_figure(business(VENUES))
    (ax,) = fig.axes
    assert len(ax.patches) == len(VENUES)  # one bar per venue id, none merged
    _, ys = drawn(fig)
    labels = [t.get_text() for t in ys]
    assert len(set(labels)) == len(VENUES), labels
    assert labels[:5] == [
        "Madison Square Garden, New York City #1",
        "Madison Square Garden, New York City #2",
        "Shea Stadium, New York City",
        "Shea Stadium, Flushing",
        "venue 5 (not in venue)",
    ]
    # Each bar has its own amount beside it, best at the top.
    amounts = [t.get_text() for t in ax.texts]
    assert amounts[:2] == ["$2,512,345", "$1,900,000"]
    assert ax.yaxis_inverted()


def test_long_names_that_repeat_stay_distinct_when_cut() -> None:
    long = "The Very Long Venue Name That Will Be Cut Short For The Axis"
    labels = charts.venue_labels([venue(41, long, "Austin", "1"), venue(42, long, "Austin", "1")])
    assert labels[0] != labels[1] and labels[0].endswith(" #41") and labels[1].endswith(" #42")
    assert all(len(label) <= charts.LABEL_WIDTH for label in labels)


def test_axis_labels_do_not_overlap() -> None:
    fig = charts.revenue_by_venue_figure(business(VENUES))
    xs, ys = drawn(fig)
    assert len(xs) >= 2
    assert overlapping(xs) == []
    assert overlapping(ys) == []
