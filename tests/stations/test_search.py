"""The search index (stations/search.py) answers exactly the substring rule (``search.brute_force``) on both
stores, stays in step with every write (edits, closes, hard deletes, imports), and the places built from it
(stations/places.py) start where the stations are: districts inside their polygons, near their stations."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from geo.districts import Districts
from stations import places, search
from stations.edits import Change, apply
from stations.model import Station
from stations.registry import Registry
from stations.store import Store
from tests import hostile

# Chinese place characters (some repeated across names, so that queries hit several stations), ASCII in both
# cases, full-width letters and digits (NFKC makes them ASCII), punctuation and spaces, LIKE's wildcards
ALPHABET = "西湖区路街道社区文三滨江杭州站驿aAbBkK19ＫＦＣ１ -·()%_\\\"'*"
TEXT = st.text(alphabet=ALPHABET, min_size=1, max_size=12)


def station(station_id: str, name: str, address: str | None = None, district: str | None = None) -> Station:
    return Station(
        id=station_id, name=name, types=["outdoor_worker"], lon=120.15, lat=30.25, address=address,
        district=district,
    )  # fmt: skip


def payload(s: Station) -> dict:
    return s.model_dump(mode="json", exclude_none=True)


def found(store: Store, query: str) -> set[str]:
    with store.engine.connect() as connection:
        return set(search.find(connection, query, 10_000))


def scanned(store: Store, query: str) -> set[str]:
    with store.engine.connect() as connection:
        return set(search.scan(connection, query, 10_000))


@pytest.fixture
def store(database_url: str) -> Store:
    return Store(database_url)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    records=st.lists(
        st.tuples(TEXT.filter(str.strip), st.none() | TEXT, st.none() | TEXT), min_size=1, max_size=12
    ),  # a name is not blank (the model trims it)
    queries=st.lists(st.one_of(TEXT, st.text(alphabet=ALPHABET, min_size=1, max_size=3)), min_size=1, max_size=6),
    picks=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 40), st.integers(1, 4)), max_size=6),
)
def test_find_is_the_substring_rule_on_both_stores(
    store: Store, records: list[tuple[str, str | None, str | None]], queries: list[str], picks: list
) -> None:
    """Random names, addresses and districts written through the edits (the stations of the example before
    removed for good), random queries and substrings of the texts: the index answers what brute force does."""
    before = {s.id for s in store.all()}
    stations = [station(f"S{i}", *record) for i, record in enumerate(records)]
    apply(store, [Change(station_id, None, "purge") for station_id in before], "test")
    apply(store, [Change(s.id, s, "create") for s in stations], "test")
    texts = [record[0] + " " + (record[1] or "") for record in records]
    for which, start, length in picks:  # substrings of what was written: queries that do match
        text = texts[which % len(texts)]
        queries.append(text[start % len(text) :][:length] or text)
    payloads = [payload(s) for s in stations]
    for query in queries:
        expected = search.brute_force(query, payloads)
        assert found(store, query) == expected, query
        assert scanned(store, query) == expected, query  # the benchmark's baseline answers the same


def test_two_character_and_one_character_queries(store: Store) -> None:
    written = [
        station("A", "西湖边驿站", "杭州市西湖区文三路1号", "西湖区"),
        station("B", "湖西驿站", "杭州市上城区解放路2号"),
        station("C", "ＫＦＣ滨江店", "滨江区江南大道3号"),
        station("D", "西 湖"),
    ]
    apply(store, [Change(s.id, s, "create") for s in written], "test")
    assert found(store, "西湖") == {"A"}  # not 湖西, not 西 湖 (tokens adjacent, text not)
    assert found(store, "湖") == {"A", "B", "D"}
    assert found(store, "kfc") == found(store, "KFC") == found(store, "Ｋｆｃ") == {"C"}
    assert found(store, "西 湖") == {"D"}
    assert found(store, "路1") == {"A"} and found(store, "%") == found(store, "_") == set()
    assert found(store, " ") == {"D"} and found(store, "  ") == set()  # no token: the exact test over all


def test_the_index_follows_edits_closes_deletes_and_imports(database_url: str) -> None:
    registry = Registry(Store(database_url))
    registry.create(station("E1", "北山驿站", "杭州市西湖区北山街1号"), "editor")
    registry.create(station("E2", "湖滨驿站"), "editor")
    assert found(registry.store, "北山") == {"E1"}
    registry.update("E1", {"name": "孤山驿站"}, "editor")
    assert found(registry.store, "孤山") == {"E1"}
    assert found(registry.store, "北山") == {"E1"}  # still in its address
    registry.update("E1", {"address": "杭州市西湖区白堤"}, "editor")
    assert found(registry.store, "北山") == set()
    registry.update("E2", {"phone": "0571-1"}, "editor")  # a field the index does not hold: row left as it was
    assert found(registry.store, "湖滨") == {"E2"}
    registry.delete("E2", "editor")  # closed: still in the registry and its index; places hide it
    assert found(registry.store, "湖滨") == {"E2"}
    assert places.search(registry, "湖滨", 10) == []
    registry.delete("E2", "editor", hard=True)
    assert found(registry.store, "湖滨") == set()
    csv = (
        "id,name,types,lon,lat,address\n"
        "I1,灵隐驿站,outdoor_worker,120.10,30.24,杭州市西湖区灵隐路1号\n"
        "E1,孤山新驿站,outdoor_worker,120.14,30.26,杭州市西湖区白堤\n"
    )
    report = registry.import_file(csv.encode(), "more.csv")
    assert report.committed and report.added == 1 and report.updated == 1
    assert found(registry.store, "灵隐") == {"I1"} and found(registry.store, "新驿") == {"E1"}
    assert found(registry.store, "驿站") == {"I1", "E1"}
    everything = [payload(s) for s in registry.store.all()]
    for query in ("孤山", "驿", "白堤", "杭州市西湖区", "湖滨"):
        assert found(registry.store, query) == search.brute_force(query, everything)


def test_a_database_with_stations_is_indexed_by_the_migration(tmp_path) -> None:
    """Stations written before revision 0004 are in the index once the database is opened."""
    from alembic import command
    from sqlalchemy import create_engine, text

    from stations import migrations

    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    engine = create_engine(url)
    with migrations.locked_transaction(engine) as connection:
        command.upgrade(migrations.config(connection), "0003")
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO stations (id, lon, lat, payload, updated_at) VALUES (:id, 120, 30, :payload, :at)"),
            {"id": "OLD", "payload": '{"id": "OLD", "name": "旧西湖驿站", "types": ["outdoor_worker"], "lon": 120, '
             '"lat": 30}', "at": "2026-01-01 00:00:00"},
        )  # fmt: skip
    engine.dispose()
    assert found(Store(url), "西湖") == {"OLD"}


def test_hostile_names_are_found_as_text(store: Store) -> None:
    written = [station(f"H{i}", name) for i, name in enumerate(hostile.ALL)]
    apply(store, [Change(s.id, s, "create") for s in written], "test")
    payloads = [payload(s) for s in written]
    for i, name in enumerate(hostile.ALL):
        assert f"H{i}" in found(store, name)
        for part in (name, name[:5], name[-4:], "{{", "<", '"', "%"):
            assert found(store, part) == search.brute_force(part, payloads), part


# -- places -------------------------------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(-1, 3), st.floats(119.0, 121.0), st.floats(29.0, 31.0)), min_size=1, max_size=40))
def test_group_points_are_the_member_nearest_the_mean(members: list[tuple[int, float, float]]) -> None:
    groups = np.array([m[0] for m in members], dtype=np.intp)
    lon = np.array([m[1] for m in members])
    lat = np.array([m[2] for m in members])
    answer = places.group_points(groups, lon, lat, 4)
    assert set(answer) == {g for g in groups.tolist() if g >= 0}
    for group, point in answer.items():
        inside = groups == group
        mean_lon, mean_lat = lon[inside].mean(), lat[inside].mean()
        scale = np.cos(np.radians(mean_lat))
        squared = ((lon[inside] - mean_lon) * scale) ** 2 + (lat[inside] - mean_lat) ** 2
        assert point in set(zip(lon[inside].tolist(), lat[inside].tolist(), strict=True))
        chosen = ((point[0] - mean_lon) * scale) ** 2 + (point[1] - mean_lat) ** 2
        assert chosen <= squared.min() + 1e-12


def test_district_points_are_inside_and_where_the_stations_are(districts: Districts) -> None:
    """On the sample: each district's point is inside its polygon; one with stations starts at one of them,
    nearer their mean than the bounding-box centre is, where that centre is outside; without stations, the
    polygon's representative point."""
    from stations.importers import parse_file
    from tests.conftest import STATIONS_PATH

    stations = parse_file(STATIONS_PATH.read_bytes(), "stations.csv").stations
    points = places.district_points([s for s in stations if s.serves()], districts)
    located = districts.locate(np.array([s.lon for s in stations]), np.array([s.lat for s in stations]))
    for position, (geometry, (lon, lat)) in enumerate(zip(districts.geometries, points, strict=True)):
        assert geometry.covers(shapely.Point(lon, lat)), districts.names[position]
        members = [s for s, where in zip(stations, located, strict=True) if where == position and s.serves()]
        if members:
            assert (lon, lat) in {(s.lon, s.lat) for s in members}
    ring = shapely.box(0, 0, 3, 3).difference(shapely.box(1, 1, 2, 2))  # its bbox centre is in the hole
    (point,) = places.district_points([s for s in stations if s.serves()], Districts(["999999"], ["空区"], [ring]))
    assert ring.covers(shapely.Point(point)) and point != (1.5, 1.5)


