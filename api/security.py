"""Security headers on every response, and a Content-Security-Policy made for each HTML page.

Every response says ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: strict-origin-when-cross-origin``
(tile servers still see which site asks, as OpenStreetMap's tile policy wants, never a page's query). Framing:
only the paths given a ``PageRule`` with ``frame_ancestors`` (``/embed``, per ``YIZHAN_FRAME_ANCESTORS``) may be
framed; every other response says ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``.

The pages inline all their code (``maps.page.self_contained``), so an HTML page's policy allows exactly the
inline ``<script>`` and ``<style>`` elements it was served with, by their SHA-256 hashes, and nothing else::

    default-src 'none'; script-src 'sha256-…'…; style-src 'sha256-…'…; img-src 'self' data: <tiles>;
    connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors …

so no script added later runs: no inline event handler (``onerror=``) or ``javascript:`` URL reaching the DOM,
no script from elsewhere, no ``eval``; data goes only back to this server; images only from here, ``data:``
and the tile servers of ``YIZHAN_TILES``. The hashes are of each page as built: that station names and other
user text cannot add an element to a page is the page builders' job (JSON with ``<`` escaped, HTML-escaped
attributes), tested with hostile names. JSON and other non-HTML responses get ``default-src 'none'``; a ``304``
gets no policy, since a browser puts a ``304``'s headers onto the page it kept, whose own policy must stay.

FastAPI's ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from cdn.jsdelivr.net; ``docs_rules`` names what
they need (their inline start-up scripts are still pinned by hash).

Header values built from data (a station id in ``Location``) are percent-encoded with ``url_path`` and
``path_segment`` (RFC 3986), so any text fits a header (HTTP header values are Latin-1 bytes; a Chinese id
or a line break cannot be sent raw) and comes back whole when the client follows the URL.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

from fastapi import FastAPI
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.asgi import Headers, response_header

SHARED_HEADERS: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
_START = re.compile(rb"<(script|style)\b([^>]*)>")  # searched in the lower-cased page
_TAG_END = frozenset(b" \t\n\f\r/>")
_SRC = re.compile(rb"\ssrc\s*=", re.IGNORECASE)
_CHARSET = re.compile(rb"charset=([\w-]+)", re.IGNORECASE)
_SEGMENT_SAFE = "!$&'()*+,;=:@"
"""What RFC 3986 lets a path segment hold as is besides letters, digits and ``-._~`` (sub-delims, ``:``, ``@``)."""


def path_segment(text: str) -> str:
    """``text`` as one percent-encoded URL path segment (RFC 3986, UTF-8): ASCII, no ``/``, safe in a header.

    >>> path_segment("驿站-RT-1"), path_segment("a/b c%")
    ('%E9%A9%BF%E7%AB%99-RT-1', 'a%2Fb%20c%25')
    """
    return quote(text, safe=_SEGMENT_SAFE, errors="surrogatepass")


def header_text(text: str) -> str:
    """``text`` as a header value: as it is when it is printable ASCII, else RFC 8187's ``UTF-8''`` +
    percent-encoded UTF-8 (a header cannot carry other characters; a licence named in Chinese must not 500).

    >>> header_text("CC BY 4.0"), header_text("知识共享 署名 4.0")
    ('CC BY 4.0', "UTF-8''%E7%9F%A5%E8%AF%86%E5%85%B1%E4%BA%AB%20%E7%BD%B2%E5%90%8D%204.0")
    """
    if text.isascii() and text.isprintable():
        return text
    return "UTF-8''" + quote(text, safe="", errors="surrogatepass")


def url_path(path: str) -> str:
    r"""A decoded URL ``path`` percent-encoded again, each segment as ``path_segment`` does.

    >>> url_path("/stations/驿站 1"), url_path("/a\\b")
    ('/stations/%E9%A9%BF%E7%AB%99%201', '/a%5Cb')
    """
    return quote(path, safe=f"/{_SEGMENT_SAFE}", errors="surrogatepass")


@dataclass(frozen=True)
class PageRule:
    """What the responses of one path may do beyond the default: be framed, load from more sources.

    ``sources`` adds sources per directive (e.g. ``{"script-src": ("https://cdn.jsdelivr.net",)}``);
    ``inline_styles`` allows any inline style (``'unsafe-inline'``, for libraries that inject ``<style>``
    elements at run time) instead of the hashes of the page's own."""

    frame_ancestors: str = "'none'"
    sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    inline_styles: bool = False


