"""Benchmark: per-district coverage and service gaps (geo.grid, geo.coverage, geo.gaps) against the exact
shapely union-of-buffers answer, in one run.

Run from the repository root::

    .venv/bin/python bench/coverage.py                 # 1k and 10k stations, radius 1000 m, 100 m cells
    .venv/bin/python bench/coverage.py --sizes 10k --repeats 3
    .venv/bin/python bench/coverage.py --cell-m 50 --radius-m 500

Districts: the 13 Hangzhou districts of data/hangzhou/districts.geojson (~16,800 km²). Stations are
synthetic and seeded, clustered like real ones: 90% are drawn around the sample stations of
data/hangzhou/stations.csv (a random sample station plus a normal offset of 1.5 km, so they concentrate in
the urban districts), 10% uniformly over the districts' bounding box.

Timed (median of ``--repeats`` runs, perf_counter):

* (a) ``Grid.build(districts, cell_m)``: one-off per district set and cell size, reported separately;
* (b) ``compute_coverage(grid, lon, lat, radius_m)``: the per-district table;
* (c) ``find_gaps(coverage, lon, lat, limit=20)``;
* (d) the whole request: (b) then (c) — gap polygons are built on first use of ``Gap.polygon``, so (d) holds
  none; (e) times building the 20 gaps' polygons (what drawing or exporting them adds), and (d) + (e) is
  reported against the reference too;
* the reference: project the stations, ``shapely.buffer`` them (shapely's default 8 segments per quarter
  circle), ``union_all``, intersect each projected district, take areas (districts projected once,
  outside the timing, as the grid is built once). The exact shares, for accuracy, are the same with
  64 segments per quarter circle (disc area error ~1e-4 relative), timed once.

Accuracy: the largest per-district |covered share − exact share|, in percentage points. compute_coverage's
k-d tree queries run on one OpenMP thread (geo.coverage_engine sets the limit: on this shared 2-core VM a
second, spinning thread made them 2-3x slower under load).

Targets (issue 15 item 5): (d) ≥ 5x faster than the reference measured in the same run, ≤ 0.1 pp from exact.
"""

from __future__ import annotations

import argparse
import csv
import datetime
import importlib.metadata
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import numpy as np
import pyproj
import scipy
import shapely
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repo root, so `geo` imports uninstalled

from report import code_lines, machine_lines, table  # noqa: E402 - bench/ is on sys.path when a script runs

import geo.coverage  # noqa: E402
import geo.coverage_engine  # noqa: E402
import geo.gaps  # noqa: E402
import geo.grid  # noqa: E402
from geo.coverage import _district_quantiles, compute_coverage, nearest_distance_m  # noqa: E402
from geo.coverage_engine import _covered, _nearest, _quantiles, _tiles  # noqa: E402
from geo.districts import Districts  # noqa: E402
from geo.gaps import _label_windows, find_gaps  # noqa: E402
from geo.grid import Grid  # noqa: E402

DISTRICTS_PATH = ROOT / "data" / "hangzhou" / "districts.geojson"
STATIONS_PATH = ROOT / "data" / "hangzhou" / "stations.csv"
CLUSTER_SIGMA_M = 1500.0
UNIFORM_SHARE = 0.10
GAP_LIMIT = 20
TARGET_SPEED_UP = 5.0
TARGET_PP = 0.1
SIZES = {"1k": 1_000, "10k": 10_000, "100k": 100_000}

Floats = NDArray[np.float64]
T = TypeVar("T")


# --------------------------------------------------------------------------- inputs