def test_street_names() -> None:
    assert places.street_names("浙江省杭州市西湖区西溪街道文三路1号") == ("西溪街道", "文三路")
    assert places.street_names("杭州市上城区湖滨社区平海路5号") == ("湖滨社区", "平海路")
    assert places.street_names(None, "武林街道工会驿站") == ("武林街道",)
    assert places.street_names("<img src=x>") == ()


def test_places_order_and_kinds(database_url: str, districts: Districts) -> None:
    registry = Registry(Store(database_url), districts)
    west_lake = [
        station("P1", "西湖文化广场驿站", "杭州市拱墅区西湖大道1号"),
        station("P2", "西湖", "杭州市上城区西湖大道9号"),
        station("P3", "湖滨驿站", "杭州市上城区湖滨路2号"),
    ]
    for s in west_lake:
        registry.create(s.model_copy(update={"lon": 120.165, "lat": 30.255}), "editor")
    answer = places.search(registry, "西湖", 10)
    kinds = [p.kind for p in answer]
    assert kinds == sorted(kinds, key=places.PLACE_KINDS.index)
    district = next(p for p in answer if p.kind == "district")
    assert district.name == "西湖区" and district.id == "330106"
    assert [p.name for p in answer if p.kind == "street"] == ["西湖大道"]
    assert [p.id for p in answer if p.kind == "station"] == ["P2", "P1"]  # the exact name first
    assert len(places.search(registry, "西湖", 2)) == 2
