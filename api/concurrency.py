"""At most a few expensive requests at once per server process (planning: coverage, gaps, the coverage map,
siting); others wait a little for a turn, then get 503 with ``Retry-After``.

Why a cap on concurrency rather than a per-client rate: an uncached coverage costs about a second of CPU and a
siting run up to its ``time_limit_s`` (≤ 600 s), so a handful at once starve the rider's ``/stations/nearby``
on a small machine whoever sends them, while repeated identical requests are cheap (answers are cached per
registry version). The cap holds per process: with ``--workers N`` it is N times ``YIZHAN_PLANNING_CONCURRENCY``.
Per-client request rates belong in the reverse proxy (e.g. nginx ``limit_req``), which sees the real client
address; rider reports, the one public write to the registry, are also limited per client in the database (see
``stations.reports``), which holds across processes.

A request takes its turn only once its whole body is in (the body is read here, at most the body limit, and
handed to the app as it came): a client sending its body slowly holds a connection, bounded by
``api.limits.BodyTimeout``, but never a turn.

A memory ceiling guards the turns too: when the process's resident memory is above ``memory_bytes``, the
planning caches are emptied (``relieve``) and, if memory stays above, the request gets 503 with
``Retry-After`` instead of starting work that could push the process out of memory.
"""

from __future__ import annotations

import math
import os
import re
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import send_error

POLL_S = 0.05
"""How often a waiting request looks for a free turn (only while all turns are taken)."""


def resident_bytes() -> int:
    """Resident memory (RSS) of this process, bytes, from ``/proc/self/statm``; 0 where there is no ``/proc``
    (the ceiling then never applies)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


class ConcurrencyLimit:
    """ASGI middleware: requests to ``paths`` run at most ``limit`` at a time; a request that finds no turn
    within ``wait_s`` gets 503 with ``Retry-After``. Other paths pass untouched. A path may be a route template:
    ``{name}`` stands for one path segment (``/reports/district/{adcode}`` holds ``/reports/district/330106``).

    The body is read before the turn is taken. With ``memory_bytes`` > 0, a request arriving while the process's
    resident memory (``memory()``) is above it first has ``relieve()`` called (empty the caches), and gets 503
    if memory is still above."""

    def __init__(
        self,
        app: ASGIApp,
        paths: Iterable[str],
        limit: int,
        wait_s: float,
        memory_bytes: int = 0,
        relieve: Callable[[], None] | None = None,
        memory: Callable[[], int] = resident_bytes,
    ) -> None:
        if limit < 1:
            raise ValueError(f"limit={limit}: at least one request must be able to run")
        self.app = app
        self.paths = frozenset(paths)
        self._exact = frozenset(path for path in self.paths if "{" not in path)
        self._templates = tuple(_template(path) for path in self.paths if "{" in path)
        self.limit = limit
        self.wait_s = wait_s
        self.memory_bytes = memory_bytes
        self.relieve = relieve
        self.memory = memory
        self.running = 0
        """Requests to ``paths`` being answered now (one event loop per process: no lock needed)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer a request to ``paths`` when it gets a turn (or 503); other requests pass through."""
        if scope["type"] != "http" or not self._capped(scope["path"]):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client left (or an outer middleware answered) before its body was in
        retry = str(max(1, math.ceil(self.wait_s))).encode()
        if self._over_memory():
            detail = (
                f"the server is using more memory than its planning ceiling ({self.memory_bytes / 1e9:.1f} GB, "
                "YIZHAN_PLANNING_MEMORY_BYTES); try again in a moment"
            )
            await send_error(send, 503, "busy", detail, [(b"retry-after", retry)])
            return
        deadline = time.monotonic() + self.wait_s
        while self.running >= self.limit:
            if time.monotonic() >= deadline:
                detail = f"{self.limit} planning requests are running already; try again in a moment"
                await send_error(send, 503, "busy", detail, [(b"retry-after", retry)])
                return
            await anyio.sleep(POLL_S)
        self.running += 1
        try:
            await self.app(scope, _replay(body, receive), send)
        finally:
            self.running -= 1

    def _capped(self, path: str) -> bool:
        return path in self._exact or any(template.fullmatch(path) for template in self._templates)

    def _over_memory(self) -> bool:
        if not self.memory_bytes or self.memory() <= self.memory_bytes:
            return False
        if self.relieve is not None:
            self.relieve()
        return self.memory() > self.memory_bytes


def _template(path: str) -> re.Pattern[str]:
    """A route template as a pattern: each ``{name}`` one non-empty path segment, the rest literal.

    >>> bool(_template("/reports/district/{adcode}").fullmatch("/reports/district/330106"))
    True
    >>> bool(_template("/reports/district/{adcode}").fullmatch("/reports/district/330106/x"))
    False
    """
    return re.compile("".join(r"[^/]+" if part.startswith("{") else re.escape(part) for part in _PARTS.split(path)))


_PARTS = re.compile(r"(\{[^}/]*\})")


async def _read_body(receive: Receive) -> bytes | None:
    """The whole request body, or None when the client disconnected first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` in one message, then whatever ``receive`` gives (the disconnect)."""
    given = False

    async def replayed() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replayed
