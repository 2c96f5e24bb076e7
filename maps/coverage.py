"""Coverage map: districts coloured by covered share, the covered area, service gaps and the stations.

Layers, bottom to top (each can be switched off in the layer control):

- 区县覆盖率 district coverage: a choropleth of ``covered_share`` on a fixed 0–100 % scale (legend at the
  bottom right), with a popup of the district's table row and a tooltip with its share;
- 覆盖范围 covered (≤ radius): one circle of ``radius_m`` per station, light and not clickable;
- 服务空白 gaps: the gap polygons in red, with rank, district, area, demand and the nearest station;
- one layer per station type (户外劳动者服务站 outdoor workers, 司机之家 driver homes, 母婴室 nursing rooms),
  circle markers coloured by type, clustered when a layer holds more than ``CLUSTER_ABOVE`` stations.

Proposed sites (``geo.siting`` via the planner), when given, add:

- 新增站点 proposed sites: badges numbered in rank order (rank 1 on top), with rank, name, district, gain
  and coordinates in the popup;
- 新增覆盖 proposed coverage (≤ radius): one circle of ``radius_m`` per proposal, in ``PROPOSED_COLOUR``;
- with ``after_rows`` (the table after adding them), a before/after choice of the choropleth: two base
  layers 覆盖率（现状）before and 覆盖率（新增后）after (shown first), whose popups state both shares.

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
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
import shapely

from geo.districts import Districts
from geo.gaps import Gap
from maps.elements import (
    HtmlControl,
    KeepAtBack,
    LabelMarkers,
    Pane,
    PointsLayer,
    ShapesLayer,
    StyleSheet,
    escape,
    html_table,
)
from maps.page import base_map, marker_cluster, self_contained, tile_layer
from maps.styles import (
    COVERAGE_STOPS,
    COVERED_COLOUR,
    GAP_COLOUR,
    NO_DATA_COLOUR,
    OTHER_TYPE,
    PROPOSED_COLOUR,
    PROPOSED_OUTLINE,
    PROPOSED_TEXT_COLOUR,
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
BEFORE_LAYER = "覆盖率（现状）before"
AFTER_LAYER = "覆盖率（新增后）after"
PROPOSALS_LAYER = "新增站点 proposed sites"
PROPOSED_SITE = "新增站点 proposed site"
"""Popup title of a proposal without a name."""
GAPS_LAYER = "服务空白 gaps"
NO_FIGURES = "—"
COVERED_PANE = "yizhan-covered"
COVERED_OPACITY = 0.4
PROPOSED_PANE = "yizhan-proposed"
PROPOSED_OPACITY = 0.45
GAP_OPACITY = 0.45
STATION_POPUP = html_table("{0}", "{1}", [("类型 types", "{2}")])
"""Popup of a station: name, id, types (``PointsLayer`` fills in each station's escaped texts)."""
PROPOSAL_POPUP = html_table(
    "{0}",
    "#{1}",
    [("排名 rank", "{1}"), ("区县 district", "{2}"), ("新增覆盖 gain", "{3}"), ("经纬度 lon, lat", "{4}")],
)
"""Popup of a proposal: name, rank, district, gain with its unit, coordinates."""
PROPOSAL_TOOLTIP = "#{1} {0} · {3}"


def covered_layer_name(radius_m: float) -> str:
    """Name of the covered-area layer, e.g. ``覆盖范围 covered (≤ 1,000 m)``."""
    return f"覆盖范围 covered (≤ {radius_m:,.0f} m)"


def proposed_layer_name(radius_m: float) -> str:
    """Name of the proposed-coverage layer, e.g. ``新增覆盖 proposed coverage (≤ 1,000 m)``."""
    return f"新增覆盖 proposed coverage (≤ {radius_m:,.0f} m)"


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
    proposals: Sequence[Mapping[str, Any]] = (),
    gain_unit: str = "demand",
    after_rows: Sequence[Mapping[str, Any]] | None = None,
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
    proposals
        Proposed new sites (e.g. a siting run's ranked sites): ``rank`` (int ≥ 1, each once), ``lon``, ``lat``
        (WGS84 degrees), ``district`` and ``name`` (str or ``None``), ``gain`` (the demand or area the site
        adds). Drawn as numbered badges in rank order and as circles of ``radius_m``; none: no such layers.
    gain_unit
        Unit of ``gain`` in the popups, e.g. ``"demand"`` or ``"km²"``.
    after_rows
        The per-district table after adding the proposals (keys as ``rows``). Given, the choropleth becomes
        a choice of two base layers, before (``rows``) and after (``after_rows``, shown first), and the
        after layer's popups state both covered shares.

    Returns
    -------
    folium.Map
        Render it offline with ``maps.page.self_contained`` (or call ``coverage_html``).

    Raises
    ------
    ValueError
        For a radius that is not a positive number, an unknown ``adcode``, a row (or after row) whose adcode
        is not a district, ``gap_station_names`` of the wrong length, a station or proposal without usable
        coordinates, a proposal rank that is not a positive integer or repeats, or a tile URL without
        attribution.

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
    after = None if after_rows is None else _rows_by_adcode(districts, after_rows, "after_rows row")
    focus = None if adcode is None else _position(districts, adcode)
    points = [_station(station, number) for number, station in enumerate(stations, start=1)]
    sites = _proposals(proposals)

    bounds = _bounds(districts, focus, points + [("", "", [], site.lon, site.lat) for site in sites])
    center = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else [0.0, 0.0]
    m = base_map(location=center, zoom_start=11, tiles=None, prefer_canvas=True, control_scale=True)
    m.get_root().title = escape(title or f"驿站 Yizhan — {legend_caption(radius_m)}")
    tile_layer(tiles, attribution).add_to(m)

    if after is None:
        district_group = folium.FeatureGroup(name=escape(DISTRICTS_LAYER)).add_to(m)
        ShapesLayer(_district_shapes(districts, by_adcode, focus)).add_to(district_group)
        choropleths = []
    else:  # a radio choice in the layer control: base layers, the after one shown first
        before_group = folium.FeatureGroup(name=escape(BEFORE_LAYER), overlay=False, show=False).add_to(m)
        ShapesLayer(_district_shapes(districts, by_adcode, focus)).add_to(before_group)
        after_group = folium.FeatureGroup(name=escape(AFTER_LAYER), overlay=False).add_to(m)
        ShapesLayer(_district_shapes(districts, after, focus, before=by_adcode)).add_to(after_group)
        choropleths = [before_group, after_group]

    # Opaque circles in a translucent pane: the covered area reads as one union, not as stacked discs.
    # Under the overlays (z 390 < 400), so districts, gaps and stations stay clickable on their canvas.
    Pane(COVERED_PANE, z_index=390, opacity=COVERED_OPACITY).add_to(m)
    covered_group = folium.FeatureGroup(name=escape(covered_layer_name(radius_m))).add_to(m)
    circle_style = {"radius": radius_m, "stroke": False, "fillColor": COVERED_COLOUR, "fillOpacity": 1.0}
    circles = [(lat, lon) for _, _, _, lon, lat in points]
    style = {**circle_style, "interactive": False, "pane": COVERED_PANE}
    PointsLayer(circles, style, kind="circle").add_to(covered_group)

    if sites:  # above the existing coverage, in a pane of its own so it reads as one area too
        Pane(PROPOSED_PANE, z_index=391, opacity=PROPOSED_OPACITY).add_to(m)
        proposed_group = folium.FeatureGroup(name=escape(proposed_layer_name(radius_m))).add_to(m)
        style = {
            "radius": radius_m,
            "color": PROPOSED_OUTLINE,
            "weight": 2,
            "dashArray": "6 4",
            "fillColor": PROPOSED_COLOUR,
            "fillOpacity": 1.0,
            "interactive": False,
            "pane": PROPOSED_PANE,
        }
        PointsLayer([(site.lat, site.lon) for site in sites], style, kind="circle").add_to(proposed_group)

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

    if sites:
        sites_group = folium.FeatureGroup(name=escape(PROPOSALS_LAYER)).add_to(m)
        LabelMarkers(
            [(site.lat, site.lon) for site in sites],
            [str(site.rank) for site in sites],
            colour=PROPOSED_COLOUR,
            text_colour=PROPOSED_TEXT_COLOUR,
            fields=[_proposal_fields(site, gain_unit) for site in sites],
            popup=PROPOSAL_POPUP,
            tooltip=PROPOSAL_TOOLTIP,
        ).add_to(sites_group)
    if choropleths:
        KeepAtBack(choropleths).add_to(m)
    if cluster_css:
        StyleSheet("\n".join(cluster_css)).add_to(m)
    if title:
        HtmlControl(f"<h1>{escape(title)}</h1>", "topright").add_to(m)
    no_data = any(a not in by_adcode or (after is not None and a not in after) for a in districts.adcodes)
    HtmlControl(_legend_html(radius_m, list(kinds), no_data, proposals=bool(sites)), "bottomright").add_to(m)
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
    proposals: Sequence[Mapping[str, Any]] = (),
    gain_unit: str = "demand",
    after_rows: Sequence[Mapping[str, Any]] | None = None,
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
            proposals=proposals,
            gain_unit=gain_unit,
            after_rows=after_rows,
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


def _rows_by_adcode(
    districts: Districts, rows: Sequence[Mapping[str, Any]], what: str = "row"
) -> dict[str, Mapping[str, Any]]:
    known = set(districts.adcodes)
    by_adcode: dict[str, Mapping[str, Any]] = {}
    for number, row in enumerate(rows, start=1):
        adcode = str(row.get("adcode"))
        if adcode not in known:
            raise ValueError(f"{what} {number}: adcode {adcode!r} is not one of the districts")
        if adcode in by_adcode:
            raise ValueError(f"{what} {number}: a second row for adcode {adcode!r}")
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


@dataclass(frozen=True)
class _Proposal:
    rank: int
    lon: float
    lat: float
    district: str | None
    name: str | None
    gain: Any


def _proposals(proposals: Sequence[Mapping[str, Any]]) -> list[_Proposal]:
    """Checked proposals in rank order."""
    sites: dict[int, _Proposal] = {}
    for number, proposal in enumerate(proposals, start=1):
        rank = proposal.get("rank")
        if isinstance(rank, bool) or not isinstance(rank, numbers.Integral) or rank < 1:
            raise ValueError(f"proposal {number}: rank {rank!r} must be a positive integer (1 = best)")
        rank = int(rank)
        if rank in sites:
            raise ValueError(f"proposal {number}: a second proposal of rank {rank}")
        try:
            lon, lat = float(proposal["lon"]), float(proposal["lat"])
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"proposal rank {rank}: 'lon' and 'lat' must be numbers (WGS84 degrees)") from None
        if not (math.isfinite(lon) and math.isfinite(lat) and -180 <= lon <= 180 and -90 <= lat <= 90):
            raise ValueError(f"proposal rank {rank}: lon {lon!r}, lat {lat!r} are not WGS84 degrees")
        district, name = proposal.get("district"), proposal.get("name")
        sites[rank] = _Proposal(
            rank,
            lon,
            lat,
            None if district is None else str(district),
            None if name is None else str(name),
            proposal.get("gain"),
        )
    return [sites[rank] for rank in sorted(sites)]


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


def _gain(value: Any, unit: str) -> str:
    """A gain with its sign and unit: ``+1,234 demand``, ``+12.5 demand``, ``+0.35 km²``."""
    number = _number(value)
    if number is None:
        return _text(value, "")
    size = abs(number)
    digits = 0 if size >= 100 or number.is_integer() else 1 if size >= 1 else 2
    return f"{number:+,.{digits}f} {unit}".rstrip()


def _change(before: Any, after: Any) -> str:
    """Change of a share in percentage points, e.g. ``+12.3 pp``."""
    old, new = _number(before), _number(after)
    return NO_FIGURES if old is None or new is None else f"{(new - old) * 100:+.1f} pp"


# -- layers ---------------------------------------------------------------------------------------------------


def _district_popup(
    name: str,
    adcode: str,
    row: Mapping[str, Any] | None,
    *,
    compare: bool = False,
    before: Mapping[str, Any] | None = None,
) -> str:
    """The district's figures; ``compare``: the after layer's popup, covered shares ``before`` (its row before
    the proposals, ``None`` for none) and after (``row``) and their change, then the figures after."""
    old: Mapping[str, Any] = before or {}
    if row is None and not old:
        return html_table(name, adcode, [("覆盖率 covered", "无数据 no figures")])
    new: Mapping[str, Any] = row or {}
    if compare:
        no_row = "无数据 no figures"
        lines = [
            (BEFORE_LAYER, _share(old.get("covered_share")) if old else no_row),
            (AFTER_LAYER, _share(new.get("covered_share")) if row is not None else no_row),
            ("变化 change", _change(old.get("covered_share"), new.get("covered_share"))),
            ("面积 area", _km2(new.get("area_km2", old.get("area_km2")))),
        ]
    else:
        lines = [("面积 area", _km2(new.get("area_km2"))), ("覆盖率 covered", _share(new.get("covered_share")))]
    lines += [
        ("未覆盖 uncovered", _km2(new.get("uncovered_km2"))),
        ("距离中位数 median distance", _metres(new.get("median_distance_m"))),
        ("距离 P90 distance", _metres(new.get("p90_distance_m"))),
    ]
    if "demand" in new or "demand_covered_share" in new:
        lines.append(("需求 demand", _text(new.get("demand"), "{:,.0f}")))
        if compare and "demand_covered_share" in old:
            lines.append(("需求覆盖率（现状）demand covered before", _share(old.get("demand_covered_share"))))
            lines.append(("需求覆盖率（新增后）demand covered after", _share(new.get("demand_covered_share"))))
        else:
            lines.append(("需求覆盖率 demand covered", _share(new.get("demand_covered_share"))))
    for kind, (label, _) in STATION_TYPES.items():
        lines.append((label, _text(new.get(f"stations_{kind}"), "{:,.0f}")))
    return html_table(name, adcode, lines)


def _district_shapes(
    districts: Districts,
    by_adcode: Mapping[str, Mapping[str, Any]],
    focus: int | None,
    *,
    before: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[tuple[shapely.Geometry, dict[str, Any], str, str]]:
    """Choropleth shapes of ``by_adcode``; with ``before`` those of the after layer (popups compare)."""
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
        figure = _share(share) if row is not None else "无数据 no figures"
        if before is None:
            popup = _district_popup(name, adcode, row)
        else:
            old = before.get(adcode)
            popup = _district_popup(name, adcode, row, compare=True, before=old)
            if old is not None and row is not None:
                figure = f"{_share(old.get('covered_share'))} → {figure}"
        tooltip = f"{escape(name)} · 覆盖 {escape(figure)}"
        shapes.append((districts.geometries[i], style, popup, tooltip))
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


def _proposal_fields(site: _Proposal, gain_unit: str) -> list[str]:
    """Texts of a proposal's popup and tooltip: name, rank, district, gain, coordinates."""
    return [
        site.name or PROPOSED_SITE,
        str(site.rank),
        site.district or NO_FIGURES,
        _gain(site.gain, gain_unit),
        f"{site.lon:.5f}, {site.lat:.5f}",
    ]


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


def _legend_html(radius_m: float, kinds: list[str], no_data: bool, *, proposals: bool = False) -> str:
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
    if proposals:
        parts.append(swatch(PROPOSED_COLOUR, proposed_layer_name(radius_m), opacity=PROPOSED_OPACITY))
    parts.append(swatch(GAP_COLOUR, GAPS_LAYER, opacity=GAP_OPACITY))
    parts.extend(swatch(type_colour(kind), type_label(kind), " yizhan-dot") for kind in kinds)
    if proposals:
        parts.append(swatch(PROPOSED_COLOUR, PROPOSALS_LAYER, " yizhan-dot"))
    return "".join(parts)


def _credits_html(source: Any, synthetic: bool) -> str:
    lines = []
    if source:
        lines.append(f"区县边界 District boundaries: {escape(source)}")
    if synthetic:
        lines.append("站点为合成示例数据 Stations are synthetic sample data, not real places.")
    return "".join(f'<div class="yizhan-muted">{line}</div>' for line in lines)
