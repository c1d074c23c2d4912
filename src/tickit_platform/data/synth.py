"""Synthetic tickit files in exactly the official formats, deterministic for a seed, fast at any scale.

Generation runs inside DuckDB: every random draw is a hash of (seed, tag, id) mapped to [0, 1), so a row's
values depend only on the seed and its id. That makes output identical across runs and thread counts
while DuckDB builds and writes millions of rows in parallel (scale 10 is ~3.6 million rows).

Shape, as the real data has it (AWS's Redshift Getting Started Guide and SQL reference examples):
ids dense from 1; the calendar is 2008 with 365 days;
a sale points at an existing listing, shares its event and seller, and happens after the listing was
created and before the event starts; commission is 15% of the price paid; sales are skewed towards a
few events; and two events reference venue ids that venue does not have, like the real files do.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from tickit_platform.data import names
from tickit_platform.data.formats import TABLES, load_formats
from tickit_platform.data.provenance import PROVENANCE_FILE, Provenance, write_provenance

FIRST_DATEID = 1827  # the official calendar's first id (2008-01-01)
DAYS = 365
# Venue ids that events reference but venue lacks; the real data has exactly two such ids.
ORPHAN_VENUE_IDS = (203, 204)
# Share of events per category id (cumulative thresholds are derived below); shows and baseball lead.
CATEGORY_WEIGHTS = (0.12, 0.06, 0.03, 0.06, 0.04, 0.22, 0.20, 0.10, 0.12, 0.03, 0.02)
# Typical price per ticket per category id, in dollars; a draw scales it between 0.3x and 2.3x.
CATEGORY_PRICE = (45, 70, 110, 85, 35, 160, 90, 140, 95, 60, 75)


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _list(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_lit(v) for v in values) + "]"


def _pick(values: tuple[str, ...], draw: str) -> str:
    """SQL choosing one of `values` by a uniform draw (DuckDB lists are 1-based)."""
    return f"{_list(values)}[1 + floor({len(values)} * {draw})::int]"


def _category_case(draw: str) -> str:
    cases, total = [], 0.0
    for catid, weight in enumerate(CATEGORY_WEIGHTS, start=1):
        total += weight
        cases.append(f"when {draw} < {total:.4f} then {catid}")
    return "case " + " ".join(cases) + f" else {len(CATEGORY_WEIGHTS)} end"


def _bool(expr: str) -> str:
    return f"case when {expr} is null then null when {expr} then 'TRUE' else 'FALSE' end"


Rows = dict[str, int]  # table -> rows at the scale asked for


def _category() -> str:
    return (
        "select * from (values "
        + ", ".join(f"({c}, {_lit(g)}, {_lit(n_)}, {_lit(d)})" for c, g, n_, d in names.CATEGORIES)
        + ") as t(catid, catgroup, catname, catdesc) order by catid"
    )


def _date() -> str:
    holidays = ", ".join(f"date {_lit(d)}" for d in names.US_HOLIDAYS_2008)
    # The file's day abbreviations are off by one (2008-01-01 was a Tuesday, the file says WE).
    return f"""
            select {FIRST_DATEID} + i as dateid, strftime(d, '%Y-%m-%d') as caldate,
                   upper(left(dayname(d + 1), 2)) as day, (i // 7) + 1 as week,
                   upper(strftime(d, '%b')) as month, quarter(d) as qtr, 2008 as year,
                   {_bool(f"d in ({holidays})")} as holiday
            from (select i, (date '2008-01-01' + i::int) as d from range({DAYS}) as r(i))
            order by dateid"""


def _cities() -> tuple[str, ...]:
    return tuple(f"{city}|{state}" for city, state in names.CITIES)


def _venue(n: Rows) -> str:
    cities = _cities()
    return f"""
            select venueid,
                   {_pick(names.VENUE_WORDS, "u('vw', venueid)")} || ' ' || kind as venuename,
                   split_part(place, '|', 1) as venuecity, split_part(place, '|', 2) as venuestate,
                   case when u('vs0', venueid) < 0.10 then 0 when u('vs0', venueid) < 0.15 then null
                        when kind in ('Stadium', 'Field', 'Ballpark', 'Dome') then 30000 + floor(50000 * u('vs', venueid))
                        when kind in ('Arena', 'Center', 'Park', 'Amphitheatre') then 8000 + floor(14000 * u('vs', venueid))
                        else 900 + floor(2600 * u('vs', venueid)) end::bigint as venueseats
            from (select range + 1 as venueid,
                         {_pick(names.VENUE_KINDS, "u('vk', range + 1)")} as kind,
                         {_pick(cities, "u('vc', range + 1)")} as place
                  from range({n["venue"]}))
            order by venueid"""  # noqa: E501


def _like_columns() -> str:
    """One TRUE/FALSE/null column per taste, about a third each."""
    likes = ("sports", "theatre", "concerts", "jazz", "classical", "opera", "rock", "vegas", "broadway", "musicals")
    return ",\n".join(
        f"{_bool(f'case when u({_lit(like)}, userid) < 0.35 then true when u({_lit(like)}, userid) < 0.65 then false end')} as like{like}"  # noqa: E501
        for like in likes
    )


def _users(n: Rows, seed: int) -> str:
    cities = _cities()
    like_columns = _like_columns()
    return f"""
            select userid,
                   upper(substr(md5('{seed}-' || userid), 1, 3)) || lpad((userid % 100)::varchar, 2, '0')
                       || upper(substr(md5('{seed}+' || userid), 1, 3)) as username,
                   firstname, lastname,
                   split_part(place, '|', 1) as city, split_part(place, '|', 2) as state,
                   lower(firstname) || '.' || lower(lastname) || userid || '@'
                       || {_pick(names.EMAIL_DOMAINS, "u('ed', userid)")} as email,
                   '(' || (200 + floor(800 * u('p1', userid)))::int || ') '
                       || (200 + floor(800 * u('p2', userid)))::int || '-'
                       || lpad(floor(10000 * u('p3', userid))::int::varchar, 4, '0') as phone,
                   {like_columns}
            from (select range + 1 as userid,
                         {_pick(names.FIRST_NAMES, "u('fn', range + 1)")} as firstname,
                         {_pick(names.LAST_NAMES, "u('ln', range + 1)")} as lastname,
                         {_pick(cities, "u('uc', range + 1)")} as place
                  from range({n["users"]}))
            order by userid"""


def _event() -> str:
    event_names = " ".join(
        f"when {catid} then {_pick(options, 'power(u(' + _lit('en') + ', eventid), 2)')}"
        for catid, options in names.EVENT_NAMES.items()
    )
    return f"""
            select eventid, venueid, catid, dateid,
                   case catid {event_names} end as eventname,
                   strftime(start, '%Y-%m-%d %H:%M:%S') as starttime
            from event_rows order by eventid"""


def _listing() -> str:
    return """
            select listid, sellerid, eventid, dateid, numtickets,
                   priceperticket::decimal(8, 2) as priceperticket,
                   (numtickets * priceperticket)::decimal(8, 2) as totalprice,
                   strftime(listtime, '%Y-%m-%d %H:%M:%S') as listtime
            from listing_rows order by listid"""


def _sales(n: Rows) -> str:
    # saletime is written the way the official sales_tab.txt writes it: month and day unpadded.
    return f"""
            select salesid, listid, sellerid,
                   case when b = sellerid then b % {n["users"]} + 1 else b end as buyerid,
                   eventid, {FIRST_DATEID} + (saletime::date - date '2008-01-01') as dateid, qtysold,
                   (qtysold * priceperticket)::decimal(8, 2) as pricepaid,
                   round(qtysold * priceperticket * 0.15, 2)::decimal(8, 2) as commission,
                   strftime(saletime, '%-m/%-d/%Y %H:%M:%S') as saletime
            from (select s.salesid, s.b, l.*,
                         1 + floor(least(l.numtickets, 4) * u('sq', s.salesid))::int as qtysold,
                         l.listtime + to_seconds(floor(u('st', s.salesid)
                             * (epoch(l.start) - epoch(l.listtime)))::bigint) as saletime
                  from (select range + 1 as salesid,
                               1 + floor({n["listing"]} * u('sl', range + 1))::bigint as listid,
                               1 + floor({n["users"]} * u('sb', range + 1))::bigint as b
                        from range({n["sales"]})) as s
                  join listing_rows as l using (listid))
            order by salesid"""


def _event_rows(n: Rows) -> str:
    """The events with their start time, kept as a table: listings and sales both need them."""
    # The two last events point at venue ids venue lacks, like the official file's quirk.
    return f"""
            create temp table event_rows as
            select eventid, catid, dateid,
                   case when eventid > {n["event"]} - 2 and {n["event"]} > 2
                        then {ORPHAN_VENUE_IDS[0]} + ({n["event"]} - eventid)
                        else 1 + floor({n["venue"]} * power(u('ev', eventid), 1.6))::int end as venueid,
                   (date '2008-01-01' + (dateid - {FIRST_DATEID})) + [interval 14 hour + interval 30 minute,
                       interval 19 hour, interval 19 hour + interval 30 minute, interval 20 hour]
                       [1 + floor(4 * u('eh', eventid))::int] as start
            from (select range + 1 as eventid, {_category_case("u('ec', range + 1)")} as catid,
                         {FIRST_DATEID} + floor({DAYS} * u('ed', range + 1))::int as dateid
                  from range({n["event"]}))"""


def _listing_rows(n: Rows) -> str:
    """The listings with their event's start and their price, kept as a table: sales draw from them."""
    price_case = " ".join(f"when {catid} then {price}" for catid, price in enumerate(CATEGORY_PRICE, start=1))
    # Listings come up to 60 days before their event (never before 2008) and sell until it starts.
    return f"""
            create temp table listing_rows as
            select listid, sellerid, eventid, start, listtime,
                   {FIRST_DATEID} + (listtime::date - date '2008-01-01') as dateid, numtickets,
                   greatest(5, round((case catid {price_case} end) * (0.3 + 2 * u('pp', listid))))
                       as priceperticket
            from (select l.*, e.start, e.catid,
                         lo + to_seconds(floor(u('lt', listid) * (epoch(e.start) - epoch(lo)))::bigint)
                             as listtime
                  from (select range + 1 as listid,
                               1 + floor({n["users"]} * u('ls', range + 1))::bigint as sellerid,
                               1 + floor({n["event"]} * power(u('le', range + 1), 2.2))::bigint as eventid,
                               1 + floor(30 * power(u('ln', range + 1), 3))::int as numtickets
                        from range({n["listing"]})) as l
                  join event_rows as e using (eventid),
                  lateral (select greatest(timestamp '2008-01-01 00:00:00', e.start - interval 60 day) as lo))"""


def _statements(scale: float, seed: int) -> dict[str, str]:
    """One select per table producing its columns, already formatted as the official file writes them;
    the two `_…_rows` statements create the tables those selects share."""
    n = {table: fmt.rows_at_scale(scale) for table, fmt in load_formats().items()}
    return {
        "category": _category(),
        "date": _date(),
        "venue": _venue(n),
        "users": _users(n, seed),
        "event": _event(),
        "listing": _listing(),
        "sales": _sales(n),
        "_event_rows": _event_rows(n),
        "_listing_rows": _listing_rows(n),
    }


def generate(out_dir: Path, *, scale: float = 1.0, seed: int = 42) -> Path:
    """Write the seven files (and provenance.json, last) into `out_dir`; returns `out_dir`.

    Only the seven files and provenance.json are touched, each replaced atomically, so pointing
    `out_dir` at a folder that holds other files is safe.
    """
    if not scale > 0:
        raise ValueError(f"scale must be greater than 0, got {scale}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / PROVENANCE_FILE).unlink(missing_ok=True)  # incomplete until written again at the end
    formats = load_formats()
    statements = _statements(scale, seed)
    with duckdb.connect() as con:
        # One strong mix of (tag, seed) and the id. `hash(seed, tag, id)` would be cheaper, but DuckDB
        # combines multi-argument hashes so that draws of one id under different tags come out nearly
        # equal (correlation 0.99999), which ties a row's price, quantity and ids together.
        con.execute(f"create macro u(tag, i) as hash(xor(hash(tag, {int(seed)}), i::ubigint)) / 18446744073709551616.0")
        con.execute(statements["_event_rows"])
        con.execute(statements["_listing_rows"])
        for table in TABLES:
            fmt = formats[table]
            final = out_dir / fmt.file
            part = final.with_name(final.name + ".part")
            con.execute(
                f"copy ({statements[table]}) to {_lit(str(part))} "
                f"(format csv, delimiter {_lit(fmt.delimiter)}, header false, quote '', escape '')"
            )
            os.replace(part, final)
    rows = {table: formats[table].rows_at_scale(scale) for table in TABLES}
    write_provenance(
        out_dir,
        Provenance(kind="synthetic", source="tickit data synth", rows=rows, scale=scale, seed=seed),
    )
    return out_dir
