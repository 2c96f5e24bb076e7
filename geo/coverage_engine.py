"""The fast, exact core of ``geo.coverage``: covered cells by rows of discs, distance quantiles by bounds.

Two questions are answered without a nearest-station query for every cell:

* **Which cells are covered** (cell centre within ``radius_m`` of a station): each station's disc is cut
  into one run of columns per raster row it crosses (``√(r² − dy²)`` either side of the station), the
  end cells of each run are checked with the distance itself, and the runs are merged and painted into
  the raster. That is exact (the same ``√(dx² + dy²) ≤ r`` test as a brute force, cell by cell) and costs
  O(stations × rows per disc + raster), not a k-d tree query per cell.
* **Median / p90 distance per district**: the raster is cut into blocks of ``BLOCK`` × ``BLOCK`` cells and
  only the block centres get an exact nearest distance ``D``; every cell of a block then lies within
  ``D ± h`` (``h`` the farthest cell centre from the block centre, the triangle inequality). Those bounds
  fix which blocks can hold the wanted order statistic; only their cells get an exact distance, and the
  order statistic is picked among them, offset by the count of cells surely below. The result equals
  ``np.quantile`` (linear interpolation) of the exact per-cell distances.

>>> from shapely.geometry import box
>>> from geo.districts import Districts
>>> from geo.grid import Grid
>>> grid = Grid.build(Districts(["1"], ["square"], [box(120.0, 30.0, 120.1, 30.1)]), cell_m=100)
>>> x, y = grid.project(np.array([120.05]), np.array([30.05]))
>>> int(covered_raster(grid, x, y, 1000.0).sum())  # cell centres within 1 km: ≈ π × 100
312
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pykdtree.kdtree import KDTree

from geo.grid import Grid

BLOCK = 4
"""Cells per side of the blocks whose centres bound the distances of their cells (4: ±212 m at 100 m)."""

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


def _inside(x_c: Floats, y_c: Floats, sx: Floats, sy: Floats, radius_m: float) -> NDArray[np.bool_]:
    """The coverage test itself, as a brute force would run it: √(dx² + dy²) ≤ r."""
    dx, dy = x_c - sx, y_c - sy
    return np.sqrt(dx * dx + dy * dy) <= radius_m


def covered_raster(grid: Grid, station_x: Floats, station_y: Floats, radius_m: float) -> NDArray[np.bool_]:
    """Whether each raster cell's centre lies within ``radius_m`` of a station (stations in the grid plane,
    metres), shaped like ``grid.raster``; cells outside the districts are answered too."""
    ny, nx = grid.shape
    cell, x0, y0 = grid.cell_m, grid.x0, grid.y0
    sx, sy = np.asarray(station_x, dtype=float), np.asarray(station_y, dtype=float)
    near = (sx + radius_m >= x0) & (sx - radius_m <= x0 + nx * cell)
    near &= (sy + radius_m >= y0) & (sy - radius_m <= y0 + ny * cell)
    sx, sy = sx[near], sy[near]
    out = np.zeros((ny, nx), dtype=bool)
    if sx.size == 0:
        return out
    # rows whose centre may be within the radius (one row of margin each side; the run test decides)
    first = np.clip(np.floor((sy - radius_m - y0) / cell - 0.5).astype(np.int64), 0, ny - 1)
    last = np.clip(np.ceil((sy + radius_m - y0) / cell - 0.5).astype(np.int64), 0, ny - 1)
    spans = last - first + 1
    station = np.repeat(np.arange(sx.size), spans)
    row = np.repeat(first, spans) + (np.arange(spans.sum()) - np.repeat(np.cumsum(spans) - spans, spans))
    px, py = sx[station], sy[station]
    y_c = y0 + (row + 0.5) * cell
    dy = y_c - py
    half = np.sqrt(np.maximum(radius_m * radius_m - dy * dy, 0.0))
    lo = np.ceil((px - half - x0) / cell - 0.5).astype(np.int64)
    hi = np.floor((px + half - x0) / cell - 0.5).astype(np.int64)

    def centre(col: NDArray[np.int64]) -> Floats:
        return (x0 + (col + 0.5) * cell).astype(np.float64)

    # the square root is rounded: move each end by one cell where the distance test says so
    lo = np.where(_inside(centre(lo - 1), y_c, px, py, radius_m), lo - 1, lo)
    lo = np.where(_inside(centre(lo), y_c, px, py, radius_m), lo, lo + 1)
    hi = np.where(_inside(centre(hi + 1), y_c, px, py, radius_m), hi + 1, hi)
    hi = np.where(_inside(centre(hi), y_c, px, py, radius_m), hi, hi - 1)
    lo, hi = np.maximum(lo, 0), np.minimum(hi, nx - 1)
    keep = lo <= hi
    row, lo, hi = row[keep], lo[keep], hi[keep]
    if row.size == 0:
        return out
    # merge overlapping or touching runs of a row, then paint each merged run once: +1 at its start, -1 after
    width = nx + 1
    start, end = row * width + lo, row * width + hi
    order = np.argsort(start, kind="stable")
    start, end = start[order], end[order]
    reach = np.maximum.accumulate(end)
    new = np.concatenate(([True], start[1:] > reach[:-1] + 1))
    run_start = start[new]
    run_end = reach[np.concatenate((np.flatnonzero(new)[1:] - 1, [start.size - 1]))]
    marks = np.zeros(ny * width, dtype=np.int8)
    marks[run_start] = 1
    marks[run_end + 1] = -1  # run_end + 1 is at most the row's spare column, never another run's start
    painted = np.cumsum(marks.reshape(ny, width), axis=1, dtype=np.int8)
    out[:] = painted[:, :nx] > 0
    return out


@dataclass(frozen=True, eq=False)
class _Blocks:
    """Per grid: the blocks holding inside cells, their centres, and each district's cells by block."""

    centre_x: Floats
    centre_y: Floats
    half_diagonal_m: float
    cells: Ints
    """Inside-cell positions grouped by (district, block)."""
    pair_bounds: Ints
    """Group g's cells are ``cells[pair_bounds[g]:pair_bounds[g + 1]]``."""
    pair_block: Ints
    """Block of each group."""
    district_bounds: Ints
    """District i's groups are ``district_bounds[i]:district_bounds[i + 1]``."""


