"""Benchmark: ``Snapshot.nearby`` with ``order="open_first"`` against ``order="distance"`` in the same run.

Run from the repository root::

    .venv/bin/python bench/nearby_order.py            # 10k and 200k stations, 1,000 queries each
    .venv/bin/python bench/nearby_order.py --quick    # 10k only, 300 queries

Stations are uniform random (seeded) over a Hangzhou-sized box (lon 118.3-120.8, lat 29.2-30.6), each with hours
drawn from a mix like the sample's (day, split shift, evening, 24/7, unknown). Queries ask for k=20 (the rider
page) at a point drawn from the same box, at noon on a Monday and at 02:17 on a Tuesday night, when only the 24/7
stations are open: open-first then searches further out for them. The "few open" case makes 0.5% of stations
24/7, so the 20 nearest open ones lie far away (the worst case short of none open); "none open" has no 24/7
station at all, so every station is looked at for each group.

Figures: median and p99 of one query (``perf_counter_ns``, garbage collector off) and the ratio of the open-first
median to the distance-order median in the same run and case.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import datetime
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stations.model import Station
from stations.snapshot import NearbyQuery, Snapshot

DAY, SPLIT, EVENING, ALWAYS = "Mo-Su 08:00-20:00", "Mo-Fr 08:30-11:00,13:30-17:00; PH off", "Mo-Su 18:00-22:00", "24/7"
NOON, NIGHT = datetime(2026, 11, 23, 12, 0), datetime(2026, 11, 24, 2, 17)


def stations(n: int, share_24_7: float, seed: int = 1) -> list[Station]:
    rng = np.random.default_rng(seed)
    lon, lat = rng.uniform(118.3, 120.8, n), rng.uniform(29.2, 30.6, n)
    rest = (1 - share_24_7) / 4
    texts = rng.choice([DAY, SPLIT, EVENING, ALWAYS, ""], size=n, p=[rest, rest, rest, share_24_7, rest])
    return [
        Station(
            id=f"B{i}", name=f"驿站 {i}", types=["outdoor_worker"], lon=float(x), lat=float(y), opening_hours=t or None
        )
        for i, (x, y, t) in enumerate(zip(lon, lat, texts, strict=True))
    ]


def timed(snapshot: Snapshot, points: np.ndarray, order: str, at: datetime) -> tuple[float, float]:
    snapshot.nearby(NearbyQuery(float(points[0, 0]), float(points[0, 1]), k=20, order=order), now=at)  # type: ignore[arg-type]
    times = []
    gc.disable()
    try:
        for x, y in points:
            query = NearbyQuery(float(x), float(y), k=20, order=order)  # type: ignore[arg-type]
            start = time.perf_counter_ns()
            snapshot.nearby(query, now=at)
            times.append(time.perf_counter_ns() - start)
    finally:
        gc.enable()
    ms = np.array(times) / 1e6
    return float(np.median(ms)), float(np.percentile(ms, 99))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sizes, queries = ((10_000,), 300) if args.quick else ((10_000, 200_000), 1000)
    rng = np.random.default_rng(7)
    points = np.column_stack([rng.uniform(118.3, 120.8, queries), rng.uniform(29.2, 30.6, queries)])
    print("| stations | case | distance p50 / p99 ms | open_first p50 / p99 ms | open_first / distance (p50) |")
    print("|---|---|---|---|---|")
    for n in sizes:
        for label, share, at in (
            ("noon, 20% 24/7", 0.2, NOON),
            ("night, 20% 24/7", 0.2, NIGHT),
            ("night, few open (0.5% 24/7)", 0.005, NIGHT),
            ("night, none open", 0.0, NIGHT),
        ):
            snapshot = Snapshot(stations(n, share))
            few = points[: max(30, queries // 10)] if share == 0.0 else points  # every station, every query
            d50, d99 = timed(snapshot, few, "distance", at)
            o50, o99 = timed(snapshot, few, "open_first", at)
            print(f"| {n:,} | {label} | {d50:.3f} / {d99:.3f} | {o50:.3f} / {o99:.3f} | {o50 / d50:.1f}x |", flush=True)


if __name__ == "__main__":
    main()
