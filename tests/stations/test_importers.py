"""Importers: canonical and Chinese headers, encodings, formats, and every kind of bad row."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest

from geo.crs import transform
from stations.errors import FileUnreadable, InvalidValue
from stations.exporters import feature_collection, station_feature, to_csv
from stations.importers import parse_file

CANONICAL = (
    "id,name,types,lon,lat,opening_hours,hot_water,microwave\n"
    "A1,武林驿站,outdoor_worker,120.16,30.27,24/7,yes,no\n"
    "A2,湖滨母婴室,nursing_room;outdoor_worker,120.17,30.26,,,\n"
)
CHINESE = (
    "名称,类型,经度,纬度,地址,所属区县,开放时间,联系电话,热水,微波炉\n"
    "文三路爱心驿站,爱心驿站,120.13,30.28,杭州市西湖区文三路1号,西湖区,"
    '"Mo-Fr 08:30-11:00,13:30-17:00",0571-88888888,是,否\n'
)


def test_canonical_csv() -> None:
    parsed = parse_file(CANONICAL.encode(), "s.csv")
    assert parsed.problems == [] and parsed.rows == 2
    a1, a2 = parsed.stations
    assert (a1.id, a1.types, a1.lon, a1.lat, a1.opening_hours) == (
        "A1",
        ("outdoor_worker",),
        120.16,
        30.27,
        "24/7",
    )
    assert a1.amenities == {"hot_water": "yes", "microwave": "no"}
    assert a2.types == ("nursing_room", "outdoor_worker") and a2.opening_hours is None and a2.amenities == {}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_chinese_headers_in_every_encoding(encoding: str) -> None:
    text = CHINESE  # the quoted split-shift value keeps its comma
    parsed = parse_file(text.encode(encoding), "驿站.csv")
    assert parsed.problems == []
    (station,) = parsed.stations
    assert station.name == "文三路爱心驿站" and station.types == ("outdoor_worker",)
    assert station.opening_hours == "Mo-Fr 08:30-11:00,13:30-17:00"
    assert station.address == "杭州市西湖区文三路1号" and station.district == "西湖区"
    assert station.phone == "0571-88888888" and station.amenities == {"hot_water": "yes", "microwave": "no"}
    assert station.id.startswith("ST-")  # a stable generated id...
    assert parse_file(text.encode(encoding), "again.csv").stations[0].id == station.id  # ...the same every time


def test_undecodable_bytes_are_refused() -> None:
    with pytest.raises(FileUnreadable, match="neither UTF-8 nor GBK"):
        parse_file(b"name,types,lon,lat\n\xff\xfe\xfa\x80,x,1,2\n" * 3 + b"\x80\x81\xff", "bad.csv")


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_chinese_map_coordinates_are_stored_as_wgs84(crs: str) -> None:
    lon, lat = transform(120.16, 30.27, "wgs84", crs)
    per_row = f"name,types,lon,lat,crs\nx,outdoor_worker,{float(lon)!r},{float(lat)!r},{crs}\n"
    whole_file = f"name,types,lon,lat\nx,outdoor_worker,{float(lon)!r},{float(lat)!r}\n"
    for parsed in (parse_file(per_row.encode(), "a.csv"), parse_file(whole_file.encode(), "b.csv", crs=crs)):
        (station,) = parsed.stations
        assert station.lon == pytest.approx(120.16, abs=1e-7) and station.lat == pytest.approx(30.27, abs=1e-7)


def test_crs_aliases_unions_write() -> None:
    lon, lat = transform(120.16, 30.27, "wgs84", "gcj02")
    text = f"名称,类型,经度,纬度,坐标系\nx,司机之家,{float(lon)!r},{float(lat)!r},高德\n"
    (station,) = parse_file(text.encode(), "a.csv").stations
    assert station.types == ("driver_home",) and station.lon == pytest.approx(120.16, abs=1e-7)


BAD_ROWS = [
    ("x,outdoor_worker,abc,30", "lon", "not a number"),
    ("x,outdoor_worker,,30", "lon", "not a number"),
    ("x,outdoor_worker,nan,30", "lon", "finite"),
    ("x,outdoor_worker,inf,30", "lon", "finite"),
    ("x,outdoor_worker,181,30", "lon", "within [-180, 180]"),
    ("x,outdoor_worker,120,91", "lat", "within [-90, 90]"),
    ("x,outdoor_worker,30.25,120.16", "lat", "look swapped"),
    ("x,spaceship,120,30", "types", "valid: outdoor_worker, driver_home, nursing_room"),
    (",outdoor_worker,120,30", "name", "at least 1 character"),
    ("x,,120,30", "types", "at least one type"),
    ("x,outdoor_worker,120,30,extra", "*", "expected 4 fields, got 5"),
    ("x,outdoor_worker", "*", "expected 4 fields, got 2"),
]


@pytest.mark.parametrize(("row", "field", "reason"), BAD_ROWS)
def test_each_bad_row_is_reported_with_row_field_value_and_reason(row: str, field: str, reason: str) -> None:
    text = "name,types,lon,lat\ngood,outdoor_worker,120.1,30.2\n" + row + "\n"
    parsed = parse_file(text.encode(), "s.csv")
    (problem,) = parsed.problems
    assert problem.row == 3 and problem.field == field and reason in problem.reason
    assert [s.name for s in parsed.stations] == ["good"]


@pytest.mark.parametrize(
    ("column", "value", "field", "reason"),
    [
        ("opening_hours", "Mo-Fx 08:00", "opening_hours", "not valid OpenStreetMap opening_hours"),
        ("hot_water", "maybe", "hot_water", "not a yes/no value"),
        ("operating_status", "exploded", "operating_status", "valid: normal"),
        ("adcode", "33010", "adcode", "pattern"),
        ("capacity", "2.5", "capacity", "whole number"),
        ("capacity", "-1", "capacity", "greater than or equal to 0"),
        ("verified_at", "last week", "verified_at", "date"),
        ("crs", "epsg:3857", "crs", "valid: wgs84, gcj02, bd09"),
        ("id", "a/b", "id", "pattern"),
    ],
)
def test_bad_field_values(column: str, value: str, field: str, reason: str) -> None:
    text = f"name,types,lon,lat,{column}\nx,outdoor_worker,120.1,30.2,{value}\n"
    (problem,) = parse_file(text.encode(), "s.csv").problems
    assert (problem.row, problem.field, problem.value) == (2, field, value)
    assert reason in problem.reason


def test_duplicated_ids_in_one_file() -> None:
    text = "id,name,types,lon,lat\nA,x,outdoor_worker,120,30\nB,y,outdoor_worker,120,30\nA,z,nursing_room,121,31\n"
    parsed = parse_file(text.encode(), "s.csv")
    (problem,) = parsed.problems
    assert (problem.row, problem.field, problem.value) == (4, "id", "A") and "also on row 2" in problem.reason


def test_every_problem_of_a_half_valid_file_is_reported() -> None:
    good = "".join(f"S{i},x{i},outdoor_worker,120.{i},30.2\n" for i in range(10))
    bad = "B1,y,outdoor_worker,abc,30\nB2,z,bogus,120,30\n"
    parsed = parse_file(("id,name,types,lon,lat\n" + good + bad).encode(), "s.csv")
    assert [(p.row, p.field) for p in parsed.problems] == [(12, "lon"), (13, "types")]
    assert len(parsed.stations) == 10


def test_files_without_required_columns_or_with_conflicting_ones() -> None:
    with pytest.raises(FileUnreadable, match=r"missing column.*lat"):
        parse_file(b"name,types,lon\nx,outdoor_worker,120\n", "s.csv")
    with pytest.raises(FileUnreadable, match="both mean 'name'"):
        parse_file("name,名称,types,lon,lat\n".encode(), "s.csv")
    with pytest.raises(FileUnreadable, match="empty"):
        parse_file(b"", "s.csv")
    with pytest.raises(InvalidValue, match="unsupported file type"):
        parse_file(b"whatever", "stations.pdf")


def test_unknown_columns_are_warned_about_not_fatal() -> None:
    parsed = parse_file("name,types,lon,lat,备注\nx,母婴室,120,30,note\n".encode(), "s.csv")
    assert parsed.problems == [] and [w.field for w in parsed.warnings] == ["备注"]


def _xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    for row in rows:
        workbook.active.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def test_xlsx_with_chinese_headers_numbers_and_dates() -> None:
    from datetime import datetime

    data = _xlsx(
        [
            ["名称", "类型", "经度", "纬度", "开放时间", "容纳人数", "核实日期", "热水"],
            ["西湖驿站", "工会驿站", 120.13, 30.26, "24小时", 8, datetime(2026, 3, 1), "有"],
            ["坏行", "工会驿站", "东经120度", 30.26, None, None, None, None],
        ]
    )
    parsed = parse_file(data, "stations.xlsx")
    (station,) = parsed.stations
    assert station.opening_hours == "24/7" and station.capacity == 8 and str(station.verified_at) == "2026-03-01"
    assert station.amenities == {"hot_water": "yes"}
    (problem,) = parsed.problems
    assert (problem.row, problem.field) == (3, "lon")


def test_not_a_workbook() -> None:
    with pytest.raises(FileUnreadable, match="XLSX"):
        parse_file(b"PK\x03\x04 not really a zip", "s.xlsx")


def test_geojson_points_and_bad_geometries() -> None:
    document = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [120.1, 30.2]},
             "properties": {"名称": "甲", "类型": "母婴室", "amenities": {"changing_table": "yes"}}},
            {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]},
             "properties": {"name": "乙", "types": "outdoor_worker"}},
        ],
    }  # fmt: skip
    parsed = parse_file(json.dumps(document, ensure_ascii=False).encode(), "s.geojson")
    (station,) = parsed.stations
    assert station.name == "甲" and station.amenities == {"changing_table": "yes"}
    assert [(p.row, p.field) for p in parsed.problems] == [(2, "geometry")]
    with pytest.raises(FileUnreadable, match="malformed JSON"):
        parse_file(b"{not json", "s.geojson")
    with pytest.raises(FileUnreadable, match="FeatureCollection"):
        parse_file(b'{"type": "Point", "coordinates": [1, 2]}', "s.geojson")


def test_exports_import_back_unchanged() -> None:
    stations = parse_file(CANONICAL.encode(), "s.csv").stations
    assert parse_file(to_csv(stations).encode(), "e.csv").stations == stations
    collection = feature_collection(station_feature(s, s.lon, s.lat) for s in stations)  # as GET /stations
    geojson = json.dumps(collection, ensure_ascii=False).encode()
    assert parse_file(geojson, "e.geojson").stations == stations


def test_export_in_gcj02_imports_back_with_its_crs_column() -> None:
    stations = parse_file(CANONICAL.encode(), "s.csv").stations
    again = parse_file(to_csv(stations, "gcj02").encode(), "e.csv").stations
    for before, after in zip(stations, again, strict=True):
        assert after.lon == pytest.approx(before.lon, abs=1e-6) and after.lat == pytest.approx(before.lat, abs=1e-6)


def test_formula_cells_are_neutralised_in_csv_export() -> None:
    text = 'name,types,lon,lat,phone\n"=HYPERLINK(""http://x"")",outdoor_worker,120,30,+86 571\n'
    stations = parse_file(text.encode(), "s.csv").stations
    exported = to_csv(stations)
    assert "'=HYPERLINK" in exported and "'+86 571" in exported


def test_a_capacity_past_the_most_a_station_holds_is_a_problem_of_its_row() -> None:
    """A capacity of 10²⁰ would come back from the snapshot's JSON as a float: it is refused, by name, on its row."""
    from stations.model import MAX_CAPACITY

    rows = [f"A,甲,outdoor_worker,120.1,30.2,{MAX_CAPACITY}", "B,乙,outdoor_worker,120.1,30.3,1e20"]
    data = "\n".join(["id,name,types,lon,lat,capacity", *rows]) + "\n"
    parsed = parse_file(data.encode(), "s.csv")
    assert [s.capacity for s in parsed.stations] == [MAX_CAPACITY]
    assert [(p.row, p.field) for p in parsed.problems] == [(3, "capacity")]
