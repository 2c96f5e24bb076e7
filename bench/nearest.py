"""Benchmark: k-nearest service stations — ``geo.index.NearestIndex`` against baselines, in one run.

Run from the repository root::

    .venv/bin/python bench/nearest.py            # n = 10k, 100k, 1M stations (about 3 minutes on 2 cores)
    .venv/bin/python bench/nearest.py --quick    # n = 10k, 100k with fewer queries
    .venv/bin/python bench/nearest.py --sizes 10k 1M

Stations are uniform random (seeded) over a Hangzhou-sized box, lon 118.3-120.8, lat 29.2-30.6; queries
are drawn from the same box with other seeds. Structures measured side by side:

* ours      ``geo.index.NearestIndex`` (our C k-d tree on 3-D unit vectors, geo/_sphere_tree.c; exact great-circle
  order)
* pykdtree  pykdtree's KDTree on the same unit vectors + chord->metres (what NearestIndex used until 2026-12-04;
  exact)
* cKDTree   ``scipy.spatial.cKDTree`` on the same unit vectors (previous anchor; exact)
* brute     numpy haversine over all n points + argpartition (the reference for exactness)
* rtree     libspatialindex 2-D R-tree on raw lon/lat, ``nearest`` (planar degrees: not great-circle)
* STRtree   shapely 2 STRtree on raw lon/lat points: k=1 ``query_nearest`` (planar degrees); k=10 by
  ``tree.query(box)`` with the box doubled until it holds >= k points, candidates ranked by haversine

For each: build time; single-query latency (one query at a time in a Python loop, ``perf_counter_ns``,
median and p99, garbage collector off); batch throughput in queries/s (the library's bulk call where one
exists, else a Python loop); exactness against brute force on a separate query set, checked on both the
single and the batch path. ``OMP_NUM_THREADS`` is set to 1 before numpy/pykdtree load, so throughput is
on one core.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # before numpy / pykdtree: measure one core

import argparse
import datetime
import gc
import importlib.metadata
import math
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rtree
import scipy
import shapely
from numpy.typing import NDArray
from pykdtree.kdtree import KDTree
from rtree import index as rtree_index
from scipy.spatial import cKDTree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root, so `geo` imports uninstalled

from report import code_lines, machine_lines, table  # bench/ is on sys.path when a script runs

import geo.distance
import geo.index
from geo.distance import EARTH_RADIUS_M, haversine_m, m_from_chord, unit_vectors
from geo.index import NearestIndex

LON_RANGE = (118.3, 120.8)
LAT_RANGE = (29.2, 30.6)
TOLERANCE_M = 1e-6  # a distance list "differs" when any rank is further than this from brute force
KS = (1, 10)

Ints = NDArray[np.intp]
Floats = NDArray[np.float64]
Single = Callable[[float, float, int], tuple[Ints, Floats | None]]
Batch = Callable[[Floats, Floats, int], Ints]


# --------------------------------------------------------------------------- structures under test


class Structure:
    """One nearest-neighbour structure: built once per n, then queried singly and in batches."""

    name = "?"
    exact_reference = False  # True only for brute force, which defines the expected answers
    batch_is_loop = False  # True when there is no bulk call and batch is a Python loop (fewer queries)

    def build(self, lon: Floats, lat: Floats) -> None:
        raise NotImplementedError

    def single(self, x: float, y: float, k: int) -> tuple[Ints, Floats | None]:
        """Positions of the k nearest (and metres, where the structure reports them)."""
        raise NotImplementedError

    def batch(self, qx: Floats, qy: Floats, k: int) -> Ints:
        """(m, k) positions of the k nearest for each query."""
        raise NotImplementedError


class Ours(Structure):
    name = "ours (NearestIndex)"

    def build(self, lon: Floats, lat: Floats) -> None:
        self.index = NearestIndex(lon, lat)

    def single(self, x: float, y: float, k: int) -> tuple[Ints, Floats | None]:
        found = self.index.query(x, y, k=k)
        return found.index, found.distance_m

    def batch(self, qx: Floats, qy: Floats, k: int) -> Ints:
        return self.index.query_many(qx, qy, k)[0]


class PyKDTree(Structure):
    """Unit vectors + pykdtree query + chord->metres: the tree NearestIndex was built on before its own."""

    name = "pykdtree (unit vec)"

    def build(self, lon: Floats, lat: Floats) -> None:
        self.tree = KDTree(unit_vectors(lon, lat), leafsize=16)

    def single(self, x: float, y: float, k: int) -> tuple[Ints, Floats | None]:
        lon_r, lat_r = math.radians(x), math.radians(y)
        cos_lat = math.cos(lat_r)
        point = np.array([[cos_lat * math.cos(lon_r), cos_lat * math.sin(lon_r), math.sin(lat_r)]])
        chord, found = self.tree.query(point, k=k)
        return found.reshape(-1), m_from_chord(chord.reshape(-1))

    def batch(self, qx: Floats, qy: Floats, k: int) -> Ints:
        chord, found = self.tree.query(unit_vectors(qx, qy), k=k)
        m_from_chord(chord)  # metres too, as ours returns them
        return np.asarray(found, dtype=np.intp).reshape(len(qx), k)


class CKDTree(Structure):
    """Unit vectors + cKDTree query + chord->metres; no tie ordering (a little less work than ours)."""

    name = "cKDTree (unit vec)"

    def build(self, lon: Floats, lat: Floats) -> None:
        self.tree = cKDTree(unit_vectors(lon, lat))

    def single(self, x: float, y: float, k: int) -> tuple[Ints, Floats | None]:
        chord, found = self.tree.query(unit_vectors(x, y)[0], k)
        return np.atleast_1d(found), m_from_chord(np.atleast_1d(chord))

    def batch(self, qx: Floats, qy: Floats, k: int) -> Ints:
        chord, found = self.tree.query(unit_vectors(qx, qy), k, workers=1)
        m_from_chord(chord)  # metres too, as ours returns them
        return np.asarray(found).reshape(len(qx), k)


class Brute(Structure):
    """Vectorised haversine over all points, argpartition for the k smallest; batch = loop over queries."""

    name = "brute (haversine)"
    exact_reference = True
    batch_is_loop = True

    def build(self, lon: Floats, lat: Floats) -> None:
        self.lon_r = np.radians(lon)
        self.lat_r = np.radians(lat)
        self.cos_lat = np.cos(self.lat_r)

    def single(self, x: float, y: float, k: int) -> tuple[Ints, Floats | None]:
        lon_q, lat_q = math.radians(x), math.radians(y)
        a = np.sin((self.lat_r - lat_q) * 0.5) ** 2
        a += math.cos(lat_q) * self.cos_lat * np.sin((self.lon_r - lon_q) * 0.5) ** 2
        found = np.array([np.argmin(a)]) if k == 1 else np.argpartition(a, k - 1)[:k]
        distance = 2.0 * EARTH_RADIUS_M * np.arcsin(np.sqrt(np.minimum(a[found], 1.0)))
        order = np.lexsort((found, distance))
        return found[order], distance[order]

    def batch(self, qx: Floats, qy: Floats, k: int) -> Ints:
        return np.array([self.single(x, y, k)[0] for x, y in zip(qx.tolist(), qy.tolist(), strict=True)])


class RTree(Structure):
    """libspatialindex R-tree on raw lon/lat (bulk-loaded from arrays); nearest is planar in degrees."""

    name = "rtree (lon/lat)"

    def build(self, lon: Floats, lat: Floats) -> None:
        points = np.column_stack((lon, lat))
        self.tree = rtree_index.Index((np.arange(lon.size, dtype=np.int64), points, points))

    def single(self, x: float, y: float, k: int) -> tuple[Ints, Floats | None]:
        return np.array(list(self.tree.nearest((x, y, x, y), k))[:k]), None

    def batch(self, qx: Floats, qy: Floats, k: int) -> Ints:
        points = np.column_stack((qx, qy))
        ids, counts = self.tree.nearest_v(points, points, num_results=k, strict=True)
        if not np.all(counts == k):
            raise RuntimeError("rtree nearest_v returned a ragged result")
        return ids.reshape(len(qx), k).astype(np.intp)


class STRTree(Structure):
    """shapely STRtree on raw lon/lat: k=1 query_nearest (planar); k>1 box doubling + haversine ranking."""

    name = "STRtree (lon/lat)"

    def build(self, lon: Floats, lat: Floats) -> None:
        self.lon, self.lat = lon, lat
        self.tree = shapely.STRtree(shapely.points(lon, lat))
        area = (LON_RANGE[1] - LON_RANGE[0]) * (LAT_RANGE[1] - LAT_RANGE[0])
        self.half_width_per_k = math.sqrt(area / lon.size)  # box of half-width sqrt(k)*this holds ~4k points

    def single(self, x: float, y: float, k: int) -> tuple[Ints, Floats | None]:
        if k == 1:
            return self.tree.query_nearest(shapely.Point(x, y), all_matches=False), None
        n = self.lon.size
        w = self.half_width_per_k * math.sqrt(k)
        while True:
            hits = self.tree.query(shapely.box(x - w, y - w, x + w, y + w))
            if hits.size >= k or hits.size == n:
                break
            w *= 2.0
        distance = haversine_m(x, y, self.lon[hits], self.lat[hits])
        top = np.lexsort((hits, distance))[:k]
        return hits[top], distance[top]

    def batch(self, qx: Floats, qy: Floats, k: int) -> Ints:
        if k == 1:  # bulk call
            pair = self.tree.query_nearest(shapely.points(qx, qy), all_matches=False)
            found = np.empty(len(qx), dtype=np.intp)
            found[pair[0]] = pair[1]
            return found.reshape(-1, 1)
        return np.array([self.single(x, y, k)[0] for x, y in zip(qx.tolist(), qy.tolist(), strict=True)])


# --------------------------------------------------------------------------- measuring


@dataclass
class Counts:
    """How many queries each measurement uses."""

    single: int
    batch: int  # bulk calls
    batch_loop: int  # Python-loop batches (brute force; STRtree k>1, which has no bulk k-nearest call)
    exact: int
    brute_budget: float  # brute force: about this many point-distance evaluations per measurement

    def for_brute(self, wanted: int, n: int) -> int:
        return max(1, min(wanted, max(200, int(self.brute_budget // n))))


@dataclass
class Row:
    """Everything measured for one structure at one n."""

    name: str
    build_s: float = math.nan
    median_us: dict[int, float] = field(default_factory=dict)
    p99_us: dict[int, float] = field(default_factory=dict)
    single_n: dict[int, int] = field(default_factory=dict)
    qps: dict[int, float] = field(default_factory=dict)
    batch_n: dict[int, int] = field(default_factory=dict)
    batch_how: dict[int, str] = field(default_factory=dict)
    wrong: dict[int, int] = field(default_factory=dict)
    worst_rel: dict[int, float] = field(default_factory=dict)
    exact_n: int = 0
    reference: bool = False


def time_single(single: Single, qx: list[float], qy: list[float], k: int) -> NDArray[np.int64]:
    """Per-query wall time in ns, one query at a time, after a short warm-up."""
    for x, y in zip(qx[:50], qy[:50], strict=True):
        single(x, y, k)
    elapsed: list[int] = []
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for x, y in zip(qx, qy, strict=True):
            t0 = clock()
            single(x, y, k)
            elapsed.append(clock() - t0)
    finally:
        gc.enable()
    return np.array(elapsed, dtype=np.int64)


def time_tree_only(call: Callable[[Floats], object], vectors: list[Floats]) -> float:
    """Median ns of a bare tree call on pre-made (1, 3) unit vectors (no lon/lat conversion, no metres)."""
    for v in vectors[:50]:
        call(v)
    elapsed: list[int] = []
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        for v in vectors:
            t0 = clock()
            call(v)
            elapsed.append(clock() - t0)
    finally:
        gc.enable()
    return float(np.median(elapsed))


def time_batch(batch: Batch, qx: Floats, qy: Floats, k: int) -> float:
    """Queries per second of one batch call: median of up to 3 runs (fewer when a run is slow)."""
    runs: list[float] = []
    while len(runs) < 3 and sum(runs) < 2.0:
        gc.collect()
        t0 = time.perf_counter()
        batch(qx, qy, k)
        runs.append(time.perf_counter() - t0)
    return len(qx) / float(np.median(runs))


def reference_knn(brute: Brute, qx: Floats, qy: Floats, k: int) -> Floats:
    """(m, k) brute-force haversine distances of the k nearest, sorted."""
    return np.array([brute.single(x, y, k)[1] for x, y in zip(qx.tolist(), qy.tolist(), strict=True)])


def list_errors(got: Floats, ref: Floats) -> tuple[NDArray[np.bool_], float]:
    """Per query: does any rank differ by more than TOLERANCE_M; and the worst relative error."""
    if got.shape != ref.shape:
        raise ValueError(f"result shape {got.shape} != reference {ref.shape}")
    abs_err = np.abs(got - ref)
    rel = abs_err / np.maximum(ref, 1e-9)
    return (abs_err > TOLERANCE_M).any(axis=1), float(rel.max(initial=0.0))


def distances_at(lon: Floats, lat: Floats, qx: Floats, qy: Floats, found: Ints) -> Floats:
    """Haversine distance (m) from each query to each found position, sorted per row."""
    return np.sort(haversine_m(qx[:, None], qy[:, None], lon[found], lat[found]), axis=1)


def check_exact(
    structure: Structure, lon: Floats, lat: Floats, qx: Floats, qy: Floats, k: int, ref: Floats
) -> tuple[int, float]:
    """Wrong queries (single or batch path) and worst relative distance error against brute force."""
    rows, reported = [], []
    for x, y in zip(qx.tolist(), qy.tolist(), strict=True):
        found, dist = structure.single(x, y, k)
        rows.append(np.asarray(found, dtype=np.intp)[:k])
        reported.append(dist)
    wrong, worst = list_errors(distances_at(lon, lat, qx, qy, np.array(rows)), ref)
    if all(d is not None for d in reported):  # also the metres the structure itself reports, as returned
        w2, r2 = list_errors(np.array([np.asarray(d)[:k] for d in reported]), ref)
        wrong, worst = wrong | w2, max(worst, r2)
    w3, r3 = list_errors(distances_at(lon, lat, qx, qy, structure.batch(qx, qy, k)), ref)
    return int((wrong | w3).sum()), max(worst, r3)


def measure(n: int, counts: Counts, seed: int, log: Callable[[str], None]) -> tuple[list[Row], dict[str, float]]:
    """All rows for one n, plus median µs of the bare tree calls ("pykdtree k=10", "cKDTree k=1", ...)."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(*LON_RANGE, n)
    lat = rng.uniform(*LAT_RANGE, n)

    def queries(m: int, query_seed: int) -> tuple[Floats, Floats]:
        q = np.random.default_rng([seed, query_seed])
        return q.uniform(*LON_RANGE, m), q.uniform(*LAT_RANGE, m)

    sx, sy = queries(counts.single, 1)
    bx, by = queries(counts.batch, 2)
    ex, ey = queries(counts.exact, 3)
    structures: list[Structure] = [Ours(), PyKDTree(), CKDTree(), Brute(), RTree(), STRTree()]
    rows: list[Row] = []
    brute = structures[3]
    assert isinstance(brute, Brute)
    refs: dict[int, Floats] = {}
    for s in structures:
        row = Row(s.name, reference=s.exact_reference)
        t0 = time.perf_counter()
        s.build(lon, lat)
        row.build_s = time.perf_counter() - t0
        log(f"  n={n:,} {s.name}: built in {row.build_s:.2f} s")
        for k in KS:
            m = counts.for_brute(counts.single, n) if isinstance(s, Brute) else counts.single
            ns = time_single(s.single, sx[:m].tolist(), sy[:m].tolist(), k)
            row.median_us[k] = float(np.median(ns)) / 1e3
            row.p99_us[k] = float(np.percentile(ns, 99)) / 1e3
            row.single_n[k] = m
            loop = s.batch_is_loop or (isinstance(s, STRTree) and k > 1)
            m = counts.batch_loop if loop else counts.batch
            if isinstance(s, Brute):
                m = counts.for_brute(m, n)
            row.qps[k] = time_batch(s.batch, bx[:m], by[:m], k)
            row.batch_n[k] = m
            row.batch_how[k] = "loop" if loop else "bulk"
        if s.exact_reference:
            refs = {k: reference_knn(brute, ex, ey, k) for k in KS}
        rows.append(row)
    for s, row in zip(structures, rows, strict=True):  # brute is built by now: check everyone against it
        if s.exact_reference:
            continue
        for k in KS:
            row.wrong[k], row.worst_rel[k] = check_exact(s, lon, lat, ex, ey, k, refs[k])
        row.exact_n = counts.exact
        log(f"  n={n:,} {s.name}: timed and checked")

    # where the single-query time goes: the tree call alone, on pre-made unit vectors
    vectors = [v[None, :] for v in unit_vectors(sx, sy)]
    pyk = next(s for s in structures if isinstance(s, PyKDTree)).tree
    ckd = next(s for s in structures if isinstance(s, CKDTree)).tree
    tree_only: dict[str, float] = {}
    for k in KS:
        tree_only[f"pykdtree k={k}"] = time_tree_only(lambda v, k=k: pyk.query(v, k=k), vectors) / 1e3
        tree_only[f"cKDTree k={k}"] = time_tree_only(lambda v, k=k: ckd.query(v[0], k), vectors) / 1e3
    return rows, tree_only


