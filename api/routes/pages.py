"""HTML pages: the rider page (``/``), the embeddable map (``/embed``) and its snippet builder
(``/embed/builder``); also the static export behind ``yizhan map stations``, and the frame policy.

The pages are built by ``stations.service.Service`` (``maps.stations.station_page`` with the app in
``maps/static``; no build step, no CDN); the builder's own page is in ``api/static``. The
rider page asks ``/stations/nearby`` and ``/districts`` from the browser; the embed and the static export
carry their stations inline. Only ``/embed`` may be framed, by the origins in ``YIZHAN_FRAME_ANCESTORS``
(CSP ``frame-ancestors``, default any); every other response says ``frame-ancestors 'none'`` and
``X-Frame-Options: DENY``. ``page_rules`` tells ``api.security.SecurityHeaders`` so; it also gives each page
a Content-Security-Policy allowing only the page's own inline code.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cache, lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.requests import Request

from api.caching import REVALIDATE, conditional, content_etag, deployment_of, registry_etag
from api.deps import RegistryDep, ServiceDep
from api.inputs import with_inputs
from api.security import PageRule
from maps.offline import SERVICE_WORKER_HEADERS, SERVICE_WORKER_PATH, service_worker
from maps.safe_text import escape, js_literal
from stations import params
from stations.inputs import STATION_MAP_INPUTS, Input
from stations.queries import StationMapQuery
from stations.settings import Settings

if TYPE_CHECKING:
    from stations.registry import Registry
from stations.vocabulary import STATION_TYPES, label

router = APIRouter(tags=["pages"])

EMBED_PATH = "/embed"
BUILDER_PATH = f"{EMBED_PATH}/builder"


@cache
def _static(name: str) -> str:
    return (resources.files("api") / "static" / name).read_text(encoding="utf-8")


@router.get("/", response_class=HTMLResponse, summary="Rider page", include_in_schema=False)
def rider(request: Request, service: ServiceDep) -> Response:
    """Nearest stations for riders: geolocation (or a tap on the map or a district), filters, navigation.
    Takes ``?lang=en`` and ``?now=2026-11-23T12:00`` (the time "open now" means; default the clock).
    ``ETag`` of the page's content with ``Cache-Control: no-cache``: a repeat visit costs a ``304``."""
    page = service.rider_page()
    return conditional(request, _page_etag(page), REVALIDATE, lambda: HTMLResponse(page))


@lru_cache(maxsize=8)
def _page_etag(page: str) -> str:  # the same cached page object each time: its str hash is kept, O(1) after one
    return content_etag(page)


@router.get(SERVICE_WORKER_PATH, summary="Rider page service worker", include_in_schema=False)
def rider_service_worker() -> Response:
    """The rider page's service worker (``maps/static/sw.js``, see ``maps.offline``): keeps the page and the last
    answers for a dead zone. Its own policy lets it fetch from this server only; ``no-cache`` so updates reach it."""
    return Response(service_worker(), media_type="text/javascript", headers=SERVICE_WORKER_HEADERS)


def _embed(**values: Any) -> StationMapQuery:
    return StationMapQuery.parse(mode="embed", **values)


_embed_query = with_inputs(
    _embed,
    [
        *STATION_MAP_INPUTS,
        Input("lon", float | None, None, "WGS84 centre", ge=-180, le=180),
        Input("lat", float | None, None, "WGS84 centre", ge=-90, le=90),
        Input("zoom", int | None, None, "zoom level", ge=1, le=19),
        Input("controls", bool, True, "zoom buttons and the legend"),
    ],
    StationMapQuery,
)


@router.get(EMBED_PATH, response_class=HTMLResponse, summary="Embeddable station map")
def embed(
    request: Request,
    service: ServiceDep,
    query: Annotated[StationMapQuery, Depends(_embed_query)],
) -> Response:
    """A chrome-less map of the stations (of a district and types) for an ``<iframe>`` on a union's site.
    ``ETag`` keyed by the registry version, ``Cache-Control: no-cache``: a page view after the first costs a
    ``304`` until the stations change (the page holds no time: ``/embed/status`` does)."""
    etag = registry_etag(deployment_of(service.settings), service.registry.snapshot().version, "embed")
    return conditional(request, etag, REVALIDATE, lambda: HTMLResponse(service.station_map(query)))


def _embed_stations(**values: Any) -> StationMapQuery:
    return StationMapQuery.parse(mode="embed", **values)


_embed_stations_query = with_inputs(_embed_stations, STATION_MAP_INPUTS, StationMapQuery)
STATUS_MAX_AGE_S = 60
"""How long a browser or proxy may keep an embed's opening status: a badge is at most a minute late."""


@router.get(f"{EMBED_PATH}/status", summary="Opening status of an embed's stations")
def embed_status(
    service: ServiceDep,
    query: Annotated[StationMapQuery, Depends(_embed_stations_query)],
    at: Annotated[str | None, Query(description="the time (ISO date-time, naive: China time); default now")] = None,
) -> JSONResponse:
    """``{"stations": {id: {"open_status", "closes_at", "opens_at"}}}`` for the stations ``/embed`` shows with the
    same ``adcode`` and ``types``: the embed's popups badge them open (until when), closing soon or closed (opening
    when). The map page itself holds no time; this answer may be kept for a minute (``Cache-Control``)."""
    statuses = service.station_statuses(query, params.moment(at, field="at"))
    stations = {
        station_id: {
            "open_status": s.open_status,
            "closes_at": s.closes_at.isoformat() if s.closes_at else None,
            "opens_at": s.opens_at.isoformat() if s.opens_at else None,
        }
        for station_id, s in statuses.items()
    }
    return JSONResponse({"stations": stations}, headers={"Cache-Control": f"public, max-age={STATUS_MAX_AGE_S}"})


