"""Weight and speed of the rider page (issue 14 item 5): bytes on the wire and time to the list on slow 3G.

Serves the sample (data/hangzhou: 1,615 stations, 13 districts) with uvicorn on 127.0.0.1 behind a counting proxy
and opens ``/`` in Debian's Chromium at phone size, throttled by the DevTools protocol to slow 3G (400 kbit/s each
way, 400 ms round trip) with a 4x slower CPU, tiles blocked (tests/e2e/throttled.py). For each run it prints:

* **baseline** — the page as it was before issue 14: uncompressed (``Accept-Encoding: identity``), no HTTP
  cache, the drop-down filled from the full ``/districts`` (boundaries);
* **first load** — compressed, cold cache, the light district list;
* **repeat load** — the same phone again (its cache revalidates with ``If-None-Match``).

Bytes are counted by the proxy (every request, a service worker's too, headers included). Times are the page's
own: from the geolocation answer to the first list item, and from navigation start to it. Then the
compression choice: bytes and CPU of Brotli and gzip levels on the page and the district lists.

Usage: ``.venv/bin/python bench/page_weight.py [--runs 3] [--block-service-workers]``
"""

from __future__ import annotations

import argparse
import gzip
import platform
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repo root, so `api` and `stations` import uninstalled
sys.path.insert(0, str(ROOT / "tests" / "e2e"))  # throttled.py, e2e_support.py

import brotli  # noqa: E402
from throttled import CountingProxy, Load, throttled_page, visit  # noqa: E402

from stations.settings import SAMPLE_DIR, Settings  # noqa: E402

BUDGET_BYTES = 120_000
BUDGET_LIST_S = 2.0


@contextmanager
def serve_sample(folder: Path) -> Iterator[tuple[str, Any]]:
    """``(url, app)``: the sample registry served by uvicorn on a free loopback port, in a thread."""
    import uvicorn

    from api.app import create_app

    settings = Settings(database_url=f"sqlite:///{folder / 'bench.sqlite3'}", demand_path=None)
    app = create_app(settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    report = app.state.registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "sample.csv")
    assert report.committed, report
    app.state.registry.refresh()
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def measure(browser: Any, proxy: CountingProxy, *, baseline: bool, block_workers: bool) -> tuple[Load, int, Load, int]:
    """(first load, its bytes, repeat load, its bytes) in a fresh phone context."""
    rewrite = {"/districts?geometry=false": "/districts"} if baseline else None
    context, page, load = throttled_page(browser, identity=baseline, cache=not baseline, rewrite=rewrite)
    if block_workers:
        page.add_init_script("delete Object.getPrototypeOf(navigator).serviceWorker;")
    try:
        proxy.reset()
        first = visit(page, proxy.url + "/", load)
        first = Load(dict(first.bytes_by_url), first.position_ms, first.list_ms)
        first_bytes = proxy.received
        proxy.reset()
        again = visit(page, proxy.url + "/", load)
        again = Load(dict(again.bytes_by_url), again.position_ms, again.list_ms)
        return first, first_bytes, again, proxy.received
    finally:
        context.close()