# --------------------------------------------------------------------------- reporting


def machine() -> list[str]:
    versions = ", ".join(
        f"{name} {version}"
        for name, version in (
            ("python", platform.python_version()),
            ("numpy", np.__version__),
            ("scipy", scipy.__version__),
            ("shapely", shapely.__version__),
            ("rtree", rtree.__version__),
            ("pykdtree", importlib.metadata.version("pykdtree")),
        )
    )
    return [
        f"date:    {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        *machine_lines(f"{versions}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}"),
    ]


def fmt_us(value: float) -> str:
    return f"{value:,.1f}" if value < 1000 else f"{value:,.0f}"


def fmt_qps(value: float) -> str:
    return f"{value:,.0f}"


def fmt_ratio(value: float) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{value:,.0f}x" if value >= 100 else f"{value:.3g}x"


def report(n: int, rows: list[Row]) -> list[str]:
    out = [f"n = {n:,} stations", ""]
    header = ["structure", "build s"]
    for k in KS:
        header += [f"k={k} med us", f"k={k} p99 us", "(q)"]
    for k in KS:
        header += [f"k={k} batch q/s", "(q)"]
    for k in KS:
        header += [f"k={k} wrong", "worst rel"]
    body = []
    for r in rows:
        cells = [r.name, f"{r.build_s:.3f}"]
        for k in KS:
            cells += [fmt_us(r.median_us[k]), fmt_us(r.p99_us[k]), f"{r.single_n[k]:,}"]
        for k in KS:
            cells += [fmt_qps(r.qps[k]), f"{r.batch_n[k]:,}{'' if r.batch_how[k] == 'bulk' else ' loop'}"]
        for k in KS:
            if r.reference:
                cells += ["reference", "-"]
            else:
                cells += [f"{r.wrong[k]}/{r.exact_n}", f"{r.worst_rel[k]:.1e}"]
        body.append(cells)
    out += table(header, body)

    brute = next(r for r in rows if r.reference)
    ckd = next(r for r in rows if r.name.startswith("cKDTree"))
    out += ["", "speed-up (x > 1 = faster): single = ratio of median latencies, batch = ratio of throughputs"]
    header = ["structure"]
    for what in ("single", "batch"):
        for k in KS:
            header += [f"{what} k={k} vs brute", "vs cKDTree"]
    body = []
    for r in rows:
        cells = [r.name]
        for k in KS:
            cells += [
                fmt_ratio(brute.median_us[k] / r.median_us[k]),
                fmt_ratio(ckd.median_us[k] / r.median_us[k]),
            ]
        for k in KS:
            cells += [fmt_ratio(r.qps[k] / brute.qps[k]), fmt_ratio(r.qps[k] / ckd.qps[k])]
        body.append(cells)
    out += table(header, body)
    return out