DEFAULT_RULE = PageRule()


@dataclass(frozen=True)
class InlineCode:
    """CSP hash sources of a page's inline ``<script>`` and ``<style>`` elements, in page order, no repeats."""

    scripts: tuple[str, ...]
    styles: tuple[str, ...]


def hash_source(text: bytes) -> str:
    """The CSP source allowing inline code ``text`` (UTF-8): ``'sha256-<base64>'``.

    >>> hash_source(b"border:0")
    "'sha256-ZDjCdTstFUpLDovBdF6MXbSPB35alPr6sy4CYtyHSA4='"
    """
    return f"'sha256-{base64.b64encode(hashlib.sha256(text).digest()).decode('ascii')}'"


def inline_code(html: bytes) -> InlineCode:
    r"""The hashes of the inline scripts and styles of ``html`` (UTF-8), as a browser computes them: the
    element's text with line breaks normalised to ``\n``. Scripts with ``src`` are not inline.

    >>> code = inline_code(b'<style>p{}</style><script>go()</script><script src="/x.js"></script>')
    >>> len(code.scripts), code.styles == (hash_source(b"p{}"),)
    (1, True)
    """
    scripts: dict[str, None] = {}
    styles: dict[str, None] = {}
    lower = html.lower()
    position = 0
    while (start := _START.search(lower, position)) is not None:
        tag, attributes = start.groups()
        end = _closing(lower, tag, start.end())
        if end < 0:
            break
        text = _newlines(html[start.end() : end])
        if tag == b"style":
            styles[hash_source(text)] = None
        elif _SRC.search(attributes) is None:
            scripts[hash_source(text)] = None
        position = end
    return InlineCode(tuple(scripts), tuple(styles))


def _closing(lower: bytes, tag: bytes, start: int) -> int:
    """Where the end tag of a raw-text element (``</script`` then a space, ``/`` or ``>``) begins, or -1."""
    needle = b"</" + tag
    while (found := lower.find(needle, start)) >= 0:
        after = found + len(needle)
        if after >= len(lower) or lower[after] in _TAG_END:
            return found
        start = after
    return -1


def _newlines(text: bytes) -> bytes:
    return text.replace(b"\r\n", b"\n").replace(b"\r", b"\n") if b"\r" in text else text


def tile_sources(tiles: str) -> tuple[str, ...]:
    """CSP ``img-src`` sources for a tile URL template or a folium/xyzservices provider name.

    A templated host part becomes a wildcard; a relative template is this server.

    >>> tile_sources("https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
    ('https://*.tile.openstreetmap.org',)
    >>> tile_sources("https://webrd0{s}.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}")
    ('https://*.is.autonavi.com',)
    >>> tile_sources("OpenStreetMap"), tile_sources("/tiles/{z}/{x}/{y}.png")
    (('https://tile.openstreetmap.org',), ("'self'",))
    """
    if "{" not in tiles and "://" not in tiles:
        import folium  # a provider name: the URL folium will draw

        tiles = folium.TileLayer(tiles=tiles, attr="-").tiles
    parts = urlsplit(tiles)
    if not parts.netloc:
        return ("'self'",)
    host, _, port = parts.netloc.rpartition("@")[2].partition(":")
    labels = host.split(".")
    templated = [i for i, label in enumerate(labels) if "{" in label]
    if templated:
        labels = ["*", *labels[templated[-1] + 1 :]]
    port = ":*" if "{" in port else f":{port}" if port else ""
    scheme = f"{parts.scheme}://" if parts.scheme else ""
    return (f"{scheme}{'.'.join(labels)}{port}",)


