"""Read station files (CSV, XLSX, GeoJSON) into validated Stations, with a report of every bad row.

Accepts the canonical columns (``id,name,types,lon,lat,crs,address,...``; see ``stations.exporters``) and
the Chinese headers unions use (名称, 类型, 经度, 纬度, 地址, 所属区县, 开放时间, 联系电话, ...); CSV files
in UTF-8, UTF-8 with BOM, GBK/GB18030 or UTF-16 with BOM (Excel's "Unicode text", tab-separated).
Coordinates may be WGS84, GCJ-02 (Amap, Tencent) or BD-09 (Baidu), per row (``crs`` column) or for the
whole file; they are stored as WGS84.

Parsing never writes anything: ``parse_file`` returns the good stations and the problems, and the caller
(``stations.registry``) writes all or nothing.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import json
import math
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from geo.crs import CRS_NAMES, CrsName, in_china, transform
from stations import hours_words
from stations.errors import FileUnreadable, ImportRejected, InvalidValue, LimitExceeded, RowProblem
from stations.exporters import EXTERNAL_ID_PREFIX, unguard_formula
from stations.limits import DEFAULT_LIMITS, ReadLimits
from stations.model import (
    AMENITIES,
    CONTROL_CHARACTER,
    ID_PATTERN,
    MAX_CAPACITY,
    OPERATING_STATUSES,
    RESERVED_IDS,
    STATION_TYPES,
    Station,
    unchecked_station,
)
from stations.progress import Progress

FORMATS = ("csv", "xlsx", "geojson")

_FIELD_ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("编号", "站点编号", "站点id", "stationid"),
    "name": ("名称", "站点名称", "驿站名称", "服务站名称", "站名"),
    "types": ("type", "类型", "站点类型", "服务站类型"),
    "host": ("主办单位", "建设单位", "运营单位", "管理单位", "依托单位"),
    "lon": ("lng", "long", "longitude", "x", "经度"),
    "lat": ("latitude", "y", "纬度"),
    "crs": ("坐标系", "坐标系统"),
    "address": ("地址", "详细地址", "站点地址"),
    "adcode": ("行政区划代码", "区划代码", "区县代码"),
    "district": ("所属区县", "区县", "所在区县", "所属区域", "区域"),
    "opening_hours": ("hours", "开放时间", "开放时段", "服务时间", "营业时间"),
    "operating_status": ("status", "运营状态", "状态"),
    "phone": ("联系电话", "电话", "联系方式"),
    "capacity": ("容纳人数", "可容纳人数"),
    "area_m2": ("面积", "面积m2", "面积㎡", "建筑面积"),
    "photo_url": ("照片", "图片"),
    "verified_at": ("核实日期", "更新日期"),
    "source": ("来源", "数据来源"),
}
_AMENITY_ALIASES: dict[str, tuple[str, ...]] = {
    "drinking_water": ("饮用水", "饮水"),
    "hot_water": ("热水",),
    "microwave": ("微波炉",),
    "fridge": ("冰箱",),
    "seating": ("座椅", "桌椅", "休息座椅"),
    "toilet": ("卫生间", "厕所", "洗手间"),
    "phone_charging": ("手机充电", "充电"),
    "ebike_charging": ("电动车充电", "电瓶车充电"),
    "battery_swap": ("换电", "电池更换"),
    "wifi": ("无线网络", "无线网"),
    "first_aid": ("急救箱", "医药箱", "药箱"),
    "aed": ("除颤仪",),
    "umbrella": ("雨伞", "爱心雨伞"),
    "books": ("图书", "书籍", "书报"),
    "shower": ("淋浴", "洗浴"),
    "laundry": ("洗衣", "洗衣机"),
    "air_conditioning": ("空调",),
    "wheelchair": ("无障碍",),
    "parking": ("停车", "停车位"),
    "truck_parking": ("货车停车", "货车停车位"),
    "breastfeeding_room": ("哺乳间", "哺乳室"),
    "changing_table": ("尿布台", "护理台"),
    "lockable_door": ("门锁", "可上锁"),
    "sink": ("洗手池", "水池"),
}
_TYPE_ALIASES: dict[str, str] = {
    **{t: t for t in STATION_TYPES},
    "outdoor": "outdoor_worker",
    "户外劳动者服务站": "outdoor_worker",
    "户外劳动者驿站": "outdoor_worker",
    "爱心驿站": "outdoor_worker",
    "工会驿站": "outdoor_worker",
    "骑士之家": "outdoor_worker",
    "驿站": "outdoor_worker",
    "户外": "outdoor_worker",
    "司机之家": "driver_home",
    "driver": "driver_home",
    "母婴室": "nursing_room",
    "妈咪暖心小屋": "nursing_room",
    "妈咪小屋": "nursing_room",
    "nursing": "nursing_room",
}
_TRISTATE_ALIASES: dict[str, str | None] = {
    **dict.fromkeys(("yes", "y", "true", "1", "是", "有", "√", "✓", "提供"), "yes"),
    **dict.fromkeys(("no", "n", "false", "0", "否", "无", "没有", "×", "✗", "不提供"), "no"),
    **dict.fromkeys(("", "unknown", "未知", "不详", "-"), None),
}
_CRS_ALIASES: dict[str, CrsName] = {
    **{c: c for c in CRS_NAMES},
    **dict.fromkeys(("wgs-84", "wgs 84", "gps", "epsg:4326", "4326"), "wgs84"),
    **dict.fromkeys(("gcj-02", "gcj", "amap", "gaode", "tencent", "qq", "高德", "腾讯", "火星坐标"), "gcj02"),
    **dict.fromkeys(("bd-09", "bd09ll", "baidu", "百度"), "bd09"),
}
_STATUS_ALIASES: dict[str, str] = {
    **{s: s for s in OPERATING_STATUSES},
    **dict.fromkeys(("正常", "运营", "运营中", "开放"), "normal"),
    **dict.fromkeys(("公告", "注意"), "notice"),
    **dict.fromkeys(("部分开放", "限制开放", "受限"), "limited"),
    **dict.fromkeys(("暂停", "暂停开放", "暂时关闭", "临时关闭"), "temporarily_closed"),
    **dict.fromkeys(("关闭", "已关闭", "停用", "撤销"), "closed"),
}
_LIST_SEPARATORS = re.compile(r"[;；,，、/|]+")


def _normalise_header(header: str) -> str:
    text = re.sub(r"\s+", "", str(header).replace("\ufeff", "")).lower()
    # "经度(°)" -> "经度"; no brackets inside the unit, so that a header of many "(" is linear time, not quadratic
    return re.sub(r"[（(][^()（）]*[)）]$", "", text)


_HEADER_TO_FIELD: dict[str, str] = {
    _normalise_header(alias): name
    for name, aliases in {**_FIELD_ALIASES, **_AMENITY_ALIASES}.items()
    for alias in (name, *aliases)
}


@dataclass
class ParsedFile:
    """What a file holds: the stations that validated, and every problem with the rest."""

    stations: list[Station] = field(default_factory=list)
    station_rows: list[int] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    rows: int = 0


def file_format(filename: str) -> str:
    """``csv``, ``xlsx`` or ``geojson`` from a file name; InvalidValue naming the supported ones otherwise."""
    suffix = Path(filename).suffix.lower().lstrip(".")
    fmt = {"json": "geojson", "txt": "csv"}.get(suffix, suffix)
    if fmt not in FORMATS:
        raise InvalidValue("file", filename, "unsupported file type", [f".{f}" for f in FORMATS])
    return fmt


def parse_file(
    data: bytes,
    filename: str,
    crs: str | None = None,
    progress: Progress | None = None,
    limits: ReadLimits = DEFAULT_LIMITS,
) -> ParsedFile:
    """Validate every row of a CSV/XLSX/GeoJSON file given as bytes; writes nothing.

    ``crs`` is the coordinate system of rows without a ``crs`` column value (default WGS84). Rows are
    validated ``CHUNK_ROWS`` at a time, their coordinates converted together (one vectorised transform per
    coordinate system, not one per row); ``progress`` hears of each chunk and may cancel between them.
    A file past one of ``limits`` (rows, cells per row, characters per cell; for XLSX, what it unpacks to)
    raises LimitExceeded (UnpackedTooLarge for sizes) as soon as reading reaches it.
    """
    default_crs = _crs_value(crs, "crs") if crs else "wgs84"
    parsed = ParsedFile()
    seen_ids: dict[str, int] = {}
    records = _read(data, filename, parsed, STATION_COLUMNS, limits)
    while chunk := list(itertools.islice(records, CHUNK_ROWS)):
        # the plain values of each row (or its first bad one), then pydantic on the chunk's rows at once
        outcomes: list[RowProblem | dict[str, Any]] = []
        for (row, record, problem), coordinates in zip(chunk, _chunk_coordinates(chunk, default_crs), strict=True):
            if problem is not None:
                outcomes.append(problem)
                continue
            try:
                outcomes.append(_fields(record, default_crs, coordinates))
            except InvalidValue as error:
                outcomes.append(RowProblem(row, error.field, _shown(error.value), _reason(error)))
        validated = _validated(
            [(row, o) for (row, _, _), o in zip(chunk, outcomes, strict=True) if isinstance(o, dict)]
        )
        del chunk
        for outcome in outcomes:  # every problem in row order, as the rows come
            parsed.rows += 1
            if isinstance(outcome, RowProblem):
                parsed.problems.append(outcome)
                continue
            row, station, problems = next(validated)
            if station is not None and station.id in seen_ids:
                problems.append(RowProblem(row, "id", station.id, f"duplicate id: also on row {seen_ids[station.id]}"))
            if problems:
                parsed.problems.extend(problems)
            elif station is not None:
                seen_ids[station.id] = row
                parsed.stations.append(station)
                parsed.station_rows.append(row)
        if progress is not None:
            progress.advance(len(outcomes))
    return parsed


CHUNK_ROWS = 4096
"""Rows validated together (their coordinates converted in one call); also how often progress is told."""


def _chunk_coordinates(
    chunk: list[tuple[int, Record, RowProblem | None]], default_crs: CrsName
) -> list[tuple[float, float] | InvalidValue | None]:
    """Each row's WGS84 (lon, lat) rounded to 7 decimals, or the InvalidValue its coordinates raise (None: a
    row already broken); rows of one coordinate system are converted in one vectorised call."""
    result: list[tuple[float, float] | InvalidValue | None] = [None] * len(chunk)
    by_crs: dict[CrsName, list[tuple[int, float, float]]] = {}
    for i, (_, record, problem) in enumerate(chunk):
        if problem is not None:
            continue
        try:
            lon, lat, crs = _source_coordinates(record, default_crs)
        except InvalidValue as error:
            result[i] = error
            continue
        by_crs.setdefault(crs, []).append((i, lon, lat))
    for crs, points in by_crs.items():
        positions, point_lon, point_lat = zip(*points, strict=True)
        wgs_lon, wgs_lat = (
            (point_lon, point_lat) if crs == "wgs84" else transform(list(point_lon), list(point_lat), crs, "wgs84")
        )
        for i, x, y in zip(positions, wgs_lon, wgs_lat, strict=True):
            result[i] = (round(float(x), 7), round(float(y), 7))
    return result


Record = dict[str, Any]
RecordStream = Iterator[tuple[int, Record, RowProblem | None]]


def _read(
    data: bytes, filename: str, parsed: ParsedFile, required: tuple[str, ...], limits: ReadLimits
) -> RecordStream:
    reader = {"csv": _csv_records, "xlsx": _xlsx_records, "geojson": _geojson_records}[file_format(filename)]
    return reader(data, parsed, required, limits)


def parse_candidates(
    data: bytes, filename: str, crs: str | None = None, limits: ReadLimits = DEFAULT_LIMITS
) -> list[tuple[float, float, str | None]]:
    """Candidate sites (WGS84 lon, lat, optional name) from a CSV/XLSX/GeoJSON with lon/lat columns in any
    of the importers' spellings; ImportRejected listing every bad row, LimitExceeded past ``limits``."""
    default_crs = _crs_value(crs, "crs") if crs else "wgs84"
    parsed = ParsedFile()
    sites, problems = [], []
    for row, record, problem in _read(data, filename, parsed, ("lon", "lat"), limits):
        if problem is not None:
            problems.append(problem)
            continue
        try:
            lon, lat = _coordinates(record, default_crs)
        except InvalidValue as error:
            problems.append(RowProblem(row, error.field, _shown(error.value), _reason(error)))
            continue
        sites.append((lon, lat, _text(record.get("name")) or None))
    if problems:
        raise ImportRejected(problems)
    if not sites:
        raise FileUnreadable(f"{filename}: no candidate sites")
    return sites


