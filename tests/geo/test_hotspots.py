"""geo.hotspots: hot spots partition the unserved demand (brute force in the grid plane), each within the radius of
its site; label points lie inside their gap and beyond the radius of every station (haversine brute force);
station counts are at least a brute-force lower bound."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial.distance import cdist

from geo.coverage import Demand, compute_coverage
from geo.gaps import find_gaps
from geo.grid import Grid
from geo.hotspots import HotSpots, find_hotspots, gap_labels
from geo.siting import SitingProblem, exact_cover
from tests.geo.test_gaps import SMALL, brute_distance, scenarios


@pytest.fixture(scope="module")
def small_grids(districts) -> dict[int, Grid]:
    chosen = districts.subset(SMALL)
    return {cell_m: Grid.build(chosen, cell_m) for cell_m in (100, 200)}


def packing_bound(x: np.ndarray, y: np.ndarray, radius_m: float) -> int:
    """Points pairwise more than 2 × radius apart, picked greedily: no station serves two of them."""
    picked: list[int] = []
    for i in range(x.size):
        if all(math.hypot(x[i] - x[j], y[i] - y[j]) > 2 * radius_m for j in picked):
            picked.append(i)
    return len(picked)


def check_hotspots(grid: Grid, found: HotSpots, lon, lat, radius_m: float, demand: Demand | None) -> None:
    gaps = find_gaps(compute_coverage(grid, lon, lat, radius_m, demand), lon, lat, limit=None)
    polygons = {gap.rank: grid.to_plane(gap.polygon) for gap in gaps}
    sx, sy = grid.project(np.asarray(lon, float), np.asarray(lat, float))

    # the unserved demand, by brute force: points (or cells) farther than the radius from every station
    if demand is not None:
        px, py = grid.project(demand.lon, demand.lat)
        row, col = grid.cell_of(px, py)
        inside = (row >= 0) & (grid.raster[np.maximum(row, 0), np.maximum(col, 0)] >= 0)
        far = cdist(np.column_stack((px, py)), np.column_stack((sx, sy))).min(axis=1) > radius_m
        unserved = inside & far & (demand.weight > 0)
        total = float(demand.weight[unserved].sum())
    else:
        px, py = grid.x, grid.y
        unserved = brute_distance(grid, lon, lat, grid.x, grid.y) > radius_m
        total = float(unserved.sum() * grid.cell_area_km2)
        square_m = max(grid.cell_m, radius_m / 4)

    # partition: every unserved piece in exactly one hot spot, nothing else; the demands add up
    held = np.zeros(px.size, dtype=int)
    for spot in found.spots:
        np.add.at(held, spot.members, 1)
    assert (held[unserved] == 1).all(), "an unserved point is in no hot spot, or in two"
    assert (held[~unserved] == 0).all(), "a served point is in a hot spot"
    assert sum(s.demand for s in found.spots) == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert found.unserved == pytest.approx(total, rel=1e-9, abs=1e-9)
    assert sum(g.demand for g in found.gaps) == pytest.approx(total, rel=1e-9, abs=1e-9)

    assert [s.rank for s in found.spots] == list(range(1, len(found.spots) + 1))
    assert all(a.demand >= b.demand - 1e-9 for a, b in zip(found.spots, found.spots[1:], strict=False))
    for spot in found.spots:
        x, y = grid.project(np.array([spot.site_lon]), np.array([spot.site_lat]))
        reach = np.hypot(px[spot.members] - x[0], py[spot.members] - y[0])
        if demand is not None:
            assert spot.demand == pytest.approx(float(demand.weight[spot.members].sum()), rel=1e-9)
            assert (reach <= radius_m + 0.01).all(), f"hot spot {spot.rank}: demand beyond the radius of its site"
        else:  # squares of a quarter radius: their cells within a square's diagonal more
            assert spot.demand == pytest.approx(spot.members.size * grid.cell_area_km2, rel=1e-9)
            assert (reach <= radius_m + square_m * math.sqrt(2) + 0.01).all()
        # the label: inside its gap, farther than the radius from every station (brute force in the grid plane,
        # where coverage measures; PROJ's LAEA inverse is ~1.3 mm off)
        lx, ly = grid.project(np.array([spot.label_lon]), np.array([spot.label_lat]))
        nearest = brute_distance(grid, lon, lat, lx, ly)[0]
        assert spot.nearest_station_m == pytest.approx(nearest, abs=0.01)
        assert spot.nearest_station_m > radius_m
        assert nearest > radius_m - 0.01
        if spot.gap_rank is not None:
            assert polygons[spot.gap_rank].buffer(0.01).covers(shapely.Point(lx[0], ly[0]))
            gap = gaps[spot.gap_rank - 1]
            assert (spot.adcode, spot.district) == (gap.adcode, gap.district)

    by_rank = {need.gap_rank: need for need in found.gaps if need.gap_rank is not None}
    for need in found.gaps:
        mine = [s for s in found.spots if s.gap_rank == need.gap_rank and s.adcode == need.adcode]
        assert need.stations == len(mine) and need.demand == pytest.approx(sum(s.demand for s in mine))
        assert all(s.gap_stations == need.stations for s in mine)
        # a feasible plan needs at least as many stations as any lower bound
        members = np.concatenate([s.members for s in mine])
        assert need.stations >= need.stations_at_least
        if demand is not None:
            assert need.stations >= packing_bound(px[members], py[members], radius_m)
            if 0 < members.size <= 40:  # the bound is below the optimum over the demand points as sites
                x, y = px[members], py[members]
                problem = SitingProblem.from_arrays(x, y, np.ones(x.size), x, y, radius_m)
                best = exact_cover(problem, problem.total_weight, time_limit_s=20)
                assert best.optimal and need.stations_at_least <= best.chosen.size <= need.stations
        else:
            area_m2 = members.size * grid.cell_m**2
            assert need.stations >= math.ceil(area_m2 / (math.pi * (radius_m + square_m * math.sqrt(2)) ** 2) - 1e-9)
        lx, ly = grid.project(np.array([need.label_lon]), np.array([need.label_lat]))
        assert need.nearest_station_m > radius_m
        assert brute_distance(grid, lon, lat, lx, ly)[0] > radius_m - 0.01
        if need.gap_rank is not None:
            gap = gaps[need.gap_rank - 1]
            assert need.cells == gap.cells and need.adcode == gap.adcode
            assert polygons[need.gap_rank].covers(shapely.Point(lx[0], ly[0]))
    if demand is None:  # every gap with area has its hot spots
        assert set(by_rank) == {gap.rank for gap in gaps}


@settings(max_examples=40, deadline=None)
@given(scenarios(max_stations=150))
def test_hotspots_partition_the_unserved_demand(small_grids, scenario):
    lon, lat, radius_m, demand = scenario
    grid = small_grids[200]
    found = find_hotspots(compute_coverage(grid, lon, lat, radius_m, demand), lon, lat, demand)
    assert found.weight_unit == ("km²" if demand is None else "demand")
    check_hotspots(grid, found, lon, lat, radius_m, demand)


@pytest.mark.parametrize("seed", [0, 1])
def test_hotspots_at_100m_with_demand(small_grids, seed):
    rng = np.random.default_rng(seed)
    west, south, east, north = 120.10, 30.12, 120.31, 30.41
    lon, lat = rng.uniform(west, east, 120), rng.uniform(south, north, 120)
    demand = Demand.from_arrays(rng.uniform(west, east, 3000), rng.uniform(south, north, 3000))
    grid = small_grids[100]
    found = find_hotspots(compute_coverage(grid, lon, lat, 1000, demand), lon, lat, demand)
    assert len(found.spots) > 20
    check_hotspots(grid, found, lon, lat, 1000, demand)


def test_one_district_only(small_grids):
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(120.10, 120.31, 40), rng.uniform(30.12, 30.41, 40)
    grid = small_grids[200]
    coverage = compute_coverage(grid, lon, lat, 800)
    everything = find_hotspots(coverage, lon, lat)
    mine = find_hotspots(coverage, lon, lat, adcode=SMALL[1])
    assert {s.adcode for s in mine.spots} == {SMALL[1]}
    assert mine.unserved == pytest.approx(sum(g.demand for g in everything.gaps if g.adcode == SMALL[1]))


def test_no_station_and_fully_covered(small_grids):
    grid = small_grids[200]
    far = ([121.5], [31.5])
    found = find_hotspots(compute_coverage(grid, *far, 1000), *far)
    assert found.spots and all(s.nearest_station_m > 1000 for s in found.spots)
    lon, lat = np.meshgrid(np.arange(120.0, 120.4, 0.005), np.arange(30.05, 30.5, 0.005))
    covered = find_hotspots(compute_coverage(grid, lon.ravel(), lat.ravel(), 1000), lon.ravel(), lat.ravel())
    assert covered.spots == [] and covered.gaps == [] and covered.unserved == 0


@settings(max_examples=30, deadline=None)
@given(scenarios(max_stations=150), st.sampled_from([None, *SMALL]))
def test_gap_labels_lie_inside_their_gap_beyond_the_radius(small_grids, scenario, adcode):
    lon, lat, radius_m, demand = scenario
    grid = small_grids[200]
    coverage = compute_coverage(grid, lon, lat, radius_m, demand)
    gaps = find_gaps(coverage, lon, lat, adcode=adcode, limit=None)
    labels = gap_labels(coverage, lon, lat, adcode=adcode)
    assert [label.rank for label in labels] == [gap.rank for gap in gaps]
    for gap, label in zip(gaps, labels, strict=True):
        x, y = grid.project(np.array([label.lon]), np.array([label.lat]))
        assert grid.to_plane(gap.polygon).buffer(0.01).covers(shapely.Point(x[0], y[0])), f"gap {gap.rank}"
        nearest = brute_distance(grid, lon, lat, x, y)[0]
        assert label.nearest_station_m == pytest.approx(nearest, abs=0.01) and nearest > radius_m - 0.01
        # find_gaps' own label (Gap.label, found on first use) is the same point
        own = gap.label
        assert own is not None and (own.lon, own.lat) == pytest.approx((label.lon, label.lat), abs=1e-9)
        assert own.nearest_station_m == pytest.approx(label.nearest_station_m, abs=1e-6)
        assert own.nearest_station == label.nearest_station