_BLOCKS: weakref.WeakKeyDictionary[Grid, _Blocks] = weakref.WeakKeyDictionary()


def _blocks(grid: Grid) -> _Blocks:
    cached = _BLOCKS.get(grid)
    if cached is not None:
        return cached
    n_block_cols = -(-grid.shape[1] // BLOCK)
    block = (grid.row // BLOCK) * n_block_cols + grid.col // BLOCK
    used, block_index = np.unique(block, return_inverse=True)
    centre_x = grid.x0 + ((used % n_block_cols) * BLOCK + BLOCK / 2) * grid.cell_m
    centre_y = grid.y0 + ((used // n_block_cols) * BLOCK + BLOCK / 2) * grid.cell_m
    key = grid.district.astype(np.intp) * used.size + block_index
    cells = np.argsort(key, kind="stable")
    pair_key, pair_start = np.unique(key[cells], return_index=True)
    pair_bounds = np.concatenate((pair_start, [cells.size])).astype(np.intp)
    district_bounds = np.searchsorted(pair_key // used.size, np.arange(len(grid.districts) + 1)).astype(np.intp)
    half = (BLOCK - 1) / 2 * grid.cell_m * np.sqrt(2.0)
    blocks = _Blocks(
        centre_x.astype(float), centre_y.astype(float), float(half), cells.astype(np.intp),
        pair_bounds, (pair_key % used.size).astype(np.intp), district_bounds,
    )  # fmt: skip
    _BLOCKS[grid] = blocks
    return blocks


def _ranges(bounds: Ints, groups: Ints) -> Ints:
    """Concatenated ``arange(bounds[g], bounds[g + 1])`` for each group g."""
    starts, lengths = bounds[groups], bounds[groups + 1] - bounds[groups]
    offsets = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    cells: Ints = np.repeat(starts, lengths) + offsets
    return cells


def district_quantiles(
    grid: Grid, station_x: Floats, station_y: Floats, quantiles: tuple[float, ...]
) -> NDArray[np.float64]:
    """Quantiles (``np.quantile``'s linear interpolation) of the exact distance from each inside cell's centre
    to the nearest station, per district: shape (n_districts, len(quantiles)); inf without stations, NaN for
    a district without cells."""
    n = len(grid.districts)
    result = np.full((n, len(quantiles)), np.nan)
    blocks = _blocks(grid)
    sizes = np.diff(blocks.pair_bounds)
    if np.size(station_x) == 0:
        result[np.bincount(grid.district, minlength=n) > 0] = np.inf
        return result
    tree = KDTree(np.column_stack((station_x, station_y)))
    k = min(2, np.size(station_x))
    found, nearest = tree.query(np.column_stack((blocks.centre_x, blocks.centre_y)), k=k)
    found, nearest = found.reshape(-1, k), nearest.reshape(-1, k).astype(np.intp)
    centre_distance = found[:, 0]
    slack = blocks.half_diagonal_m + 1e-6 * (1.0 + centre_distance)  # + float rounding of both distances
    low_all, high_all = centre_distance - slack, centre_distance + slack
    # a block is settled when its nearest station is every one of its cells' nearest too: any cell is within
    # D1 + h of it and at least D2 - h from any other station
    second = found[:, 1] if k == 2 else np.full(centre_distance.size, np.inf)
    settled_all = second - slack > high_all

    # per district and quantile: the candidate groups, the count surely below and the ranks wanted
    jobs: list[tuple[int, int, int, int, float, Ints]] = []
    for i in range(n):
        groups = np.arange(blocks.district_bounds[i], blocks.district_bounds[i + 1])
        if groups.size == 0:
            continue
        block = blocks.pair_block[groups]
        order = np.argsort(centre_distance[block], kind="stable")  # low and high both rise with D
        groups, block = groups[order], block[order]
        weight = sizes[groups]
        reached = np.cumsum(weight)
        low, high = low_all[block], high_all[block]
        total = int(reached[-1])
        for j, q in enumerate(quantiles):
            position = (total - 1) * q
            rank_lo, rank_hi = int(np.floor(position)), int(np.ceil(position))
            floor_value = low[np.searchsorted(reached, rank_lo, side="right")]  # the rank_lo-th is at least this
            ceiling_value = high[np.searchsorted(reached, rank_hi, side="right")]  # the rank_hi-th at most this
            below = high < floor_value
            candidate = ~below & (low <= ceiling_value)
            skipped = int(weight[below].sum())
            jobs.append((i, j, rank_lo - skipped, rank_hi - skipped, position - rank_lo, groups[candidate]))
    if not jobs:
        return result
    cell_lists = [_ranges(blocks.pair_bounds, groups) for *_, groups in jobs]
    group_of = np.concatenate([np.repeat(groups, np.diff(blocks.pair_bounds)[groups]) for *_, groups in jobs])
    everything = blocks.cells[np.concatenate(cell_lists)]
    block_of = blocks.pair_block[group_of]
    x, y = grid.x[everything], grid.y[everything]
    settled = settled_all[block_of]
    station = nearest[block_of[settled], 0]
    distance = np.empty(everything.size)
    dx, dy = x[settled] - station_x[station], y[settled] - station_y[station]
    distance[settled] = np.sqrt(dx * dx + dy * dy)
    if not settled.all():
        distance[~settled], _ = tree.query(np.column_stack((x[~settled], y[~settled])), k=1)
    offset = 0
    for (i, j, rank_lo, rank_hi, fraction, _), cells in zip(jobs, cell_lists, strict=True):
        mine = distance[offset : offset + cells.size]
        offset += cells.size
        picked = np.partition(mine, (rank_lo, rank_hi))
        a, b = float(picked[rank_lo]), float(picked[rank_hi])
        # np.quantile's lerp, to the last bit
        result[i, j] = a + (b - a) * fraction if fraction < 0.5 else b - (b - a) * (1.0 - fraction)
    return result
