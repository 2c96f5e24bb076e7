"""Who may call the API from a web page on another origin (CORS), and the same-origin rule for writes.

Reads (GET, HEAD) are open to the origins in ``YIZHAN_CORS_ORIGINS`` (default any: the registry is open
data). Writes (POST, PUT, PATCH, DELETE) from a browser must come from this server's own pages or from an
origin listed in ``YIZHAN_CORS_WRITE_ORIGINS`` (default none):

- a preflight (``OPTIONS`` with ``Access-Control-Request-Method``) asking for a write from any other origin
  gets 403 and no ``Access-Control-Allow-*`` headers, so the browser never sends the write;
- a write that needs no preflight (a "simple" POST, e.g. ``text/plain`` from a form or ``fetch``) and comes
  from another origin is refused with 403 before it reaches a route. CORS alone would only hide the answer
  from the other page, after the server had acted; this is what stops a foreign page from filing rider
  reports or starting ``/siting`` runs in its visitors' browsers.

Requests without ``Origin`` (curl, scripts, servers; same-origin page loads) are not browser cross-origin
requests and pass untouched: the token rules of ``api/auth.py`` and the rate limits are what guard them.
The rider page and ``/embed`` (an iframe of this server, even on a union's site) are same-origin, so rider
reports need no grant. A request is same-origin when the browser says so (``Sec-Fetch-Site: same-origin``)
or its ``Origin`` names the host it was sent to (``Host``). No grant ever includes credentials: the API uses
bearer tokens, not cookies.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import Headers, header, send_error

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Methods that change nothing; everything else is a write."""
EXPOSED_HEADERS = (
    b"ETag, Location, Retry-After, X-Request-ID, X-Total-Count, X-Licence, X-Next-Modified-Since, Content-Disposition"
)
"""Response headers a page on another origin may read (the API's own; CORS hides non-standard ones by default)."""
MAX_AGE = b"600"
"""Seconds a browser may cache a preflight answer."""
_HEADER_LIST = re.compile(r"^\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+(\s*,\s*[A-Za-z0-9!#$%&'*+.^_`|~-]+)*\s*$")


class CrossOrigin:
    """ASGI middleware: CORS grants for reads from ``read_origins`` ("*" = any) and for writes from
    ``write_origins``; cross-origin writes from anywhere else get 403 (see the module docstring)."""

    def __init__(self, app: ASGIApp, read_origins: Iterable[str], write_origins: Iterable[str]) -> None:
        self.app = app
        self.read_origins = frozenset(read_origins)
        self.write_origins = frozenset(write_origins)
        if "*" in self.write_origins:
            raise ValueError("write origins must be listed one by one ('*' is not allowed)")
        self.any_reader = "*" in self.read_origins
        self.vary = not self.any_reader or bool(self.write_origins)
        """Whether a response depends on the request's Origin (then caches must keep one copy per origin)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Grant, answer a preflight or refuse by the request's Origin; other scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = header(scope, b"origin")
        if origin is None:
            await self.app(scope, receive, self._with_vary(send) if self.vary else send)
            return
        method = scope["method"]
        requested = header(scope, b"access-control-request-method") if method == "OPTIONS" else None
        if requested is not None:
            await self._preflight(scope, send, origin, requested.strip().upper())
            return
        if method in READ_METHODS:
            grant = self._read_grant(origin)
        elif origin in self.write_origins:
            grant = origin.encode("latin-1")
        elif same_origin(scope, origin):
            grant = None
        else:
            await _refuse(send, origin, method)
            return
        if grant is None:
            await self.app(scope, receive, self._with_vary(send) if self.vary else send)
            return
        await self.app(scope, receive, self._granting(send, grant))

    def _read_grant(self, origin: str) -> bytes | None:
        if origin in self.write_origins:
            return origin.encode("latin-1")
        if self.any_reader:
            return b"*"
        return origin.encode("latin-1") if origin in self.read_origins else None

    async def _preflight(self, scope: Scope, send: Send, origin: str, method: str) -> None:
        writer = origin in self.write_origins or same_origin(scope, origin)
        if method in READ_METHODS:
            grant = origin.encode("latin-1") if writer else self._read_grant(origin)
        else:
            grant = origin.encode("latin-1") if writer else None
        if grant is None:
            await _refuse(send, origin, method)
            return
        methods = b"GET, HEAD, POST, PUT, PATCH, DELETE" if writer else b"GET, HEAD"
        headers: Headers = [
            (b"access-control-allow-origin", grant),
            (b"access-control-allow-methods", methods),
            (b"access-control-max-age", MAX_AGE),
            (b"content-length", b"0"),
        ]
        asked = header(scope, b"access-control-request-headers")
        if asked and _HEADER_LIST.match(asked):
            headers.append((b"access-control-allow-headers", asked.encode("latin-1")))
        if self.vary:
            headers.append((b"vary", b"Origin"))
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    def _with_vary(self, send: Send) -> Send:
        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"vary", b"Origin")]
            await send(message)

        return sending

    def _granting(self, send: Send, grant: bytes) -> Send:
        extra: Headers = [(b"access-control-allow-origin", grant), (b"access-control-expose-headers", EXPOSED_HEADERS)]
        if self.vary:
            extra.append((b"vary", b"Origin"))

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        return sending


def same_origin(scope: Scope, origin: str) -> bool:
    """Whether a request carrying ``Origin: origin`` comes from a page of this server: the browser says
    ``Sec-Fetch-Site: same-origin``, or ``origin``'s host (and port) is the ``Host`` the request was sent to.

    >>> scope = {"headers": [(b"host", b"yizhan.example.cn")]}
    >>> same_origin(scope, "https://yizhan.example.cn"), same_origin(scope, "https://evil.example")
    (True, False)
    """
    if header(scope, b"sec-fetch-site") == "same-origin":
        return True
    host = header(scope, b"host")
    if not host or origin == "null":
        return False
    return _without_default_port(urlsplit(origin).netloc.lower()) == _without_default_port(host.lower())


def _without_default_port(netloc: str) -> str:
    return netloc.removesuffix(":80").removesuffix(":443")


async def _refuse(send: Send, origin: str, method: str) -> None:
    detail = (
        f"{method} requests from pages on {origin} are not allowed: writes from a browser must come from this "
        "server's own pages or an origin in YIZHAN_CORS_WRITE_ORIGINS; reads from one in YIZHAN_CORS_ORIGINS"
    )
    await send_error(send, 403, "forbidden", detail)
