"""Links that open a station in riders' navigation apps, each in the app's own coordinate system.

Amap (高德) and Tencent (腾讯) take GCJ-02, Baidu (百度) takes BD-09, and a ``geo:`` URI (RFC 5870) takes
WGS84. The apps route from the rider's current position.

>>> links = navigation_links("驿站", 120.16, 30.25)
>>> links["geo"]
'geo:30.25,120.16?q=30.25,120.16(%E9%A9%BF%E7%AB%99)'
"""

from __future__ import annotations

from urllib.parse import quote

from geo.crs import transform


def _fmt(value: float) -> str:
    return f"{value:.6f}".rstrip("0").rstrip(".")


def navigation_links(name: str, lon: float, lat: float) -> dict[str, str]:
    """``{"amap", "baidu", "tencent", "geo"}`` URLs for a place at WGS84 (lon, lat)."""
    g_lon, g_lat = (_fmt(float(v[()])) for v in transform(lon, lat, "wgs84", "gcj02"))
    b_lon, b_lat = (_fmt(float(v[()])) for v in transform(lon, lat, "wgs84", "bd09"))
    label = quote(name, safe="")
    w_lon, w_lat = _fmt(lon), _fmt(lat)
    return {
        "amap": f"https://uri.amap.com/navigation?to={g_lon},{g_lat},{label}&mode=ride&coordinate=gaode&callnative=1",
        "baidu": (
            f"https://api.map.baidu.com/marker?location={b_lat},{b_lon}&title={label}&content={label}"
            "&coord_type=bd09ll&output=html&src=yizhan"
        ),
        "tencent": f"https://apis.map.qq.com/uri/v1/routeplan?type=bike&to={label}&tocoord={g_lat},{g_lon}&referer=yizhan",
        "geo": f"geo:{w_lat},{w_lon}?q={w_lat},{w_lon}({label})",
    }
