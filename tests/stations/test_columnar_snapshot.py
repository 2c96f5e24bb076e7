"""The columnar snapshot (``stations.columns``) answers exactly what the store holds, on both stores: after random
edit sequences, a reader's snapshot — built whole by one bulk read, then advanced by the deltas — gives every
station as ``Store.get`` reads it, and its nearest, box, district and count answers equal brute force over
``Store.all``; its columns equal those of a snapshot built whole from the store.
"""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import date, datetime
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from geo.distance import haversine_m
from stations import edits, hours, refresh
from stations.columns import CODED, StationColumns
from stations.edits import Change
from stations.model import AMENITIES, OPERATING_STATUSES, STATION_TYPES, Station
from stations.registry import Registry
from stations.snapshot import NearbyQuery, Snapshot, hours_of, lon_lat
from stations.store import Store

EXAMPLES = itertools.count()
NAMES = ("A", "A1", "A10", "B", "驿", "驿站")  # ids that are prefixes of others, of other widths in bytes
HOURS = (None, "24/7", "Mo-Fr 08:30-17:00; PH off", "Mo-Su 18:00-22:00")
ADCODES = (None, "330106", "330102")
PHOTOS = (None, "https://img.example.cn/a.jpg")
AT = datetime(2026, 12, 4, 9, 0)  # a Friday morning, China time


@st.composite
def stations(draw: st.DrawFn, station_id: str) -> Station:
    kinds = draw(st.lists(st.sampled_from(STATION_TYPES), min_size=1, max_size=3, unique=True))
    amenities = draw(st.dictionaries(st.sampled_from(AMENITIES[:6]), st.sampled_from(["yes", "no"]), max_size=4))
    return Station(
        id=station_id,
        name=draw(st.sampled_from(["驿站", '<script>"x"</script>', "{{ 7*7 }}", "a\u2028b"])),
        types=kinds,
        lon=120.15 + draw(st.integers(0, 20)) / 1000,
        lat=30.27 + draw(st.integers(0, 20)) / 1000,
        opening_hours=draw(st.sampled_from(HOURS)),
        operating_status=draw(st.sampled_from(OPERATING_STATUSES)),
        amenities=amenities,
        adcode=draw(st.sampled_from(ADCODES)),
        photo_url=draw(st.sampled_from(PHOTOS)),
        verified_at=draw(st.sampled_from([None, date(2026, 11, 30)])),
        area_m2=draw(st.sampled_from([None, 12.5])),  # not infinity: PostgreSQL json refuses it
        external_ids=draw(st.sampled_from([{}, {"osm": "node/1"}])),
    )


def brute_nearby(every: list[Station], query: NearbyQuery) -> list[tuple[str, float]]:
    """Every matching station by haversine distance, nearest first: (id, metres)."""
    found = []
    for s in every:
        if s.operating_status == "closed" or (query.types and not set(query.types) & set(s.types)):
            continue
        if any(s.amenities.get(a) != "yes" for a in query.amenities):
            continue
        if query.open_at is not None:
            status = "closed" if s.is_closed else hours.status(s.opening_hours, query.open_at)
            if not (status == "open" or (status == "unknown" and query.include_unknown_hours)):
                continue
        found.append((s.id, float(haversine_m(query.lon, query.lat, s.lon, s.lat))))
    return sorted(found, key=lambda item: item[1])


def same_answers(got: list[tuple[str, float]], every: list[tuple[str, float]], k: int) -> None:
    """The first ``k`` of ``every`` (brute force, nearest first): equal distances rank by rank, and at each rank
    a station at that distance (stations at one position tie)."""
    expected = every[:k]
    assert np.allclose([m for _, m in got], [m for _, m in expected], rtol=0, atol=1e-6), (got, expected)
    for station_id, metres in got:
        assert station_id in {i for i, m in every if abs(m - metres) < 1e-3}, (got, expected)
    assert len({i for i, _ in got}) == len(got)


def column_values(columns: StationColumns) -> dict[str, Any]:
    """Every column by position, coded texts decoded (so two builds compare whatever their codes)."""
    arrays = ("ids", "lon", "lat", "type_bits", "amenity_bits", "status", "verified_day")
    values: dict[str, Any] = {name: getattr(columns, name).tolist() for name in arrays}
    values.update({name: columns.texts(name) for name in CODED})
    values["payloads"] = [columns.payload(i) for i in range(len(columns))]
    return values


