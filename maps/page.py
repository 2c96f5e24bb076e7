"""Self-contained pages: a folium map rendered with its JavaScript and CSS inlined from ``maps/vendor``.

folium's templates link Leaflet, jQuery, Bootstrap, Font Awesome and plugins from CDNs. Builders here start
from ``base_map`` (Leaflet only) and ``marker_cluster`` (Leaflet.markercluster 1.5.3), and draw with
``CircleMarker``-style vector layers, so no icon fonts are needed; ``self_contained`` then renders the page
and replaces every ``<script src>`` / ``<link href>`` folium wrote with the vendored file's text. Images the
Leaflet CSS refers to become ``data:`` URIs, and ``L.Icon.Default`` is pointed at inlined images, so a
default ``L.Marker`` still shows. The only network requests left are the tiles.

A library that is not vendored is refused with its name and URL rather than silently linked, and so is
``folium.Popup`` (it needs jQuery and evaluates ``${...}`` in its text): use ``maps.elements`` instead.

Data is never template source. branca renders a ``MacroElement``'s macros and then compiles their output
again as a Jinja2 template, so any text inside (a station named ``{{ 7*7 }}``) would be evaluated.
``self_contained`` therefore renders only ``maps.elements.Macro`` elements, whose output goes into the page
verbatim, and the few folium elements in ``FOLIUM_ELEMENTS``, which it gives ``Macro``'s rendering too (layer
names, tile attributions and marker options then reach the page as folium's filters wrote them, never compiled
again); any other ``MacroElement`` is refused.

>>> import folium
>>> m = base_map(location=[30.25, 120.15], zoom_start=11, tiles=None)
>>> page = self_contained(m)
>>> "<script src=" in page, "<link" in page, 'version="1.9.4"' in page
(False, False, True)
"""

from __future__ import annotations

import re
from typing import Any

import folium
from branca.element import CssLink, Element, Figure, JavascriptLink, MacroElement
from folium.plugins import MarkerCluster

from maps.elements import Macro
from maps.safe_text import escape
from maps.vendored import (
    LEAFLET_CSS,
    LEAFLET_JS,
    MARKERCLUSTER_CSS,
    MARKERCLUSTER_JS,
    VENDORED,
    inline_script,
    inline_style,
)

_EXTERNAL = re.compile(r"<script\b[^>]*\bsrc\s*=|<link\b[^>]*\bhref\s*=", re.IGNORECASE)
_VIEWPORT = re.compile(r'<meta name="viewport" content="[^"]*"\s*/?>')
VIEWPORT = '<meta name="viewport" content="width=device-width, initial-scale=1.0" />'
"""The pages' viewport: folium's says ``maximum-scale=1.0, user-scalable=no``, which stops a rider with poor
sight from zooming the list and the text (WCAG 1.4.4); the map's own pinch-zoom is Leaflet's either way."""


FOLIUM_ELEMENTS: tuple[type[MacroElement], ...] = (
    folium.Map,
    folium.TileLayer,
    folium.FeatureGroup,
    folium.LayerControl,
    folium.FitBounds,
    folium.Marker,
    MarkerCluster,
)
"""folium's own elements a page may hold; ``self_contained`` renders them as ``maps.elements.Macro`` does (their
own ``render`` first: the layer control collects the layer names there), so text in a layer's name or a tile
attribution stays text."""


def base_map(**kwargs: Any) -> folium.Map:
    """A ``folium.Map`` that needs Leaflet only (not jQuery, Bootstrap or icon fonts).

    Takes ``folium.Map``'s arguments. Draw on it with vector layers and ``maps.elements``; ``folium.Marker``
    works too (default icon), ``folium.Icon`` and ``folium.Popup`` do not.

    >>> [name for name, _ in base_map(tiles=None).default_js]
    ['leaflet']
    """
    m = folium.Map(**kwargs)
    m.default_js = [LEAFLET_JS]  # instance lists: folium's class-level lists stay untouched
    m.default_css = [LEAFLET_CSS]
    return m


_TILE_PLACEHOLDER = re.compile(r"\{[sxyzr]\}|\{-y\}")


def tile_layer(tiles: str, attribution: str | None) -> folium.TileLayer:
    """The base tiles: a URL template with ``{z}/{x}/{y}`` (needs ``attribution``, plain text, escaped here)
    or a folium/xyzservices provider name such as ``"OpenStreetMap"``.

    A URL may hold Leaflet's placeholders only (``{s}``, ``{z}``, ``{x}``, ``{y}``, ``{-y}``, ``{r}``): folium
    compiles the layer's output as a template, so no other brace may reach it; braces in the attribution are
    written as HTML character references.

    >>> tile_layer("https://t.example/{z}/{x}/{y}.png", "{{ 7*7 }} & co").options["attribution"]
    '&#123;&#123; 7*7 &#125;&#125; &amp; co'
    >>> tile_layer("https://t.example/{{ 7*7 }}/{z}/{x}/{y}.png", "x")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: tiles '...': a URL template may hold {s}, {z}, {x}, {y}, {-y} and {r} only
    """
    if "{" in tiles or "}" in tiles or "://" in tiles:
        if not attribution:
            raise ValueError(
                f"tiles {tiles!r} is a URL template: pass attribution= naming its provider and licence "
                "(e.g. '© OpenStreetMap contributors')"
            )
        if "{" in _TILE_PLACEHOLDER.sub("", tiles) or "}" in _TILE_PLACEHOLDER.sub("", tiles):
            raise ValueError(
                f"tiles {tiles!r}: a URL template may hold {{s}}, {{z}}, {{x}}, {{y}}, {{-y}} and {{r}} only"
            )
    attr = None if attribution is None else escape(attribution).replace("{", "&#123;").replace("}", "&#125;")
    try:
        return folium.TileLayer(tiles=tiles, attr=attr, control=False)
    except ValueError as error:  # folium: "Custom tiles must have an attribution."
        raise ValueError(
            f"tiles {tiles!r} is neither a tile provider name (e.g. 'OpenStreetMap') nor a URL template "
            "with {z}/{x}/{y}; a URL template also needs attribution="
        ) from error