def compression_table(url: str) -> list[str]:
    """Bytes and CPU of each encoding of the page and the district lists (best of 3 timings)."""
    import httpx

    rows = ["| answer | identity | gzip 1 | gzip 6 (chosen fallback) | Brotli 4 | Brotli 5 (chosen) | Brotli 11 |",
            "|---|---|---|---|---|---|---|"]  # fmt: skip
    for path in ("/", "/districts", "/districts?geometry=false"):
        body = httpx.get(url + path, headers={"Accept-Encoding": "identity"}, timeout=60).content
        cells = [f"{len(body) / 1000:.1f} KB"]
        for name, encode in (
            ("gzip 1", lambda data: gzip.compress(data, 1)),
            ("gzip 6", lambda data: gzip.compress(data, 6)),
            ("br 4", lambda data: brotli.compress(data, quality=4)),
            ("br 5", lambda data: brotli.compress(data, quality=5)),
            ("br 11", lambda data: brotli.compress(data, quality=11)),
        ):
            times = []
            for _ in range(3):
                start = time.perf_counter()
                packed = encode(body)
                times.append(time.perf_counter() - start)
            cells.append(f"{len(packed) / 1000:.1f} KB, {min(times) * 1000:.1f} ms")
            del name
        rows.append(f"| `{path}` | " + " | ".join(cells) + " |")
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--block-service-workers", action="store_true", help="the page registers no worker")
    args = parser.parse_args()
    from e2e_support import CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    print("Rider page weight and speed (bench/page_weight.py)")
    print(f"date:    {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {platform.machine()}, {platform.platform()}, python {platform.python_version()}")
    print("network: slow 3G by CDP (400 kbit/s down and up, 400 ms RTT), CPU throttled 4x, tiles blocked")
    print(f"service workers: {'blocked' if args.block_service_workers else 'as the page registers them'}\n")
    results: dict[str, list[tuple[int, float | None, float | None]]] = {"baseline": [], "first": [], "repeat": []}
    with tempfile.TemporaryDirectory() as tmp, serve_sample(Path(tmp)) as (url, _app), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        port = int(url.rsplit(":", 1)[1])
        with CountingProxy(port) as proxy:
            for _ in range(args.runs):
                block = args.block_service_workers
                base, base_bytes, _, _ = measure(browser, proxy, baseline=True, block_workers=block)
                first, first_bytes, again, again_bytes = measure(browser, proxy, baseline=False, block_workers=block)
                results["baseline"].append((base_bytes, base.list_after_position_ms, base.list_ms))
                results["first"].append((first_bytes, first.list_after_position_ms, first.list_ms))
                results["repeat"].append((again_bytes, again.list_after_position_ms, again.list_ms))
                parts = [f"/{u.split('/', 3)[3][:40]} {b / 1000:.1f}" for u, b in first.bytes_by_url.items() if b]
                print(f"  run: baseline {base_bytes / 1000:.1f} KB, first {first_bytes / 1000:.1f} KB, "
                      f"repeat {again_bytes / 1000:.1f} KB; the page's own requests: {', '.join(parts)}")  # fmt: skip
        browser.close()
        table = compression_table(url)

    def median(values: list[float | None]) -> float:
        known = [v for v in values if v is not None]
        return statistics.median(known) if known else float("nan")

    print("\n| load | KB on the wire (median) | list after position (median) | list after navigation start |")
    print("|---|---|---|---|")
    base_kb = median([r[0] for r in results["baseline"]]) / 1000
    for name in ("baseline", "first", "repeat"):
        rows = results[name]
        kb = median([r[0] for r in rows]) / 1000
        after, total = median([r[1] for r in rows]) / 1000, median([r[2] for r in rows]) / 1000
        ratio = "" if name == "baseline" else f" ({base_kb / kb:.1f}x fewer than the baseline)"
        print(f"| {name} | {kb:.1f}{ratio} | {after:.2f} s | {total:.2f} s |")
    first_kb = median([r[0] for r in results["first"]]) / 1000
    first_after = median([r[1] for r in results["first"]]) / 1000
    weight_ok = "met" if first_kb * 1000 <= BUDGET_BYTES else "NOT MET"
    time_ok = "met" if first_after <= BUDGET_LIST_S else "NOT MET"
    print(f"\nbudget: first load <= {BUDGET_BYTES / 1000:.0f} KB: {weight_ok} ({first_kb:.1f} KB); "
          f"list <= {BUDGET_LIST_S:.0f} s after the position: {time_ok} ({first_after:.2f} s)\n")  # fmt: skip
    print("Compression of the answers (bytes, CPU of one encoding on this machine):\n")
    print("\n".join(table))


if __name__ == "__main__":
    main()
