"""geo.gaps: gaps are exactly the 8-connected components of each district's uncovered cells, checked by brute
force in the grid plane; ranking, polygons, centroids and nearest stations checked independently."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage
from scipy.spatial.distance import cdist
from shapely.geometry import box

from geo.coverage import Coverage, Demand, compute_coverage
from geo.distance import EARTH_RADIUS_M, haversine_m
from geo.districts import Districts
from geo.gaps import Gap, _label_sums, find_gaps
from geo.grid import Grid

SMALL = ("330102", "330108")  # 上城区 and 滨江区: they share a ~10 km border
BOUNDS = (120.10, 30.12, 120.31, 30.41)
EIGHT = np.ones((3, 3), dtype=bool)


@pytest.fixture(scope="module")
def small_grids(districts) -> dict[int, Grid]:
    chosen = districts.subset(SMALL)
    return {cell_m: Grid.build(chosen, cell_m) for cell_m in (100, 200)}


@st.composite
def scenarios(draw, max_stations: int = 400):
    """Stations (uniform or clustered, some outside the districts), a radius, and optionally demand."""
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = int(rng.integers(1, draw(st.sampled_from([10, max_stations, max_stations]))))
    west, south, east, north = BOUNDS
    lon, lat = rng.uniform(west - 0.02, east + 0.02, n), rng.uniform(south - 0.02, north + 0.02, n)
    if draw(st.booleans()):
        centres = rng.integers(0, n, n)
        lon, lat = lon[centres] + rng.normal(0, 0.01, n), lat[centres] + rng.normal(0, 0.01, n)
    # a radius that covers 20-95% of the area (Poisson estimate), so that there are many gaps of all sizes
    area_m2 = (east - west + 0.04) * 96_000 * (north - south + 0.04) * 111_000
    target = rng.uniform(0.2, 0.95)
    radius_m = float(np.clip(np.sqrt(-np.log1p(-target) * area_m2 / (n * np.pi)), 150, 6000))
    demand = None
    if draw(st.booleans()):
        m = draw(st.integers(0, 400))
        weight = rng.exponential(5, m) * (rng.random(m) > 0.3)
        demand = Demand.from_arrays(rng.uniform(west, east, m), rng.uniform(south, north, m), weight)
    return lon, lat, radius_m, demand


def gap_labels(grid: Grid, gaps: list[Gap]) -> np.ndarray:
    """Which gap (index into ``gaps``) each inside cell belongs to, from the gap polygons alone; -1 for none.
    Asserts the polygons hold exactly ``gap.cells`` cell centres each and never share one."""
    label = np.full(grid.n_cells, -1)
    for k, gap in enumerate(gaps):
        inside = shapely.contains_xy(grid.to_plane(gap.polygon), grid.x, grid.y)
        assert inside.sum() == gap.cells, f"gap {gap.rank}: polygon holds {inside.sum()} cells, says {gap.cells}"
        assert (label[inside] == -1).all(), f"gap {gap.rank} overlaps an earlier gap"
        label[inside] = k
    return label


def brute_distance(grid: Grid, lon, lat, x, y) -> np.ndarray:
    sx, sy = grid.project(np.asarray(lon, float), np.asarray(lat, float))
    return cdist(np.column_stack((x, y)), np.column_stack((sx, sy))).min(axis=1)


def check_gaps(coverage: Coverage, gaps: list[Gap], lon, lat, demand: Demand | None) -> None:
    """Every property of a complete (limit=None) list of gaps over all districts."""
    grid, radius_m = coverage.grid, coverage.radius_m
    label = gap_labels(grid, gaps)
    distance = brute_distance(grid, lon, lat, grid.x, grid.y)
    # gap cells are farther than radius_m from every station; covered cells are in no gap; together: partition
    assert (distance[label >= 0] > radius_m).all()
    assert (label[distance <= radius_m] == -1).all()
    assert ((label >= 0) == (distance > radius_m)).all()
    for position, adcode in enumerate(grid.districts.adcodes):
        mine = grid.district == position
        assert sum(g.cells for g in gaps if g.adcode == adcode) == int((distance[mine] > radius_m).sum())

    raster = np.full(grid.shape, -1)
    raster[grid.row, grid.col] = label
    for k, gap in enumerate(gaps):
        cells = label == k
        position = grid.districts.position(gap.adcode)
        # never crosses a district border
        assert (grid.district[cells] == position).all()
        assert gap.district == grid.districts.names[position]
        # one 8-connected piece, and maximal: no other uncovered cell of the district touches it
        mask = raster == k
        assert ndimage.label(mask, structure=EIGHT)[1] == 1
        ring = ndimage.binary_dilation(mask, structure=EIGHT) & ~mask
        neighbours = raster[ring]
        same_district = grid.raster[ring] == position
        assert (neighbours[same_district] == -1).all(), "two gaps of one district touch: should be one gap"
        # area: cells × cell area, and the polygon's area in the plane says the same
        assert gap.area_km2 == pytest.approx(gap.cells * grid.cell_area_km2, rel=1e-12)
        assert grid.to_plane(gap.polygon).area == pytest.approx(gap.cells * grid.cell_m**2, rel=1e-9)
        # centroid: the mean of the gap's cell centres (PROJ's LAEA inverse is ~1.3 mm off)
        cx, cy = grid.project(gap.centroid_lon, gap.centroid_lat)
        assert float(cx) == pytest.approx(grid.x[cells].mean(), abs=0.01)
        assert float(cy) == pytest.approx(grid.y[cells].mean(), abs=0.01)
        # nearest station: the great-circle nearest to the centroid, at its great-circle distance
        great_circle = haversine_m(gap.centroid_lon, gap.centroid_lat, lon, lat)
        assert gap.nearest_station_m == pytest.approx(great_circle.min(), rel=1e-9)
        assert great_circle[gap.nearest_station] == pytest.approx(great_circle.min(), rel=1e-9)

    assert [g.rank for g in gaps] == list(range(1, len(gaps) + 1))
    cells = np.array([g.cells for g in gaps])
    if demand is None:
        assert all(g.demand is None for g in gaps)
        assert (np.diff(cells) <= 0).all(), "without demand, gaps are ranked by area"
    else:
        dx, dy = grid.project(demand.lon, demand.lat)
        row, col = grid.cell_of(dx, dy)
        at = np.where(row >= 0, raster[row, col], -1)
        expected = np.array([demand.weight[at == k].sum() for k in range(len(gaps))])
        got = np.array([g.demand for g in gaps])
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-9)
        assert (np.diff(got) <= 0).all(), "with demand, gaps are ranked by uncovered demand"
        ties = np.diff(got) == 0
        assert (np.diff(cells)[ties] <= 0).all(), "equal demand: larger area first"


@settings(max_examples=60)
@given(scenarios())
def test_gaps_are_the_connected_uncovered_cells(small_grids, scenario):
    lon, lat, radius_m, demand = scenario
    coverage = compute_coverage(small_grids[200], lon, lat, radius_m, demand=demand)
    gaps = find_gaps(coverage, lon, lat, limit=None)
    check_gaps(coverage, gaps, lon, lat, demand)


@pytest.mark.parametrize("seed", [0, 1])
def test_gaps_at_100m_with_demand(small_grids, seed):
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(BOUNDS[0], BOUNDS[2], 300), rng.uniform(BOUNDS[1], BOUNDS[3], 300)
    demand = Demand.from_arrays(rng.uniform(BOUNDS[0], BOUNDS[2], 5000), rng.uniform(BOUNDS[1], BOUNDS[3], 5000))
    coverage = compute_coverage(small_grids[100], lon, lat, 1000, demand=demand)
    gaps = find_gaps(coverage, lon, lat, limit=None)
    assert len(gaps) > 20
    check_gaps(coverage, gaps, lon, lat, demand)


@settings(max_examples=30)
@given(scenarios(), st.integers(0, 8))
def test_limit_and_adcode(small_grids, scenario, limit):
    """limit keeps the first ``limit`` gaps of the full ranking; adcode keeps that district's gaps, in order."""
    lon, lat, radius_m, demand = scenario
    coverage = compute_coverage(small_grids[200], lon, lat, radius_m, demand=demand)
    everything = find_gaps(coverage, lon, lat, limit=None)
    key = [(g.adcode, g.cells, g.demand, g.centroid_lon, g.centroid_lat) for g in everything]
    limited = find_gaps(coverage, lon, lat, limit=limit)
    assert len(limited) == min(limit, len(everything))
    assert [(g.adcode, g.cells, g.demand, g.centroid_lon, g.centroid_lat) for g in limited] == key[:limit]
    assert len(find_gaps(coverage, lon, lat)) == min(20, len(everything))  # the default limit is 20
    for adcode in SMALL:
        mine = find_gaps(coverage, lon, lat, adcode=adcode, limit=None)
        assert all(g.adcode == adcode for g in mine)
        assert [g.rank for g in mine] == list(range(1, len(mine) + 1))
        # the same gaps as in the full list (ranking within one district may differ only among exact ties)
        assert sorted(k[1:] for k in key if k[0] == adcode) == sorted(
            (g.cells, g.demand, g.centroid_lon, g.centroid_lat) for g in mine
        )
        assert len(find_gaps(coverage, lon, lat, adcode=adcode, limit=1)) == min(1, len(mine))


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 30), st.integers(1, 30), st.integers(0, 6), st.integers(0, 2**32 - 1))
def test_label_sums_equal_counting_cell_by_cell(rows, cols, count, seed):
    """Cells, row sums and column sums per label from the row runs equal a count over every cell."""
    labels = np.random.default_rng(seed).integers(0, count + 1, (rows, cols)).astype(np.int32)
    cells, sum_row, sum_col = _label_sums(labels, count)
    row, col = np.indices(labels.shape)
    for label in range(1, count + 1):
        mine = labels == label
        assert cells[label - 1] == mine.sum()
        assert sum_row[label - 1] == row[mine].sum()
        assert sum_col[label - 1] == col[mine].sum()


