"""Siting through the API and the CLI on the sample registry and demand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sample_client import sample_client
from typer.testing import CliRunner

from api import cli
from geo.distance import haversine_m
from stations.planning.exports import read_report_csv

BODY = {"add": 5, "radius_m": 1000, "types": ["outdoor_worker"], "cell_m": 200}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_client(tmp_path_factory.mktemp("siting") / "s.sqlite3") as test_client:
        yield test_client


def test_proposals_are_ranked_and_exact_matches_or_beats_greedy(client: TestClient) -> None:
    body = client.post("/siting", json={**BODY, "method": "both"}).json()
    features, summary = body["features"], body["summary"]
    assert [f["properties"]["rank"] for f in features] == [1, 2, 3, 4, 5]
    gains = [f["properties"]["gain"] for f in features]
    assert gains == sorted(gains, reverse=True) and all(g > 0 for g in gains)
    greedy, exact = summary["solutions"]["greedy"], summary["solutions"]["exact"]
    assert exact["optimal"] and exact["gap"] == 0 and exact["objective"] >= greedy["objective"] - 1e-6
    assert greedy["objective"] >= 0.98 * exact["objective"]
    assert summary["weight_unit"] == "demand"
    assert summary["covered_share_after"] > summary["covered_share_before"]
    assert sum(d["new_sites"] for d in summary["districts"]) == 5
    for district in summary["districts"]:
        assert district["demand_covered_share_after"] >= district["demand_covered_share_before"] - 1e-9


def test_each_proposal_is_farther_than_the_radius_from_existing_stations_demand(client: TestClient) -> None:
    features = client.post("/siting", json=BODY).json()["features"]
    stations = client.get("/stations", params={"limit": 10_000, "types": "outdoor_worker"}).json()["features"]
    serving = [s["geometry"]["coordinates"] for s in stations if s["properties"]["operating_status"] != "closed"]
    for feature in features:
        lon, lat = feature["geometry"]["coordinates"]
        nearest = min(float(haversine_m(lon, lat, x, y)) for x, y in serving)
        assert nearest > 500  # sites go where demand is uncovered, not next to a station


def test_target_share_and_user_candidates(client: TestClient) -> None:
    body = client.post("/siting", json={**BODY, "add": None, "target_share": 0.78, "method": "exact"}).json()
    assert body["summary"]["covered_share_after"] >= 0.78 and body["summary"]["solutions"]["exact"]["optimal"]
    candidates = [
        {"lon": 120.2078, "lat": 30.4503, "name": "临平工会大楼"},
        {"lon": 120.16, "lat": 30.25, "name": "湖滨"},
    ]
    chosen = client.post("/siting", json={**BODY, "add": 1, "candidates": candidates}).json()["features"]
    assert [f["properties"]["name"] for f in chosen] == ["临平工会大楼"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"add": 0}, "add"),
        ({"add": 10_000}, "add"),
        ({"add": None, "target_share": 1.5}, "target_share"),
        ({"add": None, "target_share": 1.0, "candidates": [{"lon": 120.2078, "lat": 30.4503}]}, "target_share"),
        ({"radius_m": -1}, "radius_m"),
        ({"method": "magic"}, "method"),
        ({"candidates": [{"lon": 0.0, "lat": 0.0}]}, "candidates"),
        ({"add": 3, "candidates": [{"lon": 120.2, "lat": 30.45}]}, "add"),
        ({"quotas": {"999999": 1}}, "adcode"),
    ],
)
def test_bad_siting_input_is_a_422_naming_the_field(client: TestClient, body: dict, field: str) -> None:
    response = client.post("/siting", json={**BODY, **body})
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["field"] == field


def test_quota_and_spacing_are_respected(client: TestClient) -> None:
    body = {**BODY, "add": 6, "quotas": {"330110": 1}, "min_spacing_m": 3000, "method": "exact"}
    features = client.post("/siting", json=body).json()["features"]
    assert sum(f["properties"]["adcode"] == "330110" for f in features) <= 1
    points = [f["geometry"]["coordinates"] for f in features]
    for i, a in enumerate(points):
        for b in points[i + 1 :]:
            assert float(haversine_m(*a, *b)) > 2990  # planar 3 km, within 0.5% on the sphere


def test_cli_site_prints_ranked_sites_and_writes_files(sample_runner: CliRunner, tmp_path: Path) -> None:
    sites, page = tmp_path / "sites.csv", tmp_path / "sites.html"
    args = ["site", "--add", "3", "--cell", "200", "--types", "outdoor_worker", "-o", str(sites), "--map", str(page)]
    result = sample_runner.invoke(cli.app, args)
    assert result.exit_code == 0, result.output
    assert "proposed sites" in result.output and "→" in result.output
    metadata, rows = read_report_csv(sites.read_text(encoding="utf-8-sig"))
    assert [r["排名"] for r in rows] == ["1", "2", "3"] and metadata["服务半径 m"] == "1000"
    assert "服务空白" in page.read_text(encoding="utf-8")
    geojson = tmp_path / "sites.geojson"
    assert sample_runner.invoke(cli.app, ["site", "--add", "2", "--cell", "200", "-o", str(geojson)]).exit_code == 0
    assert len(json.loads(geojson.read_text(encoding="utf-8"))["features"]) == 2


def test_cli_site_with_a_candidate_file_and_bad_input(sample_runner: CliRunner, tmp_path: Path) -> None:
    candidates = tmp_path / "候选.csv"
    candidates.write_text("名称,经度,纬度\n临平工会大楼,120.2078,30.4503\n湖滨,120.16,30.25\n", encoding="gbk")
    result = sample_runner.invoke(cli.app, ["site", "--add", "1", "--cell", "200", "--candidates", str(candidates)])
    assert result.exit_code == 0, result.output
    assert "临平工会大楼" in result.output
    both = ["site", "--add", "1", "--target", "0.5", "--cell", "200"]
    assert sample_runner.invoke(cli.app, both).exit_code == 1  # either --add or --target (alone: 10 sites, as the API)
    assert sample_runner.invoke(cli.app, ["site", "--add", "1", "--method", "magic"]).exit_code == 1
