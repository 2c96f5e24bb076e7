"""Latency of ``GET /stations/nearby`` on the sample data, through FastAPI's TestClient (in-process).

Baselines measured in the same run: the same queries answered by ``Snapshot.nearby`` directly (no HTTP,
no JSON), and ``GET /healthz`` (the framework's own floor per request).

Run: ``.venv/bin/python bench/api_nearby.py [--queries 2000]``
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
from datetime import datetime

import numpy as np
from fastapi.testclient import TestClient
from report import per_call_ms

from api.app import create_app
from stations.settings import SAMPLE_DIR, Settings
from stations.snapshot import NearbyQuery


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(120.0, 120.35, args.queries), rng.uniform(30.15, 30.4, args.queries)
    with tempfile.TemporaryDirectory() as folder:
        app = create_app(Settings(database_url=f"sqlite:///{folder}/bench.sqlite3"))
        with TestClient(app) as client:
            registry = app.state.registry
            registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
            snapshot = registry.snapshot()
            cases = {
                "k=5": "k=5",
                "k=5 types+amenities+open_at": "k=5&types=outdoor_worker&amenities=hot_water&open_at=2026-11-23T12:00",
            }
            rows = [("GET /healthz (HTTP floor)", per_call_ms(lambda _: client.get("/healthz"), args.queries))]
            for label, extra in cases.items():
                url = "/stations/nearby?lon={:.6f}&lat={:.6f}&" + extra
                assert client.get(url.format(lon[0], lat[0])).status_code == 200
                rows.append(
                    (
                        f"GET /stations/nearby {label}",
                        per_call_ms(lambda i, url=url: client.get(url.format(lon[i], lat[i])), args.queries),
                    )
                )
            query_open = datetime(2026, 11, 23, 12)
            rows.append(
                (
                    "Snapshot.nearby k=5 filtered (no HTTP)",
                    per_call_ms(
                        lambda i: snapshot.nearby(
                            NearbyQuery(
                                lon[i],
                                lat[i],
                                k=5,
                                types=("outdoor_worker",),
                                amenities=("hot_water",),
                                open_at=query_open,
                            )
                        ),
                        args.queries,
                    ),
                )
            )
    print(f"{datetime.now():%Y-%m-%d %H:%M}  {platform.processor() or platform.machine()}  cores={os.cpu_count()}")
    print(f"sample: {len(snapshot)} stations; {args.queries} random queries over Hangzhou's urban districts")
    floor = np.median(rows[0][1])
    print(f"{'case':48} {'p50 ms':>8} {'p99 ms':>8} {'p50 / HTTP floor':>17}")
    for label, times in rows:
        p50, p99 = np.median(times), np.percentile(times, 99)
        print(f"{label:48} {p50:8.3f} {p99:8.3f} {p50 / floor:16.1f}x")


if __name__ == "__main__":
    main()
