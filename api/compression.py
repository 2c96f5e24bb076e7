"""Response compression: Brotli or gzip, as the request's ``Accept-Encoding`` prefers, for text that gains.

Measured on the sample (bench/page_weight.py, RESULTS.md 2026-12-03): the rider page's 246 KB of HTML is 71 KB
as Brotli quality 5 (6 ms) and 76 KB as gzip level 6 (7 ms); the full ``/districts`` 287 KB is 74 KB as Brotli
and 89 KB as gzip. Brotli is preferred when the client accepts both (every current browser does over HTTP and
HTTPS alike); quality 5 costs the CPU of gzip level 6 for 6-16% fewer bytes (quality 11 saves 10% more but is
50 times slower, too slow for answers built per request). Bodies under ``SMALL_BODY`` — the answers made per
request, a rider's nearby k=10 ~20 KB — take Brotli quality 1 instead (bench/compression.py, 2026-12-04: on the
sample's nearby answers 88 µs for 3,537 bytes, against quality 3's 225 µs for 3,157 and quality 5's 529 µs for
2,744 — which alone cost more CPU than making the answer; all three are three TCP segments of 1,460 bytes).

Only ``200`` answers whose type is text (HTML, JSON, GeoJSON, CSV, JavaScript, CSS, SVG) and whose body is at
least ``minimum_size`` bytes are compressed; already-compressed types (XLSX, PNG, zip...), partial answers and
answers to ``Range`` requests, and anything already carrying ``Content-Encoding`` pass through untouched. A
streamed body (``more_body``) is compressed chunk by chunk with a flush after each, so every chunk still reaches
the client as soon as it is made. Every answer that is or would be compressed (any encoding asked), and every
``304``, says ``Vary: Accept-Encoding``, so a shared cache keeps the encodings apart.

The ``ETag`` is left as the route made it: it names the content (a registry version, a file's hash), not the
bytes on the wire, so ``If-None-Match`` and ``If-Match`` work the same whichever encoding the client took, and
station edits keep their strong validators (``"3"``). That is safe here because no compressed answer is ever
partial (no byte ranges of a compressed body exist to mix up) and ``Vary`` separates the variants in caches.

Sits inside ``HEAD`` handling (a ``HEAD`` gets the GET's ``Content-Encoding`` and ``Content-Length``) and
outside the security headers, whose page policies hash the uncompressed HTML.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable
from functools import lru_cache

import brotli
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import Headers, header, response_header

BROTLI_QUALITY = 5
"""Brotli's quality for bodies of ``SMALL_BODY`` bytes or more, and for streamed ones (exports, whose size is not
known at first)."""
BROTLI_QUALITY_SMALL = 1
SMALL_BODY = 64 * 1024
"""Whole bodies shorter than this (bytes) are compressed at ``BROTLI_QUALITY_SMALL``."""
GZIP_LEVEL = 6
MINIMUM_SIZE = 1024
"""Bodies shorter than this (bytes) are sent as they are: headers and framing would eat the gain."""

_TEXT_TYPES = frozenset(
    {
        b"application/json",
        b"application/geo+json",
        b"application/javascript",
        b"application/manifest+json",
        b"application/problem+json",
        b"application/xml",
        b"image/svg+xml",
    }
)


def compressible(content_type: bytes) -> bool:
    """Whether a response of ``content_type`` is worth compressing: text, JSON, JavaScript, SVG; not event
    streams, images, archives or office files (XLSX is a zip already).

    >>> [compressible(t) for t in (b"text/html; charset=utf-8", b"application/geo+json", b"image/png")]
    [True, True, False]
    >>> compressible(b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    False
    """
    media = content_type.split(b";", 1)[0].strip().lower()
    if media == b"text/event-stream":
        return False
    return media.startswith(b"text/") or media in _TEXT_TYPES or media.endswith(b"+json")


ENCODINGS = ("br", "gzip")
"""The encodings this server makes, best first."""


def negotiate(accept_encoding: str | None, offered: tuple[str, ...] | None = None) -> str | None:
    """The encoding to answer with for an ``Accept-Encoding`` value (RFC 9110 §12.5.3): the client's highest
    ``q`` among ``offered`` (ties: the server's order, Brotli first), ``*`` standing for any not named; None
    for identity.

    >>> negotiate("gzip, deflate, br, zstd", ("br", "gzip")), negotiate("gzip;q=1, br;q=0.5", ("br", "gzip"))
    ('br', 'gzip')
    >>> negotiate("br;q=0, *", ("br", "gzip")), negotiate("identity", ("br", "gzip")), negotiate(None)
    ('gzip', None, None)
    """
    if not accept_encoding:
        return None
    offered = ENCODINGS if offered is None else offered
    weights: dict[str, float] = {}
    for part in accept_encoding.split(","):
        name, _, parameters = part.strip().partition(";")
        weight = 1.0
        for parameter in parameters.split(";"):
            key, _, value = parameter.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        weights[name.strip().lower()] = weight
    best: tuple[float, int, str] | None = None
    for rank, coding in enumerate(offered):
        weight = weights.get(coding, weights.get("*", 0.0))
        if weight > 0 and (best is None or (weight, -rank) > (best[0], best[1])):
            best = (weight, -rank, coding)
    return best[2] if best else None


def brotli_quality(size: int) -> int:
    """Brotli's quality for a whole body of ``size`` bytes.

    >>> brotli_quality(20_000), brotli_quality(250_000)
    (1, 5)
    """
    return BROTLI_QUALITY_SMALL if size < SMALL_BODY else BROTLI_QUALITY


def compress(body: bytes, coding: str) -> bytes:
    """``body`` encoded whole as ``coding`` (``"br"`` or ``"gzip"``) at this module's levels; a large body that
    was sent before (a page: the same bytes for every rider until the registry or the code changes) is encoded
    once and kept (``KEPT_BODIES``).

    >>> body = "驿站".encode() * 100
    >>> gzip.decompress(compress(body, "gzip")) == body, len(compress(body, "gzip")) < 40
    (True, True)
    """
    if SMALL_BODY <= len(body) <= KEPT_BODY_BYTES:
        return _compress_kept(body, coding)
    return _compress(body, coding)


def _compress(body: bytes, coding: str) -> bytes:
    if coding == "br":
        return brotli.compress(body, quality=brotli_quality(len(body)))
    return gzip.compress(body, GZIP_LEVEL, mtime=0)


KEPT_BODIES = 16
KEPT_BODY_BYTES = 1 << 20
"""Bodies from ``SMALL_BODY`` to this many bytes (pages, the district list) are kept with their encoding, the
``KEPT_BODIES`` most recent (at most ~20 MB with their encodings): the rider page, 286 KB, took 11 ms of CPU per
request at Brotli quality 5; found again, the cost is hashing and comparing its bytes (bench/compression.py)."""
_compress_kept = lru_cache(maxsize=KEPT_BODIES)(_compress)


def _stream_encoder(coding: str) -> tuple[Callable[[bytes], bytes], Callable[[], bytes]]:
    """``(chunk, finish)`` of a streamed encoding: each chunk's output is flushed, so it can be sent at once."""
    if coding == "br":
        brotli_stream = brotli.Compressor(quality=BROTLI_QUALITY)
        flush = brotli_stream.flush  # type: ignore[attr-defined]  # brotli-stubs 1.2.1 lack Compressor.flush
        return (lambda data: brotli_stream.process(data) + flush()), brotli_stream.finish
    gzip_stream = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 16 + zlib.MAX_WBITS)  # 16+: the gzip wrapper
    return (lambda data: gzip_stream.compress(data) + gzip_stream.flush(zlib.Z_SYNC_FLUSH)), gzip_stream.flush


def _with_vary(headers: Headers) -> Headers:
    """``headers`` with ``Accept-Encoding`` added to ``Vary`` (once)."""
    vary = response_header(headers, b"vary")
    if vary is None:
        return [*headers, (b"vary", b"Accept-Encoding")]
    if b"accept-encoding" in vary.lower() or vary.strip() == b"*":
        return headers
    return [(key, value + b", Accept-Encoding" if key.lower() == b"vary" else value) for key, value in headers]


class Compression:
    """ASGI middleware: Brotli or gzip for text answers, as the module docstring says.

    ``minimum_size`` is the smallest body (bytes) worth compressing; ``encodings`` the ones offered, best first
    (default ``ENCODINGS``; ``("gzip",)`` turns Brotli off)."""

    def __init__(
        self, app: ASGIApp, *, minimum_size: int = MINIMUM_SIZE, encodings: tuple[str, ...] | None = None
    ) -> None:
        self.app = app
        self.minimum_size = minimum_size
        self.encodings = ENCODINGS if encodings is None else encodings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request, compressing the answer when the module docstring says so."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        coding: str | None = None
        if header(scope, b"range") is None:
            coding = negotiate(header(scope, b"accept-encoding"), self.encodings)
        start: Message | None = None
        encode: Callable[[bytes], bytes] | None = None
        finish: Callable[[], bytes] | None = None
        passing = False

        async def sending(message: Message) -> None:
            nonlocal start, encode, finish, passing
            if message["type"] == "http.response.start":
                headers: Headers = list(message.get("headers", []))
                status = message["status"]
                kind = compressible(response_header(headers, b"content-type") or b"")
                if status == 304:  # of a resource that may be compressed: its validators hold for every encoding
                    message = {**message, "headers": _with_vary(headers)}
                if status != 200 or not kind or response_header(headers, b"content-encoding"):
                    passing = True
                    await send(message)
                else:
                    start = message  # the body decides: too short stays as it is, without Vary
                return
            if passing or start is None or message["type"] != "http.response.body":
                await send(message)
                return
            body: bytes = message.get("body", b"")
            more = message.get("more_body", False)
            if encode is None:  # the first body message
                if not more and len(body) < self.minimum_size:
                    passing = True
                    await send(start)
                    await send(message)
                    return
                headers = _with_vary(start.get("headers", []))
                if coding is None:
                    passing = True
                    await send({**start, "headers": headers})
                    await send(message)
                    return
                headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                if not more:
                    packed = compress(body, coding)
                    headers += [(b"content-encoding", coding.encode()), (b"content-length", b"%d" % len(packed))]
                    await send({**start, "headers": headers})
                    await send({"type": "http.response.body", "body": packed, "more_body": False})
                    return
                encode, finish = _stream_encoder(coding)
                await send({**start, "headers": [*headers, (b"content-encoding", coding.encode())]})
            assert finish is not None
            data = encode(body) if body else b""
            if not more:
                data += finish()
            if data or not more:
                await send({"type": "http.response.body", "body": data, "more_body": more})

        await self.app(scope, receive, sending)
