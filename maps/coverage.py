"""Coverage map: districts coloured by covered share, the covered area, service gaps and the stations.

Layers, bottom to top (each can be switched off in the layer control):

- 区县覆盖率 district coverage: a choropleth of ``covered_share`` on a fixed 0–100 % scale (legend at the
  bottom right), with a popup of the district's figures and a tooltip with its share;
- 覆盖范围 covered (≤ radius): one circle of ``radius_m`` per station, light and not clickable;
- 服务空白 gaps: the gap polygons as red hatching (a quarter of their area) with a red outline, above the
  choropleth, which reads through them; a click inside a gap opens the district's row, a click on the outline
  the gap's (rank, district, area, demand, nearest station) — ``maps.coverage_controls.GapsLayer``;
- 夜间空白 night gaps (when given): places covered by day but not at 22:00–06:00, as black back-hatching with a
  dashed outline (a ``GapsLayer`` of kind ``night-gap``), the choropleth reading through; its own layer, named
  with the day it is of;
- 热点 hot spots (when given): numbered badges ``热1``, ``热2``... at the suggested site of each (badges are
  buttons: Tab reaches them, Enter or Space opens the popup; crowded ones are drawn apart, ``maps.badges``);
- one layer per station type, named by ``CoverageMap.type_labels`` (e.g. 户外劳动者服务站 outdoor workers),
  circle markers coloured by type, clustered when a layer holds more than ``CLUSTER_ABOVE`` stations.

Proposed sites (``geo.siting`` via the planner), when given, add:

- 新增站点 proposed sites: badges numbered in rank order (rank 1 on top), with rank, name, district, gain
  and coordinates in the popup;
- 新增覆盖 proposed coverage (≤ radius): one circle of ``radius_m`` per proposal, in ``PROPOSED_COLOUR``;
- with ``after`` (the figures after adding them), a before/after choice of the choropleth: two base
  layers 覆盖率（现状）before and 覆盖率（新增后）after (shown first), whose popups state both shares.

Title, legend, layer names and credits are in the page's language (``lang``: ``zh``, default, or ``en``;
``maps.coverage_text``), as is ``<html lang>``; popups keep their bilingual labels. With ``hour_shares`` or
``hour_days`` an hour selector (and a day selector for several days: a weekday and a weekend day/holiday)
recolours the choropleth by the covered share at that hour of that day.

The builder takes one typed value, ``CoverageMap``: figures as ``DistrictFigures``, stations as
``MapStation``, proposals as ``ProposedSite``. Every name, adcode and title is HTML-escaped and reaches the
page only inside JSON strings (see ``maps.elements``). Coordinates are WGS84, as are OpenStreetMap's tiles;
Amap or Tencent tiles are GCJ-02, so overlays drawn on them look shifted by a few hundred metres.

>>> from shapely.geometry import box
>>> from geo.districts import Districts
>>> districts = Districts(["330102"], ["上城区"], [box(120.1, 30.2, 120.2, 30.3)], {"source": "test boxes"})
>>> figures = DistrictFigures("330102", "上城区", 103.9, 0.42, 60.3, 1250.0, 3100.0, {"outdoor_worker": 1})
>>> stations = [MapStation("S1", "<b>驿站</b>", ("outdoor_worker",), 120.15, 30.25)]
>>> page = coverage_html(CoverageMap(districts, 1000, [figures], stations=stations, title="上城区 coverage"))
>>> "覆盖率（站点 1,000 米内）" in page, "<b>驿站" in page, "<script src=" in page, '<html lang="zh-CN">' in page
(True, False, False, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import folium
import shapely
from branca.element import Figure
from folium.plugins import MarkerCluster
from shapely.geometry.base import BaseGeometry

from geo.districts import Districts
from geo.gaps import Gap
from maps.badges import SpreadBadges
from maps.coverage_controls import CAPTION_ID, GapsLayer, HourSelector
from maps.coverage_text import caption, check_lang, distance, html_with_lang, text
from maps.elements import HtmlControl, KeepAtBack, LabelMarkers, Pane, PointsLayer, ShapesLayer, StyleSheet, html_table
from maps.page import base_map, marker_cluster, self_contained, tile_layer
from maps.safe_text import escape
from maps.styles import (
    COVERAGE_STOPS,
    COVERED_COLOUR,
    GAP_COLOUR,
    NIGHT_GAP_COLOUR,
    NO_DATA_COLOUR,
    PROPOSED_COLOUR,
    PROPOSED_OUTLINE,
    PROPOSED_TEXT_COLOUR,
    coverage_colour,
    type_colour,
)
from maps.tiles import Tiles

CLUSTER_ABOVE = 300
"""A station layer with more stations than this is drawn as clusters (Leaflet.markercluster)."""

SYNTHETIC_ID_PREFIX = "HZ-SYN-"
"""Ids of the synthetic sample stations (``data/``); records marked ``source="synthetic"`` count too."""

OPENSTREETMAP = Tiles("OpenStreetMap")
"""The default base map: OpenStreetMap by its provider name (WGS84)."""

DISTRICTS_LAYER = text("zh", "districts")
"""The choropleth's layer name on a Chinese page (``maps.coverage_text`` has each language's)."""
BEFORE_LAYER = text("zh", "before")
AFTER_LAYER = text("zh", "after")
PROPOSALS_LAYER = text("zh", "proposals")
PROPOSED_SITE = "新增站点 proposed site"
"""Popup title of a proposal without a name."""
GAPS_LAYER = text("zh", "gaps")
NIGHT_GAP_TITLE = "夜间空白 night gap"
"""Popup and tooltip heading of a night gap (popups keep bilingual labels)."""
OTHER_LAYER = "其他 other"
"""Layer of the stations whose types have no label in ``CoverageMap.type_labels``."""
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


@dataclass(frozen=True)
class DistrictFigures:
    """Coverage figures of one district, as the coverage table (``GET /coverage``) states them.

    Areas in km², distances in metres, shares 0..1; ``None`` where there is no figure (no station at all,
    no demand layer).
    """

    adcode: str
    name: str
    area_km2: float
    covered_share: float | None
    uncovered_km2: float | None
    median_distance_m: float | None
    p90_distance_m: float | None
    stations: Mapping[str, int] = field(default_factory=dict)
    """Stations per type in the district (types as in ``CoverageMap.type_labels``)."""
    demand: float | None = None
    demand_covered_share: float | None = None


@dataclass(frozen=True)
class MapStation:
    """A station on the map: WGS84 degrees; ``source`` ``"synthetic"`` marks sample data."""

    id: str
    name: str
    types: tuple[str, ...]
    lon: float
    lat: float
    source: str | None = None


@dataclass(frozen=True)
class ProposedSite:
    """A proposed new site: ``rank`` 1 is the best; ``gain`` is the demand (or area) it adds, in the map's
    ``gain_unit``; ``district`` and ``name`` may be unknown."""

    rank: int
    lon: float
    lat: float
    gain: float
    district: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class MapHotSpot:
    """A hot spot: unserved demand one new station at (``lon``, ``lat``, WGS84) could serve, numbered by
    ``rank``; ``demand`` in demand units (``None`` without a demand layer), distances in metres."""

    rank: int
    lon: float
    lat: float
    demand: float | None
    area_km2: float | None = None
    district: str | None = None
    nearest_station: str | None = None
    nearest_station_m: float | None = None


@dataclass(frozen=True)
class HourDay:
    """One day the hour selector offers: its name in the page's language (e.g. ``工作日 2026-12-09``) and each
    district's covered share (0..1 or ``None``) at each hour 0..23 of it, by adcode."""

    label: str
    shares: Mapping[str, Sequence[float | None]]


