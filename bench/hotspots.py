"""Benchmark: hot spots (geo.hotspots) for the sample against the existing gap list (geo.gaps), in one run.

Run from the repository root::

    .venv/bin/python bench/hotspots.py                       # radius 1000 m, 100 m cells, outdoor-worker stations
    .venv/bin/python bench/hotspots.py --types all --repeats 3

Data: the sample's 13 Hangzhou districts, its stations (data/hangzhou/stations.csv; closed ones left out, of the
chosen types) and its demand layer (data/hangzhou/demand.csv). The grid and the coverage are computed once,
outside the timings (both answers start from the same coverage, as the planner's cache gives them).

Timed (median of ``--repeats`` runs, perf_counter):

* the baseline: ``find_gaps(coverage, ..., limit=20)`` with the 20 gaps' polygons built (what ``GET /gaps``
  answers);
* ``find_hotspots(coverage, ..., demand)``: every hot spot, every gap's station count and lower bound, labels;
* the same without the demand layer (the uncovered area as demand, in squares of a quarter radius).

Figures: hot spots and what they hold, the largest gaps with the stations they would take (greedy) and the proven
least number, and the ratio hot spots / gaps.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geo.coverage import compute_coverage  # noqa: E402
from geo.districts import Districts  # noqa: E402
from geo.gaps import find_gaps  # noqa: E402
from geo.grid import Grid  # noqa: E402
from geo.hotspots import find_hotspots  # noqa: E402
from stations.planning.demand import load_demand  # noqa: E402

T = TypeVar("T")
SAMPLE = ROOT / "data" / "hangzhou"


def timed(run: Callable[[], T], repeats: int) -> tuple[float, T]:
    """Median seconds of ``repeats`` runs and the last answer."""
    seconds, answer = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        answer = run()
        seconds.append(time.perf_counter() - start)
    assert answer is not None
    return statistics.median(seconds), answer


def stations(types: str) -> tuple[np.ndarray, np.ndarray]:
    """Sample stations of ``types`` (all: every type) not closed for good, WGS84."""
    lon, lat = [], []
    with (SAMPLE / "stations.csv").open(encoding="utf-8") as file:
        for record in csv.DictReader(file):
            if record["operating_status"] == "closed":
                continue
            if types != "all" and not set(types.split(",")) & set(record["types"].split(";")):
                continue
            lon.append(float(record["lon"]))
            lat.append(float(record["lat"]))
    return np.array(lon), np.array(lat)


def main() -> None:
    """Time the gap list and the hot spots on the same coverage; print figures and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--radius-m", type=float, default=1000.0)
    parser.add_argument("--cell-m", type=float, default=100.0)
    parser.add_argument("--types", default="outdoor_worker", help="comma-separated station types, or all")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    districts = Districts.from_geojson(SAMPLE / "districts.geojson")
    demand = load_demand(SAMPLE / "demand.csv")
    lon, lat = stations(args.types)
    grid = Grid.build(districts, args.cell_m)
    coverage = compute_coverage(grid, lon, lat, args.radius_m, demand)
    area_only = compute_coverage(grid, lon, lat, args.radius_m)
    print(f"{lon.size} stations ({args.types}), radius {args.radius_m:g} m, {args.cell_m:g} m cells, "
          f"{grid.n_cells:,} cells, {demand.lon.size:,} demand points")  # fmt: skip

    def gap_list() -> list[object]:
        gaps = find_gaps(coverage, lon, lat, limit=20)
        for gap in gaps:
            _ = gap.polygon  # built, as GET /gaps answers them
        return list(gaps)

    gaps_s, gaps = timed(gap_list, args.repeats)
    spots_s, found = timed(lambda: find_hotspots(coverage, lon, lat, demand), args.repeats)
    area_s, by_area = timed(lambda: find_hotspots(area_only, lon, lat), args.repeats)

    held = sum(spot.demand for spot in found.spots)
    print(f"gaps (baseline, 20 with polygons):   {gaps_s:7.3f} s  ({len(gaps)} gaps)")
    print(f"hot spots (demand layer):            {spots_s:7.3f} s  {spots_s / gaps_s:5.2f}x the gaps; "
          f"{len(found.spots):,} hot spots hold {held:,.1f} of {found.unserved:,.1f} unserved demand; "
          f"top 20 hold {sum(s.demand for s in found.spots[:20]):,.1f}")  # fmt: skip
    print(f"hot spots (area, no demand layer):   {area_s:7.3f} s  {area_s / gaps_s:5.2f}x the gaps; "
          f"{len(by_area.spots):,} hot spots over {by_area.unserved:,.1f} km²")  # fmt: skip
    print("largest gaps by unserved demand: district, km², demand, stations (greedy) / at least")
    for need in found.gaps[:6]:
        print(f"  #{need.gap_rank} {need.district} {need.area_km2:,.0f} km² {need.demand:,.0f}: "
              f"{need.stations} / ≥ {need.stations_at_least}")  # fmt: skip
    top = found.spots[0]
    print(f"top hot spot: {top.district} {top.demand:,.0f} demand within {top.reach_m:,.0f} m of "
          f"({top.site_lon:.5f}, {top.site_lat:.5f}); label {top.nearest_station_m:,.0f} m from a station")  # fmt: skip


if __name__ == "__main__":
    main()
