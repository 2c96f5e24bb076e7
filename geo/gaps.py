"""Service gaps: connected uncovered cells of one district, ranked by the demand (or area) they leave out.

Cells touching by an edge or a corner (8-connectivity) form one gap; a gap never crosses a district
border, so each gap has one district to answer for it. Polygons are built only for the gaps asked for:
each raster row's runs of uncovered cells become rectangles, merged with shapely.

>>> from shapely.geometry import box
>>> from geo.coverage import compute_coverage
>>> from geo.districts import Districts
>>> from geo.grid import Grid
>>> grid = Grid.build(Districts(["1"], ["strip"], [box(120.0, 30.0, 120.05, 30.01)]), cell_m=100)
>>> gaps = find_gaps(compute_coverage(grid, [120.025], [30.005], radius_m=1000), [120.025], [30.005])
>>> [(g.rank, round(g.area_km2, 1)) for g in gaps]  # the circle splits the strip into a west and an east gap
[(1, 1.6), (2, 1.6)]
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import shapely
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage
from shapely.geometry.base import BaseGeometry

from geo.coverage import Coverage, nearest_distance_m
from geo.grid import Grid
from geo.index import NearestIndex

_EIGHT_NEIGHBOURS = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class Gap:
    """One gap: where it is, how big, how much demand it leaves out, and the nearest existing station."""

    rank: int
    adcode: str
    district: str
    cells: int
    area_km2: float
    demand: float | None
    centroid_lon: float
    centroid_lat: float
    nearest_station: int
    """Position of the nearest station in the arrays given to ``find_gaps`` (-1 when there is none)."""
    nearest_station_m: float
    """Great-circle distance from the centroid to that station, metres."""
    _polygon: BaseGeometry | Callable[[], BaseGeometry] = field(compare=False, repr=False)
    """The polygon, or how to build it: ``find_gaps`` leaves it to the first use of ``polygon``."""
    _label: LabelPoint | Callable[[], LabelPoint] | None = field(default=None, compare=False, repr=False)
    """The label point, or how to find it (``find_gaps``: on first use of ``label``); None: not known."""

    @property
    def label(self) -> LabelPoint | None:
        """A point inside the gap farther than the radius from every station (the centroid may be neither): where
        a map puts the gap's number; found on first use."""
        label = self._label
        if callable(label):
            label = label()
            object.__setattr__(self, "_label", label)  # a cache, as for the polygon
        return label

    @property
    def polygon(self) -> BaseGeometry:
        """The gap's cells merged, WGS84; built on first use (most of a gap list's cost is its big polygons,
        and a table or a count never needs them)."""
        polygon = self._polygon
        if callable(polygon):
            polygon = polygon()
            object.__setattr__(self, "_polygon", polygon)  # a cache: frozen for everything else
        return polygon


@dataclass(frozen=True)
class LabelPoint:
    """Where to label a gap (WGS84): a cell centre of the gap, farthest from its edge (the raster pole of
    inaccessibility), then from the stations, with the nearest station and its distance in the grid plane,
    metres (the distance coverage decides by, so it is more than the radius)."""

    lon: float
    lat: float
    nearest_station: int
    nearest_station_m: float


def _gap_label(
    coverage: Coverage, labels: _WindowLabels, label: int, station_lon: ArrayLike, station_lat: ArrayLike
) -> LabelPoint:
    """The label point of the gap labelled ``label`` (``_label_windows``'s labels)."""
    grid = coverage.grid
    positions = np.flatnonzero(labels.raster()[grid.inside] == label)
    rows, cols = grid.row[positions], grid.col[positions]
    mask = np.zeros((rows.max() - rows.min() + 3, cols.max() - cols.min() + 3), dtype=bool)  # a border of 1
    mask[rows - rows.min() + 1, cols - cols.min() + 1] = True
    interior = mask.copy()
    interior[1:-1, 1:-1] &= mask[:-2, 1:-1] & mask[2:, 1:-1] & mask[1:-1, :-2] & mask[1:-1, 2:]
    depth = ndimage.distance_transform_edt(interior)[rows - rows.min() + 1, cols - cols.min() + 1]
    deepest = positions[depth == depth.max()]
    sx, sy = grid.project(np.atleast_1d(np.asarray(station_lon, float)), np.atleast_1d(np.asarray(station_lat, float)))
    # among the deepest cells, the farthest from the stations (the first such in raster order on ties)
    if coverage._distance is not None:
        far = coverage._distance[deepest]
    else:
        far, _ = nearest_distance_m(sx, sy, grid.x[deepest], grid.y[deepest])
    best = deepest[int(np.argmax(far))]
    distance, nearest = nearest_distance_m(sx, sy, grid.x[best : best + 1], grid.y[best : best + 1])
    lon, lat = grid.unproject(grid.x[best : best + 1], grid.y[best : best + 1])
    return LabelPoint(float(lon[0]), float(lat[0]), int(nearest[0]), float(distance[0]))


_Window = tuple[tuple[slice, ...], NDArray[np.bool_]]
"""A district's bounding window of the raster and its cells in that window."""

