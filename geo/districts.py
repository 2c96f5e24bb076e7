"""District (区县) boundaries: loading, and which district each point falls in.

A ``Districts`` object holds the adcodes, names and WGS84 polygons of a set of districts, read from a
GeoJSON FeatureCollection whose features carry ``adcode`` and ``name`` properties (the sample's
``data/hangzhou/districts.geojson`` is one).

>>> from shapely.geometry import box
>>> d = Districts(["330102"], ["上城区"], [box(120.1, 30.2, 120.2, 30.3)])
>>> d.locate([120.15, 121.0], [30.25, 30.25]).tolist()
[0, -1]
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from shapely.geometry.base import BaseGeometry

from geo.errors import DistrictFileError as DistrictFileError  # re-exported: raised by the readers


@dataclass(frozen=True)
class Districts:
    """Adcodes, names and polygons (WGS84) of districts, in file order."""

    adcodes: list[str]
    names: list[str]
    geometries: list[BaseGeometry]
    metadata: dict[str, Any] = field(default_factory=dict)
    _tree: shapely.STRtree = field(init=False, repr=False, compare=False)
    _prepared: NDArray[np.object_] = field(init=False, repr=False, compare=False)
    _prepared_lock: threading.Lock = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_tree", shapely.STRtree(self.geometries))
        # prepared copies for point-in-polygon (the public geometries stay as given); GEOS builds a prepared
        # geometry's indexes lazily on first use, which is not thread-safe, so tests run under a lock
        prepared = shapely.from_wkb(shapely.to_wkb(np.array(self.geometries, dtype=object)))
        shapely.prepare(prepared)
        object.__setattr__(self, "_prepared", prepared)
        object.__setattr__(self, "_prepared_lock", threading.Lock())

    def __len__(self) -> int:
        return len(self.adcodes)

    def __reduce__(self) -> tuple[type[Districts], tuple[Any, ...]]:
        """Pickled as its public fields (dask ships districts to workers); the tree, the prepared copies and
        their lock are rebuilt on arrival."""
        return (Districts, (self.adcodes, self.names, self.geometries, self.metadata))

    @classmethod
    def from_geojson(cls, path: str | Path) -> Districts:
        """Read a GeoJSON FeatureCollection with ``adcode`` and ``name`` properties on every feature."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise DistrictFileError(f"cannot read district file {path}: {exc}") from exc
        adcodes, names, geometries = [], [], []
        for number, feature in enumerate(data.get("features", []), start=1):
            props = feature.get("properties") or {}
            if "adcode" not in props or "name" not in props:
                raise DistrictFileError(f"{path}: feature {number} lacks an 'adcode' or 'name' property")
            geometry = shapely.geometry.shape(feature["geometry"])
            if not geometry.is_valid:
                geometry = shapely.make_valid(geometry)
            adcodes.append(str(props["adcode"]))
            names.append(str(props["name"]))
            geometries.append(geometry)
        if not adcodes:
            raise DistrictFileError(f"{path}: no district features")
        metadata = {key: value for key, value in data.items() if key not in ("type", "features")}
        return cls(adcodes, names, geometries, metadata)

    @classmethod
    def from_file(cls, path: str | Path) -> Districts:
        """Read districts from GeoJSON or any file GDAL reads (GeoPackage, Shapefile...) with ``adcode`` and
        ``name`` columns; other coordinate systems are converted to WGS84, invalid polygons repaired."""
        if Path(path).suffix.lower() in (".geojson", ".json"):
            return cls.from_geojson(path)
        import geopandas  # heavy; only non-GeoJSON district files need it

        try:
            frame = geopandas.read_file(path)
        except Exception as exc:  # pyogrio raises its own DataSourceError and friends
            raise DistrictFileError(f"cannot read district file {path}: {exc}") from exc
        missing = [column for column in ("adcode", "name") if column not in frame.columns]
        if missing:
            raise DistrictFileError(f"{path}: no {' or '.join(missing)} column; columns: {', '.join(frame.columns)}")
        if frame.empty:
            raise DistrictFileError(f"{path}: no district features")
        if frame.crs is not None and not frame.crs.equals("EPSG:4326"):
            frame = frame.to_crs("EPSG:4326")
        geometries = [g if g.is_valid else shapely.make_valid(g) for g in frame.geometry]
        return cls([str(a) for a in frame["adcode"]], [str(n) for n in frame["name"]], geometries)

    def subset(self, adcodes: Sequence[str]) -> Districts:
        """These districts only, in the order given (KeyError for an unknown adcode)."""
        positions = [self.position(adcode) for adcode in adcodes]
        return Districts(
            [self.adcodes[i] for i in positions],
            [self.names[i] for i in positions],
            [self.geometries[i] for i in positions],
            self.metadata,
        )

    def locate(self, lon: ArrayLike, lat: ArrayLike) -> NDArray[np.intp]:
        """Position of the district containing each point (borders count as inside), -1 where none does."""
        # an array of points: the stubs cannot tell 1-d arrays from scalars (Point | array)
        points = cast("NDArray[np.object_]", shapely.points(np.atleast_1d(lon), np.atleast_1d(lat)))
        none = len(self)
        result = np.full(len(points), none, dtype=np.intp)
        # boxes from the tree, then the exact test on prepared polygons: ~25x faster than the tree's own
        # "intersects" predicate, which tests each point against the unprepared polygon
        point_at, district_at = self._tree.query(points)
        with self._prepared_lock:
            inside = shapely.intersects(self._prepared[district_at], points[point_at])
        point_at, district_at = point_at[inside], district_at[inside]
        np.minimum.at(result, point_at, district_at)  # a point on a shared border: first district in file order
        result[result == none] = -1
        return result

    def position(self, adcode: str) -> int:
        """Position of ``adcode``; raises KeyError naming the valid adcodes when unknown."""
        try:
            return self.adcodes.index(adcode)
        except ValueError:
            raise KeyError(adcode) from None

    def to_feature_collection(self, properties: list[dict[str, Any]] | None = None) -> dict[str, Any]:
        """GeoJSON FeatureCollection of the districts, with optional extra properties per district."""
        features = []
        for i, (adcode, name, geometry) in enumerate(zip(self.adcodes, self.names, self.geometries, strict=True)):
            props = {"adcode": adcode, "name": name, **(properties[i] if properties else {})}
            features.append({"type": "Feature", "properties": props, "geometry": shapely.geometry.mapping(geometry)})
        return {"type": "FeatureCollection", **self.metadata, "features": features}