def _decode(data: bytes) -> str:
    return data.decode(_encoding(data))


def _encoding(data: bytes) -> str:
    """The encoding ``data`` decodes in: UTF-16 with a BOM, UTF-8 (a BOM or none), else GB18030; FileUnreadable
    if none fits. Each attempt decodes the whole text and drops it (an attempt that fails may fail at the end)."""
    utf16 = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    for encoding in ("utf-16",) if utf16 else ("utf-8-sig", "gb18030"):
        try:
            data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileUnreadable("file is neither UTF-8 nor GBK/GB18030 text (nor UTF-16 with a BOM)")


STATION_COLUMNS = ("name", "types", "lon", "lat")


def _external_id_column(header: str) -> str | None:
    return header if header.startswith(EXTERNAL_ID_PREFIX) and len(header) > len(EXTERNAL_ID_PREFIX) else None


def _map_headers(headers: list[Any], parsed: ParsedFile, required: tuple[str, ...]) -> list[str | None]:
    """Canonical field per column (None: ignored column, reported as a warning)."""
    fields: list[str | None] = []
    seen: dict[str, str] = {}
    for header in headers:
        normalised = _normalise_header(header or "")
        name = _HEADER_TO_FIELD.get(normalised) or _external_id_column(normalised)
        if name is None:
            if str(header or "").strip():
                parsed.warnings.append(RowProblem(1, str(header), "", "unknown column, ignored"))
        elif name in seen:
            raise FileUnreadable(f"columns {seen[name]!r} and {header!r} both mean {name!r}")
        else:
            seen[name] = str(header)
        fields.append(name)
    missing = [f for f in required if f not in seen]
    if missing:
        raise FileUnreadable(f"missing column(s) {', '.join(missing)}; headers found: {', '.join(map(str, headers))}")
    return fields


