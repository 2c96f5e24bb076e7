"""Links that open a station in riders' navigation apps, each in the app's own coordinate system.

Amap (高德) and Tencent (腾讯) take GCJ-02, Baidu (百度) takes BD-09, and a ``geo:`` URI (RFC 5870) takes
WGS84. The apps route from the rider's current position.

One function, over arrays: a single place is a list of one.

>>> (links,) = navigation_links(["驿站"], [120.16], [30.25])
>>> links["geo"]
'geo:30.25,120.16?q=30.25,120.16(%E9%A9%BF%E7%AB%99)'
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

import numpy as np
from numpy.typing import ArrayLike

from geo.crs import gcj02_to_bd09, wgs84_to_gcj02


def _fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def navigation_links(names: Sequence[str], lon: ArrayLike, lat: ArrayLike) -> list[dict[str, str]]:
    """``{"amap", "baidu", "tencent", "geo"}`` URLs for each place at WGS84 (lon, lat) degrees, converted
    together (one array operation per datum, whatever the number of places)."""
    w_lon, w_lat = np.asarray(lon, dtype=float).ravel(), np.asarray(lat, dtype=float).ravel()
    g_lon, g_lat = wgs84_to_gcj02(w_lon, w_lat)
    b_lon, b_lat = gcj02_to_bd09(g_lon, g_lat)
    links = []
    for i, name in enumerate(names):
        label = quote(name, safe="")
        gx, gy, bx, by, wx, wy = (_fmt(float(v.flat[i])) for v in (g_lon, g_lat, b_lon, b_lat, w_lon, w_lat))
        links.append(
            {
                "amap": f"https://uri.amap.com/navigation?to={gx},{gy},{label}&mode=ride&coordinate=gaode&callnative=1",
                "baidu": (
                    f"https://api.map.baidu.com/marker?location={by},{bx}&title={label}&content={label}"
                    "&coord_type=bd09ll&output=html&src=yizhan"
                ),
                "tencent": f"https://apis.map.qq.com/uri/v1/routeplan?type=bike&to={label}&tocoord={gy},{gx}&referer=yizhan",
                "geo": f"geo:{wy},{wx}?q={wy},{wx}({label})",
            }
        )
    return links