@router.get(BUILDER_PATH, response_class=HTMLResponse, summary="Embed snippet builder")
def embed_builder(registry: RegistryDep) -> HTMLResponse:
    """Pick a district, types, size and language; copy the ``<iframe>`` snippet; see a live preview."""
    districts = registry.districts
    options = "".join(
        f'<option value="{escape(code)}">{escape(name)}</option>'
        for code, name in (zip(districts.adcodes, districts.names, strict=True) if districts is not None else [])
    )
    types = "".join(
        f'<label class="yz-check"><input type="checkbox" name="types" value="{kind}"> {escape(label(kind))}</label>'
        for kind in STATION_TYPES
    )
    values = {"css": _static("builder.css"), "script": _static("builder.js"), "embed_path": js_literal(EMBED_PATH),
              "types": types, "districts": options}  # fmt: skip
    return HTMLResponse(fill(_static("builder.html"), values))


_SLOT = re.compile(r"\{\{(\w+)\}\}")


def fill(page: str, values: dict[str, str]) -> str:
    """``page`` with each ``{{name}}`` slot replaced by ``values[name]`` in one pass: inserted text (district
    names may hold ``{{...}}``) is never searched for slots again, and no template engine sees it.

    >>> fill("<p>{{a}}</p><p>{{b}}</p>", {"a": "{{b}}", "b": "{% x %}"})
    '<p>{{b}}</p><p>{% x %}</p>'
    """
    return _SLOT.sub(lambda match: values[match.group(1)], page)


def page_rules(settings: Settings, photo_hosts: Callable[[], tuple[str, ...]] = tuple) -> dict[str, PageRule]:
    """What these pages may do beyond ``api.security``'s default: ``/embed`` may be framed by
    ``settings.frame_ancestors``; the rider page (``/``) may register its service worker (``/sw.js``).

    Both show station photos (``photo_url``), so both may load images from where the photos are: the origins of
    the registry's https photo URLs (``photo_hosts``, asked when a page's policy is made: the registry's
    ``photo_origins``), or ``settings.photo_sources`` when the operator lists them (``https:``: any HTTPS host).
    So an injected script still could not send data out as an image request to a host of its choosing (the page's
    policy test tries), photos load from the hosts keepers actually linked, and nothing else widens."""
    listed = tuple(settings.photo_sources)
    photos = PhotoSources({}, (lambda: listed) if listed else photo_hosts)
    return {
        EMBED_PATH: PageRule(frame_ancestors=settings.frame_ancestors, sources=photos),
        "/": PageRule(sources=PhotoSources({"worker-src": ("'self'",)}, photos.photos)),
    }


class PhotoSources(Mapping[str, tuple[str, ...]]):
    """A page's extra CSP sources (``PageRule.sources``): ``fixed`` ones, and ``img-src`` the sources that
    ``photos`` gives at the moment the policy is made."""

    def __init__(self, fixed: Mapping[str, tuple[str, ...]], photos: Callable[[], tuple[str, ...]]) -> None:
        self.fixed = dict(fixed)
        self.photos = photos

    def __getitem__(self, directive: str) -> tuple[str, ...]:
        if directive == "img-src":
            return (*self.fixed.get(directive, ()), *self.photos())
        return self.fixed[directive]

    def __iter__(self) -> Iterator[str]:
        return iter({**self.fixed, "img-src": ()})

    def __len__(self) -> int:
        return len({**self.fixed, "img-src": ()})


def live_photo_hosts(registry: Callable[[], Registry | None]) -> Callable[[], tuple[str, ...]]:
    """A ``page_rules`` ``photo_hosts``: the ``photo_origins`` of the registry's stations now (none before the
    registry is open), worked out once per registry snapshot."""
    last: list[Any] = [None, ()]

    def hosts() -> tuple[str, ...]:
        current = registry()
        if current is None:
            return ()
        snapshot = current.snapshot()
        if last[0] is not snapshot:
            last[:] = [snapshot, photo_origins(snapshot.photo_urls())]
        return tuple(last[1])

    return hosts


PHOTO_ORIGINS_MAX = 50
"""Most photo hosts a page's policy names (the most used first); photos from others are not shown."""
_HOST_SOURCE = re.compile(r"https://[a-z0-9-]+(\.[a-z0-9-]+)*(:\d{1,5})?")


def photo_origins(photo_urls: Iterable[str | None]) -> tuple[str, ...]:
    """The origins of the https URLs among ``photo_urls``, as CSP sources, the most used first (at most
    ``PHOTO_ORIGINS_MAX``); URLs whose host is no plain DNS name or address are left out.

    >>> photo_origins(["https://img.example.cn/a.jpg", "http://x.cn/b.jpg", None, "https://IMG.example.cn:443/c"])
    ('https://img.example.cn',)
    """
    counts: Counter[str] = Counter()
    for url in photo_urls:
        if not url or not url.lower().startswith("https://"):
            continue
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            continue
        host = parts.hostname or ""
        source = f"https://{host}{f':{port}' if port not in (None, 443) else ''}"
        if _HOST_SOURCE.fullmatch(source):
            counts[source] += 1
    return tuple(source for source, _ in counts.most_common(PHOTO_ORIGINS_MAX))
