"""Numbered badges that never overlap: ``SpreadBadges`` moves crowded ``maps.elements.LabelMarkers`` apart.

At a city view twenty hot spots and ten proposed sites fall on a few square centimetres of screen; drawn where
they are, they hide each other and, as keyboard and touch targets, sit too close (WCAG 2.5.8). After every zoom
(and whenever a badge layer is switched on or off) each badge keeps its place if its box is clear of those placed
before it, else it is drawn at the nearest clear spot with a thin line to its true place — the rider page's
``spreadPins`` (``maps/static/app.js``), the same function, read from that file (``spread_pins_source``) so that
there is one copy of it.

>>> "function spreadPins(points, size)" in spread_pins_source()
True
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from importlib import resources
from typing import Any

from folium.template import Template

from maps.elements import Macro
from maps.safe_text import js_literal

BADGE_BOX_PX = 40
"""Each badge's square box while spreading, CSS px: a badge (24 px high, at most ~38 px wide for ``热20``) with a
few px of air around it."""
LEADER_COLOUR = "#333333"

_FUNCTION = re.compile(r"^function spreadPins\(points, size\) \{\n.*?^\}\n", re.MULTILINE | re.DOTALL)


@cache
def spread_pins_source() -> str:
    """The source of ``spreadPins`` in ``maps/static/app.js`` (trusted code: no data), to inline in a page."""
    app = (resources.files("maps") / "static" / "app.js").read_text(encoding="utf-8")
    found = _FUNCTION.search(app)
    if found is None:  # pragma: no cover - app.js lost the function: the tests say so
        raise RuntimeError("maps/static/app.js has no top-level `function spreadPins(points, size) {...}`")
    source = found.group(0)
    if "</" in source:  # pragma: no cover - it could not be inlined in a <script>
        raise RuntimeError("spreadPins' source holds '</'")
    return source


class SpreadBadges(Macro):
    """Spreads the ``LabelMarkers`` badges of ``groups`` (those on the map), most important first: the order of
    ``groups``, then each layer's order (rank 1 first). Add it to the map after the groups.

    Parameters
    ----------
    groups
        ``folium.FeatureGroup`` s holding ``LabelMarkers``.
    box_px
        The square each badge keeps clear, CSS px.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, groups) {
            {{ this.spread_source }}
            var box = {{ this.box }}, leaders = L.layerGroup().addTo(map);
            function badges() {
                var out = [];
                groups.forEach(function (group) {
                    if (!map.hasLayer(group)) { return; }
                    group.eachLayer(function (layer) {
                        var markers = layer.eachLayer ? layer.getLayers() : [layer];
                        markers.forEach(function (m) { if (m.badgeIcon) { out.push(m); } });
                    });
                });
                return out;
            }
            function spread() {
                leaders.clearLayers();
                var markers = badges();
                var points = markers.map(function (m) {
                    var at = map.latLngToLayerPoint(m.getLatLng());
                    return [at.x, at.y];
                });
                spreadPins(points, box).forEach(function (offset, i) {
                    var marker = markers[i], old = marker.badgeOffset || [0, 0];
                    if (old[0] !== offset[0] || old[1] !== offset[1]) {
                        var focused = marker._icon && document.activeElement === marker._icon;
                        marker.badgeOffset = offset;
                        marker.setIcon(marker.badgeIcon(offset));
                        if (focused && marker._icon) { marker._icon.focus(); }
                    }
                    if (offset[0] || offset[1]) {
                        var moved = map.layerPointToLatLng(L.point(points[i][0] + offset[0], points[i][1] + offset[1]));
                        var line = {color: {{ this.colour_js }}, weight: 1.5, interactive: false};
                        leaders.addLayer(L.polyline([marker.getLatLng(), moved], line));
                        leaders.addLayer(L.circleMarker(marker.getLatLng(), {radius: 3, weight: 1, color: "#ffffff",
                            fillColor: {{ this.colour_js }}, fillOpacity: 1, interactive: false}));
                    }
                });
            }
            map.on("zoomend overlayadd overlayremove", spread);
            map.whenReady(function () { setTimeout(spread, 0); });
        })({{ this._parent.get_name() }}, [{{ this.names }}]);
        {% endmacro %}
        """
    )

    def __init__(self, groups: Sequence[Any], *, box_px: int = BADGE_BOX_PX) -> None:
        super().__init__()
        self._name = "SpreadBadges"
        self.groups = list(groups)
        self.box = int(box_px)
        self.spread_source = spread_pins_source()
        self.colour_js = js_literal(LEADER_COLOUR)

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # as Macro.render
        """Render as ``Macro.render`` does, once the groups' identifiers (``names``) are known."""
        self.names = ", ".join(group.get_name() for group in self.groups)
        super().render(**kwargs)
