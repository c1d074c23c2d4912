"""The synthetic generator writes the seven tickit files exactly as the official ones are written, coherently."""

from __future__ import annotations

import csv
import hashlib
import itertools
import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest

from tickit_platform.data.formats import TABLES, TableFormat, load_formats
from tickit_platform.data.provenance import PROVENANCE_FILE, read_provenance
from tickit_platform.data.synth import generate

FORMATS = load_formats()
OFFICIAL_ROWS = {
    "users": 49990,
    "venue": 202,
    "category": 11,
    "date": 365,
    "event": 8798,
    "listing": 192497,
    "sales": 172456,
}
FIXED_TABLES = ("venue", "category", "date")
LIKE_COLUMNS = tuple(c for c in FORMATS["users"].column_names if c.startswith("like"))

SALETIME_RE = re.compile(r"^\d{1,2}/\d{1,2}/2008 \d{2}:\d{2}:\d{2}$")
ISO_TIME_RE = re.compile(r"^2008-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
DECIMAL_RE = re.compile(r"^\d+\.\d{2}$")
DECIMAL_COLUMNS = {"listing": ("priceperticket", "totalprice"), "sales": ("pricepaid", "commission")}
ISO_TIME_COLUMNS = {"event": "starttime", "listing": "listtime"}


@dataclass(frozen=True)
class Tickit:
    """One generated folder, with every file parsed into dicts keyed by the YAML's column names."""

    folder: Path
    rows: dict[str, list[dict[str, str]]]

    def by_id(self, table: str) -> dict[str, dict[str, str]]:
        key = FORMATS[table].column_names[0]
        return {row[key]: row for row in self.rows[table]}


def file_of(folder: Path, table: str) -> Path:
    return folder / FORMATS[table].file


def parse(path: Path, fmt: TableFormat) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle, delimiter=fmt.delimiter, quoting=csv.QUOTE_NONE)
        return [dict(zip(fmt.column_names, line, strict=True)) for line in reader]


