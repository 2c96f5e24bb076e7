"""A printable report of one district: its map, coverage figures, hour profile, proposed sites, hot spots, gaps.

One HTML page with no script at all, made to print on A4 (``@page``, sections kept whole across page breaks,
colours printed as shown). The map is an inline SVG drawn here (district boundary in its coverage colour, the
covered area, gaps hatched and outlined, stations, numbered proposals and hot spots, a scale bar), so it prints
the same in any browser and needs no tiles. The hour profile is an inline SVG bar chart.

Every text from the data (district, station and site names) is HTML-escaped; the SVG holds no data text
except escaped ``<title>`` elements.

>>> from shapely.geometry import box
>>> page = district_report_html(DistrictReport("330106", "西湖区<b>", box(120.0, 30.1, 120.2, 30.3), 1000))
>>> "<b>" in page.split("<body>")[1], '<html lang="zh-CN">' in page, "<script" in page
(False, True, False)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import shapely
from shapely.geometry import MultiPolygon, Polygon
from shapely.geometry.base import BaseGeometry

from geo.gaps import Gap
from maps.coverage import NO_FIGURES, DistrictFigures, MapHotSpot, MapStation, ProposedSite
from maps.coverage_text import HTML_LANG, check_lang, distance
from maps.safe_text import escape
from maps.styles import (
    COVERED_COLOUR,
    GAP_COLOUR,
    PROPOSED_COLOUR,
    PROPOSED_TEXT_COLOUR,
    coverage_colour,
    type_colour,
)

HOTSPOT_COLOUR = "#a50f15"
MAP_WIDTH = 1000.0
"""Width of the map's SVG viewBox (its height follows the district's shape, at most ``MAP_MAX_HEIGHT``)."""
MAP_MAX_HEIGHT = 640.0
MAP_MARGIN = 12.0

WORDS: dict[str, dict[str, str]] = {
    "zh": {
        "title": "{name} 服务站覆盖报告",
        "subtitle": "行政区划代码 {adcode} · 服务半径 {radius} · {types} · 网格 {cell} 米 · "
        "登记库版本 {version} · {date}",
        "figures": "覆盖概况",
        "map": "地图",
        "profile": "24 小时覆盖率{day}",
        "proposals": "建议新增站点",
        "hotspots": "热点：一站可补的未服务需求",
        "gaps": "最大的服务空白",
        "area": "面积 km²",
        "covered": "覆盖率 %",
        "uncovered": "未覆盖面积 km²",
        "median": "到最近站点距离中位数 m",
        "p90": "到最近站点距离 P90 m",
        "demand": "需求 人",
        "demand_covered": "需求覆盖率 %",
        "now": "现状",
        "after": "新增站点后",
        "rank": "序号",
        "site": "站址（经度, 纬度 WGS84）",
        "name": "名称",
        "gain": "新增覆盖（{unit}）",
        "district": "区县",
        "unserved": "未服务需求 人",
        "nearest": "最近站点",
        "distance": "距离 m",
        "none": "无",
        "legend_covered": "覆盖范围（≤ {radius}）",
        "legend_gaps": "服务空白（斜线）",
        "legend_proposals": "建议站点（编号）",
        "legend_hotspots": "热点（编号）",
        "no_profile": "未提供小时覆盖数据。",
        "no_rows": "无。",
        "hour_axis": "时",
        "credits": "区县边界：{source}",
        "synthetic": "站点为合成示例数据，并非真实地点。",
        "hotspot_prefix": "热",
        "stations": "站点数",
        "new_sites": "建议新增站点数",
    },
    "en": {
        "title": "Station coverage report: {name}",
        "subtitle": "adcode {adcode} · service distance {radius} · {types} · {cell} m cells · registry version "
        "{version} · {date}",
        "figures": "Coverage",
        "map": "Map",
        "profile": "Covered share by hour{day}",
        "proposals": "Proposed new sites",
        "hotspots": "Hot spots: unserved demand one station can serve",
        "gaps": "Largest service gaps",
        "area": "Area km²",
        "covered": "Covered %",
        "uncovered": "Uncovered km²",
        "median": "Median distance to a station m",
        "p90": "P90 distance to a station m",
        "demand": "Demand people",
        "demand_covered": "Demand covered %",
        "now": "Now",
        "after": "With the new sites",
        "rank": "#",
        "site": "Site (lon, lat WGS84)",
        "name": "Name",
        "gain": "Gain ({unit})",
        "district": "District",
        "unserved": "Unserved demand people",
        "nearest": "Nearest station",
        "distance": "Distance m",
        "none": "none",
        "legend_covered": "Covered (≤ {radius})",
        "legend_gaps": "Service gaps (hatched)",
        "legend_proposals": "Proposed sites (numbered)",
        "legend_hotspots": "Hot spots (numbered)",
        "no_profile": "No hourly coverage given.",
        "no_rows": "None.",
        "hour_axis": "h",
        "credits": "District boundaries: {source}",
        "synthetic": "Stations are synthetic sample data, not real places.",
        "hotspot_prefix": "H",
        "stations": "Stations",
        "new_sites": "Proposed new sites",
    },
}

CSS = """
@page { size: A4; margin: 14mm 13mm 14mm 13mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: #1a1a1a; background: #fff;
  font: 10.5pt/1.45 "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif; }
main { max-width: 184mm; margin: 0 auto; }
h1 { font-size: 17pt; margin: 0 0 2mm; }
h2 { font-size: 12.5pt; margin: 5mm 0 2mm; break-after: avoid; page-break-after: avoid; }
.sub { color: #444; margin: 0 0 3mm; font-size: 9.5pt; }
section { break-inside: avoid; page-break-inside: avoid; }
section.long { break-inside: auto; page-break-inside: auto; }
table { border-collapse: collapse; width: 100%; font-size: 9.5pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; page-break-inside: avoid; }
th, td { border-bottom: 1px solid #ccc; padding: 1.2mm 1.5mm; text-align: left; vertical-align: top; }
th { background: #f0f0f0; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
svg { display: block; width: 100%; height: auto; }
.map { border: 1px solid #999; }
.legend { display: flex; flex-wrap: wrap; gap: 1.5mm 5mm; font-size: 9pt; margin: 1.5mm 0 0; padding: 0;
  list-style: none; }
.legend span { display: inline-block; width: 3.2mm; height: 3.2mm; margin-right: 1.2mm; vertical-align: -0.4mm;
  border: 1px solid rgba(0, 0, 0, 0.45); }
.legend .dot { border-radius: 50%; }
.muted { color: #555; font-size: 8.5pt; }
footer { margin-top: 5mm; }
@media screen { body { padding: 8mm; background: #e9e9e9; } main { background: #fff; padding: 10mm; } }
"""
"""Print first: A4 with margins, sections not split across pages, colours printed; a sheet on screen too."""


@dataclass(frozen=True)
class DistrictReport:
    """Everything the district report shows.

    Parameters
    ----------
    adcode, name
        The district.
    boundary
        Its polygon, WGS84.
    radius_m
        The service distance, metres.
    figures, after
        Its coverage row now and with the proposals (``None``: not known / no proposals).
    type_labels
        Station type → its name in the report's language (the rows of station counts).
    stations
        Stations to draw (those in and near the district).
    gaps, gap_station_names
        Its largest gaps and the name of each one's nearest station.
    proposals, gain_unit
        Proposed new sites in the district, ranked, and the unit of their gains.
    hotspots
        Hot spots in the district, ranked.
    hour_shares, hour_day
        Covered share at each hour 0..23 and the day it is of (``None``: no profile).
    lang
        ``zh`` (default) or ``en``.
    types_text, cell_m, version, date, source, synthetic
        The context printed under the title and in the footer.
    """

    adcode: str
    name: str
    boundary: BaseGeometry
    radius_m: float
    figures: DistrictFigures | None = None
    after: DistrictFigures | None = None
    type_labels: Mapping[str, str] = field(default_factory=dict)
    stations: Sequence[MapStation] = ()
    gaps: Sequence[Gap] = ()
    gap_station_names: Sequence[str | None] = ()
    proposals: Sequence[ProposedSite] = ()
    gain_unit: str = "demand"
    hotspots: Sequence[MapHotSpot] = ()
    hour_shares: Sequence[float | None] | None = None
    hour_day: str = ""
    lang: str = "zh"
    types_text: str = ""
    cell_m: float = 100.0
    version: int | str = ""
    date: str = ""
    source: str | None = None
    synthetic: bool = False

    def __post_init__(self) -> None:
        check_lang(self.lang)
        if not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise ValueError(f"radius_m {self.radius_m!r} must be a positive number of metres")
        if self.hour_shares is not None and len(self.hour_shares) != 24:
            raise ValueError(f"hour_shares has {len(self.hour_shares)} values; one per hour 0..23")
        if self.gap_station_names and len(self.gap_station_names) != len(self.gaps):
            raise ValueError(f"gap_station_names has {len(self.gap_station_names)} names for {len(self.gaps)} gaps")


def district_report_html(report: DistrictReport) -> str:
    """The report as one HTML page (no scripts, no external resources) that prints on A4."""
    words = WORDS[check_lang(report.lang)]
    within = distance(report.lang, report.radius_m)
    title = words["title"].format(name=report.name)
    subtitle = words["subtitle"].format(
        adcode=report.adcode, radius=within, types=report.types_text, cell=f"{report.cell_m:g}",
        version=report.version, date=report.date,
    )  # fmt: skip
    parts = [
        f'<header><h1>{escape(title)}</h1><p class="sub">{escape(subtitle)}</p></header>',
        _figures_section(report, words),
        _map_section(report, words, within),
        _profile_section(report, words),
        _proposals_section(report, words),
        _hotspots_section(report, words),
        _gaps_section(report, words),
        _footer(report, words),
    ]
    body = "\n".join(part for part in parts if part)
    return (
        f'<!DOCTYPE html>\n<html lang="{HTML_LANG[report.lang]}">\n<head>\n<meta charset="utf-8">\n'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>{escape(title)}</title>\n'
        f"<style>{CSS}</style>\n</head>\n<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


# -- figures --------------------------------------------------------------------------------------------------


def _number(value: float | None, digits: int = 0) -> str:
    return NO_FIGURES if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def _percent(value: float | None) -> str:
    return NO_FIGURES if value is None or not math.isfinite(value) else f"{value * 100:.1f}"


def _figures_section(report: DistrictReport, words: Mapping[str, str]) -> str:
    rows_of: list[tuple[str, DistrictFigures | None]] = [(words["now"], report.figures)]
    if report.after is not None:
        rows_of.append((words["after"], report.after))
    lines: list[tuple[str, list[str]]] = [
        (words["area"], [_number(r.area_km2, 1) if r else NO_FIGURES for _, r in rows_of]),
        (words["covered"], [_percent(r.covered_share) if r else NO_FIGURES for _, r in rows_of]),
        (words["uncovered"], [_number(r.uncovered_km2, 1) if r else NO_FIGURES for _, r in rows_of]),
        (words["median"], [_number(r.median_distance_m) if r else NO_FIGURES for _, r in rows_of]),
        (words["p90"], [_number(r.p90_distance_m) if r else NO_FIGURES for _, r in rows_of]),
    ]
    if any(r is not None and r.demand is not None for _, r in rows_of):
        lines.append((words["demand"], [_number(r.demand) if r else NO_FIGURES for _, r in rows_of]))
        lines.append(
            (words["demand_covered"], [_percent(r.demand_covered_share) if r else NO_FIGURES for _, r in rows_of])
        )
    for kind, label in report.type_labels.items():
        counts = [NO_FIGURES if r is None or kind not in r.stations else f"{r.stations[kind]:,}" for _, r in rows_of]
        lines.append((f"{words['stations']} · {label}", counts))
    if report.after is not None:
        lines.append((words["new_sites"], ["0", f"{len(report.proposals):,}"]))
    head = "".join(f'<th class="n">{escape(name)}</th>' for name, _ in rows_of)
    body = "".join(
        f"<tr><th>{escape(label)}</th>" + "".join(f'<td class="n">{escape(v)}</td>' for v in values) + "</tr>"
        for label, values in lines
    )
    return (
        f"<section><h2>{escape(words['figures'])}</h2><table><thead><tr><th></th>{head}</tr></thead>"
        f"<tbody>{body}</tbody></table></section>"
    )


NUMERIC = ' class="n"'


def _table(headers: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]]) -> str:
    """A table of escaped cells; ``headers`` as (text, numeric)."""
    head = "".join(f"<th{NUMERIC if numeric else ''}>{escape(text)}</th>" for text, numeric in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{NUMERIC if numeric else ''}>{escape(cell)}</td>"
            for cell, (_, numeric) in zip(row, headers, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _proposals_section(report: DistrictReport, words: Mapping[str, str]) -> str:
    if not report.proposals:
        return ""
    headers = [(words["rank"], True), (words["site"], False), (words["name"], False),
               (words["gain"].format(unit=report.gain_unit), True)]  # fmt: skip
    rows = [
        [str(s.rank), f"{s.lon:.5f}, {s.lat:.5f}", s.name or NO_FIGURES, f"+{_number(s.gain)}"]
        for s in sorted(report.proposals, key=lambda s: s.rank)
    ]
    return f'<section class="long"><h2>{escape(words["proposals"])}</h2>{_table(headers, rows)}</section>'


def _hotspots_section(report: DistrictReport, words: Mapping[str, str]) -> str:
    if not report.hotspots:
        return ""
    prefix = words["hotspot_prefix"]
    headers = [(words["rank"], True), (words["site"], False), (words["unserved"], True), (words["area"], True),
               (words["nearest"], False), (words["distance"], True)]  # fmt: skip
    rows = [
        [
            f"{prefix}{h.rank}",
            f"{h.lon:.5f}, {h.lat:.5f}",
            _number(h.demand),
            _number(h.area_km2, 2),
            h.nearest_station or words["none"],
            _number(h.nearest_station_m),
        ]
        for h in sorted(report.hotspots, key=lambda h: h.rank)
    ]
    return f'<section class="long"><h2>{escape(words["hotspots"])}</h2>{_table(headers, rows)}</section>'


def _gaps_section(report: DistrictReport, words: Mapping[str, str]) -> str:
    names: Sequence[str | None] = report.gap_station_names or [None] * len(report.gaps)
    headers = [(words["rank"], True), (words["area"], True), (words["unserved"], True), (words["nearest"], False),
               (words["distance"], True)]  # fmt: skip
    rows = []
    for gap, name in zip(report.gaps, names, strict=True):
        has_station = gap.nearest_station >= 0 and math.isfinite(gap.nearest_station_m)
        rows.append([
            str(gap.rank), _number(gap.area_km2, 2), _number(gap.demand), (name or NO_FIGURES) if has_station
            else words["none"], _number(gap.nearest_station_m) if has_station else NO_FIGURES,
        ])  # fmt: skip
    table = _table(headers, rows) if rows else f"<p>{escape(words['no_rows'])}</p>"
    return f'<section class="long"><h2>{escape(words["gaps"])}</h2>{table}</section>'


def _footer(report: DistrictReport, words: Mapping[str, str]) -> str:
    lines = []
    if report.source:
        lines.append(words["credits"].format(source=report.source))
    if report.synthetic:
        lines.append(words["synthetic"])
    return "<footer>" + "".join(f'<p class="muted">{escape(line)}</p>' for line in lines) + "</footer>"


# -- the map --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """Equirectangular projection of the district's bounds onto the SVG viewBox (north up)."""

    west: float
    north: float
    left: float
    """viewBox x of ``west`` (the district is centred across the full width)."""
    scale: float
    """viewBox units per degree of longitude."""
    cos_lat: float
    width: float
    height: float

    def xy(self, lon: float, lat: float) -> tuple[float, float]:
        return (
            self.left + (lon - self.west) * self.scale,
            MAP_MARGIN + (self.north - lat) * self.scale / self.cos_lat,
        )

    def metres(self, metres: float) -> float:
        """ViewBox units of ``metres`` (along a meridian)."""
        return metres / 111_320.0 * self.scale / self.cos_lat


def _frame(boundary: BaseGeometry) -> _Frame:
    west, south, east, north = boundary.bounds
    cos_lat = max(math.cos(math.radians((south + north) / 2)), 0.05)
    span_x = max(east - west, 1e-6)
    span_y = max(north - south, 1e-6) / cos_lat  # in longitude-degree units
    scale = min((MAP_WIDTH - 2 * MAP_MARGIN) / span_x, (MAP_MAX_HEIGHT - 2 * MAP_MARGIN) / span_y)
    left = (MAP_WIDTH - span_x * scale) / 2
    return _Frame(west, north, left, scale, cos_lat, MAP_WIDTH, span_y * scale + 2 * MAP_MARGIN)


def _path(geometry: BaseGeometry, frame: _Frame) -> str:
    """SVG path data of the polygons in ``geometry`` (rings closed; holes by the even-odd rule)."""
    polygons: list[Polygon] = []
    if isinstance(geometry, Polygon):
        polygons = [geometry]
    elif isinstance(geometry, MultiPolygon):
        polygons = list(geometry.geoms)
    elif hasattr(geometry, "geoms"):
        polygons = [g for g in geometry.geoms if isinstance(g, Polygon)]
    parts = []
    for polygon in polygons:
        for ring in (polygon.exterior, *polygon.interiors):
            points = [frame.xy(x, y) for x, y in ring.coords]
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
    return "".join(parts)


def _badge(x: float, y: float, label: str, fill: str, text_fill: str, title: str) -> str:
    width = max(22.0, 10 + 8 * len(label))
    return (
        f'<g><title>{escape(title)}</title><rect x="{x - width / 2:.1f}" y="{y - 11:.1f}" width="{width:.1f}" '
        f'height="22" rx="11" fill="{fill}" stroke="#fff" stroke-width="2"/>'
        f'<text x="{x:.1f}" y="{y + 4.5:.1f}" text-anchor="middle" font-size="13" font-weight="700" '
        f'fill="{text_fill}">{escape(label)}</text></g>'
    )


def _map_svg(report: DistrictReport, words: Mapping[str, str]) -> str:
    boundary = report.boundary
    frame = _frame(boundary)
    tolerance = (boundary.bounds[2] - boundary.bounds[0]) / 1500
    shape = shapely.simplify(boundary, tolerance, preserve_topology=True)
    share = report.figures.covered_share if report.figures is not None else None
    clip = f"clip-{''.join(c for c in report.adcode if c.isalnum())[:12] or 'd'}"
    parts = [
        f'<svg class="map" viewBox="0 0 {frame.width:.0f} {frame.height:.0f}" role="img" '
        f'aria-label="{escape(report.name)}" xmlns="http://www.w3.org/2000/svg">',
        "<defs>",
        f'<clipPath id="{clip}"><path d="{_path(shape, frame)}" clip-rule="evenodd"/></clipPath>',
        f'<pattern id="report-hatch" patternUnits="userSpaceOnUse" width="7" height="7" '
        f'patternTransform="rotate(45)"><rect width="2" height="7" fill="{GAP_COLOUR}"/></pattern>',
        "</defs>",
        f'<path d="{_path(shape, frame)}" fill="{coverage_colour(share)}" fill-opacity="0.55" fill-rule="evenodd" '
        'stroke="none"/>',
    ]
    radius = frame.metres(report.radius_m)
    circles = "".join(
        f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}"/>'
        for x, y in (frame.xy(s.lon, s.lat) for s in report.stations)
    )
    parts.append(f'<g clip-path="url(#{clip})" fill="{COVERED_COLOUR}" opacity="0.35">{circles}</g>')
    for gap in report.gaps:
        gap_path = _path(gap.polygon, frame)
        parts.append(f'<path d="{gap_path}" fill="url(#report-hatch)" fill-rule="evenodd" stroke="{GAP_COLOUR}" '
                     'stroke-width="1.6"/>')  # fmt: skip
    parts.append(f'<path d="{_path(shape, frame)}" fill="none" stroke="#222" stroke-width="2.2"/>')
    for station in report.stations:
        x, y = frame.xy(station.lon, station.lat)
        colour = type_colour(station.types[0]) if station.types else type_colour("")
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.6" fill="{colour}" stroke="#fff" stroke-width="1"/>')
    prefix = words["hotspot_prefix"]
    for spot in sorted(report.hotspots, key=lambda h: -h.rank):
        x, y = frame.xy(spot.lon, spot.lat)
        parts.append(_badge(x, y, f"{prefix}{spot.rank}", HOTSPOT_COLOUR, "#ffffff", spot.district or ""))
    for site in sorted(report.proposals, key=lambda s: -s.rank):  # rank 1 drawn last, on top
        x, y = frame.xy(site.lon, site.lat)
        parts.append(_badge(x, y, str(site.rank), PROPOSED_COLOUR, PROPOSED_TEXT_COLOUR, site.name or ""))
    parts.append(_scale_bar(frame))
    parts.append("</svg>")
    return "".join(parts)


def _scale_bar(frame: _Frame) -> str:
    """A scale bar of a round length about a fifth of the map's width, bottom left."""
    target_m = (frame.width - 2 * MAP_MARGIN) / 5 / frame.metres(1.0)
    length_m = next((m for m in (100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000) if m >= target_m / 2), 50_000)
    length = frame.metres(length_m)
    x, y = MAP_MARGIN + 6, frame.height - MAP_MARGIN - 6
    label = f"{length_m / 1000:g} km" if length_m >= 1000 else f"{length_m} m"
    return (
        f'<g><rect x="{x - 4:.1f}" y="{y - 20:.1f}" width="{length + 8:.1f}" height="26" fill="#fff" opacity="0.8"/>'
        f'<path d="M{x:.1f},{y - 6:.1f}V{y:.1f}H{x + length:.1f}V{y - 6:.1f}" fill="none" stroke="#222" '
        f'stroke-width="2"/><text x="{x + length / 2:.1f}" y="{y - 8:.1f}" text-anchor="middle" font-size="13" '
        f'fill="#222">{label}</text></g>'
    )


def _map_section(report: DistrictReport, words: Mapping[str, str], within: str) -> str:
    def item(colour: str, label: str, extra: str = "") -> str:
        return f'<li><span class="{extra}" style="background: {colour}"></span>{escape(label)}</li>'

    hatch = f"repeating-linear-gradient(45deg, {GAP_COLOUR} 0 1.5px, #fff 1.5px 4px)"
    items = [
        item(coverage_colour(report.figures.covered_share if report.figures else None),
             f"{words['covered']}: {_percent(report.figures.covered_share) if report.figures else NO_FIGURES}"),
        item(COVERED_COLOUR, words["legend_covered"].format(radius=within)),
        item(hatch, words["legend_gaps"]),
    ]  # fmt: skip
    kinds = dict.fromkeys(kind for s in report.stations for kind in s.types[:1])
    items += [item(type_colour(kind), report.type_labels.get(kind, kind), "dot") for kind in kinds]
    if report.hotspots:
        items.append(item(HOTSPOT_COLOUR, words["legend_hotspots"], "dot"))
    if report.proposals:
        items.append(item(PROPOSED_COLOUR, words["legend_proposals"], "dot"))
    legend = f'<ul class="legend">{"".join(items)}</ul>'
    return f"<section><h2>{escape(words['map'])}</h2>{_map_svg(report, words)}{legend}</section>"


# -- the hour profile -----------------------------------------------------------------------------------------


def _profile_section(report: DistrictReport, words: Mapping[str, str]) -> str:
    day = f"（{report.hour_day}）" if report.hour_day and report.lang == "zh" else ""
    if report.hour_day and report.lang == "en":
        day = f" ({report.hour_day})"
    heading = f"<h2>{escape(words['profile'].format(day=day))}</h2>"
    if report.hour_shares is None:
        return f'<section>{heading}<p class="muted">{escape(words["no_profile"])}</p></section>'
    return f"<section>{heading}{profile_svg(report.hour_shares, words['hour_axis'], report.name)}</section>"


def profile_svg(shares: Sequence[float | None], hour_word: str = "时", label: str = "") -> str:
    """A bar chart of the covered share (0..1) at each hour 0..23 as an inline SVG; a missing hour has no bar.

    >>> svg = profile_svg([0.5] * 24)
    >>> svg.count('class="bar"'), "50%" in svg
    (24, True)
    """
    width, height, left, bottom, top = 1000.0, 260.0, 46.0, 34.0, 14.0
    plot_h, step = height - bottom - top, (width - left - 8) / 24
    parts = [
        f'<svg viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{escape(label)}" '
        'xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in (0, 25, 50, 75, 100):
        y = top + plot_h * (1 - tick / 100)
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="12" fill="#444">{tick}%'
                     "</text>")  # fmt: skip
    for hour, share in enumerate(shares):
        x = left + hour * step + 2
        if share is not None and math.isfinite(share):
            bar = plot_h * min(max(share, 0.0), 1.0)
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - bar:.1f}" width="{step - 4:.1f}" '
                f'height="{bar:.1f}" fill="{coverage_colour(share)}" stroke="#555" stroke-width="0.6">'
                f"<title>{hour:02d}:00 {share * 100:.1f}%</title></rect>"
            )
        if hour % 3 == 0:
            parts.append(f'<text x="{x + (step - 4) / 2:.1f}" y="{height - bottom + 16:.1f}" text-anchor="middle" '
                         f'font-size="12" fill="#444">{hour}{escape(hour_word)}</text>')  # fmt: skip
    parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#444"/></svg>')
    return "".join(parts)
