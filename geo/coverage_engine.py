"""The fast, exact core of ``geo.coverage``: covered cells and distance quantiles from one query per block.

The raster is cut into blocks of ``TILE`` × ``TILE`` cells and only the block centres get a k-d tree query
(the two nearest stations, at D1 ≤ D2). Every cell of a block is within ``δ`` of the centre (δ ≤ h, the
half diagonal), so by the triangle inequality:

* its nearest distance lies in ``[D1 − h, D1 + h]`` (the block's bounds), and
* per cell: the distance ``U`` to the centre's nearest station is an upper bound, ``min(U, D2 − δ)`` a lower
  bound, and ``U`` is exact when ``U ≤ D2 − δ`` (no other station can be nearer) — most cells.

**Covered cells** (cell centre within ``radius_m`` of a station): blocks with ``D1 + h ≤ r`` are covered
whole, blocks with ``D1 − h > r`` not at all; only the boundary band of blocks in between is looked at cell
by cell, and only its cells whose bounds straddle ``r`` are tested — against the block centre's two nearest
stations, then the k-d tree's nearest — with the brute force's own ``√(dx² + dy²) ≤ r``.

**Median / p90 per district**: the block bounds fix which blocks can hold the wanted order statistic (the
rest are counted as surely below or above), the cell bounds narrow that to a band of cells (1 m histograms
stand in for sorting), and only the band's inexact cells are resolved — by the second-nearest station when
that puts them below the band, else by a query; the order statistic is picked among the band, offset by the
count of cells surely below. The result equals ``np.quantile`` (linear interpolation) of the exact per-cell
distances, and the covered cells equal the brute force cell by cell.

>>> from shapely.geometry import box
>>> from geo.districts import Districts
>>> from geo.grid import Grid
>>> grid = Grid.build(Districts(["1"], ["square"], [box(120.0, 30.0, 120.1, 30.1)]), cell_m=100)
>>> x, y = grid.project(np.array([120.05]), np.array([30.05]))
>>> int(coverage_core(grid, x, y, 1000.0).covered.sum())  # cell centres within 1 km: ≈ π × 100
312
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from pykdtree.kdtree import KDTree
from threadpoolctl import ThreadpoolController

from geo.grid import Grid

BIN_M = 10.0
"""Width of the bins of block distances that stand in for sorting blocks (metres; wider when distances reach
beyond ``MAX_BINS`` bins): the block-level band widens by at most this much."""
MAX_BINS = 8192
BIN_CELL_M = 1.0
"""Width of the bins of cell distances that stand in for ``np.partition`` in a quantile's band (metres)."""

TILE = 4
"""Cells per side of the blocks whose centres bound the distances of their cells (4: ±212 m at 100 m)."""

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


@functools.cache
def _threads() -> ThreadpoolController:
    """The thread pools of the loaded libraries (found once: ``threadpool_limits`` looks them up on each call)."""
    return ThreadpoolController()


def _inside(x_c: Floats, y_c: Floats, sx: Floats, sy: Floats, radius_m: float) -> NDArray[np.bool_]:
    """The coverage test itself, as a brute force would run it: √(dx² + dy²) ≤ r."""
    dx, dy = x_c - sx, y_c - sy
    return np.sqrt(dx * dx + dy * dy) <= radius_m


@dataclass(frozen=True, eq=False)
class _Tiles:
    """Per grid: the raster cut into ``TILE`` × ``TILE`` blocks, those holding inside cells, and each block's
    cells ("slots", row-major within the block) with their district."""

    n_block_rows: int
    n_block_cols: int
    block_row: Ints
    block_col: Ints
    centre_x: Floats
    centre_y: Floats
    offsets: Floats
    """Cell centre offsets from the block centre along one axis, metres (``TILE`` of them)."""
    delta: Floats
    """Distance of each slot's centre from the block centre, metres (``TILE²``)."""
    half_diagonal_m: float
    slot_district: NDArray[np.int16]
    """District of each slot, -1 outside every district: (blocks, ``TILE²``)."""
    group_block: Ints
    """Groups = (district, block) pairs, sorted by district: the block of each group."""
    group_district: Ints
    """The district of each group."""
    group_size: Ints
    """Inside cells of each group."""
    district_bounds: Ints
    """District i's groups are ``district_bounds[i]:district_bounds[i + 1]``."""


