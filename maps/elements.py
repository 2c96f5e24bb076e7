r"""folium elements that carry user text safely: many points or shapes per layer, boxes, panes, CSS.

Why not ``folium.Popup`` / ``folium.Tooltip``: folium puts their HTML inside a JavaScript template literal
(`` `...` ``), where ``${...}`` is evaluated and (for tooltips) a backtick ends the string, so even
``html.escape``-d user text can run code; ``folium.Popup`` also needs jQuery. Here every piece of user text
is HTML-escaped in Python (``escape``, ``html_table``, ``PointsLayer`` fields) and reaches the page only
inside JSON string literals (``js_literal``) in which ``<``, ``>``, ``&`` and ``'`` are ``\uXXXX``
escapes, so a name like ``</script>`` cannot end the script, and Leaflet, setting it as ``innerHTML``,
shows it as text. (``PointsLayer`` puts escaped fields into a trusted template in the browser; the
substitution adds no markup.)

- ``PointsLayer``: circles or circle markers, one loop over compact JSON rows (a folium ``CircleMarker``
  per station would cost ~1 kB of JavaScript each);
- ``LabelMarkers``: markers showing a short text such as a rank number (``L.divIcon``, no images or fonts);
- ``ShapesLayer``: polygons as one GeoJSON layer, with a style, popup and tooltip per shape;
- ``HtmlControl``: a box in a map corner (title, legend, credits);
- ``Pane``: a map pane with its own opacity (overlapping shapes in it do not darken);
- ``KeepAtBack``: layers the layer control re-adds go back under the others on the shared canvas;
- ``StyleSheet``: trusted CSS for the page header.

Every element here is a ``Macro``: its macros are rendered once and their output goes into the page as it
is (``Verbatim``). branca's own ``MacroElement.render`` wraps each rendered macro in ``Element(text)``,
which compiles that text, data included, as a Jinja2 template a second time: a station named
``{{ 7*7 }}`` would show as ``49`` and ``{# ...`` would break the page. ``maps.page.self_contained``
refuses any other element that could do so.

>>> import folium
>>> m = folium.Map(tiles=None)
>>> group = folium.FeatureGroup(name="stations").add_to(m)
>>> _ = PointsLayer([(30.25, 120.15)], {"radius": 5}, fields=[["<b>&"]], popup="{0}").add_to(group)
>>> html = m.get_root().render()
>>> "&lt;b&gt;" in html, "<b>&" in html  # the fragment is in the page only as an escaped JSON string
(False, False)
>>> js_literal(escape("<b>&")) in html
True
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from branca.element import Element, Figure, MacroElement
from folium.template import Template
from shapely.geometry.base import BaseGeometry

from maps.safe_text import escape, js_literal

CSS = """
.yizhan-box { background: rgba(255, 255, 255, 0.92); padding: 6px 9px; border-radius: 5px;
  box-shadow: 0 1px 4px rgba(0, 0, 0, 0.35); font: 12px/1.4 system-ui, -apple-system, "PingFang SC",
  "Microsoft YaHei", sans-serif; color: #222; max-width: 340px; }
.yizhan-box h1 { font-size: 14px; margin: 0; font-weight: 600; }
.yizhan-box .yizhan-muted, .yizhan-popup .yizhan-muted { color: #666; }
.yizhan-scale { height: 10px; width: 220px; border: 1px solid #999; margin: 3px 0 1px; }
.yizhan-ticks { display: flex; justify-content: space-between; width: 222px; font-size: 11px; }
.yizhan-swatch { display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -2px;
  border: 1px solid rgba(0, 0, 0, 0.4); }
.yizhan-dot { border-radius: 50%; }
.yizhan-popup { font: 12px/1.4 system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif; }
.yizhan-popup table { border-collapse: collapse; margin-top: 3px; }
.yizhan-popup th { text-align: left; font-weight: normal; color: #555; padding: 1px 10px 1px 0; }
.yizhan-popup td { text-align: right; padding: 1px 0; white-space: nowrap; }
"""
"""Styles of the boxes and popups built here (no user text)."""


class Verbatim(Element):
    """Markup that is rendered already: the page gets ``text`` as it is, never compiled as a template.

    >>> Verbatim("{{ 7*7 }} {# #}").render()
    '{{ 7*7 }} {# #}'
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self._name = "Verbatim"
        self.text = text

    def render(self, **_kwargs: Any) -> str:  # branca's signature; nothing here takes options
        """``text``, unchanged."""
        return self.text


class Macro(MacroElement):
    """A ``MacroElement`` whose rendered ``header``, ``html`` and ``script`` macros reach the page verbatim.

    Values reach the macros as template *variables* (``{{ this.rows_js }}``), which Jinja2 substitutes once;
    the result is never parsed again, so text in the data (``{{``, ``{%``, ``{#``) stays text.

    >>> import folium
    >>> m = folium.Map(tiles=None)
    >>> _ = HtmlControl(escape("SSTI[{{ 7*7 }}] {# 二号")).add_to(m)
    >>> html = m.get_root().render()
    >>> "SSTI[{{ 7*7 }}] {# 二号" in html, "SSTI[49]" in html
    (True, False)
    """

    # MacroElement.render, replaced here, returns nothing; branca's Element.render says str
    def render(self, **kwargs: Any) -> None:  # type: ignore[override]
        """Add this element's rendered macros to the figure (as ``Verbatim``), then render the children."""
        figure = self.get_root()
        if not isinstance(figure, Figure):
            raise TypeError(f"{type(self).__name__} must be added to a folium.Map before rendering")
        self.add_styles(figure)
        module = self._template.module.__dict__
        for part, section in (("header", figure.header), ("html", figure.html), ("script", figure.script)):
            macro = module.get(part)
            if macro is not None:
                section.add_child(Verbatim(str(macro(self, kwargs))), name=self.get_name())
        for child in self._children.values():
            child.render(**kwargs)

    def add_styles(self, figure: Figure) -> None:
        """Hook: put trusted CSS into ``figure.header`` (as ``Verbatim``); nothing by default."""


def html_table(title: str, subtitle: str | None, rows: Iterable[tuple[str, str]]) -> str:
    r"""A popup fragment: bold title, muted subtitle, then a two-column table; every text is escaped.

    >>> html_table("<b>", "1", [("面积 area", "2.0 km²")]).replace("><", ">\n<").splitlines()
    ... # doctest: +NORMALIZE_WHITESPACE
    ['<div class="yizhan-popup">', '<b>&lt;b&gt;</b> <span class="yizhan-muted">1</span>', '<table>',
     '<tr>', '<th>面积 area</th>', '<td>2.0 km²</td>', '</tr>', '</table>', '</div>']
    """
    head = f"<b>{escape(title)}</b>"
    if subtitle:
        head += f' <span class="yizhan-muted">{escape(subtitle)}</span>'
    body = "".join(f"<tr><th>{escape(name)}</th><td>{escape(value)}</td></tr>" for name, value in rows)
    return f'<div class="yizhan-popup">{head}<table>{body}</table></div>'


class _StyledElement(Macro):
    """Adds the shared ``CSS`` to the page header once, whatever number of elements use it."""

    def add_styles(self, figure: Figure) -> None:
        """The shared ``CSS``, once per page."""
        figure.header.add_child(Verbatim(f"<style>{CSS}</style>"), name="yizhan_css")


class PointsLayer(_StyledElement):
    """Circles (radius in metres) or circle markers (radius in pixels), all in one layer.

    Add it to a ``folium.FeatureGroup``, a ``MarkerCluster`` (added in bulk) or the map itself. Popups and
    tooltips are one trusted template per layer whose ``{0}``, ``{1}``... the browser replaces with that
    point's fields, which this element HTML-escapes; so a station costs its coordinates and its texts only.

    Parameters
    ----------
    points
        ``(lat, lon)`` per point, WGS84 degrees.
    style
        Leaflet path options shared by all points, e.g. ``{"radius": 6, "fillColor": "#f16913"}``.
    kind
        ``"circleMarker"`` (default, a fixed size on screen) or ``"circle"`` (``radius`` in metres).
    fields
        Plain text per point (escaped here), one list per point, filling the templates' placeholders.
    popup, tooltip
        Trusted HTML with placeholders ``{0}``, ``{1}``... (build the markup with ``html_table``/``escape``).

    >>> layer = PointsLayer([(30.25, 120.15)], {"radius": 5}, fields=[["<i>"]], tooltip="<b>{0}</b>")
    >>> layer.rows
    [[30.25, 120.15, ['&lt;i&gt;']]]
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (group) {
            var style = {{ this.style_js }}, popup = {{ this.popup_js }}, tooltip = {{ this.tooltip_js }};
            function fill(template, fields) {
                return template.replace(/\\{(\\d+)\\}/g, function (_, i) { return fields[+i]; });
            }
            var layers = {{ this.rows_js }}.map(function (row) {
                var layer = L.{{ this.kind }}([row[0], row[1]], style);
                if (popup) { layer.bindPopup(fill(popup, row[2]), {maxWidth: 360}); }
                if (tooltip) { layer.bindTooltip(fill(tooltip, row[2])); }
                return layer;
            });
            if (group.addLayers) { group.addLayers(layers); }
            else { layers.forEach(function (layer) { group.addLayer(layer); }); }
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        points: Sequence[tuple[float, float]],
        style: Mapping[str, Any],
        *,
        kind: str = "circleMarker",
        fields: Sequence[Sequence[object]] | None = None,
        popup: str | None = None,
        tooltip: str | None = None,
    ) -> None:
        super().__init__()
        self._name = "PointsLayer"
        if kind not in ("circleMarker", "circle"):
            raise ValueError(f"kind {kind!r} is not one of 'circleMarker', 'circle'")
        self.kind = kind
        self.rows = _point_rows(points, fields, popup, tooltip)
        self.style = dict(style)
        self.rows_js = js_literal(self.rows)
        self.style_js = js_literal(self.style)
        self.popup_js = js_literal(popup or "")
        self.tooltip_js = js_literal(tooltip or "")


_PLACEHOLDER = re.compile(r"\{(\d+)\}")


def _point_rows(
    points: Sequence[tuple[float, float]],
    fields: Sequence[Sequence[object]] | None,
    popup: str | None,
    tooltip: str | None,
) -> list[list[Any]]:
    """``[lat, lon]`` per point (6 decimals, ≈0.1 m), plus its escaped fields when a template uses them."""
    if fields is not None and len(fields) != len(points):
        raise ValueError(f"fields has {len(fields)} entries for {len(points)} points")
    needed = max((int(i) + 1 for t in (popup, tooltip) if t for i in _PLACEHOLDER.findall(t)), default=0)
    if needed and fields is None:
        raise ValueError(f"the popup/tooltip templates use {{{needed - 1}}} but no fields were given")
    rows: list[list[Any]] = []
    for number, (lat, lon) in enumerate(points):
        row: list[Any] = [round(float(lat), 6), round(float(lon), 6)]
        if popup or tooltip:
            texts = [escape(text) for text in fields[number]] if fields is not None else []
            if len(texts) < needed:
                raise ValueError(f"point {number}: {len(texts)} fields, the templates use {needed}")
            row.append(texts)
        rows.append(row)
    return rows


_COLOUR = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?")

LABEL_CSS = """
.yizhan-label { background: none; border: none; }
.yizhan-label div { box-sizing: border-box; width: 100%; height: 100%; border: 2px solid #ffffff;
  border-radius: 12px; box-shadow: 0 1px 4px rgba(0, 0, 0, 0.55); text-align: center; white-space: nowrap;
  font: 600 12px system-ui, -apple-system, "PingFang SC", "Microsoft YaHei", sans-serif; }
.yizhan-label:focus { outline: none; }
.yizhan-label:focus-visible div { outline: 3px solid #000000; outline-offset: 2px;
  box-shadow: 0 0 0 2px #ffffff, 0 0 0 7px #000000; }
"""
"""Styles of ``LabelMarkers`` (no user text): a rounded badge with a white ring; a keyboard focus ring in black
and white (visible on any map colour)."""


class LabelMarkers(Macro):
    """Markers that each show a short text, e.g. a rank number: ``L.divIcon`` badges in one layer.

    No images and no icon fonts: the badge is a ``<div>`` styled by ``LABEL_CSS`` and the colours given here.
    Each label is HTML-escaped here and set as the badge's markup, so it shows as text. Markers earlier in
    ``points`` are drawn above later ones where they overlap (rank 1 on top). Popups and tooltips work as in
    ``PointsLayer``: trusted templates whose ``{0}``, ``{1}``... the browser fills with the escaped fields.

    Parameters
    ----------
    points
        ``(lat, lon)`` per marker, WGS84 degrees.
    labels
        Plain text per marker (a few characters: the badge grows with the text).
    colour, text_colour
        Badge fill and text colours, ``#rgb`` or ``#rrggbb``.
    fields, popup, tooltip
        As in ``PointsLayer``.
    keyboard
        Each badge a focusable button (Leaflet's default): Tab reaches it, Enter or Space opens its popup, and a
        focus ring shows which one has focus. ``False``: not tab stops (pointer and touch still open their
        popups). Badges that may crowd (numbered sites over a whole city) are spread apart by
        ``maps.badges.SpreadBadges`` so that no two overlap as targets (WCAG 2.5.8).

    >>> layer = LabelMarkers([(30.25, 120.15)], ["<1>"], colour="#e6ab02", fields=[["a"]], tooltip="{0}")
    >>> layer.rows
    [[30.25, 120.15, ['a'], '&lt;1&gt;']]
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (group) {
            var badge = {{ this.badge_js }}, popup = {{ this.popup_js }}, tooltip = {{ this.tooltip_js }};
            function fill(template, fields) {
                return template.replace(/\\{(\\d+)\\}/g, function (_, i) { return fields[+i]; });
            }
            var rows = {{ this.rows_js }};
            rows.forEach(function (row, i) {
                var width = Math.max(badge.size, 10 + 7 * row[3].length);
                // the badge drawn offset [dx, dy] px from its place (maps.badges.SpreadBadges moves crowded ones)
                function icon(offset) {
                    var dx = offset ? offset[0] : 0, dy = offset ? offset[1] : 0;
                    return L.divIcon({
                        className: "yizhan-label",
                        html: "<div style=\\"" + badge.style + "\\">" + row[3] + "</div>",
                        iconSize: [width, badge.size],
                        iconAnchor: [width / 2 - dx, badge.size / 2 - dy],
                        popupAnchor: [dx, dy - badge.size / 2],
                        tooltipAnchor: [dx + width / 2, dy]
                    });
                }
                var marker = L.marker(
                    [row[0], row[1]], {icon: icon(), zIndexOffset: 1000 * (rows.length - i), keyboard: badge.keyboard}
                );
                marker.badgeIcon = icon;
                marker.badgeWidth = width;
                if (popup) {
                    marker.bindPopup(fill(popup, row[2]), {maxWidth: 360});
                    // Leaflet opens it on Enter; Space too, as on any button
                    marker.on("keydown", function (event) {
                        var key = event.originalEvent.key;
                        if (key === " " || key === "Spacebar") {
                            event.originalEvent.preventDefault();
                            marker.openPopup();
                        }
                    });
                }
                if (tooltip) { marker.bindTooltip(fill(tooltip, row[2]), {direction: "right"}); }
                group.addLayer(marker);
            });
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    SIZE = 24
    """Badge height in pixels (and the least width): a 24 x 24 px target at least (WCAG 2.5.8)."""

    def __init__(
        self,
        points: Sequence[tuple[float, float]],
        labels: Sequence[object],
        *,
        colour: str,
        text_colour: str = "#ffffff",
        fields: Sequence[Sequence[object]] | None = None,
        popup: str | None = None,
        tooltip: str | None = None,
        keyboard: bool = True,
    ) -> None:
        super().__init__()
        self._name = "LabelMarkers"
        if len(labels) != len(points):
            raise ValueError(f"labels has {len(labels)} entries for {len(points)} points")
        for value in (colour, text_colour):
            if not _COLOUR.fullmatch(value):
                raise ValueError(f"colour {value!r} is not #rgb or #rrggbb")
        self.rows = [
            [*row, [], escape(label)] if len(row) == 2 else [*row, escape(label)]
            for row, label in zip(_point_rows(points, fields, popup, tooltip), labels, strict=True)
        ]
        line = self.SIZE - 4  # inside the 2 px ring
        style = f"background: {colour}; color: {text_colour}; line-height: {line}px"
        self.badge = {"size": self.SIZE, "style": style, "keyboard": keyboard}
        self.rows_js = js_literal(self.rows)
        self.badge_js = js_literal(self.badge)
        self.popup_js = js_literal(popup or "")
        self.tooltip_js = js_literal(tooltip or "")

    def add_styles(self, figure: Figure) -> None:
        """The shared ``CSS`` and ``LABEL_CSS``, once per page."""
        figure.header.add_child(Verbatim(f"<style>{CSS}</style>"), name="yizhan_css")
        figure.header.add_child(Verbatim(f"<style>{LABEL_CSS}</style>"), name="yizhan_label_css")


class KeepAtBack(Macro):
    """Puts ``layers`` back under the other vector layers whenever the layer control adds them again.

    On a ``prefer_canvas`` map all vector layers of the overlay pane share one canvas, drawn and hit-tested
    in the order they were added: a choropleth the user switches off and on again (or picks as a base
    layer) would otherwise come back on top of the gaps and stations, hiding them and taking their clicks.
    The layers' own shapes keep their order. Add this to the map after the layers.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, groups) {
            function leaves(layer, out) {
                if (layer.eachLayer) { layer.eachLayer(function (child) { leaves(child, out); }); }
                else { out.push(layer); }
                return out;
            }
            map.on("baselayerchange overlayadd", function (event) {
                if (groups.indexOf(event.layer) < 0) { return; }
                leaves(event.layer, []).reverse().forEach(function (layer) {
                    if (layer.bringToBack) { layer.bringToBack(); }
                });
            });
        })({{ this._parent.get_name() }}, [{{ this.names }}]);
        {% endmacro %}
        """
    )

    def __init__(self, layers: Sequence[Element]) -> None:
        super().__init__()
        self._name = "KeepAtBack"
        self.layers = list(layers)

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # as Macro.render
        """Render as ``Macro.render`` does, once the layers' identifiers (``names``) are known."""
        self.names = ", ".join(layer.get_name() for layer in self.layers)  # folium's generated identifiers
        super().render(**kwargs)


class ShapesLayer(_StyledElement):
    """Polygons (any shapely geometry, WGS84) with a style, popup and tooltip each, as one GeoJSON layer.

    Parameters
    ----------
    shapes
        ``(geometry, style, popup_html, tooltip_html)`` per shape; style is Leaflet path options
        (``{"color": ..., "weight": ..., "fillColor": ..., "fillOpacity": ...}``); HTML fragments must be
        escaped already and may be ``None``. Empty geometries are skipped.
    precision
        Decimals kept of each coordinate: 5 (≈1 m, default) is finer than any boundary or grid cell drawn.
    keys
        One key per shape (e.g. the district's adcode), kept as ``properties.key`` for scripts that restyle
        the shapes (``maps.coverage_controls.HourSelector``).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (group) {
            L.geoJSON({{ this.data_js }}, {
                style: function (feature) { return feature.properties.style; },
                onEachFeature: function (feature, layer) {
                    if (feature.properties.popup) { layer.bindPopup(feature.properties.popup, {maxWidth: 360}); }
                    if (feature.properties.tooltip) { layer.bindTooltip(feature.properties.tooltip, {sticky: true}); }
                }
            }).addTo(group);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        shapes: Sequence[tuple[BaseGeometry | None, Mapping[str, Any], str | None, str | None]],
        *,
        precision: int = 5,
        keys: Sequence[str] | None = None,
    ) -> None:
        super().__init__()
        self._name = "ShapesLayer"
        if keys is not None and len(keys) != len(shapes):
            raise ValueError(f"keys has {len(keys)} entries for {len(shapes)} shapes")
        features = []
        for number, (geometry, style, popup, tooltip) in enumerate(shapes):
            if geometry is None or geometry.is_empty:
                continue
            rounded = shapely.transform(geometry, lambda xy: np.round(xy, precision))
            properties: dict[str, Any] = {"style": dict(style), "popup": popup or "", "tooltip": tooltip or ""}
            if keys is not None:
                properties["key"] = keys[number]
            features.append(
                {"type": "Feature", "geometry": shapely.geometry.mapping(rounded), "properties": properties}
            )
        self.data = {"type": "FeatureCollection", "features": features}
        self.data_js = js_literal(self.data)


class HtmlControl(_StyledElement):
    """A box in a corner of the map (title, legend, credits) holding an already-escaped HTML fragment.

    Leaflet stacks boxes of one corner with its own controls, so they never cover the zoom buttons.
    Clicks and scrolls inside the box do not reach the map.

    Parameters
    ----------
    html
        Trusted markup: build it from ``escape``-d pieces.
    position
        ``"topleft"``, ``"topright"``, ``"bottomleft"`` or ``"bottomright"``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var control = L.control({position: {{ this.position_js }}});
            control.onAdd = function () {
                var box = L.DomUtil.create("div", "yizhan-box {{ this.css_class }}");
                box.innerHTML = {{ this.html_js }};
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                return box;
            };
            control.addTo(map);
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    POSITIONS = ("topleft", "topright", "bottomleft", "bottomright")

    def __init__(self, html: str, position: str = "bottomright", *, css_class: str = "") -> None:
        super().__init__()
        self._name = "HtmlControl"
        if position not in self.POSITIONS:
            raise ValueError(f"position {position!r} is not one of {', '.join(self.POSITIONS)}")
        if css_class and not all(part.replace("-", "").isalnum() for part in css_class.split()):
            raise ValueError(f"css_class {css_class!r}: use letters, digits and '-' only")
        self.html = html
        self.css_class = css_class
        self.html_js = js_literal(html)
        self.position_js = js_literal(position)


class Pane(Macro):
    """A Leaflet map pane drawn as one image at ``opacity``: shapes inside it never darken where they overlap.

    Add it to the map before the layers that use it (their style names it: ``{"pane": name}``; on a
    ``prefer_canvas`` map they get their own canvas). Leaflet's overlays are at z-index 400, so a pane at
    390 draws under them; a pane without ``pointer_events`` lets clicks through (use it for layers that are
    not interactive: a canvas over another canvas would take all its clicks).

    >>> Pane("covered", z_index=390, opacity=0.35).opacity
    0.35
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var pane = map.getPane({{ this.name_js }}) || map.createPane({{ this.name_js }});
            pane.style.zIndex = {{ this.z_index }};
            pane.style.opacity = {{ this.opacity }};
            {%- if not this.pointer_events %}
            pane.style.pointerEvents = "none";
            {%- endif %}
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, name: str, *, z_index: int, opacity: float = 1.0, pointer_events: bool = False) -> None:
        super().__init__()
        self._name = "Pane"
        if not (0.0 <= float(opacity) <= 1.0):
            raise ValueError(f"opacity {opacity!r} is not between 0 and 1")
        self.name = name
        self.name_js = js_literal(name)
        self.z_index = int(z_index)
        self.opacity = float(opacity)
        self.pointer_events = pointer_events


class StyleSheet(Macro):
    """Trusted CSS for the page header (no user text: build it from constants)."""

    _template = Template(
        """
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
        """
    )

    def __init__(self, css: str) -> None:
        super().__init__()
        self._name = "StyleSheet"
        if "</" in css:
            raise ValueError("css must not contain '</'")
        self.css = css
