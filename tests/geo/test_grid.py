"""geo.grid: the scanline raster is exactly "which district contains the cell centre" (shapely, in the plane)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import MultiPolygon, Polygon, box

from geo.districts import Districts
from geo.grid import DEFAULT_MAX_CELLS, Grid, GridTooLarge, _scanline_fill

# a cell centre this close to a district boundary may fall either way (shapely: boundary is not "contained")
BOUNDARY_TIE_M = 1e-6
BASE_LON, BASE_LAT = 120.15, 30.25  # Hangzhou
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0 * math.cos(math.radians(BASE_LAT))


def to_lonlat(geometry: shapely.Geometry) -> shapely.Geometry:
    """Local metres (around BASE_LON, BASE_LAT) → WGS84 degrees; any smooth map will do, the grid re-projects."""
    return shapely.transform(
        geometry, lambda xy: np.column_stack((BASE_LON + xy[:, 0] / M_PER_DEG_LON, BASE_LAT + xy[:, 1] / M_PER_DEG_LAT))
    )


def raster_centres(grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    ny, nx = grid.shape
    col, row = np.meshgrid(np.arange(nx), np.arange(ny))
    return grid.x0 + (col + 0.5) * grid.cell_m, grid.y0 + (row + 0.5) * grid.cell_m


def expected_owner(planar_geometries: list[shapely.Geometry], x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """First district (in order) whose polygon contains each point, -1 where none does."""
    owner = np.full(x.shape, -1, dtype=np.int64)
    for position, geometry in enumerate(planar_geometries):
        shapely.prepare(geometry)
        inside = shapely.contains_xy(geometry, x, y)
        owner[inside & (owner < 0)] = position
    return owner


def assert_raster_matches_shapely(planar_geometries: list[shapely.Geometry], x, y, got) -> None:
    """``got`` (raster owners at points x, y) equals the shapely answer except at centres on a boundary."""
    want = expected_owner(planar_geometries, x, y)
    wrong = np.flatnonzero(got.ravel() != want.ravel())
    if wrong.size:
        boundaries = shapely.union_all([g.boundary for g in planar_geometries])
        gap = shapely.distance(shapely.points(x.ravel()[wrong], y.ravel()[wrong]), boundaries)
        assert gap.max() <= BOUNDARY_TIE_M, (
            f"{wrong.size} cells disagree with shapely, up to {gap.max():.3f} m from any boundary"
        )


# --------------------------------------------------------------------------- random polygons (metres)


@st.composite
def star_polygon(draw, cx: float, cy: float, r_max: float) -> Polygon:
    """A simple polygon, concave in general: vertices at increasing angles around (cx, cy), random radii."""
    n = draw(st.integers(3, 24))
    angles = np.sort(draw(st.lists(st.floats(0, 2 * math.pi, exclude_max=True), min_size=n, max_size=n, unique=True)))
    radii = np.array(draw(st.lists(st.floats(0.15, 1.0), min_size=n, max_size=n))) * r_max
    polygon = Polygon(np.column_stack((cx + radii * np.cos(angles), cy + radii * np.sin(angles))))
    if not polygon.is_valid or polygon.area < (0.01 * r_max) ** 2:
        polygon = box(cx - r_max / 2, cy - r_max / 3, cx + r_max / 2, cy + r_max / 3)
    return polygon


@st.composite
def convex_polygon(draw, r_max: float) -> Polygon:
    n = draw(st.integers(3, 30))
    xy = draw(st.lists(st.tuples(st.floats(-r_max, r_max), st.floats(-r_max, r_max)), min_size=n, max_size=n))
    hull = shapely.MultiPoint(xy).convex_hull
    if hull.geom_type != "Polygon" or hull.area < (0.01 * r_max) ** 2:
        return box(-r_max / 2, -r_max / 4, r_max / 3, r_max / 2)
    return hull


@st.composite
def polygon_with_holes(draw, r_max: float) -> Polygon:
    outer = draw(star_polygon(0.0, 0.0, r_max))
    holes = []
    for hole_cx, hole_cy in draw(st.lists(st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)), max_size=3)):
        hole = draw(star_polygon(hole_cx * r_max, hole_cy * r_max, r_max * 0.3))
        if outer.contains(hole) and all(hole.disjoint(h) for h in holes):
            holes.append(hole)
    if not holes:  # at least one hole: a small square around an interior point
        point = outer.representative_point()
        size = min(r_max * 0.02, math.sqrt(outer.area) * 0.05)
        hole = box(point.x - size, point.y - size, point.x + size, point.y + size)
        if outer.contains(hole):
            holes.append(hole)
    return Polygon(outer.exterior.coords, [h.exterior.coords for h in holes])


@st.composite
def multipolygon(draw, r_max: float) -> MultiPolygon:
    """Two to four star polygons on well-separated centres (so they are disjoint)."""
    k = draw(st.integers(2, 4))
    parts = [draw(star_polygon(i * 2.2 * r_max, (i % 2) * 0.7 * r_max, r_max)) for i in range(k)]
    return MultiPolygon(parts)


@st.composite
def district_sets(draw) -> list[shapely.Geometry]:
    """One to three districts in metres: a random polygon (convex, concave, holed or multi), optionally
    split by a random line into districts sharing a border, plus optionally an overlapping extra district."""
    r_max = draw(st.floats(800, 6000))
    kind = draw(st.sampled_from(["convex", "concave", "holes", "multi"]))
    strategy = {
        "convex": convex_polygon(r_max),
        "concave": star_polygon(0.0, 0.0, r_max),
        "holes": polygon_with_holes(r_max),
        "multi": multipolygon(r_max),
    }[kind]
    geometry = draw(strategy)
    districts = [geometry]
    if draw(st.booleans()):  # split along a random line into two districts with a shared border
        angle = draw(st.floats(0, math.pi))
        centre = geometry.centroid
        far = 100 * r_max
        dx, dy = math.cos(angle) * far, math.sin(angle) * far
        half = Polygon(
            [
                (centre.x - dx, centre.y - dy),
                (centre.x + dx, centre.y + dy),
                (centre.x + dx - dy, centre.y + dy + dx),
                (centre.x - dx - dy, centre.y - dy + dx),
            ]
        )
        pieces = [geometry.intersection(half), geometry.difference(half)]
        pieces = [p for p in pieces if not p.is_empty and p.area > 0 and p.geom_type in ("Polygon", "MultiPolygon")]
        if len(pieces) == 2:
            districts = pieces
    if draw(st.booleans()):  # an overlapping district listed later: cells in both belong to the first
        districts.append(draw(star_polygon(r_max * 0.3, r_max * 0.2, r_max * 0.6)))
    return districts


def make_districts(geometries_m: list[shapely.Geometry]) -> Districts:
    names = [f"d{i}" for i in range(len(geometries_m))]
    return Districts([str(330100 + i) for i in range(len(geometries_m))], names, [to_lonlat(g) for g in geometries_m])


# --------------------------------------------------------------------------- scanline = contains_xy


@settings(max_examples=60)
@given(district_sets(), st.floats(0.004, 0.05))
def test_raster_equals_shapely_on_random_polygons(geometries_m, relative_cell):
    """Every raster cell (inside or not) is owned by the first district whose projected polygon contains its
    centre: convex, concave, holed and multi-part polygons, shared borders and overlaps."""
    districts = make_districts(geometries_m)
    extent = max(np.ptp(np.asarray(shapely.total_bounds(geometries_m)).reshape(2, 2), axis=0))
    grid = Grid.build(districts, cell_m=relative_cell * extent)
    in_plane = [grid.to_plane(g) for g in districts.geometries]
    x, y = raster_centres(grid)
    assert_raster_matches_shapely(in_plane, x, y, grid.raster)
    # the flat arrays list exactly the inside cells, in raster order, with their centres and owners
    assert grid.n_cells == int((grid.raster >= 0).sum())
    np.testing.assert_array_equal(grid.district, grid.raster[grid.row, grid.col])
    np.testing.assert_allclose(grid.x, x[grid.row, grid.col], rtol=0, atol=1e-9)
    np.testing.assert_allclose(grid.y, y[grid.row, grid.col], rtol=0, atol=1e-9)
    # the raster spans the projected districts' bounds
    west, south, east, north = shapely.total_bounds(in_plane)
    assert grid.x0 == pytest.approx(west) and grid.y0 == pytest.approx(south)
    assert grid.x0 + grid.shape[1] * grid.cell_m >= east and grid.y0 + grid.shape[0] * grid.cell_m >= north


half_cells = st.integers(-40, 40).map(lambda k: k / 2)  # vertices on cell corners, edge midpoints and centres


@settings(max_examples=150)
@given(st.lists(st.tuples(half_cells, half_cells), min_size=3, max_size=12, unique=True), st.booleans())
def test_scanline_on_degenerate_lattice_polygons(vertices, as_hull):
    """Vertices exactly on cell-centre rows and columns, horizontal edges through centres: the even-odd
    pairing must never break (a broken pairing fills or empties a whole run of cells far from any edge)."""
    geometry = shapely.MultiPoint(vertices).convex_hull if as_hull else shapely.make_valid(Polygon(vertices))
    polygons = [g for g in getattr(geometry, "geoms", [geometry]) if g.geom_type == "Polygon" and g.area > 0]
    if not polygons:
        return
    geometry = MultiPolygon(polygons) if len(polygons) > 1 else polygons[0]
    x0, y0, cell_m, nx, ny = -21.0, -21.0, 1.0, 43, 43
    row0, col0, window = _scanline_fill(geometry, x0, y0, cell_m, nx, ny)
    inside = np.zeros((ny, nx), dtype=bool)
    inside[row0 : row0 + window.shape[0], col0 : col0 + window.shape[1]] = window  # the window fits the raster
    col, row = np.meshgrid(np.arange(nx), np.arange(ny))
    x, y = x0 + (col + 0.5) * cell_m, y0 + (row + 0.5) * cell_m
    want = shapely.contains_xy(geometry, x, y)
    off_boundary = shapely.distance(shapely.points(x.ravel(), y.ravel()), geometry.boundary).reshape(x.shape) > 1e-9
    np.testing.assert_array_equal(inside[off_boundary], want[off_boundary])


def test_raster_equals_shapely_on_real_districts(districts):
    """All 13 Hangzhou districts at 100 m: 200,000 random raster cells against shapely in the plane."""
    grid = Grid.build(districts, cell_m=100)
    in_plane = [grid.to_plane(g) for g in districts.geometries]
    rng = np.random.default_rng(13)
    row = rng.integers(0, grid.shape[0], 200_000)
    col = rng.integers(0, grid.shape[1], 200_000)
    x, y = grid.x0 + (col + 0.5) * grid.cell_m, grid.y0 + (row + 0.5) * grid.cell_m
    got = grid.raster[row, col]
    assert (got >= 0).mean() > 0.3  # the sample hits the districts, not only the bounding box
    assert set(np.unique(got[got >= 0])) == set(range(len(districts)))
    assert_raster_matches_shapely(in_plane, x, y, got)


def test_district_areas_are_exact_and_cells_converge(districts):
    """district_area_km2 is shapely's area in the plane; cells × cell area tends to it as cells shrink."""
    errors = []
    for cell_m in (800, 400, 200, 100):
        grid = Grid.build(districts, cell_m=cell_m)
        in_plane = [grid.to_plane(g) for g in districts.geometries]
        np.testing.assert_allclose(grid.district_area_km2, shapely.area(in_plane) / 1e6, rtol=1e-12)
        cells = np.bincount(grid.district, minlength=len(districts))
        relative = np.abs(cells * grid.cell_area_km2 - grid.district_area_km2) / grid.district_area_km2
        errors.append(relative)
    errors = np.array(errors)
    assert errors[-1].max() < 0.002  # 100 m: within 0.2% for every district (the smallest is ~72 km²)
    assert errors[-1].sum() < errors[0].sum() / 4  # shrinking cells 8× shrinks the total error a lot
    # the total over all districts is better still (boundary errors largely cancel)
    total = np.array([abs(e) for e in errors.sum(axis=1)])
    assert total[-1] < total[0]


