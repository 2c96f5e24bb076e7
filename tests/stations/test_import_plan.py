"""What an import would do (``stations.imports``): additions, updates matched by id or external id that touch
only the fields the file carries, unchanged rows, and likely duplicates checked against a haversine brute force.

Pure: plans are made against in-memory snapshots; nothing here needs a database.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from stations.imports import DUPLICATE_ANY_M, DUPLICATE_SIMILAR_M, plan, similar_names
from stations.model import Station
from stations.snapshot import Snapshot

EARTH_RADIUS_M = 6_371_008.8
ORIGIN = (120.16, 30.27)  # 拱墅区, Hangzhou


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle metres, written out here as the oracle."""
    p1, p2, dp, dl = map(math.radians, (lat1, lat2, lat2 - lat1, lon2 - lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def offset(metres_north: float, metres_east: float = 0.0, origin: tuple[float, float] = ORIGIN) -> tuple[float, float]:
    """(lon, lat) about that many metres north and east of ``origin`` (exact for due north)."""
    lon, lat = origin
    d_lat = math.degrees(metres_north / EARTH_RADIUS_M)
    d_lon = math.degrees(metres_east / (EARTH_RADIUS_M * math.cos(math.radians(lat))))
    return lon + d_lon, lat + d_lat


def station(station_id: str, name: str, at: tuple[float, float] = ORIGIN, **fields: Any) -> Station:
    return Station(
        id=station_id, name=name, types=fields.pop("types", ["outdoor_worker"]), lon=at[0], lat=at[1], **fields
    )


def planned(new: list[Station], existing: list[Station]) -> Any:
    return plan(new, list(range(1, len(new) + 1)), Snapshot(existing))


# ---------------------------------------------------------------------------------------------- duplicates

EXISTING = station("E", "武林街道工会驿站", ORIGIN)


@pytest.mark.parametrize(
    ("name", "metres", "expected"),
    [
        ("无关的名字", 14.0, "within 15 m"),  # any name this close
        ("武林街道户外劳动者服务站", 40.0, "similar name within 50 m"),
        ("武林街道爱心驿站", 49.0, "similar name within 50 m"),
        ("古荡街道工会驿站", 40.0, None),  # a different place 40 m away
        ("武林街道户外劳动者服务站", 60.0, None),  # similar, but too far
        ("无关的名字", 16.0, None),
    ],
)
def test_constructed_duplicates(name: str, metres: float, expected: str | None) -> None:
    new = station("N", name, offset(metres))
    result = planned([new], [EXISTING])
    assert [d.reason for d in result.duplicates] == ([expected] if expected else [])
    if expected:
        found = result.duplicates[0]
        assert (found.row, found.id, found.existing_id, found.existing_name) == (1, "N", "E", EXISTING.name)
        assert found.distance_m == pytest.approx(haversine(*ORIGIN, new.lon, new.lat), abs=0.05)
        assert found.distance_m == pytest.approx(metres, abs=0.05)
    assert [p.id for p in result.added] == ["N"]  # a likely duplicate is still added: the keeper decides


def test_two_new_rows_close_together_are_reported_once_on_the_later_row() -> None:
    far = offset(5_000)
    rows = [
        station("N1", "城西驿站", far),
        station("N2", "别的名字", offset(10, origin=far)),
        station("N3", "远", ORIGIN),
    ]
    result = planned(rows, [])
    assert [(d.row, d.id, d.existing_id, d.reason) for d in result.duplicates] == [(2, "N2", "N1", "within 15 m")]


def test_only_additions_are_checked_for_duplicates() -> None:
    """A row that updates a station (same id) is that station, not a duplicate of it or of its neighbours."""
    neighbour = station("B", "无关", offset(5))
    result = planned([station("E", "武林街道工会驿站改", ORIGIN)], [EXISTING, neighbour])
    assert [p.id for p in result.updated] == ["E"] and result.duplicates == []


@pytest.mark.parametrize(
    ("a", "b", "similar"),
    [
        ("武林街道工会驿站", "武林街道户外劳动者服务站", True),
        ("西湖文化广场爱心驿站", "西湖文化广场 骑士之家", True),
        ("武林街道工会驿站", "古荡街道工会驿站", False),
        ("骑士之家", "骑士之家", True),
        ("骑士之家", "司机之家", False),
        ("Wulin Union Station", "wulin outdoor workers station", True),
    ],
)
def test_similar_names(a: str, b: str, similar: bool) -> None:
    assert similar_names(a, b) is similar and similar_names(b, a) is similar


NAMES = ["武林街道工会驿站", "武林街道爱心驿站", "古荡街道工会驿站", "文三路骑士之家", "文三路司机之家", "母婴室"]
POINTS = st.tuples(st.floats(-1, 1), st.floats(-1, 1), st.sampled_from(NAMES))


@settings(max_examples=150)
@given(
    existing=st.integers(0, 30).flatmap(lambda n: st.lists(POINTS, min_size=n, max_size=n)),
    new=st.lists(POINTS, min_size=1, max_size=8),
    spread_m=st.sampled_from([8.0, 40.0, 80.0]),
)
def test_likely_duplicates_equal_a_haversine_brute_force(
    existing: list[tuple[float, float, str]], new: list[tuple[float, float, str]], spread_m: float
) -> None:
    """Dense clusters too (up to 30 stations within 16 m): every pair within the rules is reported, once."""
    old = [station(f"E{i}", name, offset(n * spread_m, e * spread_m)) for i, (n, e, name) in enumerate(existing)]
    rows = [station(f"N{i}", name, offset(n * spread_m, e * spread_m)) for i, (n, e, name) in enumerate(new)]

    def rule(a: Station, b: Station) -> str | None:
        distance = haversine(a.lon, a.lat, b.lon, b.lat)
        assume(abs(distance - DUPLICATE_ANY_M) > 1e-3 and abs(distance - DUPLICATE_SIMILAR_M) > 1e-3)
        if distance <= DUPLICATE_ANY_M:
            return f"within {DUPLICATE_ANY_M:g} m"
        if distance <= DUPLICATE_SIMILAR_M and similar_names(a.name, b.name):
            return f"similar name within {DUPLICATE_SIMILAR_M:g} m"
        return None

    expected = set()
    for row, new_station in enumerate(rows, start=1):
        for other in old + rows[: row - 1]:
            reason = rule(new_station, other)
            if reason is not None:
                expected.add((row, new_station.id, other.id, reason))
    result = planned(rows, old)
    assert {(d.row, d.id, d.existing_id, d.reason) for d in result.duplicates} == expected
    assert len(result.duplicates) == len(expected)
    for duplicate in result.duplicates:
        a, b = (
            next(s for s in rows if s.id == duplicate.id),
            next(s for s in old + rows if s.id == duplicate.existing_id),
        )
        assert duplicate.distance_m == pytest.approx(haversine(a.lon, a.lat, b.lon, b.lat), abs=0.051)


# ---------------------------------------------------------------------------------------------- plan


def test_rows_add_update_by_id_or_leave_unchanged() -> None:
    existing = [station("A", "甲", phone="1"), station("B", "乙", offset(500), phone="2")]
    rows = [
        station("A", "甲改", phone="1"),
        station("B", "乙", offset(500), phone="2"),
        station("C", "丙", offset(900)),
    ]
    result = planned(rows, existing)
    assert [(p.row, p.id, p.matched_by, p.changes) for p in result.updated] == [(1, "A", "id", ["name"])]
    assert [(p.row, p.id, p.matched_by) for p in result.unchanged] == [(2, "B", "id")]
    assert [(p.row, p.id, p.matched_by) for p in result.added] == [(3, "C", None)]
    assert [s.id for s in result.writes] == ["A", "C"]


def test_rows_match_by_external_id_and_keep_the_registry_id() -> None:
    existing = [station("HZ-7", "武林驿站", external_ids={"union": "007", "amap": "B0FF"})]
    row = station("ST-abc", "武林驿站（新址）", offset(300), external_ids={"union": "007"})
    result = planned([row], existing)
    assert [(p.id, p.matched_by) for p in result.updated] == [("HZ-7", "external_ids.union")]
    (written,) = result.writes
    assert (
        written.id == "HZ-7" and written.name == "武林驿站（新址）" and (written.lon, written.lat) == (row.lon, row.lat)
    )
    assert written.external_ids == {"union": "007", "amap": "B0FF"}  # the file has no amap ids: those are kept
    assert result.added == [] and result.duplicates == []


def test_an_update_changes_only_the_fields_the_file_carries() -> None:
    """Phone numbers and amenities an editor entered by hand survive a spreadsheet without those columns."""
    by_hand = station(
        "A", "甲", phone="0571-1", host="市总工会", amenities={"wifi": "yes", "hot_water": "no"}, capacity=6
    )
    rows = [station("A", "甲", amenities={"hot_water": "yes"}), station("B", "乙", offset(800), host="区总工会")]
    result = planned(rows, [by_hand])
    (updated,) = (s for s in result.writes if s.id == "A")
    assert updated.phone == "0571-1" and updated.capacity == 6  # not in the file
    assert updated.amenities == {"wifi": "yes", "hot_water": "yes"}  # only hot_water is in the file
    assert updated.host is None  # the file has hosts, and row A leaves its host empty
    assert result.updated[0].changes == ["amenities", "host"]


def test_a_file_without_a_status_column_does_not_reopen_closed_stations() -> None:
    closed = station("A", "甲", operating_status="closed", opening_hours="24/7")
    result = planned([station("A", "甲", opening_hours="Mo-Su 08:00-20:00")], [closed])
    (updated,) = result.writes
    assert updated.operating_status == "closed" and updated.opening_hours == "Mo-Su 08:00-20:00"
    assert result.updated[0].changes == ["opening_hours"]


def test_a_file_that_gives_statuses_changes_them() -> None:
    existing = [station("A", "甲", operating_status="closed"), station("B", "乙", offset(500))]
    rows = [station("A", "甲", operating_status="normal"), station("B", "乙", offset(500), operating_status="limited")]
    result = planned(rows, existing)
    assert {s.id: s.operating_status for s in result.writes} == {"A": "normal", "B": "limited"}


def test_the_columns_a_file_has_can_be_given_exactly() -> None:
    """With its header known, an all-"normal" status column reopens stations, and an empty phone column clears."""
    existing = [station("A", "甲", operating_status="closed", phone="1")]
    result = plan([station("A", "甲")], [1], Snapshot(existing), columns={"name", "operating_status", "phone"})
    (updated,) = result.writes
    assert (updated.operating_status, updated.phone) == ("normal", None)


def test_every_station_of_a_dense_cluster_is_reported() -> None:
    """Twenty stations at one street corner (a registry imported twice under different ids, say)."""
    cluster = [station(f"E{i:02d}", f"驿站{i}", offset(i * 0.5)) for i in range(20)]
    result = planned([station("N", "新驿站", offset(3))], cluster)
    assert sorted(d.existing_id for d in result.duplicates) == [s.id for s in cluster]


def test_the_plan_builds_only_the_stations_near_the_rows() -> None:
    """A file without external ids is planned from the snapshot's columns and the stations near its rows: the
    snapshot never builds all its stations (a million of them take ~10 s to build)."""
    far = [station(f"F{i}", f"远处{i}号站", offset(5_000 + 100 * i)) for i in range(50)]
    snapshot = Snapshot([EXISTING, *far])
    result = plan([station("N", "武林街道爱心驿站", offset(20))], [2], snapshot)
    assert [(d.id, d.existing_id) for d in result.duplicates] == [("N", "E")]
    assert snapshot._station.cache_info().currsize <= 2  # E (and a neighbour), none of the 50 far stations
    with_external = station("X", "外部编号站", offset(3_000), external_ids={"acftu": "42"})
    plan([with_external], [2], snapshot)
    assert snapshot._station.cache_info().currsize == len(snapshot)  # matching by external id reads them all
