"""Latency of the search index (``stations.search.find``) against a ``LIKE '%q%'`` scan of the same table
(``stations.search.scan``), measured in the same run, on a synthetic registry of Chinese station names and
addresses; and what keeping the index costs a large write (the same stations written through ``edits.apply``
with the index and with its upkeep switched off).

Queries: one, two and four characters taken from random stations' names (riders type two as often as
ten), and a two-character miss. Every query's answers are checked equal to the scan's.

Run: ``.venv/bin/python bench/search.py [--stations 100000] [--queries 300] [--postgis]`` (``--postgis``: also
on a throw-away PostgreSQL + PostGIS cluster, tests/postgres_server.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from unittest import mock

import numpy as np

from stations import edits, places, search
from stations.edits import Change
from stations.model import Station
from stations.registry import Registry
from stations.settings import SAMPLE_DIR
from stations.store import Store

DISTRICTS = ["上城区", "拱墅区", "西湖区", "滨江区", "萧山区", "余杭区", "临平区", "钱塘区", "富阳区", "临安区"]
KINDS = ["工会驿站", "爱心驿站", "母婴室", "司机之家", "户外劳动者服务站", "骑手之家"]
ROAD_WORDS = ["路", "街", "大道", "巷"]


def character_pool() -> tuple[list[str], np.ndarray]:
    """The Chinese characters of the sample's names and addresses (382), with how often each occurs there."""
    counts = Counter(re.findall(r"[\u4e00-\u9fff]", (SAMPLE_DIR / "stations.csv").read_text(encoding="utf-8")))
    characters = sorted(counts)
    weights = np.array([counts[c] for c in characters], dtype=float)
    return characters, weights / weights.sum()


def synthetic(count: int, rng: np.random.Generator) -> list[Station]:
    """``count`` stations with names like 延安湖滨工会驿站 and addresses like 杭州市西湖区文明路12号, their
    characters drawn as often as in the sample's names and addresses."""
    characters, weights = character_pool()
    stations = []
    for i in range(count):
        place = "".join(rng.choice(characters, size=int(rng.integers(2, 5)), p=weights))
        road = "".join(rng.choice(characters, size=2, p=weights)) + str(rng.choice(ROAD_WORDS))
        district = str(rng.choice(DISTRICTS))
        station = Station(
            id=f"B{i:07d}", name=place + str(rng.choice(KINDS)), types=["outdoor_worker"],
            lon=float(rng.uniform(120.0, 120.4)), lat=float(rng.uniform(30.1, 30.4)),
            address=f"杭州市{district}{road}{int(rng.integers(1, 999))}号", district=district,
        )  # fmt: skip
        stations.append(station)
    return stations


def queries(stations: list[Station], count: int, rng: np.random.Generator) -> dict[str, list[str]]:
    """Random substrings of station names, by length, and misses."""
    cases: dict[str, list[str]] = {"1 character": [], "2 characters": [], "4 characters": [], "2 characters, miss": []}
    for _ in range(count):
        name = stations[int(rng.integers(len(stations)))].name
        for length in (1, 2, 4):
            start = int(rng.integers(0, max(1, len(name) - length + 1)))
            cases[f"{length} character{'s' if length > 1 else ''}"].append(name[start : start + length])
        cases["2 characters, miss"].append("".join(rng.choice(list("丁丂七丄丅"), size=2)))  # in no name
    return cases


def timed(call: Callable[[str], object], texts: list[str]) -> np.ndarray:
    """Per-call wall time in milliseconds."""
    times = np.empty(len(texts))
    for i, text in enumerate(texts):
        start = time.perf_counter_ns()
        call(text)
        times[i] = (time.perf_counter_ns() - start) / 1e6
    return times


def write_seconds(url: str, stations: list[Station], keep_index: bool) -> float:
    """Seconds to write ``stations`` as new through ``edits.apply`` (one transaction), with or without the index."""
    store = Store(url)
    started = time.perf_counter()
    if keep_index:
        edits.apply(store, (Change(s.id, s, "import") for s in stations), "bench")
    else:
        with mock.patch.object(edits, "_reindex", lambda *_: None):
            edits.apply(store, (Change(s.id, s, "import") for s in stations), "bench")
    seconds = time.perf_counter() - started
    store.engine.dispose()
    return seconds


def run(label: str, url: str, other_url: str, stations: list[Station], cases: dict[str, list[str]]) -> None:
    with_index = write_seconds(url, stations, keep_index=True)
    without = write_seconds(other_url, stations, keep_index=False)
    print(
        f"\n{label}: writing {len(stations):,} new stations: {with_index:.1f} s with the index, {without:.1f} s "
        f"without ({with_index / without:.2f}x)"
    )
    store = Store(url)
    registry = Registry(store)
    registry.snapshot()
    print(f"| {label} query | index p50 ms | index p99 ms | LIKE scan p50 ms | scan / index (p50) | places p50 ms |")
    print("|---|---|---|---|---|---|")
    with store.engine.connect() as connection:
        for case, texts in cases.items():
            for text in texts:  # same answers (as many, past the limit: each its first 1,000), every page warm
                indexed, scanned = search.find(connection, text, 1000), search.scan(connection, text, 1000)
                assert len(indexed) == len(scanned) and (len(indexed) == 1000 or set(indexed) == set(scanned)), text
            index = timed(lambda text: search.find(connection, text, 1000), texts)
            scan = timed(lambda text: search.scan(connection, text, 1000), texts)
            whole = timed(lambda text: places.search(registry, text, 10), texts)
            p50, p99, scan50 = np.percentile(index, 50), np.percentile(index, 99), np.percentile(scan, 50)
            print(
                f"| {case} | {p50:.2f} | {p99:.2f} | {scan50:.2f} | {scan50 / p50:.1f}x | "
                f"{np.percentile(whole, 50):.2f} |"
            )
    store.engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--postgis", action="store_true")
    args = parser.parse_args()
    rng = np.random.default_rng(14)
    stations = synthetic(args.stations, rng)
    cases = queries(stations, args.queries, rng)
    print(
        f"{datetime.now():%Y-%m-%d %H:%M} {platform.machine()} {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.1f}; {args.stations:,} stations, {args.queries} queries per case; find() and the "
        "scan read up to 1,000 ids (places.search's candidates); places = places.search end to end, limit 10"
    )
    with tempfile.TemporaryDirectory() as folder:
        run("SQLite", f"sqlite:///{folder}/a.sqlite3", f"sqlite:///{folder}/b.sqlite3", stations, cases)
    if args.postgis:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo root: tests/ is no package
        from tests.postgres_server import open_server

        server = open_server()
        try:
            run("PostGIS", server.create_database(), server.create_database(), stations, cases)
        finally:
            server.close()


if __name__ == "__main__":
    main()
