"""The registry and the planner's answers as feature collections (OGC API – Features Part 1 Core, GeoJSON).

Four collections: ``stations`` (points), ``districts``, ``coverage`` (one row per district with its boundary)
and ``gaps`` (polygons). Each is a ``Source``: feature ids in a fixed order, each feature's bounds (and its
geometry), and a function that builds one GeoJSON Feature, so a page of 10 out of 100,000 stations builds 10
Features. ``Source.select`` finds the features whose geometry intersects a WGS84 box (CRS84 axis order: lon,
lat; a box with west > east crosses the antimeridian), ``page`` cuts a page out of them. Nothing here knows
HTTP: ``api.routes.ogc`` adds the links, media types and status codes.

Properties are flat (one value per column, as GIS layers want them): a station's ``types`` ``;``-joined and one
column per amenity, as the open-data CSV (``stations.exporters.CSV_COLUMNS``) without the coordinates.

>>> source = Source(["a", "b"], np.array([[120.0, 30.0, 120.0, 30.0], [121.0, 31.0, 121.0, 31.0]]), None,
...                 lambda i: {"id": i})
>>> source.select(parse_bbox("119.5,29.5,120.5,30.5")).tolist(), source.position("b")
([0], 1)
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from numpy.typing import NDArray

from stations.errors import InvalidValue
from stations.exporters import CSV_COLUMNS, station_rows
from stations.vocabulary import STATION_TYPES

if TYPE_CHECKING:
    from geo.districts import Districts
    from geo.gaps import Gap
    from stations.model import Station
    from stations.planning import CoverageReport
    from stations.snapshot import Snapshot, StationsAt

BBox = tuple[float, float, float, float]
"""(west, south, east, north), WGS84 degrees; west > east crosses the antimeridian."""
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
STATION_COLUMNS = tuple(column for column in CSV_COLUMNS if column not in ("lon", "lat", "crs"))
"""The properties of a station feature, in order (its point is the geometry)."""
GAPS_LIMIT = 1000
"""Most gaps the ``gaps`` collection holds, largest first (as ``GET /gaps``' largest ``limit``)."""


@dataclass(frozen=True)
class CollectionInfo:
    """What a collection is: its id, Chinese title and description (with the English), geometry type."""

    id: str
    title: str
    description: str
    geometry: str
    planning: bool = False
    """Computed by the planner (needs district boundaries; takes ``radius_m``, ``types``, ``cell_m``)."""


COLLECTIONS: dict[str, CollectionInfo] = {
    info.id: info
    for info in (
        CollectionInfo(
            "stations",
            "服务站 Stations",
            "全部服务站（含暂停、关闭的），属性同开放数据 CSV；every station, with the open-data CSV's columns.",
            "point",
        ),
        CollectionInfo(
            "districts",
            "区县 Districts",
            "区县边界及各类服务站数量（不含已关闭的）；district boundaries with serving stations per type.",
            "polygon",
        ),
        CollectionInfo(
            "coverage",
            "覆盖率 Coverage",
            "每个区县一行：服务半径内的面积占比、未覆盖面积、到最近服务站的距离。参数 radius_m（米，默认 1000）、"
            "types（默认全部类型）、cell_m（米，默认 100）；per-district coverage at radius_m/types/cell_m.",
            "polygon",
            planning=True,
        ),
        CollectionInfo(
            "gaps",
            "服务空白 Gaps",
            f"离所有服务站都超过服务半径的连片区域，按未覆盖需求（或面积）从大到小，至多 {GAPS_LIMIT} 个；参数同 "
            "coverage；areas farther than radius_m from every station, largest first.",
            "polygon",
            planning=True,
        ),
    )
}


def parse_bbox(text: str) -> BBox:
    """A ``bbox`` parameter: 4 numbers (west, south, east, north) or 6 (with heights, which are ignored),
    WGS84 longitude then latitude (CRS84).

    >>> parse_bbox("120.1,30.2,120.2,30.3")
    (120.1, 30.2, 120.2, 30.3)
    >>> parse_bbox("120,31,121,30")
    Traceback (most recent call last):
    ...
    stations.errors.InvalidValue: bbox='120,31,121,30': south must not be north of north
    """
    parts = text.split(",")
    try:
        numbers = [float(part) for part in parts]
    except ValueError:
        numbers = []
    if len(numbers) not in (4, 6) or not all(math.isfinite(n) for n in numbers):
        raise InvalidValue("bbox", text, "4 or 6 comma-separated numbers: west,south,east,north (CRS84 lon,lat)")
    west, south, east, north = numbers if len(numbers) == 4 else (numbers[0], numbers[1], numbers[3], numbers[4])
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= 90 and -90 <= north <= 90):
        raise InvalidValue("bbox", text, "longitudes must be within -180..180 and latitudes within -90..90")
    if south > north:
        raise InvalidValue("bbox", text, "south must not be north of north")
    return west, south, east, north


