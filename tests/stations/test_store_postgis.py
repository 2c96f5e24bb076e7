"""The production store's PostGIS column: kept equal to (lon, lat) by the database, GiST-indexed, and its
KNN answers agree with our own exact nearest index (geo/index.py through stations/snapshot.py)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, insert, text, update
from sqlalchemy.orm import Session

from geo.distance import haversine_m
from stations.snapshot import NearbyQuery, Snapshot
from stations.store import StationRow, Store

WRITTEN_AT = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
# PostGIS's sphere is the WGS84 mean radius 6,371,008.7714 m, ours 6,371,008.8 m: 4.5e-9 apart, relatively;
# haversine near antipodes is good to ~1e-8 rad (sqrt of machine epsilon), 6 cm
DISTANCE_RTOL = 1e-8
DISTANCE_ATOL_M = 1e-4


def tolerance_m(distance_m: float) -> float:
    """How far apart two computations of one distance may be; answers this close are a tie (either order)."""
    return 10 * DISTANCE_ATOL_M + 2 * DISTANCE_RTOL * distance_m


KNN = text(
    """
    WITH here AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography AS point)
    SELECT stations.id, ST_Distance(stations.geom::geography, here.point, false) AS distance_m
    FROM stations, here
    ORDER BY stations.geom::geography <-> here.point, stations.id
    LIMIT :k
    """
)
"""PostGIS's k nearest by great-circle (geography KNN), with sphere distances."""


def _row(station_id: str, lon: float, lat: float) -> dict:
    payload = {"id": station_id, "name": f"站{station_id}", "types": ["outdoor_worker"], "lon": lon, "lat": lat}
    return {"id": station_id, "lon": lon, "lat": lat, "adcode": None, "payload": payload, "updated_at": WRITTEN_AT}


def _replace_stations(store: Store, points: list[tuple[float, float]]) -> None:
    """Write stations the way any write code does: plain rows, nothing about ``geom``."""
    with Session(store.engine) as session, session.begin():
        session.execute(delete(StationRow))
        if points:
            session.execute(insert(StationRow), [_row(f"S{i:03d}", lon, lat) for i, (lon, lat) in enumerate(points)])


@pytest.fixture
def store(postgis_url: str) -> Store:
    return Store(postgis_url)


def test_geom_follows_lon_lat_through_inserts_and_updates(store: Store) -> None:
    _replace_stations(store, [(120.1, 30.2), (-179.5, -89.0)])
    with Session(store.engine) as session, session.begin():
        session.execute(update(StationRow).where(StationRow.id == "S000").values(lon=121.25, lat=31.5))
    with store.engine.connect() as connection:
        rows = connection.execute(text("SELECT id, ST_X(geom), ST_Y(geom), ST_SRID(geom) FROM stations ORDER BY id"))
        assert [tuple(row) for row in rows] == [("S000", 121.25, 31.5, 4326), ("S001", -179.5, -89.0, 4326)]


def test_geom_has_a_gist_index_that_serves_knn(store: Store) -> None:
    _replace_stations(store, [(120 + i / 100, 30 + i / 200) for i in range(50)])
    with store.engine.begin() as connection:
        indexdef = connection.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_stations_geom'"))
        assert indexdef is not None and "USING gist (geom)" in indexdef
        connection.execute(text("SET LOCAL enable_seqscan = off"))  # 50 rows: the planner would rather scan
        plan = connection.execute(
            text("EXPLAIN SELECT id FROM stations ORDER BY geom <-> ST_SetSRID(ST_MakePoint(120, 30), 4326) LIMIT 3")
        )
        assert "Index Scan using ix_stations_geom" in "\n".join(row[0] for row in plan)


def _tie_groups(answer: list[tuple[str, float]]) -> list[tuple[set[str], float]]:
    """Runs of answers whose consecutive distances are ties: (their ids, the run's first distance)."""
    groups: list[tuple[set[str], float]] = []
    previous = None
    for station_id, distance_m in answer:
        if previous is not None and distance_m - previous <= tolerance_m(distance_m):
            groups[-1][0].add(station_id)
        else:
            groups.append(({station_id}, distance_m))
        previous = distance_m
    return groups


coordinates = st.tuples(st.floats(-180, 180), st.floats(-90, 90))


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    points=st.lists(coordinates, min_size=1, max_size=60),
    queries=st.lists(coordinates, min_size=1, max_size=3),
    k=st.integers(1, 12),
    local=st.booleans(),
)
def test_postgis_knn_agrees_with_our_nearest_index(
    store: Store, points: list[tuple[float, float]], queries: list[tuple[float, float]], k: int, local: bool
) -> None:
    if local:  # stations a few kilometres apart in one city, where near-ties and rounding matter most
        points = [(120 + lon / 3600, 30 + lat / 3600) for lon, lat in points]
        queries = [(120 + lon / 3600, 30 + lat / 3600) for lon, lat in queries]
    _replace_stations(store, points)
    snapshot = Snapshot(store.all())
    with store.engine.connect() as connection:
        for lon, lat in queries:
            ours = [(r.station.id, r.distance_m) for r in snapshot.nearby(NearbyQuery(lon, lat, k=k))]
            theirs = [(row.id, row.distance_m) for row in connection.execute(KNN, {"lon": lon, "lat": lat, "k": k})]
            assert len(ours) == len(theirs) == min(k, len(points))
            for (_, our_m), (_, their_m) in zip(ours, theirs, strict=True):
                assert our_m == pytest.approx(their_m, rel=DISTANCE_RTOL, abs=DISTANCE_ATOL_M)
            # the same ids in the same order, up to the order within a tie; a tie cut by k may be cut differently
            our_groups, their_groups = _tie_groups(ours), _tie_groups(theirs)
            assert [ids for ids, _ in our_groups[:-1]] == [ids for ids, _ in their_groups[:-1]]
            last_distance = our_groups[-1][1]
            tied_at_the_end = {
                f"S{i:03d}"
                for i, (station_lon, station_lat) in enumerate(points)
                if abs(float(haversine_m(lon, lat, station_lon, station_lat)) - last_distance)
                <= 2 * tolerance_m(last_distance)
            }
            assert our_groups[-1][0] | their_groups[-1][0] <= tied_at_the_end
