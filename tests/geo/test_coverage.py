"""geo.coverage against exact and brute-force answers computed independently in the grid's plane.

The exact covered share of a district is the area of (union of station discs of radius_m) ∩ district over
the district's area, with shapely in the same local equal-area plane the grid uses.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from geo.coverage import Demand, compute_coverage
from geo.districts import Districts
from geo.grid import Grid
from stations.settings import SAMPLE_DIR

STATIONS_PATH = SAMPLE_DIR / "stations.csv"
SMALL = ("330102", "330108")  # 上城区 (120 km²) and 滨江区 (71 km²): neighbours across the Qiantang


def exact_shares(grid: Grid, lon, lat, radius_m: float) -> np.ndarray:
    """Covered share of each district: union of 256-gon discs ∩ district, in the grid plane (area error ~1e-4)."""
    x, y = grid.project(np.asarray(lon, float), np.asarray(lat, float))
    union = shapely.union_all(shapely.buffer(shapely.points(x, y), radius_m, quad_segs=64))
    polygons = [grid.to_plane(g) for g in grid.districts.geometries]
    return np.array([shapely.intersection(p, union).area / p.area for p in polygons])


def brute_nearest_m(grid: Grid, lon, lat, x, y) -> np.ndarray:
    sx, sy = grid.project(np.asarray(lon, float), np.asarray(lat, float))
    if sx.size == 0:
        return np.full(np.shape(x), np.inf)
    return cdist(np.column_stack((x, y)), np.column_stack((sx, sy))).min(axis=1)


@pytest.fixture(scope="module")
def small_grids(districts) -> dict[int, Grid]:
    chosen = districts.subset(SMALL)
    return {cell_m: Grid.build(chosen, cell_m) for cell_m in (50, 100, 200)}


@st.composite
def station_sets(draw, bounds, max_size: int = 60):
    """Random stations around (and partly outside) the districts: uniform, clustered, or with duplicates."""
    west, south, east, north = bounds
    n = draw(st.integers(1, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    pad = 0.02
    lon = rng.uniform(west - pad, east + pad, n)
    lat = rng.uniform(south - pad, north + pad, n)
    layout = draw(st.sampled_from(["uniform", "clustered", "duplicates"]))
    if layout == "clustered":
        centres = rng.integers(0, n, n)
        lon = lon[centres] + rng.normal(0, 0.01, n)
        lat = lat[centres] + rng.normal(0, 0.01, n)
    elif layout == "duplicates":
        lon, lat = np.repeat(lon[: max(1, n // 3)], 3)[:n], np.repeat(lat[: max(1, n // 3)], 3)[:n]
    return lon, lat


def small_bounds(districts: Districts) -> tuple[float, float, float, float]:
    return tuple(shapely.total_bounds(districts.subset(SMALL).geometries))


BOUNDS = (120.10, 30.12, 120.31, 30.41)  # roughly 上城区 ∪ 滨江区 (checked in test_bounds_cover_small)
radii = st.floats(300, 2500)


def test_bounds_cover_small(districts):
    west, south, east, north = small_bounds(districts)
    assert BOUNDS[0] <= west and BOUNDS[1] <= south and east <= BOUNDS[2] and north <= BOUNDS[3]


# --------------------------------------------------------------------------- the acceptance test


@settings(max_examples=25)
@given(station_sets(BOUNDS), radii)
def test_covered_share_matches_exact_union_of_discs(small_grids, stations, radius_m):
    """Within 1 percentage point of the exact share at 100 m cells; 50 m is no worse than 200 m (+slack)."""
    lon, lat = stations
    exact = exact_shares(small_grids[100], lon, lat, radius_m)
    errors = {}
    for cell_m, grid in small_grids.items():
        share = np.array([row.covered_share for row in compute_coverage(grid, lon, lat, radius_m).districts])
        errors[cell_m] = np.abs(share - exact)
    assert errors[100].max() <= 0.01, f"100 m cells: {100 * errors[100].max():.2f} pp from exact"
    assert errors[50].max() <= 0.005
    assert errors[50].max() <= errors[200].max() + 0.002


def test_error_shrinks_with_cell_size_on_average(small_grids):
    """Mean |share − exact| over 12 seeded station sets: 200 m > 100 m > 50 m."""
    rng = np.random.default_rng(2024)
    errors: dict[int, list[float]] = {cell_m: [] for cell_m in small_grids}
    for _ in range(12):
        n = int(rng.integers(5, 60))
        lon, lat = rng.uniform(BOUNDS[0], BOUNDS[2], n), rng.uniform(BOUNDS[1], BOUNDS[3], n)
        radius_m = float(rng.uniform(400, 1500))
        exact = exact_shares(small_grids[100], lon, lat, radius_m)
        for cell_m, grid in small_grids.items():
            share = np.array([row.covered_share for row in compute_coverage(grid, lon, lat, radius_m).districts])
            errors[cell_m].extend(np.abs(share - exact))
    mean = {cell_m: float(np.mean(e)) for cell_m, e in errors.items()}
    assert mean[200] > mean[100] > mean[50], mean
    assert mean[50] < 0.002


def read_sample_stations(kind: str = "outdoor_worker") -> tuple[np.ndarray, np.ndarray]:
    with open(STATIONS_PATH, encoding="utf-8", newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if kind in r["types"].split(";")]
    return np.array([float(r["lon"]) for r in rows]), np.array([float(r["lat"]) for r in rows])


@pytest.mark.slow
def test_sample_stations_all_districts_match_exact(districts):
    """The sample's outdoor-worker stations over all 13 districts, radius 1000 m: within 1 pp at 100 m cells,
    and closer at 50 m than at 200 m on average."""
    lon, lat = read_sample_stations()
    assert lon.size > 1000
    shares, exact = {}, None
    for cell_m in (200, 100, 50):
        grid = Grid.build(districts, cell_m)
        if exact is None:
            exact = exact_shares(grid, lon, lat, 1000.0)
        coverage = compute_coverage(grid, lon, lat, 1000.0)
        shares[cell_m] = np.array([row.covered_share for row in coverage.districts])
    assert exact.min() > 0.001 and exact.max() < 0.999  # a real mix of covered and uncovered districts
    error = {cell_m: np.abs(share - exact) for cell_m, share in shares.items()}
    assert error[100].max() <= 0.01, f"{100 * error[100].max():.3f} pp"
    assert error[50].max() <= 0.005
    assert error[50].mean() <= error[200].mean()


# --------------------------------------------------------------------------- areas, distances


def test_area_is_exact_projected_area(districts):
    grid = Grid.build(districts, 500)
    lon, lat = read_sample_stations()
    coverage = compute_coverage(grid, lon[:200], lat[:200], 1000)
    for row, geometry in zip(coverage.districts, districts.geometries, strict=True):
        assert row.area_km2 == pytest.approx(grid.to_plane(geometry).area / 1e6, rel=1e-9)
        assert row.uncovered_km2 == pytest.approx(row.area_km2 * (1 - row.covered_share), rel=1e-12, abs=1e-12)
    assert [row.adcode for row in coverage.districts] == districts.adcodes
    assert [row.name for row in coverage.districts] == districts.names


@settings(max_examples=25)
@given(station_sets(BOUNDS, max_size=40), radii)
def test_distances_and_quantiles_equal_brute_force(small_grids, stations, radius_m):
    """Per-cell nearest distance, covered flag, share and the median / p90 per district, by brute force."""
    lon, lat = stations
    grid = small_grids[200]
    coverage = compute_coverage(grid, lon, lat, radius_m)
    distance = brute_nearest_m(grid, lon, lat, grid.x, grid.y)
    np.testing.assert_allclose(coverage.distance_m, distance, rtol=1e-9, atol=1e-6)
    covered = distance <= radius_m
    np.testing.assert_array_equal(coverage.covered, coverage.distance_m <= radius_m)
    raster = coverage.raster()
    np.testing.assert_array_equal(raster[grid.row, grid.col], coverage.distance_m)
    assert np.isnan(raster[grid.raster < 0]).all()
    for position, row in enumerate(coverage.districts):
        mine = grid.district == position
        assert row.covered_share == pytest.approx(covered[mine].mean(), abs=1e-12)
        median, p90 = np.quantile(distance[mine], [0.5, 0.9])
        assert row.median_distance_m == pytest.approx(median, rel=1e-9)
        assert row.p90_distance_m == pytest.approx(p90, rel=1e-9)
        assert row.demand is None and row.demand_covered_share is None


def test_no_stations_nothing_is_covered(small_grids):
    grid = small_grids[200]
    coverage = compute_coverage(grid, [], [], 1000)
    assert np.isinf(coverage.distance_m).all() and not coverage.covered.any()
    for row in coverage.districts:
        assert row.covered_share == 0.0
        assert row.uncovered_km2 == pytest.approx(row.area_km2)


def test_no_stations_distances_are_infinite(small_grids):
    coverage = compute_coverage(small_grids[200], [], [], 1000)
    for row in coverage.districts:
        assert row.median_distance_m == np.inf
        assert row.p90_distance_m == np.inf


def test_a_station_at_a_cell_centre_and_full_cover(small_grids):
    grid = small_grids[200]
    lon, lat = grid.unproject(grid.x[:1], grid.y[:1])
    coverage = compute_coverage(grid, lon, lat, 10)
    assert coverage.distance_m[0] == pytest.approx(0, abs=0.01)
    assert coverage.covered.sum() == 1
    # one station with a radius larger than the whole area covers everything
    everything = compute_coverage(grid, lon, lat, 200_000)
    assert all(row.covered_share == 1.0 and row.uncovered_km2 == 0.0 for row in everything.districts)


# --------------------------------------------------------------------------- demand


@st.composite
def demand_sets(draw, bounds, max_size: int = 300):
    """Demand points over (and beyond) the districts, weights ≥ 0 including zeros."""
    west, south, east, north = bounds
    n = draw(st.integers(0, max_size))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    lon = rng.uniform(west - 0.05, east + 0.05, n)
    lat = rng.uniform(south - 0.05, north + 0.05, n)
    weight = rng.exponential(10, n) * (rng.random(n) > 0.2)
    return Demand.from_arrays(lon, lat, weight if draw(st.booleans()) else None)


@settings(max_examples=30)
@given(station_sets(BOUNDS, max_size=40), demand_sets(BOUNDS), radii)
def test_demand_share_equals_brute_force(small_grids, stations, demand, radius_m):
    """Served demand = weights of points within radius_m of some station (the point itself, in the plane),
    per district of the point's grid cell, over that district's total demand."""
    lon, lat = stations
    grid = small_grids[100]
    coverage = compute_coverage(grid, lon, lat, radius_m, demand=demand)
    dx, dy = grid.project(demand.lon, demand.lat)
    row, col = grid.cell_of(dx, dy)
    owner = np.array([grid.raster[r, c] if r >= 0 else -1 for r, c in zip(row, col, strict=True)])
    served = brute_nearest_m(grid, lon, lat, dx, dy) <= radius_m
    for position, district in enumerate(coverage.districts):
        mine = owner == position
        total = demand.weight[mine].sum()
        assert district.demand == pytest.approx(total, rel=1e-12, abs=1e-12)
        if total > 0:
            assert district.demand_covered_share == pytest.approx(
                demand.weight[mine & served].sum() / total, rel=1e-12, abs=1e-12
            )
        else:
            assert district.demand_covered_share is None
    # the per-cell demand kept for gap ranking: only points inside some district
    assert coverage.demand_weight is not None and coverage.demand_cell is not None
    assert coverage.demand_weight.sum() == pytest.approx(demand.weight[owner >= 0].sum(), rel=1e-12, abs=1e-12)


def test_demand_outside_every_district_is_ignored(small_grids):
    grid = small_grids[200]
    demand = Demand.from_arrays([121.5, 119.0], [31.5, 29.0], [5.0, 7.0])
    coverage = compute_coverage(grid, [120.2], [30.25], 1000, demand=demand)
    assert all(row.demand == 0.0 and row.demand_covered_share is None for row in coverage.districts)


@pytest.mark.parametrize("bad", [-1.0, -1e-300, float("nan"), float("inf")])
def test_bad_demand_weight_is_a_value_error(bad):
    with pytest.raises(ValueError, match="weight"):
        Demand.from_arrays([120.1, 120.2], [30.2, 30.3], [1.0, bad])


def test_demand_lengths_must_agree():
    with pytest.raises(ValueError, match="length"):
        Demand.from_arrays([120.1, 120.2], [30.2], [1.0, 2.0])


@pytest.mark.parametrize("radius_m", [0, -5, float("nan"), float("inf")])
def test_bad_radius_is_a_value_error(small_grids, radius_m):
    with pytest.raises(ValueError, match="radius_m"):
        compute_coverage(small_grids[200], [120.2], [30.25], radius_m)


def test_doctest_square():
    from shapely.geometry import box

    grid = Grid.build(Districts(["1"], ["square"], [box(120.0, 30.0, 120.1, 30.1)]), cell_m=100)
    row = compute_coverage(grid, [120.05], [30.05], radius_m=1000).districts[0]
    assert row.covered_share == pytest.approx(np.pi / row.area_km2, abs=0.002)
