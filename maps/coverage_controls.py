"""The coverage map's planner layers: gaps hatched over the choropleth, and an hour selector that recolours it.

- ``GapsLayer``: each gap as red hatching and a red outline in an SVG pane just above the choropleth (night gaps:
  a ``kind`` of their own, dark stripes the other way and a dashed outline). The hatch covers a quarter of the
  area and takes no clicks, so the district colours read through it and a click inside a gap opens the
  district's row; the outline opens the gap's popup.
- ``HourSelector``: a ``<select>`` of the hours with a profile (and one of the days: a weekday and a weekend day or
  holiday); picking one recolours each district by its covered share at that hour of that day, names the day and
  hour in the legend's caption, and adds the hour's share to the district's popup and tooltip. "All day" restores
  the colours of the whole day.

Both are ``maps.elements.Macro``: data reaches the page only as JSON literals (``js_literal``), every text in it
escaped in Python.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import shapely
from folium.template import Template
from shapely.geometry.base import BaseGeometry

from maps.elements import CSS, Macro, Verbatim
from maps.safe_text import escape, js_literal

GAPS_PANE = "yizhan-gaps"
GAPS_Z_INDEX = 405
"""Above the overlay pane (400: the choropleth's canvas), under markers (600)."""
HATCH_ID = "yizhan-gap-hatch"
HATCH_SPACING_PX = 8
HATCH_WIDTH_PX = 2
"""Red stripes 2 px wide every 8 px: three quarters of a gap show the district colour under it."""
HOUR_SELECT_ID = "yizhan-hour"
DAY_SELECT_ID = "yizhan-day"
CAPTION_ID = "yizhan-caption"

HOURS_CSS = """
.yizhan-hours label { margin-right: 6px; font-weight: 600; }
.yizhan-hours select { min-height: 28px; min-width: 96px; font: inherit; }
.yizhan-hours #yizhan-day { margin-right: 10px; }
"""


def hatch_pattern(colour: str, pattern_id: str = HATCH_ID, angle: int = 45) -> str:
    """The SVG ``<pattern>`` of a gap layer's hatching (trusted markup: ``colour`` is ``#rrggbb`` from the code),
    stripes at ``angle`` degrees.

    >>> 'id="yizhan-gap-hatch"' in hatch_pattern("#e31a1c")
    True
    """
    return (
        f'<pattern id="{escape(pattern_id)}" patternUnits="userSpaceOnUse" width="{HATCH_SPACING_PX}" '
        f'height="{HATCH_SPACING_PX}" patternTransform="rotate({int(angle)})">'
        f'<rect width="{HATCH_WIDTH_PX}" height="{HATCH_SPACING_PX}" fill="{escape(colour)}"/></pattern>'
    )


class GapsLayer(Macro):
    """Gap polygons drawn as hatching plus an outline, above the choropleth and never hiding it.

    Parameters
    ----------
    shapes
        ``(geometry WGS84, popup_html, tooltip_html)`` per gap; the HTML escaped already.
    colour
        Stripe and outline colour, ``#rrggbb``.
    precision
        Decimals kept of each coordinate.
    kind
        Names the layer's pattern and CSS classes (``yizhan-{kind}-hatch``, ``yizhan-{kind}-outline``): ``gap``
        for the service gaps, ``night-gap`` for the night gaps; each kind its own pattern.
    angle
        Direction of the stripes, degrees (the night gaps' run the other way to the gaps').
    dash
        The outline's SVG dash array (``"6 4"``), or None for a solid line.
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <svg width="0" height="0" aria-hidden="true" focusable="false" style="position: absolute">
        <defs>{{ this.pattern }}</defs></svg>
        {% endmacro %}
        {% macro script(this, kwargs) %}
        (function (group, map) {
            var name = {{ this.pane_js }};
            var pane = map.getPane(name) || map.createPane(name);
            pane.style.zIndex = {{ this.z_index }};
            pane.style.pointerEvents = "none";
            var renderer = L.svg({pane: name});
            var data = {{ this.data_js }}, hatch = {{ this.hatch_js }}, outline = {{ this.outline_js }};
            L.geoJSON(data, {
                pane: name, renderer: renderer, interactive: false, className: {{ this.hatch_class_js }},
                style: function () { return hatch; }
            }).addTo(group);
            L.geoJSON(data, {
                pane: name, renderer: renderer, className: {{ this.outline_class_js }},
                style: function () { return outline; },
                onEachFeature: function (feature, layer) {
                    layer.bindPopup(feature.properties.popup, {maxWidth: 360});
                    layer.bindTooltip(feature.properties.tooltip, {sticky: true});
                }
            }).addTo(group);
        })({{ this._parent.get_name() }}, {{ this._parent._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(
        self,
        shapes: Sequence[tuple[BaseGeometry, str, str]],
        *,
        colour: str,
        precision: int = 5,
        kind: str = "gap",
        angle: int = 45,
        dash: str | None = None,
    ) -> None:
        super().__init__()
        self._name = "GapsLayer"
        pattern_id = f"yizhan-{kind}-hatch"
        features = []
        for geometry, popup, tooltip in shapes:
            if geometry is None or geometry.is_empty:
                continue
            rounded = shapely.transform(geometry, lambda xy: np.round(xy, precision))
            properties = {"popup": popup, "tooltip": tooltip}
            features.append(
                {"type": "Feature", "geometry": shapely.geometry.mapping(rounded), "properties": properties}
            )
        self.data = {"type": "FeatureCollection", "features": features}
        self.hatch = {
            "stroke": False, "fill": True, "fillColor": f"url(#{pattern_id})", "fillOpacity": 1.0,
            "fillRule": "nonzero", "smoothFactor": 0,
        }  # fmt: skip
        self.outline = {"color": colour, "weight": 2, "opacity": 0.9, "fill": False, "smoothFactor": 0}
        if dash:
            self.outline["dashArray"] = dash
        self.pattern = hatch_pattern(colour, pattern_id, angle)
        self.hatch_class_js = js_literal(pattern_id)
        self.outline_class_js = js_literal(f"yizhan-{kind}-outline")
        self.pane_js = js_literal(GAPS_PANE)
        self.z_index = GAPS_Z_INDEX
        self.data_js = js_literal(self.data)
        self.hatch_js = js_literal(self.hatch)
        self.outline_js = js_literal(self.outline)

    def add_styles(self, figure: Any) -> None:
        """The shared popup ``CSS``, once per page."""
        figure.header.add_child(Verbatim(f"<style>{CSS}</style>"), name="yizhan_css")


class HourSelector(Macro):
    """A box with a ``<select>`` of hours (and of days, when there are several) that recolours the districts of
    ``groups`` by the day's share at the hour.

    Parameters
    ----------
    groups
        The choropleth's ``folium.FeatureGroup`` (its ``ShapesLayer`` built with ``keys``: the adcodes).
    label
        The hour select's label (plain text), e.g. ``时段``.
    options
        ``(value, text)`` per choice, ``""`` first for the whole day, then ``"0"``... ``"23"``.
    days
        One per day the selector offers, first shown first: ``{"label": plain text (e.g. ``工作日 2026-12-09``),
        "districts": adcode → {"colours": [24 #rrggbb], "shares": [24 texts]}, "captions": the legend caption for
        the whole day, then one per hour (plain text)}``. Two or more add a day ``<select>``.
    day_label
        The day select's label (plain text), e.g. ``日期``.
    hours
        24 hour labels for the popups, e.g. ``22:00`` (plain text).
    row_label
        The popup row's heading (plain text), e.g. ``时段覆盖率``.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, groups) {
            var config = {{ this.data_js }};
            var control = L.control({position: "topright"});
            control.onAdd = function () {
                var box = L.DomUtil.create("div", "yizhan-box yizhan-hours");
                box.innerHTML = config.html;
                L.DomEvent.disableClickPropagation(box);
                L.DomEvent.disableScrollPropagation(box);
                return box;
            };
            control.addTo(map);
            function each(visit) {
                groups.forEach(function (group) {
                    group.eachLayer(function (geo) {
                        if (!geo.eachLayer) { return; }
                        geo.eachLayer(function (layer) {
                            var p = layer.feature && layer.feature.properties;
                            if (p && p.key !== undefined) { visit(layer, p); }
                        });
                    });
                });
            }
            each(function (layer, p) { p.base = layer.options.fillColor; });
            var select = document.getElementById({{ this.select_js }});
            var daySelect = document.getElementById({{ this.day_select_js }});
            var caption = document.getElementById({{ this.caption_js }});
            function show() {
                var hour = select.value === "" ? -1 : +select.value;
                var day = config.days[daySelect ? +daySelect.value : 0];
                each(function (layer, p) {
                    var row = day.districts[p.key];
                    if (hour < 0 || !row) {
                        layer.setStyle({fillColor: hour < 0 ? p.base : config.none});
                        layer.setPopupContent(p.popup);
                        layer.setTooltipContent(p.tooltip);
                        return;
                    }
                    var line = "<tr><th>" + config.rowLabel + " " + day.label + " " + config.hours[hour] +
                        "</th><td>" + row.shares[hour] + "</td></tr>";
                    layer.setStyle({fillColor: row.colours[hour]});
                    layer.setPopupContent(p.popup.replace("</table></div>", line + "</table></div>"));
                    layer.setTooltipContent(p.tooltip + " · " + config.hours[hour] + " " + row.shares[hour]);
                });
                if (caption) { caption.textContent = day.captions[hour + 1]; }
            }
            select.addEventListener("change", show);
            if (daySelect) { daySelect.addEventListener("change", show); }
        })({{ this._parent.get_name() }}, [{{ this.names }}]);
        {% endmacro %}
        """
    )

    def __init__(
        self,
        groups: Sequence[Any],
        *,
        label: str,
        options: Sequence[tuple[str, str]],
        days: Sequence[Mapping[str, Any]],
        hours: Sequence[str],
        row_label: str,
        none_colour: str,
        day_label: str = "",
    ) -> None:
        super().__init__()
        self._name = "HourSelector"
        if len(hours) != 24 or not days:
            raise ValueError(f"{len(hours)} hour labels and {len(days)} days: need 24 and at least one")
        for day in days:
            if len(day["captions"]) != 25:
                raise ValueError(f"day {day['label']!r}: {len(day['captions'])} captions, need 25")
            for adcode, row in day["districts"].items():
                if len(row["colours"]) != 24 or len(row["shares"]) != 24:
                    raise ValueError(f"district {adcode!r}: need 24 colours and 24 shares")
        self.groups = list(groups)
        choices = "".join(f'<option value="{escape(value)}">{escape(words)}</option>' for value, words in options)
        html = f'<label for="{HOUR_SELECT_ID}">{escape(label)}</label><select id="{HOUR_SELECT_ID}">{choices}</select>'
        if len(days) > 1:
            day_choices = "".join(
                f'<option value="{i}">{escape(str(day["label"]))}</option>' for i, day in enumerate(days)
            )
            html = (
                f'<label for="{DAY_SELECT_ID}">{escape(day_label)}</label><select id="{DAY_SELECT_ID}">{day_choices}'
                f"</select> {html}"
            )
        self.data = {
            "html": html,
            "days": [
                {
                    "label": escape(str(day["label"])),
                    "districts": {
                        adcode: {"colours": list(row["colours"]), "shares": [escape(s) for s in row["shares"]]}
                        for adcode, row in day["districts"].items()
                    },
                    "captions": list(day["captions"]),  # set as textContent: plain text
                }
                for day in days
            ],
            "hours": [escape(h) for h in hours],
            "rowLabel": escape(row_label),
            "none": none_colour,
        }
        self.data_js = js_literal(self.data)
        self.select_js = js_literal(HOUR_SELECT_ID)
        self.day_select_js = js_literal(DAY_SELECT_ID)
        self.caption_js = js_literal(CAPTION_ID)

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # as Macro.render
        """Render as ``Macro.render`` does, once the groups' identifiers (``names``) are known."""
        self.names = ", ".join(group.get_name() for group in self.groups)
        super().render(**kwargs)

    def add_styles(self, figure: Any) -> None:
        """The shared box ``CSS`` and the selector's."""
        figure.header.add_child(Verbatim(f"<style>{CSS}</style>"), name="yizhan_css")
        figure.header.add_child(Verbatim(f"<style>{HOURS_CSS}</style>"), name="yizhan_hours_css")
