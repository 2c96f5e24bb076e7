"""Hot spots: the unserved demand of the gaps, grouped into pieces that one new station could serve.

A gap (``geo.gaps``) of 700 km² is no place to act: no single station closes it. Hot spots answer where to act.
The unserved demand (demand points farther than ``radius_m`` from every station, as the coverage table counts
them; without a demand layer, the uncovered cells, gathered in squares of a quarter radius and weighted by
area, km²) is split by gap, and within each gap a greedy set cover picks suggested sites one at a time, each
the candidate that serves the most demand not yet served, until all of it is served. A hot spot is the demand
its site took: every piece of it lies within ``radius_m`` of the site, no piece is in two hot spots, and the
hot spots together hold all the unserved demand (a partition). Candidates are demand units themselves (one a
square of half the radius, the unit nearest the square's weighted centre), so a site always stands where the
unserved demand is, and every unit can be served by its own square's candidate.

Each gap is then reported with how many stations it would take to serve its demand (the greedy count: a
feasible plan) and a proven lower bound (units pairwise more than 2 × radius apart cannot share a station: a
greedy packing of the candidates, and one unit per occupied square of a 2 × radius lattice of one parity;
without a demand layer also area / (π (radius + unit diagonal)²)).

Label points are points a map or table can show: each lies inside its gap (a gap cell's centre, or a demand
point in a gap cell) and farther than ``radius_m`` from every station. A gap's label is its raster pole of
inaccessibility (the cell farthest from the gap's edge, then farthest from a station); a hot spot's is its
unserved demand farthest from a station. Distances to the nearest station are metres in the grid's plane, the
distances coverage decides by (within ~0.5% of great-circle metres: the plane is on the ellipsoid, great circles
on a sphere), so "beyond the radius" means what "uncovered" means.

>>> from shapely.geometry import box
>>> from geo.districts import Districts
>>> from geo.grid import Grid
>>> from geo.coverage import compute_coverage
>>> grid = Grid.build(Districts(["1"], ["strip"], [box(120.0, 30.0, 120.2, 30.01)]), cell_m=100)
>>> found = find_hotspots(compute_coverage(grid, [120.1], [30.005], radius_m=1000), [120.1], [30.005])
>>> [(g.cells, g.stations, g.stations_at_least) for g in found.gaps]  # 10 km² west and east of the station
[(959, 9, 5), (958, 8, 4)]
>>> round(sum(h.demand for h in found.spots), 2) == round(found.unserved, 2), found.weight_unit
(True, 'km²')
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import ndimage, sparse
from scipy.spatial import cKDTree

from geo.coverage import Coverage, Demand, nearest_distance_m
from geo.gaps import _label_gaps
from geo.grid import Grid

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


@dataclass(frozen=True, eq=False)
class HotSpot:
    """Unserved demand one new station at (``site_lon``, ``site_lat``) would serve; WGS84, metres, km²."""

    rank: int
    """1 for the hot spot serving the most demand (greedy order: each serves the most of what was left)."""
    gap_rank: int | None
    """Rank of its gap among all gaps (as ``geo.gaps.find_gaps`` ranks them); None for demand just beyond
    the radius in a cell whose centre is covered (no gap holds it)."""
    adcode: str
    district: str
    demand: float
    """Unserved demand it holds, in ``HotSpots.weight_unit`` (demand units, or km² without a demand layer)."""
    units: int
    """Demand points (or squares of uncovered cells) it holds."""
    members: Ints
    """What it holds: positions in the demand layer's arrays, or (without one) positions of its cells in the
    grid's flat arrays (``Grid.x``...)."""
    area_km2: float
    """Gap area its site would newly bring within the radius (cells not counted for a higher-ranked hot spot)."""
    site_lon: float
    site_lat: float
    reach_m: float
    """Farthest of its demand from the site, metres in the grid plane (≤ the radius)."""
    label_lon: float
    label_lat: float
    nearest_station: int
    """Position of the station nearest the label point in the arrays given (-1 when there is none)."""
    nearest_station_m: float
    """Distance from the label point to that station in the grid plane (> the radius), metres."""
    gap_stations: int
    """Hot spots (suggested stations) its gap needs in all."""


