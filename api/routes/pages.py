"""HTML pages: the rider page (``/``), the embeddable map (``/embed``) and its snippet builder
(``/embed/builder``); also the static export behind ``yizhan map stations``, and the frame policy.

The pages are ``maps.stations.station_page`` with the app in ``api/static`` (no build step, no CDN): the
rider page asks ``/stations/nearby`` and ``/districts`` from the browser; the embed and the static export
carry their stations inline. Only ``/embed`` may be framed, by the origins in ``YIZHAN_FRAME_ANCESTORS``
(CSP ``frame-ancestors``, default any); every other response says ``frame-ancestors 'none'`` and
``X-Frame-Options: DENY``. ``page_rules`` tells ``api.security.SecurityHeaders`` so; it also gives each page
a Content-Security-Policy allowing only the page's own inline code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache, lru_cache
from importlib import resources
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api.deps import RegistryDep, SettingsDep, SnapshotDep
from api.security import PageRule
from api.settings import Settings
from geo.crs import transform
from maps.elements import escape, js_literal
from maps.stations import PageAssets, station_page
from stations import params
from stations.errors import InvalidValue
from stations.exporters import rider_features
from stations.model import STATION_TYPES, Station
from stations.registry import Registry
from stations.snapshot import Snapshot

router = APIRouter(tags=["pages"])

EMBED_PATH = "/embed"
BUILDER_PATH = f"{EMBED_PATH}/builder"
"""Style attributes builder.js sets on the preview iframe (``setAttribute("style", …)``), allowed by hash."""
FEATURE_KEYS = ("id", "name", "types", "address", "district", "opening_hours", "amenities", "verified_at", "navigation")
"""Station properties an inline page carries (enough for the popups; smaller pages)."""
TYPE_NAMES = {"outdoor_worker": "骑手/户外劳动者", "driver_home": "司机之家", "nursing_room": "母婴室"}
Lang = Literal["zh", "en"]


@cache
def _static(name: str) -> str:
    return (resources.files("api") / "static" / name).read_text(encoding="utf-8")


def assets(body: str | None = None) -> PageAssets:
    """The station app (``api/static/app.css``, ``app.js``) with ``body`` markup before the map."""
    return PageAssets(css=_static("app.css"), script=_static("app.js"), body=body or "")


def _tiles(settings: Settings) -> dict[str, Any]:
    return {"tiles": settings.tiles, "attribution": settings.tiles_attribution, "tiles_crs": settings.tiles_crs}


def _centre(stations: Sequence[Station], settings: Settings) -> tuple[float, float] | None:
    """(lat, lon) in the tiles' CRS of the middle of the stations' bounding box."""
    if not stations:
        return None
    lons, lats = [s.lon for s in stations], [s.lat for s in stations]
    lon, lat = transform((min(lons) + max(lons)) / 2, (min(lats) + max(lats)) / 2, "wgs84", settings.tiles_crs)
    return float(lat), float(lon)


def rider_page(snapshot: Snapshot, settings: Settings) -> str:
    """The rider page: locate, filter, list with navigation buttons, map; data from the API in the browser."""
    return _rider_page_cached(snapshot.version, _centre(snapshot.stations, settings), tuple(_tiles(settings).items()))


@lru_cache(maxsize=8)
def _rider_page_cached(version: int, centre: tuple[float, float] | None, tiles: tuple[tuple[str, str], ...]) -> str:
    config = {"mode": "rider", "api": ""}
    return station_page(
        assets(_static("rider.html")), config, title="驿站 · 附近的服务站", center=centre, zoom=12, **dict(tiles)
    )


def map_features(stations: Sequence[Station], settings: Settings) -> list[dict[str, Any]]:
    """Stations as Features for an inline map: coordinates in the tiles' CRS, navigation links per app."""
    features = rider_features(stations, settings.tiles_crs)
    for feature in features:
        feature["properties"] = {k: v for k, v in feature["properties"].items() if k in FEATURE_KEYS}
    return features