def machine(url: str) -> type[RuleBasedStateMachine]:
    writer = Registry(Store(url), None, check_interval_s=0)

    class ColumnarSnapshot(RuleBasedStateMachine):
        """Writes through one registry; a reader registry (another process) advances its snapshot by deltas."""

        def __init__(self) -> None:
            super().__init__()
            self.prefix = f"C{next(EXAMPLES)}-"  # the examples share one store
            self.reader = Registry(Store(url), None, check_interval_s=0)
            self.reader.snapshot()
            self.contents: dict[int, dict[str, Any]] = {}  # each content key seen: the station it stood for

        def _id(self, name: str) -> str:
            return self.prefix + name

        def _mine(self) -> list[Station]:
            return [s for s in writer.store.all() if s.id.startswith(self.prefix)]

        @rule(data=st.data(), name=st.sampled_from(NAMES))
        def write(self, data: st.DataObject, name: str) -> None:
            """Create, or replace whole (as an edit of every field): one transaction."""
            station = data.draw(stations(self._id(name)))
            action = "update" if writer.store.get(station.id) is not None else "create"
            edits.apply(writer.store, [Change(station.id, station, action)], "editor")

        @rule(data=st.data(), names=st.sets(st.sampled_from(NAMES), min_size=2))
        def batch(self, data: st.DataObject, names: set[str]) -> None:
            """Several stations in one transaction, as an import writes them."""
            changes = [Change(self._id(n), data.draw(stations(self._id(n))), "import") for n in sorted(names)]
            edits.apply(writer.store, changes, "import")

        @rule(name=st.sampled_from(NAMES))
        def purge(self, name: str) -> None:
            if writer.store.get(self._id(name)) is not None:
                writer.delete(self._id(name), "admin", hard=True)

        @rule()
        def advance(self) -> None:
            self.reader.refresh()

        @rule(
            lon=st.integers(0, 20),
            lat=st.integers(0, 20),
            k=st.integers(1, 8),
            kinds=st.lists(st.sampled_from(STATION_TYPES), max_size=2, unique=True),
            amenities=st.lists(st.sampled_from(AMENITIES[:3]), max_size=2, unique=True),
            open_at=st.sampled_from([None, AT]),
            unknown=st.booleans(),
        )
        def nearby(
            self, lon: int, lat: int, k: int, kinds: list[str], amenities: list[str], open_at: datetime | None,
            unknown: bool,
        ) -> None:  # fmt: skip
            query = NearbyQuery(
                120.15 + lon / 1000, 30.27 + lat / 1000, k=k, types=tuple(kinds), amenities=tuple(amenities),
                open_at=open_at, include_unknown_hours=unknown,
            )  # fmt: skip
            got = [(r.station.id, r.distance_m) for r in self.reader.refresh().nearby(query, now=AT)]
            same_answers(got, brute_nearby(writer.store.all(), query), query.k)

        @invariant()
        def the_snapshot_holds_what_the_store_holds(self) -> None:
            snapshot = self.reader.snapshot()
            if snapshot.version != writer.store.version():
                return
            every = writer.store.all()
            assert len(snapshot) == len(every)
            for station in self._mine():
                got = snapshot.get(station.id)
                assert got == station and repr(got) == repr(station)
                assert got.model_dump(mode="json") == station.model_dump(mode="json")
            assert snapshot.get(self._id("missing")) is None and snapshot.get(self._id("A") + "\ud800") is None
            box = (120.1555, 30.2705, 120.1655, 30.2805)  # edges off the grid of positions
            for adcode in ADCODES:
                expected = [
                    s for s in every
                    if box[0] <= s.lon <= box[2] and box[1] <= s.lat <= box[3] and adcode in (None, s.adcode)
                    and "nursing_room" in s.types
                ]  # fmt: skip
                assert snapshot.select(box, adcode, ("nursing_room",)) == sorted(expected, key=lambda s: s.id)
            for closed in (True, False):
                counts: dict[str | None, dict[str, int]] = {}
                for s in every:
                    if closed or s.operating_status != "closed":
                        for kind in s.types:
                            counts.setdefault(s.adcode, dict.fromkeys(STATION_TYPES, 0))[kind] += 1
                assert snapshot.counts_by_adcode(include_closed=closed) == counts
            assert sorted(filter(None, snapshot.photo_urls())) == sorted(s.photo_url for s in every if s.photo_url)

        @invariant()
        def a_content_key_stands_for_one_station_as_it_was(self) -> None:
            """In every snapshot the reader went through: what nearby answers' kept texts are keyed by."""
            columns = self.reader.snapshot().columns
            for position in range(len(columns)):
                held = columns.payload(position)
                assert self.contents.setdefault(columns.content_key(position), held) == held

        @invariant()
        def the_columns_equal_a_whole_rebuild(self) -> None:
            snapshot = self.reader.snapshot()
            if snapshot.version == writer.store.version():
                whole = refresh.build(writer.store, snapshot.version)
                assert column_values(snapshot.columns) == column_values(whole.columns)

        def teardown(self) -> None:
            self.reader.store.engine.dispose()

    return ColumnarSnapshot