def test_unknown_adcode_is_a_key_error(small_grids):
    coverage = compute_coverage(small_grids[200], [120.2], [30.25], 1000)
    with pytest.raises(KeyError, match="330100"):
        find_gaps(coverage, [120.2], [30.25], adcode="330100")
    with pytest.raises(KeyError):
        find_gaps(coverage, [120.2], [30.25], adcode="330106")  # a real district, but not in this grid


def test_gaps_stop_at_a_district_border():
    """Two adjacent boxes and no station anywhere near: two gaps, one per district, though the uncovered
    cells are connected across the border."""
    west = Districts(["1", "2"], ["west", "east"], [box(120.0, 30.0, 120.03, 30.02), box(120.03, 30.0, 120.06, 30.02)])
    grid = Grid.build(west, 200)
    far = ([121.0], [31.0])
    gaps = find_gaps(compute_coverage(grid, *far, 1000), *far, limit=None)
    assert sorted(g.adcode for g in gaps) == ["1", "2"]
    for gap in gaps:
        assert gap.cells == int((grid.district == grid.districts.position(gap.adcode)).sum())
        assert gap.nearest_station == 0
        assert gap.nearest_station_m == pytest.approx(haversine_m(gap.centroid_lon, gap.centroid_lat, *far)[0])


def test_no_station_at_all(small_grids):
    grid = small_grids[200]
    gaps = find_gaps(compute_coverage(grid, [], [], 1000), [], [], limit=None)
    assert sum(g.cells for g in gaps) == grid.n_cells
    assert all(g.nearest_station == -1 and g.nearest_station_m == np.inf for g in gaps)


