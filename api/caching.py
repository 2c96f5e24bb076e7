"""HTTP caching: ``ETag`` + ``If-None-Match`` → ``304``, and the ``Cache-Control`` of each kind of answer.

Two kinds (RFC 9111):

* ``REVALIDATE`` — pages and lists that change with the registry (``/``, ``/embed``, ``/districts``,
  ``/stations``): kept, but asked again each time with ``If-None-Match``; an unchanged answer is a ``304`` of a
  few hundred bytes instead of the body. Their ETags are the page's content hash (``content_etag``) or keyed by
  the registry version (``registry_etag``), so an edit or an import changes them at once.
* ``IMMUTABLE`` — for content-addressed assets (a URL that names its content's hash): kept a year, never asked
  again. No route serves such assets yet: the pages inline their code (``maps.page.self_contained``).

The ETag names the content, not the encoding on the wire (``api.compression`` says why that is safe here);
``If-None-Match`` is compared weakly (RFC 9110 §13.1.2), so ``W/"x"`` from a cache matches ``"x"``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache
from importlib import metadata, resources

from fastapi import Request
from fastapi.responses import Response

from stations.settings import Settings

IMMUTABLE = "public, max-age=31536000, immutable"
"""Cache-Control of content-addressed assets."""
REVALIDATE = "no-cache"
"""Cache-Control of answers that change with the registry: stored, revalidated on every use."""


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` value names ``etag`` (weak comparison; ``*`` matches any).

    >>> etag_matches('W/"v3", "v4"', '"v3"'), etag_matches('"v3"', 'W/"v3"'), etag_matches('"v3"', '"v4"')
    (True, True, False)
    >>> etag_matches("*", '"v1"'), etag_matches(None, '"v1"')
    (True, False)
    """
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    wanted = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == wanted for tag in if_none_match.split(","))


def content_etag(body: bytes | str) -> str:
    """A strong ETag made from ``body``'s SHA-256 (first 20 hex digits).

    >>> content_etag("驿站")
    '"6214411ed9ba73f984c1"'
    """
    data = body.encode() if isinstance(body, str) else body
    return f'"{hashlib.sha256(data).hexdigest()[:20]}"'


def registry_etag(deployment: str, version: int, *parts: object) -> str:
    """The ETag of an answer built from registry ``version`` (and ``parts``: the day, a variant...) of
    ``deployment`` (``deployment_key``), so two databases at the same version do not share validators.

    >>> registry_etag("ab12", 7, "2026-12-03")
    '"ab12-v7-2026-12-03"'
    """
    return '"' + "-".join([deployment, f"v{version}", *(str(part) for part in parts)]) + '"'


def deployment_key(*identity: object) -> str:
    """Eight hex digits naming a deployment (its database URL, district file, code version...).

    >>> len(deployment_key("sqlite:///yizhan.sqlite3", "0.1.0"))
    8
    """
    return hashlib.sha256("|".join(str(part) for part in identity).encode()).hexdigest()[:8]


def not_modified(etag: str, cache_control: str) -> Response:
    """The ``304`` for ``etag``: no body, the validator and the caching rule repeated (RFC 9110 §15.4.5)."""
    return Response(status_code=304, headers={"ETag": etag, "Cache-Control": cache_control})


def conditional(request: Request, etag: str, cache_control: str, build: Callable[[], Response]) -> Response:
    """``304`` when the request's ``If-None-Match`` names ``etag``; else ``build()`` with both headers set.
    ``build`` runs only when the body is needed."""
    if etag_matches(request.headers.get("if-none-match"), etag):
        return not_modified(etag, cache_control)
    response = build()
    response.headers["ETag"] = etag
    response.headers["Cache-Control"] = cache_control
    return response


@cache
def _code_version() -> str:
    """The package's version and a hash of the browser app's files (``maps/static``), so a new app is a new ETag
    even where the version number stayed."""
    try:
        version = metadata.version("yizhan")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
        version = "source"
    digest = hashlib.sha256()
    for file in sorted((resources.files("maps") / "static").iterdir(), key=lambda entry: entry.name):
        if file.is_file():
            digest.update(file.name.encode() + b"\0" + file.read_bytes())
    return f"{version}+{digest.hexdigest()[:12]}"


def deployment_of(settings: Settings) -> str:
    """``deployment_key`` of a server's settings: its database, district file and tiles, and the code's version."""
    return deployment_key(
        settings.database_url,
        settings.districts_path,
        settings.tiles,
        settings.tiles_attribution,
        settings.tiles_crs,
        _code_version(),
    )