def station_map(
    registry: Registry,
    snapshot: Snapshot,
    settings: Settings,
    *,
    mode: Literal["embed", "static"],
    adcode: str | None = None,
    types: str | None = None,
    lon: float | None = None,
    lat: float | None = None,
    zoom: int | None = None,
    lang: Lang = "zh",
    controls: bool = True,
    title: str | None = None,
) -> str:
    """A map page of the stations of ``adcode`` and ``types`` with their data inline (embed or static export).

    ``lon``/``lat`` (WGS84) and ``zoom`` set the view; by default it fits the stations. Raises
    ``InvalidValue`` for an unknown district or type.
    """
    districts = registry.districts
    if adcode is not None and districts is not None and adcode not in districts.adcodes:
        raise InvalidValue("adcode", adcode, "unknown district", districts.adcodes)
    kinds = params.names(types, STATION_TYPES, "types")
    chosen = [s for s in snapshot.select(None, adcode, kinds) if s.serves()]  # closed for good: hidden from riders
    centre = None
    if lon is not None and lat is not None:
        x, y = transform(lon, lat, "wgs84", settings.tiles_crs)
        centre = (float(y), float(x))
    elif not chosen:
        centre = _centre(snapshot.stations, settings)
    if title is None:
        where = districts.names[districts.adcodes.index(adcode)] if adcode and districts is not None else "驿站"
        title = f"{where} · {'、'.join(TYPE_NAMES[k] for k in kinds) or '服务站'}"
    config = {"mode": mode, "lang": lang, "controls": controls, "title": title, "types": list(kinds)}
    return station_page(
        assets(),
        config,
        features=map_features(chosen, settings),
        title=title,
        center=centre,
        zoom=zoom if zoom is not None else 13,
        zoom_control=controls,
        **_tiles(settings),
    )


@router.get("/", response_class=HTMLResponse, summary="Rider page", include_in_schema=False)
def rider(snapshot: SnapshotDep, settings: SettingsDep) -> HTMLResponse:
    """Nearest stations for riders: geolocation (or a tap on the map or a district), filters, navigation.
    Takes ``?lang=en`` and ``?now=2026-11-23T12:00`` (the time "open now" means; default the clock)."""
    return HTMLResponse(rider_page(snapshot, settings))


@router.get(EMBED_PATH, response_class=HTMLResponse, summary="Embeddable station map")
def embed(
    registry: RegistryDep,
    snapshot: SnapshotDep,
    settings: SettingsDep,
    adcode: Annotated[str | None, Query(pattern=r"^\d{6}$", description="district code, e.g. 330106")] = None,
    types: Annotated[str | None, Query(description=f"comma-separated: {', '.join(STATION_TYPES)}")] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180, allow_inf_nan=False, description="WGS84 centre")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90, allow_inf_nan=False)] = None,
    zoom: Annotated[int | None, Query(ge=1, le=19)] = None,
    lang: Lang = "zh",
    controls: Annotated[bool, Query(description="zoom buttons and the legend")] = True,
) -> HTMLResponse:
    """A chrome-less map of the stations (of a district and types) for an ``<iframe>`` on a union's site."""
    html = station_map(
        registry, snapshot, settings, mode="embed", adcode=adcode, types=types, lon=lon, lat=lat, zoom=zoom,
        lang=lang, controls=controls,
    )  # fmt: skip
    return HTMLResponse(html)


@router.get(BUILDER_PATH, response_class=HTMLResponse, summary="Embed snippet builder")
def embed_builder(registry: RegistryDep) -> HTMLResponse:
    """Pick a district, types, size and language; copy the ``<iframe>`` snippet; see a live preview."""
    districts = registry.districts
    options = "".join(
        f'<option value="{escape(code)}">{escape(name)}</option>'
        for code, name in (zip(districts.adcodes, districts.names, strict=True) if districts is not None else [])
    )
    types = "".join(
        f'<label class="yz-check"><input type="checkbox" name="types" value="{kind}"> {TYPE_NAMES[kind]}</label>'
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


def page_rules(settings: Settings) -> dict[str, PageRule]:
    """What these pages may do beyond ``api.security``'s default: ``/embed`` may be framed by
    ``settings.frame_ancestors``."""
    return {EMBED_PATH: PageRule(frame_ancestors=settings.frame_ancestors)}
