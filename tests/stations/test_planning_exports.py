"""Planning reports (``stations.planning.exports``): labelled headers, metadata, percent cells, coordinates."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import numpy as np
import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.crs import transform
from geo.distance import haversine_m
from stations.model import Station
from stations.planning.exports import (
    GAP_COLUMNS,
    SITE_COLUMNS,
    STREET_RADIUS_M,
    Column,
    ReportContext,
    Table,
    coverage_columns,
    geojson_in,
    percent_cell,
    read_report_csv,
    report_csv,
    report_xlsx,
    site_streets,
)
from stations.planning.requests import CoverageRequest
from tests.hostile import ALL as HOSTILE

MADE = datetime(2026, 12, 3, 16, 30, tzinfo=UTC)
ROWS = [
    {"adcode": "330106", "name": "西湖区", "area_km2": 309.4, "stations_outdoor_worker": 50,
     "stations_driver_home": 3, "stations_nursing_room": 20, "covered_share": 0.6148, "uncovered_km2": 119.2,
     "median_distance_m": 640.0, "p90_distance_m": 2900.0, "demand": 123456.7, "demand_covered_share": 0.9},
    {"adcode": "330127", "name": "淳安县", "area_km2": 4400.0, "stations_outdoor_worker": 2,
     "stations_driver_home": 0, "stations_nursing_room": 0, "covered_share": 0.001, "uncovered_km2": 4395.6,
     "median_distance_m": None, "p90_distance_m": None, "demand": 3.0, "demand_covered_share": None},
]  # fmt: skip


def context(**changes: Any) -> ReportContext:
    values: dict[str, Any] = {
        "request": CoverageRequest(1000, ("outdoor_worker",), 100),
        "version": 42,
        "source": "工会驿站名录 (CC BY 4.0)",
        "demand": True,
        "generated_at": MADE,
    }
    return ReportContext(**{**values, **changes})


def table() -> Table:
    return Table("覆盖率", "Coverage", coverage_columns(True), [dict(row) for row in ROWS])


def test_headers_are_labelled_with_their_units_in_each_language() -> None:
    _, zh_rows = read_report_csv(report_csv(table(), context()))
    assert list(zh_rows[0]) == [
        "行政区划代码", "区县", "面积 km²", "驿站数 骑手/户外劳动者", "驿站数 司机之家", "驿站数 母婴室", "覆盖率 %",
        "未覆盖面积 km²", "到最近驿站距离中位数 m", "到最近驿站距离90分位 m", "需求 人", "需求覆盖率 %",
    ]  # fmt: skip
    _, en_rows = read_report_csv(report_csv(table(), context(lang="en")))
    assert list(en_rows[0])[:3] == ["Adcode", "District", "Area (km²)"] and "Covered (%)" in en_rows[0]
    assert "Demand (people)" in en_rows[0] and "Median distance to a station (m)" in en_rows[0]
    assert [c.label("zh", "bd09") for c in GAP_COLUMNS if c.kind in ("lon", "lat")] == [
        "标注点经度(BD-09)", "标注点纬度(BD-09)"
    ]  # fmt: skip
    assert [c.label("en", "gcj02") for c in SITE_COLUMNS[:2]] == ["Rank", "Newly covered demand (people)"]
    assert [c.label("zh", "gcj02") for c in SITE_COLUMNS[5:7]] == ["经度(GCJ-02)", "纬度(GCJ-02)"]


def test_csv_shares_are_percentages_with_one_decimal_and_the_rest_as_given() -> None:
    _, rows = read_report_csv(report_csv(table(), context()))
    assert rows[0]["覆盖率 %"] == "61.5" and rows[0]["需求覆盖率 %"] == "90.0"
    assert rows[1]["覆盖率 %"] == "0.1" and rows[1]["需求覆盖率 %"] == "" and rows[1]["到最近驿站距离中位数 m"] == ""
    assert rows[0]["需求 人"] == "123456.7" and rows[0]["区县"] == "西湖区"
    assert percent_cell(0.99949) == 99.9 and percent_cell(float("nan")) is None


def test_csv_opens_as_metadata_rows_a_blank_row_then_the_table() -> None:
    text = report_csv(table(), context())
    lines = list(csv.reader(io.StringIO(text, newline="")))
    blank = lines.index([])
    assert lines[0] == ["项目", "值"] and all(len(line) == 2 for line in lines[1:blank])
    assert lines[blank + 1][0] == "行政区划代码" and len(lines) == blank + 2 + len(ROWS)
    assert text.count("\r\n\r\n") == 1  # one blank row, CR LF line ends (RFC 4180)


def test_metadata_says_what_the_report_answers() -> None:
    filters = {"open_at": "2026-12-03T22:00:00+08:00", "open_at_note": "时间未注明时区，按北京时间（UTC+8）计算",
               "open_at_note_en": "China time", "amenities": ["hot_water"], "unknown_hours": "separate"}  # fmt: skip
    metadata, _ = read_report_csv(report_csv(table(), context(crs="gcj02", station_filters=filters)))
    assert metadata["服务半径 m"] == "1000" and metadata["网格边长 m"] == "100"
    assert metadata["驿站类型"] == "骑手/户外劳动者"
    assert metadata["筛选条件"] == "设施=热水; 营业时间未知的驿站单独列出"
    assert metadata["时间"].startswith("open_at=2026-12-03T22:00:00+08:00") and "北京时间" in metadata["时间"]
    assert metadata["驿站库版本"] == "42" and metadata["数据来源"] == "工会驿站名录 (CC BY 4.0)"
    assert metadata["坐标系"].startswith("GCJ-02") and metadata["计量"] == "需求图层（人）"
    assert metadata["生成时间"] == "2026-12-04T00:30:00+08:00"
    plain, _ = read_report_csv(report_csv(table(), context(request=CoverageRequest(500, (), 50), lang="en")))
    assert (
        plain["Filters"] == "none" and plain["Time"].startswith("any time") and plain["Station types"].startswith("all")
    )
    as_json = context(station_filters=filters).metadata_json()
    assert as_json["filters"] == {"amenities": ["hot_water"], "unknown_hours": "separate"}
    assert as_json["time"] == {"open_at": "2026-12-03T22:00:00+08:00"} and as_json["coordinate_system"] == "wgs84"
    assert as_json["types"] == ["outdoor_worker"] and as_json["radius_m"] == 1000 and as_json["lang"] == "zh"


def test_xlsx_shares_are_fractions_formatted_as_percent_with_a_metadata_sheet() -> None:
    workbook = openpyxl.load_workbook(io.BytesIO(report_xlsx([table()], context(lang="en"))))
    assert workbook.sheetnames == ["Coverage", "About"]
    sheet = workbook["Coverage"]
    header = [cell.value for cell in sheet[1]]
    share = sheet.cell(row=2, column=header.index("Covered (%)") + 1)
    assert share.value == pytest.approx(0.6148) and share.number_format == "0.0%"
    column = header.index("Demand covered (%)") + 1
    assert sheet.cell(row=2, column=column).number_format == "0.0%" and sheet.cell(row=3, column=column).value is None
    area = sheet.cell(row=2, column=header.index("Area (km²)") + 1)
    assert area.value == pytest.approx(309.4) and area.number_format == "General"
    about = {row[0]: row[1] for row in workbook["About"].iter_rows(min_row=2, values_only=True)}
    assert about["Service radius m"] == "1000" and about["Registry version"] == "42"
    zh = openpyxl.load_workbook(io.BytesIO(report_xlsx([table()], context())))
    assert zh.sheetnames == ["覆盖率", "说明"]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_text_in_metadata_and_cells_stays_text(hostile: str) -> None:
    filters = {"amenities": [hostile], "open_at": hostile, hostile: hostile}
    ctx = context(source=hostile, station_filters=filters)
    rows = [{**ROWS[0], "name": hostile}]
    text = report_csv(Table("覆盖率", "Coverage", coverage_columns(True), rows), ctx)
    metadata, (row,) = read_report_csv(text)
    guarded = "'" + hostile if hostile.startswith("=") else hostile
    assert row["区县"] == guarded and metadata["数据来源"] == guarded
    assert all(not value.startswith(("=", "+", "-", "@")) for value in metadata.values())
    workbook = openpyxl.load_workbook(
        io.BytesIO(report_xlsx([Table("覆盖率", "Coverage", coverage_columns(True), rows)], ctx))
    )
    for sheet in workbook.worksheets:
        for line in sheet.iter_rows():
            for cell in line:
                assert cell.data_type != "f", (sheet.title, cell.value)
    about = {r[0]: r[1] for r in workbook["说明"].iter_rows(min_row=2, values_only=True)}
    assert about["数据来源"] == guarded


china = st.tuples(st.floats(73.7, 134.7), st.floats(18.2, 53.5))


@settings(max_examples=60, deadline=None)
@given(points=st.lists(china, min_size=1, max_size=5), crs=st.sampled_from(["wgs84", "gcj02", "bd09"]))
def test_coordinates_in_each_system_come_back_to_wgs84(points: list[tuple[float, float]], crs: Any) -> None:
    """Points written in ``crs`` (columns and GeoJSON geometry) transformed back land within 0.5 m of WGS84."""
    from stations.planning.exports import _points_in

    lon, lat = _points_in(points, crs)
    back_lon, back_lat = transform(lon, lat, crs, "wgs84")
    original = np.array(points)
    assert float(np.max(haversine_m(original[:, 0], original[:, 1], back_lon, back_lat))) < 0.5
    features = [{"type": "Feature", "properties": {"centroid": list(points[0])},
                 "geometry": {"type": "MultiPoint", "coordinates": [list(p) for p in points]}}]  # fmt: skip
    moved = geojson_in({"type": "FeatureCollection", "features": features}, context(crs=crs), GAP_COLUMNS, ["centroid"])
    assert moved["coordinate_system"] == crs and moved["metadata"]["coordinate_system"] == crs
    (feature,) = moved["features"]
    xy = np.array(feature["geometry"]["coordinates"], dtype=float)
    back_lon, back_lat = transform(xy[:, 0], xy[:, 1], crs, "wgs84")
    assert float(np.max(haversine_m(original[:, 0], original[:, 1], back_lon, back_lat))) < 0.5
    cx, cy = feature["properties"]["centroid"]
    (bx,), (by,) = transform([cx], [cy], crs, "wgs84")
    assert float(haversine_m(points[0][0], points[0][1], bx, by)) < 0.5
    if crs != "wgs84":  # the systems differ by hundreds of metres in China: the test can tell them apart
        assert float(haversine_m(points[0][0], points[0][1], cx, cy)) > 1


def test_columns_member_labels_every_property_with_its_unit() -> None:
    moved = geojson_in({"type": "FeatureCollection", "features": []}, context(lang="en"), coverage_columns(False))
    labels = {c["key"]: c for c in moved["columns"]}
    assert labels["covered_share"] == {"key": "covered_share", "label": "Covered", "unit": "0-1"}
    assert labels["area_km2"]["unit"] == "km²" and labels["median_distance_m"]["unit"] == "m"
    assert Column("lon", "经度", "Longitude", kind="lon").json_label("zh", "gcj02")["unit"] == "GCJ-02"


def test_columns_a_filtered_coverage_adds_are_kept_and_labelled() -> None:
    from types import SimpleNamespace

    from stations.planning.exports import coverage_table

    rows = [{**ROWS[0], "unknown_only_share": 0.03, "night_km2": 1.5}]
    report: Any = SimpleNamespace(rows=lambda _adcode: rows)
    built = coverage_table(report)
    _, (zh,) = read_report_csv(report_csv(built, context()))
    assert zh["仅营业时间未知的驿站覆盖 %"] == "3.0" and zh["night_km2 km²"] == "1.5"
    _, (en,) = read_report_csv(report_csv(built, context(lang="en")))
    assert en["Covered only by stations of unknown hours (%)"] == "3.0"


def brute_streets(sites: list[dict[str, Any]], stations: list[Station]) -> list[str | None]:
    """The street of each site as the rule says it, one station at a time: of the stations not closed for good,
    in the site's district, within ``STREET_RADIUS_M``, whose address (or name) names a sub-district, the nearest's
    first such name (the first in the list among equally near ones)."""
    from stations.places import street_names

    found = []
    for site in sites:
        best: tuple[float, str] | None = None
        for station in stations:
            names = [n for n in street_names(station.address, station.name) if n.endswith(("街道", "镇", "乡"))]
            if station.operating_status == "closed" or station.adcode != site.get("adcode") or not names:
                continue
            metres = float(haversine_m(site["lon"], site["lat"], station.lon, station.lat))
            if metres <= STREET_RADIUS_M and (best is None or metres < best[0]):
                best = (metres, names[0])
        found.append(best[1] if best else None)
    return found


STREET_ADDRESSES = (None, "杭州市西湖区北山街道曙光路1号", "余杭区良渚镇", "拱墅区米市巷街道", "上城区湖滨路")


@settings(max_examples=60, deadline=None)
@given(
    placed=st.lists(
        st.tuples(
            st.integers(0, 60),
            st.integers(0, 60),
            st.sampled_from(STREET_ADDRESSES),
            st.sampled_from(["normal", "closed", "temporarily_closed"]),
            st.sampled_from([None, "330106", "330102"]),
        ),
        max_size=20,
    ),
    sites=st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60), st.sampled_from([None, "330106"])), max_size=4),
)
def test_a_sites_street_is_the_nearest_named_station_in_its_district(
    placed: list[tuple[int, int, str | None, str, str | None]], sites: list[tuple[int, int, str | None]]
) -> None:
    """``site_streets`` against the rule worked out one station at a time, on stations as a list and as a
    snapshot's columns (which read only the stations near each site)."""
    from stations.snapshot import Snapshot

    stations = [
        Station(
            id=f"S{i}",
            name=f"驿站{i}",
            types=["outdoor_worker"],
            lon=120.1 + x / 1000,
            lat=30.2 + y / 1000,
            address=address,
            operating_status=status,
            adcode=adcode,  # type: ignore[arg-type]
        )
        for i, (x, y, address, status, adcode) in enumerate(placed)
    ]
    asked = [{"lon": 120.1 + x / 1000, "lat": 30.2 + y / 1000, "adcode": adcode} for x, y, adcode in sites]
    expected = brute_streets(asked, stations)
    assert site_streets(asked, stations) == expected
    assert site_streets(asked, Snapshot(stations).stations) == expected