_WINDOWS: weakref.WeakKeyDictionary[Grid, list[_Window | None]] = weakref.WeakKeyDictionary()


def _district_windows(grid: Grid) -> list[_Window | None]:
    """Per district (None without cells): its bounding window of the raster and its cells in that window;
    built once per grid."""
    cached = _WINDOWS.get(grid)
    if cached is None:
        found = ndimage.find_objects(grid.raster.astype(np.int32) + 1, max_label=len(grid.districts))
        cached = [None if w is None else (w, grid.raster[w] == position) for position, w in enumerate(found)]
        _WINDOWS[grid] = cached
    return cached


@dataclass(frozen=True, eq=False)
class _WindowLabels:
    """Gap labels as each district's window labelled them: (window, local labels 1..n with 0 elsewhere, the
    offset that makes them global, n) per district asked for; ``count`` gaps in all, ``owners[label - 1]`` the
    district of global label ``label``."""

    shape: tuple[int, int]
    windows: list[tuple[tuple[slice, ...], NDArray[np.int32], int, int]]
    count: int
    owners: NDArray[np.intp]
    _raster: NDArray[np.int32] | None = field(default=None, repr=False)

    def raster(self) -> NDArray[np.int32]:
        """Global labels over the raster (0: covered, outside or not asked for); built on first use."""
        if self._raster is None:
            raster = np.zeros(self.shape, dtype=np.int32)
            for window, local, offset, _ in self.windows:
                np.add(local, offset, out=raster[window], where=local > 0)  # districts' cells never overlap
            object.__setattr__(self, "_raster", raster)  # a cache, as for Gap.polygon
            return raster
        return self._raster

    def sums(self) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """``_label_sums`` of the global labels, window by window."""
        cells = np.zeros(self.count, dtype=np.int64)
        sum_row, sum_col = np.zeros(self.count), np.zeros(self.count)
        for window, local, offset, n in self.windows:
            c, r, k = _label_sums(local, n)
            cells[offset : offset + n] = c
            sum_row[offset : offset + n] = r + c * (window[0].start or 0)
            sum_col[offset : offset + n] = k + c * (window[1].start or 0)
        return cells, sum_row, sum_col

    def at(self, rows: NDArray[np.intp], cols: NDArray[np.intp]) -> NDArray[np.int32]:
        """Global label at raster cells (rows, cols)."""
        found = np.zeros(rows.size, dtype=np.int32)
        for window, local, offset, _ in self.windows:
            r0, c0 = window[0].start or 0, window[1].start or 0
            r, c = rows - r0, cols - c0
            inside = (r >= 0) & (r < local.shape[0]) & (c >= 0) & (c < local.shape[1])
            value = local[r[inside], c[inside]]
            found[np.flatnonzero(inside)[value > 0]] = value[value > 0] + offset
        return found


def _label_windows(coverage: Coverage, adcode: str | None) -> _WindowLabels:
    """Each district's uncovered cells labelled in its window (8-connectivity, never across a border)."""
    grid = coverage.grid
    covered = coverage.covered_raster()
    windows = _district_windows(grid)
    wanted = range(len(grid.districts)) if adcode is None else [grid.districts.position(adcode)]
    labelled: list[tuple[tuple[slice, ...], NDArray[np.int32], int, int]] = []
    owners: list[int] = []
    for position in wanted:
        entry = windows[position]
        if entry is None:
            continue
        window, mine = entry
        local, count = ndimage.label(mine & ~covered[window], structure=_EIGHT_NEIGHBOURS)
        if count:
            labelled.append((window, local.astype(np.int32, copy=False), len(owners), count))
            owners.extend([position] * count)
    return _WindowLabels(grid.shape, labelled, len(owners), np.array(owners, dtype=np.intp))


def _label_raster(coverage: Coverage, adcode: str | None) -> tuple[NDArray[np.int32], int, NDArray[np.intp]]:
    """Gap label of each raster cell (0: covered, outside or not asked for), the number of gaps, and each
    gap's district position (index = label - 1)."""
    labels = _label_windows(coverage, adcode)
    return labels.raster(), labels.count, labels.owners