def _records(
    table: Iterator[list[Any]], parsed: ParsedFile, strict_width: bool, required: tuple[str, ...], limits: ReadLimits
) -> RecordStream:
    """Records from a header row and data rows; row numbers are the lines a spreadsheet shows (header = 1).

    With ``strict_width`` (CSV) a row with fewer fields than the header is broken; spreadsheets may omit
    trailing empty cells, so XLSX rows may be short. Text cells lose the exporters' formula guard ("'=...").
    LimitExceeded for a row past ``limits.max_rows``, one of more cells than ``max_columns`` or a cell longer
    than ``max_cell_chars`` (the XLSX reader stops earlier still, before building such a row).
    """
    header: list[Any] | None = None
    for line, cells in enumerate(table, start=1):
        _check_row(line, cells, limits)
        if header is None:
            if any(str(c or "").strip() for c in cells):
                header, fields = cells, _map_headers(cells, parsed, required)
            continue
        joined = _joined(cells)
        if not (joined.strip() if joined is not None else any(_filled(c) for c in cells)):
            continue  # blank line
        too_long = any(_filled(c) for c in cells[len(header) :])
        if too_long or (strict_width and len(cells) < len(header)):
            shown = _shown(",".join(_text(c) for c in cells))
            yield line, {}, RowProblem(line, "*", shown, f"expected {len(header)} fields, got {len(cells)}")
            continue
        if joined is not None:  # all text (CSV): empty cells left out, as a spreadsheet leaves them out
            record = {f: c for f, c in zip(fields, cells, strict=False) if c and f}
            if "'" in joined:  # some cell may carry the exporters' formula guard
                record = {f: unguard_formula(c) for f, c in record.items()}
        else:
            record = {
                f: unguard_formula(c) if isinstance(c, str) else c for f, c in zip(fields, cells, strict=False) if f
            }
        yield line, record, None
    if header is None:
        raise FileUnreadable("file is empty: no header row")