def marker_cluster(name: str, **options: Any) -> MarkerCluster:
    """A ``MarkerCluster`` layer (Leaflet.markercluster 1.5.3); ``options`` are the plugin's options.

    >>> marker_cluster("stations", disable_clustering_at_zoom=16).options
    {'disable_clustering_at_zoom': 16}
    """
    cluster = MarkerCluster(name=name, **options)
    cluster.default_js = [MARKERCLUSTER_JS]
    cluster.default_css = list(MARKERCLUSTER_CSS)
    return cluster


def self_contained(m: folium.Map) -> str:
    """The whole page of ``m`` as one HTML string with every script and style sheet inlined.

    Raises ``ValueError`` naming a resource that is not in ``VENDORED`` (vendor it into ``maps/vendor``
    or drop it from the element's ``default_js``/``default_css``), when ``m`` holds a ``folium.Popup``, and
    when it holds a ``MacroElement`` that is neither a ``maps.elements.Macro`` nor in ``FOLIUM_ELEMENTS``
    (branca would compile its output, data included, as a template). The ``FOLIUM_ELEMENTS`` in ``m`` are
    switched to their verbatim-rendering subclass (``_verbatim``) in place.
    Pure: reads the vendored files (cached), writes nothing, fetches nothing.

    Examples
    --------
    >>> m = base_map(location=[30.25, 120.15], tiles=None)
    >>> page = self_contained(m)
    >>> page.startswith("<!DOCTYPE html>"), len(page) > 150_000
    (True, True)
    """
    figure = m.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("the map is not in a folium Figure; build it with base_map() or folium.Map()")
    _render_verbatim(m)
    page = _VIEWPORT.sub(VIEWPORT, figure.render())
    for name, link in list(figure.header._children.items()):
        if not isinstance(link, JavascriptLink | CssLink):
            continue
        if name not in VENDORED:
            raise ValueError(
                f"{name} ({link.url}) is not vendored: add it to maps/vendor and maps.vendored.VENDORED, "
                f"or drop it from the element's default_js/default_css (vendored: {', '.join(VENDORED)})"
            )
        tag = link.render()
        inline = inline_script(name) if isinstance(link, JavascriptLink) else inline_style(name)
        page = page.replace(tag, inline, 1)
    leftover = _EXTERNAL.search(page)
    if leftover:
        start = leftover.start()
        raise ValueError(f"the page still links an external resource: {page[start : start + 160]!r}")
    return page


_VERBATIM: dict[type[MacroElement], type[MacroElement]] = {}


def _verbatim(cls: type[MacroElement]) -> type[MacroElement]:
    """``cls`` rendering its macros into the page verbatim: ``cls.render`` runs first, its ``MacroElement.render``
    is ``Macro.render`` (one subclass per class, made on first use)."""
    if cls not in _VERBATIM:
        _VERBATIM[cls] = type(cls.__name__, (cls, Macro), {"__doc__": cls.__doc__})
    return _VERBATIM[cls]


def _render_verbatim(element: Element) -> None:
    if isinstance(element, folium.Popup):
        raise ValueError(
            "folium.Popup needs jQuery and evaluates ${...} in its text: use maps.elements.PointsLayer / "
            "ShapesLayer popups (escaped HTML passed as JSON strings) instead"
        )
    if isinstance(element, folium.Icon):
        raise ValueError("folium.Icon needs Leaflet.awesome-markers and icon fonts, which are not vendored")
    if isinstance(element, folium.Map) and element.objects_to_stay_in_front:
        raise ValueError("Map.keep_in_front needs jQuery; add the layers in drawing order instead")
    if isinstance(element, MacroElement) and not isinstance(element, (Macro, *FOLIUM_ELEMENTS)):
        raise ValueError(
            f"{type(element).__name__} renders through branca, which compiles its output (data included) as a "
            "Jinja2 template: build it on maps.elements.Macro (or add the folium class to "
            "maps.page.FOLIUM_ELEMENTS)"
        )
    if isinstance(element, MacroElement) and not isinstance(element, Macro):
        element.__class__ = _verbatim(type(element))
    for child in element._children.values():
        _render_verbatim(child)
