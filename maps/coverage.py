"""Coverage map: districts coloured by covered share, the covered area, service gaps and the stations.

Layers, bottom to top (each can be switched off in the layer control):

- 区县覆盖率 district coverage: a choropleth of ``covered_share`` on a fixed 0–100 % scale (legend at the
  bottom right), with a popup of the district's table row and a tooltip with its share;
- 覆盖范围 covered (≤ radius): one circle of ``radius_m`` per station, light and not clickable;
- 服务空白 gaps: the gap polygons in red, with rank, district, area, demand and the nearest station;
- one layer per station type (户外劳动者服务站 outdoor workers, 司机之家 driver homes, 母婴室 nursing rooms),
  circle markers coloured by type, clustered when a layer holds more than ``CLUSTER_ABOVE`` stations.

Every name, adcode and title is HTML-escaped and reaches the page only inside JSON strings (see
``maps.elements``). Coordinates are WGS84, as are OpenStreetMap's tiles; Amap or Tencent tiles are GCJ-02,
so overlays drawn on them look shifted by a few hundred metres.

>>> from shapely.geometry import box
>>> from geo.districts import Districts
>>> districts = Districts(["330102"], ["上城区"], [box(120.1, 30.2, 120.2, 30.3)], {"source": "test boxes"})
>>> rows = [{"adcode": "330102", "name": "上城区", "area_km2": 103.9, "covered_share": 0.42,
...          "uncovered_km2": 60.3, "median_distance_m": 1250.0, "p90_distance_m": 3100.0,
...          "stations_outdoor_worker": 1, "stations_driver_home": 0, "stations_nursing_room": 0}]
>>> stations = [{"id": "S1", "name": "<b>驿站</b>", "types": ["outdoor_worker"], "lon": 120.15, "lat": 30.25}]
>>> page = coverage_html(districts, rows, [], stations, radius_m=1000, title="上城区 coverage")
>>> "covered share within 1,000 m" in page, "<b>驿站" in page, "<script src=" in page
(True, False, False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import shapely

from geo.districts import Districts
from geo.gaps import Gap
from maps.elements import HtmlControl, Pane, PointsLayer, ShapesLayer, StyleSheet, escape, html_table
from maps.page import base_map, marker_cluster, self_contained
from maps.styles import (
    COVERAGE_STOPS,
    COVERED_COLOUR,
    GAP_COLOUR,
    NO_DATA_COLOUR,
    OTHER_TYPE,
    STATION_TYPES,
    coverage_colour,
    type_colour,
    type_label,
)

CLUSTER_ABOVE = 300
"""A station layer with more stations than this is drawn as clusters (Leaflet.markercluster)."""

SYNTHETIC_ID_PREFIX = "HZ-SYN-"
"""Ids of the synthetic sample stations (``data/``); records marked ``source="synthetic"`` count too."""

DISTRICTS_LAYER = "区县覆盖率 district coverage"
GAPS_LAYER = "服务空白 gaps"
NO_FIGURES = "—"
COVERED_PANE = "yizhan-covered"
COVERED_OPACITY = 0.4
GAP_OPACITY = 0.45
STATION_POPUP = html_table("{0}", "{1}", [("类型 types", "{2}")])
"""Popup of a station: name, id, types (``PointsLayer`` fills in each station's escaped texts)."""


def covered_layer_name(radius_m: float) -> str:
    """Name of the covered-area layer, e.g. ``覆盖范围 covered (≤ 1,000 m)``."""
    return f"覆盖范围 covered (≤ {radius_m:,.0f} m)"


def legend_caption(radius_m: float) -> str:
    """Caption of the colour scale, e.g. ``覆盖率 covered share within 1,000 m``."""
    return f"覆盖率 covered share within {radius_m:,.0f} m"


def coverage_map(
    districts: Districts,
    rows: Sequence[Mapping[str, Any]],
    gaps: Sequence[Gap],
    stations: Sequence[Mapping[str, Any]],
    *,
    radius_m: float,
    gap_station_names: Sequence[str | None] | None = None,
    adcode: str | None = None,
    title: str | None = None,
    tiles: str = "OpenStreetMap",
    attribution: str | None = None,
) -> folium.Map:
    """The coverage map of ``districts`` as a ``folium.Map`` (its CDN links work in a notebook).

    Parameters
    ----------
    districts
        Boundaries (WGS84); ``districts.metadata["source"]`` is credited in a box at the bottom left.
    rows
        The per-district table (``GET /coverage``): ``adcode``, ``name``, ``area_km2``, ``covered_share``
        (0..1), ``uncovered_km2``, ``median_distance_m``, ``p90_distance_m``, ``stations_<type>`` and
        optionally ``demand``, ``demand_covered_share``. Districts without a row are grey.
    gaps
        Gaps from ``geo.gaps.find_gaps``.
    stations
        Plain dicts with ``id``, ``name``, ``types`` (list of str), ``lon``, ``lat`` (WGS84 degrees).
    radius_m
        The service distance the figures were computed for, metres: circle radius and legend caption.
    gap_station_names
        Name of each gap's nearest station (``None`` where there is none), shown in the gap popups.
    adcode
        Zoom to this district (fit its bounds) and draw its border bold; otherwise fit all districts.
    title
        Shown in a box at the top right and as the page title.
    tiles, attribution
        A folium/xyzservices tile name, or a URL template (``https://.../{z}/{x}/{y}.png``), which then
        needs ``attribution`` (plain text, escaped).

    Returns
    -------
    folium.Map
        Render it offline with ``maps.page.self_contained`` (or call ``coverage_html``).

    Raises
    ------
    ValueError
        For a radius that is not a positive number, an unknown ``adcode``, a row whose adcode is not a
        district, ``gap_station_names`` of the wrong length, a station without usable coordinates, or a
        tile URL without attribution.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> from geo.districts import Districts
    >>> districts = Districts(["1", "2"], ["West", "East"], [box(120, 30, 120.1, 30.1), box(120.1, 30, 120.2, 30.1)])
    >>> m = coverage_map(districts, [], [], [], radius_m=500, adcode="2")
    >>> page = m.get_root().render()
    >>> "[[30.0, 120.1], [30.1, 120.2]]" in page  # fitBounds of district "2"
    True
    """
    radius_m = _checked_radius(radius_m)
    if gap_station_names is not None and len(gap_station_names) != len(gaps):
        raise ValueError(f"gap_station_names has {len(gap_station_names)} names for {len(gaps)} gaps")
    by_adcode = _rows_by_adcode(districts, rows)
    focus = None if adcode is None else _position(districts, adcode)
    points = [_station(station, number) for number, station in enumerate(stations, start=1)]

    bounds = _bounds(districts, focus, points)
    center = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else [0.0, 0.0]
    m = base_map(location=center, zoom_start=11, tiles=None, prefer_canvas=True, control_scale=True)
    m.get_root().title = escape(title or f"驿站 Yizhan — {legend_caption(radius_m)}")
    _tile_layer(tiles, attribution).add_to(m)

    district_group = folium.FeatureGroup(name=escape(DISTRICTS_LAYER)).add_to(m)
    ShapesLayer(_district_shapes(districts, by_adcode, focus)).add_to(district_group)

    # Opaque circles in a translucent pane: the covered area reads as one union, not as stacked discs.
    # Under the overlays (z 390 < 400), so districts, gaps and stations stay clickable on their canvas.
    Pane(COVERED_PANE, z_index=390, opacity=COVERED_OPACITY).add_to(m)
    covered_group = folium.FeatureGroup(name=escape(covered_layer_name(radius_m))).add_to(m)
    circle_style = {"radius": radius_m, "stroke": False, "fillColor": COVERED_COLOUR, "fillOpacity": 1.0}
    circles = [(lat, lon) for _, _, _, lon, lat in points]
    style = {**circle_style, "interactive": False, "pane": COVERED_PANE}
    PointsLayer(circles, style, kind="circle").add_to(covered_group)

    gap_group = folium.FeatureGroup(name=escape(GAPS_LAYER)).add_to(m)
    ShapesLayer(_gap_shapes(gaps, gap_station_names)).add_to(gap_group)

    kinds, cluster_css = _station_layers(points), []
    for kind, members in kinds.items():
        label, colour = STATION_TYPES.get(kind, OTHER_TYPE)
        if len(members) > CLUSTER_ABOVE:
            group = marker_cluster(
                escape(label),
                disable_clustering_at_zoom=15,
                chunked_loading=True,
                icon_create_function=_cluster_icon(f"yizhan-cluster-{len(cluster_css)}"),
            )
            cluster_css.append(_cluster_css(f"yizhan-cluster-{len(cluster_css)}", colour))
        else:
            group = folium.FeatureGroup(name=escape(label))
        group.add_to(m)
        style = {"radius": 6, "color": "#ffffff", "weight": 1.5, "fillColor": colour, "fillOpacity": 0.95}
        locations = [(lat, lon) for _, _, _, lon, lat in members]
        fields = [_station_fields(point) for point in members]
        PointsLayer(locations, style, fields=fields, popup=STATION_POPUP, tooltip="{0}").add_to(group)

    if cluster_css:
        StyleSheet("\n".join(cluster_css)).add_to(m)
    if title:
        HtmlControl(f"<h1>{escape(title)}</h1>", "topright").add_to(m)
    no_data = any(a not in by_adcode for a in districts.adcodes)
    HtmlControl(_legend_html(radius_m, list(kinds), no_data), "bottomright").add_to(m)
    credits = _credits_html(districts.metadata.get("source"), _all_synthetic(stations))
    if credits:
        HtmlControl(credits, "bottomleft").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
    return m


def coverage_html(
    districts: Districts,
    rows: Sequence[Mapping[str, Any]],
    gaps: Sequence[Gap],
    stations: Sequence[Mapping[str, Any]],
    *,
    radius_m: float,
    gap_station_names: Sequence[str | None] | None = None,
    adcode: str | None = None,
    title: str | None = None,
    tiles: str = "OpenStreetMap",
    attribution: str | None = None,
) -> str:
    """The coverage map as one self-contained HTML page (Leaflet inlined; only the tiles are fetched).

    Takes the arguments of ``coverage_map``. An empty map is about 185 kB, nearly all of it Leaflet; the
    13 Hangzhou sample districts with ~1,600 stations and 50 gaps make 1–2 MB, mostly the gap polygons
    (they follow the grid cells) and the district boundaries (280 kB).

    >>> from shapely.geometry import box
    >>> from geo.districts import Districts
    >>> page = coverage_html(Districts(["1"], ["A"], [box(120, 30, 120.1, 30.1)]), [], [], [], radius_m=1000)
    >>> page.count("<script src="), page.count("https://cdn")
    (0, 0)
    """
    return self_contained(
        coverage_map(
            districts,
            rows,
            gaps,
            stations,
            radius_m=radius_m,
            gap_station_names=gap_station_names,
            adcode=adcode,
            title=title,
            tiles=tiles,
            attribution=attribution,
        )
    )


# -- inputs ---------------------------------------------------------------------------------------------------


def _checked_radius(radius_m: float) -> float:
    try:
        value = float(radius_m)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"radius_m {radius_m!r} must be a positive number of metres (e.g. 1000)")
    return value


def _position(districts: Districts, adcode: str) -> int:
    try:
        return districts.position(str(adcode))
    except KeyError:
        known = ", ".join(districts.adcodes[:20]) + (" …" if len(districts) > 20 else "")
        raise ValueError(f"adcode {adcode!r} is not one of the districts ({known})") from None


def _rows_by_adcode(districts: Districts, rows: Sequence[Mapping[str, Any]]) -> dict[str, Mapping[str, Any]]:
    known = set(districts.adcodes)
    by_adcode: dict[str, Mapping[str, Any]] = {}
    for number, row in enumerate(rows, start=1):
        adcode = str(row.get("adcode"))
        if adcode not in known:
            raise ValueError(f"row {number}: adcode {adcode!r} is not one of the districts")
        if adcode in by_adcode:
            raise ValueError(f"row {number}: a second row for adcode {adcode!r}")
        by_adcode[adcode] = row
    return by_adcode


_Point = tuple[str, str, list[str], float, float]
"""A checked station: id, name, types, lon, lat."""


def _station(station: Mapping[str, Any], number: int) -> _Point:
    ident = str(station.get("id", f"#{number}"))
    try:
        lon, lat = float(station["lon"]), float(station["lat"])
    except (KeyError, TypeError, ValueError):
        raise ValueError(f"station {ident!r}: 'lon' and 'lat' must be numbers (WGS84 degrees)") from None
    if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise ValueError(f"station {ident!r}: lon {lon!r}, lat {lat!r} are not WGS84 degrees")
    types = station.get("types") or []
    kinds = [part for part in types.split(";") if part] if isinstance(types, str) else [str(t) for t in types]
    return ident, str(station.get("name") or ""), kinds, lon, lat


def _bounds(districts: Districts, focus: int | None, points: list[_Point]) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the focused district, else all districts, else the stations."""
    geometries = districts.geometries if focus is None else [districts.geometries[focus]]
    box = shapely.total_bounds(geometries) if geometries else [math.nan] * 4
    if not all(math.isfinite(value) for value in box) and points:
        lons, lats = [p[3] for p in points], [p[4] for p in points]
        box = [min(lons), min(lats), max(lons), max(lats)]
    if not all(math.isfinite(value) for value in box):
        return None
    west, south, east, north = (float(value) for value in box)
    return [[south, west], [north, east]]


def _tile_layer(tiles: str, attribution: str | None) -> folium.TileLayer:
    if ("{" in tiles or "://" in tiles) and not attribution:
        raise ValueError(
            f"tiles {tiles!r} is a URL template: pass attribution= naming its provider and licence "
            "(e.g. '© OpenStreetMap contributors')"
        )
    attr = None if attribution is None else escape(attribution)
    try:
        return folium.TileLayer(tiles=tiles, attr=attr, control=False)
    except ValueError as error:  # folium: "Custom tiles must have an attribution."
        raise ValueError(
            f"tiles {tiles!r} is neither a tile provider name (e.g. 'OpenStreetMap') nor a URL template "
            "with {z}/{x}/{y}; a URL template also needs attribution="
        ) from error


def _all_synthetic(stations: Sequence[Mapping[str, Any]]) -> bool:
    return bool(stations) and all(
        str(s.get("id", "")).startswith(SYNTHETIC_ID_PREFIX) or s.get("source") == "synthetic" for s in stations
    )


# -- figures as text ------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _text(value: Any, form: str) -> str:
    """``value`` formatted with ``form`` (e.g. ``"{:,.0f} m"``); ``—`` when missing or not finite."""
    number = _number(value)
    if number is not None:
        return form.format(number)
    return NO_FIGURES if value is None or isinstance(value, int | float) else str(value)


def _km2(value: Any) -> str:
    number = _number(value)
    if number is None:
        return _text(value, "")
    return f"{number:,.0f} km²" if number >= 100 else f"{number:.1f} km²" if number >= 1 else f"{number:.2f} km²"


def _share(value: Any) -> str:
    number = _number(value)
    return _text(value, "") if number is None else f"{number * 100:.1f}%"


def _metres(value: Any) -> str:
    return _text(value, "{:,.0f} m")


# -- layers ---------------------------------------------------------------------------------------------------


def _district_popup(name: str, adcode: str, row: Mapping[str, Any] | None) -> str:
    if row is None:
        return html_table(name, adcode, [("覆盖率 covered", "无数据 no figures")])
    lines = [
        ("面积 area", _km2(row.get("area_km2"))),
        ("覆盖率 covered", _share(row.get("covered_share"))),
        ("未覆盖 uncovered", _km2(row.get("uncovered_km2"))),
        ("距离中位数 median distance", _metres(row.get("median_distance_m"))),
        ("距离 P90 distance", _metres(row.get("p90_distance_m"))),
    ]
    if "demand" in row or "demand_covered_share" in row:
        lines.append(("需求 demand", _text(row.get("demand"), "{:,.0f}")))
        lines.append(("需求覆盖率 demand covered", _share(row.get("demand_covered_share"))))
    for kind, (label, _) in STATION_TYPES.items():
        lines.append((label, _text(row.get(f"stations_{kind}"), "{:,.0f}")))
    return html_table(name, adcode, lines)


def _district_shapes(
    districts: Districts, by_adcode: Mapping[str, Mapping[str, Any]], focus: int | None
) -> list[tuple[shapely.Geometry, dict[str, Any], str, str]]:
    shapes = []
    order = [i for i in range(len(districts)) if i != focus] + ([] if focus is None else [focus])  # focus on top
    for i in order:
        adcode, name = districts.adcodes[i], districts.names[i]
        row = by_adcode.get(adcode)
        share = None if row is None else _number(row.get("covered_share"))
        style: dict[str, Any] = {"color": "#4d4d4d", "weight": 1, "fillColor": coverage_colour(share)}
        style["fillOpacity"] = 0.3 if focus is not None and i != focus else 0.5
        if i == focus:
            style.update(color="#000000", weight=3)
        tooltip = f"{escape(name)} · 覆盖 {escape(_share(share) if row is not None else '无数据 no figures')}"
        shapes.append((districts.geometries[i], style, _district_popup(name, adcode, row), tooltip))
    return shapes


def _gap_shapes(
    gaps: Sequence[Gap], names: Sequence[str | None] | None
) -> list[tuple[shapely.Geometry, dict[str, Any], str, str]]:
    # Gap polygons follow grid cells: Leaflet's default simplification (smoothFactor 1 px) drops parts one
    # cell wide (thinner than a pixel at city zoom), and its default even-odd fill leaves holes where parts
    # touch or overlap. No outline: where a gap is a stack of row strips, their shared edges would show.
    style = {
        "stroke": False,
        "fillColor": GAP_COLOUR,
        "fillOpacity": GAP_OPACITY,
        "fillRule": "nonzero",
        "smoothFactor": 0,
    }
    shapes = []
    for number, gap in enumerate(gaps):
        station = names[number] if names is not None else None
        has_station = gap.nearest_station >= 0 and math.isfinite(gap.nearest_station_m)
        lines = [("面积 area", _km2(gap.area_km2))]
        if gap.demand is not None:
            lines.append(("需求 demand", _text(gap.demand, "{:,.0f}")))
        lines.append(("最近站点 nearest station", (station or NO_FIGURES) if has_station else "无站点 none"))
        lines.append(("距离 distance", _metres(gap.nearest_station_m) if has_station else NO_FIGURES))
        popup = html_table(f"服务空白 gap #{gap.rank} · {gap.district}", gap.adcode, lines)
        tooltip = escape(f"服务空白 gap #{gap.rank} · {_km2(gap.area_km2)}")
        shapes.append((gap.polygon, style, popup, tooltip))
    return shapes


def _station_layers(points: list[_Point]) -> dict[str, list[_Point]]:
    """Stations of each type, known types first in their usual order; a station serves in each of its types'
    layers, so switching a layer off hides exactly the stations of that type."""
    layers: dict[str, list[_Point]] = {kind: [] for kind in STATION_TYPES}
    other = "other"
    for point in points:
        kinds = {kind if kind in STATION_TYPES else other for kind in point[2]} or {other}
        for kind in kinds:
            layers.setdefault(kind, []).append(point)
    return {kind: members for kind, members in layers.items() if members}


def _station_fields(point: _Point) -> list[str]:
    ident, name, kinds, _, _ = point
    kinds_text = ", ".join(type_label(kind) if kind in STATION_TYPES else kind for kind in kinds) or NO_FIGURES
    return [name or ident, ident, kinds_text]


def _cluster_icon(css_class: str) -> str:
    """Leaflet.markercluster icon function: the default bubble, in the class's (type's) colours."""
    return (
        "function (cluster) { return L.divIcon({html: '<div><span>' + cluster.getChildCount() + '</span></div>', "
        f"className: 'marker-cluster {css_class}', iconSize: L.point(40, 40)}}); }}"
    )


def _cluster_css(css_class: str, colour: str) -> str:
    """Outer ring at 35 % and inner disc at 85 % of the type colour (``#rrggbbaa``)."""
    ring, disc = f"{colour}59", f"{colour}d9"
    return f".{css_class} {{ background-color: {ring}; }} .{css_class} div {{ background-color: {disc}; color: #fff; }}"


def _legend_html(radius_m: float, kinds: list[str], no_data: bool) -> str:
    stops = ", ".join(f"{colour} {100 * i / (len(COVERAGE_STOPS) - 1):.0f}%" for i, colour in enumerate(COVERAGE_STOPS))
    ticks = "".join(f"<span>{p}%</span>" for p in (0, 25, 50, 75, 100))
    parts = [
        f"<div><b>{escape(legend_caption(radius_m))}</b></div>",
        f'<div class="yizhan-scale" style="background: linear-gradient(to right, {stops})"></div>',
        f'<div class="yizhan-ticks">{ticks}</div>',
    ]

    def swatch(colour: str, label: str, extra: str = "", opacity: float = 1.0) -> str:
        style = f"background: {colour}; opacity: {opacity}"
        return f'<div><span class="yizhan-swatch{extra}" style="{style}"></span>{escape(label)}</div>'

    if no_data:
        parts.append(swatch(NO_DATA_COLOUR, "无数据 no figures"))
    parts.append(swatch(COVERED_COLOUR, covered_layer_name(radius_m), opacity=COVERED_OPACITY))
    parts.append(swatch(GAP_COLOUR, GAPS_LAYER, opacity=GAP_OPACITY))
    parts.extend(swatch(type_colour(kind), type_label(kind), " yizhan-dot") for kind in kinds)
    return "".join(parts)


def _credits_html(source: Any, synthetic: bool) -> str:
    lines = []
    if source:
        lines.append(f"区县边界 District boundaries: {escape(source)}")
    if synthetic:
        lines.append("站点为合成示例数据 Stations are synthetic sample data, not real places.")
    return "".join(f'<div class="yizhan-muted">{line}</div>' for line in lines)