def test_the_columnar_snapshot_answers_what_the_store_holds(database_url: str) -> None:
    examples = 15 if database_url.startswith("sqlite") else 8
    run_state_machine_as_test(
        machine(database_url), settings=settings(max_examples=examples, stateful_step_count=15, deadline=None)
    )


def test_a_snapshot_of_station_objects_keeps_their_order_and_finds_each_id() -> None:
    given = [Station(id=i, name="驿站", types=["driver_home"], lon=120.1, lat=30.2) for i in ("b", "驿", "a", "Z")]
    snapshot = Snapshot(given)
    assert list(snapshot.stations) == given
    assert [snapshot.position(s.id) for s in given] == [0, 1, 2, 3]
    assert snapshot.get("c") is None and snapshot.get("") is None and len(Snapshot()) == 0
    assert Snapshot().get("a") is None and Snapshot().select() == [] and Snapshot().counts_by_adcode() == {}


def test_values_orjson_cannot_write_come_back_equal() -> None:
    odd = Station(id="odd", name="名\u2028字", types=["outdoor_worker"], lon=120.1, lat=30.2, area_m2=float("inf"))
    assert Snapshot([odd]).get("odd") == odd


def test_an_id_longer_than_every_id_held_is_added_beside_its_prefix() -> None:
    # the id column's byte width is its longest id: "H10" was cut to "H1" when looked up, and replaced it
    station = {i: Station(id=i, name="驿站", types=["driver_home"], lon=120.1, lat=30.2) for i in ("H0", "H1", "H10")}
    columns = StationColumns.from_stations([station["H0"], station["H1"]]).sorted_by_id()
    grown = columns.replace([station["H10"]])
    assert grown.ids.tolist() == [b"H0", b"H1", b"H10"]
    assert grown.replace([], removed=["H10"]).ids.tolist() == [b"H0", b"H1"]