@dataclass(frozen=True)
class CoverageMap:
    """Everything the coverage map shows.

    Parameters
    ----------
    districts
        Boundaries (WGS84); ``districts.metadata["source"]`` is credited in a box at the bottom left.
    radius_m
        The service distance the figures were computed for, metres: circle radius and legend caption.
    figures
        One row per district that has figures (districts without one are grey, "no figures").
    gaps
        Gaps from ``geo.gaps.find_gaps``.
    gap_station_names
        Name of each gap's nearest station (``None`` where there is none), shown in the gap popups; empty:
        none shown.
    stations
        The stations, drawn in one layer per type and as covered circles.
    type_labels
        Station type → layer name (e.g. ``户外劳动者服务站 outdoor workers``), in layer order; stations of
        other types share one layer, ``OTHER_LAYER``.
    adcode
        Zoom to this district (fit its bounds) and draw its border bold; otherwise fit all districts.
    title
        Shown in a box at the top right and as the page title.
    tiles
        The base map (``maps.page.Tiles``).
    proposals
        Proposed new sites, drawn as numbered badges in rank order and as circles of ``radius_m``.
    gain_unit
        Unit of the proposals' gains, e.g. ``"demand"`` or ``"km²"``.
    after
        The figures after adding the proposals. Given, the choropleth becomes a choice of two base layers,
        before (``figures``) and after (shown first), and the after layer's popups state both shares.
    lang
        The page's language, ``zh`` (default) or ``en``: title, legend, layer names, hour selector, credits and
        ``<html lang>``.
    hotspots
        Hot spots one new station could close, drawn as numbered badges (``热1``, ``热2``... or ``H1``...).
    hour_shares
        adcode → covered share (0..1 or ``None``) at each hour 0..23: adds an hour selector that recolours the
        choropleth; ``hour_day`` names the day it is for (e.g. ``工作日``). Shorthand for one ``HourDay``.
    hour_days
        Days the hour selector offers (after ``hour_shares``' day, if given), e.g. a weekday and a weekend day or
        holiday: two or more add a choice of the day.
    night_gaps
        Night gaps (covered by day, not at 22:00–06:00: ``stations.planning.timed.night_gaps``), drawn as dark
        back-hatching with a dashed outline in a layer of their own; ``night_gap_station_names`` as
        ``gap_station_names``; ``night_day`` names the day they are of (e.g. ``工作日 2026-12-09``).

    Raises
    ------
    ValueError
        What the types cannot say: a radius that is not positive, an ``adcode`` or figures of a district that
        is not in ``districts`` (or two rows of one), ``gap_station_names`` not one per gap, two proposals of
        one rank.
    """

    districts: Districts
    radius_m: float
    figures: Sequence[DistrictFigures] = ()
    gaps: Sequence[Gap] = ()
    gap_station_names: Sequence[str | None] = ()
    stations: Sequence[MapStation] = ()
    type_labels: Mapping[str, str] = field(default_factory=dict)
    adcode: str | None = None
    title: str | None = None
    tiles: Tiles = OPENSTREETMAP
    proposals: Sequence[ProposedSite] = ()
    gain_unit: str = "demand"
    after: Sequence[DistrictFigures] | None = None
    lang: str = "zh"
    hotspots: Sequence[MapHotSpot] = ()
    hour_shares: Mapping[str, Sequence[float | None]] | None = None
    hour_day: str = ""
    hour_days: Sequence[HourDay] = ()
    night_gaps: Sequence[Gap] = ()
    night_gap_station_names: Sequence[str | None] = ()
    night_day: str = ""

    def __post_init__(self) -> None:
        check_lang(self.lang)
        for adcode, shares in (self.hour_shares or {}).items():
            if len(shares) != 24:
                raise ValueError(f"hour_shares[{adcode!r}] has {len(shares)} values; one per hour 0..23")
        for day in self.hour_days:
            for adcode, shares in day.shares.items():
                if len(shares) != 24:
                    raise ValueError(f"hour_days {day.label!r}: {adcode!r} has {len(shares)} values; one per hour")
        if any(mark in self.night_day for mark in ("{", "}", "%")):  # it names a layer: see night_layer_name
            raise ValueError(f"night_day {self.night_day!r}: plain words and a date, without braces or %")
        if self.night_gap_station_names and len(self.night_gap_station_names) != len(self.night_gaps):
            raise ValueError(
                f"night_gap_station_names has {len(self.night_gap_station_names)} names for "
                f"{len(self.night_gaps)} night gaps"
            )
        if not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise ValueError(f"radius_m {self.radius_m!r} must be a positive number of metres (e.g. 1000)")
        if self.gap_station_names and len(self.gap_station_names) != len(self.gaps):
            raise ValueError(f"gap_station_names has {len(self.gap_station_names)} names for {len(self.gaps)} gaps")
        if self.adcode is not None:
            _position(self.districts, self.adcode)
        _by_adcode(self.districts, self.figures, "figures")
        if self.after is not None:
            _by_adcode(self.districts, self.after, "after")
        ranks = [site.rank for site in self.proposals]
        if len(set(ranks)) != len(ranks):
            raise ValueError(f"proposals: ranks {sorted(ranks)} repeat; each rank once (1 = best)")

    @property
    def days(self) -> list[HourDay]:
        """The days of the hour selector: ``hour_shares``' (named ``hour_day``), then ``hour_days``."""
        first = [] if self.hour_shares is None else [HourDay(self.hour_day, self.hour_shares)]
        return [*first, *self.hour_days]

    @property
    def focus(self) -> int | None:
        """Position of ``adcode`` in ``districts`` (None for all districts)."""
        return None if self.adcode is None else _position(self.districts, self.adcode)