def page_policy(code: InlineCode, img_sources: Sequence[str], rule: PageRule = DEFAULT_RULE) -> str:
    """The Content-Security-Policy of an HTML page with inline ``code``, images from ``img_sources``.

    >>> page_policy(InlineCode(("'sha256-a'",), ()), ["https://tile.openstreetmap.org"])[:60]
    "default-src 'none'; script-src 'sha256-a'; style-src 'none';"
    """
    directives: dict[str, list[str]] = {
        "default-src": ["'none'"],
        "script-src": list(code.scripts),
        "style-src": ["'unsafe-inline'"] if rule.inline_styles else list(code.styles),
        "img-src": ["'self'", "data:", *img_sources],
        "connect-src": ["'self'"],
        "frame-src": ["'self'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": [rule.frame_ancestors],
    }
    for directive, sources in rule.sources.items():
        directives.setdefault(directive, []).extend(sources)
    return "; ".join(f"{name} {_sources(values)}" for name, values in directives.items())


def _sources(values: list[str]) -> str:
    return " ".join(dict.fromkeys(values)) or "'none'"


def api_policy(rule: PageRule = DEFAULT_RULE) -> str:
    """The Content-Security-Policy of a response that is not an HTML page (JSON, CSV, files).

    >>> api_policy()
    "default-src 'none'; frame-ancestors 'none'"
    """
    return f"default-src 'none'; frame-ancestors {rule.frame_ancestors}"


def docs_rules(app: FastAPI) -> dict[str, PageRule]:
    """Rules for FastAPI's documentation pages of ``app``: Swagger UI and ReDoc from cdn.jsdelivr.net, their
    style sheets and fonts, the favicon, ReDoc's search worker (a ``blob:``) and its run-time styles."""
    docs = PageRule(
        sources={
            "script-src": ("https://cdn.jsdelivr.net",),
            "style-src": ("https://cdn.jsdelivr.net", "https://fonts.googleapis.com"),
            "font-src": ("https://fonts.gstatic.com",),
            "img-src": ("https://fastapi.tiangolo.com", "https://cdn.redoc.ly"),
            "worker-src": ("blob:",),
        },
        inline_styles=True,
    )
    return {path: docs for path in (app.docs_url, app.redoc_url) if path}


class SecurityHeaders:
    """ASGI middleware: the shared headers and a frame policy on every response, a Content-Security-Policy
    on every response without one (per page for HTML, see the module docstring).

    ``img_sources`` are the tile servers' sources (``tile_sources``); ``rules`` maps a path to its
    ``PageRule`` (others get ``DEFAULT_RULE``)."""

    def __init__(self, app: ASGIApp, *, img_sources: Sequence[str], rules: Mapping[str, PageRule]) -> None:
        self.app = app
        self.img_sources = tuple(img_sources)
        self.rules = dict(rules)
        self._headers = {path: _Headers.of(rule) for path, rule in self.rules.items()}
        self._default_headers = _Headers.of(DEFAULT_RULE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer the request with the shared headers and the path's page policy; other scopes pass through."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        rule = self.rules.get(path, DEFAULT_RULE)
        fixed = self._headers.get(path, self._default_headers)
        start: Message | None = None
        chunks: list[bytes] = []

        async def sending(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                headers = message.get("headers", [])
                has_policy = response_header(headers, b"content-security-policy") is not None
                content_type = response_header(headers, b"content-type") or b""
                if has_policy or not content_type.startswith(b"text/html"):
                    # a 304's headers replace the stored ones (RFC 9111 §4.3.4): the cached page keeps its own policy
                    policy = [] if has_policy or message["status"] == 304 else [fixed.policy]
                    message["headers"] = [*headers, *policy, *fixed.others]
                    await send(message)
                else:
                    start = message  # an HTML page: its policy needs its body
                return
            if start is None or message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            page = page_policy(inline_code(_utf8(body, start)), self.img_sources, rule)
            start["headers"] = [*start.get("headers", []), (b"content-security-policy", page.encode()), *fixed.others]
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, sending)


@dataclass(frozen=True)
class _Headers:
    """A path's fixed headers: the policy of its non-HTML responses, and the shared and frame headers."""

    policy: tuple[bytes, bytes]
    others: Headers

    @classmethod
    def of(cls, rule: PageRule) -> _Headers:
        deny = [(b"x-frame-options", b"DENY")] if rule.frame_ancestors == "'none'" else []
        return cls((b"content-security-policy", api_policy(rule).encode()), [*SHARED_HEADERS, *deny])


def _utf8(body: bytes, start: Message) -> bytes:
    content_type = response_header(start.get("headers", []), b"content-type") or b""
    charset = _CHARSET.search(content_type)
    name = charset.group(1).decode("ascii").lower() if charset else "utf-8"
    return body if name in ("utf-8", "utf8") else body.decode(name, errors="replace").encode("utf-8")