def _boxes(bbox: BBox) -> list[BBox]:
    """``bbox`` as boxes with west ≤ east (two when it crosses the antimeridian)."""
    west, south, east, north = bbox
    return [bbox] if west <= east else [(west, south, 180.0, north), (-180.0, south, east, north)]


@dataclass(frozen=True)
class Source:
    """The features of one collection, in their order.

    Parameters
    ----------
    ids
        Feature ids (``id`` of each Feature), in order.
    bounds
        (n, 4) array of each feature's (min lon, min lat, max lon, max lat).
    geometries
        Each feature's shapely geometry (WGS84), or None when every feature is a point (its bounds).
    feature
        Position → the GeoJSON Feature.
    """

    ids: Sequence[str | int]
    bounds: NDArray[np.float64]
    geometries: NDArray[np.object_] | None
    feature: Callable[[int], dict[str, Any]]

    def __len__(self) -> int:
        return len(self.ids)

    def select(self, bbox: BBox | None) -> NDArray[np.intp]:
        """Positions of the features whose geometry intersects ``bbox`` (edges included), in order; all
        without a box."""
        if bbox is None or len(self) == 0:
            return np.arange(len(self), dtype=np.intp)
        bounds = self.bounds.reshape(-1, 4)
        chosen = np.zeros(len(self), dtype=bool)
        for west, south, east, north in _boxes(bbox):
            near = (bounds[:, 0] <= east) & (bounds[:, 2] >= west) & (bounds[:, 1] <= north) & (bounds[:, 3] >= south)
            if self.geometries is not None and near.any():  # boxes overlap: the exact test on those only
                candidates = np.flatnonzero(near)
                exact = shapely.intersects(self.geometries[candidates], shapely.box(west, south, east, north))
                near[candidates] = exact
            chosen |= near
        return np.flatnonzero(chosen)

    def position(self, fid: str) -> int | None:
        """Position of the feature with id ``fid`` (compared as text), or None."""
        for i, known in enumerate(self.ids):
            if str(known) == fid:
                return i
        return None


@dataclass(frozen=True)
class Page:
    """A page of features: those of ``positions[offset:offset + limit]`` and how many matched in all."""

    features: list[dict[str, Any]]
    number_matched: int
    offset: int
    limit: int

    @property
    def has_next(self) -> bool:
        """More features follow this page."""
        return self.offset + len(self.features) < self.number_matched


def page(source: Source, bbox: BBox | None, limit: int, offset: int) -> Page:
    """Features ``offset`` to ``offset + limit`` of those intersecting ``bbox``."""
    positions = source.select(bbox)
    chosen = positions[offset : offset + limit]
    return Page([source.feature(int(i)) for i in chosen], len(positions), offset, limit)


def extent(source: Source) -> BBox | None:
    """The box around every feature, or None for an empty collection."""
    if len(source) == 0:
        return None
    bounds = source.bounds.reshape(-1, 4)
    return (
        float(bounds[:, 0].min()),
        float(bounds[:, 1].min()),
        float(bounds[:, 2].max()),
        float(bounds[:, 3].max()),
    )