def covered_layer_name(radius_m: float, lang: str = "zh") -> str:
    """Name of the covered-area layer, e.g. ``覆盖范围（≤ 1,000 米）``."""
    return text(lang, "covered", radius=distance(lang, radius_m))


def proposed_layer_name(radius_m: float, lang: str = "zh") -> str:
    """Name of the proposed-coverage layer, e.g. ``新增覆盖（≤ 1,000 米）``."""
    return text(lang, "proposed_coverage", radius=distance(lang, radius_m))


def night_layer_name(day: str, lang: str = "zh") -> str:
    """Name of the night gaps' layer, e.g. ``夜间空白（工作日 2026-12-09 22:00–06:00）``.

    Layer names reach folium's layer control, whose rendered script branca compiles as a template once more, so
    ``day`` is the service's words and date, never data (``CoverageMap`` refuses braces and ``%`` in it)."""
    return text(lang, "night_gaps", day=f"{day} " if day else "")


def legend_caption(radius_m: float, lang: str = "zh") -> str:
    """Caption of the colour scale, e.g. ``覆盖率（站点 1,000 米内）``."""
    return caption(lang, radius_m)


def coverage_map(data: CoverageMap) -> folium.Map:
    """The coverage map of ``data`` as a ``folium.Map`` (its CDN links work in a notebook).

    Render it offline with ``maps.page.self_contained`` (or call ``coverage_html``). A tile URL without
    attribution is a ``ValueError``.

    >>> from shapely.geometry import box
    >>> from geo.districts import Districts
    >>> districts = Districts(["1", "2"], ["West", "East"], [box(120, 30, 120.1, 30.1), box(120.1, 30, 120.2, 30.1)])
    >>> m = coverage_map(CoverageMap(districts, 500, adcode="2"))
    >>> page = m.get_root().render()
    >>> "[[30.0, 120.1], [30.1, 120.2]]" in page  # fitBounds of district "2"
    True
    """
    districts, radius_m, focus = data.districts, float(data.radius_m), data.focus
    by_adcode = _by_adcode(districts, data.figures, "figures")
    after = None if data.after is None else _by_adcode(districts, data.after, "after")
    points = list(data.stations)
    sites = sorted(data.proposals, key=lambda site: site.rank)
    names: Sequence[str | None] = data.gap_station_names or [None] * len(data.gaps)

    bounds = _bounds(districts, focus, [(p.lon, p.lat) for p in points] + [(s.lon, s.lat) for s in sites])
    center = [(bounds[0][0] + bounds[1][0]) / 2, (bounds[0][1] + bounds[1][1]) / 2] if bounds else [0.0, 0.0]
    m = base_map(location=center, zoom_start=11, tiles=None, prefer_canvas=True, control_scale=True)
    lang = data.lang
    cast(Figure, m.get_root()).title = escape(data.title or caption(lang, radius_m))
    tile_layer(data.tiles.source, data.tiles.attribution).add_to(m)

    labels = data.type_labels
    if after is None:
        district_group = folium.FeatureGroup(name=escape(text(lang, "districts"))).add_to(m)
        shapes = _district_shapes(districts, by_adcode, focus, labels)
        ShapesLayer(shapes, keys=_district_keys(districts, focus)).add_to(district_group)
        choropleths = []
    else:  # a radio choice in the layer control: base layers, the after one shown first
        before_group = folium.FeatureGroup(name=escape(text(lang, "before")), overlay=False, show=False).add_to(m)
        shapes = _district_shapes(districts, by_adcode, focus, labels)
        ShapesLayer(shapes, keys=_district_keys(districts, focus)).add_to(before_group)
        district_group = before_group  # the hours' profile is of the stations as they are
        after_group = folium.FeatureGroup(name=escape(text(lang, "after")), overlay=False).add_to(m)
        ShapesLayer(_district_shapes(districts, after, focus, labels, before=by_adcode)).add_to(after_group)
        choropleths = [before_group, after_group]

    # Opaque circles in a translucent pane: the covered area reads as one union, not as stacked discs.
    # Under the overlays (z 390 < 400), so districts, gaps and stations stay clickable on their canvas.
    Pane(COVERED_PANE, z_index=390, opacity=COVERED_OPACITY).add_to(m)
    covered_group = folium.FeatureGroup(name=escape(text(lang, "covered", radius=distance(lang, radius_m)))).add_to(m)
    circle_style = {"radius": radius_m, "stroke": False, "fillColor": COVERED_COLOUR, "fillOpacity": 1.0}
    circles = [(p.lat, p.lon) for p in points]
    style = {**circle_style, "interactive": False, "pane": COVERED_PANE}
    PointsLayer(circles, style, kind="circle").add_to(covered_group)

    if sites:  # above the existing coverage, in a pane of its own so it reads as one area too
        Pane(PROPOSED_PANE, z_index=391, opacity=PROPOSED_OPACITY).add_to(m)
        proposed_name = text(lang, "proposed_coverage", radius=distance(lang, radius_m))
        proposed_group = folium.FeatureGroup(name=escape(proposed_name)).add_to(m)
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

    gap_group = folium.FeatureGroup(name=escape(text(lang, "gaps"))).add_to(m)
    GapsLayer(_gap_shapes(data.gaps, names), colour=GAP_COLOUR).add_to(gap_group)
    if data.night_gaps:  # a layer of its own (switched in the layer control), drawn like the gaps
        night_names = data.night_gap_station_names or [None] * len(data.night_gaps)
        night_group = folium.FeatureGroup(name=escape(night_layer_name(data.night_day, lang))).add_to(m)
        night_shapes = _gap_shapes(data.night_gaps, night_names, NIGHT_GAP_TITLE)
        GapsLayer(night_shapes, colour=NIGHT_GAP_COLOUR, kind="night-gap", angle=-45, dash="6 4").add_to(night_group)

    kinds = _station_layers(points, labels)
    cluster_css: list[str] = []
    for kind, members in kinds.items():
        label, colour = labels.get(kind, text(lang, "other")), type_colour(kind)
        group: MarkerCluster | folium.FeatureGroup
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
        locations = [(p.lat, p.lon) for p in members]
        fields = [_station_fields(point, labels) for point in members]
        PointsLayer(locations, style, fields=fields, popup=STATION_POPUP, tooltip="{0}").add_to(group)

    badge_groups: list[Any] = []  # FeatureGroups of LabelMarkers
    if data.hotspots:
        spots = sorted(data.hotspots, key=lambda spot: spot.rank)
        spots_group = folium.FeatureGroup(name=escape(text(lang, "hotspots"))).add_to(m)
        prefix = text(lang, "hotspot_prefix")
        LabelMarkers(
            [(spot.lat, spot.lon) for spot in spots],
            [f"{prefix}{spot.rank}" for spot in spots],
            colour=HOTSPOT_COLOUR,
            fields=[_hotspot_fields(spot, prefix) for spot in spots],
            popup=HOTSPOT_POPUP,
            tooltip=HOTSPOT_TOOLTIP,
        ).add_to(spots_group)
        badge_groups.append(spots_group)
    if sites:
        sites_group = folium.FeatureGroup(name=escape(text(lang, "proposals"))).add_to(m)
        LabelMarkers(
            [(site.lat, site.lon) for site in sites],
            [str(site.rank) for site in sites],
            colour=PROPOSED_COLOUR,
            text_colour=PROPOSED_TEXT_COLOUR,
            fields=[_proposal_fields(site, data.gain_unit) for site in sites],
            popup=PROPOSAL_POPUP,
            tooltip=PROPOSAL_TOOLTIP,
        ).add_to(sites_group)
        badge_groups.append(sites_group)
    if badge_groups:  # twenty over a city would overlap at the first view: drawn apart, with a line to their place
        SpreadBadges(badge_groups).add_to(m)
    if choropleths:
        KeepAtBack(choropleths).add_to(m)
    if cluster_css:
        StyleSheet("\n".join(cluster_css)).add_to(m)
    if data.title:
        HtmlControl(f"<h1>{escape(data.title)}</h1>", "topright").add_to(m)
    no_data = any(a not in by_adcode or (after is not None and a not in after) for a in districts.adcodes)
    kind_labels = {kind: labels.get(kind, text(lang, "other")) for kind in kinds}
    legend = _legend_html(
        radius_m, kind_labels, no_data, bool(sites), lang=lang, hotspots=bool(data.hotspots),
        night=bool(data.night_gaps),
    )  # fmt: skip
    HtmlControl(legend, "bottomright").add_to(m)
    if data.days:
        _hour_selector(data, district_group).add_to(m)
    credits = _credits_html(districts.metadata.get("source"), _all_synthetic(points), lang)
    if credits:
        HtmlControl(credits, "bottomleft").add_to(m)
    folium.LayerControl(collapsed=True).add_to(m)
    if bounds:
        m.fit_bounds(bounds)
    return m


