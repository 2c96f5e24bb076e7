"""Benchmark: national scale — exact nearest on ~200k stations, and per-district coverage of all 2,875
county-level districts on a dask LocalCluster against the single-process loop over provinces, in one run.

Run from the repository root::

    .venv/bin/python bench/national.py                       # 200k stations; 1,000 m and 500 m cells
    .venv/bin/python bench/national.py --cells 1000 --workers 2
    .venv/bin/python bench/national.py --skip-coverage       # nearest only

Inputs: the real districts of data/china/districts.fgb.zip and the SYNTHETIC national registry of
data/build_national.py (``synthetic_stations``, seeded: 200,000 stations, more in urban districts).

Nearest (k = 1 and 10): queries are riders near stations (a random station plus a normal offset of 2 km,
seeded). Measured side by side: ours (``geo.index.NearestIndex``), scipy's cKDTree on the same unit vectors,
and brute-force haversine over all stations (numpy, argpartition). Single-query latency: one query at a time,
``perf_counter_ns``, median and p99, garbage collector off. Batch: queries/s of one bulk call on one core
(NearestIndex's own C tree runs on one thread; cKDTree with ``workers=1``; brute force is a loop).
Exactness: distances of the k found against brute force on 1,000 separate queries.

Coverage (radius 1,000 m): ``national_coverage_serial``'s loop (``province_table`` per province, in this
process, each timed) against ``national_coverage`` on a ``distributed.LocalCluster`` of ``--workers``
single-threaded processes on 127.0.0.1 (cluster start-up timed apart; stations scattered to the workers
inside the timing), the two interleaved ``--repeats`` times and medians reported. Both tables must be
identical (pandas ``assert_frame_equal``, exact). compute_coverage's k-d tree query may use every core
(OpenMP) in both paths. Also: the snapshot an API worker rebuilds after a write (pydantic validation of
every station, then ``Snapshot``), its memory, and a filtered nearby query on it.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.metadata
import math
import os
import platform
import resource
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from scipy.spatial import cKDTree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repo root, so `geo` imports uninstalled
sys.path.insert(0, str(ROOT / "data"))  # build_national.py (the synthetic generator)

from build_national import DISTRICTS_PATH, NATIONAL_STATIONS, STATION_SEED, synthetic_stations  # noqa: E402
from report import code_lines, machine_lines, table  # noqa: E402 - bench/ is on sys.path when a script runs

import geo.coverage  # noqa: E402
import geo.grid  # noqa: E402
import geo.index  # noqa: E402
import geo.national  # noqa: E402
from geo.distance import EARTH_RADIUS_M, haversine_m, m_from_chord, unit_vectors  # noqa: E402
from geo.districts import Districts  # noqa: E402
from geo.index import NearestIndex  # noqa: E402
from geo.national import local_cluster, national_coverage, partition_by_province, province_table  # noqa: E402

RADIUS_M = 1000.0
QUERY_OFFSET_KM = 2.0
SINGLE_QUERIES = 2_000
BATCH_QUERIES = 100_000
BRUTE_BATCH_QUERIES = 2_000
CHECK_QUERIES = 1_000
TOLERANCE_M = 1e-6

Floats = NDArray[np.float64]
Ints = NDArray[np.intp]


# --------------------------------------------------------------------------- nearest


def near_stations(lon: Floats, lat: Floats, m: int, seed: int) -> tuple[Floats, Floats]:
    """``m`` query points: random stations moved by a normal offset of QUERY_OFFSET_KM in each direction."""
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, lon.size, m)
    lat_q = lat[pick] + rng.normal(0, QUERY_OFFSET_KM, m) / 110.574
    lon_q = lon[pick] + rng.normal(0, QUERY_OFFSET_KM, m) / (111.320 * np.cos(np.radians(lat[pick])))
    return lon_q, lat_q


def brute_knn(lon_r: Floats, lat_r: Floats, cos_lat: Floats, x: float, y: float, k: int) -> tuple[Ints, Floats]:
    """The k nearest by haversine over every station (positions and metres, nearest first)."""
    lon_q, lat_q = math.radians(x), math.radians(y)
    a = np.sin((lat_r - lat_q) * 0.5) ** 2
    a += math.cos(lat_q) * cos_lat * np.sin((lon_r - lon_q) * 0.5) ** 2
    found = np.array([np.argmin(a)]) if k == 1 else np.argpartition(a, k - 1)[:k]
    distance = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a[found], 1.0)))
    order = np.lexsort((found, distance))
    return found[order], distance[order]


def latencies_us(call: Callable[[float, float], object], qx: Floats, qy: Floats) -> tuple[float, float]:
    """Median and p99 µs of one call per query (warmed up, garbage collector off)."""
    for x, y in zip(qx[:50].tolist(), qy[:50].tolist(), strict=True):
        call(x, y)
    elapsed = []
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for x, y in zip(qx.tolist(), qy.tolist(), strict=True):
            start = clock()
            call(x, y)
            elapsed.append(clock() - start)
    finally:
        gc.enable()
    return float(np.median(elapsed)) / 1e3, float(np.quantile(elapsed, 0.99)) / 1e3


def throughput(call: Callable[[], object], queries: int) -> float:
    """Queries/s of a bulk call: median of up to 3 runs."""
    runs: list[float] = []
    while len(runs) < 3 and sum(runs) < 3.0:
        gc.collect()
        start = time.perf_counter()
        call()
        runs.append(time.perf_counter() - start)
    return queries / statistics.median(runs)


def nearest_section(lon: Floats, lat: Floats) -> list[str]:
    lines = [f"nearest: {lon.size:,} synthetic stations; queries near stations (offset sd {QUERY_OFFSET_KM:g} km)"]
    start = time.perf_counter()
    ours = NearestIndex(lon, lat)
    build_ours = time.perf_counter() - start
    start = time.perf_counter()
    tree = cKDTree(unit_vectors(lon, lat))
    build_tree = time.perf_counter() - start
    lon_r, lat_r = np.radians(lon), np.radians(lat)
    cos_lat = np.cos(lat_r)

    single_x, single_y = near_stations(lon, lat, SINGLE_QUERIES, seed=11)
    batch_x, batch_y = near_stations(lon, lat, BATCH_QUERIES, seed=12)
    check_x, check_y = near_stations(lon, lat, CHECK_QUERIES, seed=13)
    brute_x, brute_y = batch_x[:BRUTE_BATCH_QUERIES], batch_y[:BRUTE_BATCH_QUERIES]
    body, speed = [], []
    for k in (1, 10):
        ours_single = latencies_us(lambda x, y, k=k: ours.query(x, y, k=k), single_x, single_y)
        tree_single = latencies_us(
            lambda x, y, k=k: m_from_chord(np.atleast_1d(tree.query(unit_vectors(x, y)[0], k)[0])), single_x, single_y
        )
        brute_single = latencies_us(lambda x, y, k=k: brute_knn(lon_r, lat_r, cos_lat, x, y, k), single_x, single_y)
        ours_batch = throughput(lambda k=k: ours.query_many(batch_x, batch_y, k), BATCH_QUERIES)
        tree_batch = throughput(
            lambda k=k: m_from_chord(tree.query(unit_vectors(batch_x, batch_y), k, workers=1)[0]), BATCH_QUERIES
        )
        brute_batch = throughput(
            lambda k=k: [
                brute_knn(lon_r, lat_r, cos_lat, x, y, k)
                for x, y in zip(brute_x.tolist(), brute_y.tolist(), strict=True)
            ],
            BRUTE_BATCH_QUERIES,
        )
        reference = np.array(
            [brute_knn(lon_r, lat_r, cos_lat, x, y, k)[1] for x, y in zip(check_x, check_y, strict=True)]
        )
        ours_found, _ = ours.query_many(check_x, check_y, k)
        ours_metres = np.sort(haversine_m(check_x[:, None], check_y[:, None], lon[ours_found], lat[ours_found]), 1)
        wrong_ours = int((np.abs(ours_metres - reference) > TOLERANCE_M).any(axis=1).sum())
        _, tree_found = tree.query(unit_vectors(check_x, check_y), k, workers=1)
        tree_found = np.asarray(tree_found).reshape(CHECK_QUERIES, k)
        tree_metres = np.sort(haversine_m(check_x[:, None], check_y[:, None], lon[tree_found], lat[tree_found]), 1)
        wrong_tree = int((np.abs(tree_metres - reference) > TOLERANCE_M).any(axis=1).sum())
        body += [
            ["ours (NearestIndex)", str(k), *_us(ours_single), f"{ours_batch:,.0f}", f"{wrong_ours}/{CHECK_QUERIES}"],
            ["cKDTree (unit vec)", str(k), *_us(tree_single), f"{tree_batch:,.0f}", f"{wrong_tree}/{CHECK_QUERIES}"],
            ["brute (haversine)", str(k), *_us(brute_single), f"{brute_batch:,.0f} (loop)", "reference"],
        ]
        speed.append(
            [
                f"k={k}",
                f"{brute_single[0] / ours_single[0]:,.0f}x",
                f"{tree_single[0] / ours_single[0]:.2f}x",
                f"{ours_batch / brute_batch:,.0f}x",
                f"{ours_batch / tree_batch:.2f}x",
            ]
        )
    lines.append(f"built: NearestIndex {build_ours:.3f} s, cKDTree {build_tree:.3f} s")
    lines += table(["structure", "k", "single med µs", "p99 µs", "batch q/s (1 core)", "wrong vs brute"], body)
    lines.append("")
    lines += table(["ours vs", "single vs brute", "single vs cKDTree", "batch vs brute", "batch vs cKDTree"], speed)
    return lines


def _us(pair: tuple[float, float]) -> list[str]:
    return [f"{pair[0]:,.1f}", f"{pair[1]:,.1f}"]


# --------------------------------------------------------------------------- serving snapshot


def rss_mib() -> float:
    """Resident memory of this process now, MiB (Linux /proc)."""
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def snapshot_section(lon: Floats, lat: Floats, adcode: NDArray[np.str_], kind: NDArray[np.str_]) -> list[str]:
    """What one API worker pays to reload its in-memory snapshot at national scale, and a filtered query on it."""
    from stations.model import Station
    from stations.snapshot import NearbyQuery, Snapshot

    payloads = [
        {"id": f"CN-SYN-{i + 1:06d}", "name": f"合成站点 {i + 1}", "types": [t], "lon": x, "lat": y, "adcode": a}
        for i, (x, y, a, t) in enumerate(zip(lon.tolist(), lat.tolist(), adcode.tolist(), kind.tolist(), strict=True))
    ]
    rss_before = rss_mib()
    start = time.perf_counter()
    stations = [Station.model_validate({**p, "source": "synthetic"}) for p in payloads]
    validate_s = time.perf_counter() - start
    start = time.perf_counter()
    snapshot = Snapshot(stations, version=1)
    build_s = time.perf_counter() - start
    del payloads
    gc.collect()
    held_mib = rss_mib() - rss_before
    qx, qy = near_stations(lon, lat, SINGLE_QUERIES, seed=21)
    query = latencies_us(
        lambda x, y: snapshot.nearby(NearbyQuery(x, y, k=5, types=("nursing_room",))), qx[:500], qy[:500]
    )
    return [
        f"serving snapshot: {len(stations):,} stations (what Registry.snapshot() rebuilds after a write)",
        f"  Station.model_validate of every payload {validate_s:.1f} s (Store.all() does this after its SELECT), "
        f"Snapshot build {build_s:.2f} s; the stations and snapshot add {held_mib:,.0f} MiB to the process",
        f"  snapshot.nearby k=5 types=nursing_room: median {query[0]:,.0f} µs, p99 {query[1]:,.0f} µs",
    ]


# --------------------------------------------------------------------------- coverage


def laea_scale_error(part: Districts) -> float:
    """Largest radial scale error, 1 − cos(c/2), of a province's equal-area projection at its farthest vertex
    (centre: the centroid of the districts, as geo.grid takes the centroid of their union)."""
    centre = shapely.centroid(shapely.geometrycollections(part.geometries))
    xy = shapely.get_coordinates(part.geometries)
    farthest_m = float(haversine_m(centre.x, centre.y, xy[:, 0], xy[:, 1]).max())
    return 1.0 - math.cos(farthest_m / EARTH_RADIUS_M / 2.0)


def serial_loop(parts: dict[str, Districts], lon: Floats, lat: Floats, cell_m: float) -> tuple[pd.DataFrame, list]:
    """The single-process path (national_coverage_serial's loop), each province timed."""
    frames, per_province = [], []
    for code, part in parts.items():
        t0 = time.perf_counter()
        frames.append(province_table(part, lon, lat, RADIUS_M, cell_m))
        per_province.append((time.perf_counter() - t0, code, len(part)))
    return pd.concat(frames, ignore_index=True), per_province


def coverage_section(
    districts: Districts, lon: Floats, lat: Floats, cell_m: float, workers: int, repeats: int
) -> list[str]:
    """Serial loop and dask runs interleaved ``repeats`` times (the machine is shared: alternating evens out
    the load of other sessions), medians reported; both tables checked identical every time."""
    from distributed import Client

    parts = partition_by_province(districts)
    lines = [f"coverage: {len(districts):,} districts, {len(parts)} provinces, {cell_m:g} m cells, {RADIUS_M:g} m"]
    start = time.perf_counter()
    cluster = local_cluster(workers)
    client = Client(cluster)
    startup_s = time.perf_counter() - start
    serial_times, dask_times = [], []
    try:
        for _ in range(repeats):
            start = time.perf_counter()
            serial, per_province = serial_loop(parts, lon, lat, cell_m)
            serial_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            on_dask = national_coverage(client, districts, lon, lat, RADIUS_M, cell_m)
            dask_times.append(time.perf_counter() - start)
            pd.testing.assert_frame_equal(on_dask, serial, check_exact=True)
    finally:
        client.close()
        cluster.close()
    serial_s, dask_s = statistics.median(serial_times), statistics.median(dask_times)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    cells = float((serial["area_km2"]).sum() / (cell_m * cell_m / 1e6))
    covered = float((serial["area_km2"] * serial["covered_share"]).sum() / serial["area_km2"].sum())
    lines.append(
        f"  ~{cells / 1e6:,.1f} million cells; {covered:.2%} of the area within {RADIUS_M:g} m of a station; "
        f"{int((serial['covered_share'] >= 0.5).sum())} districts at least half covered"
    )
    body = [
        [
            "single process, loop over provinces",
            f"{serial_s:,.1f}",
            "1x",
            f"runs {', '.join(f'{t:.1f}' for t in serial_times)}; peak RSS {peak_mib:,.0f} MiB",
        ],
        [
            f"dask LocalCluster, {workers} workers × 1 thread",
            f"{dask_s:,.1f}",
            f"{serial_s / dask_s:.2f}x",
            f"runs {', '.join(f'{t:.1f}' for t in dask_times)}; + {startup_s:.1f} s cluster start; same table",
        ],
    ]
    lines += table(["path", "wall s", "speed-up", "notes"], body)
    slowest = sorted(per_province, reverse=True)[:5]
    lines.append(
        "  slowest provinces (single process): "
        + ", ".join(f"{code} ({n} districts) {seconds:.1f} s" for seconds, code, n in slowest)
        + f"; the largest is {slowest[0][0] / serial_s:.0%} of the loop, so {workers} workers cannot beat "
        + f"{serial_s / max(slowest[0][0], serial_s / workers):.2f}x"
    )
    return lines


# --------------------------------------------------------------------------- main


def versions() -> str:
    names = ("numpy", "scipy", "shapely", "pyproj", "pykdtree", "pandas", "dask", "distributed")
    return f"python {platform.python_version()}, " + ", ".join(
        f"{name} {importlib.metadata.version(name)}" for name in names
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--stations", type=int, default=NATIONAL_STATIONS, help="synthetic stations")
    parser.add_argument("--cells", type=float, nargs="+", default=[1000.0, 500.0], help="cell sizes, metres")
    parser.add_argument("--workers", type=int, default=2, help="dask worker processes")
    parser.add_argument("--repeats", type=int, default=2, help="interleaved serial/dask runs per cell size")
    parser.add_argument("--skip-coverage", action="store_true")
    parser.add_argument("--skip-nearest", action="store_true")
    parser.add_argument("--skip-snapshot", action="store_true")
    args = parser.parse_args(argv)

    lines = ["National scale benchmark (bench/national.py)"]
    lines.append(f"date:    {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC")
    lines += machine_lines(versions())
    lines += code_lines([geo.national, geo.coverage, geo.grid, geo.index])
    lines.append(f"command: python bench/{Path(__file__).name} {' '.join(sys.argv[1:] if argv is None else argv)}")
    lines.append(f"load:    1-min load average at start {os.getloadavg()[0]:.1f} (2 cores; other sessions share them)")
    print("\n".join(lines), flush=True)

    start = time.perf_counter()
    districts = Districts.from_file(DISTRICTS_PATH)
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    stations = synthetic_stations(districts, args.stations, STATION_SEED)
    generate_s = time.perf_counter() - start
    print(
        f"inputs:  {len(districts):,} districts read in {load_s:.2f} s; {len(stations):,} synthetic stations "
        f"(seed {STATION_SEED}) made in {generate_s:.2f} s",
        flush=True,
    )
    if not args.skip_nearest:
        print("\n" + "\n".join(nearest_section(stations.lon, stations.lat)), flush=True)
    if not args.skip_snapshot:
        print(
            "\n" + "\n".join(snapshot_section(stations.lon, stations.lat, stations.adcode, stations.type)), flush=True
        )
    if not args.skip_coverage:
        errors = sorted(((laea_scale_error(p), code) for code, p in partition_by_province(districts).items()))
        print(
            "\nprojection: largest radial scale error of a province's equal-area projection: "
            + ", ".join(f"{code} {100 * e:.2f} %" for e, code in errors[::-1][:3]),
            flush=True,
        )
        for cell_m in args.cells:
            lines = coverage_section(districts, stations.lon, stations.lat, cell_m, args.workers, args.repeats)
            print("\n" + "\n".join(lines), flush=True)
    print(f"\nload:    1-min load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