def line_count(path: Path) -> int:
    return path.read_bytes().count(b"\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def saletime(value: str) -> datetime:
    """`M/D/YYYY HH:MM:SS` (the shape is checked by SALETIME_RE; this is a fast parse for many rows)."""
    day, clock = value.split(" ")
    month, mday, year = day.split("/")
    hour, minute, second = clock.split(":")
    return datetime(int(year), int(month), int(mday), int(hour), int(minute), int(second))


def isotime(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.fixture(scope="module")
def scale1(tmp_path_factory: pytest.TempPathFactory) -> Tickit:
    folder = generate(tmp_path_factory.mktemp("synth_scale1"), scale=1.0, seed=42)
    return Tickit(folder, {table: parse(file_of(folder, table), FORMATS[table]) for table in TABLES})


# --- formats, byte for byte -------------------------------------------------------------------------------


def test_yaml_matches_the_official_formats() -> None:
    assert set(FORMATS) == set(TABLES)
    assert {t: f.official_rows for t, f in FORMATS.items()} == OFFICIAL_ROWS
    for table, fmt in FORMATS.items():
        assert fmt.delimiter == ("\t" if table == "sales" else "|"), table
        assert fmt.scales == (table not in FIXED_TABLES), table


@pytest.mark.parametrize("table", TABLES)
def test_file_layout_is_byte_exact(scale1: Tickit, table: str) -> None:
    fmt = FORMATS[table]
    data = file_of(scale1.folder, table).read_bytes()
    text = data.decode("ascii")  # also proves UTF-8 decodable
    assert text.endswith("\n")
    assert "\r" not in text
    assert '"' not in text
    other = "|" if fmt.delimiter == "\t" else "\t"
    lines = text[:-1].split("\n")
    assert len(lines) == fmt.rows_at_scale(1.0)
    expected = len(fmt.columns) - 1
    bad = [i for i, line in enumerate(lines) if line.count(fmt.delimiter) != expected]
    assert not bad, f"{fmt.file}: lines {bad[:5]} do not have {expected} delimiters"
    assert all(other not in line for line in lines), f"{fmt.file} holds the other delimiter"
    # No header: the first field of the first line is the first id, not a column name.
    first_field = lines[0].split(fmt.delimiter)[0]
    assert first_field.isdigit()
    assert fmt.column_names[0] not in lines[0]


def test_no_quotes_anywhere(scale1: Tickit) -> None:
    for table in TABLES:
        data = file_of(scale1.folder, table).read_bytes()
        assert b'"' not in data, table


def test_sales_saletime_month_and_day_unpadded(scale1: Tickit) -> None:
    values = [row["saletime"] for row in scale1.rows["sales"]]
    bad = [v for v in values if not SALETIME_RE.match(v)]
    assert not bad, bad[:5]
    single_digit = [v for v in values if re.match(r"^(\d/\d{1,2}|\d{1,2}/\d)/", v)]
    assert single_digit, "no saletime shows an unpadded month or day"
    assert not [v for v in values if re.match(r"^(0\d|\d{1,2}/0\d)/", v)], "a month or day is zero-padded"
    # Hours, minutes and seconds stay padded to two digits.
    assert any(v.split(" ")[1].startswith("0") for v in values)
    for value in values[:500]:
        assert datetime.strptime(value, "%m/%d/%Y %H:%M:%S") == saletime(value)


def test_sales_saletime_example_format(scale1: Tickit) -> None:
    """The official example `2/18/2008 02:36:48` parses with the YAML's time format and the test's regex."""
    example = "2/18/2008 02:36:48"
    assert SALETIME_RE.match(example)
    fmt = FORMATS["sales"].strptime_format
    assert fmt is not None
    assert datetime.strptime(example, fmt) == datetime(2008, 2, 18, 2, 36, 48)


@pytest.mark.parametrize("table", sorted(ISO_TIME_COLUMNS))
def test_event_and_listing_timestamps(scale1: Tickit, table: str) -> None:
    column = ISO_TIME_COLUMNS[table]
    bad = [row[column] for row in scale1.rows[table] if not ISO_TIME_RE.match(row[column])]
    assert not bad, bad[:5]
    fmt = FORMATS[table].strptime_format
    assert fmt == "%Y-%m-%d %H:%M:%S"


@pytest.mark.parametrize("table", sorted(DECIMAL_COLUMNS))
def test_decimals_have_two_places(scale1: Tickit, table: str) -> None:
    for column in DECIMAL_COLUMNS[table]:
        bad = [row[column] for row in scale1.rows[table] if not DECIMAL_RE.match(row[column])]
        assert not bad, f"{table}.{column}: {bad[:5]}"


def test_user_booleans(scale1: Tickit) -> None:
    assert len(LIKE_COLUMNS) == 10
    seen: Counter[str] = Counter()
    for row in scale1.rows["users"]:
        for column in LIKE_COLUMNS:
            seen[row[column]] += 1
    assert set(seen) == {"TRUE", "FALSE", ""}, seen
    assert seen[""] > 0 and seen["TRUE"] > 0 and seen["FALSE"] > 0


def test_date_file(scale1: Tickit) -> None:
    path = file_of(scale1.folder, "date")
    lines = path.read_text(encoding="ascii").splitlines()
    assert lines[0] == "1827|2008-01-01|WE|1|JAN|1|2008|TRUE"
    assert len(lines) == 365
    rows = scale1.rows["date"]
    assert {row["holiday"] for row in rows} == {"TRUE", "FALSE"}
    assert [int(row["dateid"]) for row in rows] == list(range(1827, 1827 + 365))
    days = [date.fromisoformat(row["caldate"]) for row in rows]
    assert days[0] == date(2008, 1, 1)
    assert all((b - a).days == 1 for a, b in itertools.pairwise(days))
    assert all(row["year"] == "2008" for row in rows)
    assert all(row["month"] == d.strftime("%b").upper() for row, d in zip(rows, days, strict=True))
    assert all(row["qtr"] == str((d.month - 1) // 3 + 1) for row, d in zip(rows, days, strict=True))


# --- counts -----------------------------------------------------------------------------------------------


def test_counts_at_scale_1_are_official(scale1: Tickit) -> None:
    counts = {table: line_count(file_of(scale1.folder, table)) for table in TABLES}
    assert counts == OFFICIAL_ROWS
    provenance = read_provenance(scale1.folder)
    assert provenance.rows == OFFICIAL_ROWS
    assert provenance.kind == "synthetic"
    assert provenance.scale == 1.0
    assert provenance.seed == 42


def test_counts_at_scale_point_1(tmp_path: Path) -> None:
    folder = generate(tmp_path / "raw", scale=0.1, seed=3)
    expected = {table: FORMATS[table].rows_at_scale(0.1) for table in TABLES}
    assert {table: line_count(file_of(folder, table)) for table in TABLES} == expected
    for table in FIXED_TABLES:
        assert expected[table] == OFFICIAL_ROWS[table]
    assert expected["sales"] == round(OFFICIAL_ROWS["sales"] * 0.1)
    provenance = read_provenance(folder)
    assert provenance.rows == expected
    assert provenance.scale == 0.1
    assert provenance.seed == 3


def test_ids_are_dense_from_one(scale1: Tickit) -> None:
    for table in TABLES:
        if table == "date":
            continue
        key = FORMATS[table].column_names[0]
        ids = [int(row[key]) for row in scale1.rows[table]]
        assert ids == list(range(1, len(ids) + 1)), table


def test_scale_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate(tmp_path / "raw", scale=0)


# --- determinism ------------------------------------------------------------------------------------------


def test_same_seed_and_scale_is_byte_identical(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", scale=0.05, seed=11)
    second = generate(tmp_path / "b", scale=0.05, seed=11)
    other = generate(tmp_path / "c", scale=0.05, seed=12)
    for table in TABLES:
        assert sha256(file_of(first, table)) == sha256(file_of(second, table)), table
    differing = [table for table in TABLES if sha256(file_of(first, table)) != sha256(file_of(other, table))]
    assert {"users", "event", "listing", "sales"} <= set(differing)
    # Category rows do not depend on the seed at all.
    assert sha256(file_of(first, "category")) == sha256(file_of(other, "category"))


# --- relations and coherence, checked in plain Python -----------------------------------------------------


def test_sales_point_at_their_listing(scale1: Tickit) -> None:
    listings = scale1.by_id("listing")
    for sale in scale1.rows["sales"]:
        listing = listings.get(sale["listid"])
        assert listing is not None, sale
        assert sale["sellerid"] == listing["sellerid"], sale
        assert sale["eventid"] == listing["eventid"], sale
        assert saletime(sale["saletime"]) >= isotime(listing["listtime"]), sale
        assert 1 <= int(sale["qtysold"]) <= int(listing["numtickets"]), sale


def test_money_is_coherent(scale1: Tickit) -> None:
    listings = scale1.by_id("listing")
    for listing in scale1.rows["listing"]:
        assert Decimal(listing["totalprice"]) == int(listing["numtickets"]) * Decimal(listing["priceperticket"])
    for sale in scale1.rows["sales"]:
        price = Decimal(listings[sale["listid"]]["priceperticket"])
        paid = Decimal(sale["pricepaid"])
        assert paid == int(sale["qtysold"]) * price, sale
        expected = (paid * Decimal("0.15")).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert Decimal(sale["commission"]) == expected, sale


def test_timestamps_in_2008_and_dateids_match(scale1: Tickit) -> None:
    calendar = {row["dateid"]: date.fromisoformat(row["caldate"]) for row in scale1.rows["date"]}
    for sale in scale1.rows["sales"]:
        sold = saletime(sale["saletime"])
        assert sold.year == 2008
        assert sale["dateid"] in calendar, sale
        assert calendar[sale["dateid"]] == sold.date(), sale
    for listing in scale1.rows["listing"]:
        listed = isotime(listing["listtime"])
        assert listed.year == 2008
        assert listing["dateid"] in calendar, listing
        assert calendar[listing["dateid"]] == listed.date(), listing
    for event in scale1.rows["event"]:
        starts = isotime(event["starttime"])
        assert starts.year == 2008
        assert event["dateid"] in calendar, event
        assert calendar[event["dateid"]] == starts.date(), event


def test_sales_happen_before_the_event_starts(scale1: Tickit) -> None:
    events = scale1.by_id("event")
    for sale in scale1.rows["sales"]:
        assert saletime(sale["saletime"]) <= isotime(events[sale["eventid"]]["starttime"]), sale


def test_foreign_keys_exist(scale1: Tickit) -> None:
    users = scale1.by_id("users")
    events = scale1.by_id("event")
    categories = scale1.by_id("category")
    for listing in scale1.rows["listing"]:
        assert listing["eventid"] in events
        assert listing["sellerid"] in users
    for sale in scale1.rows["sales"]:
        assert sale["buyerid"] in users
        assert sale["sellerid"] in users
        assert sale["buyerid"] != sale["sellerid"], sale
        assert sale["eventid"] in events
    for event in scale1.rows["event"]:
        assert event["catid"] in categories


def test_exactly_two_orphan_venue_ids(scale1: Tickit) -> None:
    venues = scale1.by_id("venue")
    orphans = {event["venueid"] for event in scale1.rows["event"]} - set(venues)
    assert len(orphans) == 2, orphans


@pytest.mark.parametrize(("scale", "events", "orphan_count"), [(0.01, 88, 2), (0.0005, 4, 2), (0.0002, 2, 0)])
def test_orphan_venue_ids_at_small_scales(tmp_path: Path, scale: float, events: int, orphan_count: int) -> None:
    folder = generate(tmp_path / "raw", scale=scale, seed=5)
    venues = {row["venueid"] for row in parse(file_of(folder, "venue"), FORMATS["venue"])}
    rows = parse(file_of(folder, "event"), FORMATS["event"])
    assert len(rows) == events
    orphans = {event["venueid"] for event in rows} - venues
    assert len(orphans) == orphan_count, orphans


def test_sales_are_skewed_towards_few_events(scale1: Tickit) -> None:
    per_event = Counter(sale["eventid"] for sale in scale1.rows["sales"])
    top = max(1, len(scale1.rows["event"]) // 100)
    share = sum(count for _, count in per_event.most_common(top)) / len(scale1.rows["sales"])
    # A uniform spread would give the top 1% about 1% of sales; the generator gives them about 12%.
    assert share >= 0.05, share


def _correlation(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    vx = sum((x - mx) ** 2 for x in xs)
    vy = sum((y - my) ** 2 for y in ys)
    return cov / (vx * vy) ** 0.5


def test_a_rows_random_columns_are_independent(scale1: Tickit) -> None:
    # Each column is drawn separately; a shared draw would tie, say, a listing's event to its size and
    # its seller, so popular events would only ever get single-ticket listings.
    listings = scale1.rows["listing"][:50_000]
    event = [float(row["eventid"]) for row in listings]
    for other in ("numtickets", "sellerid", "priceperticket"):
        values = [float(row[other]) for row in listings]
        assert abs(_correlation(event, values)) < 0.05, other
    sales = scale1.rows["sales"][:50_000]
    assert abs(_correlation([float(s["listid"]) for s in sales], [float(s["buyerid"]) for s in sales])) < 0.05


# --- output folder safety ---------------------------------------------------------------------------------


def test_unrelated_files_are_left_alone(tmp_path: Path) -> None:
    folder = tmp_path / "raw"
    (folder / "keep").mkdir(parents=True)
    unrelated = folder / "notes.txt"
    unrelated.write_bytes(b"do not touch\n")
    nested = folder / "keep" / "sales_tab.txt"
    nested.write_bytes(b"nested\n")
    stale = file_of(folder, "category")
    stale.write_bytes(b"stale\n")
    generate(folder, scale=0.01, seed=1)
    assert unrelated.read_bytes() == b"do not touch\n"
    assert nested.read_bytes() == b"nested\n"
    assert stale.read_bytes() != b"stale\n"
    names = {p.name for p in folder.iterdir()}
    assert names == {FORMATS[t].file for t in TABLES} | {PROVENANCE_FILE, "notes.txt", "keep"}