@settings(max_examples=60, deadline=None)
@given(
    every=st.lists(st.integers(0, 10**6), max_size=25, unique=True).flatmap(
        lambda numbers: st.tuples(*(stations(f"S{n}") for n in numbers))
    ),
    types=st.lists(st.sampled_from(STATION_TYPES), max_size=2, unique=True),
    amenities=st.lists(st.sampled_from(AMENITIES[:6]), max_size=2, unique=True),
    cut=st.integers(0, 25),
)
def test_the_stations_a_snapshot_serves_are_those_each_station_says_it_serves(
    every: tuple[Station, ...], types: list[str], amenities: list[str], cut: int
) -> None:
    """``Snapshot.serving`` (chosen from the columns, none built) against ``Station.serves`` and the amenities
    one station at a time; its coordinates, ids, district counts, hours codes, slices and joins against the
    stations themselves; and going over them keeps no more than the hot stations."""
    snapshot = Snapshot(list(every))
    serving = snapshot.serving(types, amenities)
    expected = [s for s in every if s.serves(tuple(types)) and all(s.amenity(a) == "yes" for a in amenities)]  # type: ignore[arg-type]
    assert snapshot._station.cache_info().currsize == 0  # chosen without building a station
    assert list(serving) == expected and len(serving) == len(expected) and serving == expected
    assert (serving == serving[1:]) == (not expected) and serving == tuple(expected)
    assert serving.ids == [s.id for s in expected]
    assert serving.lon.tolist() == [s.lon for s in expected] and serving.lat.tolist() == [s.lat for s in expected]
    assert lon_lat(serving)[0].tolist() == lon_lat(expected)[0].tolist()
    assert serving.adcode_counts() == dict(Counter(s.adcode for s in expected if s.adcode))
    assert list(serving[:cut]) == expected[:cut] and serving[-1:].ids == [s.id for s in expected[-1:]]
    chosen = np.array([i % 2 == 0 for i in range(len(serving))], dtype=bool)
    assert list(serving.where(chosen) + serving[:cut]) == expected[::2] + expected[:cut]
    codes, texts, closed = hours_of(serving)
    plain_codes, plain_texts, plain_closed = hours_of(expected)
    as_text = [texts[c] if c >= 0 else None for c in codes.tolist()]
    assert as_text == [plain_texts[c] if c >= 0 else None for c in plain_codes.tolist()]
    assert as_text == [s.opening_hours or None for s in expected]
    assert closed.tolist() == plain_closed.tolist() == [s.is_closed for s in expected]
    assert list(snapshot.by_id()) == sorted(every, key=lambda s: s.id.encode())
    for day, age in ((date(2026, 12, 4), 3), (date(2026, 12, 4), 4), (date(2027, 6, 1), 180)):
        stale = [s for s in every if s.operating_status != "closed" and s.is_stale(day, age)]
        assert snapshot.stale_count(day, age) == len(stale)


def test_going_over_every_station_keeps_only_the_hot_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pass over ``Snapshot.stations`` builds each station in turn and keeps at most ``HOT_STATIONS``: a
    planner's or a console's pass over a million stations does not hold a million objects."""
    monkeypatch.setattr("stations.snapshot.HOT_STATIONS", 5)
    made = [
        Station(id=f"S{i:02d}", name="驿站", types=["driver_home"], lon=120.1 + i / 1000, lat=30.2) for i in range(20)
    ]
    snapshot = Snapshot(made)
    assert list(snapshot.stations) == made
    assert snapshot._station.cache_info().currsize == 5


def test_what_is_kept_per_snapshot_lets_the_snapshot_go() -> None:
    """The OGC station source's ids and bounds are kept per snapshot in a weak-keyed table: what it keeps must not
    refer back to the snapshot, or no snapshot that served the collection would ever be freed."""
    import gc
    import weakref

    from stations import features

    made = [Station(id=f"S{i}", name="驿站", types=["driver_home"], lon=120.1 + i / 1000, lat=30.2) for i in range(3)]
    snapshot = Snapshot(made)
    source = features.station_source(snapshot)
    assert [source.feature(i)["id"] for i in range(len(source))] == ["S0", "S1", "S2"]
    gone = weakref.ref(snapshot)
    del snapshot, source
    gc.collect()
    assert gone() is None


def test_a_refresh_keeps_the_index_when_no_station_moved() -> None:
    """An edit that moves no station keeps the earlier snapshot's index (building it is most of a refresh); one
    that moves, adds or removes a station gets a new one, and the answers are those of a snapshot built whole."""
    stations = [Station(id=f"S{i}", name="站", types=["outdoor_worker"], lon=120 + i / 100, lat=30) for i in range(6)]
    before = Snapshot(stations)
    renamed = Snapshot(before.columns.replace([stations[2].model_copy(update={"name": "新"})]), index=before.index)
    assert renamed.index is before.index
    moved_station = stations[2].model_copy(update={"lon": 121.0})
    moved = Snapshot(renamed.columns.replace([moved_station]), index=renamed.index)
    added = Snapshot(renamed.columns.replace([stations[0].model_copy(update={"id": "S00"})]), index=renamed.index)
    assert moved.index is not renamed.index and added.index is not renamed.index
    query = NearbyQuery(120.02, 30.0, k=6)
    for snapshot, expected in ((moved, [*stations[:2], moved_station, *stations[3:]]), (renamed, stations)):
        whole = Snapshot(expected)
        assert [(r.station.id, r.distance_m) for r in snapshot.nearby(query)] == [
            (r.station.id, r.distance_m) for r in whole.nearby(query)
        ]