@dataclass(frozen=True)
class GapNeed:
    """One gap with what it would take to serve its unserved demand."""

    gap_rank: int | None
    adcode: str
    district: str
    cells: int
    area_km2: float
    """Area of the gap (0 for the demand that lies in no gap)."""
    demand: float
    """Unserved demand in it, in ``HotSpots.weight_unit``."""
    stations: int
    """Stations the greedy plan uses to serve all of it (its hot spots)."""
    stations_at_least: int
    """A proven lower bound on the stations needed."""
    label_lon: float
    label_lat: float
    nearest_station: int
    nearest_station_m: float
    """Distance from the label point to the nearest station in the grid plane (> the radius), metres."""


@dataclass(frozen=True)
class HotSpots:
    """Every hot spot (rank order) and every gap's needs (largest demand first), with the totals."""

    spots: list[HotSpot]
    gaps: list[GapNeed]
    unserved: float
    """All unserved demand (the hot spots' demands sum to it)."""
    weight_unit: str
    """``demand`` (the demand layer's weights) or ``km²`` (uncovered area)."""
    radius_m: float


def find_hotspots(
    coverage: Coverage,
    station_lon: ArrayLike,
    station_lat: ArrayLike,
    demand: Demand | None = None,
    *,
    adcode: str | None = None,
) -> HotSpots:
    """Hot spots of ``coverage`` (optionally of one district); ``demand`` the layer coverage was computed with
    (None: the uncovered area is the demand). Stations are the ones coverage used, WGS84."""
    grid, radius = coverage.grid, coverage.radius_m
    flat_labels, count, owners = _label_gaps(coverage, adcode)
    labels = np.zeros(grid.shape, dtype=np.int32)
    labels[grid.row, grid.col] = flat_labels
    distance = coverage.raster()
    s_lon, s_lat = np.atleast_1d(np.asarray(station_lon, float)), np.atleast_1d(np.asarray(station_lat, float))
    sx, sy = grid.project(s_lon, s_lat)
    wanted = None if adcode is None else grid.districts.position(adcode)

    if demand is not None:
        units, (source, bounds) = _demand_units(coverage, demand, labels, distance, sx, sy, wanted)
        square_m = 0.0
    else:
        square_m = max(grid.cell_m, radius / 4)
        units, (source, bounds) = _area_units(coverage, labels, distance, square_m)
    ux, uy, weight, group, district, label_x, label_y, label_d = units

    # candidates a quarter radius apart among demand points; among area squares (already a quarter radius) half
    spacing = radius / 4 if demand is not None else radius / 2
    sites, members, packed = _greedy_partition(ux, uy, weight, group, radius, spacing)
    gap_ranks = _gap_ranks(coverage, flat_labels, count)
    index = _PlaneIndex(sx, sy)

    # hot spots, in greedy order; each labelled by its unit whose label candidate is farthest from a station
    site = np.array(sites, dtype=np.intp)
    best = np.array([chosen[np.argmax(label_d[chosen])] for chosen in members], dtype=np.intp)
    label_lon, label_lat = grid.unproject(label_x[best], label_y[best])
    nearest, nearest_m = index.query(label_x[best], label_y[best])
    site_lon, site_lat = grid.unproject(ux[site], uy[site])
    spot_groups = group[site]
    keys, per_group = np.unique(spot_groups, return_counts=True)
    stations_of = dict(zip(keys.tolist(), per_group.tolist(), strict=True))
    claimed = np.zeros(grid.shape, dtype=bool)
    spots = []
    for k, (j, chosen) in enumerate(zip(site, members, strict=True)):
        g = int(group[j])
        reach = float(np.hypot(ux[chosen] - ux[j], uy[chosen] - uy[j]).max())
        area = _newly_within(grid, labels, claimed, float(ux[j]), float(uy[j]), radius, g) * grid.cell_area_km2
        spots.append(
            HotSpot(
                rank=k + 1,
                gap_rank=int(gap_ranks[g]) if g > 0 else None,
                adcode=grid.districts.adcodes[district[j]],
                district=grid.districts.names[district[j]],
                demand=float(weight[chosen].sum()),
                units=int(chosen.size),
                members=_expand(source, bounds, chosen),
                area_km2=float(area),
                site_lon=float(site_lon[k]),
                site_lat=float(site_lat[k]),
                reach_m=reach,
                label_lon=float(label_lon[k]),
                label_lat=float(label_lat[k]),
                nearest_station=int(nearest[k, 0]),
                nearest_station_m=float(nearest_m[k, 0]),
                gap_stations=int(stations_of[g]),
            )
        )

    needs = _gap_needs(coverage, labels, flat_labels, owners, gap_ranks, units, spot_groups, packed, square_m, index)
    return HotSpots(spots, needs, float(weight.sum()), "demand" if demand is not None else "km²", radius)


