"""Benchmark: what a planner's first requests cost one API worker at national scale — time and resident memory of
coverage, its gaps and hot spots, a coverage at an hour with an amenity, the district start points and the street
names of proposed sites — for this checkout against a baseline checkout (another git worktree, e.g.
``git worktree add /tmp/base HEAD``) in the same run.

Each checkout is measured in a fresh child process on bench/load.py's cached SQLite registry (``--size``, synthetic
stations over Hangzhou; built first if missing): the snapshot is loaded as a worker's start-up loads it, then each
step runs once, cold, and the process's resident memory (VmRSS) is read after it; last, the planner's caches are
cleared (what stays is what the snapshot kept). Run from the repository root::

    git worktree add --detach /tmp/base <commit>
    .venv/bin/python bench/planning_scale.py --baseline /tmp/base --size 1m
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, os, sys, time
from datetime import date
sys.path.insert(0, os.getcwd())

def rss():
    fields = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

from stations.settings import Settings
from stations.service import Service
from stations.planning.requests import CoverageRequest
from stations.planning.filters import parse_filters
from stations.planning.timed import filtered_coverage
from stations.planning.exports import site_streets
from stations.places import registry_district_points

service = Service(Settings(database_url=sys.argv[1]))
t = time.perf_counter()
snapshot = service.registry.snapshot()
steps = [("snapshot loaded", time.perf_counter() - t, *rss())]
planner = service.planner
request = CoverageRequest(radius_m=1000.0, cell_m=500)
filters = parse_filters(hour=22, day="weekday", amenities="hot_water", reference=date(2026, 12, 4))
sites = [{"lon": 120.16 + i / 100, "lat": 30.27, "adcode": "330106"} for i in range(10)]
for name, run in [
    ("coverage", lambda: planner.coverage(request)),
    ("gaps", lambda: planner.gaps(request)),
    ("hot spots", lambda: planner.hotspots(request)),
    ("coverage at 22:00 with hot water", lambda: filtered_coverage(planner, request, filters)),
    ("district start points", lambda: registry_district_points(service.registry)),
    ("street names of 10 sites", lambda: site_streets(sites, snapshot.stations)),
]:
    t = time.perf_counter()
    run()
    steps.append((name, time.perf_counter() - t, *rss()))
planner.clear_cache()
steps.append(("planner caches cleared", 0.0, *rss()))
print(json.dumps({"stations": len(snapshot), "steps": steps}))
"""


def measure(root: Path, database: Path) -> dict:
    """One checkout's figures, from a fresh child process run in ``root``."""
    found = subprocess.run(
        [sys.executable, "-c", CHILD, f"sqlite:///{database}"],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root)}, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(found.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the code to compare against")
    parser.add_argument("--size", default="1m", choices=["sample", "200k", "1m"])
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "yizhan-load")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from load import registry_file

    database = registry_file(args.size, args.cache_dir, seed=1)
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(f"planning at scale (bench/planning_scale.py), {now}, load {os.getloadavg()[0]:.1f}, registry {database}")
    results = {"new": measure(ROOT, database), "baseline": measure(args.baseline, database)}
    print(f"{results['new']['stations']:,} stations; seconds and resident MB after each step, cold, in order")
    print(f"{'step':34s} {'new s':>8s} {'new MB':>8s} {'base s':>8s} {'base MB':>8s}")
    for new, base in zip(results["new"]["steps"], results["baseline"]["steps"], strict=True):
        print(f"{new[0]:34s} {new[1]:8.2f} {new[2]:8.0f} {base[1]:8.2f} {base[2]:8.0f}")
    new_peak, base_peak = (results[which]["steps"][-1][3] for which in ("new", "baseline"))
    print(f"{'peak (VmHWM)':34s} {'':8s} {new_peak:8.0f} {'':8s} {base_peak:8.0f}")


if __name__ == "__main__":
    main()
