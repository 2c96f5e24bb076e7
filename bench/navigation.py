"""Cost of the route links of a nearby answer: since issue 14 item 2 they route from the asked point, so each answer
makes its stations' links (one array pass for the datum shifts, then the URLs) instead of reusing kept text.

Measured on the sample registry, for the 20 nearest stations of random points (as the rider page asks):

* ``navigation_links`` alone for those 20 stations (the new per-answer work);
* ``nearby_geojson_json`` with a ``Trip`` from the asked point (the whole answer's JSON text, links included);
* baseline in the same run: ``Snapshot.nearby`` for the same queries (finding the stations, no JSON).

Run: ``.venv/bin/python bench/navigation.py [--queries 2000]``
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile

import numpy as np
from report import per_call_ms

from stations.exporters import nearby_geojson_json, query_point
from stations.navigation import Trip, navigation_links
from stations.registry import Registry
from stations.settings import SAMPLE_DIR
from stations.snapshot import NearbyQuery
from stations.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=2000)
    args = parser.parse_args()
    rng = np.random.default_rng(2)
    lon, lat = rng.uniform(120.0, 120.35, args.queries), rng.uniform(30.15, 30.4, args.queries)
    with tempfile.TemporaryDirectory() as folder:
        registry = Registry(Store(f"sqlite:///{folder}/bench.sqlite3"))
        registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
        snapshot = registry.refresh()
        queries = [NearbyQuery(float(x), float(y), k=20) for x, y in zip(lon, lat, strict=True)]
        answers = [snapshot.nearby(q) for q in queries]
        stations = [[a.station for a in answer] for answer in answers]
        nearby_geojson_json(answers[0], "wgs84", Trip(origin=(queries[0].lon, queries[0].lat)))  # warm

        def links(i: int) -> object:
            chosen = stations[i]
            return navigation_links(
                [s.name for s in chosen], [s.lon for s in chosen], [s.lat for s in chosen], "ride",
                regions=[s.district for s in chosen], origin=(queries[i].lon, queries[i].lat),
            )  # fmt: skip

        def answer(i: int) -> object:
            trip = Trip(origin=(queries[i].lon, queries[i].lat))
            return nearby_geojson_json(answers[i], "wgs84", trip, query=query_point(queries[i]))

        n = args.queries
        rows = [
            ("Snapshot.nearby k=20 (baseline: no JSON)", per_call_ms(lambda i: snapshot.nearby(queries[i]), n)),
            ("navigation_links, 20 stations", per_call_ms(links, args.queries)),
            ("nearby_geojson_json k=20, links included", per_call_ms(answer, args.queries)),
        ]
    floor = float(np.median(rows[0][1]))
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"{args.queries} random points on the sample registry, 20 nearest")
    print(f"{'case':44} {'p50 ms':>8} {'p99 ms':>8} {'p50 / Snapshot.nearby':>22}")
    for label, times in rows:
        p50, p99 = np.median(times), np.percentile(times, 99)
        print(f"{label:44} {p50:8.3f} {p99:8.3f} {p50 / floor:21.2f}x")


if __name__ == "__main__":
    main()