# -- the sources ------------------------------------------------------------------------------------------------

_station_points: weakref.WeakKeyDictionary[Snapshot, tuple[list[str], NDArray[np.float64]]] = (
    weakref.WeakKeyDictionary()
)
"""Each snapshot's station ids and bounds by id, kept with it (nothing in them refers back to the snapshot)."""


def station_source(snapshot: Snapshot) -> Source:
    """Every station of ``snapshot`` by id, as points (ids and bounds kept per snapshot: a new registry version
    builds anew); each Feature built from the snapshot when asked for."""
    stations = snapshot.by_id()
    kept = _station_points.get(snapshot)
    if kept is None:
        lon, lat = stations.lon, stations.lat
        kept = _station_points[snapshot] = (stations.ids, np.column_stack([lon, lat, lon, lat]))
    return _points(stations, *kept)


def _points(stations: StationsAt, ids: list[str], bounds: NDArray[np.float64]) -> Source:
    def feature(i: int) -> dict[str, Any]:
        (row,) = station_rows([stations[i]])
        return {
            "type": "Feature",
            "id": stations[i].id,
            "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
            "properties": {column: row[column] for column in STATION_COLUMNS},
        }

    return Source(ids, bounds, None, feature)


def _polygons(ids: Sequence[str | int], geometries: Sequence[Any], properties: Sequence[dict[str, Any]]) -> Source:
    shapes = np.array(list(geometries), dtype=object)
    bounds = shapely.bounds(shapes) if len(shapes) else np.zeros((0, 4))

    def feature(i: int) -> dict[str, Any]:
        geometry = shapely.geometry.mapping(shapes[i])
        return {"type": "Feature", "id": ids[i], "geometry": geometry, "properties": properties[i]}

    return Source(list(ids), np.asarray(bounds, dtype=float), shapes, feature)


def district_source(districts: Districts, snapshot: Snapshot) -> Source:
    """Each district (adcode, name) with its serving stations per type (``stations_<type>``)."""
    counts = snapshot.counts_by_adcode(include_closed=False)
    properties = []
    for adcode, name in zip(districts.adcodes, districts.names, strict=True):
        per_type = counts.get(adcode, dict.fromkeys(STATION_TYPES, 0))
        properties.append({"adcode": adcode, "name": name, **{f"stations_{k}": per_type[k] for k in STATION_TYPES}})
    return _polygons(districts.adcodes, districts.geometries, properties)


def coverage_source(districts: Districts, report: CoverageReport) -> Source:
    """One feature per district: its row of ``report.rows()`` (the ``/coverage`` table), the question asked
    (``radius_m``, ``types``, ``cell_m``) and the registry version, with the district's boundary."""
    request = report.request
    asked = {
        "radius_m": request.radius_m,
        "types": ";".join(request.types or STATION_TYPES),
        "cell_m": request.cell_m,
        "registry_version": report.version,
    }
    rows = report.rows()
    geometries = [districts.geometries[districts.position(row["adcode"])] for row in rows]
    return _polygons([row["adcode"] for row in rows], geometries, [{**row, **asked} for row in rows])


def gap_source(gaps: Sequence[Gap], stations: Sequence[Station]) -> Source:
    """One feature per gap (id: its rank) with the properties of ``GET /gaps``, the centroid as two columns;
    every geometry a MultiPolygon."""
    from stations.planning import gap_features

    properties = []
    for feature in gap_features(gaps, stations)["features"]:
        values = dict(feature["properties"])
        lon, lat = values.pop("centroid")
        properties.append({**values, "centroid_lon": lon, "centroid_lat": lat})
    shapes = [shapely.MultiPolygon([g]) if isinstance(g, shapely.Polygon) else g for g in (x.polygon for x in gaps)]
    return _polygons([gap.rank for gap in gaps], shapes, properties)  # one geometry type, for GIS layers
