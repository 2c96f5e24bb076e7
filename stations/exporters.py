"""Write stations as canonical CSV or RFC 7946 GeoJSON, in WGS84 or a Chinese map's coordinate system.

The CSV columns are the ones ``stations.importers`` reads, so an export imports back unchanged. Text cells
that a spreadsheet would run as a formula (starting with ``= + - @``) are prefixed with ``'``, which the
importers remove again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from geo.crs import CrsName, transform
from stations.model import AMENITIES, Station
from stations.navigation import navigation_links_many
from stations.snapshot import Nearby

CSV_COLUMNS: tuple[str, ...] = (
    "id", "name", "types", "host", "lon", "lat", "crs", "address", "adcode", "district", "opening_hours",
    "operating_status", "phone", "capacity", "area_m2", "photo_url", "verified_at", "source", *AMENITIES,
)  # fmt: skip
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def coordinates(stations: Sequence[Station], crs: CrsName = "wgs84") -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes of the stations in ``crs``, rounded to 7 decimals (~1 cm)."""
    lon, lat = transform([s.lon for s in stations], [s.lat for s in stations], "wgs84", crs)
    return lon.round(7), lat.round(7)


def station_properties(station: Station) -> dict[str, Any]:
    """A station's fields as JSON-ready properties (all but its coordinates); unknown amenities omitted."""
    return station.model_dump(mode="json", exclude={"lon", "lat"})


def station_feature(station: Station, lon: float, lat: float, extra: dict[str, Any] | None = None) -> dict:
    """One GeoJSON Feature with the station's properties plus ``extra``; lon/lat in the caller's CRS."""
    return {
        "type": "Feature",
        "id": station.id,
        "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
        "properties": {**station_properties(station), **(extra or {})},
    }


def feature_collection(features: Iterable[dict], crs: CrsName = "wgs84", **members: Any) -> dict:
    """A FeatureCollection; a non-WGS84 ``crs`` is stated in a ``coordinate_system`` foreign member."""
    collection: dict[str, Any] = {"type": "FeatureCollection", "coordinate_system": crs, **members}
    collection["features"] = list(features)
    return collection


def to_geojson(stations: Sequence[Station], crs: CrsName = "wgs84") -> dict:
    """Stations as a FeatureCollection (RFC 7946 when ``crs`` is WGS84)."""
    lon, lat = coordinates(stations, crs)
    return feature_collection((station_feature(s, x, y) for s, x, y in zip(stations, lon, lat, strict=True)), crs)


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(stations: Sequence[Station], crs: CrsName = "wgs84") -> str:
    """Stations as canonical CSV text (UTF-8; prepend a BOM yourself if Excel must open it directly)."""
    lon, lat = coordinates(stations, crs)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for station, x, y in zip(stations, lon, lat, strict=True):
        row = station.model_dump(mode="json")
        row.update(types=";".join(station.types), lon=repr(float(x)), lat=repr(float(y)), crs=crs)
        row.update({a: station.amenities.get(a, "") for a in AMENITIES})
        writer.writerow(
            _cell(row.get(column)) if column not in ("lon", "lat") else row[column] for column in CSV_COLUMNS
        )
    return out.getvalue()


def rider_features(stations: Sequence[Station], crs: CrsName = "wgs84", extras: Sequence[dict] | None = None) -> list:
    """Station Features for riders: coordinates in ``crs``, ``navigation`` links, plus per-station ``extras``."""
    lon, lat = coordinates(stations, crs)
    links = navigation_links_many([s.name for s in stations], [s.lon for s in stations], [s.lat for s in stations])
    extras = extras or [{}] * len(stations)
    return [
        station_feature(station, x, y, {**extra, "navigation": link})
        for station, x, y, extra, link in zip(stations, lon, lat, extras, links, strict=True)
    ]


def nearby_geojson(results: Sequence[Nearby], crs: CrsName = "wgs84", **members: Any) -> dict:
    """Nearest-station answers as a FeatureCollection, nearest first, each with ``distance_m`` (metres),
    ``open_status`` and ``navigation`` links for Amap, Baidu, Tencent and ``geo:``."""
    extras = [
        {
            "distance_m": round(r.distance_m, 1),
            "open_status": r.open_status,
            "closes_at": r.closes_at.isoformat() if r.closes_at else None,
        }
        for r in results
    ]
    return feature_collection(rider_features([r.station for r in results], crs, extras), crs, **members)


def table_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Rows of a table (dicts with the same keys) as CSV text; formula-like text cells are guarded."""
    out = io.StringIO()
    if rows:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows[0].keys())
        writer.writerows([_cell(v) if isinstance(v, str) else v for v in row.values()] for row in rows)
    return out.getvalue()


def table_xlsx(rows: Sequence[dict[str, Any]], sheet: str = "coverage") -> bytes:
    """Rows of a table as an XLSX workbook (numbers stay numbers; text cells are guarded against formulas)."""
    import openpyxl

    workbook = openpyxl.Workbook()
    worksheet = workbook.active
    worksheet.title = sheet
    if rows:
        worksheet.append(list(rows[0].keys()))
        for row in rows:
            worksheet.append([_cell(v) if isinstance(v, str) else v for v in row.values()])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