def _joined(cells: list[Any]) -> str | None:
    """A row's cells joined, when all are text (a CSV row): one C call answers whether the row is blank and
    whether any cell carries a formula guard; None for a row with other values (numbers, dates: XLSX)."""
    try:
        return "".join(cells)
    except TypeError:
        return None


def _filled(cell: Any) -> bool:
    return bool(str(cell if cell is not None else "").strip())


def _check_row(line: int, cells: list[Any], limits: ReadLimits) -> None:
    """LimitExceeded if row ``line`` of a table is past the row limit, has too many cells or too long a one."""
    if line > limits.max_rows + 1:  # the header is row 1
        raise LimitExceeded(
            "max_rows", limits.max_rows, f"row {line:,}: more than {limits.max_rows:,} rows below the header", "file"
        )
    if len(cells) > limits.max_columns:
        raise LimitExceeded("max_columns", limits.max_columns, f"{len(cells):,} cells", f"row {line:,}")
    try:
        longest = max(map(len, cells), default=0)  # a CSV row: all text
    except TypeError:
        longest = max((len(c) for c in cells if isinstance(c, str)), default=0)
    if longest > limits.max_cell_chars:
        raise LimitExceeded(
            "max_cell_chars", limits.max_cell_chars, f"a cell of {longest:,} characters", f"row {line:,}"
        )


