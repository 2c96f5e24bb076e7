"""geo.coverage_engine against brute force: every cell's covered flag exactly, the median / p90 per district to
the last bits of np.quantile, and the covered share against the exact union of discs (shapely, 256-gons)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from geo.coverage import compute_coverage
from geo.coverage_engine import _blown_up, _rank_bounds, coverage_core, district_quantiles
from geo.grid import Grid

SMALL = ("330102", "330108")  # 上城区 and 滨江区
BOUNDS = (120.10, 30.12, 120.31, 30.41)


@pytest.fixture(scope="module")
def grids(districts) -> dict[int, Grid]:
    chosen = districts.subset(SMALL)
    return {cell_m: Grid.build(chosen, cell_m) for cell_m in (25, 100, 200, 350)}


@st.composite
def scenarios(draw, max_stations: int = 300):
    """Stations uniform, clustered (many per block: the k-d tree band), in a few far clumps, or sitting on cell
    centres, some outside the grid; a radius from below a cell to beyond the area."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(1, max_stations))
    west, south, east, north = BOUNDS
    lon, lat = rng.uniform(west - 0.03, east + 0.03, n), rng.uniform(south - 0.03, north + 0.03, n)
    layout = draw(st.sampled_from(["uniform", "clustered", "clumps", "duplicates"]))
    if layout == "clustered":
        centres = rng.integers(0, n, n)
        lon, lat = lon[centres] + rng.normal(0, 0.003, n), lat[centres] + rng.normal(0, 0.003, n)
    elif layout == "clumps":
        pick = rng.integers(0, min(3, n), n)
        lon, lat = lon[pick] + rng.normal(0, 0.001, n), lat[pick] + rng.normal(0, 0.001, n)
    elif layout == "duplicates":
        lon, lat = np.repeat(lon[: max(1, n // 4)], 4)[:n], np.repeat(lat[: max(1, n // 4)], 4)[:n]
    radius_m = draw(st.sampled_from([30.0, 99.0, 450.0, 1000.0, 2600.0, 40_000.0]))
    radius_m *= draw(st.floats(0.9, 1.1))
    return lon, lat, radius_m


def brute_distance(sx: np.ndarray, sy: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    return cdist(np.column_stack((x, y)), np.column_stack((sx, sy))).min(axis=1)


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.sampled_from([100, 200, 350]))
def test_covered_cells_equal_brute_force_everywhere(grids, scenario, cell_m):
    """Every raster cell: covered iff inside a district and √(dx² + dy²) ≤ r for some station."""
    lon, lat, radius_m = scenario
    grid = grids[cell_m]
    sx, sy = grid.project(lon, lat)
    ny, nx = grid.shape
    row, col = np.divmod(np.arange(ny * nx), nx)
    x, y = grid.x0 + (col + 0.5) * grid.cell_m, grid.y0 + (row + 0.5) * grid.cell_m
    expected = (brute_distance(sx, sy, x, y) <= radius_m).reshape(ny, nx) & grid.inside
    core = coverage_core(grid, sx, sy, radius_m)
    np.testing.assert_array_equal(core.covered, expected)
    np.testing.assert_array_equal(core.covered_cells, np.bincount(grid.raster[expected], minlength=len(grid.districts)))
    coverage = compute_coverage(grid, lon, lat, radius_m)
    np.testing.assert_array_equal(coverage.covered, expected[grid.row, grid.col])
    np.testing.assert_array_equal(coverage.covered, coverage.distance_m <= radius_m)  # the lazy distances agree


def test_runs_ending_exactly_on_a_cell_centre(grids):
    """Radii equal to the distance of some cell centres (ties of the ≤ test, where rounding of √(r² − dy²) bites)."""
    grid = grids[100]
    sx, sy = grid.x[[500, 2000]] + [13.25, -41.0], grid.y[[500, 2000]] + [7.5, 0.0]
    for target in (1, 7, 60, 300):
        radius_m = float(np.hypot(grid.x[500 + target] - sx[0], grid.y[500 + target] - sy[0]))
        ny, nx = grid.shape
        row, col = np.divmod(np.arange(ny * nx), nx)
        x, y = grid.x0 + (col + 0.5) * grid.cell_m, grid.y0 + (row + 0.5) * grid.cell_m
        expected = (brute_distance(sx, sy, x, y) <= radius_m).reshape(ny, nx) & grid.inside
        np.testing.assert_array_equal(coverage_core(grid, sx, sy, radius_m).covered, expected)


@settings(max_examples=40, deadline=None)
@given(scenarios(), st.sampled_from([100, 200, 350]))
def test_median_and_p90_equal_np_quantile_of_brute_force(grids, scenario, cell_m):
    lon, lat, _ = scenario
    grid = grids[cell_m]
    sx, sy = grid.project(lon, lat)
    distance = brute_distance(sx, sy, grid.x, grid.y)
    quantiles = (0.5, 0.9, 0.0, 1.0, 0.37)
    found = district_quantiles(grid, sx, sy, quantiles)
    for position in range(len(grid.districts)):
        expected = np.quantile(distance[grid.district == position], quantiles)
        np.testing.assert_allclose(found[position], expected, rtol=1e-9, atol=1e-9)


def test_dense_stations_many_cells_left_to_the_tree(grids):
    """3,000 stations in tight clumps at 100 m cells: most band cells are not settled by the block centre's
    nearest station, so the second-station and k-d tree paths decide them; every cell and quantile still equals
    the brute force."""
    grid = grids[100]
    rng = np.random.default_rng(7)
    west, south, east, north = BOUNDS
    centres = rng.uniform([west, south], [east, north], (40, 2))
    pick = rng.integers(0, 40, 3000)
    lon, lat = centres[pick, 0] + rng.normal(0, 0.004, 3000), centres[pick, 1] + rng.normal(0, 0.004, 3000)
    sx, sy = grid.project(lon, lat)
    distance = brute_distance(sx, sy, grid.x, grid.y)
    quantiles = (0.5, 0.9, 0.01, 0.99)
    for radius_m in (150.0, 333.3, 1000.0):
        core = coverage_core(grid, sx, sy, radius_m, quantiles)
        np.testing.assert_array_equal(core.covered[grid.row, grid.col], distance <= radius_m)
        assert not core.covered[~grid.inside].any()
    for position in range(len(grid.districts)):
        expected = np.quantile(distance[grid.district == position], quantiles)
        np.testing.assert_allclose(core.quantiles[position], expected, rtol=1e-9, atol=1e-9)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 5000, allow_nan=False), min_size=1, max_size=300),
    st.data(),
)
def test_rank_bounds_hold_the_order_statistic(values, data):
    """Given [low, high] holding the rank-th smallest value, the histogram's bounds hold it too and stay within."""
    array = np.array(values)
    rank = data.draw(st.integers(0, array.size - 1))
    target = float(np.sort(array)[rank])
    low = target - data.draw(st.floats(0, 3000))
    high = target + data.draw(st.floats(0, 3000))
    lower, upper = _rank_bounds(array.copy(), rank, low, high)
    assert low <= lower <= target <= upper <= high
    width, allowance = max(1.0, (high - low) / 8192), 1e-6 * (1.0 + abs(low) + abs(high))
    assert upper - lower <= width + 3 * allowance  # one bin: the band it selects stays narrow


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 40), st.integers(1, 40), st.integers(0, 2**32 - 1))
def test_blown_up_equals_repeating_each_block(rows, cols, seed):
    state = np.random.default_rng(seed).random((rows, cols)) < 0.5
    expected = np.repeat(np.repeat(state, 4, axis=0), 4, axis=1)
    np.testing.assert_array_equal(_blown_up(state), expected)


def test_quantiles_without_stations_are_infinite(grids):
    found = district_quantiles(grids[200], np.array([]), np.array([]), (0.5, 0.9))
    assert np.isinf(found).all()


@settings(max_examples=15, deadline=None)
@given(scenarios(max_stations=200))
def test_share_within_a_tenth_of_a_point_of_the_exact_union_of_discs(grids, scenario):
    """At 25 m cells each district's covered share is within 0.1 percentage point of the exact area of
    (union of discs) ∩ district (256-gon discs, area error ~1e-4 relative); the engine's cells are exact, so
    what is left is the sampling of areas at cell centres."""
    lon, lat, radius_m = scenario
    radius_m = min(radius_m, 5000.0)
    grid = grids[25]
    x, y = grid.project(lon, lat)
    union = shapely.union_all(shapely.buffer(shapely.points(x, y), radius_m, quad_segs=64))
    polygons = [grid.to_plane(g) for g in grid.districts.geometries]
    exact = np.array([shapely.intersection(p, union).area / p.area for p in polygons])
    share = np.array([row.covered_share for row in compute_coverage(grid, lon, lat, radius_m).districts])
    assert np.abs(share - exact).max() <= 0.001, f"{100 * np.abs(share - exact).max():.3f} pp"