def coverage_html(data: CoverageMap) -> str:
    """The coverage map as one self-contained HTML page (Leaflet inlined; only the tiles are fetched).

    An empty map is about 185 kB, nearly all of it Leaflet; the 13 Hangzhou sample districts with ~1,600
    stations and 50 gaps make 1–2 MB, mostly the gap polygons (they follow the grid cells) and the district
    boundaries (280 kB).

    >>> from shapely.geometry import box
    >>> from geo.districts import Districts
    >>> page = coverage_html(CoverageMap(Districts(["1"], ["A"], [box(120, 30, 120.1, 30.1)]), 1000))
    >>> page.count("<script src="), page.count("https://cdn")
    (0, 0)
    """
    return html_with_lang(self_contained(coverage_map(data)), data.lang)


# -- inputs ---------------------------------------------------------------------------------------------------


def _position(districts: Districts, adcode: str) -> int:
    try:
        return districts.position(adcode)
    except KeyError:
        known = ", ".join(districts.adcodes[:20]) + (" …" if len(districts) > 20 else "")
        raise ValueError(f"adcode {adcode!r} is not one of the districts ({known})") from None


def _by_adcode(districts: Districts, figures: Sequence[DistrictFigures], what: str) -> dict[str, DistrictFigures]:
    known = set(districts.adcodes)
    by_adcode: dict[str, DistrictFigures] = {}
    for number, row in enumerate(figures, start=1):
        if row.adcode not in known:
            raise ValueError(f"{what} row {number}: adcode {row.adcode!r} is not one of the districts")
        if row.adcode in by_adcode:
            raise ValueError(f"{what} row {number}: a second row for adcode {row.adcode!r}")
        by_adcode[row.adcode] = row
    return by_adcode


