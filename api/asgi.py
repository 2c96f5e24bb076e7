"""Small helpers for the pure ASGI middleware (``api/cors.py``, ``api/security.py``, ``api/access_log.py``,
``api/concurrency.py``): read a request header, answer with the API's JSON error shape.

Pure ASGI rather than ``BaseHTTPMiddleware``: no extra task and no re-wrapped request per call, which keeps the
per-request cost of the middleware stack small on hot paths such as ``/stations/nearby``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from starlette.types import Scope, Send

Headers = list[tuple[bytes, bytes]]


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of request header ``name`` (lower-case bytes, e.g. ``b"origin"``), or None.

    >>> header({"headers": [(b"origin", b"https://a.example")]}, b"origin")
    'https://a.example'
    """
    headers: Headers = scope["headers"]
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None


def response_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    """The value of ``name`` (lower-case bytes) among an ``http.response.start`` message's headers, or None."""
    for key, value in headers:
        if key.lower() == name:
            return value
    return None


async def send_error(
    send: Send, status: int, code: str, detail: object, headers: Iterable[tuple[bytes, bytes]] = ()
) -> None:
    """A complete response ``{"error": code, "detail": detail}`` with ``status`` (as ``api/errors.py`` shapes them)."""
    body = json.dumps({"error": code, "detail": detail}, ensure_ascii=False).encode()
    start: Headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": [*start, *headers]})
    await send({"type": "http.response.body", "body": body})
