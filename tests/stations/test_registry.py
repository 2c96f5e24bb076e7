"""Registry on a real SQLite file: all-or-nothing imports, district assignment, snapshots, filters."""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from geo.districts import Districts
from stations.errors import ImportRejected
from stations.registry import Registry
from stations.snapshot import NearbyQuery
from stations.store import Store

MONDAY_0900 = datetime(2026, 11, 23, 9, 0)
MONDAY_1200 = datetime(2026, 11, 23, 12, 0)
NATIONAL_DAY = datetime(2026, 10, 1, 10, 0)


def _csv(rows: list[str]) -> bytes:
    return ("id,name,types,lon,lat,opening_hours,operating_status,hot_water\n" + "\n".join(rows) + "\n").encode()


@pytest.fixture
def registry(database_url: str, districts: Districts) -> Registry:
    return Registry(Store(database_url), districts, check_interval_s=0)


def test_import_is_all_or_nothing_even_at_row_9000(registry: Registry) -> None:
    registry.import_file(_csv(["KEEP,原有,outdoor_worker,120.1,30.2,,,"]), "first.csv")
    version = registry.store.version()
    rows = [f"N{i},站{i},outdoor_worker,120.{i % 100:02d},30.2,,," for i in range(10_000)]
    rows[8_999] = "N8999,坏,outdoor_worker,120.1,north,,,"
    with pytest.raises(ImportRejected) as rejected:
        registry.import_file(_csv(rows), "big.csv")
    assert [(p.row, p.field, p.value) for p in rejected.value.problems] == [(9_001, "lat", "north")]
    assert registry.store.count() == 1 and registry.store.version() == version
    assert [s.id for s in registry.snapshot().stations] == ["KEEP"]


def test_dry_run_reports_and_writes_nothing(registry: Registry) -> None:
    registry.import_file(_csv(["A,甲,outdoor_worker,120.1,30.2,,,"]), "first.csv")
    report = registry.import_file(
        _csv(["A,甲改,outdoor_worker,120.1,30.2,,,", "B,乙,nursing_room,120.2,30.3,,,", "C,丙,bogus,1,1,,,"]),
        "second.csv",
        dry_run=True,
    )
    assert (report.rows, report.valid, report.added, report.updated) == (3, 2, 1, 1)
    assert [(p.row, p.field) for p in report.problems] == [(4, "types")] and not report.committed
    assert registry.store.count() == 1 and registry.snapshot().get("A").name == "甲"


def test_reimport_updates_by_id(registry: Registry) -> None:
    registry.import_file(_csv(["A,甲,outdoor_worker,120.1,30.2,,,"]), "v1.csv")
    report = registry.import_file(_csv(["A,甲二,outdoor_worker,120.1,30.2,,,"]), "v2.csv")
    assert (report.added, report.updated, report.committed) == (0, 1, True)
    assert registry.snapshot().get("A").name == "甲二" and registry.store.count() == 1


def test_districts_are_assigned_by_point_in_polygon(registry: Registry) -> None:
    report = registry.import_file(
        _csv(["XH,西湖边,outdoor_worker,120.13,30.26,,,", "BJ,北京,outdoor_worker,116.40,39.90,,,"]), "d.csv"
    )
    snapshot = registry.snapshot()
    assert (snapshot.get("XH").adcode, snapshot.get("XH").district) == ("330106", "西湖区")
    assert snapshot.get("BJ").adcode is None
    assert [(w.row, w.reason) for w in report.warnings] == [(3, "outside every known district")]


def test_a_given_adcode_that_disagrees_with_the_point_is_kept_and_warned_about(registry: Registry) -> None:
    text = "name,types,lon,lat,adcode\nx,outdoor_worker,120.13,30.26,330108\n"
    report = registry.import_file(text.encode(), "a.csv")
    assert report.warnings[0].field == "adcode" and "330106" in report.warnings[0].reason


def test_snapshot_is_swapped_not_mutated(registry: Registry) -> None:
    registry.import_file(_csv(["A,甲,outdoor_worker,120.1,30.2,,,"]), "v1.csv")
    before = registry.snapshot()
    registry.import_file(_csv(["B,乙,outdoor_worker,120.1,30.2,,,"]), "v2.csv")
    after = registry.snapshot()
    assert len(before) == 1 and len(after) == 2 and after.version > before.version


def test_another_process_writing_is_noticed(database_url: str, districts: Districts) -> None:
    reader = Registry(Store(database_url), districts, check_interval_s=0)
    writer = Registry(Store(database_url), districts, check_interval_s=0)
    assert len(reader.snapshot()) == 0
    writer.import_file(_csv(["A,甲,outdoor_worker,120.1,30.2,,,"]), "v1.csv")
    assert [s.id for s in reader.snapshot().stations] == ["A"]