def _label_sums(
    labels: NDArray[np.int32], count: int
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Per gap label 1..count (index = label - 1): its cells and the sums of their rows and of their columns,
    from the runs of equal labels along the raster rows (a run of columns c0..c1 adds its length and
    (c0 + c1) / 2 per cell) — far fewer runs than cells."""
    ny, nx = labels.shape
    change = np.empty((ny, nx), dtype=bool)
    change[:, 0] = True
    np.not_equal(labels[:, 1:], labels[:, :-1], out=change[:, 1:])
    starts = np.flatnonzero(change)
    label = labels.ravel()[starts]
    length = np.diff(np.append(starts, labels.size))
    keep = label > 0
    starts, label, length = starts[keep], label[keep], length[keep]
    row, first = np.divmod(starts, nx)
    cells = np.bincount(label, weights=length, minlength=count + 1)[1:].astype(np.int64)
    sum_row = np.bincount(label, weights=length * row, minlength=count + 1)[1:].astype(np.float64)
    col_weight = length * (first + (length - 1) / 2)
    sum_col = np.bincount(label, weights=col_weight, minlength=count + 1)[1:].astype(np.float64)
    return cells, sum_row, sum_col


def _label_gaps(coverage: Coverage, adcode: str | None) -> tuple[NDArray[np.int32], int, NDArray[np.intp]]:
    """Gap label of each inside cell (0: covered or not asked for), the number of gaps, and each gap's
    district position (index = label - 1)."""
    labels, count, owners = _label_raster(coverage, adcode)
    return labels[coverage.grid.inside], count, owners


def _polygon(coverage: Coverage, rows: NDArray[np.intp], cols: NDArray[np.intp]) -> BaseGeometry:
    """Union of the cells, built from one rectangle per run of consecutive cells in a row, WGS84."""
    grid = coverage.grid
    order = np.lexsort((cols, rows))
    rows, cols = rows[order], cols[order]
    breaks = np.flatnonzero((np.diff(rows) != 0) | (np.diff(cols) != 1)) + 1
    starts = np.concatenate(([0], breaks))
    ends = np.concatenate((breaks, [rows.size])) - 1
    run_row, first, last = rows[starts], cols[starts], cols[ends]
    # stack runs spanning the same columns in consecutive rows into one taller rectangle: fewer to union
    order = np.lexsort((run_row, last, first))
    run_row, first, last = run_row[order], first[order], last[order]
    new_block = np.concatenate(([True], (first[1:] != first[:-1]) | (last[1:] != last[:-1]) | (np.diff(run_row) != 1)))
    block = np.cumsum(new_block) - 1
    top = np.zeros(block[-1] + 1, dtype=np.intp)
    np.maximum.at(top, block, run_row)
    x_min = grid.x0 + first[new_block] * grid.cell_m
    x_max = grid.x0 + (last[new_block] + 1) * grid.cell_m
    y_min = grid.y0 + run_row[new_block] * grid.cell_m
    y_max = grid.y0 + (top + 1) * grid.cell_m
    planar = shapely.union_all(shapely.box(x_min, y_min, x_max, y_max))
    return grid.to_lonlat(planar)


def _gap_polygon(coverage: Coverage, labels: _WindowLabels, label: int) -> BaseGeometry:
    """The polygon of the gap labelled ``label`` (``_label_windows``'s labels), WGS84."""
    rows, cols = np.nonzero(labels.raster() == label)
    return _polygon(coverage, rows.astype(np.intp), cols.astype(np.intp))


def find_gaps(
    coverage: Coverage,
    station_lon: ArrayLike,
    station_lat: ArrayLike,
    *,
    adcode: str | None = None,
    limit: int | None = 20,
    min_cells: int = 1,
) -> list[Gap]:
    """Gaps of ``coverage`` (optionally of one district), largest uncovered demand first (area when there
    is no demand, and to break ties), at most ``limit`` of them. Stations are the ones coverage used."""
    grid = coverage.grid
    labels = _label_windows(coverage, adcode)
    count, owners = labels.count, labels.owners
    if count == 0:
        return []
    cells, sum_row, sum_col = labels.sums()
    demand = None
    if coverage.demand_cell is not None and coverage.demand_weight is not None:
        at = labels.at(*coverage.demand_cell)
        demand = np.bincount(at, weights=coverage.demand_weight, minlength=count + 1)[1:]
    keys = (cells,) if demand is None else (cells, demand)
    ranked = np.lexsort(tuple(-k for k in keys))  # last key is primary: demand first, then area
    ranked = ranked[cells[ranked] >= min_cells][:limit]
    if ranked.size == 0:
        return []

    # the mean of the gap's cell centres
    mean_x = grid.x0 + (sum_col[ranked] / cells[ranked] + 0.5) * grid.cell_m
    mean_y = grid.y0 + (sum_row[ranked] / cells[ranked] + 0.5) * grid.cell_m
    c_lon, c_lat = grid.unproject(mean_x, mean_y)
    # the nearest station is reported like every other distance in Yizhan: great-circle metres
    nearest, nearest_m = NearestIndex(station_lon, station_lat).query_many(c_lon, c_lat, k=1)

    gaps = []
    rows_of = zip(ranked, c_lon, c_lat, nearest[:, 0], nearest_m[:, 0], strict=True)
    for rank, (label, lon, lat, station, distance) in enumerate(rows_of, start=1):
        gaps.append(
            Gap(
                rank=rank,
                adcode=grid.districts.adcodes[owners[label]],
                district=grid.districts.names[owners[label]],
                cells=int(cells[label]),
                area_km2=float(cells[label] * grid.cell_area_km2),
                demand=None if demand is None else float(demand[label]),
                centroid_lon=float(lon),
                centroid_lat=float(lat),
                nearest_station=int(station),
                nearest_station_m=float(distance),
                _polygon=partial(_gap_polygon, coverage, labels, int(label) + 1),
                _label=partial(_gap_label, coverage, labels, int(label) + 1, station_lon, station_lat),
            )
        )
    return gaps