def targets(n: int, rows: list[Row], tree_only: dict[str, float]) -> list[str]:
    ours = next(r for r in rows if r.name.startswith("ours"))
    ckd = next(r for r in rows if r.name.startswith("cKDTree"))
    single_ok = ours.median_us[10] <= 10.0
    batch_ok = ours.qps[10] >= 300_000
    return [
        f"targets at n = {n:,}, k=10 (issue: single <= 10 us median, batch >= 300,000 q/s on one core):",
        f"  ours single median {ours.median_us[10]:.1f} us -> {'MET' if single_ok else 'NOT MET'};"
        f" ours batch {ours.qps[10]:,.0f} q/s -> {'MET' if batch_ok else 'NOT MET'};"
        f" wrong {ours.wrong[10]}/{ours.exact_n}",
        f"  cKDTree here: single median {ckd.median_us[10]:.1f} us, batch {ckd.qps[10]:,.0f} q/s"
        " (previous anchors: ~21 us, ~222k q/s)",
        "  bare tree call per single query, median us (pre-made unit vector, no conversion, no metres): "
        + ", ".join(f"{name} {value:.1f}" for name, value in tree_only.items()),
    ]


def notes(counts: Counts, sizes: Sequence[int]) -> list[str]:
    lines = [
        "notes:",
        "  - single: one query per call in a Python loop, perf_counter_ns around each call, gc off,"
        " 50 warm-up calls; (q) = queries timed.",
        "  - batch 'bulk' = one library call: ours query_many; cKDTree.query(workers=1) + chord->metres;"
        " rtree nearest_v; STRtree query_nearest on a points array (k=1).",
        "  - batch 'loop' = Python loop of single queries: brute force, and STRtree k=10 (no bulk k-nearest).",
        "  - STRtree k=10 = tree.query(box) doubled until >= 10 hits, hits ranked by haversine (no check"
        " that the box covers the 10th-nearest circle); STRtree k=1 and rtree rank by planar lon/lat"
        " degrees.",
        "  - ours and brute return metres; cKDTree returns metres from the chord; rtree and STRtree k=1"
        " return ids only.",
        f"  - exactness: {counts.exact:,} separate queries per n; a query is 'wrong' when its k distances"
        f" (sorted) differ from brute-force haversine by > {TOLERANCE_M:g} m at any rank, on the single OR"
        " the batch path (for ours and cKDTree also the metres they report);"
        " worst rel = max |d - d_ref| / d_ref.",
    ]
    for n in sizes:
        single = counts.for_brute(counts.single, n)
        batch = counts.for_brute(counts.batch_loop, n)
        if single < counts.single or batch < counts.batch_loop:
            lines.append(
                f"  - brute force at n = {n:,}: single latency from {single:,} queries, batch throughput"
                f" timed on {batch:,} queries and extrapolated to queries/s."
            )
    return lines