@settings(max_examples=40)
@given(district_sets(), st.floats(0.01, 0.05))
def test_cell_area_error_is_bounded_by_the_boundary_strip(geometries_m, relative_cell):
    """|cells × cell area − area| ≤ area of the strip within one cell diagonal of the boundary, per district,
    so the cell count converges to the polygon area as cells shrink; at a quarter of the cell size the
    bound is (about) a quarter."""
    districts = make_districts(geometries_m[:1])  # one district: no ownership rule involved
    extent = max(np.ptp(np.asarray(shapely.total_bounds(geometries_m[:1])).reshape(2, 2), axis=0))
    for cell_m in (relative_cell * extent, relative_cell * extent / 4):
        grid = Grid.build(districts, cell_m=cell_m)
        polygon = grid.to_plane(districts.geometries[0])
        strip = polygon.boundary.buffer(cell_m * math.sqrt(2), quad_segs=4).area
        error = abs(grid.n_cells * cell_m**2 - polygon.area)
        assert error <= strip + 1e-6 * polygon.area
        assert grid.district_area_km2[0] == pytest.approx(polygon.area / 1e6, rel=1e-12)


def test_doctest_square():
    grid = Grid.build(Districts(["1"], ["square"], [box(120.0, 30.0, 120.01, 30.01)]), cell_m=100)
    assert grid.n_cells == 110
    assert grid.cell_area_km2 == pytest.approx(0.01)


