"""Garbage-collection pauses of a worker answering nearby queries, with and without ``api.young_collections``.

The app of ``yizhan serve`` (``api.serving.serving_app``: start-up frozen out of the collector's way) is driven in
process through ASGI, on the cached synthetic registry of bench/load.py (``--stations``, default 200,000), with
``GET /stations/nearby?k=10`` at uniformly random points in Hangzhou's box. Each case runs the same ``--requests``
twice in turn; the collector's pauses are timed by ``gc.callbacks`` and the requests one by one, and at the end of a
case the young generation it leaves (what the next young collection walks, whenever it comes) is counted and its
collection timed. The baseline is the same app with the middleware's collections turned off (``every`` past the
run's length), so the collector keeps its own schedule: with the caches replacing old entries as fast as it makes
new ones, the young generation grows to ~100,000 objects before a collection comes (``api/young_collections.py``
says why). With them on, full collections come every ``--full-every-s`` (10 s, shorter than the server's 30 s, so
that a case of a few thousand requests meets some).

    .venv/bin/python bench/young_gc.py
    .venv/bin/python bench/young_gc.py --stations 20000 --requests 4000
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import load  # bench/ is on sys.path when a script runs
import numpy as np
from report import machine_lines, table

import api.young_collections
from api.app import create_app
from stations.settings import Settings

BOX = (119.9, 30.0, 120.6, 30.5)


class Pauses:
    """The collector's pauses, by generation, while counting."""

    def __init__(self) -> None:
        self.started = 0.0
        self.by_generation: dict[int, list[float]] = {0: [], 1: [], 2: []}
        gc.callbacks.append(self.note)

    def note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
        else:
            self.by_generation[info["generation"]].append(time.perf_counter() - self.started)

    def clear(self) -> None:
        for pauses in self.by_generation.values():
            pauses.clear()


async def drive(app: Any, queries: list[bytes]) -> list[float]:
    """Each request's time (s), one after another."""

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(_message: dict[str, Any]) -> None:
        return None

    times = []
    for query in queries:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
            "path": "/stations/nearby", "raw_path": b"/stations/nearby", "query_string": query, "root_path": "",
            "headers": [(b"host", b"bench")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
        }  # fmt: skip
        started = time.perf_counter()
        await app(scope, receive, send)
        times.append(time.perf_counter() - started)
    return times


async def start(app: Any) -> None:
    """Run the app's lifespan start-up (the first snapshot, then ``gc.freeze``)."""
    messages: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await messages.put({"type": "lifespan.startup"})
    started = asyncio.Event()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "lifespan.startup.complete":
            started.set()

    asyncio.get_running_loop().create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, messages.get, send))
    await started.wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=12_000, help="per case and turn")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--full-every-s", type=float, default=10.0, help="the middleware's full collections (short: to see them)"
    )
    parser.add_argument("--cache-dir", type=Path, default=Path(tempfile.gettempdir()) / "yizhan-load")
    args = parser.parse_args(argv)
    size = f"{args.stations // 1000}k"
    load.SIZES[size] = args.stations
    database = load.registry_file(size, args.cache_dir, args.seed)
    app = create_app(Settings(database_url=f"sqlite:///{database}", check_interval_s=0), freeze_at_startup=True)
    rng = np.random.default_rng(args.seed)
    points = zip(
        rng.uniform(BOX[0], BOX[2], 8 * args.requests), rng.uniform(BOX[1], BOX[3], 8 * args.requests), strict=True
    )
    queries = [f"lon={x:.6f}&lat={y:.6f}&k=10".encode() for x, y in points]

    async def run() -> list[list[Any]]:
        await start(app)
        layer = app.middleware_stack
        while not isinstance(layer, api.young_collections.YoungCollections):
            layer = layer.app  # type: ignore[union-attr]
        pauses = Pauses()
        await drive(app, queries[: args.requests])  # warm: the caches full, churning
        rows = []
        for turn in range(2):
            for label, every in (("collector's own schedule", 10**9), (f"young every {layer.every} requests", 16)):
                layer.every = layer.until_next = every
                layer.full_every_s = args.full_every_s
                gc.collect(0)  # what the case before left pending is not this case's
                pauses.clear()
                part = queries[(2 * turn + 1 + (every == 16)) * args.requests :][: args.requests]
                cpu = time.process_time()
                times = await drive(app, part)
                cpu = time.process_time() - cpu
                young, middle, full = (list(pauses.by_generation[g]) for g in range(3))
                pending = len(gc.get_objects(0))  # what the next young collection will walk, whenever it comes
                collect = time.perf_counter()
                gc.collect(0)
                collect = time.perf_counter() - collect
                rows.append([
                    f"{turn + 1}", label, f"{len(young)}", f"{max(young, default=0) * 1e3:.1f}",
                    f"{len(middle)}", f"{len(full)}", f"{max(middle + full, default=0) * 1e3:.1f}", f"{pending:,}",
                    f"{collect * 1e3:.1f}", f"{statistics.median(times) * 1e3:.2f}",
                    f"{np.percentile(times, 99) * 1e3:.2f}", f"{max(times) * 1e3:.1f}", f"{cpu / len(times) * 1e3:.3f}",
                ])  # fmt: skip
        return rows

    rows = asyncio.run(run())
    print()
    print("Garbage-collection pauses answering nearby in process (bench/young_gc.py)")
    for line in machine_lines(f"python {sys.version.split()[0]}, gc thresholds {gc.get_threshold()}"):
        print(line)
    print(f"registry: {args.stations:,} synthetic stations ({database.name}); {args.requests:,} requests a case")
    print()
    header = [
        "turn", "case", "young collections", "max ms", "middle", "full", "max ms", "young objects left",
        "their collection ms", "p50 ms", "p99 ms", "max ms", "CPU ms/request",
    ]  # fmt: skip
    for line in table(header, rows):
        print(line)


if __name__ == "__main__":
    sys.exit(main())
