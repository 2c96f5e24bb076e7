"""Cost of the embed's open/closed badges (issue 14 item 7): the embed page holds no time, and the browser asks
``GET /embed/status`` for its stations' status when it loads (answers may be kept a minute).

Measured on the sample registry, every station (an embed of the whole city), at random times of a year:

* ``Service.station_statuses``: each distinct hours text evaluated once (status, next closing or opening);
* baseline in the same run: the same answer evaluating every station's hours on its own;
* for scale, building the embed page itself (``Service.station_map``), which the status now lets be cached;
* bytes: the status answer's JSON against the embed page, both raw and gzip-compressed.

Run: ``.venv/bin/python bench/embed_status.py [--times 200]``
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import tempfile
from datetime import datetime, timedelta

import numpy as np
from report import per_call_ms

from stations import hours
from stations.queries import StationMapQuery
from stations.registry import Registry
from stations.service import Service
from stations.settings import SAMPLE_DIR, Settings
from stations.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--times", type=int, default=200)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    start = datetime(2026, 1, 1, tzinfo=hours.TIMEZONE)
    moments = [start + timedelta(minutes=int(m)) for m in rng.integers(0, 365 * 24 * 60, args.times)]
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.sqlite3"
        registry = Registry(Store(url))
        registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
        registry.refresh()
        service = Service(Settings(database_url=url, demand_path=None), registry)
        query = StationMapQuery(mode="embed")
        stations = [s for s in registry.snapshot().stations if s.serves()]
        texts = {s.opening_hours for s in stations}

        def each(i: int) -> object:
            at = moments[i]
            answer = {}
            for s in stations:
                status = "closed" if s.is_closed else hours.status(s.opening_hours, at)
                closes = hours.next_change(s.opening_hours, at) if status == "open" and not s.is_closed else None
                opens = hours.next_opening(s.opening_hours, at) if status == "closed" and not s.is_closed else None
                answer[s.id] = (status, closes, opens)
            return answer

        service.station_statuses(query, moments[0])  # warm: parsed hours are cached
        grouped = per_call_ms(lambda i: service.station_statuses(query, moments[i]), args.times)
        baseline = per_call_ms(each, args.times)
        pages = per_call_ms(lambda _: service.station_map(query), max(5, args.times // 20))
        statuses = service.station_statuses(query, moments[0])
        body = json.dumps(
            {"stations": {k: {"open_status": v.open_status, "closes_at": v.closes_at and v.closes_at.isoformat(),
                              "opens_at": v.opens_at and v.opens_at.isoformat()} for k, v in statuses.items()}},
            ensure_ascii=False, separators=(",", ":"),
        ).encode()  # fmt: skip
        page = service.station_map(query).encode()
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}")
    print(f"{len(stations)} stations, {len(texts)} distinct hours texts, {args.times} random times")
    for name, values in (("station_statuses", grouped), ("baseline: each station", baseline), ("embed page", pages)):
        print(f"{name:24s} p50 {np.median(values):8.2f} ms  p95 {np.percentile(values, 95):8.2f} ms")
    print(f"ratio baseline / station_statuses (p50): {np.median(baseline) / np.median(grouped):.1f}x")
    print(f"ratio embed page / station_statuses (p50): {np.median(pages) / np.median(grouped):.1f}x")
    print(f"status answer {len(body):,} B ({len(gzip.compress(body)):,} B gzip); "
          f"embed page {len(page):,} B ({len(gzip.compress(page)):,} B gzip)")  # fmt: skip


if __name__ == "__main__":
    main()
