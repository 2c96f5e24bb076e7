"""Nearest-station answers on their fast path: ``Snapshot.nearby`` (hours evaluated once per change of status)
and ``nearby_geojson_json`` (Feature text kept per station) against references computed from the definitions.

References: opening status and next change straight from ``stations.hours`` at each asked time; the ranking
by haversine distance over every station (for ``order="open_first"``: by status group, then distance); the next
opening as the first minute ``hours.status`` says open; the JSON text as ``json.dumps`` writes
``nearby_geojson``'s dict (what ``JSONResponse`` sent before the fast path).
"""

from __future__ import annotations

import gc
import json
from datetime import UTC, date, datetime, timedelta

import numpy as np
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.distance import haversine_m
from stations import exporters, hours
from stations.exporters import nearby_geojson, nearby_geojson_json
from stations.model import AMENITIES, OPERATING_STATUSES, STATION_TYPES, Station
from stations.navigation import TRAVEL_MODES, Trip
from stations.snapshot import CLOSES_SOON, ORDERS, NearbyQuery, Snapshot

HOURS = (
    None,
    "24/7",
    "Mo-Fr 08:30-11:00,13:30-17:00; PH off",
    "Mo-Su 18:00-22:00",
    "Mo-Su 08:00-20:00",
    "Sa,Su 10:00-16:00",
    "Mo-Su 06:00-23:00; PH 09:00-12:00",
)
# around National Day 2026 (the holiday calendar has 1 October) and an ordinary week
START = datetime(2026, 9, 28)
MINUTES = 20 * 24 * 60

# names that JSON must escape, and ones that look like the fast path's own hole markers
NAMES = st.one_of(
    # any text a station may hold: no control characters but tab and line breaks (the model refuses them)
    st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12).filter(
        lambda s: s.strip() and s.strip() == s
    ),
    st.sampled_from(["驿站", 'quote " back \\ slash', '"lon": 0', '"closes_at"', "tab\tend", "a\u2028b", '"opens_at"']),
)


