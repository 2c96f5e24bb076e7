"""How ``yizhan serve`` runs uvicorn: its HTTP/1.1 protocol with a deadline on request headers, and the options
that bound what one connection may hold.

uvicorn closes an idle kept-alive connection after ``timeout_keep_alive``, but it waits for ever for the
headers of a request: a client that connects and sends nothing, or sends its headers a byte at a time (the
keep-alive timer stops at the first byte), holds its connection as long as it likes. ``DeadlineH11Protocol``
closes a connection whose request line and headers are not all in within ``header_timeout_s`` of the
connection opening or of the first byte of the next request (checked every quarter of it), answering 408
first. The time to send the body is bounded in the app (``api.limits.BodyTimeout``), where it can be answered like
any other error.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from stations.settings import get_settings

PROTOCOL = "api.serving:DeadlineH11Protocol"
"""The protocol class as uvicorn imports it (a string: the config is pickled for ``--workers``)."""
MAX_HEADER_BYTES = 16 * 1024
"""Largest request line plus headers (h11's default, said here): more gets 400."""
_TIMEOUT_BODY = b'{"error": "request_timeout", "detail": "the request headers came too late"}'
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with a deadline (``header_timeout_s``) on each request's line and headers.

    A request only notes when its headers are due; one sweep per event loop (``_Sweeper``, every quarter of the
    timeout or every second, whichever is sooner) closes the connections whose headers are overdue — a timer armed and
    cancelled for every request cost ~5-10 µs of each."""

    header_timeout_s: float | None = None
    """Seconds; None: ``YIZHAN_HEADER_TIMEOUT_S``. Subclasses (tests) may set their own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers_due: float | None = None
        """When the headers of the request being received must be in (the loop's clock); None: not waiting."""
        self.timeout_s = self.header_timeout_s or get_settings().header_timeout_s

    # as uvicorn's H11Protocol declares it: an asyncio.Transport, narrower than BaseProtocol's BaseTransport
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the connection with the deadline running for its first request."""
        super().connection_made(transport)
        self.headers_due = self.loop.time() + self.timeout_s
        _Sweeper.of(self.loop).watch(self, self.timeout_s)

    def data_received(self, data: bytes) -> None:
        """Feed the bytes to h11; the deadline runs from a request's first byte until its headers are in."""
        if self.headers_due is None and self.conn.their_state is h11.IDLE:
            self.headers_due = self.loop.time() + self.timeout_s  # the first bytes of a request
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self.headers_due = None  # the request line and headers are in

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop watching the connection and close as uvicorn does."""
        self.headers_due = None
        _Sweeper.of(self.loop).forget(self)
        super().connection_lost(exc)

    def check_deadline(self, now: float) -> None:
        """Close the connection (408 first) if its request's headers were due before ``now``."""
        if self.headers_due is not None and now >= self.headers_due:
            self.headers_due = None
            self._headers_too_late()

    def _headers_too_late(self) -> None:
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.cycle is None or self.cycle.response_complete:  # nothing of ours is on the wire half-sent
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()


class _Sweeper:
    """The connections of one event loop whose request headers are awaited, checked every ``interval`` s."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.interval = 1.0
        self.protocols: set[DeadlineH11Protocol] = set()
        self.handle: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> _Sweeper:
        """The sweeper of ``loop`` (made when first asked)."""
        sweeper = _SWEEPERS.get(loop)
        if sweeper is None:
            sweeper = _SWEEPERS[loop] = cls(loop)
        return sweeper

    def watch(self, protocol: DeadlineH11Protocol, timeout_s: float) -> None:
        """Check ``protocol`` at every sweep, at least every quarter of ``timeout_s``, until ``forget``."""
        self.protocols.add(protocol)
        self.interval = min(self.interval, timeout_s / 4)
        if self.handle is None:
            self.handle = self.loop.call_later(self.interval, self.sweep)

    def forget(self, protocol: DeadlineH11Protocol) -> None:
        """Stop checking ``protocol`` (its connection is closed)."""
        self.protocols.discard(protocol)

    def sweep(self) -> None:
        """Close the connections whose headers are overdue; sweep again while any connection is open."""
        self.handle = None
        now = self.loop.time()
        for protocol in list(self.protocols):
            protocol.check_deadline(now)
        if self.protocols:
            self.handle = self.loop.call_later(self.interval, self.sweep)
        elif _SWEEPERS.get(self.loop) is self:  # no connection left: let go of the loop (the value holds it)
            del _SWEEPERS[self.loop]


_SWEEPERS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Sweeper] = weakref.WeakKeyDictionary()


def uvicorn_options() -> dict[str, Any]:
    """The uvicorn ``Config`` options ``yizhan serve`` uses to bound what a client may hold."""
    return {
        "http": PROTOCOL,
        "timeout_keep_alive": 5,  # seconds an idle kept-alive connection stays open (uvicorn's default, said)
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }
