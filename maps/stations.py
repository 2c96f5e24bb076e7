r"""Station pages: a self-contained Leaflet map of stations that a small browser app draws and filters.

One builder serves the rider page (``GET /``), the embeddable map (``GET /embed``) and the static export
(``yizhan map stations``): ``station_page`` starts from ``maps.page.base_map`` (Leaflet only, plus
Leaflet.markercluster for many stations), adds the tile layer, the app's trusted CSS, markup and script
(``PageAssets``: ``station_assets`` reads the app in ``maps/static``) and one configuration object, all
given as one typed value, ``StationPage``. ``maps.page.self_contained`` then inlines every library, so the
page loads nothing but tiles. The app has no words of the registry of its own: the caller puts the station
types, amenities and their labels into the configuration (``types``... see ``maps/static/app.js``).

User text (station names, addresses, hours) reaches the page only inside the configuration, a JSON literal
written by ``maps.safe_text.js_literal`` (``<``, ``>``, ``&`` and ``'`` as ``\uXXXX`` escapes), and the app
puts it into the page with ``textContent`` only. Station coordinates in ``features`` must already be in the
tiles' coordinate system (``Tiles.crs``): WGS84 for OpenStreetMap, GCJ-02 for Amap or Tencent tiles.

>>> assets = PageAssets(css="body { margin: 0 }", script="function yizhanApp(map, config) {}")
>>> page = station_page(StationPage(assets, {"mode": "static"}, features=[_feature("</script>")], title="驿站"))
>>> "</script>\"" in page, "\\u003c/script\\u003e" in page, "<script src=" in page
(False, True, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, cast

from branca.element import Figure
from folium.template import Template

from maps.elements import Macro
from maps.page import base_map, marker_cluster, self_contained, tile_layer
from maps.safe_text import escape, js_literal
from maps.styles import TYPE_COLOURS
from maps.tiles import OSM_ATTRIBUTION, OSM_TILES, Tiles

DEFAULT_CENTER = (30.25, 120.16)
"""(lat, lon) of the view when there is nothing to fit: Hangzhou, where the sample data is."""
OSM = Tiles(OSM_TILES, OSM_ATTRIBUTION)
"""OpenStreetMap's tiles (WGS84), the default base map."""


@dataclass(frozen=True)
class PageAssets:
    """The browser app: trusted CSS, markup placed before the map, and a script defining
    ``yizhanApp(map, config)`` (called once the Leaflet map exists). None of them may contain user text."""

    css: str
    script: str
    body: str = ""

    def __post_init__(self) -> None:
        for name, text, closing in (("css", self.css, "</style"), ("script", self.script, "</script")):
            if closing in text.lower():
                raise ValueError(f"PageAssets.{name} contains {closing!r} and cannot be inlined")


class _App(Macro):
    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.assets.css }}</style>
        {% endmacro %}
        {% macro html(this, kwargs) %}
        {{ this.assets.body }}
        {% endmacro %}
        {% macro script(this, kwargs) %}
        {{ this.assets.script }}
        yizhanApp({{ this._parent.get_name() }}, {{ this.config_js }});
        {% endmacro %}
        """
    )

    def __init__(self, assets: PageAssets, config: Mapping[str, Any]) -> None:
        super().__init__()
        self._name = "YizhanApp"
        self.assets = assets
        self.config_js = js_literal(dict(config))


@cache
def _static(name: str) -> str:
    return (resources.files("maps") / "static" / name).read_text(encoding="utf-8")


def station_assets(body: str | None = None) -> PageAssets:
    """The station app (``maps/static/app.css``, ``app.js``) with ``body`` markup before the map.

    >>> "function yizhanApp" in station_assets().script
    True
    """
    return PageAssets(css=_static("app.css"), script=_static("app.js"), body=body or "")


def rider_assets() -> PageAssets:
    """The station app with the rider page's markup (``maps/static/rider.html``): search, filters and the list."""
    return station_assets(_static("rider.html"))


def features_bounds(features: Sequence[Mapping[str, Any]]) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of point features, or None when there are none.

    >>> features_bounds([_feature("a", 120.1, 30.2), _feature("b", 120.3, 30.1)])
    [[30.1, 120.1], [30.2, 120.3]]
    """
    points = [f["geometry"]["coordinates"] for f in features]
    if not points:
        return None
    lons, lats = [float(p[0]) for p in points], [float(p[1]) for p in points]
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


@dataclass(frozen=True)
class View:
    """The initial view: ``center`` (lat, lon) in the tiles' CRS and ``zoom``; without a centre the map fits
    the page's features (or shows Hangzhou). ``zoom_control``: whether the map shows its + / - buttons."""

    center: tuple[float, float] | None = None
    zoom: int = 12
    zoom_control: bool = True


@dataclass(frozen=True)
class StationPage:
    """Everything a station page is built from.

    Parameters
    ----------
    assets
        The app (``PageAssets``).
    config
        JSON-ready settings for the app; ``features``, ``colours``, ``tiles_crs`` and ``fit`` are added to it.
    features
        GeoJSON point Features (coordinates in ``tiles.crs``) to inline, or None when the app fetches them.
    title
        Page title (plain text).
    tiles
        Base map tiles and their coordinate system.
    view
        Initial view.
    """

    assets: PageAssets
    config: Mapping[str, Any] = field(default_factory=dict)
    features: Sequence[Mapping[str, Any]] | None = None
    title: str = "驿站 Yizhan"
    tiles: Tiles = OSM
    view: View = View()


def station_page(page: StationPage) -> str:
    """One self-contained HTML page: the map, the app and its configuration (with the features inlined).

    A tile URL without attribution is a ``ValueError``.
    """
    features, view = page.features, page.view
    bounds = features_bounds(features) if features and view.center is None else None
    start = view.center or DEFAULT_CENTER
    m = base_map(
        location=list(start), zoom_start=view.zoom, tiles=None, zoom_control=view.zoom_control, control_scale=True
    )
    cast(Figure, m.get_root()).title = escape(page.title)  # a folium.Map's root is its Figure
    tile_layer(page.tiles.source, page.tiles.attribution).add_to(m)
    marker_cluster("stations").add_to(m)  # brings Leaflet.markercluster; the app makes its own cluster groups
    full = {
        **page.config,
        "tiles_crs": page.tiles.crs,
        "colours": TYPE_COLOURS,
        "features": list(features) if features is not None else None,
        "fit": bounds,
    }
    _App(page.assets, full).add_to(m)
    return self_contained(m)


def _feature(name: str, lon: float = 120.16, lat: float = 30.25) -> dict[str, Any]:
    """A minimal station Feature (for examples)."""
    return {
        "type": "Feature",
        "id": name,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"id": name, "name": name, "types": ["outdoor_worker"]},
    }
