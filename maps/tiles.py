"""Which base map a page draws (``Tiles``): a plain description, read by the map builders (``maps.page``) and the
console's own small maps alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TilesCrs = Literal["wgs84", "gcj02"]
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = "© OpenStreetMap contributors"


@dataclass(frozen=True)
class Tiles:
    """A base map: ``source`` is a folium/xyzservices provider name (``"OpenStreetMap"``) or a URL template
    with ``{z}/{x}/{y}``, which needs ``attribution`` (plain text); ``crs`` is the coordinate system the tiles
    are drawn in (WGS84, or GCJ-02 for Amap and Tencent), which overlays must be in too."""

    source: str
    attribution: str | None = None
    crs: TilesCrs = "wgs84"
