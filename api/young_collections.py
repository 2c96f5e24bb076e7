"""Python's cyclic garbage collector run on a schedule counted in requests, so that no collection meets a pile.

CPython (3.11, 3.12) starts a collection of its young generation when the objects made since the last one outnumber
those freed by ``threshold0`` (700) — and counts *every* freed object, an old one too. A worker whose caches replace
old entries with new ones as fast as it makes them (the stations and Feature texts kept for nearby answers, at
200,000 stations and more: each answer's cold stations in, the least recent out) frees about as many as it makes, so
that count stays low while the young generation keeps everything new: measured at 200,000 stations, ~130,000
objects by the time some burst of allocations set a collection off, which then took ~100 ms, every request of the
worker waiting; with a client opening connections beside the load, wrk's p99 went from ~6 ms to ~80 ms
(bench/RESULTS.md, 2026-12-05).

``YoungCollections`` collects after every ``EVERY`` requests, once the request's answer is handed to the server: the
young generation (the objects of ~16 requests, ~1 ms to walk), and all three generations at most once every
``FULL_EVERY_S``. What survives a young collection (mostly what the caches keep) waits in the older generations for
the next full collection (6-10 ms in a busy worker at 200,000 stations: what the nearby caches keep is in flat
tuples, which the young collections let go, ``stations.exporters._FeatureTexts``):
so it comes twice a minute, and cyclic garbage that outlived a young collection (a closed connection's objects)
waits at most that long. The collector's own collections still come when a burst of allocations sets one off
(an import, a planning request); its count is reset by every collection, ours too.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

EVERY = 16
"""Requests between collections (per worker process)."""
FULL_EVERY_S = 30.0
"""Seconds at least between full collections."""


class YoungCollections:
    """ASGI middleware: after every ``every`` HTTP requests, a collection of the young generation, or of all three
    once ``full_every_s`` passed since the last full one (``clock``: seconds).

    >>> import asyncio
    >>> async def app(scope, receive, send): pass
    >>> counted = YoungCollections(app, every=2)
    >>> asyncio.run(counted({"type": "http"}, None, None)); counted.until_next
    1
    """

    def __init__(
        self,
        app: ASGIApp,
        every: int = EVERY,
        full_every_s: float = FULL_EVERY_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.every = every
        self.full_every_s = full_every_s
        self.clock = clock
        self.until_next = every
        """Requests left before the next collection."""
        self.last_full = clock()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer; then, every ``every`` requests, collect."""
        try:
            await self.app(scope, receive, send)
        finally:
            if scope["type"] == "http":
                self.until_next -= 1
                if self.until_next <= 0:
                    self.until_next = self.every
                    gc.collect(self.generation())

    def generation(self) -> int:
        """The oldest generation to collect now: 2 once ``full_every_s`` passed since the last full collection,
        else 0."""
        now = self.clock()
        if now - self.last_full < self.full_every_s:
            return 0
        self.last_full = now
        return 2
