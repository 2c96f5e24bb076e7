"""A rider's phone on a bad network, as Chromium's DevTools protocol makes it: slow 3G (400 kbit/s each way,
400 ms round trip) and a CPU 4 times slower, tiles blocked; what the first and a repeat load of the rider page
cost in bytes on the wire, and how long the list takes to show. Used by tests/e2e/test_page_weight.py and
bench/page_weight.py (which puts this folder on ``sys.path``).

Bytes are Chromium's ``encodedDataLength`` of every finished request (headers and body as received, after
compression), so a ``304`` counts its few hundred bytes and a cached asset nothing. Times come from the page's
own clock (``performance.now()``): when the geolocation answer reached the app, and when the first list item
appeared (polled every 10 ms).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field
from typing import Any

SLOW_3G = {"offline": False, "latency": 400, "downloadThroughput": 400_000 / 8, "uploadThroughput": 400_000 / 8}
"""``Network.emulateNetworkConditions``: 400 kbit/s down and up (bytes/s here), 400 ms added to each round trip."""
CPU_SLOWDOWN = 4
TILE_PATTERNS = ["*tile.openstreetmap.org*", "*.png"]
"""``Network.setBlockedURLs``: the base map's tiles (never counted); blocking by CDP keeps the HTTP cache on,
where a Playwright ``route`` would turn it off."""

TIMING_SCRIPT = """
(() => {
  const marks = window.__yizhanTimes = {position: null, list: null};
  const geolocation = navigator.geolocation;
  const ask = geolocation.getCurrentPosition.bind(geolocation);
  geolocation.getCurrentPosition = (ok, fail, options) => ask((where) => {
    if (marks.position === null) { marks.position = performance.now(); }
    ok(where);
  }, fail, options);
  const poll = setInterval(() => {
    if (document.querySelector(".yz-item")) { marks.list = performance.now(); clearInterval(poll); }
  }, 10);
})();
"""


@dataclass
class Load:
    """One load of a page: bytes received per URL, and the page's clock marks (ms since navigation start)."""

    bytes_by_url: dict[str, int] = field(default_factory=dict)
    position_ms: float | None = None
    list_ms: float | None = None

    @property
    def total_bytes(self) -> int:
        """Bytes on the wire, headers included."""
        return sum(self.bytes_by_url.values())

    @property
    def list_after_position_ms(self) -> float | None:
        """From the geolocation answer to the list on screen."""
        if self.position_ms is None or self.list_ms is None:
            return None
        return self.list_ms - self.position_ms


class CountingProxy:
    """A loopback TCP proxy in front of ``port`` that counts the bytes the server sends (headers and bodies, as
    on the wire): every request of the page, its service worker's and any other, tiles excepted (not ours).

    Used as a context manager; ``url`` is the proxy's address, ``received`` the bytes so far, ``reset()`` zeroes
    it."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.received = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.url = ""

    def __enter__(self) -> CountingProxy:
        self._thread.start()
        server = asyncio.run_coroutine_threadsafe(asyncio.start_server(self._serve, "127.0.0.1", 0), self._loop)
        self._server = server.result(10)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    def __exit__(self, *exc: object) -> None:
        async def stop() -> None:
            self._server.close()
            tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    def reset(self) -> None:
        """Count from zero again."""
        self.received = 0

    async def _serve(self, client_in: asyncio.StreamReader, client_out: asyncio.StreamWriter) -> None:
        server_in, server_out = await asyncio.open_connection("127.0.0.1", self.port)

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter, counted: bool) -> None:
            try:
                while data := await source.read(65536):
                    if counted:
                        self.received += len(data)
                    sink.write(data)
                    await sink.drain()
            except (ConnectionError, OSError, asyncio.CancelledError):
                pass
            finally:
                sink.close()

        with contextlib.suppress(asyncio.CancelledError):  # the proxy is closing
            await asyncio.gather(pipe(client_in, server_out, False), pipe(server_in, client_out, True))


def throttled_page(
    browser: Any, *, identity: bool = False, cache: bool = True, rewrite: dict[str, str] | None = None
) -> tuple[Any, Any, Load]:
    """``(context, page, load)``: a phone-sized page at the rider's fixed position on slow 3G with a 4x slower
    CPU, recording into ``load``. ``identity``: ask for uncompressed answers; ``cache=False``: no HTTP cache;
    ``rewrite``: path → path to ask instead (a Playwright route, which also turns the cache off)."""
    from e2e_support import RIDER_AT

    context = browser.new_context(
        viewport={"width": 360, "height": 740},
        geolocation={"longitude": RIDER_AT[0], "latitude": RIDER_AT[1]},
        permissions=["geolocation"],
        locale="zh-CN",
    )
    page = context.new_page()
    page.add_init_script(TIMING_SCRIPT)
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.emulateNetworkConditions", SLOW_3G)
    cdp.send("Network.setBlockedURLs", {"urls": TILE_PATTERNS})
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
    if identity:
        cdp.send("Network.setExtraHTTPHeaders", {"headers": {"Accept-Encoding": "identity"}})
    if not cache:
        cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    for old, new in (rewrite or {}).items():
        page.route(lambda url, old=old: url.endswith(old), _rewriter(old, new))
    load = Load()
    urls: dict[str, str] = {}
    cdp.on("Network.requestWillBeSent", lambda event: urls.__setitem__(event["requestId"], event["request"]["url"]))

    def finished(event: dict[str, Any]) -> None:
        url = urls.get(event["requestId"], event["requestId"])
        load.bytes_by_url[url] = load.bytes_by_url.get(url, 0) + int(event["encodedDataLength"])

    cdp.on("Network.loadingFinished", finished)
    return context, page, load


def _rewriter(old: str, new: str) -> Any:
    def handle(route: Any, request: Any) -> None:
        route.continue_(url=request.url.replace(old, new))

    return handle


def visit(page: Any, url: str, load: Load, timeout_ms: float = 120_000) -> Load:
    """Open ``url``, wait for the list and for the network to settle, and fill in ``load``'s clock marks."""
    load.bytes_by_url.clear()
    page.goto(url, wait_until="load", timeout=timeout_ms)
    page.wait_for_selector(".yz-item", timeout=timeout_ms)
    page.wait_for_load_state("networkidle", timeout=timeout_ms)
    marks = page.evaluate("window.__yizhanTimes")
    load.position_ms, load.list_ms = marks["position"], marks["list"]
    return load
