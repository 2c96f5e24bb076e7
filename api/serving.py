"""How ``yizhan serve`` runs uvicorn: its HTTP/1.1 protocol (httptools, the C parser) with a deadline and a size
bound on request headers, and the options that bound what one connection may hold.

uvicorn closes an idle kept-alive connection after ``timeout_keep_alive``, but it waits for ever for the
headers of a request: a client that connects and sends nothing, or sends its headers a byte at a time (the
keep-alive timer stops at the first byte), holds its connection as long as it likes. ``DeadlineProtocol``
closes a connection whose request line and headers are not all in within ``header_timeout_s`` of the
connection opening or of the first byte of the next request (checked every quarter of it), answering 408
first, and answers 400 to a request line and headers longer than ``MAX_HEADER_BYTES`` (uvicorn's httptools
protocol sets no bound: llhttp would keep a header of any length). The time to send the body is bounded in the
app (``api.limits.BodyTimeout``), where it can be answered like any other error.

httptools rather than h11 (uvicorn's pure-Python parser, which ``yizhan serve`` used before): measured with wrk on
the sample (bench/RESULTS.md, 2026-12-05), ~30% more nearby answers and ~60% more ``/healthz`` answers a second
from the same two workers.

``serving_app`` is the app a worker serves: ``create_app`` with what a long-lived server wants (``gc.freeze``
after start-up). ``run_workers`` runs ``--workers N`` processes under uvicorn's supervisor, each with a listening
socket of its own (``SO_REUSEPORT``): with one shared socket the kernel handed nearly every new connection to one
worker.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import weakref
from typing import Any, cast

from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE, Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.supervisors import Multiprocess

from api.app import create_app
from stations.settings import get_settings

PROTOCOL = "api.serving:DeadlineProtocol"
"""The protocol class as uvicorn imports it (a string: the config is pickled for ``--workers``)."""
MAX_HEADER_BYTES = 16 * 1024
"""Largest request line plus headers (h11's default bound, kept): more gets 400."""
_TIMEOUT_BODY = b'{"error": "request_timeout", "detail": "the request headers came too late"}'
TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/json\r\nconnection: close\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(_TIMEOUT_BODY), _TIMEOUT_BODY)
)
TOO_LARGE = "Request line and headers too large."
"""The 400 answer's text (plain, as uvicorn's own 400 for a request it cannot parse) for headers past the bound."""


class DeadlineProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, with a deadline (``header_timeout_s``) and a size bound (``MAX_HEADER_BYTES``)
    on each request's line and headers.

    A request only notes when its headers are due; one sweep per event loop (``_Sweeper``, every quarter of the
    timeout or every second, whichever is sooner) closes the connections whose headers are overdue — a timer armed and
    cancelled for every request cost ~5-10 µs of each. The bytes of a head are counted as they arrive, so a head
    that never ends is refused once past the bound (bytes of it that came in the same read as the end of the
    request before are not counted: at most one read, 256 KiB, more)."""

    header_timeout_s: float | None = None
    """Seconds; None: ``YIZHAN_HEADER_TIMEOUT_S``. Subclasses (tests) may set their own."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.headers_due: float | None = None
        """When the headers of the request being received must be in (the loop's clock); None: not waiting."""
        self.in_head = True
        """Whether a request's line and headers are awaited (from its first byte, or none yet, until all are in)."""
        self.head_bytes = 0
        """Bytes of the awaited head received so far."""
        self.timeout_s = self.header_timeout_s or get_settings().header_timeout_s

    # as uvicorn's HttpToolsProtocol declares it: an asyncio.Transport, narrower than BaseProtocol's BaseTransport
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the connection with the deadline running for its first request."""
        super().connection_made(transport)
        self.headers_due = self.loop.time() + self.timeout_s
        _Sweeper.of(self.loop).watch(self, self.timeout_s)

    def data_received(self, data: bytes) -> None:
        """Feed the bytes to the parser; the deadline runs from a request's first byte until its headers are in."""
        if self.in_head:
            if self.headers_due is None:
                self.headers_due = self.loop.time() + self.timeout_s  # the first bytes of a request
            self.head_bytes += len(data)
        super().data_received(data)
        if self.in_head and self.head_bytes > MAX_HEADER_BYTES and not self.transport.is_closing():
            self.logger.warning(TOO_LARGE)
            self.send_400_response(TOO_LARGE)

    def on_headers_complete(self) -> None:
        """The head is in: no deadline, no count, until the next request."""
        self.in_head, self.headers_due, self.head_bytes = False, None, 0
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        """The request is in: the next one's head is awaited (its deadline starts at its first byte)."""
        super().on_message_complete()
        self.in_head, self.head_bytes = True, 0

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
        if self.transport.is_closing() or not self.in_head:
            return
        if self.cycle is None or self.cycle.response_complete:  # nothing of ours is on the wire half-sent
            self.transport.write(TIMEOUT_RESPONSE)
        self.transport.close()