@dataclass(frozen=True)
class GapLabel:
    """A point to label a gap with: inside it, farther than the radius from every station (WGS84; metres in the
    grid plane)."""

    rank: int
    """The gap's rank, as ``geo.gaps.find_gaps`` ranks them (same ``adcode``)."""
    lon: float
    lat: float
    nearest_station: int
    nearest_station_m: float


def gap_labels(
    coverage: Coverage, station_lon: ArrayLike, station_lat: ArrayLike, *, adcode: str | None = None
) -> list[GapLabel]:
    """A label point for every gap of ``coverage`` (of ``adcode`` only, when given), in ``find_gaps``' rank order:
    the gap's raster pole of inaccessibility, where a gap's centroid may lie outside it or near a station.

    >>> from shapely.geometry import box
    >>> from geo.districts import Districts
    >>> from geo.grid import Grid
    >>> from geo.coverage import compute_coverage
    >>> grid = Grid.build(Districts(["1"], ["ring"], [box(120.0, 30.0, 120.1, 30.1)]), cell_m=200)
    >>> labels = gap_labels(compute_coverage(grid, [120.05], [30.05], radius_m=3000), [120.05], [30.05])
    >>> [(label.rank, label.nearest_station_m > 3000) for label in labels]  # one gap around the circle
    [(1, True)]
    """
    grid = coverage.grid
    flat_labels, count, _ = _label_gaps(coverage, adcode)
    if count == 0:
        return []
    labels = np.zeros(grid.shape, dtype=np.int32)
    labels[grid.row, grid.col] = flat_labels
    poles = _poles(coverage, labels, flat_labels)[1:]
    ranks = _gap_ranks(coverage, flat_labels, count)[1:]
    order = np.argsort(ranks)
    x, y = grid.x[poles[order]], grid.y[poles[order]]
    sx, sy = grid.project(np.atleast_1d(np.asarray(station_lon, float)), np.atleast_1d(np.asarray(station_lat, float)))
    nearest, nearest_m = _PlaneIndex(sx, sy).query(x, y)
    lon, lat = grid.unproject(x, y)
    return [
        GapLabel(int(ranks[k]), float(lon[n]), float(lat[n]), int(nearest[n, 0]), float(nearest_m[n, 0]))
        for n, k in enumerate(order)
    ]


@dataclass(frozen=True)
class _PlaneIndex:
    """The stations in the grid plane: nearest one (position, distance in metres) to points of that plane."""

    x: Floats
    y: Floats

    def query(self, x: Floats, y: Floats) -> tuple[NDArray[np.intp], Floats]:
        """Position and distance of the nearest station, each of shape (len(x), 1); -1 and inf without any."""
        distance, nearest = nearest_distance_m(self.x, self.y, x, y)
        return nearest[:, None], distance[:, None]


Units = tuple[Floats, Floats, Floats, Ints, Ints, Floats, Floats, Floats]
"""Unit x, y (grid plane), weight, group (gap label > 0; -(district + 1) for no gap), district position, and the
label candidate of each unit: x, y and its planar distance to the nearest station."""


def _demand_units(
    coverage: Coverage,
    demand: Demand,
    labels: NDArray[np.int32],
    distance: Floats,
    sx: Floats,
    sy: Floats,
    wanted: int | None,
) -> tuple[Units, tuple[Ints, Ints]]:
    """Demand points farther than the radius from every station (as ``compute_coverage`` counts them)."""
    grid, radius = coverage.grid, coverage.radius_m
    dx, dy = grid.project(demand.lon, demand.lat)
    row, col = grid.cell_of(dx, dy)
    owner = np.where(row >= 0, grid.raster[row, col], -1)
    keep = owner >= 0 if wanted is None else owner == wanted
    source = np.flatnonzero(keep)
    dx, dy, row, col, owner, w = dx[keep], dy[keep], row[keep], col[keep], owner[keep], demand.weight[keep]
    d, _ = nearest_distance_m(sx, sy, dx, dy)
    open_ = (d > radius) & (w > 0)
    dx, dy, row, col, owner, w, d = dx[open_], dy[open_], row[open_], col[open_], owner[open_], w[open_], d[open_]
    source = source[open_]
    gap = labels[row, col].astype(np.intp)
    label_x, label_y, label_d = dx.copy(), dy.copy(), d.copy()
    # a point beyond the radius in a cell whose centre is covered joins the nearest uncovered neighbour cell of
    # its district (whose centre then labels it); failing one, it is in no gap
    stray = np.flatnonzero(gap == 0)
    if stray.size:
        best = np.full(stray.size, np.inf)
        for di in (-1, 0, 1):
            for dj in (-1, 0, 1):
                r, c = row[stray] + di, col[stray] + dj
                ok = (r >= 0) & (r < grid.shape[0]) & (c >= 0) & (c < grid.shape[1])
                r, c = np.where(ok, r, 0), np.where(ok, c, 0)
                ok &= (labels[r, c] > 0) & (grid.raster[r, c] == owner[stray])
                cx, cy = grid.x0 + (c + 0.5) * grid.cell_m, grid.y0 + (r + 0.5) * grid.cell_m
                far = np.hypot(cx - dx[stray], cy - dy[stray])
                better = ok & (far < best)
                best[better] = far[better]
                gap[stray[better]] = labels[r[better], c[better]]
                label_x[stray[better]], label_y[stray[better]] = cx[better], cy[better]
                label_d[stray[better]] = distance[r[better], c[better]]
        alone = stray[gap[stray] == 0]
        gap[alone] = -(owner[alone].astype(np.intp) + 1)
    units = (dx, dy, w, gap, owner.astype(np.intp), label_x, label_y, label_d)
    return units, (source.astype(np.intp), np.arange(source.size + 1))


