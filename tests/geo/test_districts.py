"""District files: GeoJSON and GeoPackage, other CRSs, invalid polygons, missing columns."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas
import pytest
from shapely.geometry import Polygon, box

from geo.districts import DistrictFileError, Districts


def _frame(names: list[str], geometries: list, crs: str = "EPSG:4326") -> geopandas.GeoDataFrame:
    return geopandas.GeoDataFrame(
        {"adcode": ["330102", "330106"][: len(names)], "name": names}, geometry=geometries, crs=crs
    )


def test_geopackage_in_another_crs_reads_as_wgs84(tmp_path: Path) -> None:
    frame = _frame(["上城区", "西湖区"], [box(120.1, 30.2, 120.2, 30.3), box(120.0, 30.2, 120.1, 30.3)])
    path = tmp_path / "districts.gpkg"
    frame.to_crs("EPSG:3857").to_file(path, driver="GPKG")
    districts = Districts.from_file(path)
    assert districts.adcodes == ["330102", "330106"] and districts.names == ["上城区", "西湖区"]
    assert districts.locate([120.15, 120.05, 121.0], [30.25, 30.25, 30.25]).tolist() == [0, 1, -1]
    assert districts.geometries[0].bounds == pytest.approx((120.1, 30.2, 120.2, 30.3), abs=1e-9)


def test_invalid_polygons_are_repaired(tmp_path: Path) -> None:
    bowtie = Polygon([(120.0, 30.0), (120.1, 30.1), (120.1, 30.0), (120.0, 30.1)])  # self-intersecting
    path = tmp_path / "d.gpkg"
    _frame(["蝴蝶"], [bowtie]).to_file(path, driver="GPKG")
    (geometry,) = Districts.from_file(path).geometries
    assert geometry.is_valid and geometry.area == pytest.approx(bowtie.buffer(0).area + 0.005, rel=0.5)


def test_missing_columns_and_unreadable_files_say_why(tmp_path: Path) -> None:
    path = tmp_path / "d.gpkg"
    geopandas.GeoDataFrame({"code": ["1"]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4326").to_file(path, driver="GPKG")
    with pytest.raises(DistrictFileError, match="no adcode or name column"):
        Districts.from_file(path)
    broken = tmp_path / "broken.gpkg"
    broken.write_bytes(b"not a geopackage")
    with pytest.raises(DistrictFileError, match="cannot read"):
        Districts.from_file(broken)
    geojson = tmp_path / "d.geojson"
    feature = {"type": "Feature", "properties": {"adcode": "1"}, "geometry": {"type": "Point", "coordinates": [0, 0]}}
    geojson.write_text(json.dumps({"type": "FeatureCollection", "features": [feature]}))
    with pytest.raises(DistrictFileError, match="lacks an 'adcode' or 'name'"):
        Districts.from_file(geojson)
