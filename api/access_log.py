"""The access log: one JSON line per request on the ``yizhan.access`` logger, and ``X-Request-ID`` on every
response.

A line holds ``time`` (UTC), ``request_id``, ``method``, ``path``, ``query``, ``status``, ``duration_ms``,
``bytes`` (of the response body) and ``client``::

    {"time": "2026-11-23T04:00:00.123+00:00", "request_id": "9f2c1e0a5b7d4c3e", "method": "GET",
     "path": "/stations/nearby", "query": "lon=120.16&lat=30.25&k=5", "status": 200, "duration_ms": 2.41,
     "bytes": 5120, "client": "4be1c0d2a9f8e7b6"}

What is never written: request headers (so no ``Authorization`` token, no cookie), bodies, and the client's
address, which becomes the first 16 hex digits of the same keyed, daily-changing hash that counts rider
reports (``stations.reports.client_key``; enough to count one client's requests in a day, useless to find
it). In the query, ``lon``/``lat`` are rounded to 2 decimals (about 1 km), so a rider's position is not kept
at full precision, and values of token-like parameters (``token``, ``key``, ``secret``...) are replaced by
``[redacted]``.

A request's id is the ``X-Request-ID`` it came with (from a proxy; 1-64 of ``A-Za-z0-9._:-``) or a new one;
it is echoed in the response and kept in ``request.state.request_id``. ``yizhan serve`` turns uvicorn's own
access log off and prints these lines on stdout (``uvicorn_log_config``).
"""

from __future__ import annotations

import atexit
import copy
import json
import logging
import queue
import random
import re
import threading
import time
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import unquote_plus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import header
from stations.reports import client_key

LOGGER = logging.getLogger("yizhan.access")
SECRET_KEYS = frozenset(
    {"token", "access_token", "api_key", "apikey", "key", "secret", "password", "auth", "authorization", "code"}
)
"""Query parameters whose values are never logged."""
POSITION_KEYS = frozenset({"lon", "lat"})
POSITION_DECIMALS = 2
"""Decimals kept of a logged ``lon``/``lat``: 0.01° is about 1 km."""
MAX_VALUE_CHARS = 100
CLIENTS_KEPT = 4096
"""Client hashes kept (``AccessLog._client``); all let go when more come."""
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_text = json.encoder.encode_basestring_ascii  # a string as json.dumps writes it (in C)


def log_query(query: str) -> str:
    """``query`` (as received, percent-encoded) as it may be logged: positions rounded, secrets redacted, long
    values cut.

    >>> log_query("lon=120.1612345&lat=30.2509876&k=5&token=s3cr3t&name=%E9%A9%BF")
    'lon=120.16&lat=30.25&k=5&token=[redacted]&name=%E9%A9%BF'
    >>> log_query("lat=north&TOK%45N=x")
    'lat=[invalid]&TOK%45N=[redacted]'
    """
    if not query:
        return ""
    kept = []
    for pair in query.split("&"):
        key, equals, value = pair.partition("=")
        name = (unquote_plus(key) if "%" in key or "+" in key else key).lower()
        if name in SECRET_KEYS:
            value = "[redacted]"
        elif name in POSITION_KEYS:
            value = _rounded(unquote_plus(value) if "%" in value or "+" in value else value)
        elif len(value) > MAX_VALUE_CHARS:
            value = value[:MAX_VALUE_CHARS] + "…"
        kept.append(f"{key[:MAX_VALUE_CHARS]}{equals}{value}")
    return "&".join(kept)


def _rounded(value: str) -> str:
    try:
        number = float(value)
    except ValueError:
        return "[invalid]"
    return f"{number:.{POSITION_DECIMALS}f}" if abs(number) <= 180 else "[invalid]"


