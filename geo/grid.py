"""A regular metric grid over a set of districts, in a local equal-area projection.

Why a metric grid rather than H3: every cell has the same area (``cell_m²``, exactly, because the
projection is equal-area), cells line up with a raster so connected gaps are a plain image labelling, the
cell size is any number of metres a planner asks for (H3 only offers fixed resolutions, ~7× apart), and
projecting to the plane is one pyproj call. The projection is Lambert azimuthal equal-area centred on the
districts: over a city-sized area (±150 km) lengths are within 0.03% of the true ground distances.

Cells belong to the district that contains their centre. Districts are rasterised exactly by scanlines
(even-odd rule over every ring's edges), which is far faster than a point-in-polygon test per cell.

>>> from shapely.geometry import box
>>> from geo.districts import Districts
>>> grid = Grid.build(Districts(["1"], ["square"], [box(120.0, 30.0, 120.01, 30.01)]), cell_m=100)
>>> grid.n_cells, round(grid.cell_area_km2, 4)
(110, 0.01)
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import numpy as np
import shapely
from numpy.typing import NDArray
from pyproj import Transformer

from geo.districts import Districts
from geo.errors import GridTooLarge as GridTooLarge  # re-exported: raised by Grid.build

G = TypeVar("G", bound=shapely.Geometry)
"""A geometry type, kept through a transformation."""

DEFAULT_MAX_CELLS = 20_000_000
"""Largest grid ``Grid.build`` allows unless told otherwise (cells); the app always passes its setting
(``Settings.max_cells`` for planning, ``Settings.national_max_cells`` for the national batch)."""


def _transformed(geometry: G, transformer: Transformer) -> G:
    return shapely.transform(geometry, lambda xy: np.column_stack(transformer.transform(xy[:, 0], xy[:, 1])))


def local_projection(lon: float, lat: float) -> str:
    """PROJ string of a Lambert azimuthal equal-area projection centred on (lon, lat), metres."""
    return f"+proj=laea +lat_0={lat:.6f} +lon_0={lon:.6f} +x_0=0 +y_0=0 +ellps=WGS84 +units=m +no_defs"


@dataclass(frozen=True, eq=False)
class Grid:
    """Cells (``cell_m`` square, in ``projection``) whose centres lie in one of ``districts``.

    ``raster`` holds, per row (south to north) and column (west to east), the position of the district
    owning the cell, or -1. The flat arrays ``row``, ``col``, ``x``, ``y``, ``district`` list only the
    cells inside some district, in raster order.
    """

    districts: Districts
    cell_m: float
    projection: str
    x0: float
    y0: float
    raster: NDArray[np.int16]
    district_area_km2: NDArray[np.float64]
    """Exact area of each district polygon (equal-area plane), km²."""

    @classmethod
    def build(cls, districts: Districts, cell_m: float, max_cells: int = DEFAULT_MAX_CELLS) -> Grid:
        """Rasterise ``districts`` at ``cell_m`` metres; GridTooLarge if more than ``max_cells`` raster cells."""
        if not np.isfinite(cell_m) or cell_m <= 0:
            raise ValueError(f"cell_m={cell_m!r}: must be a positive number of metres")
        union = shapely.union_all(districts.geometries)
        centre = union.centroid
        projection = local_projection(centre.x, centre.y)
        to_plane = Transformer.from_crs("EPSG:4326", projection, always_xy=True)
        planar = [_transformed(g, to_plane) for g in districts.geometries]
        west, south, east, north = shapely.total_bounds(planar)

        def cells_at(size: float) -> float:  # a float: a tiny size gives inf, not an overflow
            with np.errstate(over="ignore"):
                return float(np.ceil((east - west) / size)) * float(np.ceil((north - south) / size))

        if cells_at(cell_m) > max_cells:
            suggestion = float(np.ceil(np.sqrt((east - west) * (north - south) / max_cells)))
            while cells_at(suggestion) > max_cells:  # the rounding up of rows and columns can still overshoot
                suggestion += 1.0
            raise GridTooLarge(
                f"cell_m={cell_m:g} gives {cells_at(cell_m):,.0f} cells, more than the limit of {max_cells:,}; "
                f"use cell_m ≥ {suggestion:g}",
                cell_m=float(cell_m),
                suggested_cell_m=suggestion,
            )
        nx, ny = int(np.ceil((east - west) / cell_m)), int(np.ceil((north - south) / cell_m))
        raster = np.full((ny, nx), -1, dtype=np.int16)
        for position, geometry in enumerate(planar):
            row0, col0, inside = _scanline_fill(geometry, west, south, cell_m, nx, ny)
            window = raster[row0 : row0 + inside.shape[0], col0 : col0 + inside.shape[1]]  # a view
            window[inside & (window < 0)] = position
        area_km2 = shapely.area(planar) / 1e6
        return cls(districts, float(cell_m), projection, west, south, raster, area_km2)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, columns) of ``raster``."""
        rows, cols = self.raster.shape
        return rows, cols

    @property
    def cell_area_km2(self) -> float:
        """Area of one cell, km²."""
        return self.cell_m * self.cell_m / 1e6

    @cached_property
    def _flat(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        row, col = np.nonzero(self.raster >= 0)
        return row, col

    @property
    def n_cells(self) -> int:
        """Number of cells inside some district."""
        return int(self._flat[0].size)

    @property
    def row(self) -> NDArray[np.intp]:
        """Raster row of each inside cell (0 the southernmost)."""
        return self._flat[0]

    @property
    def col(self) -> NDArray[np.intp]:
        """Raster column of each inside cell (0 the westernmost)."""
        return self._flat[1]

    @cached_property
    def x(self) -> NDArray[np.float64]:
        """Projected x of each inside cell's centre, metres."""
        return (self.x0 + (self.col + 0.5) * self.cell_m).astype(np.float64, copy=False)  # float64 for the types

    @cached_property
    def y(self) -> NDArray[np.float64]:
        """Projected y of each inside cell's centre, metres."""
        return (self.y0 + (self.row + 0.5) * self.cell_m).astype(np.float64, copy=False)

    @cached_property
    def district(self) -> NDArray[np.int16]:
        """District position of each inside cell."""
        return self.raster[self.row, self.col]

    @cached_property
    def district_cells(self) -> NDArray[np.intp]:
        """Number of inside cells of each district."""
        return np.bincount(self.district, minlength=len(self.districts))

    @cached_property
    def inside(self) -> NDArray[np.bool_]:
        """Whether each raster cell lies inside some district (``raster >= 0``)."""
        return self.raster >= 0

    @cached_property
    def by_district(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Inside cells grouped by district: ``(order, bounds)``; district i's cells are
        ``order[bounds[i]:bounds[i + 1]]`` (positions into the flat arrays)."""
        order = np.argsort(self.district, kind="stable")
        counts = np.bincount(self.district, minlength=len(self.districts))
        return order, np.concatenate(([0], np.cumsum(counts)))

    @cached_property
    def _to_plane(self) -> Transformer:
        return Transformer.from_crs("EPSG:4326", self.projection, always_xy=True)

    @cached_property
    def _to_lonlat(self) -> Transformer:
        return Transformer.from_crs(self.projection, "EPSG:4326", always_xy=True)

    def project(
        self, lon: NDArray[np.float64], lat: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """WGS84 degrees → grid plane metres."""
        return self._to_plane.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))

    def unproject(
        self, x: NDArray[np.float64], y: NDArray[np.float64]
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Grid plane metres → WGS84 degrees."""
        return self._to_lonlat.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))

    def to_plane(self, geometry: G) -> G:
        """A WGS84 geometry in the grid plane (metres)."""
        return _transformed(geometry, self._to_plane)

    def to_lonlat(self, geometry: G) -> G:
        """A grid-plane geometry in WGS84 degrees."""
        return _transformed(geometry, self._to_lonlat)

    def cell_of(self, x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """(row, col) of the raster cell holding each planar point; -1 where outside the raster."""
        col_f = np.floor((np.asarray(x, dtype=float) - self.x0) / self.cell_m)
        row_f = np.floor((np.asarray(y, dtype=float) - self.y0) / self.cell_m)
        outside = ~(np.isfinite(col_f) & np.isfinite(row_f))
        outside |= (row_f < 0) | (row_f >= self.shape[0]) | (col_f < 0) | (col_f >= self.shape[1])
        row = np.where(outside, -1, row_f).astype(np.intp)
        col = np.where(outside, -1, col_f).astype(np.intp)
        return row, col


def _scanline_fill(
    geometry: shapely.Geometry, x0: float, y0: float, cell_m: float, nx: int, ny: int
) -> tuple[int, int, NDArray[np.bool_]]:
    """Raster cells whose centre lies inside ``geometry`` (even-odd over all rings), exactly: ``(row0, col0,
    inside)``, where ``inside`` is the window of the ``ny`` × ``nx`` raster from row ``row0`` and column ``col0``
    that holds every such cell (cells outside it are outside ``geometry``).

    Only the window is allocated and summed, so each district of a large grid costs its own bounding box
    rather than the whole raster (the 13 Hangzhou districts at 27,000,000 cells: 1.9 s -> 0.15 s, the same raster).
    """
    starts, ends = [], []
    for polygon in getattr(geometry, "geoms", [geometry]):
        for ring in (polygon.exterior, *polygon.interiors):
            xy = np.asarray(ring.coords)
            starts.append(xy[:-1])
            ends.append(xy[1:])
    a, b = np.concatenate(starts), np.concatenate(ends)
    low = np.minimum(a[:, 1], b[:, 1])
    high = np.maximum(a[:, 1], b[:, 1])
    # rows whose centre y_c satisfies low <= y_c < high (half-open: a vertex is counted once)
    first = np.ceil((low - y0) / cell_m - 0.5).astype(np.int64)
    last = np.ceil((high - y0) / cell_m - 0.5).astype(np.int64) - 1
    first, last = np.clip(first, 0, ny), np.clip(last, -1, ny - 1)
    spans = np.maximum(last - first + 1, 0)
    edge = np.repeat(np.arange(len(a)), spans)
    row = np.repeat(first, spans) + (np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans))
    y_c = y0 + (row + 0.5) * cell_m
    ax, ay, bx, by = a[edge, 0], a[edge, 1], b[edge, 0], b[edge, 1]
    x_cross = ax + (y_c - ay) * (bx - ax) / (by - ay)
    order = np.lexsort((x_cross, row))
    row, x_cross = row[order], x_cross[order]
    # crossings pair up per row (even-odd): cells with centre in [x_in, x_out) are inside
    enter, leave = slice(0, None, 2), slice(1, None, 2)
    col_in = np.clip(np.ceil((x_cross[enter] - x0) / cell_m - 0.5).astype(np.int64), 0, nx)
    col_out = np.clip(np.ceil((x_cross[leave] - x0) / cell_m - 0.5).astype(np.int64), 0, nx)
    if not row.size:
        return 0, 0, np.zeros((0, 0), dtype=np.bool_)
    # the window: every crossing's row, and the columns from the first entry to the last exit (a run ends
    # before its col_out); outside it no cell is inside
    row0, col0 = int(row[0]), int(col_in.min())
    marks = np.zeros((int(row[-1]) - row0 + 1, int(col_out.max()) - col0 + 1), dtype=np.int32)
    np.add.at(marks, (row[enter] - row0, col_in - col0), 1)
    np.add.at(marks, (row[leave] - row0, col_out - col0), -1)
    return row0, col0, np.cumsum(marks, axis=1, dtype=np.int32)[:, :-1] > 0
