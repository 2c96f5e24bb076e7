"""The rider page offline (issue 14 item 8): what the service worker costs a first visit, and how fast a saved list
comes back in a dead zone against a live one on slow 3G.

Serves the sample (data/hangzhou) with uvicorn on 127.0.0.1 behind the counting proxy of tests/e2e/throttled.py and
opens ``/`` in Debian's Chromium at phone size on slow 3G (400 kbit/s, 400 ms round trip) with a 4x slower CPU,
tiles blocked. For each run it prints:

* **bytes of a first visit** with the worker blocked (baseline) and registered (the worker's script, the page kept
  from the HTTP cache, the first answer asked again once the worker controls the page), counted by the proxy;
* **tap to list**: from a tap on the map to the list on screen, at ``TAPS`` places a few hundred metres apart —
  online without the worker (the live answer over slow 3G: the baseline), and offline with it (the answer the worker
  saved for that place while online). CDP throttles the page's own requests only, not those a worker forwards, so
  the worker's online taps are made (to save the answers) but not reported as slow-3G figures.

Usage: ``.venv/bin/python bench/offline.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repo root, so `api` and `stations` import uninstalled
sys.path.insert(0, str(ROOT / "tests" / "e2e"))  # throttled.py, e2e_support.py

from page_weight import serve_sample  # noqa: E402
from throttled import CountingProxy, throttled_page, visit  # noqa: E402

TAPS = [(120.160, 30.250), (120.163, 30.252), (120.157, 30.247), (120.166, 30.255), (120.154, 30.253)]
"""(lon, lat) WGS84 places tapped, around West Lake's east shore (the sample's stations are there)."""
TAP_TO_LIST = """async ([lon, lat]) => {
  const line = document.getElementById("yz-status");
  line.textContent = "";
  const start = performance.now();
  const done = new Promise((resolve) => {
    const seen = new MutationObserver(() => {
      if (/找到|没有|离线|出错|失败/.test(line.textContent)) { seen.disconnect(); resolve(performance.now() - start); }
    });
    seen.observe(line, {childList: true, characterData: true, subtree: true});
  });
  yizhan.map.fire("click", {latlng: L.latLng(lat, lon)});
  return [await done, line.textContent];
}"""
SAVED_ANSWERS = """async () => {
  let count = 0;
  for (const name of (await caches.keys()).filter((name) => name.startsWith("yizhan-answers-"))) {
    count += (await (await caches.open(name)).keys()).length;
  }
  return count;
}"""


def wait_until(page: Any, expression: str, value: Any, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while page.evaluate(expression) != value:
        if time.monotonic() > deadline:
            raise RuntimeError(f"waited {timeout_s} s for {expression} to be {value!r}")
        time.sleep(0.1)


def first_visit(browser: Any, proxy: CountingProxy, *, worker: bool) -> tuple[int, Any, Any]:
    """Bytes of a first visit of ``/`` (with or without the worker), and its (context, page), still open."""
    context, page, load = throttled_page(browser)
    if not worker:
        page.add_init_script("delete Object.getPrototypeOf(navigator).serviceWorker;")
    proxy.reset()
    visit(page, proxy.url + "/", load)
    if worker:
        wait_until(page, "() => !!navigator.serviceWorker.controller", True)
        wait_until(page, SAVED_ANSWERS, 1)
        page.wait_for_load_state("networkidle")
    return proxy.received, context, page


def taps(page: Any) -> list[tuple[float, str]]:
    return [tuple(page.evaluate(TAP_TO_LIST, list(place))) for place in TAPS]  # type: ignore[misc]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    from e2e_support import CHROMIUM_ARGS
    from playwright.sync_api import sync_playwright

    print("Rider page offline (bench/offline.py)")
    print(f"date:    {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"machine: {platform.machine()}, {platform.platform()}, python {platform.python_version()}")
    print("network: slow 3G by CDP (400 kbit/s down and up, 400 ms RTT), CPU throttled 4x, tiles blocked\n")
    without, with_worker, online, offline = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp, serve_sample(Path(tmp)) as (url, _app), sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        with CountingProxy(int(url.rsplit(":", 1)[1])) as proxy:
            for _ in range(args.runs):
                base_bytes, context, page = first_visit(browser, proxy, worker=False)
                live = taps(page)
                context.close()
                worker_bytes, context, page = first_visit(browser, proxy, worker=True)
                saving = taps(page)
                context.set_offline(True)
                saved = taps(page)
                context.close()
                assert all("离线" not in text for _, text in live + saving), (live, saving)
                assert all(text.startswith("已选择地图上的位置。 离线：显示") for _, text in saved), saved
                without.append(base_bytes)
                with_worker.append(worker_bytes)
                online.extend(ms for ms, _ in live)
                offline.extend(ms for ms, _ in saved)
                live_run, saved_run = statistics.median(ms for ms, _ in live), statistics.median(ms for ms, _ in saved)
                print(f"  run: first visit {base_bytes / 1000:.1f} KB without the worker, {worker_bytes / 1000:.1f} KB "
                      f"with it; tap to list online (no worker) {live_run:.0f} ms, offline {saved_run:.0f} ms "
                      f"(medians of {len(TAPS)} taps)")  # fmt: skip
        browser.close()

    base_kb, worker_kb = statistics.median(without) / 1000, statistics.median(with_worker) / 1000
    live_ms, saved_ms = statistics.median(online), statistics.median(offline)
    print("\n| measure | baseline | with the worker | ratio |")
    print("|---|---|---|---|")
    print(f"| first visit of `/`, KB on the wire (median) | {base_kb:.1f} (worker blocked) | {worker_kb:.1f} | "
          f"{worker_kb / base_kb:.2f}x (+{worker_kb - base_kb:.1f} KB) |")  # fmt: skip
    print(f"| tap to list, ms (median of {len(online)}) | {live_ms:.0f} (online, live, no worker) | {saved_ms:.0f} "
          f"(offline, saved) | {live_ms / saved_ms:.1f}x faster |")  # fmt: skip


if __name__ == "__main__":
    main()
