"""Benchmark: the 24-hour coverage profile of a weekday and a holiday (``stations.planning.timed.hour_profile``)
against 48 separate coverage runs (one per instant, ``filtered_coverage``), in one run.

Run from the repository root::

    .venv/bin/python bench/coverage_hours.py                  # 10k stations, radius 1000 m, 100 m cells
    .venv/bin/python bench/coverage_hours.py --stations 1000 --cell-m 200

Districts: the 13 Hangzhou districts of data/hangzhou/districts.geojson; demand: data/hangzhou/demand.csv.
Stations: synthetic and seeded, 90% around the sample stations (σ 1.5 km), 10% uniform over the bounding box;
each takes the opening hours of a random sample station (so the sample's mix of "24/7", day hours, "PH off"
and unknown hours: 17 distinct texts).

Timed (perf_counter), the grid built before either:

* the profile: ``hour_profile`` (48 instants; every distinct hours text evaluated at them once, 48-bit masks
  OR-ed over the cells × stations incidence), median of ``--repeats``, its cache entry dropped between runs;
* the baseline: ``filtered_coverage`` at each of the same 48 instants with ``unknown_hours=closed`` (one
  ``compute_coverage`` run of the stations open then, each run fresh), once. Under the profile's default
  ``separate`` policy the baseline would need two runs an instant (96); the ratio is given against 48.

Agreement: the largest |profile share − run share| over districts and instants (area and demand), which the
property tests hold to be 0 (up to float rounding).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import shapely

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from report import machine_lines, table  # noqa: E402 - bench/ is on sys.path when a script runs

from geo.districts import Districts  # noqa: E402
from stations.model import Station  # noqa: E402
from stations.planning import Planner, load_demand  # noqa: E402
from stations.planning.filters import CoverageFilters  # noqa: E402
from stations.planning.requests import CoverageRequest, PlanningLimits  # noqa: E402
from stations.planning.timed import filtered_coverage, hour_instants, hour_profile, profile_days  # noqa: E402

DISTRICTS_PATH = ROOT / "data" / "hangzhou" / "districts.geojson"
STATIONS_PATH = ROOT / "data" / "hangzhou" / "stations.csv"
DEMAND_PATH = ROOT / "data" / "hangzhou" / "demand.csv"
REFERENCE = datetime.date(2026, 12, 3)


@dataclass
class Snapshot:
    stations: list[Station]
    version: int = 1

    def counts_by_adcode(self, include_closed: bool = True) -> dict[str | None, dict[str, int]]:
        return {None: {}} if include_closed else {}


@dataclass
class Registry:
    stations: list[Station]
    districts: Districts

    def snapshot(self) -> Snapshot:
        return Snapshot(self.stations)

    def check_adcode(self, adcode: str | None) -> None:  # noqa: ARG002 - every adcode passes here
        return None


def synthetic(n: int, districts: Districts, seed: int) -> list[Station]:
    """``n`` stations clustered like the sample, each with a random sample station's hours."""
    with open(STATIONS_PATH, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    rng = np.random.default_rng(seed)
    base_lon = np.array([float(r["lon"]) for r in rows])
    base_lat = np.array([float(r["lat"]) for r in rows])
    clustered = n - round(n * 0.1)
    pick = rng.integers(0, len(rows), clustered)
    lon = base_lon[pick] + rng.normal(0, 1500, clustered) / (111_320.0 * np.cos(np.radians(base_lat[pick])))
    lat = base_lat[pick] + rng.normal(0, 1500, clustered) / 110_900.0
    west, south, east, north = shapely.total_bounds(districts.geometries)
    lon = np.concatenate((lon, rng.uniform(west, east, n - clustered)))
    lat = np.concatenate((lat, rng.uniform(south, north, n - clustered)))
    hours = [rows[i]["opening_hours"] or None for i in rng.integers(0, len(rows), n)]
    return [
        Station(id=f"B{i}", name=f"站{i}", types=("outdoor_worker",), lon=float(x), lat=float(y), opening_hours=h)
        for i, (x, y, h) in enumerate(zip(lon, lat, hours, strict=True))
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--radius-m", type=float, default=1000.0)
    parser.add_argument("--cell-m", type=float, default=100.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)

    districts = Districts.from_file(DISTRICTS_PATH)
    stations = synthetic(args.stations, districts, args.seed)
    demand = load_demand(DEMAND_PATH)
    limits = PlanningLimits(max_radius_m=50_000, max_cells=20_000_000, max_new_sites=50, max_time_limit_s=600)
    planner = Planner(Registry(stations, districts), demand, limits, cache_bytes=4_000_000_000)  # type: ignore[arg-type]
    request = CoverageRequest(radius_m=args.radius_m, cell_m=args.cell_m)
    days = profile_days(REFERENCE)
    t0 = time.perf_counter()
    grid = planner.grid(request.cell_m)
    grid_s = time.perf_counter() - t0

    profile_times = []
    profile: Any = None
    for _ in range(args.repeats):
        for key in [k for k in planner._cache if isinstance(k, tuple) and k[0] == "hour-profile"]:
            planner._cache.pop(key)
        start = time.perf_counter()
        profile = hour_profile(planner, request, CoverageFilters(), days)
        profile_times.append(time.perf_counter() - start)

    run_area = np.zeros_like(profile.covered_share)
    run_demand = np.zeros_like(profile.covered_share)
    start = time.perf_counter()
    for d, (_, day) in enumerate(days):
        for h, at in enumerate(hour_instants(day)):
            result = filtered_coverage(planner, request, CoverageFilters(at, (), "closed"))
            run_area[d, h] = [r.covered_share for r in result.coverage.districts]
            run_demand[d, h] = [np.nan if r.demand_covered_share is None else r.demand_covered_share
                                for r in result.coverage.districts]  # fmt: skip
    runs_s = time.perf_counter() - start

    profile_s = statistics.median(profile_times)
    area_diff = float(np.nanmax(np.abs(profile.covered_share - run_area)))
    demand_diff = float(np.nanmax(np.abs(profile.demand_covered_share - run_demand)))
    texts = len({s.opening_hours for s in stations})
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f"24-hour profile vs 48 coverage runs — {now}",
        f"{args.stations:,} stations ({texts} distinct hours texts), radius {args.radius_m:g} m, "
        f"{args.cell_m:g} m cells ({grid.n_cells:,} cells, grid built in {grid_s:.2f} s, not timed below), "
        f"{demand.weight.size:,} demand points; days {days[0][1]} (weekday) and {days[1][1]} (holiday)",
        *machine_lines(f"numpy {np.__version__}, shapely {shapely.__version__}"),
        "",
        *table(
            ["what", "seconds", "ratio"],
            [
                [f"profile, 48 instants (median of {args.repeats})", f"{profile_s:.2f}", "1.00x"],
                ["48 coverage runs (baseline, same run)", f"{runs_s:.2f}", f"{runs_s / profile_s:.1f}x slower"],
            ],
        ),
        "",
        f"profile runs: {', '.join(f'{t:.2f}' for t in profile_times)} s; largest |profile − run| share: "
        f"area {area_diff:.1e}, demand {demand_diff:.1e}",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
