"""OGC API - Features under /ogc: landing page, conformance, collections, items with bbox and paging, one item,
the errors the standard asks for; paging through items with any limit, offset and box gives exactly the
brute-force selection."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from stations import features
from stations.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "e2e"))
from e2e_support import STATION_WGS84, STATIONS, stations_csv

GEOJSON = "application/geo+json"
FAST = {"radius_m": 1000, "cell_m": 500}  # coarse cells keep the planning collections quick here


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder = tmp_path_factory.mktemp("ogc")
    settings = Settings(database_url=f"sqlite:///{folder / 'o.sqlite3'}", demand_path=None, check_interval_s=0)
    app = create_app(settings)
    with TestClient(app) as test_client:
        report = app.state.registry.import_file(stations_csv(), "e2e.csv")
        assert report.committed
        app.state.registry.refresh()
        yield test_client


def _links(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {link["rel"]: link for link in body["links"]}


def test_landing_page_links_the_definition_conformance_and_data(client: TestClient) -> None:
    response = client.get("/ogc")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    links = _links(response.json())
    assert links["self"]["href"] == "http://testserver/ogc"
    assert links["service-desc"]["href"] == "http://testserver/openapi.json"
    assert links["conformance"]["href"] == "http://testserver/ogc/conformance"
    assert links["data"]["href"] == "http://testserver/ogc/collections"
    assert client.get(links["service-desc"]["href"]).json()["paths"]["/ogc/collections/{collection_id}/items"]
    conforms = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core" in conforms
    assert "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson" in conforms


def test_links_use_the_public_url_when_one_is_set(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'p.sqlite3'}", districts_path=None, public_url="https://yz.example.cn/"
    )
    with TestClient(create_app(settings)) as other:
        links = _links(other.get("/ogc", headers={"host": "evil.example"}).json())
        assert links["data"]["href"] == "https://yz.example.cn/ogc/collections"
        assert [c["id"] for c in other.get("/ogc/collections").json()["collections"]] == ["stations"]


def test_collections_and_one_collection(client: TestClient) -> None:
    body = client.get("/ogc/collections").json()
    assert [c["id"] for c in body["collections"]] == ["stations", "districts", "coverage", "gaps"]
    stations = client.get("/ogc/collections/stations").json()
    west, south, east, north = stations["extent"]["spatial"]["bbox"][0]
    lons, lats = zip(*STATION_WGS84.values(), strict=True)
    assert (west, south, east, north) == (min(lons), min(lats), max(lons), max(lats))
    items = _links(stations)["items"]
    assert items["type"] == GEOJSON and items["href"] == "http://testserver/ogc/collections/stations/items"
    assert client.get("/ogc/collections/nowhere").status_code == 404


def test_items_page_with_counts_time_stamp_and_links(client: TestClient) -> None:
    response = client.get("/ogc/collections/stations/items", params={"limit": 4, "offset": 2})
    assert response.status_code == 200 and response.headers["content-type"] == GEOJSON
    body = response.json()
    ids = sorted(row[0] for row in STATIONS)
    assert [f["id"] for f in body["features"]] == ids[2:6]
    assert (body["numberMatched"], body["numberReturned"]) == (len(STATIONS), 4)
    assert body["timeStamp"].endswith("Z")
    links = _links(body)
    assert "offset=6" in links["next"]["href"] and "limit=4" in links["next"]["href"]
    assert "offset=0" in links["prev"]["href"]
    last = client.get(links["next"]["href"]).json()
    assert [f["id"] for f in last["features"]] == ids[6:]
    assert "next" not in _links(last)


def test_one_item_and_unknown_ones(client: TestClient) -> None:
    feature = client.get("/ogc/collections/stations/items/T-IMG").json()
    assert feature["properties"]["name"] == STATIONS[0][1]  # markup, as text
    assert feature["geometry"] == {"type": "Point", "coordinates": list(STATION_WGS84["T-IMG"])}
    assert client.get("/ogc/collections/stations/items/T-NOPE").status_code == 404
    district = client.get("/ogc/collections/districts/items/330106").json()
    assert district["properties"]["name"] == "西湖区"
    assert client.get("/ogc/collections/districts/items/999999").status_code == 404
    gap = client.get("/ogc/collections/gaps/items/1", params=FAST).json()
    assert gap["properties"]["rank"] == 1 and gap["geometry"]["type"] == "MultiPolygon"


def test_hostile_names_are_json_data(client: TestClient) -> None:
    response = client.get("/ogc/collections/stations/items")
    names = {f["id"]: f["properties"]["name"] for f in response.json()["features"]}
    assert names == {row[0]: row[1] for row in STATIONS}
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"bbox": "120,30,121"}, "bbox"),
        ({"bbox": "120,31,121,30"}, "bbox"),
        ({"bbox": "120,30,200,31"}, "bbox"),
        ({"f": "html"}, "f"),
        ({"colour": "red"}, "colour"),
        ({"radius_m": 500}, "radius_m"),  # stations take no planning parameters
    ],
)
def test_bad_parameters_are_400_naming_the_field(client: TestClient, params: dict[str, Any], field: str) -> None:
    response = client.get("/ogc/collections/stations/items", params=params)
    assert response.status_code == 400
    assert response.json()["detail"][0]["field"] == field


def test_planning_parameters_are_checked(client: TestClient) -> None:
    response = client.get("/ogc/collections/coverage/items", params={"radius_m": 1000, "types": "castle"})
    assert response.status_code == 400 and response.json()["detail"][0]["field"] == "types"
    too_fine = client.get("/ogc/collections/gaps/items", params={"radius_m": 1000, "cell_m": 1})
    assert too_fine.status_code == 400  # over YIZHAN_MAX_CELLS: refused, not computed


def test_a_limit_above_the_maximum_is_answered_with_the_maximum(client: TestClient) -> None:
    body = client.get("/ogc/collections/stations/items", params={"limit": 10**9}).json()
    assert "limit=10000" in _links(body)["self"]["href"]


def test_coverage_rows_carry_the_question_and_the_district_boundary(client: TestClient) -> None:
    body = client.get("/ogc/collections/coverage/items", params=FAST).json()
    rows = client.get("/coverage", params=FAST).json()["districts"]
    assert [f["id"] for f in body["features"]] == [row["adcode"] for row in rows]
    for feature, row in zip(body["features"], rows, strict=True):
        assert feature["properties"]["covered_share"] == row["covered_share"]
        assert feature["properties"]["radius_m"] == 1000 and feature["properties"]["cell_m"] == 500
    assert "cell_m=500" in _links(body)["self"]["href"]


# -- paging is exactly the brute-force selection -----------------------------------------------------------------

LON = st.floats(119.0, 121.5, allow_nan=False)
LAT = st.floats(29.0, 31.0, allow_nan=False)


@st.composite
def boxes(draw: st.DrawFn) -> tuple[float, float, float, float] | None:
    if draw(st.booleans()):
        return None
    west, east = sorted((draw(LON), draw(LON)))
    south, north = sorted((draw(LAT), draw(LAT)))
    return west, south, east, north


def _walk(client: TestClient, collection: str, params: dict[str, Any]) -> list[str]:
    """Every feature id reached from the first page by ``next`` links."""
    url: str | None = f"/ogc/collections/{collection}/items"
    ids: list[str] = []
    matched = None
    asked: dict[str, Any] | None = params
    while url is not None:
        body = client.get(url, params=asked).json()
        asked = None  # the next link carries them
        ids += [str(f["id"]) for f in body["features"]]
        assert body["numberReturned"] == len(body["features"])
        matched = body["numberMatched"] if matched is None else matched
        assert body["numberMatched"] == matched
        url = _links(body).get("next", {}).get("href")
    assert matched is not None and len(ids) == max(matched - params.get("offset", 0), 0)
    return ids


@pytest.fixture(scope="module")
def district_shapes(client: TestClient) -> list[tuple[str, shapely.Geometry]]:
    """(adcode, geometry) of every district as GET /districts gives them: the reference the paging is held to,
    read once (read per example, they were most of the property's time: 5.4 s -> 1.5 s)."""
    return [
        (f["properties"]["adcode"], shapely.geometry.shape(f["geometry"]))
        for f in client.get("/districts").json()["features"]
    ]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(box=boxes(), limit=st.integers(1, 12), offset=st.integers(0, 12))
def test_paging_through_stations_and_districts_is_the_bbox_selection(
    client: TestClient,
    district_shapes: list[tuple[str, shapely.Geometry]],
    box: tuple[float, float, float, float] | None,
    limit: int,
    offset: int,
) -> None:
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if box is not None:
        params["bbox"] = ",".join(repr(v) for v in box)
    inside = sorted(
        i
        for i, (lon, lat) in STATION_WGS84.items()
        if box is None or (box[0] <= lon <= box[2] and box[1] <= lat <= box[3])
    )
    assert _walk(client, "stations", params) == inside[offset:]
    region = None if box is None else shapely.box(*box)
    touched = [adcode for adcode, shape in district_shapes if region is None or shape.intersects(region)]
    assert _walk(client, "districts", params) == touched[offset:]


@settings(max_examples=60, deadline=None)
@given(
    points=st.lists(st.tuples(st.floats(-180, 180), st.floats(-90, 90)), max_size=40),
    squares=st.lists(st.tuples(st.floats(-170, 170), st.floats(-80, 80), st.floats(0.01, 20)), max_size=15),
    west=st.floats(-180, 180),
    east=st.floats(-180, 180),
    south=st.floats(-90, 90),
    north=st.floats(-90, 90),
    limit=st.integers(1, 10),
    offset=st.integers(0, 10),
)
def test_sources_select_what_intersects_the_box_even_across_the_antimeridian(
    points: list[tuple[float, float]],
    squares: list[tuple[float, float, float]],
    west: float,
    east: float,
    south: float,
    north: float,
    limit: int,
    offset: int,
) -> None:
    south, north = sorted((south, north))
    box = features.parse_bbox(f"{west!r},{south!r},{east!r},{north!r}")
    pieces = [shapely.box(west, south, east, north)] if west <= east else [
        shapely.box(west, south, 180, north), shapely.box(-180, south, east, north)
    ]  # fmt: skip
    lon = np.array([p[0] for p in points])
    lat = np.array([p[1] for p in points])
    point_source = features.Source(
        list(range(len(points))), np.column_stack([lon, lat, lon, lat]).reshape(-1, 4), None, lambda i: {"id": i}
    )
    expected = [i for i, p in enumerate(points) if any(piece.intersects(shapely.Point(p)) for piece in pieces)]
    assert point_source.select(box).tolist() == expected
    shapes = [shapely.box(x, y, x + size, y + size) for x, y, size in squares]
    polygon_source = features.Source(
        list(range(len(shapes))),
        np.asarray(shapely.bounds(np.array(shapes, dtype=object))).reshape(-1, 4),
        np.array(shapes, dtype=object),
        lambda i: {"id": i},
    )
    expected = [i for i, shape in enumerate(shapes) if any(piece.intersects(shape) for piece in pieces)]
    assert polygon_source.select(box).tolist() == expected
    page = features.page(polygon_source, box, limit, offset)
    assert [f["id"] for f in page.features] == expected[offset : offset + limit]
    assert page.number_matched == len(expected)
    assert page.has_next == (offset + limit < len(expected))