def _nearby(registry: Registry, **kwargs) -> list[str]:
    query = NearbyQuery(lon=120.0, lat=30.0, **kwargs)
    return [r.station.id for r in registry.snapshot().nearby(query, now=MONDAY_0900)]


@pytest.fixture
def hours_registry(registry: Registry) -> Registry:
    registry.import_file(
        _csv(
            [
                'SPLIT,分班,outdoor_worker,120.001,30,"Mo-Fr 08:30-11:00,13:30-17:00; PH off",,yes',
                "ALWAYS,全天,outdoor_worker,120.002,30,24/7,,no",
                "UNKNOWN,未知时间,outdoor_worker,120.003,30,,,yes",
                "PAUSED,暂停,outdoor_worker,120.004,30,24/7,temporarily_closed,yes",
                "GONE,已关闭,outdoor_worker,120.000,30,24/7,closed,yes",
                "MOTHER,母婴,nursing_room,120.005,30,24/7,,",
            ]
        ),
        "h.csv",
    )
    return registry


def test_closed_for_good_never_answers_and_order_is_by_distance(hours_registry: Registry) -> None:
    assert _nearby(hours_registry, k=10) == ["SPLIT", "ALWAYS", "UNKNOWN", "PAUSED", "MOTHER"]


def test_open_at_split_shifts_holidays_and_unknown_hours(hours_registry: Registry) -> None:
    assert _nearby(hours_registry, open_at=MONDAY_0900) == ["SPLIT", "ALWAYS", "MOTHER"]
    assert _nearby(hours_registry, open_at=MONDAY_1200) == ["ALWAYS", "MOTHER"]
    assert _nearby(hours_registry, open_at=NATIONAL_DAY) == ["ALWAYS", "MOTHER"]
    assert _nearby(hours_registry, open_at=MONDAY_1200, include_unknown_hours=True) == [
        "ALWAYS",
        "UNKNOWN",
        "MOTHER",
    ]


def test_open_status_is_reported_not_guessed(hours_registry: Registry) -> None:
    results = hours_registry.snapshot().nearby(NearbyQuery(120.0, 30.0, k=10, open_at=MONDAY_1200))
    assert {r.station.id: r.open_status for r in results} == {"ALWAYS": "open", "MOTHER": "open"}
    everything = hours_registry.snapshot().nearby(NearbyQuery(120.0, 30.0, k=10), now=MONDAY_1200)
    assert {r.station.id: r.open_status for r in everything} == {
        "SPLIT": "closed", "ALWAYS": "open", "UNKNOWN": "unknown", "PAUSED": "closed", "MOTHER": "open",
    }  # fmt: skip


def test_type_and_amenity_filters(hours_registry: Registry) -> None:
    assert _nearby(hours_registry, types=("nursing_room",)) == ["MOTHER"]
    assert _nearby(hours_registry, types=("nursing_room", "driver_home")) == ["MOTHER"]
    assert _nearby(hours_registry, amenities=("hot_water",)) == ["SPLIT", "UNKNOWN", "PAUSED"]
    assert _nearby(hours_registry, k=1, amenities=("hot_water",), open_at=MONDAY_1200) == []


def test_empty_registry_answers_nothing(registry: Registry) -> None:
    assert _nearby(registry) == []
    assert registry.snapshot().select() == []


def test_select_by_box_district_and_type(registry: Registry) -> None:
    registry.import_file(
        _csv(
            [
                "XH,西湖,outdoor_worker,120.13,30.26,,,",
                "BJ,滨江,nursing_room,120.21,30.20,,,",
                "FAR,远,outdoor_worker,0,0,,,",
            ]
        ),
        "s.csv",
    )
    snapshot = registry.snapshot()
    assert [s.id for s in snapshot.select(bbox=(120.0, 30.0, 120.5, 30.5))] == ["BJ", "XH"]
    assert [s.id for s in snapshot.select(adcode="330106")] == ["XH"]
    assert [s.id for s in snapshot.select(types=("nursing_room",))] == ["BJ"]
    counts = snapshot.counts_by_adcode()
    assert counts["330106"]["outdoor_worker"] == 1 and counts["330108"]["nursing_room"] == 1


def test_districts_locate_matches_shapely_contains(districts: Districts) -> None:
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(118.3, 120.8, 2000), rng.uniform(29.2, 30.6, 2000)
    found = districts.locate(lon, lat)
    import shapely

    for i in range(len(lon)):
        inside = [j for j, g in enumerate(districts.geometries) if g.intersects(shapely.Point(lon[i], lat[i]))]
        assert found[i] == (inside[0] if inside else -1)
