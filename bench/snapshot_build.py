"""Benchmark: what one API worker pays to hold the registry — the snapshot built from the store (start-up), its
memory, a refresh after one edit, and the in-process nearby answer — for this checkout against a baseline
checkout (another git worktree, e.g. ``git worktree add /tmp/base HEAD``) in the same run.

Each (checkout, size) is measured in a fresh child process: it opens the cached SQLite registry of bench/load.py
(synthetic stations over Hangzhou; ``--sizes 200k`` is the first 200k rows of the 1M file; all rows but one
dated a year back, so that a refresh reads the edit, not every row bench/load.py stamped at one moment), times
``Registry.snapshot()`` (what a worker's lifespan does before its first request) and reads the process's resident
memory before and after (VmRSS; VmHWM for the peak), then times ``Snapshot.nearby`` for k=10 at random points in
Hangzhou's box (plain, and filtered by type + amenity + open now), and a refresh after one edit (a copy of the file
is edited, so the cached registry stays as it is).

Run from the repository root (the 1M registry is built first by bench/load.py if missing)::

    .venv/bin/python bench/snapshot_build.py --baseline /tmp/base17 --sizes 200k 1m
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOX = (119.8, 29.9, 120.5, 30.5)  # Hangzhou's urban districts, lon/lat
QUERIES = 2_000

CHILD = r"""
import json, os, random, statistics, sys, time
from datetime import datetime
sys.path.insert(0, os.getcwd())

def rss():
    fields = dict(l.split(":", 1) for l in open("/proc/self/status") if ":" in l)
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

from stations.registry import Registry
from stations.snapshot import NearbyQuery
from stations.store import Store
import stations.edits, stations.opendata, stations.exporters  # loaded before the baseline memory figure
url, box, queries = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
registry = Registry(Store(url), None, check_interval_s=0)
registry.store.version()
before = rss()[0]
t0 = time.perf_counter()
snapshot = registry.snapshot()
build_s = time.perf_counter() - t0
after, peak = rss()
rng = random.Random(7)
points = [(rng.uniform(box[0], box[2]), rng.uniform(box[1], box[3])) for _ in range(queries)]
now = datetime(2026, 12, 4, 10, 0)
def timed(make):
    for x, y in points[:50]:
        snapshot.nearby(make(x, y), now=now)
    spent = []
    for x, y in points:
        t = time.perf_counter_ns()
        snapshot.nearby(make(x, y), now=now)
        spent.append(time.perf_counter_ns() - t)
    spent.sort()
    return spent[len(spent) // 2] / 1e3, spent[int(len(spent) * 0.99)] / 1e3
plain = timed(lambda x, y: NearbyQuery(x, y, k=10))
filtered = timed(lambda x, y: NearbyQuery(x, y, k=10, types=("outdoor_worker",), amenities=("hot_water",), open_at=now))
first = snapshot.columns.ids[0].decode() if hasattr(snapshot, "columns") else snapshot.stations[0].id
some = snapshot.get(first)
from stations import edits  # another process's edit, written as the registry writes one
change = edits.Change(some.id, some.model_copy(update={"phone": "0571-12345678"}), "update")
edits.apply(registry.store, [change], "bench")
t0 = time.perf_counter()
refreshed = registry.refresh()
refresh_s = time.perf_counter() - t0
assert refreshed.get(some.id).phone == "0571-12345678"
print(json.dumps({"stations": len(snapshot), "build_s": build_s, "rss_before": before, "rss_after": after,
                  "peak": peak, "plain": plain, "filtered": filtered, "refresh_s": refresh_s, "rss_end": rss()[0]}))
"""


def registry_copy(size: str, cache_dir: Path, work: Path) -> Path:
    """A copy of the cached registry for ``size`` (the 1M file, cut to the first rows for smaller sizes)."""
    sys.path.insert(0, str(ROOT / "bench"))
    import load

    source = load.registry_file("1m", cache_dir, 1)
    count = {"1m": 1_000_000, "200k": 200_000, "100k": 100_000}[size]
    cut = cache_dir / f"{source.stem}-first{count}.sqlite3"
    if not cut.exists():
        partial = cut.with_suffix(".partial")
        shutil.copy(source, partial)
        with contextlib.closing(sqlite3.connect(partial)) as connection, connection:  # closed: WAL merged
            connection.execute("DELETE FROM stations WHERE rowid > ?", (count,))
            # bench/load.py stamps every row at one moment, the registry's newest: a refresh would read them all
            # again (rows stamped at the snapshot's stamp are). Dated a year earlier but one, as a registry edited
            # over time is.
            connection.execute("UPDATE stations SET updated_at = '2025' || substr(updated_at, 5) WHERE rowid > 1")
        if count < 1_000_000:
            with contextlib.closing(sqlite3.connect(partial)) as connection:
                connection.execute("VACUUM")
        os.replace(partial, cut)
    target = work / cut.name
    shutil.copy(cut, target)
    return target


def measure(root: Path, database: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, f"sqlite:///{database}", json.dumps(BOX), str(QUERIES)],
        cwd=root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode:
        raise RuntimeError(f"{root}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", type=Path, required=True, help="a checkout of the code to compare against")
    parser.add_argument("--sizes", nargs="+", default=["200k", "1m"], choices=["100k", "200k", "1m"])
    parser.add_argument("--baseline-sizes", nargs="*", help="sizes to measure the baseline at (default: all)")
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "yizhan-load")
    args = parser.parse_args()
    print("Snapshot build and in-process nearby (bench/snapshot_build.py)")
    print(f"date: {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC; cpus {os.cpu_count()}; this checkout {ROOT}, "
          f"baseline {args.baseline}")  # fmt: skip
    for size in args.sizes:
        rows = {}
        with tempfile.TemporaryDirectory() as work:
            for name, root in (("baseline", args.baseline), ("this", ROOT)):
                if name == "baseline" and args.baseline_sizes is not None and size not in args.baseline_sizes:
                    continue
                database = registry_copy(size, args.cache_dir, Path(work))
                load_before = os.getloadavg()[0]
                rows[name] = found = measure(root, database)
                found["load"] = (load_before, os.getloadavg()[0])
                database.unlink()
        print(f"\n{size}: {next(iter(rows.values()))['stations']:,} stations")
        for name, r in rows.items():
            print(
                f"  {name:8}  snapshot built in {r['build_s']:6.1f} s; RSS {r['rss_before']:,.0f} -> "
                f"{r['rss_after']:,.0f} MiB (+{r['rss_after'] - r['rss_before']:,.0f}; peak {r['peak']:,.0f}; "
                f"{r['rss_end']:,.0f} after the refresh); refresh after one edit {r['refresh_s'] * 1000:,.0f} ms; "
                f"nearby k=10 median {r['plain'][0]:,.0f} µs (p99 {r['plain'][1]:,.0f}), filtered "
                f"{r['filtered'][0]:,.0f} µs (p99 {r['filtered'][1]:,.0f}); load {r['load'][0]:.1f}-{r['load'][1]:.1f}"
            )
        if len(rows) == 2:
            b, t = rows["baseline"], rows["this"]
            print(
                f"  ratio (baseline / this): build {b['build_s'] / t['build_s']:.1f}x, memory added "
                f"{(b['rss_after'] - b['rss_before']) / max(t['rss_after'] - t['rss_before'], 1):.1f}x, refresh "
                f"{b['refresh_s'] / t['refresh_s']:.1f}x, nearby {b['plain'][0] / t['plain'][0]:.2f}x, filtered "
                f"{b['filtered'][0] / t['filtered'][0]:.2f}x"
            )
    print(f"\nload average at the end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