# --------------------------------------------------------------------------- grid size guard and bad sizes


def suggested_cell_m(error: GridTooLarge) -> float:
    match = re.search(r"use cell_m ≥ ([0-9.]+)", str(error))
    assert match, f"no suggestion in {error}"
    return float(match.group(1))


def test_grid_too_large_message_and_default_suggestion_fits(districts):
    """Hangzhou (~16,800 km²) at 10 m is 3.5e10 cells: refused, with a cell size that fits the default limit."""
    with pytest.raises(GridTooLarge) as caught:
        Grid.build(districts, cell_m=10)
    assert isinstance(caught.value, ValueError)
    message = str(caught.value)
    assert "cell_m=10" in message and f"{DEFAULT_MAX_CELLS:,}" in message
    suggestion = suggested_cell_m(caught.value)
    assert suggestion > 10
    grid = Grid.build(districts, cell_m=suggestion)
    assert grid.raster.size <= DEFAULT_MAX_CELLS
    # and the suggestion is not wastefully coarse: 10% finer no longer fits
    with pytest.raises(GridTooLarge):
        Grid.build(districts, cell_m=suggestion * 0.9)


@pytest.mark.parametrize("max_cells", [20_000_000, 1_000_000])
def test_suggestion_fits_other_limits(districts, max_cells):
    with pytest.raises(GridTooLarge) as caught:
        Grid.build(districts, cell_m=25, max_cells=max_cells)
    grid = Grid.build(districts, cell_m=suggested_cell_m(caught.value), max_cells=max_cells)
    assert grid.raster.size <= max_cells