def sample_stations() -> tuple[Floats, Floats]:
    with open(STATIONS_PATH, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return np.array([float(r["lon"]) for r in rows]), np.array([float(r["lat"]) for r in rows])


def synthetic_stations(n: int, districts: Districts, seed: int) -> tuple[Floats, Floats]:
    """``n`` stations: 90% around random sample stations (σ = 1.5 km), 10% uniform over the bounding box."""
    rng = np.random.default_rng(seed)
    base_lon, base_lat = sample_stations()
    clustered = n - round(n * UNIFORM_SHARE)
    pick = rng.integers(0, base_lon.size, clustered)
    m_per_deg_lat = 110_900.0
    m_per_deg_lon = 111_320.0 * np.cos(np.radians(base_lat[pick]))
    lon_c = base_lon[pick] + rng.normal(0, CLUSTER_SIGMA_M, clustered) / m_per_deg_lon
    lat_c = base_lat[pick] + rng.normal(0, CLUSTER_SIGMA_M, clustered) / m_per_deg_lat
    west, south, east, north = shapely.total_bounds(districts.geometries)
    lon_u = rng.uniform(west, east, n - clustered)
    lat_u = rng.uniform(south, north, n - clustered)
    return np.concatenate((lon_c, lon_u)), np.concatenate((lat_c, lat_u))


# --------------------------------------------------------------------------- the reference


def projected_districts(grid: Grid) -> list[shapely.Geometry]:
    polygons = [grid.to_plane(g) for g in grid.districts.geometries]
    shapely.prepare(polygons)
    return polygons


def union_of_buffers_shares(
    grid: Grid, polygons: Sequence[shapely.Geometry], lon: Floats, lat: Floats, radius_m: float, quad_segs: int
) -> Floats:
    """Covered share of each district: (union of station discs) ∩ district area / district area, in the
    grid's plane."""
    x, y = grid.project(lon, lat)
    union = shapely.union_all(shapely.buffer(shapely.points(x, y), radius_m, quad_segs=quad_segs))
    covered = shapely.area(shapely.intersection(np.array(polygons, dtype=object), union))
    return covered / shapely.area(np.array(polygons, dtype=object))


# --------------------------------------------------------------------------- timing


@dataclass
class Timing:
    times: list[float]
    result: object

    @property
    def median(self) -> float:
        return statistics.median(self.times)

    @property
    def best(self) -> float:
        return min(self.times)


def timed(function: Callable[[], T], repeats: int) -> Timing:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return Timing(times, result)


def breakdown(grid: Grid, lon: Floats, lat: Floats, radius_m: float, repeats: int) -> list[list[str]]:
    """Where the whole request's time goes (the steps of compute_coverage and find_gaps, timed apart; the engine's
    k-d tree queries on one OpenMP thread, as compute_coverage runs them)."""
    project = timed(lambda: grid.project(lon, lat), repeats)
    sx, sy = project.result  # type: ignore[misc]
    tiles = _tiles(grid)
    with threadpool_limits(1, user_api="openmp"):
        near_t = timed(lambda: _nearest(tiles, sx, sy), repeats)
        near = near_t.result
        covered = timed(lambda: _covered(grid, tiles, near, sx, sy, radius_m), repeats)  # type: ignore[arg-type]
        quantiles = timed(lambda: _quantiles(grid, tiles, near, sx, sy, (0.5, 0.9)), repeats)  # type: ignore[arg-type]
    coverage = compute_coverage(grid, lon, lat, radius_m)
    labels = timed(lambda: _label_windows(coverage, None), repeats)
    gaps = timed(lambda: find_gaps(coverage, lon, lat, limit=GAP_LIMIT), repeats)
    nearest = timed(lambda: nearest_distance_m(sx, sy, grid.x, grid.y), repeats)
    distance = nearest.result[0]  # type: ignore[index]
    np_quantiles = timed(lambda: _district_quantiles(grid, distance, (0.5, 0.9)), repeats)
    steps = [
        ("project stations (pyproj)", project.median),
        (f"k-d tree query at {tiles.centre_x.size:,} block centres (k=2)", near_t.median),
        ("covered cells: whole blocks + boundary band", covered.median),
        ("median / p90: block, then cell bounds + exact band", quantiles.median),
        ("gap labelling (ndimage.label per district window)", labels.median),
        ("rest of find_gaps (ranking, centroids, nearest)", gaps.median - labels.median),
        ("not in (d): k-d tree over every cell (old engine)", nearest.median),
        ("not in (d): np.quantile of those (old engine)", np_quantiles.median),
    ]
    return [[name, seconds(value)] for name, value in steps]


# --------------------------------------------------------------------------- report helpers


def machine() -> list[str]:
    versions = ", ".join(
        f"{name} {version}"
        for name, version in (
            ("python", platform.python_version()),
            ("numpy", np.__version__),
            ("scipy", scipy.__version__),
            ("shapely", shapely.__version__),
            ("GEOS", shapely.geos_version_string),
            ("pyproj", pyproj.__version__),
            ("PROJ", pyproj.proj_version_str),
            ("pykdtree", importlib.metadata.version("pykdtree")),
        )
    )
    return machine_lines(f"{versions}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}")


def seconds(value: float) -> str:
    return f"{value:.3f}" if value >= 0.01 else f"{value:.4f}"


def ratio(value: float) -> str:
    return f"{value:,.1f}x" if value >= 10 else f"{value:.2f}x"


# --------------------------------------------------------------------------- the run


def run(sizes: Sequence[str], cell_m: float, radius_m: float, repeats: int, seed: int) -> None:
    started = time.perf_counter()
    now = datetime.datetime.now(datetime.UTC)
    print("Coverage and gaps benchmark (bench/coverage.py)")
    print(f"date:    {now:%Y-%m-%d %H:%M} UTC")
    for line in machine():
        print(line)
    for line in code_lines((geo.grid, geo.coverage, geo.coverage_engine, geo.gaps)):
        print(line)
    print(f"command: python bench/coverage.py {' '.join(sys.argv[1:])}".rstrip())

    districts = Districts.from_geojson(DISTRICTS_PATH)
    build = timed(lambda: Grid.build(districts, cell_m), max(3, repeats // 2))
    grid: Grid = build.result  # type: ignore[assignment]
    polygons = projected_districts(grid)
    total_km2 = float(grid.district_area_km2.sum())
    print(
        f"districts: {len(districts)} (data/hangzhou/districts.geojson), {total_km2:,.0f} km²; "
        f"radius {radius_m:g} m; cells {cell_m:g} m"
    )
    print(
        f"stations: synthetic, seed {seed}: {100 * (1 - UNIFORM_SHARE):.0f}% around the "
        f"{sample_stations()[0].size:,} sample stations (σ {CLUSTER_SIGMA_M / 1000:g} km), "
        f"{100 * UNIFORM_SHARE:.0f}% uniform over the bounding box"
    )
    print(f"repeats: {repeats} (median reported; grid build {len(build.times)})")
    print()
    print(
        f"(a) Grid.build at {cell_m:g} m: median {seconds(build.median)} s (best {seconds(build.best)} s); "
        f"raster {grid.shape[0]:,} × {grid.shape[1]:,} = {grid.raster.size:,} cells, "
        f"{grid.n_cells:,} inside the districts; one-off per district set and cell size"
    )
    print()

    rows: list[list[str]] = []
    ratios: list[list[str]] = []
    accuracy: list[list[str]] = []
    verdicts: list[str] = []
    steps: dict[str, list[list[str]]] = {}
    for label in sizes:
        n = SIZES[label]
        lon, lat = synthetic_stations(n, districts, seed)
        coverage_t = timed(lambda lon=lon, lat=lat: compute_coverage(grid, lon, lat, radius_m), repeats)
        coverage = coverage_t.result
        gaps_t = timed(lambda cov=coverage, lon=lon, lat=lat: find_gaps(cov, lon, lat, limit=GAP_LIMIT), repeats)

        def whole(lon: Floats = lon, lat: Floats = lat) -> tuple[object, list]:
            cov = compute_coverage(grid, lon, lat, radius_m)
            return cov, find_gaps(cov, lon, lat, limit=GAP_LIMIT)

        whole_t = timed(whole, repeats)

        polygon_times: list[float] = []
        for _ in range(max(1, min(3, repeats))):
            fresh = find_gaps(coverage, lon, lat, limit=GAP_LIMIT)  # type: ignore[arg-type]
            start = time.perf_counter()
            for gap in fresh:
                shapely.get_num_coordinates(gap.polygon)  # built on first use
            polygon_times.append(time.perf_counter() - start)
        polygon_s = statistics.median(polygon_times)
        reference_t = timed(
            lambda lon=lon, lat=lat: union_of_buffers_shares(grid, polygons, lon, lat, radius_m, 8),
            repeats,  # as many runs as ours: its time varies by ±30% between runs on this VM
        )
        exact_t = timed(lambda lon=lon, lat=lat: union_of_buffers_shares(grid, polygons, lon, lat, radius_m, 64), 1)

        steps[label] = breakdown(grid, lon, lat, radius_m, repeats)
        ours = np.array([row.covered_share for row in coverage.districts])  # type: ignore[attr-defined]
        exact: Floats = exact_t.result  # type: ignore[assignment]
        reference: Floats = reference_t.result  # type: ignore[assignment]
        ours_pp = 100 * np.abs(ours - exact)
        reference_pp = 100 * np.abs(reference - exact)
        worst = int(np.argmax(ours_pp))
        gaps = gaps_t.result
        rows.append(
            [
                label,
                seconds(coverage_t.median),
                seconds(gaps_t.median),
                seconds(whole_t.median),
                seconds(whole_t.best),
                seconds(polygon_s),
                seconds(reference_t.median),
                seconds(exact_t.median),
                f"{len(gaps)}",  # type: ignore[arg-type]
            ]
        )
        ratios.append(
            [
                label,
                ratio(reference_t.median / whole_t.median),
                ratio(reference_t.median / (whole_t.median + polygon_s)),
                ratio(reference_t.median / coverage_t.median),
                ratio(exact_t.median / whole_t.median),
                ratio(reference_t.median / (build.median + whole_t.median)),
            ]
        )
        accuracy.append(
            [
                label,
                f"{ours_pp.max():.3f}",
                f"{districts.names[worst]} {districts.adcodes[worst]}",
                f"{ours_pp.mean():.3f}",
                f"{reference_pp.max():.3f}",
                f"{100 * exact.min():.1f}-{100 * exact.max():.1f}%",
                f"{100 * float(np.sum(exact * grid.district_area_km2) / total_km2):.2f}%",
            ]
        )
        speed_up = reference_t.median / whole_t.median
        meets = [
            ("≥ 5x faster than reference", speed_up >= TARGET_SPEED_UP, ratio(speed_up)),
            ("within 0.1 pp of exact", ours_pp.max() <= TARGET_PP, f"max {ours_pp.max():.3f} pp"),
        ]
        verdicts.append(
            f"  n = {label}: "
            + "; ".join(f"{name}: {value} -> {'MET' if ok else 'NOT MET'}" for name, ok, value in meets)
        )

    print("times, seconds (median; 'whole best' = fastest run)")
    for line in table(
        [
            "stations",
            "(b) coverage",
            "(c) gaps",
            "(d) whole",
            "whole best",
            "(e) 20 polygons",
            "reference (q8)",
            "exact (q64)",
            "gaps found",
        ],
        rows,
    ):
        print(line)
    print()
    print("speed-up (x > 1: ours faster)")
    for line in table(
        [
            "stations",
            "reference / whole",
            "reference / (whole + polygons)",
            "reference / coverage",
            "exact q64 / whole",
            "reference / (build + whole)",
        ],
        ratios,
    ):
        print(line)
    print()
    print("breakdown, seconds (median; the steps timed apart)")
    body = [[name, *(steps[label][i][1] for label in sizes)] for i, (name, _) in enumerate(steps[sizes[0]])]
    for line in table(["step", *(f"n = {label}" for label in sizes)], body):
        print(line)
    print()
    print("accuracy: per-district covered share, |share − exact (q64)|, percentage points")
    for line in table(
        ["stations", "ours max pp", "where", "ours mean pp", "reference q8 max pp", "exact range", "exact overall"],
        accuracy,
    ):
        print(line)
    print()
    print(f"targets (issue 15: table + gaps at {cell_m:g} m ≥ 5x faster than the union of buffers, ≤ 0.1 pp):")
    for line in verdicts:
        print(line)
    print()
    print("notes:")
    print("  - (d) whole = compute_coverage then find_gaps(limit=20), as one request would run them; the gap")
    print(
        "    polygons are built on first use (e), per-cell distances (Coverage.distance_m) likewise (old engine row)."
    )
    print("  - reference (q8) = project stations, shapely.buffer (quad_segs=8, shapely's default), union_all,")
    print("    intersect each projected district, areas; exact (q64) = the same with quad_segs=64 (accuracy only).")
    print("  - districts are projected once for the reference, outside its timing, as the grid is built once.")
    print("  - the reference gives covered areas only; ours also gives per-cell distances, median/p90 and gaps.")
    print("  - compute_coverage runs its k-d tree queries on one OpenMP thread (the reference is single-threaded too);")
    print(f"    the old engine's every-cell query (breakdown, not in (d)) on os.cpu_count() = {os.cpu_count()}.")
    print("  - reference q8 max pp: how far the default-resolution reference itself is from exact (inscribed 32-gons).")
    print(f"total run time {time.perf_counter() - started:.0f} s")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["1k", "10k"], choices=sorted(SIZES))
    parser.add_argument("--cell-m", type=float, default=100.0)
    parser.add_argument("--radius-m", type=float, default=1000.0)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    run(args.sizes, args.cell_m, args.radius_m, args.repeats, args.seed)


if __name__ == "__main__":
    main()
