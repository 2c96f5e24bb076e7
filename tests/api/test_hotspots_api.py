"""GET /hotspots and ``yizhan hotspots`` on the sample registry and demand layer: the answers agree with the coverage
table and the gaps of the same request, label points lie beyond the radius, bad input is a 4xx naming the field."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import numpy as np
import pytest
import shapely
from fastapi.testclient import TestClient
from sample_client import sample_client
from typer.testing import CliRunner

from api import cli
from geo.distance import haversine_m
from stations.planning.exports import read_report_csv
from stations.settings import SAMPLE_DIR

BASE = {"radius_m": 1000, "cell_m": 200, "types": "outdoor_worker"}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_client(tmp_path_factory.mktemp("hotspots") / "h.sqlite3") as test_client:  # sample demand
        yield test_client


def serving(client: TestClient) -> tuple[np.ndarray, np.ndarray]:
    features = client.get("/stations", params={"types": "outdoor_worker", "limit": 10_000, "format": "geojson"}).json()
    points = [f["geometry"]["coordinates"] for f in features["features"] if f["properties"].get("operating_status")
              != "closed"]  # fmt: skip
    lon, lat = np.array(points).T
    return lon, lat


def test_hotspots_agree_with_coverage_and_gaps(client: TestClient) -> None:
    answer = client.get("/hotspots", params={**BASE, "limit": 30})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/geo+json")
    body = answer.json()
    summary, features = body["summary"], body["features"]
    assert len(features) == 30 and summary["shown"] == 30 and summary["hotspots"] > 100
    assert [f["properties"]["rank"] for f in features] == list(range(1, 31))
    demands = [f["properties"]["demand"] for f in features]
    assert demands == sorted(demands, reverse=True)
    # the unserved demand is the coverage table's: demand × (1 − demand-covered share), summed over districts
    rows = client.get("/coverage", params=BASE).json()["districts"]
    unserved = sum(r["demand"] * (1 - r["demand_covered_share"]) for r in rows)
    assert summary["unserved"] == pytest.approx(unserved, rel=1e-3)
    # the gaps are those of /gaps, in the same order, with their stations
    gaps = client.get("/gaps", params={**BASE, "limit": 5}).json()["features"]
    by_rank = {need["gap_rank"]: need for need in summary["gaps"] if need["gap_rank"] is not None}
    for gap in gaps:  # each gap's label point lies inside it, beyond the radius (its centroid need not)
        label = gap["properties"]["label_point"]
        assert shapely.geometry.shape(gap["geometry"]).buffer(1e-7).covers(shapely.Point(label))
        assert gap["properties"]["label_station_m"] > 1000
        need = by_rank.get(gap["properties"]["rank"])
        if need is not None:
            assert need["area_km2"] == pytest.approx(gap["properties"]["area_km2"], abs=1e-3)
            assert need["district"] == gap["properties"]["district"]
            assert need["stations"] >= need["stations_at_least"] >= 1
    big = max(summary["gaps"], key=lambda need: need["area_km2"])
    assert big["area_km2"] > 500 and big["stations"] > 20  # a rural gap: many stations, not one row
    # label points beyond the radius of every serving station (brute force, great circle: the answer measures in
    # the coverage's equal-area plane, within 0.5% of it)
    lon, lat = serving(client)
    for feature in features:
        p = feature["properties"]
        nearest = haversine_m(p["label_lon"], p["label_lat"], lon, lat).min()
        assert p["nearest_station_m"] > 1000 and p["nearest_station_m"] == pytest.approx(nearest, rel=0.005)
        assert p["reach_m"] <= 1000 and p["demand_unit"] == "demand"
    for need in summary["gaps"]:
        assert haversine_m(need["label_lon"], need["label_lat"], lon, lat).min() >= 1000 * 0.995


def test_formats_and_one_district(client: TestClient) -> None:
    rows = client.get("/hotspots", params={**BASE, "format": "json", "adcode": "330106", "limit": 5}).json()
    assert {row["adcode"] for row in rows["rows"]} == {"330106"} and len(rows["rows"]) <= 5
    text = client.get("/hotspots", params={**BASE, "format": "csv", "limit": 4})
    assert text.headers["content-type"].startswith("text/csv")
    metadata, table = read_report_csv(text.text)
    assert metadata["服务半径 m"] == "1000" and metadata["坐标系"].startswith("WGS-84")
    assert len(table) == 4 and table[0]["编号"] == "1" and "建议站址经度(WGS-84)" in table[0]
    gaps = client.get("/hotspots", params={**BASE, "format": "csv", "table": "gaps", "limit": 3, "lang": "en"}).text
    assert read_report_csv(gaps)[1][0]["Stations (greedy plan)"].isdigit()


@pytest.mark.parametrize(
    ("params", "field"),
    [({"radius_m": -1}, "radius_m"), ({"limit": 0}, "limit"), ({"types": "bus"}, "types"), ({"cell_m": 0}, "cell_m"),
     ({"adcode": "999999"}, "adcode")],
)  # fmt: skip
def test_bad_input_names_the_field(client: TestClient, params: dict[str, object], field: str) -> None:
    answer = client.get("/hotspots", params={**BASE, **params})
    assert 400 <= answer.status_code < 500
    assert field in answer.text


def test_cli_hotspots(sample_runner: CliRunner) -> None:
    result = sample_runner.invoke(cli.app, ["hotspots", "--cell", "200", "--limit", "3", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [f["properties"]["rank"] for f in body["features"]] == [1, 2, 3]
    table = sample_runner.invoke(cli.app, ["hotspots", "--cell", "200", "--limit", "3", "--lang", "en"])
    assert table.exit_code == 0 and "hot spots" in table.stdout and "stations each gap would take" in table.stdout
    chinese = sample_runner.invoke(cli.app, ["hotspots", "--cell", "200", "--limit", "2"])
    assert "热点" in chinese.stdout and "各缺口所需驿站数" in chinese.stdout
    bad = sample_runner.invoke(cli.app, ["hotspots", "--radius", "-5"])
    assert bad.exit_code != 0 and "radius_m" in bad.output


def test_hostile_station_names_come_back_as_text(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every outdoor-worker station renamed from the hostile family: the names the answers give for the nearest
    station are exactly the family's, in GeoJSON and CSV (formulas guarded, and given back by unguard_formula)
    and in the CLI table (never read as rich markup)."""
    from rich.console import Console

    from api import cli_hotspots
    from stations.exporters import unguard_formula
    from stations.settings import get_settings
    from tests.hostile import ALL

    source = (SAMPLE_DIR / "stations.csv").read_text(encoding="utf-8")
    records = list(csv.DictReader(io.StringIO(source)))
    outdoor = [r for r in records if "outdoor_worker" in r["types"].split(";")]
    for k, record in enumerate(outdoor):
        record["name"] = ALL[k % len(ALL)]
    hostile_file = tmp_path / "hostile.csv"
    with hostile_file.open("w", encoding="utf-8", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(records[0]))
        writer.writeheader()
        writer.writerows(outdoor)
    monkeypatch.setenv("YIZHAN_DATABASE_URL", f"sqlite:///{tmp_path / 'hostile.sqlite3'}")
    monkeypatch.setattr(cli_hotspots, "out", Console(width=250))
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        assert runner.invoke(cli.app, ["import", str(hostile_file)]).exit_code == 0
        base = ["hotspots", "--cell", "200", "--limit", "40"]
        body = json.loads(runner.invoke(cli.app, [*base, "--json"]).stdout)
        names = {f["properties"]["nearest_station_name"] for f in body["features"]}
        assert names and names <= set(ALL)
        table = read_report_csv(runner.invoke(cli.app, [*base, "--csv"]).stdout)[1]
        assert {unguard_formula(r["最近驿站"]) for r in table} == names
        shown = runner.invoke(cli.app, [*base, "--lang", "en"]).stdout
        for name in names:
            assert name in shown, name
    finally:
        get_settings.cache_clear()