def _bounds(districts: Districts, focus: int | None, points: Sequence[tuple[float, float]]) -> list[list[float]] | None:
    """``[[south, west], [north, east]]`` of the focused district, else all districts, else the (lon, lat)
    ``points``."""
    geometries = districts.geometries if focus is None else [districts.geometries[focus]]
    box = shapely.total_bounds(geometries) if geometries else [math.nan] * 4
    if not all(math.isfinite(value) for value in box) and points:
        lons, lats = [p[0] for p in points], [p[1] for p in points]
        box = [min(lons), min(lats), max(lons), max(lats)]
    if not all(math.isfinite(value) for value in box):
        return None
    west, south, east, north = (float(value) for value in box)
    return [[south, west], [north, east]]


def _all_synthetic(stations: Sequence[MapStation]) -> bool:
    return bool(stations) and all(s.id.startswith(SYNTHETIC_ID_PREFIX) or s.source == "synthetic" for s in stations)


# -- figures as text ------------------------------------------------------------------------------------------


def _text(value: float | None, form: str) -> str:
    """``value`` formatted with ``form`` (e.g. ``"{:,.0f} m"``); ``—`` when missing or not finite."""
    return NO_FIGURES if value is None or not math.isfinite(value) else form.format(value)


def _km2(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return NO_FIGURES
    return f"{value:,.0f} km²" if value >= 100 else f"{value:.1f} km²" if value >= 1 else f"{value:.2f} km²"


def _share(value: float | None) -> str:
    return NO_FIGURES if value is None or not math.isfinite(value) else f"{value * 100:.1f}%"


def _metres(value: float | None) -> str:
    return _text(value, "{:,.0f} m")


def _gain(value: float, unit: str) -> str:
    """A gain with its sign and unit: ``+1,234 demand``, ``+12.5 demand``, ``+0.35 km²``."""
    if not math.isfinite(value):
        return NO_FIGURES
    size = abs(value)
    digits = 0 if size >= 100 or float(value).is_integer() else 1 if size >= 1 else 2
    return f"{value:+,.{digits}f} {unit}".rstrip()


def _change(before: float | None, after: float | None) -> str:
    """Change of a share in percentage points, e.g. ``+12.3 pp``."""
    if before is None or after is None or not math.isfinite(after - before):
        return NO_FIGURES
    return f"{(after - before) * 100:+.1f} pp"


# -- layers ---------------------------------------------------------------------------------------------------


def _district_popup(
    name: str,
    adcode: str,
    row: DistrictFigures | None,
    labels: Mapping[str, str],
    *,
    compare: bool = False,
    before: DistrictFigures | None = None,
) -> str:
    """The district's figures; ``compare``: the after layer's popup, covered shares ``before`` (its row before
    the proposals, ``None`` for none) and after (``row``) and their change, then the figures after."""
    no_row = "无数据 no figures"
    if row is None and before is None:
        return html_table(name, adcode, [("覆盖率 covered", no_row)])
    new = row if row is not None else before
    assert new is not None  # one of them is given
    if compare:
        lines = [
            (BEFORE_LAYER, _share(before.covered_share) if before is not None else no_row),
            (AFTER_LAYER, _share(row.covered_share) if row is not None else no_row),
            ("变化 change", _change(*(None if r is None else r.covered_share for r in (before, row)))),
            ("面积 area", _km2(new.area_km2)),
        ]
    else:
        lines = [("面积 area", _km2(new.area_km2)), ("覆盖率 covered", _share(new.covered_share))]
    figures = row if row is not None else DistrictFigures(adcode, name, new.area_km2, None, None, None, None)
    lines += [
        ("未覆盖 uncovered", _km2(figures.uncovered_km2)),
        ("距离中位数 median distance", _metres(figures.median_distance_m)),
        ("距离 P90 distance", _metres(figures.p90_distance_m)),
    ]
    if figures.demand is not None or figures.demand_covered_share is not None:
        lines.append(("需求 demand", _text(figures.demand, "{:,.0f}")))
        if compare and before is not None and before.demand_covered_share is not None:
            lines.append(("需求覆盖率（现状）demand covered before", _share(before.demand_covered_share)))
            lines.append(("需求覆盖率（新增后）demand covered after", _share(figures.demand_covered_share)))
        else:
            lines.append(("需求覆盖率 demand covered", _share(figures.demand_covered_share)))
    for kind, label in labels.items():
        count = figures.stations.get(kind)
        lines.append((label, NO_FIGURES if count is None else f"{count:,}"))
    return html_table(name, adcode, lines)


def _district_shapes(
    districts: Districts,
    by_adcode: Mapping[str, DistrictFigures],
    focus: int | None,
    labels: Mapping[str, str],
    *,
    before: Mapping[str, DistrictFigures] | None = None,
) -> list[tuple[BaseGeometry, dict[str, Any], str, str]]:
    """Choropleth shapes of ``by_adcode``; with ``before`` those of the after layer (popups compare)."""
    shapes = []
    order = [i for i in range(len(districts)) if i != focus] + ([] if focus is None else [focus])  # focus on top
    for i in order:
        adcode, name = districts.adcodes[i], districts.names[i]
        row = by_adcode.get(adcode)
        share = None if row is None else row.covered_share
        style: dict[str, Any] = {"color": "#4d4d4d", "weight": 1, "fillColor": coverage_colour(share)}
        style["fillOpacity"] = 0.3 if focus is not None and i != focus else 0.5
        if i == focus:
            style.update(color="#000000", weight=3)
        figure = _share(share) if row is not None else "无数据 no figures"
        if before is None:
            popup = _district_popup(name, adcode, row, labels)
        else:
            old = before.get(adcode)
            popup = _district_popup(name, adcode, row, labels, compare=True, before=old)
            if old is not None and row is not None:
                figure = f"{_share(old.covered_share)} → {figure}"
        tooltip = f"{escape(name)} · 覆盖 {escape(figure)}"
        shapes.append((districts.geometries[i], style, popup, tooltip))
    return shapes


def _gap_shapes(
    gaps: Sequence[Gap], names: Sequence[str | None], title: str = "服务空白 gap"
) -> list[tuple[BaseGeometry, str, str]]:
    """Each gap's polygon, popup and tooltip, headed ``title #rank`` (``GapsLayer`` hatches and outlines them:
    the polygons are unions of grid cells, so an outline shows no inner cell edges)."""
    shapes = []
    for gap, station in zip(gaps, names, strict=True):
        has_station = gap.nearest_station >= 0 and math.isfinite(gap.nearest_station_m)
        lines = [("面积 area", _km2(gap.area_km2))]
        if gap.demand is not None:
            lines.append(("需求 demand", _text(gap.demand, "{:,.0f}")))
        lines.append(("最近站点 nearest station", (station or NO_FIGURES) if has_station else "无站点 none"))
        lines.append(("距离 distance", _metres(gap.nearest_station_m) if has_station else NO_FIGURES))
        popup = html_table(f"{title} #{gap.rank} · {gap.district}", gap.adcode, lines)
        tooltip = escape(f"{title} #{gap.rank} · {_km2(gap.area_km2)}")
        shapes.append((gap.polygon, popup, tooltip))
    return shapes


def _proposal_fields(site: ProposedSite, gain_unit: str) -> list[str]:
    """Texts of a proposal's popup and tooltip: name, rank, district, gain, coordinates."""
    return [
        site.name or PROPOSED_SITE,
        str(site.rank),
        site.district or NO_FIGURES,
        _gain(site.gain, gain_unit),
        f"{site.lon:.5f}, {site.lat:.5f}",
    ]


def _station_layers(points: Sequence[MapStation], labels: Mapping[str, str]) -> dict[str, list[MapStation]]:
    """Stations of each type, labelled types first in their order, then one layer of the others; a station
    serves in each of its types' layers, so switching a layer off hides exactly the stations of that type."""
    layers: dict[str, list[MapStation]] = {kind: [] for kind in labels}
    other = "other"
    for point in points:
        kinds = {kind if kind in labels else other for kind in point.types} or {other}
        for kind in kinds:
            layers.setdefault(kind, []).append(point)
    return {kind: members for kind, members in layers.items() if members}


def _station_fields(point: MapStation, labels: Mapping[str, str]) -> list[str]:
    kinds_text = ", ".join(labels.get(kind, kind) for kind in point.types) or NO_FIGURES
    return [point.name or point.id, point.id, kinds_text]


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


def _legend_html(
    radius_m: float,
    kinds: Mapping[str, str],
    no_data: bool,
    proposals: bool,
    *,
    lang: str = "zh",
    hotspots: bool = False,
    night: bool = False,
) -> str:
    """The legend: the colour scale, the layers' swatches and one dot per station layer (type → label)."""
    stops = ", ".join(f"{colour} {100 * i / (len(COVERAGE_STOPS) - 1):.0f}%" for i, colour in enumerate(COVERAGE_STOPS))
    ticks = "".join(f"<span>{p}%</span>" for p in (0, 25, 50, 75, 100))
    parts = [
        f'<div><b id="{CAPTION_ID}">{escape(caption(lang, radius_m))}</b></div>',
        f'<div class="yizhan-scale" style="background: linear-gradient(to right, {stops})"></div>',
        f'<div class="yizhan-ticks">{ticks}</div>',
    ]

    def swatch(colour: str, label: str, extra: str = "", opacity: float = 1.0) -> str:
        style = f"background: {colour}; opacity: {opacity}"
        return f'<div><span class="yizhan-swatch{extra}" style="{style}"></span>{escape(label)}</div>'

    within = distance(lang, radius_m)
    if no_data:
        parts.append(swatch(NO_DATA_COLOUR, text(lang, "no_figures")))
    parts.append(swatch(COVERED_COLOUR, text(lang, "covered", radius=within), opacity=COVERED_OPACITY))
    if proposals:
        parts.append(swatch(PROPOSED_COLOUR, text(lang, "proposed_coverage", radius=within), opacity=PROPOSED_OPACITY))
    stripes = f"repeating-linear-gradient(45deg, {GAP_COLOUR} 0 2px, transparent 2px 6px)"
    hatch = f"background: {stripes}; border-color: {GAP_COLOUR}"
    parts.append(f'<div><span class="yizhan-swatch" style="{hatch}"></span>{escape(text(lang, "gaps_legend"))}</div>')
    if night:
        stripes = f"repeating-linear-gradient(-45deg, {NIGHT_GAP_COLOUR} 0 2px, transparent 2px 6px)"
        hatch = f"background: {stripes}; border: 1px dashed {NIGHT_GAP_COLOUR}"
        words = escape(text(lang, "night_gaps_legend"))
        parts.append(f'<div><span class="yizhan-swatch" style="{hatch}"></span>{words}</div>')
    parts.extend(swatch(type_colour(kind), label, " yizhan-dot") for kind, label in kinds.items())
    if hotspots:
        parts.append(swatch(HOTSPOT_COLOUR, text(lang, "hotspots"), " yizhan-dot"))
    if proposals:
        parts.append(swatch(PROPOSED_COLOUR, text(lang, "proposals"), " yizhan-dot"))
    parts.append(f'<div class="yizhan-muted">{escape(text(lang, "click"))}</div>')
    return "".join(parts)


def _credits_html(source: Any, synthetic: bool, lang: str = "zh") -> str:
    lines = []
    if source:
        lines.append(escape(text(lang, "boundaries", source=source)))
    if synthetic:
        lines.append(escape(text(lang, "synthetic")))
    return "".join(f'<div class="yizhan-muted">{line}</div>' for line in lines)


HOTSPOT_COLOUR = "#a50f15"
"""Hot spots' badges: a dark red, apart from the gaps' red stripes and the proposals' mustard."""
HOTSPOT_POPUP = html_table(
    "{0}",
    "{1}",
    [("未服务需求 unserved demand", "{2}"), ("面积 area", "{3}"), ("最近站点 nearest station", "{4}"),
     ("距离 distance", "{5}"), ("建议站址 suggested site (lon, lat)", "{6}")],
)  # fmt: skip
"""Popup of a hot spot: number, district, unserved demand, area, nearest station and distance, site."""
HOTSPOT_TOOLTIP = "{0} · {2}"


def _hotspot_fields(spot: MapHotSpot, prefix: str) -> list[str]:
    """Texts of a hot spot's popup and tooltip."""
    return [
        f"{prefix}{spot.rank}",
        spot.district or NO_FIGURES,
        _text(spot.demand, "{:,.0f}"),
        _km2(spot.area_km2),
        spot.nearest_station or NO_FIGURES,
        _metres(spot.nearest_station_m),
        f"{spot.lon:.5f}, {spot.lat:.5f}",
    ]


def _district_keys(districts: Districts, focus: int | None) -> list[str]:
    """The adcodes in the order ``_district_shapes`` draws the districts (the focused one last)."""
    order = [i for i in range(len(districts)) if i != focus] + ([] if focus is None else [focus])
    return [districts.adcodes[i] for i in order]


def _hour_selector(data: CoverageMap, group: Any) -> HourSelector:
    """The hour selector of ``data.days`` over the choropleth ``group``."""
    lang, hours = data.lang, [f"{hour:02d}:00" for hour in range(24)]
    options = [("", text(lang, "all_day")), *((str(hour), label) for hour, label in enumerate(hours))]
    days = []
    for day in data.days:
        rows = {
            adcode: {"colours": [coverage_colour(s) for s in shares], "shares": [_share(s) for s in shares]}
            for adcode, shares in day.shares.items()
        }
        day_words = (f"{day.label} " if lang == "zh" else f" ({day.label})") if day.label else ""
        captions = [caption(lang, data.radius_m)] + [
            f"{text(lang, 'hour_caption', day=day_words, hour=f'{hour:02d}')} · {distance(lang, data.radius_m)}"
            for hour in range(24)
        ]
        days.append({"label": day.label, "districts": rows, "captions": captions})
    return HourSelector(
        [group], label=text(lang, "hour"), options=options, days=days, hours=hours, row_label=text(lang, "hour"),
        none_colour=NO_DATA_COLOUR, day_label=text(lang, "day"),
    )  # fmt: skip