_TILES: weakref.WeakKeyDictionary[Grid, _Tiles] = weakref.WeakKeyDictionary()


def _tiles(grid: Grid) -> _Tiles:
    cached = _TILES.get(grid)
    if cached is not None:
        return cached
    ny, nx = grid.shape
    rows, cols = -(-ny // TILE), -(-nx // TILE)
    padded = np.full((rows * TILE, cols * TILE), -1, dtype=np.int16)
    padded[:ny, :nx] = grid.raster
    slots = padded.reshape(rows, TILE, cols, TILE).transpose(0, 2, 1, 3).reshape(rows * cols, TILE * TILE)
    used = np.flatnonzero((slots >= 0).any(axis=1))
    slot_district = np.ascontiguousarray(slots[used])
    block_row, block_col = np.divmod(used, cols)
    offsets = (np.arange(TILE) + 0.5 - TILE / 2) * grid.cell_m
    delta = np.sqrt(offsets[:, None] ** 2 + offsets[None, :] ** 2).ravel()
    n = len(grid.districts)
    counts = np.stack([np.count_nonzero(slot_district == i, axis=1) for i in range(n)]) if n else np.zeros((0, 0))
    group_district, group_block = np.nonzero(counts)  # row-major: sorted by district, then block
    tiles = _Tiles(
        rows, cols, block_row.astype(np.intp), block_col.astype(np.intp),
        (grid.x0 + (block_col * TILE + TILE / 2) * grid.cell_m).astype(float),
        (grid.y0 + (block_row * TILE + TILE / 2) * grid.cell_m).astype(float),
        offsets.astype(float), delta.astype(float), float(delta.max()), slot_district,
        group_block.astype(np.intp), group_district.astype(np.intp),
        counts[group_district, group_block].astype(np.intp),
        np.searchsorted(group_district, np.arange(n + 1)).astype(np.intp),
    )  # fmt: skip
    _TILES[grid] = tiles
    return tiles


@dataclass(frozen=True)
class _Nearest:
    """What a k-d tree query at the block centres says about every cell of the blocks."""

    tree: KDTree
    first: Floats
    """Distance from each block centre to its nearest station (D1) ..."""
    second: Floats
    """... and to its second nearest (D2, less a rounding allowance; inf with one station)."""
    station: Ints
    """The nearest station of each block centre."""
    second_station: Ints
    """Its second nearest (the nearest again with one station)."""
    tolerance: Floats
    """Float rounding allowance of each block's distances."""


def _nearest(tiles: _Tiles, station_x: Floats, station_y: Floats) -> _Nearest:
    tree = KDTree(np.column_stack((station_x, station_y)))
    k = min(2, station_x.size)
    found, nearest = tree.query(np.column_stack((tiles.centre_x, tiles.centre_y)), k=k)
    found, nearest = found.reshape(-1, k), nearest.reshape(-1, k)
    # D2 less its rounding allowance (inf stays inf): a lower bound of the second distance for sure
    second = found[:, 1] * (1.0 - 1e-9) - 1e-6 if k == 2 else np.full(found.shape[0], np.inf)
    tolerance = 1e-6 * (1.0 + found[:, 0])
    nearest = nearest.astype(np.intp)
    return _Nearest(tree, found[:, 0], second, nearest[:, 0], nearest[:, k - 1], tolerance)


def _cell_bounds(
    tiles: _Tiles, near: _Nearest, blocks: Ints, station_x: Floats, station_y: Floats
) -> tuple[Floats, Floats]:
    """Per slot of ``blocks`` (shape (blocks, TILE²)): ``upper``, the cell's distance to the block centre's
    nearest station (an upper bound of its nearest distance), and ``others``, how near any other station can
    be (D2 − δ, less the rounding allowance). The nearest distance is at least ``min(upper, others)``, and
    is ``upper`` itself when ``upper ≤ others``."""
    station = near.station[blocks]
    dx = (tiles.centre_x[blocks] - station_x[station])[:, None] + tiles.offsets
    dy = (tiles.centre_y[blocks] - station_y[station])[:, None] + tiles.offsets
    upper = np.sqrt((dy * dy)[:, :, None] + (dx * dx)[:, None, :]).reshape(blocks.size, TILE * TILE)
    others = (near.second[blocks] - near.tolerance[blocks])[:, None] - tiles.delta
    return upper, others


def _second_distance(near: _Nearest, blocks: Ints, x: Floats, y: Floats, sx: Floats, sy: Floats) -> Floats:
    """Distance from cells (centres x, y, in ``blocks``) to their block centre's second nearest station."""
    station = near.second_station[blocks]
    dx, dy = x - sx[station], y - sy[station]
    distance: Floats = np.sqrt(dx * dx + dy * dy)
    return distance


def _cell_centres(grid: Grid, tiles: _Tiles, blocks: Ints, slots: Ints) -> tuple[Floats, Floats]:
    """Centres of the cells at ``slots`` of ``blocks``, computed as the grid computes them (so the ≤ test
    is the brute force's own)."""
    x = grid.x0 + (tiles.block_col[blocks] * TILE + slots % TILE + 0.5) * grid.cell_m
    y = grid.y0 + (tiles.block_row[blocks] * TILE + slots // TILE + 0.5) * grid.cell_m
    return x.astype(np.float64, copy=False), y.astype(np.float64, copy=False)


@dataclass(frozen=True)
class CoreResult:
    """What ``coverage_core`` answers for one set of stations and one radius."""

    covered: NDArray[np.bool_]
    """Whether each raster cell's centre is within the radius of a station (shaped like ``grid.raster``; cells
    outside the districts are False)."""
    covered_cells: Ints
    """Covered inside cells per district."""
    quantiles: Floats
    """(n_districts, len(quantiles)): ``np.quantile`` of the cells' exact nearest distances per district."""


def coverage_core(
    grid: Grid, station_x: Floats, station_y: Floats, radius_m: float, quantiles: tuple[float, ...] = (0.5, 0.9)
) -> CoreResult:
    """Covered cells, their count per district and distance quantiles per district, exact (see the module)."""
    tiles = _tiles(grid)
    n = len(grid.districts)
    sx, sy = np.asarray(station_x, dtype=float), np.asarray(station_y, dtype=float)
    if sx.size == 0:
        no_station = _no_station_quantiles(grid, quantiles)
        return CoreResult(np.zeros(grid.shape, dtype=bool), np.zeros(n, dtype=np.intp), no_station)
    # one OpenMP thread: the queries are small, and on a shared machine a second spinning thread costs 2-3x
    with _threads().limit(limits=1, user_api="openmp"):
        near = _nearest(tiles, sx, sy)
        covered, covered_cells = _covered(grid, tiles, near, sx, sy, radius_m)
        return CoreResult(covered, covered_cells, _quantiles(grid, tiles, near, sx, sy, quantiles))


def _covered(
    grid: Grid, tiles: _Tiles, near: _Nearest, sx: Floats, sy: Floats, radius_m: float
) -> tuple[NDArray[np.bool_], Ints]:
    n = len(grid.districts)
    margin = 1e-9 * (1.0 + radius_m)
    reach = near.first + tiles.half_diagonal_m + near.tolerance  # every cell of the block is at most this far
    floor = near.first - tiles.half_diagonal_m - near.tolerance  # ... and at least this far
    full = reach <= radius_m - margin
    band = np.flatnonzero(~full & (floor <= radius_m + margin))
    state = np.zeros((tiles.n_block_rows, tiles.n_block_cols), dtype=bool)
    state[tiles.block_row[full], tiles.block_col[full]] = True
    painted = _blown_up(state).reshape(tiles.n_block_rows, TILE, tiles.n_block_cols, TILE)
    upper, others = _cell_bounds(tiles, near, band, sx, sy)
    inside_slot = tiles.slot_district[band] >= 0
    cell_covered = upper <= radius_m - margin
    # not covered for sure when the lower bound min(upper, others) is beyond the radius
    unsure = inside_slot & ~cell_covered & (np.minimum(upper, others) <= radius_m + margin)
    if unsure.any():
        which_block, which_slot = np.nonzero(unsure)
        blocks = band[which_block]
        x, y = _cell_centres(grid, tiles, blocks, which_slot)
        # covered by one of the block centre's two nearest stations, or else asked of the k-d tree
        first, second = near.station[blocks], near.second_station[blocks]
        found = _inside(x, y, sx[first], sy[first], radius_m) | _inside(x, y, sx[second], sy[second], radius_m)
        ask = np.flatnonzero(~found)
        if ask.size:
            _, station = near.tree.query(np.column_stack((x[ask], y[ask])), k=1)
            station = station.astype(np.intp)
            found[ask] = _inside(x[ask], y[ask], sx[station], sy[station], radius_m)
        cell_covered[which_block, which_slot] = found
    painted[tiles.block_row[band], :, tiles.block_col[band], :] = cell_covered.reshape(-1, TILE, TILE)
    ny, nx = grid.shape
    out = painted.reshape(tiles.n_block_rows * TILE, tiles.n_block_cols * TILE)[:ny, :nx]
    out &= grid.inside
    # per district: the cells of wholly covered blocks, then the band's covered cells
    counts = np.bincount(tiles.group_district, weights=tiles.group_size * full[tiles.group_block], minlength=n)
    counts = counts.astype(np.intp)
    in_band = tiles.slot_district[band][cell_covered & inside_slot]
    counts += np.bincount(in_band, minlength=n)[:n]
    return out, counts


def _blown_up(state: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Each block's flag repeated over its ``TILE`` × ``TILE`` cells: (block rows × TILE, block cols × TILE),
    a new array. With TILE bytes in one unsigned integer (4 → uint32), a flag times 0x01…01 fills its TILE
    bytes at once: ~8x faster than ``np.repeat`` twice."""
    rows, cols = state.shape
    if TILE not in (2, 4, 8):
        return np.repeat(np.repeat(state, TILE, axis=0), TILE, axis=1)
    word = {2: np.uint16, 4: np.uint32, 8: np.uint64}[TILE]
    ones = word(sum(256**i for i in range(TILE)))
    filled = state.view(np.uint8).astype(word) * ones
    return np.repeat(filled, TILE, axis=0).view(np.uint8).reshape(rows * TILE, cols * TILE).view(bool)


def _rank_bounds(values: Floats, rank: int, low: float, high: float) -> tuple[float, float]:
    """Bounds of the ``rank``-th smallest of ``values`` (0-based) from a histogram of 1 m bins over
    [low, high] (values beyond fall in the end bins): the lower and upper edges of the bin holding it, widened
    by a rounding allowance and kept within [low, high] — a histogram costs a quarter of ``np.partition``.
    The caller knows the order statistic it wants lies in [low, high]; the bounds are only as valid as that."""
    width = max(BIN_CELL_M, (high - low) / MAX_BINS)
    bins = int((high - low) // width) + 2
    keys = values - low
    np.clip(keys, 0.0, (bins - 1) * width, out=keys)
    keys *= 1.0 / width
    reached = np.cumsum(np.bincount(keys.astype(np.intp), minlength=bins))
    k = int(np.searchsorted(reached, rank, side="right"))
    allowance = 1e-6 * (1.0 + abs(low) + abs(high))
    return max(low, low + k * width - allowance), min(high, low + (k + 1) * width + allowance)


def _quantiles(
    grid: Grid, tiles: _Tiles, near: _Nearest, sx: Floats, sy: Floats, quantiles: tuple[float, ...]
) -> Floats:
    n = len(grid.districts)
    result = np.full((n, len(quantiles)), np.nan)
    slack = tiles.half_diagonal_m + near.tolerance
    low_all, high_all = near.first - slack, near.first + slack
    # block level: a weighted histogram of D1 per district stands in for sorting the blocks by D1
    width = max(BIN_M, float(near.first.max()) / MAX_BINS)
    bins = int(near.first.max() // width) + 1
    group_bin = (near.first[tiles.group_block] // width).astype(np.intp)
    histogram = np.bincount(
        tiles.group_district * bins + group_bin, weights=tiles.group_size, minlength=n * bins
    ).reshape(n, bins)
    reached_all = np.cumsum(histogram, axis=1)
    for i in range(n):
        start, stop = tiles.district_bounds[i], tiles.district_bounds[i + 1]
        if start == stop:
            continue
        block, weight = tiles.group_block[start:stop], tiles.group_size[start:stop]
        low, high = low_all[block], high_all[block]
        reached = reached_all[i]
        total = int(reached[-1])
        for j, q in enumerate(quantiles):
            position = (total - 1) * q
            rank_lo, rank_hi = int(np.floor(position)), int(np.ceil(position))
            # the rank_lo-th distance is at least the rank_lo-th of the blocks' lows (D1 - slack, rising with D1),
            # so at least floor_value (its bin's lower edge less the slack); likewise the rank_hi-th at most
            # ceiling_value
            lo_edge = float(np.searchsorted(reached, rank_lo, side="right")) * width
            hi_edge = float(np.searchsorted(reached, rank_hi, side="right") + 1) * width
            floor_value = lo_edge - tiles.half_diagonal_m - 1e-6 * (1.0 + lo_edge + width)
            ceiling_value = hi_edge + tiles.half_diagonal_m + 1e-6 * (1.0 + hi_edge)
            below = high < floor_value
            candidate = ~below & (low <= ceiling_value)
            skipped = int(weight[below].sum())
            blocks = block[candidate]
            upper, others = _cell_bounds(tiles, near, blocks, sx, sy)
            mine = tiles.slot_district[blocks] == i
            whole = bool(mine.all())  # every slot of every candidate block is the district's (the usual case)
            if whole:
                upper, others = upper.ravel(), others.ravel()
            else:
                upper, others = upper[mine], others[mine]
            lower = np.minimum(upper, others)
            a, b = rank_lo - skipped, rank_hi - skipped
            # cell level: the same argument with each cell's own bounds
            floor_cell, _ = _rank_bounds(lower, a, floor_value, ceiling_value)
            _, ceiling_cell = _rank_bounds(upper, b, floor_value, ceiling_value)
            surely_below = upper < floor_cell
            band = np.flatnonzero((lower <= ceiling_cell) & ~surely_below)
            values = upper[band]
            unsure = values > others[band]
            if unsure.any():
                positions = np.flatnonzero(unsure)
                cells = band[positions] if whole else np.flatnonzero(mine)[band[positions]]
                which_block, which_slot = np.divmod(cells, TILE * TILE)
                cell_blocks = blocks[which_block]
                x, y = _cell_centres(grid, tiles, cell_blocks, which_slot)
                # a cell nearer than floor_cell to the second station is below the order statistic whatever
                # its exact distance: that upper bound stands in for it; the rest are asked of the k-d tree
                better = np.minimum(values[positions], _second_distance(near, cell_blocks, x, y, sx, sy))
                values[positions] = better
                ask = np.flatnonzero(better >= floor_cell)
                if ask.size:
                    values[positions[ask]], _ = near.tree.query(np.column_stack((x[ask], y[ask])), k=1)
            below_count = int(np.count_nonzero(surely_below))
            a, b = a - below_count, b - below_count
            picked = np.partition(values, (a, b))
            lo_v, hi_v, fraction = float(picked[a]), float(picked[b]), position - rank_lo
            # np.quantile's lerp, to the last bit
            result[i, j] = (
                lo_v + (hi_v - lo_v) * fraction if fraction < 0.5 else hi_v - (hi_v - lo_v) * (1.0 - fraction)
            )
    return result


def district_quantiles(
    grid: Grid, station_x: Floats, station_y: Floats, quantiles: tuple[float, ...]
) -> NDArray[np.float64]:
    """Quantiles (``np.quantile``'s linear interpolation) of the exact distance from each inside cell's centre
    to the nearest station, per district: shape (n_districts, len(quantiles)); inf without stations, NaN for
    a district without cells."""
    sx, sy = np.asarray(station_x, dtype=float), np.asarray(station_y, dtype=float)
    if sx.size == 0:
        return _no_station_quantiles(grid, quantiles)
    tiles = _tiles(grid)
    with _threads().limit(limits=1, user_api="openmp"):
        return _quantiles(grid, tiles, _nearest(tiles, sx, sy), sx, sy, quantiles)


def _no_station_quantiles(grid: Grid, quantiles: tuple[float, ...]) -> Floats:
    n = len(grid.districts)
    result = np.full((n, len(quantiles)), np.nan)
    result[np.bincount(grid.district, minlength=n) > 0] = np.inf
    return result