def _csv_records(data: bytes, parsed: ParsedFile, required: tuple[str, ...], limits: ReadLimits) -> RecordStream:
    encoding = _encoding(data)
    # decoded as read, a few kilobytes at a time: the whole text (and StringIO's copy of it, 4 bytes a character)
    # is never held while the rows are (~0.7 GB at 500k rows)
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    head = ""
    while (chunk := stream.read(65_536)) and "\n" not in (head := head + chunk).lstrip("\r\n"):
        pass
    first_line = head.lstrip("\r\n").partition("\n")[0]  # the first line that is not blank
    stream.seek(0)
    delimiter = "\t" if "\t" in first_line and "," not in first_line else ","  # Excel's "Unicode text" is TSV
    reader = csv.reader(stream, delimiter=delimiter)
    try:
        yield from _records(reader, parsed, strict_width=True, required=required, limits=limits)
    except csv.Error as exc:
        if "field larger than field limit" in str(exc):  # the csv module's own cap (131,072), set process-wide
            where = f"row {reader.line_num:,}"
            found = f"a cell of more than {csv.field_size_limit():,} characters"
            raise LimitExceeded("max_cell_chars", limits.max_cell_chars, found, where) from exc
        raise FileUnreadable(f"malformed CSV: {exc}") from exc


def _xlsx_records(data: bytes, parsed: ParsedFile, required: tuple[str, ...], limits: ReadLimits) -> RecordStream:
    from stations.xlsx import worksheet_rows  # openpyxl: loaded by the first XLSX import, not by every app start

    yield from _records(worksheet_rows(data, limits), parsed, strict_width=False, required=required, limits=limits)


# _read calls every reader of its table with the same four arguments; this one uses data and limits only
def _geojson_records(
    data: bytes,
    parsed: ParsedFile,  # noqa: ARG001
    required: tuple[str, ...] = (),  # noqa: ARG001
    limits: ReadLimits = DEFAULT_LIMITS,
) -> RecordStream:
    """Records of a FeatureCollection's Point features; LimitExceeded past ``limits``: features (rows), the
    fields a feature fills (columns, external ids included) or characters in a value the importer uses."""
    try:
        document = json.loads(_decode(data))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, an integer too long, nesting too deep
        raise FileUnreadable(f"malformed JSON: {exc}") from exc
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection" or not isinstance(features, list):
        raise FileUnreadable("GeoJSON must be a FeatureCollection of Point features")
    if len(features) > limits.max_rows:
        raise LimitExceeded("max_rows", limits.max_rows, f"{len(features):,} features", "FeatureCollection")
    for number, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        point = isinstance(geometry, dict) and geometry.get("type") == "Point"
        if not point or not isinstance(coordinates, list) or len(coordinates) < 2:
            yield number, {}, RowProblem(number, "geometry", _shown(geometry), "must be a Point [lon, lat]")
            continue
        properties = feature.get("properties") or {}
        if not isinstance(properties, dict):
            yield number, {}, RowProblem(number, "properties", _shown(properties), "must be an object or null")
            continue
        record: Record = {}
        for key, value in properties.items():
            name = _HEADER_TO_FIELD.get(_normalise_header(key))
            if name is not None:
                record[name] = value
            elif key == "amenities" and isinstance(value, dict):
                record.update({a: v for a, v in value.items() if a in AMENITIES})
            elif key == "external_ids" and isinstance(value, dict):
                record.update({f"{EXTERNAL_ID_PREFIX}{system}": v for system, v in value.items()})
        record["lon"], record["lat"] = coordinates[0], coordinates[1]
        where = f"feature {number:,}"
        if len(record) > limits.max_columns:
            raise LimitExceeded("max_columns", limits.max_columns, f"{len(record):,} properties", where)
        longest = max((len(v) for v in record.values() if isinstance(v, str)), default=0)
        if longest > limits.max_cell_chars:
            raise LimitExceeded("max_cell_chars", limits.max_cell_chars, f"a value of {longest:,} characters", where)
        yield number, record, None


def _text(value: Any) -> str:
    if type(value) is str:  # every CSV cell: the fast path (one strip, and the replaces only for a CR)
        text = value.strip()
        return text.replace("\r\n", "\n").replace("\r", "\n") if "\r" in text else text
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip().replace("\r\n", "\n").replace("\r", "\n")  # one newline (XLSX keeps no CR)


def _shown(value: Any) -> str:
    """A value as shown in a problem report: its text, cut to 200 characters."""
    text = _text(value)
    return text if len(text) <= 200 else text[:199] + "…"


def _crs_value(value: Any, field_name: str) -> CrsName:
    crs = _CRS_ALIASES.get(_text(value).lower())
    if crs is None:
        raise InvalidValue(field_name, value, "unknown coordinate system", CRS_NAMES)
    return crs


def _number(value: Any, field_name: str) -> float:
    try:
        number = float(_text(value).replace("°", ""))
    except ValueError:
        raise InvalidValue(field_name, value, "not a number") from None
    if not math.isfinite(number):
        raise InvalidValue(field_name, value, "must be a finite number")
    return number


def _source_coordinates(record: Record, default_crs: CrsName) -> tuple[float, float, CrsName]:
    """A record's lon, lat (checked to be on the globe) and coordinate system, not yet converted."""
    lon, lat = _number(record.get("lon"), "lon"), _number(record.get("lat"), "lat")
    if not -90 <= lat <= 90:
        swapped = -90 <= lon <= 90 and bool(in_china(lat, lon))
        hint = "; lon and lat look swapped" if swapped else ""
        raise InvalidValue("lat", record.get("lat"), f"latitude must be within [-90, 90]{hint}")
    if not -180 <= lon <= 180:
        raise InvalidValue("lon", record.get("lon"), "longitude must be within [-180, 180]")
    crs = _crs_value(record["crs"], "crs") if _text(record.get("crs")) else default_crs
    return lon, lat, crs


def _coordinates(record: Record, default_crs: CrsName) -> tuple[float, float]:
    lon, lat, crs = _source_coordinates(record, default_crs)
    wgs_lon, wgs_lat = transform(lon, lat, crs, "wgs84")
    return round(float(wgs_lon[()]), 7), round(float(wgs_lat[()]), 7)


def _types(value: Any) -> list[str]:
    text = ";".join(map(_text, value)) if isinstance(value, (list, tuple)) else _text(value)
    parts = [p.strip() for p in _LIST_SEPARATORS.split(text) if p.strip()]
    if not parts:
        raise InvalidValue("types", value, "at least one type is required", STATION_TYPES)
    types = []
    for part in parts:
        kind = _TYPE_ALIASES.get(part.lower())
        if kind is None:
            raise InvalidValue("types", part, "unknown station type", STATION_TYPES)
        types.append(kind)
    return types


def _optional_number(record: Record, field_name: str, integer: bool = False) -> float | int | None:
    if not _text(record.get(field_name)):
        return None
    number = _number(record[field_name], field_name)
    if integer and not number.is_integer():
        raise InvalidValue(field_name, record[field_name], "must be a whole number")
    return int(number) if integer else number


def generated_id(name: str, lon: float, lat: float) -> str:
    """A stable id for rows without one: the same name and place give the same id on every import (a name with a
    lone surrogate, which only GeoJSON escapes carry, too: the row is then refused for its name, not a crash)."""
    digest = hashlib.sha1(f"{name}|{lon:.6f}|{lat:.6f}".encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"ST-{digest}"


def _fields(
    record: Record, default_crs: CrsName, coordinates: tuple[float, float] | InvalidValue | None = None
) -> dict[str, Any]:
    """Plain field values from a record; raises InvalidValue for the first bad one. ``coordinates``: the
    record's WGS84 position (or the error it raised) when already converted with others of its chunk."""
    if isinstance(coordinates, InvalidValue):
        raise coordinates
    lon, lat = coordinates if coordinates is not None else _coordinates(record, default_crs)
    text = {key: _text(value) for key, value in record.items()}  # once each: most values are read twice
    name = text.get("name", "")
    fields: dict[str, Any] = {"name": name, "types": _types(record.get("types")), "lon": lon, "lat": lat}
    for key in ("host", "address", "adcode", "district", "phone", "photo_url", "source", "verified_at"):
        if text.get(key):
            fields[key] = text[key]
    if text.get("opening_hours"):  # OSM syntax or Chinese words: the model reads both (stations.hours_words)
        fields["opening_hours"] = text["opening_hours"]
    status = text.get("operating_status")
    if status:
        if status.lower() not in _STATUS_ALIASES:
            raise InvalidValue("operating_status", status, "unknown status", OPERATING_STATUSES)
        fields["operating_status"] = _STATUS_ALIASES[status.lower()]
    if text.get("capacity"):
        fields["capacity"] = _optional_number(record, "capacity", integer=True)
    if text.get("area_m2"):
        fields["area_m2"] = _optional_number(record, "area_m2")
    amenities = {}
    present = _AMENITY_SET.intersection(record)  # a record has few amenities: a look-up for each of 24 is not free
    for amenity in sorted(present, key=_AMENITY_ORDER.__getitem__) if len(present) > 1 else present:
        value = record[amenity]
        if value is None or value == "":
            continue  # unknown; most cells of a wide sheet, so skipped without the text handling below
        raw = text[amenity].lower()
        if raw not in _TRISTATE_ALIASES:
            raise InvalidValue(amenity, record.get(amenity), "not a yes/no value", ["yes", "no", "(empty)"])
        if _TRISTATE_ALIASES[raw] is not None:
            amenities[amenity] = _TRISTATE_ALIASES[raw]
    fields["amenities"] = amenities
    fields["external_ids"] = {
        key.removeprefix(EXTERNAL_ID_PREFIX): value
        for key, value in text.items()
        if value and key.startswith(EXTERNAL_ID_PREFIX) and len(key) > len(EXTERNAL_ID_PREFIX)
    }
    fields["id"] = text.get("id") or generated_id(name, lon, lat)
    return fields


_AMENITY_SET = frozenset(AMENITIES)
_AMENITY_ORDER = {name: i for i, name in enumerate(AMENITIES)}
"""Amenities in the model's order: ``_fields`` checks a record's in that order (its first bad one is reported)."""

_STATIONS = TypeAdapter(list[Station])


def _validated(rows: list[tuple[int, dict[str, Any]]]) -> Iterator[tuple[int, Station | None, list[RowProblem]]]:
    """Each row's Station (or None) and its problems, in order: rows that cheap checks show valid (``_trusted``)
    built without pydantic, the others validated by it (``_validated_by_pydantic``), so every problem is
    pydantic's own, worded as ever."""
    trusted = [_trusted(fields) for _, fields in rows]
    checked = _validated_by_pydantic([r for r, station in zip(rows, trusted, strict=True) if station is None])
    for (row, _), station in zip(rows, trusted, strict=True):
        yield (row, station, []) if station is not None else next(checked)


def _trusted(fields: dict[str, Any]) -> Station | None:
    """The Station that validation makes of ``fields`` (from ``_fields``), built without it (``unchecked_station``)
    when cheap checks show that validation would accept them unchanged; None when it might not (a control
    character, a lone surrogate, a value past its length, an id or adcode out of the ordinary, a photo URL or
    a date, external ids, hours that do not read): pydantic then decides, and words any problem.

    The texts come from ``_text``, stripped already (Python strips every character pydantic's
    ``str_strip_whitespace`` does, and more); types, status and amenities from their alias tables.
    """
    if not _TRUSTED_KEYS.issuperset(fields) or fields["external_ids"]:
        return None
    station_id, name, lon, lat = fields["id"], fields["name"], fields["lon"], fields["lat"]
    if (
        not (0 < len(station_id) <= _MAX_ID and 0 < len(name) <= _MAX_CHARS["name"])
        or not (station_id.isascii() and station_id.isprintable())
        or not _ID.match(station_id)
        or station_id in (".", "..")
        or station_id.lower() in RESERVED_IDS
        or type(lon) is not float
        or type(lat) is not float
        or not (-180 <= lon <= 180 and -90 <= lat <= 90)
    ):
        return None
    texts = [station_id, name]
    for key in _OPTIONAL_TEXTS.intersection(fields):
        value = fields[key]
        if len(value) > _MAX_CHARS[key]:
            return None
        texts.append(value)
    joined = "\t".join(texts)
    if CONTROL_CHARACTER.search(joined):
        return None
    if not joined.isascii():
        try:
            joined.encode()
        except UnicodeEncodeError:  # a lone surrogate
            return None
    adcode = fields.get("adcode")
    if adcode is not None and not (len(adcode) == 6 and adcode.isascii() and adcode.isdigit()):
        return None
    capacity, area = fields.get("capacity"), fields.get("area_m2")
    if (capacity is not None and not (type(capacity) is int and 0 <= capacity <= MAX_CAPACITY)) or (
        area is not None and not (type(area) is float and area > 0)
    ):
        return None
    if "opening_hours" in fields:
        try:
            hours = hours_words.to_osm(fields["opening_hours"])
        except Exception:  # whatever it raises, pydantic reports it as it always has
            return None
        fields["opening_hours"] = hours
    names = tuple(fields)  # the fields set, before the values change (here, in place: the row is trusted now)
    fields["types"] = _shared_types(fields["types"])
    for key in _REPEATED_TEXTS.intersection(fields):  # one object per distinct text in memory, not one per row
        fields[key] = sys.intern(fields[key])
    return unchecked_station(fields, names)


def _shared_types(types: list[str]) -> tuple[str, ...]:
    """A row's types without repeats, as the model keeps them: one tuple per distinct list (a file has a few)."""
    key = tuple(types)
    found = _TYPE_TUPLES.get(key)
    if found is None:
        found = tuple(dict.fromkeys(types))
        if len(_TYPE_TUPLES) < 256:  # a few dozen in practice (``STATION_TYPES``, in some order, some repeated)
            _TYPE_TUPLES[key] = found
    return found


_TYPE_TUPLES: dict[tuple[str, ...], tuple[str, ...]] = {}
_REPEATED_TEXTS = frozenset({"host", "source", "district"})
"""Fields whose texts repeat across a file's rows (who runs the stations, the source, the district)."""


_OPTIONAL_TEXTS = frozenset({"host", "address", "district", "phone", "source", "opening_hours", "adcode"})
_TRUSTED_KEYS = _OPTIONAL_TEXTS | {
    "id", "name", "types", "lon", "lat", "operating_status", "capacity", "area_m2", "amenities", "external_ids",
}  # fmt: skip
_MAX_CHARS = {
    key: next(m.max_length for m in Station.model_fields[key].metadata if hasattr(m, "max_length"))
    for key in _OPTIONAL_TEXTS | {"name"}
    if key != "adcode"
} | {"adcode": 6}
_MAX_ID = next(m.max_length for m in Station.model_fields["id"].metadata if hasattr(m, "max_length"))
_ID = re.compile(ID_PATTERN)
"""The model's own id pattern, compiled once."""


def _validated_by_pydantic(
    rows: list[tuple[int, dict[str, Any]]],
) -> Iterator[tuple[int, Station | None, list[RowProblem]]]:
    """Each row's Station (or None) and its problems, in order: the fields of all ``rows`` validated by one
    pydantic call (a list adapter: ~20% less than a call per row); when some fail, the rest again without them."""
    try:
        stations = _STATIONS.validate_python([fields for _, fields in rows])
    except ValidationError as exc:
        problems: dict[int, list[RowProblem]] = {}
        for e in exc.errors():
            position, *loc = e["loc"]
            row = rows[int(position)][0]
            problems.setdefault(int(position), []).append(
                RowProblem(
                    row, ".".join(map(str, loc)) or "*", _shown(e.get("input")), e["msg"].removeprefix("Value error, ")
                )
            )
        good = [(row, fields) for position, (row, fields) in enumerate(rows) if position not in problems]
        valid = iter(_STATIONS.validate_python([fields for _, fields in good]))
        for position, (row, _) in enumerate(rows):
            if position in problems:
                yield row, None, problems[position]
            else:
                yield row, next(valid), []
        return
    for (row, _), station in zip(rows, stations, strict=True):
        yield row, station, []


def _reason(error: InvalidValue) -> str:
    return f"{error.reason} (valid: {', '.join(error.valid)})" if error.valid else error.reason
