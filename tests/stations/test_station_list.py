"""The keepers' list (``stations.station_list``), chosen and ordered from the columns, equals the list worked out
station by station — every filter, text, order and page — on a registry of the sample plus stations made to tie,
to need normalising, to lack a district, to be closed and verified on many days; on both stores."""

from __future__ import annotations

import math
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.districts import Districts
from stations.model import Station
from stations.registry import Registry
from stations.search import find, normalise
from stations.settings import SAMPLE_DIR
from stations.station_list import PAGE_SIZES, SORT_KEYS, StationListQuery, list_stations
from stations.store import Store

TODAY = date(2026, 12, 4)
NAMES = ["驿站", "ＫＦＣ驿站", "kfc驿站", "Kfc驿站", "爱心驿站", "骑士之家", "司机之家", "母婴室"]
STATUSES = ["normal", "normal", "temporarily_closed", "closed"]


def made(i: int) -> Station:
    """Station ``i`` of the made ones: names that tie or normalise alike, ids whose order differs from creation's,
    verified on one of a few days (or never), some closed, some outside every district."""
    return Station(
        id=f"LIST-{(i * 7919) % 1000:03d}",
        name=NAMES[i % len(NAMES)],
        types=[["outdoor_worker"], ["driver_home"], ["nursing_room", "outdoor_worker"]][i % 3],
        lon=120.15 + (i % 13) / 100 if i % 5 else 121.9,  # every fifth far east of Hangzhou: no district
        lat=30.25 + (i % 7) / 100,
        operating_status=STATUSES[i % len(STATUSES)],
        verified_at=None if i % 6 == 0 else TODAY - timedelta(days=(i * 37) % 400),
    )


def reference(registry: Registry, query: StationListQuery) -> tuple[list[str], int, int, int]:
    """The page's ids, the total, the page and the pages, worked out station by station (the list before its
    columns): the text through the search index, each filter on the built station, a sort of the stations."""
    snapshot = registry.snapshot()
    stations: list[Station] = list(snapshot.stations)
    if query.text.strip():
        with registry.store.engine.connect() as connection:
            ids = set(find(connection, query.text.strip(), len(snapshot) + 1))
        stations = [s for s in stations if s.id in ids]
    chosen = [
        s
        for s in stations
        if (query.adcode is None or s.adcode == query.adcode)
        and (query.station_type is None or query.station_type in s.types)
        and (query.stale is None or s.is_stale(TODAY, query.max_age_days) == query.stale)
        and (query.closed is None or s.is_closed == query.closed)
    ]
    keys: dict[str, Any] = {
        "name": lambda s: (normalise(s.name), s.id),
        "district": lambda s: (s.district is None, s.district or "", normalise(s.name), s.id),
        "verified_at": lambda s: (s.verified_at or date.min, normalise(s.name), s.id),
    }
    chosen.sort(key=keys[query.sort], reverse=query.descending)
    pages = max(1, math.ceil(len(chosen) / query.per_page))
    page = min(query.page, pages)
    start = (page - 1) * query.per_page
    return [s.id for s in chosen[start : start + query.per_page]], len(chosen), page, pages


def test_the_list_equals_the_list_worked_out_station_by_station(database_url: str, districts: Districts) -> None:
    registry = Registry(Store(database_url), districts, check_interval_s=0)
    registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
    for i in range(60):
        registry.create(made(i), "test")
    adcodes = sorted({s.adcode for s in registry.snapshot().stations if s.adcode})
    assert any(s.district is None for s in registry.snapshot().stations)

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        text=st.sampled_from(["", "驿站", "kfc", "ＫＦＣ", "司机", "西湖", "不在任何站名里"]),
        adcode=st.none() | st.sampled_from(adcodes),
        station_type=st.none() | st.sampled_from(["outdoor_worker", "driver_home", "nursing_room"]),
        stale=st.none() | st.booleans(),
        closed=st.none() | st.booleans(),
        max_age_days=st.sampled_from([0, 30, 180, 365, 36_500]),
        sort=st.sampled_from(SORT_KEYS),
        descending=st.booleans(),
        page=st.integers(1, 200),
        per_page=st.sampled_from(PAGE_SIZES),
    )
    def same(**fields: Any) -> None:
        query = StationListQuery(**fields)
        shown = list_stations(registry, query, TODAY)
        assert ([s.id for s in shown.stations], shown.total, shown.page, shown.pages) == reference(registry, query)

    same()


def test_the_pages_cover_the_whole_order_once(database_url: str, districts: Districts) -> None:
    registry = Registry(Store(database_url), districts, check_interval_s=0)
    for i in range(45):
        registry.create(made(i), "test")
    for sort in SORT_KEYS:
        for descending in (False, True):
            first = list_stations(registry, StationListQuery(sort=sort, descending=descending), TODAY)
            seen = [
                s.id
                for page in range(1, first.pages + 1)
                for s in list_stations(
                    registry, StationListQuery(sort=sort, descending=descending, page=page), TODAY
                ).stations
            ]
            assert sorted(seen) == sorted(s.id for s in registry.snapshot().stations) and first.total == 45


# --- orders carried over from the columns before a few writes -----------------------------------------------------

DISTRICTS = [None, "上城区", "西湖区", "滨江区"]


def drawn(i: int, version: int) -> Station:
    """Station ``i`` as written at ``version``: its name, district and verification day change with the version."""
    j = i + 3 * version
    return Station(
        id=f"CARRY-{(i * 7919) % 1000:03d}",
        name=NAMES[j % len(NAMES)],
        types=["outdoor_worker"],
        lon=120.15,
        lat=30.25,
        district=DISTRICTS[j % len(DISTRICTS)],
        verified_at=None if j % 5 == 0 else TODAY - timedelta(days=j % 9),
    )


writes = st.lists(  # each write: (stations written as (index, version)), indexes of stations removed
    st.tuples(st.lists(st.tuples(st.integers(0, 60), st.integers(1, 4)), max_size=6), st.lists(st.integers(0, 60))),
    min_size=1,
    max_size=4,
)


@settings(max_examples=80, deadline=None)
@given(first=st.sets(st.integers(0, 60), max_size=40), writes=writes, look_between=st.booleans())
def test_orders_carried_over_a_few_writes_equal_the_orders_worked_out_again(
    first: set[int], writes: list[tuple[list[tuple[int, int]], list[int]]], look_between: bool
) -> None:
    from stations.columns import StationColumns, derivation
    from stations.snapshot import Snapshot
    from stations.station_list import _Orders, _orders

    columns = StationColumns.from_stations([drawn(i, 0) for i in sorted(first)]).sorted_by_id()
    base = columns
    _orders(Snapshot(columns))  # the orders of the first columns, held as the base of what follows
    for written, removed in writes:
        stations = {drawn(i, version).id: drawn(i, version) for i, version in written}  # the last per id
        columns = columns.replace(list(stations.values()), [drawn(i, 0).id for i in removed])
        if look_between:  # a list view after each write: each carried from the one before
            _orders(Snapshot(columns))
    found = derivation(columns)
    if columns is base:
        return
    assert found is not None and found.base() is not None
    fresh = _Orders.worked_out(columns).orders
    assert {k: v.tolist() for k, v in _Orders.worked_out(found.base()).carried(columns, found).orders.items()} == {  # type: ignore[arg-type]
        k: v.tolist() for k, v in fresh.items()
    }
    assert {k: v.tolist() for k, v in _orders(Snapshot(columns)).orders.items()} == {
        k: v.tolist() for k, v in fresh.items()
    }