def test_suggestion_fits_a_small_limit(districts):
    with pytest.raises(GridTooLarge) as caught:
        Grid.build(districts, cell_m=10, max_cells=100_000)
    grid = Grid.build(districts, cell_m=suggested_cell_m(caught.value), max_cells=100_000)
    assert grid.raster.size <= 100_000


@pytest.mark.parametrize("max_cells", [10, 100, 1000, 12_345])
def test_suggestion_fits_a_small_box(max_cells):
    """A 4.8 km × 1.1 km box at 10 m (54,096 cells): every suggestion here gives a few cells too many,
    e.g. max_cells=12,345 suggests 21 m → 12,420 cells."""
    districts = Districts(["1"], ["box"], [box(120.0, 30.0, 120.05, 30.0101)])
    with pytest.raises(GridTooLarge) as caught:
        Grid.build(districts, cell_m=10, max_cells=max_cells)
    grid = Grid.build(districts, cell_m=suggested_cell_m(caught.value), max_cells=max_cells)
    assert grid.raster.size <= max_cells


@pytest.mark.parametrize("cell_m", [0, -1, -0.001, float("nan"), float("inf"), float("-inf")])
def test_bad_cell_size_is_a_value_error(districts, cell_m):
    with pytest.raises(ValueError, match="cell_m"):
        Grid.build(districts, cell_m=cell_m)


def test_project_unproject_round_trip_and_cell_of(districts):
    grid = Grid.build(districts, cell_m=500)
    lon, lat = grid.unproject(grid.x, grid.y)
    x, y = grid.project(lon, lat)
    # PROJ 9.5's ellipsoidal LAEA inverse is not exact: a constant ~1.3 mm northing offset at lat 30°
    np.testing.assert_allclose(x, grid.x, rtol=0, atol=1e-4)
    np.testing.assert_allclose(y, grid.y, rtol=0, atol=5e-3)
    row, col = grid.cell_of(grid.x, grid.y)
    np.testing.assert_array_equal(row, grid.row)
    np.testing.assert_array_equal(col, grid.col)
    row, col = grid.cell_of(np.array([grid.x0 - 1.0, grid.x0 + 1.0]), np.array([grid.y0 + 1.0, grid.y0 - 1e6]))
    assert row.tolist() == [-1, -1] and col.tolist() == [-1, -1]
    # each centre falls in the district its cell belongs to (checked via shapely on a sample)
    sample = np.random.default_rng(0).choice(grid.n_cells, 2000, replace=False)
    located = districts.locate(lon[sample], lat[sample])
    assert (located == grid.district[sample]).mean() > 0.99