def test_everything_covered_has_no_gaps(small_grids):
    coverage = compute_coverage(small_grids[200], [120.2], [30.25], 100_000)
    assert find_gaps(coverage, [120.2], [30.25]) == []


def test_min_cells(small_grids):
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(BOUNDS[0], BOUNDS[2], 60), rng.uniform(BOUNDS[1], BOUNDS[3], 60)
    coverage = compute_coverage(small_grids[200], lon, lat, 900)
    everything = find_gaps(coverage, lon, lat, limit=None)
    big = find_gaps(coverage, lon, lat, limit=None, min_cells=5)
    assert [g.cells for g in big] == [g.cells for g in everything if g.cells >= 5]


def test_doctest_strip():
    grid = Grid.build(Districts(["1"], ["strip"], [box(120.0, 30.0, 120.05, 30.01)]), cell_m=100)
    gaps = find_gaps(compute_coverage(grid, [120.025], [30.005], radius_m=1000), [120.025], [30.005])
    assert [g.rank for g in gaps] == [1, 2]
    assert gaps[0].cells >= gaps[1].cells
    assert sum(g.cells for g in gaps) == int((~compute_coverage(grid, [120.025], [30.005], 1000).covered).sum())
    west, east = sorted(g.centroid_lon for g in gaps)  # one gap each side of the circle
    assert west < 120.025 < east


def test_gap_polygon_is_valid_and_is_the_union_of_its_cells():
    grid = Grid.build(Districts(["1"], ["strip"], [box(120.0, 30.0, 120.05, 30.01)]), cell_m=100)
    coverage = compute_coverage(grid, [120.025], [30.005], radius_m=1000)
    gaps = find_gaps(coverage, [120.025], [30.005])
    assert len(gaps) == 2
    for gap in gaps:
        cells = shapely.contains_xy(grid.to_plane(gap.polygon), grid.x, grid.y)
        half = grid.cell_m / 2
        union = shapely.union_all(shapely.box(grid.x[cells] - half, grid.y[cells] - half, grid.x[cells] + half,
                                              grid.y[cells] + half))  # fmt: skip
        assert gap.polygon.is_valid, shapely.is_valid_reason(gap.polygon)
        # equal but for PROJ's ~1.3 mm LAEA round-trip shift along the outline
        assert grid.to_plane(gap.polygon).symmetric_difference(union).area < union.length * 0.002  # m²
        assert gap.polygon.geom_type == "Polygon"  # one 8-connected gap of a convex district: one piece


def test_nearest_station_is_the_great_circle_nearest():
    grid = Grid.build(Districts(["1"], ["square"], [box(120.15, 30.25, 120.17, 30.27)]), 100)
    far = ([121.0], [31.0])
    (gap,) = find_gaps(compute_coverage(grid, *far, 100), *far)  # nothing covered: the centroid is the squares'
    lon0, lat0 = gap.centroid_lon, gap.centroid_lat
    north = (lon0, lat0 + np.degrees(5000 / EARTH_RADIUS_M))  # 5,000 m due north
    east = (lon0 + np.degrees(4990 / EARTH_RADIUS_M / np.cos(np.radians(lat0))), lat0)  # 4,990 m due east
    lon, lat = np.array([north[0], east[0]]), np.array([north[1], east[1]])
    (gap,) = find_gaps(compute_coverage(grid, lon, lat, 100), lon, lat)
    great_circle = haversine_m(gap.centroid_lon, gap.centroid_lat, lon, lat)
    assert great_circle[1] < great_circle[0]
    assert gap.nearest_station == int(np.argmin(great_circle))
    assert gap.nearest_station_m == pytest.approx(great_circle.min())