class _Sweeper:
    """The connections of one event loop whose request headers are awaited, checked every ``interval`` s."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.interval = 1.0
        self.protocols: set[DeadlineProtocol] = set()
        self.handle: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, loop: asyncio.AbstractEventLoop) -> _Sweeper:
        """The sweeper of ``loop`` (made when first asked)."""
        sweeper = _SWEEPERS.get(loop)
        if sweeper is None:
            sweeper = _SWEEPERS[loop] = cls(loop)
        return sweeper

    def watch(self, protocol: DeadlineProtocol, timeout_s: float) -> None:
        """Check ``protocol`` at every sweep, at least every quarter of ``timeout_s``, until ``forget``."""
        self.protocols.add(protocol)
        self.interval = min(self.interval, timeout_s / 4)
        if self.handle is None:
            self.handle = self.loop.call_later(self.interval, self.sweep)

    def forget(self, protocol: DeadlineProtocol) -> None:
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


def serving_app() -> FastAPI:
    """The app ``yizhan serve`` runs in each worker (uvicorn's factory): start-up's objects frozen once it is done,
    and ``logging`` told not to look up each record's caller, thread and process (the Logging HOWTO's
    "Optimization": no line of ours prints them; a few µs of every request's access-log line)."""
    lean_log_records()
    return create_app(freeze_at_startup=True)


def lean_log_records() -> None:
    """Tell ``logging`` not to look up each record's caller, thread and process (no line of ours prints them)."""
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False


def uvicorn_options() -> dict[str, Any]:
    """The uvicorn ``Config`` options ``yizhan serve`` uses to bound what a client may hold."""
    return {
        "http": PROTOCOL,
        "timeout_keep_alive": 5,  # seconds an idle kept-alive connection stays open (uvicorn's default, said)
    }


def run_workers(config: Config) -> None:
    """Run ``config.workers`` processes of the app under uvicorn's supervisor (it restarts a worker that dies or
    stops answering its health checks, and handles the signals), each listening on a socket of its own.

    Each worker binds ``config.host:config.port`` with ``SO_REUSEPORT``, and the kernel spreads new connections
    over the workers' sockets by a hash of their addresses. With one shared socket (uvicorn's way), the worker that
    wakes first accepts every connection then waiting (asyncio accepts all it can per wake-up): under load nearly
    every new connection went to one worker (142 of 150 in a check), so a few kept-alive connections (a load
    balancer's pool, wrk's) kept one worker busy and left the other idle. A worker's socket listens only once its
    app has started, so no connection waits on a worker still loading the registry; the connections waiting in a
    worker's own queue when it dies are reset.

    The supervisor binds the address first and holds it (not listening) while it runs, so a port in use is one
    line and exit status 3 (uvicorn's ``STARTUP_FAILURE``) here, as with the shared socket, and the port stays ours
    while a worker restarts; ``--port 0`` becomes the one port the supervisor got. Where the system has no
    ``SO_REUSEPORT``, or the config listens on a Unix socket or a file descriptor, the workers share one socket.
    Exits with status 3 as well when a worker failed to start (the supervisor then stops the others).
    """
    if config.uds is not None or config.fd is not None or not hasattr(socket, "SO_REUSEPORT"):
        supervisor = Multiprocess(config, sockets=[tcp_listener(config.bind_socket())])
        supervisor.run()
    else:
        held = _hold_address(config)
        try:
            # uvicorn's Multiprocess pickles its sockets to every worker it starts: this stand-in unpickles as the
            # worker's own socket (its health checks, restarts and signals are uvicorn's, unchanged)
            own = cast(socket.socket, WorkerSocket(held.family, config.host, held.getsockname()[1]))
            supervisor = Multiprocess(config, sockets=[own])
            supervisor.run()
        finally:
            held.close()
    if any(process.exitcode == STARTUP_FAILURE for process in supervisor.processes):
        sys.exit(STARTUP_FAILURE)


def tcp_listener(sock: socket.socket) -> socket.socket:
    """The shared listening socket of several workers, as an IPPROTO_TCP socket: uvicorn makes it with protocol 0,
    and asyncio sets TCP_NODELAY only on IPPROTO_TCP sockets — without it every answer waits ~40 ms for the
    client's delayed ACK (Nagle), capping 2 workers at ~170 requests/s (Kludex/uvicorn#3149)."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return sock
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


class WorkerSocket:
    """Stands in the supervisor's list of sockets for the listening socket each worker makes for itself: pickled
    to a worker process, it arrives as a new socket bound to ``host:port`` (``reuse_port_socket``)."""

    def __init__(self, family: socket.AddressFamily, host: str, port: int) -> None:
        self.family, self.host, self.port = family, host, port

    def __reduce__(self) -> tuple[Any, tuple[socket.AddressFamily, str, int]]:
        return reuse_port_socket, (self.family, self.host, self.port)


def reuse_port_socket(family: socket.AddressFamily, host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (not yet listening: uvicorn's server listens once
    the app has started), for one worker. IPPROTO_TCP, so that asyncio sets TCP_NODELAY on its connections (see
    ``tcp_listener``). If it cannot bind, one line on stderr and exit status 3: the supervisor stops rather than
    restart the worker again and again (this runs as the worker unpickles its arguments, before logging is set)."""
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        print(f"ERROR:    a worker cannot listen on {_address(host, port)}: {error}", file=sys.stderr, flush=True)
        sys.exit(STARTUP_FAILURE)
    return sock


def _hold_address(config: Config) -> socket.socket:
    """The supervisor's socket on the address, bound as uvicorn binds it (``SO_REUSEADDR``, so connections of an
    earlier server waiting out TIME_WAIT do not count as in use), then opened to the workers' ``SO_REUSEPORT``
    sockets. It never listens, so no connection waits on it; bound without ``SO_REUSEPORT``, it fails while any
    other socket listens there (another ``yizhan serve`` too, whose workers would otherwise share its port)."""
    family = socket.AF_INET6 if ":" in config.host else socket.AF_INET  # as uvicorn's Config.bind_socket
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((config.host, config.port))
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    except OSError as error:
        sock.close()
        _LOGGER.error("cannot listen on %s: %s", _address(config.host, config.port), error)
        sys.exit(STARTUP_FAILURE)
    message = "Uvicorn running on %s://%s:%d (Press CTRL+C to quit)"  # the line uvicorn's bind_socket logs
    _LOGGER.info(message, "https" if config.is_ssl else "http", config.host, sock.getsockname()[1])
    return sock


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


_LOGGER = logging.getLogger("uvicorn.error")