@st.composite
def stations(draw: st.DrawFn) -> list[Station]:
    """Up to 40 stations in a 0.2° square, each at its own small grid cell (so no two share a position)."""
    n = draw(st.integers(1, 40))
    cells = draw(st.lists(st.integers(0, 399), min_size=n, max_size=n, unique=True))
    result = []
    for i, cell in enumerate(cells):
        jitter = draw(st.tuples(st.floats(0.0001, 0.0009), st.floats(0.0001, 0.0009)))
        result.append(
            Station(
                id=f"S{i}",
                name=draw(NAMES),
                types=draw(st.lists(st.sampled_from(STATION_TYPES), min_size=1, max_size=3, unique=True)),
                lon=120.1 + (cell % 20) * 0.01 + jitter[0],
                lat=30.2 + (cell // 20) * 0.01 + jitter[1],
                opening_hours=draw(st.sampled_from(HOURS)),
                operating_status=draw(st.sampled_from(OPERATING_STATUSES)),
                amenities=draw(st.dictionaries(st.sampled_from(AMENITIES[:4]), st.sampled_from(["yes", "no"]))),
                # the fields a cold Feature text writes from the station itself (dates, floats of any size, ids)
                address=draw(st.none() | NAMES),
                capacity=draw(st.none() | st.integers(0, 1_000_000)),
                area_m2=draw(st.none() | st.sampled_from([12.5, 1e-5, 3e16, 100.0]) | st.floats(0.001, 1e6)),
                verified_at=draw(st.none() | st.dates(date(2020, 1, 1), date(2026, 12, 31))),
                external_ids=draw(st.sampled_from([{}, {"osm": "node/1", "acftu": 'a"b'}])),
            )
        )
    return result


def moments(draw: st.DrawFn, count: int) -> list[datetime]:
    """Times in any order (forwards, backwards, repeated), naive (China time) or with an offset."""
    minutes = draw(st.lists(st.integers(0, MINUTES), min_size=1, max_size=count))
    seconds = draw(st.lists(st.integers(0, 59), min_size=len(minutes), max_size=len(minutes)))
    aware = draw(st.lists(st.booleans(), min_size=len(minutes), max_size=len(minutes)))
    result = []
    for minute, second, utc in zip(minutes, seconds, aware, strict=True):
        moment = START + timedelta(minutes=minute, seconds=second)
        result.append(hours.local_time(moment).astimezone(UTC) if utc else moment)
    return result


def expected_status(station: Station, at: datetime) -> str:
    return "closed" if station.is_closed else hours.status(station.opening_hours, at)


def group(status: str, closes_at: datetime | None, at: datetime) -> int:
    """0 open, 1 open but closing within 30 minutes, 2 unknown, 3 closed (``order="open_first"``)."""
    if status == "open":
        return 1 if closes_at is not None and closes_at - hours.local_time(at) <= CLOSES_SOON else 0
    return 2 if status == "unknown" else 3


def reference(
    everything: list[Station], query: NearbyQuery, at: datetime
) -> list[tuple[str, float, str, datetime | None, datetime | None]]:
    """(id, metres, open_status, closes_at, opens_at) of the k first matching stations in the query's order
    (nearest; or by group, then nearest), straight from the definitions."""
    rows = []
    for station in everything:
        status = expected_status(station, at)
        if station.operating_status == "closed":
            continue
        if query.types and not set(query.types) & set(station.types):
            continue
        if any(station.amenity(a) != "yes" for a in query.amenities):
            continue
        if query.open_at is not None and status not in (
            ("open", "unknown") if query.include_unknown_hours else ("open",)
        ):
            continue
        distance = float(haversine_m(query.lon, query.lat, station.lon, station.lat))
        if query.radius_m is not None and distance > query.radius_m:
            continue
        closes_at = hours.next_change(station.opening_hours, at) if status == "open" else None
        opens_at = (
            hours.next_opening(station.opening_hours, at) if status == "closed" and not station.is_closed else None
        )
        rank = group(status, closes_at, at) if query.order == "open_first" else 0
        rows.append((rank, station.id, distance, status, closes_at, opens_at))
    return [row[1:] for row in sorted(rows, key=lambda row: (row[0], row[2]))[: query.k]]


@settings(max_examples=60, deadline=None)
@given(everything=stations(), data=st.data())
def test_nearby_answers_equal_the_definitions_at_times_in_any_order(
    everything: list[Station], data: st.DataObject
) -> None:
    snapshot = Snapshot(everything)
    # few candidates: open_first must often seek a group over every station (Snapshot._nearest_of)
    snapshot.open_first_candidates = data.draw(st.sampled_from([1, 2, 8]))
    for at in moments(data.draw, 12):
        query = NearbyQuery(
            lon=data.draw(st.floats(120.0, 120.4)),
            lat=data.draw(st.floats(30.1, 30.5)),
            k=data.draw(st.integers(1, 12)),
            radius_m=data.draw(st.none() | st.floats(500, 30_000)),
            types=tuple(data.draw(st.lists(st.sampled_from(STATION_TYPES), max_size=2, unique=True))),
            amenities=tuple(data.draw(st.lists(st.sampled_from(AMENITIES[:4]), max_size=1))),
            open_at=at if data.draw(st.booleans()) else None,
            include_unknown_hours=data.draw(st.booleans()),
            order=data.draw(st.sampled_from(ORDERS)),
        )
        answers = snapshot.nearby(query, now=at)
        expected = reference(everything, query, at)
        assert [a.station.id for a in answers] == [row[0] for row in expected]
        assert np.allclose([a.distance_m for a in answers], [row[1] for row in expected], rtol=1e-9, atol=1e-6)
        assert [(a.open_status, a.closes_at, a.opens_at) for a in answers] == [row[2:] for row in expected]


@settings(max_examples=60, deadline=None)
@given(everything=stations(), data=st.data())
def test_nearby_json_text_is_what_json_dumps_writes(everything: list[Station], data: st.DataObject) -> None:
    snapshot = Snapshot(everything)
    for at in moments(data.draw, 4):
        query = NearbyQuery(data.draw(st.floats(120.0, 120.4)), data.draw(st.floats(30.1, 30.5)), k=20)
        answers = snapshot.nearby(query, now=at)
        crs = data.draw(st.sampled_from(["wgs84", "gcj02", "bd09"]))
        members = data.draw(st.dictionaries(st.sampled_from(["total", "note"]), st.integers() | st.text(max_size=5)))
        origin = data.draw(st.none() | st.just((query.lon, query.lat)))
        trip = Trip(data.draw(st.sampled_from([None, *TRAVEL_MODES])), origin)  # links made per answer
        expected = json.dumps(
            nearby_geojson(answers, crs, trip, **members), ensure_ascii=False, allow_nan=False, separators=(",", ":")
        )
        assert nearby_geojson_json(answers, crs, trip, **members) == expected.encode()  # kept texts may be built now...
        assert nearby_geojson_json(answers, crs, trip, **members) == expected.encode()  # ...and are reused here


def test_kept_feature_texts_are_bounded_and_never_serve_another_station() -> None:
    kept = exporters._FeatureTexts(size=3)
    first = [Station(id=f"A{i}", name="甲", types=["outdoor_worker"], lon=120 + i / 100, lat=30) for i in range(5)]
    before = Snapshot(first)
    texts = kept.of(before.nearby(NearbyQuery(120, 30, k=5)))
    kept.pieces(texts[2:], "gcj02", Trip())
    assert len(kept._texts) == 3  # the oldest are let go, with what was made for them
    assert len(kept._coordinates) == len(kept._routes) == len(kept._assembled) == 3
    changed = [s.model_copy(update={"name": "乙"}) for s in first]  # a registry change: the same ids written again
    after = Snapshot(before.columns.replace(changed))
    assert all("乙" in "".join(entry[exporters._PARTS :]) for entry in kept.of(after.nearby(NearbyQuery(120, 30, k=5))))
    assert all("甲" in "".join(entry[exporters._PARTS :]) for entry in texts)


def test_texts_made_for_a_station_let_go_meanwhile_are_not_kept() -> None:
    """Another thread may let a station go between ``of`` and ``pieces``: what ``pieces`` makes for it is handed
    over, not kept where nothing would let it go."""
    kept = exporters._FeatureTexts(size=2)
    snapshot = Snapshot(
        [Station(id=f"A{i}", name="站", types=["outdoor_worker"], lon=120 + i / 100, lat=30) for i in range(4)]
    )
    answers = snapshot.nearby(NearbyQuery(120, 30, k=4))
    early = kept.of(answers[:2])
    kept.of(answers[2:])  # lets the first two go
    assert [len(p) for p in kept.pieces(early, "gcj02", Trip())] == [8, 8]
    kept.pieces(kept.of(answers[2:]), "wgs84", Trip())
    for kind in (kept._coordinates, kept._routes, kept._assembled):
        assert set(kind) == set(kept._texts)


def test_what_is_kept_for_nearby_answers_is_not_walked_by_the_garbage_collector() -> None:
    """Exact tuples and dicts of texts, which the collector stops tracking: 10,000 kept stations are not walked by
    each of its collections (a class of their own, or a ``Station`` in them, would be)."""
    kept = exporters._FeatureTexts(size=10)
    snapshot = Snapshot(
        [Station(id=f"A{i}", name="站", types=["outdoor_worker"], lon=120 + i / 100, lat=30) for i in range(5)]
    )
    texts = kept.of(snapshot.nearby(NearbyQuery(120, 30, k=5)))
    kept.pieces(texts, "bd09", Trip())
    gc.collect()  # one collection: flat tuples of texts, let go by the first that finds them
    held = [*texts, *kept._coordinates.values(), *kept._routes.values(), *kept._assembled.values()]
    assert len(held) == 20 and not any(gc.is_tracked(item) for item in held)


def test_kept_feature_texts_of_stations_left_alone_serve_the_next_snapshot() -> None:
    """An edit leaves what is kept of the other stations in use (keyed by content), and the answers after it are
    still the texts ``json.dumps`` writes."""
    kept = exporters._FeatureTexts(size=10)
    stations = [Station(id=f"A{i}", name=f"站{i}", types=["driver_home"], lon=120 + i / 100, lat=30) for i in range(5)]
    before = Snapshot(stations)
    query = NearbyQuery(120, 30, k=5)
    first = {entry[exporters._NAME]: entry for entry in kept.of(before.nearby(query))}
    after = Snapshot(before.columns.replace([stations[2].model_copy(update={"name": "新站"})], removed=["A4"]))
    answers = after.nearby(query)
    second = {entry[exporters._NAME]: entry for entry in kept.of(answers)}
    assert set(second) == {"站0", "站1", "新站", "站3"}
    assert all(second[name] is first[name] for name in ("站0", "站1", "站3"))  # not made again
    expected = json.dumps(nearby_geojson(answers), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    assert nearby_geojson_json(answers) == expected.encode()


# opening hours from a small grammar: day selectors (holidays among them), spans on the quarter hour (some past
# midnight), "off" rules, a trailing "unknown" comment state
DAYS = ("Mo-Fr", "Sa,Su", "Mo-Su", "Tu", "Fr-Mo", "PH")


@st.composite
def opening_hours(draw: st.DrawFn) -> str:
    rules = []
    for _ in range(draw(st.integers(1, 3))):
        days = draw(st.sampled_from(DAYS))
        if draw(st.integers(0, 5)) == 0:
            rules.append(f"{days} off")
            continue
        spans = []
        for _ in range(draw(st.integers(1, 2))):
            start = draw(st.integers(0, 95)) * 15
            length = draw(st.integers(1, 40)) * 15
            end = start + length  # past 24:00 runs into the next day, as OpenStreetMap allows
            spans.append(f"{start // 60:02d}:{start % 60:02d}-{end // 60:02d}:{end % 60:02d}")
        unknown = " unknown" if draw(st.integers(0, 7)) == 0 else ""
        rules.append(f"{days} {','.join(spans)}{unknown}")
    text = "; ".join(rules)
    try:
        return hours.validate(text)
    except ValueError:
        return "Mo-Fr 08:00-18:00"


# an ordinary week, National Day, New Year and the Spring Festival (in the holiday calendar: 10-01, 01-01, 02-17)
STARTS = (datetime(2026, 11, 20), datetime(2026, 9, 29), datetime(2025, 12, 30), datetime(2026, 2, 14))
WITHIN = timedelta(days=8)


def first_open_minute(text: str, at: datetime, within: timedelta) -> datetime | None:
    """The first whole minute after ``at`` (and no later than ``at + within``) when ``hours.status`` says open."""
    if hours.status(text, at) == "open":
        return None
    minute = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while minute <= at + within:
        if hours.status(text, minute) == "open":
            return hours.local_time(minute)
        minute += timedelta(minutes=1)
    return None


@settings(max_examples=40, deadline=None)
@given(
    text=opening_hours(),
    start=st.sampled_from(STARTS),
    minute=st.integers(0, 5 * 24 * 60),
    second=st.integers(0, 59),
)
def test_next_opening_is_the_first_minute_the_status_says_open(
    text: str, start: datetime, minute: int, second: int
) -> None:
    at = start + timedelta(minutes=minute, seconds=second)
    assert hours.next_opening(text, at, WITHIN) == first_open_minute(text, at, WITHIN)


def test_next_opening_of_examples() -> None:
    night = datetime(2026, 11, 24, 2, 17)  # a Tuesday
    assert hours.next_opening("Mo-Su 08:00-20:00", night) == hours.local_time(datetime(2026, 11, 24, 8, 0))
    assert hours.next_opening("Mo 09:00-17:00", night) == hours.local_time(datetime(2026, 11, 30, 9, 0))
    assert hours.next_opening("Mo-Su 20:00-03:00", night) is None  # open now, until 03:00
    assert hours.next_opening("off", night) is None
    assert hours.next_opening(None, night) is None
    # closed, then unknown, then open: the opening is the change to open, not the first change
    assert hours.next_opening("Mo-Su 05:00-08:00 unknown; Mo-Su 08:00-12:00", night) == hours.local_time(
        datetime(2026, 11, 24, 8, 0)
    )


CLOSINGS = (11 * 60, 12 * 60, 16 * 60, 17 * 60, 20 * 60, 22 * 60, 23 * 60)  # minutes of the day HOURS close at


@settings(max_examples=60, deadline=None)
@given(everything=stations(), data=st.data())
def test_open_first_ranks_closing_soon_after_open_at_times_near_closing(
    everything: list[Station], data: st.DataObject
) -> None:
    snapshot = Snapshot(everything)
    snapshot.open_first_candidates = data.draw(st.sampled_from([1, 2, 8]))
    for _ in range(6):
        day = data.draw(st.integers(0, 19))
        before = data.draw(st.integers(0, 60 * 60))  # seconds before a closing: either side of 30 minutes
        at = START + timedelta(days=day, minutes=data.draw(st.sampled_from(CLOSINGS))) - timedelta(seconds=before)
        query = NearbyQuery(
            lon=data.draw(st.floats(120.0, 120.4)),
            lat=data.draw(st.floats(30.1, 30.5)),
            k=data.draw(st.integers(1, 40)),
            order="open_first",
        )
        answers = snapshot.nearby(query, now=at)
        expected = reference(everything, query, at)
        assert [a.station.id for a in answers] == [row[0] for row in expected]
        assert [(a.open_status, a.closes_at, a.opens_at) for a in answers] == [row[2:] for row in expected]


@settings(max_examples=60, deadline=None)
@given(everything=stations(), data=st.data())
def test_open_first_within_a_radius_over_every_station(everything: list[Station], data: st.DataObject) -> None:
    """One candidate per k: most groups are sought over every station, where the radius must still hold."""
    snapshot = Snapshot(everything)
    snapshot.open_first_candidates = 1
    for at in moments(data.draw, 6):
        query = NearbyQuery(
            lon=data.draw(st.floats(120.1, 120.3)),
            lat=data.draw(st.floats(30.2, 30.4)),
            k=data.draw(st.integers(1, 12)),
            radius_m=data.draw(st.floats(1000, 12_000)),
            order="open_first",
        )
        answers = snapshot.nearby(query, now=at)
        expected = reference(everything, query, at)
        assert [a.station.id for a in answers] == [row[0] for row in expected]
        assert np.allclose([a.distance_m for a in answers], [row[1] for row in expected], rtol=1e-9, atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(
    kinds=st.lists(
        st.tuples(
            st.lists(st.sampled_from(STATION_TYPES), min_size=1, max_size=3, unique=True),
            st.dictionaries(st.sampled_from(AMENITIES), st.sampled_from(["yes", "no"])),
        ),
        max_size=12,
    )
)
def test_snapshot_filter_bits_are_each_station_s_types_and_yes_amenities(
    kinds: list[tuple[list[str], dict[str, str]]],
) -> None:
    everything = [
        Station(id=f"S{i}", name="驿站", types=types, lon=120.1, lat=30.2, amenities=amenities)
        for i, (types, amenities) in enumerate(kinds)
    ]
    snapshot = Snapshot(everything)
    for i, station in enumerate(snapshot.stations):
        assert int(snapshot._type_bits[i]) == sum(1 << STATION_TYPES.index(t) for t in station.types)
        yes = [a for a, v in station.amenities.items() if v == "yes"]
        assert int(snapshot._amenity_bits[i]) == sum(1 << AMENITIES.index(a) for a in yes)


@settings(max_examples=300)
@given(
    st.floats(-180, 180) | st.floats(-1e-6, 1e-6) | st.integers(-1800000000, 1800000000).map(lambda i: (i + 0.5) / 1e7)
)
def test_query_point_rounds_as_numpy(value: float) -> None:
    assert str(exporters._round7(value)) == str(float(np.round(value, 7)))  # str: -0.0 and 0.0 differ


ANY_TEXT = st.text(st.characters(blacklist_categories=[]), max_size=8)  # control characters, lone surrogates too


def _floats(value: object) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in _floats(v)]
    return [f for v in value for f in _floats(v)] if isinstance(value, list) else []


@settings(max_examples=300, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | ANY_TEXT,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(ANY_TEXT, inner, max_size=4),
        max_leaves=12,
    )
)
def test_orjson_is_used_only_where_it_writes_what_json_dumps_writes(value: object) -> None:
    """orjson where ``_plain_float`` says every float is written alike, against ``json.dumps`` on any JSON value:
    floats of every size, integers past 64 bits (orjson refuses them), control characters, lone surrogates (ditto)."""
    if not all(exporters._plain_float(f) for f in _floats(value)):
        return
    try:
        text = orjson.dumps(value).decode()
    except orjson.JSONEncodeError:
        return
    assert text == exporters._encode_json(value)


@given(st.floats(0, 2.1e7))
def test_a_distance_written_to_one_decimal_is_what_json_writes_of_it_rounded(distance_m: float) -> None:
    """The answer writes ``b"%.1f" % d`` where the reference (json.dumps of the Feature) holds ``round(d, 1)``."""
    assert b"%.1f" % distance_m == json.dumps(round(distance_m, 1)).encode()