def request_id(scope: Scope) -> str:
    """The request's ``X-Request-ID`` when it is a sane token, else a new random one (16 hex digits)."""
    given = header(scope, b"x-request-id")
    if given is not None and _REQUEST_ID.match(given):
        return given
    # 16 random hex digits from the process's generator (seeded from the system's at start): an id to find a
    # request's line by, which needs to be unique, not secret; secrets.token_hex asks the kernel every time
    return f"{random.getrandbits(64):016x}"


class AccessLog:
    """ASGI middleware: an ``X-Request-ID`` on every response and one JSON line per request on ``LOGGER``
    (at INFO; nothing is built when that level is off). ``secret`` keys the client hash."""

    def __init__(self, app: ASGIApp, secret: str) -> None:
        self.app = app
        self.secret = secret
        self._clients: dict[tuple[str, date], str] = {}
        """Client hashes made today, by address (an HMAC is ~6 µs; a client sends many requests a day)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request, then log its line (status, bytes, duration); other scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        status = 500  # what the client gets when the app raises before answering
        sent = 0

        async def sending(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (b"x-request-id", rid.encode())]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            if LOGGER.isEnabledFor(logging.INFO):
                line = self.line(scope, rid, status, sent, time.perf_counter() - started)
                handler = _plain_queue(LOGGER)
                if handler is not None:
                    handler.put_line(line)  # what LOGGER.info would hand it, without the record (~5 µs)
                else:
                    LOGGER.info(line)

    def line(self, scope: Scope, rid: str, status: int, sent: int, duration_s: float) -> str:
        """The JSON log line of one request: the text ``json.dumps`` writes of the record (ASCII only: no character
        in a path or query can break the line), put together directly (~2x faster: each request pays it).

        >>> log = AccessLog(None, "s")  # type: ignore[arg-type]
        >>> scope = {"method": "GET", "path": '/驿站"', "query_string": b"lat=30.123", "client": None}
        >>> line = json.loads(log.line(scope, "r1", 200, 5, 0.00123))
        >>> line["path"], line["query"], line["duration_ms"], line["client"]
        ('/驿站"', 'lat=30.12', 1.23, None)
        """
        client = scope.get("client")
        moment, day = _CLOCK.now()
        query = log_query(scope.get("query_string", b"").decode("latin-1"))
        # each value as json.dumps writes it: strings escaped to ASCII (its own C function), numbers by repr
        return (
            f'{{"time": "{moment}", "request_id": {_text(rid)}, '
            f'"method": {_text(scope["method"])}, "path": {_text(scope["path"])}, "query": {_text(query)}, '
            f'"status": {int(status)}, "duration_ms": {float(round(duration_s * 1000, 2))!r}, "bytes": {int(sent)}, '
            f'"client": {_text(self._client(client[0], day)) if client else "null"}}}'
        )

    def _client(self, address: str, day: date) -> str:
        """The first 16 hex digits of ``address``'s keyed hash of ``day`` (UTC)."""
        key = (address, day)
        found = self._clients.get(key)
        if found is None:
            if len(self._clients) >= CLIENTS_KEPT:
                self._clients.clear()
            found = self._clients[key] = client_key(address, self.secret, datetime(day.year, day.month, day.day))[:16]
        return found


class _Clock:
    """The time of a log line, as ``datetime.now(UTC).isoformat(timespec="milliseconds")`` writes it, and its day
    (UTC): each second's text and day are made once (~0.5 µs a line against ~3 µs)."""

    def __init__(self) -> None:
        self._second: tuple[int, str, date] = (-1, "", date.min)

    def now(self) -> tuple[str, date]:
        """The time text and the day, now."""
        now = time.time()
        second, prefix, day = self._second
        if int(now) != second:
            moment = datetime.fromtimestamp(int(now), UTC)
            second, prefix, day = self._second = (int(now), moment.strftime("%Y-%m-%dT%H:%M:%S"), moment.date())
        return f"{prefix}.{min(int((now - second) * 1000), 999):03d}+00:00", day


_CLOCK = _Clock()


class QueuedStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]  # the stream's type is not generic here
    """A stream handler whose lines are written by a thread of its own, so that a request never waits for the log's
    pipe (a slow reader of stdout). Records are formatted where they are logged (a line of the access log is
    made in the request, as before) and only the text is queued: a thread that did the formatting would hold the
    interpreter's lock for long stretches, and the event loop would wait for it at every system call.

    The thread wakes at most every ``BATCH_S`` and writes what came meanwhile in one call. Lines come out in
    order, at most ``BATCH_S`` late; those still queued are written at exit."""

    BATCH_S = 0.05

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self._batch = threading.Lock()
        """Held by the thread from taking a batch until it is written (so that ``drain`` waits for it)."""
        self._writer = threading.Thread(target=self._write, name="yizhan-access-log", daemon=True)
        self._writer.start()
        atexit.register(self.drain)

    def emit(self, record: logging.LogRecord) -> None:
        """Format the record and queue its line (returns at once)."""
        try:
            self._queue.put(self.format(record) + self.terminator)
        except Exception:  # as StreamHandler.emit: a record that cannot be formatted is reported
            self.handleError(record)

    def put_line(self, text: str) -> None:
        """Queue ``text`` as a line: what ``emit`` queues for a record whose formatted text it is."""
        self._queue.put(text + self.terminator)

    def _write(self) -> None:
        while True:
            first = self._queue.get()
            with self._batch:
                time.sleep(self.BATCH_S)  # let the batch gather
                self._write_all([first, *self._queued()])

    def _queued(self) -> list[str]:
        lines = []
        while True:
            try:
                lines.append(self._queue.get_nowait())
            except queue.Empty:
                return lines

    def _write_all(self, lines: list[str]) -> None:
        if not lines:
            return
        with self.lock:  # type: ignore[union-attr]  # made in Handler.__init__
            try:
                self.stream.write("".join(lines))
                self.flush()
            except Exception:  # a closed or broken stream: reported (with no record to name); the thread goes on
                self.handleError(logging.makeLogRecord({"msg": lines[-1]}))

    def drain(self) -> None:
        """Write what is queued, here and now (at exit), after the batch the thread is writing."""
        with self._batch:
            self._write_all(self._queued())


def _plain_queue(logger: logging.Logger) -> QueuedStreamHandler | None:
    """``logger``'s one handler when a record's line would reach nothing but it, unchanged: a ``QueuedStreamHandler``
    writing the message alone (``uvicorn_log_config``'s), no filter on either, not propagated; else None. Its lines
    can then be queued without a ``LogRecord`` (``Logger.info`` makes one, finds the handlers, filters, locks and
    formats: ~5–9 µs of each request) and come out the same."""
    handlers = logger.handlers
    if len(handlers) != 1 or logger.filters or logger.propagate:
        return None
    handler = handlers[0]
    formatter = handler.formatter
    if (
        type(handler) is not QueuedStreamHandler
        or handler.filters
        or handler.level > logging.INFO
        or type(formatter) is not logging.Formatter
        or formatter._fmt != "%(message)s"
    ):
        return None
    return handler


def uvicorn_log_config() -> dict[str, Any]:
    """The logging configuration of uvicorn plus the access log's JSON lines on stdout, for
    ``uvicorn.run(..., access_log=False, log_config=uvicorn_log_config())``."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["formatters"]["yizhan_access"] = {"format": "%(message)s"}
    config["handlers"]["yizhan_access"] = {
        "formatter": "yizhan_access",
        "class": "api.access_log.QueuedStreamHandler",
        "stream": "ext://sys.stdout",
    }
    config["loggers"][LOGGER.name] = {"handlers": ["yizhan_access"], "level": "INFO", "propagate": False}
    # each worker's snapshot refreshes ("serving registry version N ...", stations.registry) with uvicorn's own lines
    config["loggers"]["yizhan.refresh"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config
