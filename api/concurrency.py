"""At most a few expensive requests at once per server process (planning: coverage, gaps, the coverage map,
siting); others wait a little for a turn, then get 503 with ``Retry-After``.

Why a cap on concurrency rather than a per-client rate: an uncached coverage costs about a second of CPU and a
siting run up to its ``time_limit_s`` (≤ 600 s), so a handful at once starve the rider's ``/stations/nearby``
on a small machine whoever sends them, while repeated identical requests are cheap (answers are cached per
registry version). The cap holds per process: with ``--workers N`` it is N times ``YIZHAN_PLANNING_CONCURRENCY``.
Per-client request rates belong in the reverse proxy (e.g. nginx ``limit_req``), which sees the real client
address; rider reports, the one public write to the registry, are also limited per client in the database (see
``stations.reports``), which holds across processes.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

from api.asgi import send_error

POLL_S = 0.05
"""How often a waiting request looks for a free turn (only while all turns are taken)."""


class ConcurrencyLimit:
    """ASGI middleware: requests to ``paths`` run at most ``limit`` at a time; a request that finds no turn
    within ``wait_s`` gets 503 with ``Retry-After``. Other paths pass untouched."""

    def __init__(self, app: ASGIApp, paths: Iterable[str], limit: int, wait_s: float) -> None:
        if limit < 1:
            raise ValueError(f"limit={limit}: at least one request must be able to run")
        self.app = app
        self.paths = frozenset(paths)
        self.limit = limit
        self.wait_s = wait_s
        self.running = 0
        """Requests to ``paths`` being answered now (one event loop per process: no lock needed)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        deadline = time.monotonic() + self.wait_s
        while self.running >= self.limit:
            if time.monotonic() >= deadline:
                retry = str(max(1, math.ceil(self.wait_s))).encode()
                detail = f"{self.limit} planning requests are running already; try again in a moment"
                await send_error(send, 503, "busy", detail, [(b"retry-after", retry)])
                return
            await anyio.sleep(POLL_S)
        self.running += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.running -= 1