def parse_size(text: str) -> int:
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1].lower(), 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="n = 10k and 100k only, fewer queries")
    parser.add_argument("--sizes", nargs="+", type=parse_size, help="station counts, e.g. 10k 100k 1M")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)
    if args.quick:
        counts = Counts(single=500, batch=20_000, batch_loop=2_000, exact=300, brute_budget=1e8)
        sizes = args.sizes or [10_000, 100_000]
    else:
        counts = Counts(single=2_000, batch=100_000, batch_loop=10_000, exact=1_000, brute_budget=2e8)
        sizes = args.sizes or [10_000, 100_000, 1_000_000]

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    started = time.perf_counter()
    out = ["Nearest stations benchmark (bench/nearest.py)", *machine(), *code_lines((geo.index, geo.distance))]
    out.append(f"command: {' '.join([Path(sys.executable).name, *sys.argv])}")
    out.append(
        f"stations: uniform random, seed {args.seed}, lon {LON_RANGE[0]}-{LON_RANGE[1]}, "
        f"lat {LAT_RANGE[0]}-{LAT_RANGE[1]}; sizes {', '.join(f'{n:,}' for n in sizes)}"
    )
    print("\n".join(out), flush=True)
    for n in sizes:
        rows, tree_only = measure(n, counts, args.seed, log)
        print("\n" + "\n".join([*report(n, rows), "", *targets(n, rows, tree_only)]), flush=True)
    print("\n" + "\n".join(notes(counts, sizes)))
    print(f"\ntotal run time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
