"""Coverage by time and amenity (``stations.planning.timed``) against brute-force unions of discs.

Small random grids and stations with random hours, amenities and statuses: coverage at an instant is exactly
the union of discs of the stations open then; the profile's hour h is that coverage at h; an amenity filter is
the coverage of the filtered stations; night gaps are the cells covered by day and not at some night hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cached_property
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from geo.coverage import Demand, compute_coverage
from geo.districts import Districts
from stations.errors import InvalidValue
from stations.model import Station
from stations.planning import Planner
from stations.planning.filters import CoverageFilters, parse_filters, representative_days
from stations.planning.requests import CoverageRequest
from stations.planning.timed import (
    DAY_HOURS,
    NIGHT_HOURS,
    filtered_coverage,
    hour_instants,
    hour_profile,
    night_gaps,
    station_masks,
)
from stations.queries import CoverageQuery, HourProfileQuery
from stations.snapshot import Snapshot

HOURS_TEXTS = (
    None,
    "24/7",
    "Mo-Fr 08:00-18:00; PH off",
    "Mo-Su 10:00-22:00",
    "Mo-Su 06:00-23:30",
    "Mo-Sa 07:00-21:00; PH 09:00-17:00",
    "Mo-Su 20:00-02:00",
    "Mo-Su 08:00-12:00; Mo-Su 12:00-14:00 unknown",
)
REFERENCE = date(2026, 12, 3)
WEEKDAY, HOLIDAY = representative_days(REFERENCE)
DAYS = (("weekday", WEEKDAY), ("holiday", HOLIDAY))
WEST, SOUTH = 120.0, 30.0
DISTRICTS = Districts(
    ["330001", "330002"],
    ["东区", "西区"],
    [box(WEST, SOUTH, WEST + 0.02, SOUTH + 0.02), box(WEST + 0.02, SOUTH, WEST + 0.035, SOUTH + 0.02)],
)


@dataclass
class FakeRegistry:
    """What the planner reads of a registry: districts, a snapshot, adcode checks."""

    stations: list[Station]
    districts: Districts = DISTRICTS

    def snapshot(self) -> Snapshot:
        return self.current

    @cached_property
    def current(self) -> Snapshot:
        return Snapshot(self.stations, version=1)

    def check_adcode(self, adcode: str | None) -> None:
        if adcode is not None and adcode not in self.districts.adcodes:
            raise InvalidValue("adcode", adcode, "unknown district", self.districts.adcodes)


station_data = st.fixed_dictionaries(
    {
        "lon": st.floats(WEST - 0.01, WEST + 0.045),
        "lat": st.floats(SOUTH - 0.01, SOUTH + 0.03),
        "hours": st.sampled_from(HOURS_TEXTS),
        "status": st.sampled_from(["normal", "normal", "normal", "temporarily_closed", "closed"]),
        "hot_water": st.sampled_from(["yes", "no", None]),
        "toilet": st.sampled_from(["yes", "no", None]),
        "kind": st.sampled_from(["outdoor_worker", "nursing_room"]),
    }
)


def make_station(i: int, data: dict[str, Any]) -> Station:
    amenities = {name: data[name] for name in ("hot_water", "toilet") if data[name] is not None}
    return Station(
        id=f"S{i}", name=f"站{i}", types=(data["kind"],), lon=data["lon"], lat=data["lat"],
        opening_hours=data["hours"], operating_status=data["status"], amenities=amenities,  # type: ignore[arg-type]
    )  # fmt: skip


def make_planner(stations: list[Station], demand: Demand | None) -> Planner:
    return Planner(FakeRegistry(stations), demand)  # type: ignore[arg-type]  # a registry as the planner reads it


def brute_covered(planner: Planner, chosen: list[Station], radius_m: float, cell_m: float) -> Any:
    """Per cell: some station of ``chosen`` within ``radius_m`` of its centre (every pair measured)."""
    grid = planner.grid(cell_m)
    if not chosen:
        return np.zeros(grid.n_cells, dtype=bool)
    sx, sy = grid.project(np.array([s.lon for s in chosen]), np.array([s.lat for s in chosen]))
    distance = np.hypot(grid.x[:, None] - np.atleast_1d(sx)[None, :], grid.y[:, None] - np.atleast_1d(sy)[None, :])
    return (distance <= radius_m).any(axis=1)


def brute_state(station: Station, at: datetime) -> str:
    from stations import hours

    return "closed" if station.is_closed else hours.status(station.opening_hours, at)


def passes(station: Station, types: tuple[str, ...], amenities: tuple[str, ...]) -> bool:
    return station.serves(types) and all(station.amenities.get(a) == "yes" for a in amenities)  # type: ignore[call-overload]


scenario = st.fixed_dictionaries(
    {
        "stations": st.lists(station_data, min_size=0, max_size=12),
        "radius_m": st.sampled_from([250.0, 400.0, 700.0]),
        "hour": st.integers(0, 23),
        "day": st.sampled_from(["weekday", "holiday"]),
        "amenities": st.sampled_from(["", "hot_water", "hot_water,toilet"]),
        "policy": st.sampled_from(["separate", "open", "closed"]),
        "types": st.sampled_from(["", "outdoor_worker"]),
        "demand": st.lists(
            st.tuples(st.floats(WEST, WEST + 0.035), st.floats(SOUTH, SOUTH + 0.02), st.floats(0, 10)), max_size=15
        ),
    }
)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def setup(data: dict[str, Any]) -> tuple[Planner, list[Station], CoverageRequest, CoverageFilters]:
    stations = [make_station(i, d) for i, d in enumerate(data["stations"])]
    demand = None
    if data["demand"]:
        lon, lat, weight = zip(*data["demand"], strict=True)
        demand = Demand.from_arrays(lon, lat, weight)
    planner = make_planner(stations, demand)
    request = CoverageRequest(
        radius_m=data["radius_m"], types=tuple(filter(None, data["types"].split(","))), cell_m=100
    )
    filters = parse_filters(
        hour=data["hour"], day=data["day"], amenities=data["amenities"], unknown_hours=data["policy"],
        reference=REFERENCE,
    )  # fmt: skip
    return planner, stations, request, filters


@PROPERTY
@given(scenario)
def test_coverage_at_an_instant_is_the_union_of_discs_of_the_stations_open_then(data: dict[str, Any]) -> None:
    planner, stations, request, filters = setup(data)
    assert filters.open_at is not None
    result = filtered_coverage(planner, request, filters)
    chosen = [s for s in stations if passes(s, request.types, filters.amenities)]
    opened = [s for s in chosen if brute_state(s, filters.open_at) == "open"]
    unknown = [s for s in chosen if brute_state(s, filters.open_at) == "unknown"]
    counted = opened + unknown if filters.unknown_hours == "open" else opened
    expected = brute_covered(planner, counted, request.radius_m, request.cell_m)
    assert np.array_equal(result.coverage.covered, expected)
    assert result.open_stations == len(opened) and result.unknown_stations == len(unknown)
    rows = result.rows()
    grid = planner.grid(request.cell_m)
    for i, record in enumerate(rows):
        in_district = grid.district == i
        assert record["covered_share"] == pytest.approx(expected[in_district].mean(), abs=1e-4)
        if filters.unknown_hours == "separate":
            union = brute_covered(planner, opened + unknown, request.radius_m, request.cell_m)
            only = (union & ~expected)[in_district].mean()
            assert record["unknown_only_share"] == pytest.approx(only, abs=2e-4)
        else:
            assert "unknown_only_share" not in record


@PROPERTY
@given(scenario)
def test_the_profiles_hour_is_the_coverage_at_that_hour(data: dict[str, Any]) -> None:
    planner, _, request, filters = setup(data)
    profile = hour_profile(planner, request, filters, DAYS)
    result = filtered_coverage(planner, request, filters)
    d = 0 if data["day"] == "weekday" else 1
    h = data["hour"]
    separate = filters.unknown_hours == "separate"
    for i, row in enumerate(result.coverage.districts):
        assert profile.covered_share[d, h, i] == pytest.approx(row.covered_share, abs=1e-12)
        if separate and result.with_unknown is not None:
            only = result.with_unknown.districts[i].covered_share - row.covered_share
            assert profile.unknown_only_share[d, h, i] == pytest.approx(only, abs=1e-12)
        elif separate:  # nobody of unknown hours passes the filters: nothing is covered by them alone
            assert profile.unknown_only_share[d, h, i] == 0
        if row.demand_covered_share is not None:
            assert profile.demand_covered_share is not None
            assert profile.demand_covered_share[d, h, i] == pytest.approx(row.demand_covered_share, abs=1e-9)
    rows = profile.rows(hour=h)
    assert {r["hour"] for r in rows} == {h} and len(rows) == 2 * len(DISTRICTS.adcodes)


@PROPERTY
@given(scenario)
def test_an_amenity_filter_is_the_coverage_of_the_filtered_stations(data: dict[str, Any]) -> None:
    planner, stations, request, filters = setup(data)
    only_amenities = CoverageFilters(None, filters.amenities, filters.unknown_hours)
    if not only_amenities.amenities:
        only_amenities = CoverageFilters(None, ("hot_water",), filters.unknown_hours)
    result = filtered_coverage(planner, request, only_amenities)
    chosen = [s for s in stations if passes(s, request.types, only_amenities.amenities)]
    grid = planner.grid(request.cell_m)
    lon, lat = np.array([s.lon for s in chosen], dtype=float), np.array([s.lat for s in chosen], dtype=float)
    reference = compute_coverage(grid, lon, lat, request.radius_m, planner.demand)
    assert np.array_equal(result.coverage.covered, reference.covered)
    assert np.array_equal(result.coverage.covered, brute_covered(planner, chosen, request.radius_m, request.cell_m))
    assert result.with_unknown is None  # no time: hours do not matter
    assert [r.demand_covered_share for r in result.coverage.districts] == [
        r.demand_covered_share for r in reference.districts
    ]


@PROPERTY
@given(scenario)
def test_night_gaps_are_covered_by_day_and_dark_some_night_hour(data: dict[str, Any]) -> None:
    planner, stations, request, filters = setup(data)
    result = night_gaps(planner, request, filters, DAYS[0], limit=None)
    chosen = [s for s in stations if passes(s, request.types, filters.amenities)]
    grid = planner.grid(request.cell_m)
    covered_at = {}
    for h, at in enumerate(hour_instants(WEEKDAY)):
        states = [brute_state(s, at) for s in chosen]
        counted = [
            s
            for s, v in zip(chosen, states, strict=True)
            if v == "open" or (v == "unknown" and filters.unknown_hours == "open")
        ]
        covered_at[h] = brute_covered(planner, counted, request.radius_m, request.cell_m)
    by_day = np.any([covered_at[h] for h in DAY_HOURS], axis=0)
    dark = np.any([~covered_at[h] for h in NIGHT_HOURS], axis=0)
    expected = by_day & dark
    for i, record in enumerate(result.rows()):
        in_district = grid.district == i
        assert record["night_gap_km2"] == pytest.approx(expected[in_district].sum() * grid.cell_area_km2, abs=1e-6)
        assert record["day_covered_km2"] == pytest.approx(by_day[in_district].sum() * grid.cell_area_km2, abs=1e-6)
    assert sum(g.cells for g in result.gaps) == int(expected.sum())


@given(st.lists(st.sampled_from(HOURS_TEXTS), max_size=20), st.sampled_from([WEEKDAY, HOLIDAY]))
@settings(max_examples=30, deadline=None)
def test_station_masks_are_each_texts_state_at_each_instant(texts: list[str | None], day: date) -> None:
    from stations import hours

    stations = [make_station(i, {"lon": 120, "lat": 30, "hours": t, "status": "normal", "hot_water": None,
                                 "toilet": None, "kind": "outdoor_worker"}) for i, t in enumerate(texts)]  # fmt: skip
    instants = hour_instants(day)
    opened, unknown = station_masks(stations, instants)
    for s, o, u in zip(stations, opened, unknown, strict=True):
        for bit, at in enumerate(instants):
            state = hours.status(s.opening_hours, at)
            assert bool(int(o) >> bit & 1) == (state == "open")
            assert bool(int(u) >> bit & 1) == (state == "unknown")


def test_the_holiday_is_one_the_calendar_marks_and_the_weekday_is_a_wednesday() -> None:
    from stations import hours

    assert WEEKDAY.weekday() == 2 and WEEKDAY >= REFERENCE
    assert hours.status("Mo-Su 08:00-18:00; PH off", datetime(HOLIDAY.year, HOLIDAY.month, HOLIDAY.day, 10)) == "closed"
    found = representative_days(REFERENCE)
    assert found == (date(2026, 12, 9), date(2027, 1, 1))


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"hour": 24}, "hour"),
        ({"hour": -1}, "hour"),
        ({"hour": 3, "open_at": "2026-12-09T03:00"}, "hour"),
        ({"day": "holiday"}, "day"),
        ({"hour": 3, "day": "someday"}, "day"),
        ({"amenities": "hot_water,jacuzzi"}, "amenities"),
        ({"unknown_hours": "maybe"}, "unknown_hours"),
        ({"open_at": "9 pm"}, "open_at"),
    ],
)
def test_bad_filters_name_their_field(values: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidValue) as caught:
        CoverageQuery.parse(radius_m=1000, types=None, cell_m=100, adcode=None, **values)
    assert caught.value.field == field


def test_a_zoneless_time_is_china_time_and_says_so() -> None:
    naive = parse_filters(open_at="2026-12-09T22:00")
    zoned = parse_filters(open_at="2026-12-09T14:00Z")
    assert naive.open_at == zoned.open_at and naive.naive_time and not zoned.naive_time
    assert naive.describe()["open_at_note"] == "时间未注明时区，按北京时间（UTC+8）计算"
    assert zoned.describe()["open_at_note"] is None


def test_the_profile_query_checks_its_hour() -> None:
    with pytest.raises(InvalidValue) as caught:
        HourProfileQuery.parse(radius_m=1000, types=None, cell_m=100, adcode=None, hour=24)
    assert caught.value.field == "hour"


def test_a_failed_profile_caches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from stations.planning import timed

    one = {"lon": 120.01, "lat": 30.01, "hours": "24/7", "status": "normal", "hot_water": None, "toilet": None}
    planner = make_planner([make_station(0, {**one, "kind": "outdoor_worker"})], None)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise MemoryError("half-way")

    monkeypatch.setattr(timed, "hour_figures", broken)
    with pytest.raises(MemoryError):
        hour_profile(planner, CoverageRequest(radius_m=500), days=DAYS)
    assert not [key for key in planner._cache if isinstance(key, tuple) and key[0] == "hour-profile"]


def test_planning_builds_no_station() -> None:
    """Coverage, gaps, hot spots, a coverage at an hour and an hour profile are worked out from the snapshot's
    columns: not one ``Station`` is built (a national registry's million would take ~1 GB in each worker)."""
    data = {"lon": WEST + 0.01, "lat": SOUTH + 0.01, "hours": HOURS_TEXTS[1], "status": "normal", "hot_water": "yes",
            "toilet": None, "kind": "outdoor_worker"}  # fmt: skip
    planner = make_planner([make_station(i, {**data, "lon": WEST + i / 500}) for i in range(8)], None)
    request = CoverageRequest(radius_m=300.0, cell_m=100)
    filters = parse_filters(hour=20, day="weekday", amenities="hot_water", reference=REFERENCE)
    planner.gaps(request)
    planner.hotspots(request)
    filtered_coverage(planner, request, filters)
    hour_profile(planner, request, filters)
    assert planner.registry.snapshot()._station.cache_info().currsize == 0


def test_a_newer_registry_version_lets_the_older_reports_go() -> None:
    """A cached report holds its snapshot (its stations are the snapshot's columns): once a report of a newer
    registry version is cached, the older reports are dropped and the older snapshot is freed."""
    import gc
    import weakref

    data = {"lon": WEST + 0.01, "lat": SOUTH + 0.01, "hours": HOURS_TEXTS[1], "status": "normal", "hot_water": "yes",
            "toilet": None, "kind": "outdoor_worker"}  # fmt: skip
    stations = [make_station(i, {**data, "lon": WEST + i / 500}) for i in range(4)]
    registry = FakeRegistry(stations)
    planner = Planner(registry, None)  # type: ignore[arg-type]  # a registry as the planner reads it
    request = CoverageRequest(radius_m=300.0, cell_m=100)
    first = planner.coverage(request)
    planner.hotspots(request)
    old = weakref.ref(registry.current)
    registry.current = Snapshot(stations[:3], version=2)
    del first
    assert len(planner.coverage(request).stations) == 3
    gc.collect()
    assert old() is None
    assert {getattr(value, "version", 2) for value, _ in planner._cache.values()} == {2}
