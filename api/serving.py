"""How ``yizhan serve`` runs uvicorn: its HTTP/1.1 protocol with a deadline on request headers, and the options
that bound what one connection may hold.

uvicorn closes an idle kept-alive connection after ``timeout_keep_alive``, but it waits for ever for the
headers of a request: a client that connects and sends nothing, or sends its headers a byte at a time (the
keep-alive timer stops at the first byte), holds its connection as long as it likes. ``DeadlineH11Protocol``
closes a connection whose request line and headers are not all in within ``header_timeout_s`` of the
connection opening or of the first byte of the next request, answering 408 first. The time to send the body is
bounded in the app (``api.limits.BodyTimeout``), where it can be answered like any other error.
"""

from __future__ import annotations

import asyncio
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
    """uvicorn's h11 protocol, with a deadline (``header_timeout_s``) on each request's line and headers."""

    header_timeout_s: float | None = None
    """Seconds; None: ``YIZHAN_HEADER_TIMEOUT_S``. Subclasses (tests) may set their own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_deadline: asyncio.TimerHandle | None = None
        self.timeout_s = self.header_timeout_s or get_settings().header_timeout_s

    # as uvicorn's H11Protocol declares it: an asyncio.Transport, narrower than BaseProtocol's BaseTransport
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the connection with the deadline armed for its first request."""
        super().connection_made(transport)
        self._arm()

    def data_received(self, data: bytes) -> None:
        """Feed the bytes to h11; the deadline runs from a request's first byte until its headers are in."""
        if self.conn.their_state is h11.IDLE:
            self._arm()  # the first bytes of a request (no-op while the deadline runs already)
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:
            self._disarm()  # the request line and headers are in

    def connection_lost(self, exc: Exception | None) -> None:
        """Disarm the deadline and close as uvicorn does."""
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self.header_deadline is None:
            self.header_deadline = self.loop.call_later(self.timeout_s, self._headers_too_late)

    def _disarm(self) -> None:
        if self.header_deadline is not None:
            self.header_deadline.cancel()
            self.header_deadline = None

    def _headers_too_late(self) -> None:
        self.header_deadline = None
        if self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        if self.cycle is None or self.cycle.response_complete:  # nothing of ours is on the wire half-sent
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()


def uvicorn_options() -> dict[str, Any]:
    """The uvicorn ``Config`` options ``yizhan serve`` uses to bound what a client may hold."""
    return {
        "http": PROTOCOL,
        "timeout_keep_alive": 5,  # seconds an idle kept-alive connection stays open (uvicorn's default, said)
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }
