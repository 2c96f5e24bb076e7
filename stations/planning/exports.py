"""Planning reports a planner can file: coverage, gaps and proposed sites as CSV, XLSX or GeoJSON with their context.

Every export says what it answers (``ReportContext.metadata``: radius, types, filters, cell size, time, registry
version, data source, coordinate system, when it was made), labels its columns in the planner's language with
their units (``覆盖率 %``, ``面积 km²``, ``距离 m``, ``需求 人``) and gives coordinates in the coordinate system
asked for, named in the column (``经度(GCJ-02)``), so that a site pasted into Amap lands where it should.

Formats:

- **CSV** (UTF-8 with a BOM, CR LF): the metadata first, as two-column rows (``项目,值``), then one empty row, then
  the table. Excel and WPS open it with the context in view at the top of the sheet; a ``#`` comment block is no
  CSV at all (Excel shows it as junk rows and most readers choke on it) and a sidecar file is lost the first time
  the export is mailed on. A program reads the table after the first empty row (``read_report_csv``). Shares are
  percentages with one decimal under a ``%`` header (``61.5``), so they read the same in any spreadsheet.
- **XLSX**: one sheet per table, shares kept as fractions with the number format ``0.0%`` (they sum and chart as
  numbers), and a metadata sheet (``说明`` / ``About``).
- **GeoJSON / JSON**: the API's stable property names (programs and GIS expressions rely on them), plus a
  ``metadata`` member and a ``columns`` member labelling each property in the language asked for, with its unit.

Text cells that a spreadsheet would run as a formula are quoted (``stations.exporters.guard_formula``), metadata
included.

>>> [column.label("zh", "gcj02") for column in SITE_COLUMNS[:5]]
['排名', '新增覆盖需求 人', '区县', '街道', '名称']
>>> percent_cell(0.6148)
61.5
"""

from __future__ import annotations

import csv
import dataclasses
import io
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from geo.crs import CrsName, transform
from stations.exporters import guard_formula, table_csv
from stations.vocabulary import STATION_TYPES, label
from stations.xlsx_writer import xlsx_safe

if TYPE_CHECKING:
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet

    from geo.gaps import Gap
    from stations.model import Station
    from stations.planning.hotspots import HotspotReport
    from stations.planning.report import CoverageReport, SitingReport
    from stations.planning.requests import CoverageRequest

Lang = Literal["zh", "en"]
LANGS: tuple[Lang, ...] = ("zh", "en")
Kind = Literal["text", "int", "number", "share", "lon", "lat"]
CHINA_TIME = timezone(timedelta(hours=8), "CST")
CRS_LABELS: dict[str, tuple[str, str]] = {
    "wgs84": ("WGS-84", "WGS 84 (GPS, OpenStreetMap)"),
    "gcj02": ("GCJ-02", "GCJ-02 (Amap, Tencent)"),
    "bd09": ("BD-09", "BD-09 (Baidu)"),
}
"""Coordinate system → (short name in column headers, longer name in the metadata)."""
CRS_NOTES = {"wgs84": "GPS、天地图、OpenStreetMap", "gcj02": "高德、腾讯地图", "bd09": "百度地图"}
STREET_RADIUS_M = 3000.0
"""A site's street is taken from the address of a station within this distance in its district."""
_SUBDISTRICT_ENDINGS = ("街道", "镇", "乡")
_UNITS_EN = {"人": "people"}


@dataclass(frozen=True)
class Column:
    """One column of a report: its key in the rows, its label in Chinese and English, its unit and kind."""

    key: str
    zh: str
    en: str
    unit: str = ""
    """Unit after the label (``m``, ``km²``, ``人``); shares get ``%`` in sheets and ``0-1`` in JSON."""
    kind: Kind = "text"

    def label(self, lang: Lang, crs: CrsName = "wgs84") -> str:
        """The header of this column in ``lang`` with its unit (coordinates name their system).

        >>> Column("lon", "经度", "Longitude", kind="lon").label("zh", "gcj02")
        '经度(GCJ-02)'
        >>> Column("covered_share", "覆盖率", "Covered", kind="share").label("en")
        'Covered (%)'
        >>> Column("demand", "需求", "Demand", "人").label("zh"), Column("demand", "需求", "Demand", "人").label("en")
        ('需求 人', 'Demand (people)')
        """
        name = self.en if lang == "en" else self.zh
        if self.kind in ("lon", "lat"):
            short = CRS_LABELS[crs][0]
            return f"{name} ({short})" if lang == "en" else f"{name}({short})"
        unit = "%" if self.kind == "share" else self.unit
        if lang == "en":
            return f"{name} ({_UNITS_EN.get(unit, unit)})" if unit else name
        return f"{name} {unit}" if unit else name

    def json_label(self, lang: Lang, crs: CrsName = "wgs84") -> dict[str, str]:
        """What the ``columns`` member of a JSON answer says of this property: key, label and unit."""
        unit = "0-1" if self.kind == "share" else CRS_LABELS[crs][0] if self.kind in ("lon", "lat") else self.unit
        if lang == "en":
            unit = _UNITS_EN.get(unit, unit)
        return {"key": self.key, "label": self.en if lang == "en" else self.zh, "unit": unit}


@dataclass(frozen=True)
class Table:
    """Rows (dicts keyed by the columns' keys) with their columns, and the sheet's name in each language."""

    zh: str
    en: str
    columns: tuple[Column, ...]
    rows: list[dict[str, Any]]

    def title(self, lang: Lang) -> str:
        """The sheet's name in ``lang``."""
        return self.en if lang == "en" else self.zh


def percent_cell(share: float | None) -> float | None:
    """A share (0-1) as a percentage with one decimal, as the CSV writes it under a ``%`` header.

    >>> percent_cell(1.0), percent_cell(None), percent_cell(0.00049)
    (100.0, None, 0.0)
    """
    if share is None or not math.isfinite(share):
        return None
    return round(float(share) * 100, 1)


def coverage_columns(demand: bool) -> tuple[Column, ...]:
    """The columns of the coverage table (``CoverageReport.rows``); the demand ones with a demand layer."""
    columns = [
        Column("adcode", "行政区划代码", "Adcode"),
        Column("name", "区县", "District"),
        Column("area_km2", "面积", "Area", "km²", "number"),
        *(
            Column(f"stations_{kind}", f"驿站数 {label(kind)}", f"Stations: {label(kind, 'en')}", "", "int")
            for kind in STATION_TYPES
        ),
        Column("covered_share", "覆盖率", "Covered", kind="share"),
        Column("uncovered_km2", "未覆盖面积", "Uncovered area", "km²", "number"),
        Column("median_distance_m", "到最近驿站距离中位数", "Median distance to a station", "m", "number"),
        Column("p90_distance_m", "到最近驿站距离90分位", "90th percentile distance to a station", "m", "number"),
    ]
    if demand:
        columns += [
            Column("demand", "需求", "Demand", "人", "number"),
            Column("demand_covered_share", "需求覆盖率", "Demand covered", kind="share"),
        ]
    return tuple(columns)


GAP_COLUMNS = (
    Column("rank", "排名", "Rank", kind="int"),
    Column("adcode", "行政区划代码", "Adcode"),
    Column("district", "区县", "District"),
    Column("area_km2", "面积", "Area", "km²", "number"),
    Column("demand", "未覆盖需求", "Uncovered demand", "人", "number"),
    Column("lon", "标注点经度", "Label point longitude", kind="lon"),
    Column("lat", "标注点纬度", "Label point latitude", kind="lat"),
    Column("nearest_station_name", "最近驿站", "Nearest station"),
    Column("nearest_station_id", "最近驿站编号", "Nearest station id"),
    Column("nearest_station_m", "到最近驿站距离", "Distance to the nearest station", "m", "number"),
)
"""The columns of the gaps table (``gap_rows``)."""

SITE_COLUMNS = (
    Column("rank", "排名", "Rank", kind="int"),
    Column("gain", "新增覆盖需求", "Newly covered demand", "人", "number"),
    Column("district", "区县", "District"),
    Column("street", "街道", "Street (sub-district)"),
    Column("name", "名称", "Name"),
    Column("lon", "经度", "Longitude", kind="lon"),
    Column("lat", "纬度", "Latitude", kind="lat"),
    Column("adcode", "行政区划代码", "Adcode"),
    Column("covered_share_after", "累计覆盖率", "Covered share so far", kind="share"),
)
"""The columns of the proposed sites (``site_rows``); the gain's unit follows the report's (people or km²)."""

AREA_GAIN = Column("gain", "新增覆盖面积", "Newly covered area", "km²", "number")

CHANGE_COLUMNS = (
    Column("adcode", "行政区划代码", "Adcode"),
    Column("name", "区县", "District"),
    Column("new_sites", "新增站点", "New sites", kind="int"),
    Column("covered_share_before", "覆盖率（前）", "Covered before", kind="share"),
    Column("covered_share_after", "覆盖率（后）", "Covered after", kind="share"),
    Column("demand_covered_share_before", "需求覆盖率（前）", "Demand covered before", kind="share"),
    Column("demand_covered_share_after", "需求覆盖率（后）", "Demand covered after", kind="share"),
)
"""Coverage per district before and after the proposed sites (``change_rows``)."""


@dataclass(frozen=True)
class MetaItem:
    """One line of a report's metadata: a stable key (JSON), labels, the value (JSON) and how a sheet shows it."""

    key: str
    zh: str
    en: str
    value: Any
    text: str

    def label(self, lang: Lang) -> str:
        """The line's label in ``lang``."""
        return self.en if lang == "en" else self.zh


_BASE_FIELDS = ("radius_m", "types", "cell_m")
_TIME_FIELDS = ("open_at", "at", "time", "hour", "day")


@dataclass(frozen=True)
class ReportContext:
    """What a report answers and how it is written: the request, the registry version, the language and the
    coordinate system of the export, the data source and when it was made."""

    request: CoverageRequest
    version: int
    lang: Lang = "zh"
    crs: CrsName = "wgs84"
    source: str = ""
    demand: bool = False
    """A demand layer is loaded (gains and shares weigh people), else areas."""
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    report: tuple[str, str] = ("覆盖率（按区县）", "Coverage by district")
    extra: tuple[MetaItem, ...] = ()
    """Lines a report adds (the siting method, how streets are found...)."""
    station_filters: dict[str, Any] = field(default_factory=dict)
    """Which stations were counted beyond their types, as the query echoes them (``describe_filters``):
    ``open_at``, ``amenities``, ``unknown_hours``..."""

    def filters(self) -> dict[str, Any]:
        """The filters of the question, as JSON values: the request's fields beyond radius, types and cell, then
        ``station_filters``; None, empty ones and the notes (``*_note*``) left out, ``unknown_hours`` only with a
        time (it changes nothing without one)."""
        found = {}
        for spec in dataclasses.fields(self.request):
            value = getattr(self.request, spec.name)
            if spec.name not in _BASE_FIELDS and value not in (None, (), ""):
                found[spec.name] = _json_value(value)
        for name, value in self.station_filters.items():
            if "_note" not in name and value not in (None, (), [], ""):
                found[name] = _json_value(value)
        if not any(name in found for name in _TIME_FIELDS):
            found.pop("unknown_hours", None)
        return found

    def metadata(self) -> list[MetaItem]:
        """The lines of the metadata block, in order."""
        zh = self.lang != "en"
        request, crs = self.request, self.crs
        kinds = request.types or STATION_TYPES
        kind_text = ("、" if zh else ", ").join(label(kind, self.lang) for kind in kinds)
        if not request.types:
            kind_text = f"{'全部' if zh else 'all'}: {kind_text}"
        filters = self.filters()
        time = {k: v for k, v in filters.items() if k in _TIME_FIELDS}
        other = {k: v for k, v in filters.items() if k not in _TIME_FIELDS}
        time_text = "; ".join(f"{k}={_text(v)}" for k, v in time.items()) or (
            "不限时段（未永久关闭的驿站均计入）" if zh else "any time (every station not closed for good counts)"
        )
        note = self.station_filters.get("open_at_note" if zh else "open_at_note_en")
        if time and note:
            time_text += f"（{note}）" if zh else f" ({note})"
        filter_text = "; ".join(_filter_text(k, v, self.lang) for k, v in other.items()) or ("无" if zh else "none")
        crs_text = f"{CRS_LABELS[crs][0]}（{CRS_NOTES[crs]}）" if zh else CRS_LABELS[crs][1]
        demand_text = (
            ("需求图层（人）" if zh else "demand layer (people)")
            if self.demand
            else ("面积（km²）" if zh else "area (km²)")
        )
        made = self.generated_at.astimezone(CHINA_TIME).replace(microsecond=0)
        items = [
            MetaItem("report", "报表", "Report", self.report[1], self.report[1] if not zh else self.report[0]),
            MetaItem("radius_m", "服务半径 m", "Service radius m", request.radius_m, f"{request.radius_m:g}"),
            MetaItem("types", "驿站类型", "Station types", list(kinds), kind_text),
            MetaItem("filters", "筛选条件", "Filters", other, filter_text),
            MetaItem("cell_m", "网格边长 m", "Grid cell m", request.cell_m, f"{request.cell_m:g}"),
            MetaItem("time", "时间", "Time", time or None, time_text),
            MetaItem("weights", "计量", "Weighed by", "demand" if self.demand else "area", demand_text),
            MetaItem("registry_version", "驿站库版本", "Registry version", self.version, str(self.version)),
            MetaItem("data_source", "数据来源", "Data source", self.source, self.source),
            MetaItem("coordinate_system", "坐标系", "Coordinate system", crs, crs_text),
            MetaItem("generated_at", "生成时间", "Generated at", made.isoformat(), made.isoformat()),
        ]
        return [*items, *self.extra]

    def metadata_json(self) -> dict[str, Any]:
        """The metadata as the ``metadata`` member of a JSON or GeoJSON answer (stable keys, JSON values)."""
        return {"lang": self.lang, **{item.key: item.value for item in self.metadata()}}


def describe_filters(filters: object) -> dict[str, Any]:
    """A query's station filters as ``ReportContext.station_filters``: what their ``describe()`` gives, or
    nothing for a query without filters.

    >>> describe_filters(None)
    {}
    """
    describe = getattr(filters, "describe", None)
    return dict(describe()) if callable(describe) else {}


_UNKNOWN_HOURS = {
    "separate": ("营业时间未知的驿站单独列出", "stations of unknown hours reported separately"),
    "open": ("营业时间未知的驿站计为开放", "stations of unknown hours counted as open"),
    "closed": ("营业时间未知的驿站计为关闭", "stations of unknown hours counted as closed"),
}


def _filter_text(name: str, value: Any, lang: Lang) -> str:
    """One filter as a sheet shows it: amenities by their labels, the unknown-hours policy in words.

    >>> _filter_text("amenities", ["hot_water"], "zh"), _filter_text("unknown_hours", "open", "en")
    ('设施=热水', 'stations of unknown hours counted as open')
    """
    if name == "amenities" and isinstance(value, list):
        names = ("、" if lang != "en" else ", ").join(label(str(v), lang) for v in value)
        return f"{'设施' if lang != 'en' else 'amenities'}={names}"
    if name == "unknown_hours" and value in _UNKNOWN_HOURS:
        return _UNKNOWN_HOURS[value][1 if lang == "en" else 0]
    return f"{name}={_text(value)}"


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple | list):
        return [_json_value(v) for v in value]
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(_text(v) for v in value)
    return "" if value is None else str(value)


# -- rows ------------------------------------------------------------------------------------------------------


EXTRA_COLUMNS = {
    "unknown_only_share": Column(
        "unknown_only_share", "仅营业时间未知的驿站覆盖", "Covered only by stations of unknown hours", kind="share"
    ),
    "unknown_only_demand_share": Column(
        "unknown_only_demand_share", "需求仅营业时间未知的驿站覆盖", "Demand covered only by stations of unknown hours",
        kind="share",
    ),
}  # fmt: skip
"""Labels of the columns a coverage at a time adds (``stations.planning.timed``)."""


def extra_column(key: str) -> Column:
    """The column of a key the coverage rows have beyond ``coverage_columns``: labelled when known, else named
    by its key with the unit its suffix says.

    >>> extra_column("night_km2").label("zh"), extra_column("open_share").label("en")
    ('night_km2 km²', 'open_share (%)')
    """
    if key in EXTRA_COLUMNS:
        return EXTRA_COLUMNS[key]
    if key.endswith("_share"):
        return Column(key, key, key, kind="share")
    for suffix, unit in (("_km2", "km²"), ("_m", "m")):
        if key.endswith(suffix):
            return Column(key, key, key, unit, "number")
    return Column(key, key, key)


def coverage_table(report: CoverageReport, adcode: str | None = None) -> Table:
    """The coverage per district as a report table (with any columns a filtered coverage adds)."""
    rows = report.rows(adcode)
    demand = any("demand" in row for row in rows)
    columns = coverage_columns(demand)
    known = {column.key for column in columns}
    extra = [key for key in dict.fromkeys(key for row in rows for key in row) if key not in known]
    return Table("覆盖率", "Coverage", (*columns, *map(extra_column, extra)), rows)


def gap_rows(gaps: Sequence[Gap], stations: Sequence[Station], crs: CrsName = "wgs84") -> list[dict[str, Any]]:
    """Gaps as rows (``GAP_COLUMNS``): each placed at its label point in ``crs`` (inside the gap, beyond the
    radius: ``Gap.label``; the centroid may be neither), with the station nearest that point and its distance;
    ``stations`` as in ``gap_features``."""
    lon, lat = _points_in([_gap_point(g) for g in gaps], crs)
    rows = []
    for gap, x, y in zip(gaps, lon, lat, strict=True):
        label = gap.label
        position, metres = (
            (label.nearest_station, label.nearest_station_m) if label else (gap.nearest_station, gap.nearest_station_m)
        )
        nearest = stations[position] if position >= 0 else None
        rows.append(
            {
                "rank": gap.rank, "adcode": gap.adcode, "district": gap.district, "area_km2": round(gap.area_km2, 3),
                "demand": None if gap.demand is None else round(gap.demand, 1), "lon": x, "lat": y,
                "nearest_station_name": nearest.name if nearest else None,
                "nearest_station_id": nearest.id if nearest else None,
                "nearest_station_m": round(metres, 1) if nearest else None,
            }
        )  # fmt: skip
    return rows


def _gap_point(gap: Gap) -> tuple[float, float]:
    """Where a gap's row places it (WGS84): its label point, else (no label) its centroid."""
    label = gap.label
    return (float(label.lon), float(label.lat)) if label else (float(gap.centroid_lon), float(gap.centroid_lat))


def gaps_table(gaps: Sequence[Gap], stations: Sequence[Station], crs: CrsName = "wgs84") -> Table:
    """The gaps as a report table."""
    return Table("服务空白", "Gaps", GAP_COLUMNS, gap_rows(gaps, stations, crs))


def site_streets(sites: Sequence[dict[str, Any]], stations: Sequence[Station]) -> list[str | None]:
    """For each proposed site, the sub-district (街道, 镇 or 乡) of the nearest station (of any type, not closed
    for good) in its district within ``STREET_RADIUS_M`` whose address (or name) names one; None when none does.

    There is no sub-district boundary layer: the street is read from nearby stations' addresses
    (``stations.places.street_names``), so it is where the site's neighbours are registered, not a survey.
    """
    from geo.distance import haversine_m
    from stations.places import street_names
    from stations.snapshot import Snapshot, StationsAt

    if not isinstance(stations, StationsAt):  # stations of no snapshot: one is made of them (one way to read them)
        stations = Snapshot(list(stations)).stations
    lon, lat = stations.lon, stations.lat  # from the columns: only the JSON of the stations near a site is read
    found: list[str | None] = []
    for site in sites:
        distance = np.asarray(haversine_m(site["lon"], site["lat"], lon, lat), dtype=float).reshape(-1)
        near = np.flatnonzero((distance <= STREET_RADIUS_M) & stations.open_in(site.get("adcode")))
        street = None
        for position in near[np.argsort(distance[near], kind="stable")].tolist():  # nearest first
            station = stations.payload(position)
            names = [
                s for s in street_names(station.get("address"), station["name"]) if s.endswith(_SUBDISTRICT_ENDINGS)
            ]
            if names:
                street = names[0]
                break
        found.append(street)
    return found


def site_rows(report: SitingReport, stations: Sequence[Station], crs: CrsName = "wgs84") -> list[dict[str, Any]]:
    """The proposed sites as rows (``SITE_COLUMNS``): rank, gain, district, street, name, point in ``crs``,
    and the covered share once this site and those ranked before it are built."""
    lon, lat = _points_in([(s["lon"], s["lat"]) for s in report.sites], crs)
    streets = site_streets(report.sites, stations)
    total = report.total_before
    whole = _whole(report)
    rows = []
    for site, x, y, street in zip(report.sites, lon, lat, streets, strict=True):
        total += site["gain"] / whole if whole else 0.0
        rows.append({**site, "lon": x, "lat": y, "street": street, "covered_share_after": round(total, 4)})
    return rows


def _whole(report: SitingReport) -> float:
    """All demand (or area) of the report, from its gains and shares: gained / (after - before)."""
    gained = sum(site["gain"] for site in report.sites)
    change = report.total_after - report.total_before
    return gained / change if change > 0 else 0.0


def sites_table(report: SitingReport, stations: Sequence[Station], crs: CrsName = "wgs84") -> Table:
    """The proposed sites as a report table; the gain is in people (demand) or km² (no demand layer)."""
    columns = SITE_COLUMNS if report.weight_unit == "demand" else (SITE_COLUMNS[0], AREA_GAIN, *SITE_COLUMNS[2:])
    return Table("新增站点", "Proposed sites", columns, site_rows(report, stations, crs))


def change_rows(report: SitingReport) -> list[dict[str, Any]]:
    """Coverage per district before and after the proposals, with the number of new sites there."""
    return [
        {
            "adcode": before["adcode"],
            "name": before["name"],
            "new_sites": sum(site["adcode"] == before["adcode"] for site in report.sites),
            "covered_share_before": before["covered_share"],
            "covered_share_after": after["covered_share"],
            "demand_covered_share_before": before.get("demand_covered_share"),
            "demand_covered_share_after": after.get("demand_covered_share"),
        }
        for before, after in zip(report.before, report.after, strict=True)
    ]


def change_table(report: SitingReport) -> Table:
    """Coverage per district before and after, as a report table."""
    columns = CHANGE_COLUMNS if report.weight_unit == "demand" else CHANGE_COLUMNS[:5]
    return Table("各区县前后对比", "Before and after", columns, change_rows(report))


def siting_context(context: ReportContext, report: SitingReport) -> ReportContext:
    """``context`` with the siting lines: method, sites, covered share before and after, how streets are found."""
    zh = context.lang != "en"
    request = report.request
    asked = f"add={request.add}" if request.add is not None else f"target_share={request.target_share}"
    before, after = f"{report.total_before:.1%}", f"{report.total_after:.1%}"
    street = (
        f"据 {STREET_RADIUS_M:g} m 内同区县驿站地址中的街道/镇/乡；无则留空"
        if zh
        else f"the sub-district named in addresses of stations within {STREET_RADIUS_M:g} m in the same district;"
        " empty when none"
    )
    extra = (
        MetaItem("method", "求解方法", "Method", request.method, f"{request.method}; {asked}"),
        MetaItem("min_spacing_m", "新站最小间距 m", "Minimum spacing m", request.min_spacing_m,
                 f"{request.min_spacing_m:g}"),
        MetaItem("covered_share_before", "覆盖率（前）", "Covered before", round(report.total_before, 4), before),
        MetaItem("covered_share_after", "覆盖率（后）", "Covered after", round(report.total_after, 4), after),
        MetaItem("street_source", "街道说明", "Street", street, street),
    )  # fmt: skip
    return dataclasses.replace(context, report=("新增站点建议", "Proposed sites"), extra=(*context.extra, *extra))


# -- writers ---------------------------------------------------------------------------------------------------


def _points_in(points: Sequence[tuple[float, float]], crs: CrsName) -> tuple[list[float], list[float]]:
    """WGS84 points in ``crs``, rounded to 6 decimals (~0.1 m)."""
    if not points:
        return [], []
    lon, lat = transform([p[0] for p in points], [p[1] for p in points], "wgs84", crs)
    return [round(float(v), 6) for v in lon], [round(float(v), 6) for v in lat]


def _sheet_value(column: Column, value: Any, percent: bool) -> Any:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if column.kind == "share" and percent:
        return percent_cell(float(value))
    return value


def _xlsx_value(value: Any) -> Any:
    """A cell value for XLSX: text guarded against formulas, its characters XLSX cannot hold as U+FFFD."""
    if isinstance(value, str):
        return xlsx_safe(guard_formula(value))
    return value


def report_csv(table: Table, context: ReportContext) -> str:
    """The table as CSV text: the metadata rows (``项目,值``), an empty row, then the labelled table; shares in
    percent with one decimal; formula-like text quoted. Without a BOM (prepend U+FEFF for Excel)."""
    lang, crs = context.lang, context.crs
    head = ("项目", "值") if lang != "en" else ("Item", "Value")
    meta = [{head[0]: item.label(lang), head[1]: item.text} for item in context.metadata()]
    labels = [column.label(lang, crs) for column in table.columns]
    rows = [
        {
            label_: _sheet_value(column, row.get(column.key), True)
            for label_, column in zip(labels, table.columns, strict=True)
        }
        for row in table.rows
    ]
    return table_csv(meta, head) + "\r\n" + table_csv(rows, labels)


def read_report_csv(text: str) -> tuple[dict[str, str], list[dict[str, str]]]:
    r"""A report CSV read back: the metadata (label → text) and the table's rows (header label → text).

    >>> read_report_csv("项目,值\r\n服务半径 m,1000\r\n\r\n排名\r\n1\r\n")
    ({'服务半径 m': '1000'}, [{'排名': '1'}])
    """
    lines = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    blank = lines.index([])
    metadata = {row[0]: row[1] for row in lines[1:blank]}
    header = lines[blank + 1] if len(lines) > blank + 1 else []
    return metadata, [dict(zip(header, row, strict=True)) for row in lines[blank + 2 :] if row]


def report_xlsx(tables: Sequence[Table], context: ReportContext) -> bytes:
    """The tables as an XLSX workbook, one sheet each, then a metadata sheet; shares are fractions shown as
    ``0.0%``, numbers stay numbers, text cells are guarded against formulas (metadata included)."""
    import openpyxl  # loaded by the first report, not by every app start (~0.2 s)
    from openpyxl.styles import Font

    lang, crs = context.lang, context.crs
    workbook = openpyxl.Workbook()
    first = workbook.active
    assert first is not None  # a new workbook has one worksheet, active
    workbook.remove(first)
    bold = Font(bold=True)
    for table in tables:
        sheet = workbook.create_sheet(table.title(lang)[:31])
        sheet.append([column.label(lang, crs) for column in table.columns])
        for row in table.rows:
            sheet.append([_xlsx_value(_sheet_value(column, row.get(column.key), False)) for column in table.columns])
        for index, column in enumerate(table.columns, start=1):
            if column.kind == "share":
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = "0.0%"
        _style_header(sheet, bold)
    about = workbook.create_sheet("说明" if lang != "en" else "About")
    about.append(["项目", "值"] if lang != "en" else ["Item", "Value"])
    for item in context.metadata():
        about.append([_xlsx_value(item.label(lang)), _xlsx_value(item.text)])
    _style_header(about, bold)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _style_header(sheet: Worksheet, bold: Font) -> None:
    """Bold, frozen header; columns wide enough for their header (CJK characters count double)."""
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "A2"
    for index, cell in enumerate(sheet[1], start=1):
        cell.font = bold
        text = str(cell.value or "")
        width = sum(2 if ord(c) > 0x2E80 else 1 for c in text)
        sheet.column_dimensions[get_column_letter(index)].width = max(10, min(40, width + 2))


def columns_json(columns: Sequence[Column], context: ReportContext) -> list[dict[str, str]]:
    """The ``columns`` member of a JSON answer: each property's key, label in the context's language, unit."""
    return [column.json_label(context.lang, context.crs) for column in columns]


def _geometry_in(geometry: dict[str, Any], crs: CrsName) -> dict[str, Any]:
    """A GeoJSON geometry (WGS84) with its coordinates in ``crs`` (6 decimals, ~0.1 m, as the tables)."""
    if crs == "wgs84":
        return geometry
    import shapely

    def move(xy: np.ndarray) -> np.ndarray:
        lon, lat = transform(xy[:, 0], xy[:, 1], "wgs84", crs)
        return np.column_stack((lon, lat)).round(6)

    moved = shapely.transform(shapely.geometry.shape(geometry), move)
    return dict(shapely.geometry.mapping(moved))


def geojson_in(
    collection: dict[str, Any],
    context: ReportContext,
    columns: Sequence[Column],
    point_properties: Sequence[str] = (),
    convert: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A WGS84 FeatureCollection of a planning answer made a report: geometries (and the ``[lon, lat]`` point
    properties named) in the context's ``crs``, ``coordinate_system``, ``metadata`` and ``columns`` members."""
    crs = context.crs
    features = []
    for feature in collection["features"]:
        properties = dict(feature.get("properties") or {})
        for name in point_properties:
            point = properties.get(name)
            if point is not None:
                x, y = _points_in([(point[0], point[1])], crs)
                properties[name] = [x[0], y[0]]
        if convert is not None:
            properties = convert(properties)
        moved = {**feature, "properties": properties}
        if feature.get("geometry") is not None:
            moved["geometry"] = _geometry_in(feature["geometry"], crs)
        features.append(moved)
    members = {k: v for k, v in collection.items() if k not in ("type", "features")}
    return {
        "type": "FeatureCollection",
        "coordinate_system": crs,
        **members,
        "metadata": context.metadata_json(),
        "columns": columns_json(columns, context),
        "features": features,
    }


GAP_FEATURE_COLUMNS = (
    *(c for c in GAP_COLUMNS if c.kind not in ("lon", "lat")),
    Column("cells", "网格数", "Cells", kind="int"),
    Column("centroid", "中心点", "Centroid", kind="lon"),
)
"""The properties of a gap Feature (``gap_features``) as the ``columns`` member labels them."""


def gaps_geojson(gaps: Sequence[Gap], stations: Sequence[Station], context: ReportContext) -> dict[str, Any]:
    """``gap_features`` as a report: polygons and centroids (any ``[lon, lat]`` point property ``gap_features``
    gives: ``centroid``, ``label_point``) in the context's ``crs``, with metadata."""
    from stations.planning.geojson import gap_features

    collection = gap_features(gaps, stations)
    point_properties = [name for name in ("centroid", "label_point") if any(
        name in (f.get("properties") or {}) for f in collection["features"])]  # fmt: skip
    return geojson_in(collection, context, GAP_FEATURE_COLUMNS, point_properties)


def sites_geojson(report: SitingReport, stations: Sequence[Station], context: ReportContext) -> dict[str, Any]:
    """``siting_geojson`` as a report: points in the context's ``crs``, each site's street and the gain's unit
    (``gain_unit``: 人 or km²), with metadata and the table of districts before and after in ``summary``."""
    from stations.planning.geojson import siting_geojson

    collection = siting_geojson(report)
    streets = iter(site_streets(report.sites, stations))
    unit = "人" if report.weight_unit == "demand" else "km²"

    def convert(properties: dict[str, Any]) -> dict[str, Any]:
        return {**properties, "gain_unit": unit, "street": next(streets)}

    columns = sites_table(report, stations, context.crs).columns
    return geojson_in(collection, context, columns, convert=convert)


HOTSPOT_COLUMNS = (
    Column("rank", "编号", "Number", kind="int"),
    Column("adcode", "行政区划代码", "Adcode"),
    Column("district", "区县", "District"),
    Column("nearest_station_street", "街道", "Street (of the nearest station)"),
    Column("demand", "未服务需求", "Unserved demand", "人", "number"),
    Column("area_km2", "新覆盖面积", "Newly covered area", "km²", "number"),
    Column("site_lon", "建议站址经度", "Suggested site longitude", kind="lon"),
    Column("site_lat", "建议站址纬度", "Suggested site latitude", kind="lat"),
    Column("reach_m", "最远需求距站址", "Farthest demand from the site", "m", "number"),
    Column("label_lon", "标注点经度", "Label point longitude", kind="lon"),
    Column("label_lat", "标注点纬度", "Label point latitude", kind="lat"),
    Column("nearest_station_name", "最近驿站", "Nearest station"),
    Column("nearest_station_id", "最近驿站编号", "Nearest station id"),
    Column("nearest_station_m", "标注点到最近驿站距离", "Label point to the nearest station", "m", "number"),
    Column("gap_rank", "所在服务空白排名", "Rank of its gap", kind="int"),
    Column("gap_stations", "所在服务空白需站数", "Stations its gap needs", kind="int"),
    Column("units", "需求点数", "Demand points", kind="int"),
)
"""The columns of the hot spots (``stations.planning.hotspots.hotspot_rows``); without a demand layer the demand
is an area (``HOTSPOT_AREA``)."""

HOTSPOT_AREA = Column("demand", "未覆盖面积", "Uncovered area", "km²", "number")

GAP_NEED_COLUMNS = (
    Column("gap_rank", "服务空白排名", "Gap rank", kind="int"),
    Column("adcode", "行政区划代码", "Adcode"),
    Column("district", "区县", "District"),
    Column("area_km2", "面积", "Area", "km²", "number"),
    Column("demand", "未服务需求", "Unserved demand", "人", "number"),
    Column("stations", "需站数（贪心方案）", "Stations (greedy plan)", kind="int"),
    Column("stations_at_least", "至少需站数", "Stations at least", kind="int"),
    Column("label_lon", "标注点经度", "Label point longitude", kind="lon"),
    Column("label_lat", "标注点纬度", "Label point latitude", kind="lat"),
    Column("nearest_station_name", "最近驿站", "Nearest station"),
    Column("nearest_station_m", "标注点到最近驿站距离", "Label point to the nearest station", "m", "number"),
)
"""The columns of the stations each gap needs (``stations.planning.hotspots.gap_need_rows``)."""

_POINT_PAIRS = (("site_lon", "site_lat"), ("label_lon", "label_lat"))


def rows_in(rows: Sequence[dict[str, Any]], crs: CrsName) -> list[dict[str, Any]]:
    """``rows`` with their WGS84 point pairs (``site_lon``/``site_lat``, ``label_lon``/``label_lat``) in ``crs``.

    >>> rows_in([{"label_lon": 120.0, "label_lat": 30.0}], "wgs84")
    [{'label_lon': 120.0, 'label_lat': 30.0}]
    """
    moved = [dict(row) for row in rows]
    for lon_key, lat_key in _POINT_PAIRS:
        present = [row for row in moved if row.get(lon_key) is not None and row.get(lat_key) is not None]
        lon, lat = _points_in([(row[lon_key], row[lat_key]) for row in present], crs)
        for row, x, y in zip(present, lon, lat, strict=True):
            row[lon_key], row[lat_key] = x, y
    return moved


def hotspot_tables(
    rows: Sequence[dict[str, Any]], needs: Sequence[dict[str, Any]], demand: bool, crs: CrsName
) -> list[Table]:
    """The hot spots and the stations each gap needs as report tables, points in ``crs``; demand in people, or
    (no demand layer) the uncovered area in km²."""
    spots = HOTSPOT_COLUMNS if demand else tuple(HOTSPOT_AREA if c.key == "demand" else c for c in HOTSPOT_COLUMNS)
    gap_columns = GAP_NEED_COLUMNS if demand else tuple(c for c in GAP_NEED_COLUMNS if c.key != "demand")
    return [
        Table("热点", "Hot spots", spots, rows_in(rows, crs)),
        Table("各服务空白需站数", "Stations per gap", gap_columns, rows_in(needs, crs)),
    ]


def hotspots_geojson(collection: dict[str, Any], context: ReportContext, columns: Sequence[Column]) -> dict[str, Any]:
    """A hot spots FeatureCollection (``hotspot_features``, WGS84) as a report: the site points and the
    properties' point pairs in the context's ``crs`` (the summary's gaps too), with metadata and labelled
    columns."""
    moved = dict(collection)
    summary = dict(collection.get("summary") or {})
    if "gaps" in summary:
        summary["gaps"] = rows_in(summary["gaps"], context.crs)
    moved["summary"] = summary
    return geojson_in(moved, context, columns, convert=lambda p: rows_in([p], context.crs)[0])


@dataclass(frozen=True)
class HotspotExport:
    """A hot spots answer as a report: its context (metadata), the two tables and the GeoJSON, all in the
    context's language and coordinate system."""

    context: ReportContext
    tables: list[Table]
    """The hot spots, then the stations each gap needs (``hotspot_tables``)."""
    geojson: dict[str, Any]


def hotspot_export(report: HotspotReport, context: ReportContext, limit: int | None = 20) -> HotspotExport:
    """``report``'s ``limit`` first hot spots and gaps as a report written as ``context`` says (the API and the CLI
    both write it so)."""
    from stations.planning.hotspots import gap_need_rows, hotspot_features, hotspot_rows

    context = dataclasses.replace(context, report=("热点（一站可补的空白）", "Hot spots one station can close"))
    demand = report.found.weight_unit == "demand"
    tables = hotspot_tables(hotspot_rows(report, limit), gap_need_rows(report, limit), demand, context.crs)
    collection = hotspots_geojson(hotspot_features(report, limit), context, tables[0].columns)
    return HotspotExport(context, tables, collection)
