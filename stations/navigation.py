"""Links that open route planning to a station in riders' navigation apps, each in the app's own coordinate
system, for the way the rider travels (``walk``, ``ride`` or ``drive``).

Amap (高德) and Tencent (腾讯) take GCJ-02, Baidu (百度) takes BD-09, and a ``geo:`` URI (RFC 5870) takes WGS84.
Each app routes from ``origin`` when one is given (the point a nearest-station question asked about), else from
the rider's current position, which the apps' mobile pages and apps fill in themselves.

A station's default way of travel is ``default_mode``: drivers drive to a driver home (司机之家), riders ride
to the others; the rider may choose another (the API's ``mode``).

One function, over arrays: a single place is a list of one.

>>> (links,) = navigation_links(["驿站"], [120.16], [30.25], "drive")
>>> links["tencent"]
'https://apis.map.qq.com/uri/v1/routeplan?type=drive&to=%E9%A9%BF%E7%AB%99&tocoord=30.24766,120.164678&referer=yizhan'
>>> links["geo"]
'geo:30.25,120.16?q=30.25,120.16(%E9%A9%BF%E7%AB%99)'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal, get_args
from urllib.parse import quote

import numpy as np
from numpy.typing import ArrayLike

from stations._route_fields import route_fields
from stations.errors import InvalidValue

TravelMode = Literal["walk", "ride", "drive"]
TRAVEL_MODES: tuple[TravelMode, ...] = get_args(TravelMode)
NAVIGATION_APPS = ("amap", "baidu", "tencent", "geo")
ORIGIN_NAME = "起点"
"""The name the apps show for ``origin``."""

# Each app's own word for a way of travel.
# Amap URI API, 路径规划 (web and mobile browsers): https://lbs.amap.com/api/uri-api/guide/travel/route
#   mode=car|bus|walk|ride (ride: mobile only, Amap app 8.0+); from/to = lon,lat[,name]; src; callnative=1
#   tries the installed app. coordinate=gaode (GCJ-02): https://lbs.amap.com/api/uri-api/gettingstarted
AMAP_MODES: dict[TravelMode, str] = {"walk": "walk", "ride": "ride", "drive": "car"}
# Baidu URI API, 公交、驾车、步行导航 on the web: http://lbsyun.baidu.com/index.php?title=uri/api/web
#   (api.map.baidu.com/direction: origin, destination = latlng:lat,lng|name:..., mode, region, output=html
#   (required on the web), coord_type=bd09ll, src required, "webapp.companyName.appName").
#   riding, and an origin that may be left out (then the current position), are from the app's documentation
#   of the same direction call: https://lbsyun.baidu.com/docs/webapi?title=mapadjustment%2Furi%2Fandriod
#   (mode=transit|driving|walking|riding; src "andr.companyName.appName"); overview of both:
#   https://lbsyun.baidu.com/docs/webapi?title=mapadjustment%2Furi%2Fintroduction
BAIDU_MODES: dict[TravelMode, str] = {"walk": "walking", "ride": "riding", "drive": "driving"}
# Tencent URI API, 路线规划 on the web: https://lbs.qq.com/webApi/uriV1/uriGuide/uriWebRoute
#   (apis.map.qq.com/uri/v1/routeplan: type=bus|drive|walk, from/fromcoord (mobile: left out = current position),
#   to/tocoord = lat,lng in Tencent's GCJ-02 (coord_type 2, the default), referer = your key or app name,
#   required); type=bike is from the app's: https://lbs.qq.com/webApi/uriV1/uriGuide/uriMobileRoute
TENCENT_MODES: dict[TravelMode, str] = {"walk": "walk", "ride": "bike", "drive": "drive"}
# geo: URI, RFC 5870 (https://www.rfc-editor.org/rfc/rfc5870): geo:lat,lon in WGS84; it has no way of travel
# (the app asks); ?q=lat,lon(label) is the Android convention that labels the pin.


@dataclass(frozen=True)
class NavigationApps:
    """What the apps want to know about who links to them (``stations.settings.Settings``: ``amap_src``,
    ``baidu_src``, ``tencent_referer``); text of ``[A-Za-z0-9._-]`` only, as the settings check."""

    amap_src: str = "yizhan"
    baidu_src: str = "webapp.yizhan.yizhan"
    tencent_referer: str = "yizhan"

    @property
    def key(self) -> AppsKey:
        """The values as a plain tuple: a key that hashes faster than the dataclass (kept links are found by it)."""
        return (self.amap_src, self.baidu_src, self.tencent_referer)


AppsKey = tuple[str, str, str]


@dataclass(frozen=True)
class Trip:
    """How the links of an answer route: ``mode`` for every station (None: each station's ``default_mode``),
    from ``origin`` (WGS84 lon, lat; None: the rider's current position), for ``apps``."""

    mode: TravelMode | None = None
    origin: tuple[float, float] | None = None
    apps: NavigationApps = field(default_factory=NavigationApps)


def default_mode(types: Sequence[str]) -> TravelMode:
    """How one gets to a station of ``types`` unless the rider says otherwise: ``drive`` to a driver home
    (司机之家), else ``ride``.

    >>> default_mode(["driver_home"]), default_mode(["outdoor_worker", "driver_home"]), default_mode(["nursing_room"])
    ('drive', 'drive', 'ride')
    """
    return "drive" if "driver_home" in types else "ride"


def travel_mode(value: str) -> TravelMode:
    """A way of travel by name; ``stations.errors.InvalidValue`` of ``mode`` naming the valid ones if unknown.

    >>> travel_mode("walk")
    'walk'
    """
    for name in TRAVEL_MODES:
        if value == name:
            return name
    raise InvalidValue("mode", value, "unknown way of travel: walk (步行), ride (骑行) or drive (驾车)", TRAVEL_MODES)


@lru_cache(maxsize=65_536)  # station names and districts recur from answer to answer
def _text(value: str) -> str:
    return quote(value, safe="")


@dataclass(frozen=True, slots=True)
class Origin:
    """Where the links route from, as each app's part of its link: ``amap``, ``baidu`` and ``tencent`` (empty:
    the rider's current position). URL text of ASCII letters, digits and ``%,.:=&-`` only."""

    amap: str = ""
    baidu: str = ""
    tencent: str = ""


def route_origin(origin: tuple[float, float] | None) -> Origin:
    """Each app's part of a link for the WGS84 (lon, lat) ``origin`` (None: the current position).

    >>> route_origin((120.16, 30.25)).tencent
    'from=%E8%B5%B7%E7%82%B9&fromcoord=30.24766,120.164678&'
    """
    if origin is None:
        return Origin()
    start, ogx, ogy, obx, oby, _, _ = route_fields(ORIGIN_NAME, *origin)
    return Origin(
        amap=f"from={ogx},{ogy},{start}&",
        baidu=f"origin=latlng:{oby},{obx}%7Cname:{start}&",
        tencent=f"from={start}&fromcoord={ogy},{ogx}&",
    )


@dataclass(frozen=True, slots=True)
class RouteLinks:
    """The route links to one place, but for where they start: each link's text before and after its ``Origin``
    part (``geo:`` has none)."""

    amap: tuple[str, str]
    baidu: tuple[str, str]
    tencent: tuple[str, str]
    geo: str

    def start(self, origin: Origin) -> dict[str, str]:
        """The links from ``origin``: ``{"amap", "baidu", "tencent", "geo"}``."""
        return {
            "amap": origin.amap.join(self.amap),
            "baidu": origin.baidu.join(self.baidu),
            "tencent": origin.tencent.join(self.tencent),
            "geo": self.geo,
        }


def route_links(
    names: Sequence[str],
    lon: ArrayLike,
    lat: ArrayLike,
    modes: TravelMode | Sequence[TravelMode] = "ride",
    *,
    regions: Sequence[str | None] | None = None,
    apps: NavigationApps | None = None,
) -> list[RouteLinks]:
    """The links to each place at WGS84 (lon, lat) degrees, to be started from an ``Origin`` (``navigation_links``
    says the rest); a place's links depend on the place, the way of travel and the apps only, so they may be kept."""
    apps = apps or NavigationApps()
    w_lon = np.asarray(lon, dtype=float).ravel().tolist()
    w_lat = np.asarray(lat, dtype=float).ravel().tolist()
    each_mode = [modes] * len(names) if isinstance(modes, str) else list(modes)
    links = []
    for i, name in enumerate(names):
        # the name as URL text and the place in each app's coordinates, "%.6f" without trailing zeros: in one C call
        label, gx, gy, bx, by, wx, wy = route_fields(name, w_lon[i], w_lat[i])
        # Baidu splits destination at "|" after decoding: a "|" of the name would start a field of its own
        baidu_label = _text(name.replace("|", "｜")) if "|" in name else label
        mode = each_mode[i]
        region = regions[i] if regions is not None else None
        links.append(
            RouteLinks(
                amap=(
                    "https://uri.amap.com/navigation?",
                    f"to={gx},{gy},{label}&mode={AMAP_MODES[mode]}&src={apps.amap_src}&coordinate=gaode&callnative=1",
                ),
                baidu=(
                    "https://api.map.baidu.com/direction?",
                    f"destination=latlng:{by},{bx}%7Cname:{baidu_label}&mode={BAIDU_MODES[mode]}"
                    f"{f'&region={_text(region)}' if region else ''}"
                    f"&output=html&coord_type=bd09ll&src={apps.baidu_src}",
                ),
                tencent=(
                    f"https://apis.map.qq.com/uri/v1/routeplan?type={TENCENT_MODES[mode]}&",
                    f"to={label}&tocoord={gy},{gx}&referer={apps.tencent_referer}",
                ),
                geo=f"geo:{wy},{wx}?q={wy},{wx}({label})",
            )
        )
    return links


def navigation_links(
    names: Sequence[str],
    lon: ArrayLike,
    lat: ArrayLike,
    modes: TravelMode | Sequence[TravelMode] = "ride",
    *,
    regions: Sequence[str | None] | None = None,
    origin: tuple[float, float] | None = None,
    apps: NavigationApps | None = None,
) -> list[dict[str, str]]:
    """``{"amap", "baidu", "tencent", "geo"}`` route-planning URLs to each place at WGS84 (lon, lat) degrees,
    converted together (one array operation per datum, whatever the number of places).

    ``modes`` is one way of travel for all places or one per place; ``regions`` the county or city of each place
    (Baidu's ``region``; None: left out); ``origin`` a WGS84 (lon, lat) to route from (None: the current position).
    """
    start = route_origin(origin)
    return [links.start(start) for links in route_links(names, lon, lat, modes, regions=regions, apps=apps)]


def trip_members(
    names: Sequence[str],
    types: Sequence[Sequence[str]],
    lon: ArrayLike,
    lat: ArrayLike,
    regions: Sequence[str | None],
    trip: Trip,
) -> list[dict[str, object]]:
    """Each place's ``travel_mode`` (``trip.mode``, else its ``default_mode``) and ``navigation`` links, as the
    rider Features carry them."""
    modes: list[TravelMode] = [trip.mode or default_mode(kinds) for kinds in types]
    links = navigation_links(names, lon, lat, modes, regions=regions, origin=trip.origin, apps=trip.apps)
    return [{"travel_mode": mode, "navigation": link} for mode, link in zip(modes, links, strict=True)]
