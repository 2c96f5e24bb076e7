"""A real GIS client against a live server: GDAL's OGC API - Features driver (OAPIF) lists the collections under
/ogc and reads every feature of each, with the right count, attributes and geometry, compared with what the
registry and the planner say; then again a few features a page, following the ``next`` links."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyogrio
import pytest
import shapely
from e2e_support import STATION_WGS84, STATIONS, Server

from stations.vocabulary import AMENITIES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif("OAPIF" not in pyogrio.list_drivers(), reason="this GDAL has no OAPIF driver"),
]
CLIENT = Path(__file__).with_name("oapif_client.py")
AMENITY_COLUMNS = ("hot_water", "microwave", "phone_charging", "toilet", "air_conditioning")
"""The amenities of ``e2e_support.STATIONS``, in its column order."""


def _read(server: Server, page_size: int | None = None) -> dict[str, Any]:
    command = [sys.executable, str(CLIENT), server.url + "/ogc", *([str(page_size)] if page_size else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr
    layers: dict[str, Any] = json.loads(done.stdout)
    return layers


def _records(layer: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(layer["fields"], row, strict=True)) for row in layer["rows"]]


def _shapes(layer: dict[str, Any]) -> list[Any]:
    return [shapely.from_wkb(bytes.fromhex(h)) for h in layer["wkb"]]


@pytest.fixture(scope="module")
def layers(server: Server) -> dict[str, Any]:
    return _read(server)


def test_gdal_lists_the_collections_with_their_geometry_types(layers: dict[str, Any]) -> None:
    assert list(layers) == ["stations", "districts", "coverage", "gaps"]
    assert layers["stations"]["geometry_type"] == "Point"
    assert {layers[name]["geometry_type"] for name in ("districts", "coverage", "gaps")} == {"MultiPolygon"}
    assert all("4326" in str(layer["crs"]) or "CRS84" in str(layer["crs"]) for layer in layers.values())


def test_gdal_reads_every_station_with_its_attributes_and_point(layers: dict[str, Any]) -> None:
    records, points = _records(layers["stations"]), _shapes(layers["stations"])
    assert len(records) == len(STATIONS)
    expected = {row[0]: row for row in STATIONS}
    for record, point in zip(records, points, strict=True):
        row = expected[record["id"]]
        assert record["name"] == row[1]  # hostile names come through as text, unchanged
        assert record["types"] == row[2]
        assert record["opening_hours"] == (row[5] or None)
        assert (record["address"] or "") == row[11]
        for column, value in zip(AMENITY_COLUMNS, row[6:11], strict=True):
            assert record[column] == (value or None), column
        assert set(AMENITIES) <= set(record)
        assert (point.x, point.y) == pytest.approx(STATION_WGS84[record["id"]], abs=1e-7)


def test_gdal_reads_districts_coverage_and_gaps_as_the_planner_answers(server: Server, layers: dict[str, Any]) -> None:
    districts = server.get("/districts").json()["features"]
    boundaries = {f["properties"]["adcode"]: shapely.geometry.shape(f["geometry"]) for f in districts}
    for name in ("districts", "coverage"):
        records, shapes = _records(layers[name]), _shapes(layers[name])
        assert [r["adcode"] for r in records] == [f["properties"]["adcode"] for f in districts]
        assert [r["name"] for r in records] == [f["properties"]["name"] for f in districts]
        for record, shape in zip(records, shapes, strict=True):
            assert shape.symmetric_difference(boundaries[record["adcode"]]).area < 1e-9
    rows = server.get("/coverage").json()["districts"]  # the defaults: 1000 m, every type, 100 m cells
    for record, row in zip(_records(layers["coverage"]), rows, strict=True):
        assert record["covered_share"] == row["covered_share"]
        assert record["uncovered_km2"] == row["uncovered_km2"]
        assert (record["radius_m"], record["cell_m"]) == (1000.0, 100.0)
    gaps = server.get("/gaps", limit=1000).json()["features"]
    records, shapes = _records(layers["gaps"]), _shapes(layers["gaps"])
    assert len(records) == len(gaps) > 0
    for record, shape, gap in zip(records, shapes, gaps, strict=True):
        assert record["rank"] == gap["properties"]["rank"]
        assert record["area_km2"] == gap["properties"]["area_km2"]
        assert record["nearest_station_name"] == gap["properties"]["nearest_station_name"]
        assert shape.symmetric_difference(shapely.geometry.shape(gap["geometry"])).area < 1e-12


def test_gdal_reads_the_same_a_few_features_a_page(server: Server, layers: dict[str, Any]) -> None:
    paged = _read(server, page_size=2)
    for name, layer in layers.items():
        assert paged[name]["rows"] == layer["rows"], name
        assert paged[name]["wkb"] == layer["wkb"], name