def _area_units(
    coverage: Coverage, labels: NDArray[np.int32], distance: Floats, square_m: float
) -> tuple[Units, tuple[Ints, Ints]]:
    """Uncovered cells of the gaps gathered per gap in squares of ``square_m`` (weight: area, km²); a square's
    label candidate is its cell farthest from a station."""
    grid = coverage.grid
    flat = labels[grid.row, grid.col]
    cells = np.flatnonzero(flat > 0)
    factor = max(1, round(square_m / grid.cell_m))
    inverse = _groups(flat[cells], grid.row[cells] // factor, grid.col[cells] // factor)
    n = int(inverse.max()) + 1 if cells.size else 0
    count = np.bincount(inverse, minlength=n)
    ux = np.bincount(inverse, weights=grid.x[cells], minlength=n) / np.maximum(count, 1)
    uy = np.bincount(inverse, weights=grid.y[cells], minlength=n) / np.maximum(count, 1)
    cell_d = distance[grid.row[cells], grid.col[cells]]
    order = np.lexsort((-cell_d, inverse))  # per unit, farthest cell first
    first = order[np.concatenate(([True], np.diff(inverse[order]) != 0))] if cells.size else order
    group = np.zeros(n, dtype=np.intp)
    group[inverse] = flat[cells]
    district = np.zeros(n, dtype=np.intp)
    district[inverse] = grid.district[cells]
    weight = (count * grid.cell_area_km2).astype(np.float64)
    best = cells[first]
    units = (ux, uy, weight, group, district, grid.x[best], grid.y[best], cell_d[first])
    by_unit = cells[np.argsort(inverse, kind="stable")]
    return units, (by_unit.astype(np.intp), np.concatenate(([0], np.cumsum(count))))


def _expand(source: Ints, bounds: Ints, chosen: NDArray[np.integer[Any]]) -> Ints:
    """``source[bounds[u]:bounds[u + 1]]`` for every ``u`` of ``chosen``, concatenated."""
    starts, lengths = bounds[chosen], bounds[chosen + 1] - bounds[chosen]
    offsets = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    picked: Ints = source[np.repeat(starts, lengths) + offsets]
    return picked


def _groups(*keys: NDArray[np.integer[Any]]) -> Ints:
    """Group number (0, 1, ...) of each row of the integer ``keys`` taken together (one ``np.unique`` on a
    combined int64 key: far faster than ``np.unique(axis=0)``)."""
    combined = np.zeros(keys[0].size, dtype=np.int64)
    for key in keys:
        shifted = key.astype(np.int64) - (int(key.min()) if key.size else 0)
        combined = combined * (int(shifted.max(initial=0)) + 1) + shifted
    _, inverse = np.unique(combined, return_inverse=True)
    return inverse.ravel().astype(np.intp)


def _greedy_partition(
    ux: Floats, uy: Floats, weight: Floats, group: Ints, radius: float, spacing: float
) -> tuple[list[int], list[NDArray[np.integer[Any]]], Ints]:
    """Greedy set cover of the units within each group: the sites picked (unit positions, most newly served
    weight first) and the units each took. Candidates: per group and square of ``spacing`` (at most half the
    radius), the unit nearest the square's weighted centre (every unit of a square lies within 0.71 × radius of
    it, so every unit can be served). Also a packing: candidates (units) pairwise more than 2 × radius apart
    within each group, picked greedily west to east, which no single station can serve two of."""
    n = ux.size
    if n == 0:
        return [], [], np.empty(0, dtype=np.intp)
    square = _groups(group, np.floor(ux / spacing).astype(np.int64), np.floor(uy / spacing).astype(np.int64))
    m = int(square.max()) + 1
    total = np.bincount(square, weights=weight, minlength=m)
    safe = np.where(total > 0, total, 1.0)
    cx = np.bincount(square, weights=ux * weight, minlength=m) / safe
    cy = np.bincount(square, weights=uy * weight, minlength=m) / safe
    off = np.hypot(ux - cx[square], uy - cy[square])
    order = np.lexsort((off, square))
    candidates = order[np.concatenate(([True], np.diff(square[order]) != 0))]  # a unit position each

    units_tree = cKDTree(np.column_stack((ux, uy)))
    candidate_tree = cKDTree(np.column_stack((ux[candidates], uy[candidates])))
    pairs = candidate_tree.sparse_distance_matrix(units_tree, radius, output_type="ndarray")  # within ≤ radius
    columns, rows = pairs["i"].astype(np.intp), pairs["j"].astype(np.intp)
    same = group[rows] == group[candidates[columns]]  # a hot spot never crosses its gap
    incidence = sparse.csc_array(
        (np.ones(int(same.sum()), dtype=bool), (rows[same], columns[same])), shape=(n, candidates.size)
    )
    incidence.sort_indices()
    indptr, indices = incidence.indptr, incidence.indices

    served = np.zeros(n, dtype=bool)
    heap = [(-float(weight[indices[indptr[j] : indptr[j + 1]]].sum()), j, 0) for j in range(candidates.size)]
    heapq.heapify(heap)
    sites: list[int] = []
    members: list[NDArray[np.integer[Any]]] = []
    left = n
    while heap and left:
        _, j, stamp = heapq.heappop(heap)
        rows_j = indices[indptr[j] : indptr[j + 1]]
        fresh = rows_j[~served[rows_j]]
        if stamp != len(sites):  # stale gain: an upper bound (coverage is submodular); recompute, push back
            if fresh.size:
                heapq.heappush(heap, (-float(weight[fresh].sum()), j, len(sites)))
            continue
        if fresh.size == 0:
            continue
        sites.append(int(candidates[j]))
        members.append(fresh)
        served[fresh] = True
        left -= fresh.size
    assert left == 0, "every unit is served by its own square's candidate"
    return sites, members, _packing(candidates, ux, group, candidate_tree, radius)


def _packing(candidates: Ints, ux: Floats, group: Ints, tree: cKDTree, radius: float) -> Ints:
    """Candidates (unit positions) of one group pairwise more than 2 × radius apart, chosen greedily west to
    east; a station within ``radius`` of two of them would be within 2 × radius of both."""
    pairs = tree.sparse_distance_matrix(tree, 2 * radius, output_type="ndarray")
    a, b = pairs["i"].astype(np.intp), pairs["j"].astype(np.intp)
    keep = (a != b) & (group[candidates[a]] == group[candidates[b]])
    conflicts = sparse.csr_array(
        (np.ones(int(keep.sum()), dtype=bool), (a[keep], b[keep])), shape=(candidates.size, candidates.size)
    )
    indptr, indices = conflicts.indptr, conflicts.indices
    blocked = np.zeros(candidates.size, dtype=bool)
    chosen = []
    for j in np.argsort(ux[candidates], kind="stable"):
        if not blocked[j]:
            chosen.append(j)
            blocked[indices[indptr[j] : indptr[j + 1]]] = True
    picked: Ints = candidates[np.array(chosen, dtype=np.intp)]
    return picked


def _gap_ranks(coverage: Coverage, flat_labels: NDArray[np.int32], count: int) -> Ints:
    """Rank of each gap label (index = label; 0 unused) as ``geo.gaps.find_gaps`` ranks them: uncovered demand
    in its cells first (when there is a demand layer), then area."""
    grid = coverage.grid
    cells = np.bincount(flat_labels, minlength=count + 1)[1:]
    keys: tuple[NDArray[np.float64] | NDArray[np.intp], ...] = (cells,)
    if coverage.demand_cell is not None and coverage.demand_weight is not None:
        at = np.zeros(grid.shape, dtype=np.int32)
        at[grid.row, grid.col] = flat_labels
        demand = np.bincount(at[coverage.demand_cell], weights=coverage.demand_weight, minlength=count + 1)[1:]
        keys = (cells, demand)
    ranked = np.lexsort(tuple(-k for k in keys))
    rank = np.zeros(count + 1, dtype=np.intp)
    rank[ranked + 1] = np.arange(1, count + 1)
    return rank


def _newly_within(
    grid: Grid, labels: NDArray[np.int32], claimed: NDArray[np.bool_], x: float, y: float, radius: float, gap: int
) -> int:
    """Cells of ``gap`` whose centre is within ``radius`` of (x, y) and not yet ``claimed`` (now claimed)."""
    if gap <= 0:
        return 0
    c0 = max(0, math.floor((x - radius - grid.x0) / grid.cell_m))
    c1 = min(grid.shape[1], math.ceil((x + radius - grid.x0) / grid.cell_m) + 1)
    r0 = max(0, math.floor((y - radius - grid.y0) / grid.cell_m))
    r1 = min(grid.shape[0], math.ceil((y + radius - grid.y0) / grid.cell_m) + 1)
    cols = grid.x0 + (np.arange(c0, c1) + 0.5) * grid.cell_m
    rows = grid.y0 + (np.arange(r0, r1) + 0.5) * grid.cell_m
    near = (rows[:, None] - y) ** 2 + (cols[None, :] - x) ** 2 <= radius * radius
    window = (slice(r0, r1), slice(c0, c1))
    fresh = near & (labels[window] == gap) & ~claimed[window]
    claimed[window] |= fresh
    return int(fresh.sum())


def _gap_needs(
    coverage: Coverage,
    labels: NDArray[np.int32],
    flat_labels: NDArray[np.int32],
    owners: Ints,
    gap_ranks: Ints,
    units: Units,
    spot_groups: Ints,
    packed: Ints,
    square_m: float,
    index: _PlaneIndex,
) -> list[GapNeed]:
    """Per group of units (a gap, or a district's demand in no gap): demand, stations, bound and label."""
    grid, radius = coverage.grid, coverage.radius_m
    ux, uy, weight, group, district, label_x, label_y, label_d = units
    if ux.size == 0:
        return []
    keys, inverse = np.unique(group, return_inverse=True)
    inverse = inverse.ravel()
    demand = np.bincount(inverse, weights=weight, minlength=keys.size)
    stations = np.bincount(np.searchsorted(keys, spot_groups), minlength=keys.size)
    at_least = _lower_bounds(ux, uy, weight, inverse, keys.size, radius, square_m)
    # units pairwise more than 2 × radius apart (a packing among the candidates) each need a station of their own
    at_least = np.maximum(at_least, np.bincount(inverse[packed], minlength=keys.size))
    cells = np.bincount(flat_labels, minlength=int(keys.max()) + 1 if keys.max() > 0 else 1)
    poles = _poles(coverage, labels, flat_labels)

    # label: the pole of inaccessibility for a gap; the unit farthest from a station for demand in no gap
    lx, ly = np.empty(keys.size), np.empty(keys.size)
    for k, key in enumerate(keys):
        if key > 0:
            lx[k], ly[k] = grid.x[poles[key]], grid.y[poles[key]]
        else:
            mine = np.flatnonzero(inverse == k)
            best = mine[np.argmax(label_d[mine])]
            lx[k], ly[k] = label_x[best], label_y[best]
    lon, lat = grid.unproject(lx, ly)
    nearest, nearest_m = index.query(lx, ly)
    first_unit = np.zeros(keys.size, dtype=np.intp)
    first_unit[inverse[::-1]] = np.arange(inverse.size)[::-1]
    needs = []
    for k, key in enumerate(keys):
        position = int(owners[key - 1]) if key > 0 else int(district[first_unit[k]])
        n_cells = int(cells[key]) if key > 0 else 0
        needs.append(
            GapNeed(
                gap_rank=int(gap_ranks[key]) if key > 0 else None,
                adcode=grid.districts.adcodes[position],
                district=grid.districts.names[position],
                cells=n_cells,
                area_km2=float(n_cells * grid.cell_area_km2),
                demand=float(demand[k]),
                stations=int(stations[k]),
                stations_at_least=int(at_least[k]),
                label_lon=float(lon[k]),
                label_lat=float(lat[k]),
                nearest_station=int(nearest[k, 0]),
                nearest_station_m=float(nearest_m[k, 0]),
            )
        )
    needs.sort(key=lambda need: (-need.demand, -need.cells, need.gap_rank or 0))
    return needs


def _lower_bounds(
    ux: Floats, uy: Floats, weight: Floats, inverse: Ints, n_groups: int, radius: float, square_m: float
) -> Ints:
    """A proven least number of stations per group. Units in different squares of side just over 2 × radius
    whose column and row indices are both of one parity are more than 2 × radius apart, so no station serves
    two of them: the occupied squares of a parity class each need a station of their own. Without a demand
    layer, a station also serves at most π (radius + square diagonal)² of area (its units' cells lie within a
    diagonal of their centre)."""
    side = 2 * radius * (1 + 1e-9) + 1e-6
    ix, iy = np.floor(ux / side).astype(np.int64), np.floor(uy / side).astype(np.int64)
    best = np.zeros(n_groups, dtype=np.intp)
    for px in (0, 1):
        for py in (0, 1):
            pick = (ix % 2 == px) & (iy % 2 == py)
            if not pick.any():
                continue
            occupied = np.unique(np.column_stack((inverse[pick], ix[pick], iy[pick])), axis=0)
            best = np.maximum(best, np.bincount(occupied[:, 0], minlength=n_groups))
    if square_m > 0:
        area = np.bincount(inverse, weights=weight, minlength=n_groups) * 1e6  # m²
        per_station = math.pi * (radius + square_m * math.sqrt(2)) ** 2
        best = np.maximum(best, np.ceil(area / per_station - 1e-9).astype(np.intp))
    return best


def _poles(coverage: Coverage, labels: NDArray[np.int32], flat_labels: NDArray[np.int32]) -> Ints:
    """For each gap label, the inside cell (flat position) of the gap farthest from the gap's edge (Euclidean
    distance transform of the gap's interior: cells whose four neighbours are all of the gap), ties broken
    by the distance to the nearest station: the raster pole of inaccessibility, always a cell of the gap."""
    grid = coverage.grid
    padded = np.pad(labels, 1)
    interior = padded[1:-1, 1:-1] > 0
    for shifted in (padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]):
        interior &= shifted == labels
    depth = ndimage.distance_transform_edt(interior)[grid.row, grid.col]
    cells = np.flatnonzero(flat_labels > 0)
    order = np.lexsort((-coverage.distance_m[cells], -depth[cells], flat_labels[cells]))
    first = order[np.concatenate(([True], np.diff(flat_labels[cells][order]) != 0))]
    poles = np.zeros(int(flat_labels.max(initial=0)) + 1, dtype=np.intp)
    poles[flat_labels[cells][first]] = cells[first]
    return poles
