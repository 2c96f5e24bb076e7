"""``GET /search`` and ``yizhan search`` (issue 14 item 3): places by name on both stores, points in the crs
asked for, and bad input — empty, 10 KB, control characters, hostile text — a clear 422 or an answer as text;
``GET /districts`` gives each district's starting point, inside it where its stations are."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import shapely
from fastapi import FastAPI
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api import cli, cli_search
from geo.crs import point_out
from geo.districts import Districts
from stations.model import Station
from stations.settings import Settings
from tests import hostile
from tests.conftest import DISTRICTS_PATH

WEST_LAKE = [
    ("W1", "西湖边驿站", "杭州市西湖区北山街1号", 120.145, 30.259),
    ("W2", "湖滨街道工会驿站", "杭州市上城区湖滨路2号", 120.163, 30.258),
    ("W3", "ＫＦＣ西湖店", "杭州市上城区延安路3号", 120.167, 30.252),
    ("W4", "已撤销西湖驿站", "杭州市西湖区北山街9号", 120.146, 30.258),
    *[(f"H{i}", name, f"杭州市上城区{name}路", 120.16 + i / 1000, 30.25) for i, name in enumerate(hostile.ALL)],
]


@pytest.fixture
def app(database_url: str) -> FastAPI:
    from api.app import create_app

    app = create_app(Settings(database_url=database_url, districts_path=DISTRICTS_PATH))
    return app


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        registry = app.state.registry
        for station_id, name, address, lon, lat in WEST_LAKE:
            station = Station(id=station_id, name=name, types=["outdoor_worker"], lon=lon, lat=lat, address=address)
            registry.create(station, "test")
        registry.delete("W4", "test")  # closed for good: never offered
        yield test_client


def places(client: TestClient, **params: object) -> list[dict]:
    response = client.get("/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()["places"]


def test_search_answers_districts_streets_and_stations(client: TestClient) -> None:
    found = places(client, q="西湖")
    assert [(p["kind"], p["name"]) for p in found] == [
        ("district", "西湖区"), ("station", "西湖边驿站"), ("station", "ＫＦＣ西湖店"),
    ]  # fmt: skip
    district = found[0]
    assert district["id"] == "330106" and district["stations"] == 1
    assert district["coordinates"] == [120.145, 30.259]  # its one serving station (W4 is closed)
    assert places(client, q="kfc")[0]["id"] == "W3"  # full-width and case folded
    streets = [p for p in places(client, q="北山") if p["kind"] == "street"]
    assert [(s["name"], s["detail"], s["stations"]) for s in streets] == [("北山街", "西湖区", 1)]
    assert [p["name"] for p in places(client, q="湖滨") if p["kind"] == "street"] == [
        "湖滨路",
        "湖滨街道",
    ]  # as many stations: shorter first
    assert len(places(client, q="驿站", limit=2)) == 2


def test_points_are_in_the_crs_asked_for(client: TestClient) -> None:
    (station,) = [p for p in places(client, q="西湖边", crs="gcj02") if p["kind"] == "station"]
    assert station["coordinates"] == pytest.approx(list(point_out(120.145, 30.259, "gcj02")), abs=1e-6)
    assert client.get("/search", params={"q": "西湖", "crs": "mars"}).status_code == 422


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"q": ""}, "empty"),
        ({"q": "   "}, "empty"),
        ({}, "q"),
        ({"q": "a" * 10_000}, "too long: 10,000 characters, at most 100"),
        ({"q": "西湖\x00"}, "control characters"),
        ({"q": "西湖\n"}, None),  # trailing white space trimmed: a good query
        ({"q": "西湖", "limit": 0}, "limit"),
        ({"q": "西湖", "limit": 51}, "limit"),
    ],
)
def test_bad_queries_are_a_clear_422(client: TestClient, params: dict, words: str | None) -> None:
    response = client.get("/search", params=params)
    if words is None:
        assert response.status_code == 200
        return
    assert response.status_code == 422, response.text
    assert words in response.text
    assert len(response.content) < 2_000  # a 10 KB query is not echoed back whole


def test_hostile_names_come_back_as_text(client: TestClient) -> None:
    for i, name in enumerate(hostile.ALL):
        found = places(client, q=name)
        assert any(p["id"] == f"H{i}" and p["name"] == name for p in found), name
        streets = [p["name"] for p in found if p["kind"] == "street"]
        assert all(name in street for street in streets)
    response = client.get("/search", params={"q": "<script>alert(1)</script>"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")


def test_district_points_are_inside_at_their_stations(client: TestClient, districts: Districts) -> None:
    features = client.get("/districts", params={"geometry": "false"}).json()["features"]
    assert len(features) == len(districts)
    stations = {(round(lon, 7), round(lat, 7)) for _, _, _, lon, lat in WEST_LAKE}  # as the API rounds
    for feature in features:
        lon, lat = feature["properties"]["point"]
        polygon = districts.geometries[districts.adcodes.index(feature["properties"]["adcode"])]
        assert polygon.covers(shapely.Point(lon, lat))
        if sum(feature["properties"]["stations"].values()):
            assert (lon, lat) in stations
    full = client.get("/districts").json()["features"]
    assert [f["properties"]["point"] for f in full] == [f["properties"]["point"] for f in features]


def test_cli_search(sample_runner: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    from rich.console import Console

    monkeypatch.setattr(cli_search, "out", Console(width=200))
    result = sample_runner.invoke(cli.app, ["search", "西湖", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert body["places"][0]["kind"] == "district" and body["places"][0]["name"] == "西湖区"
    table = sample_runner.invoke(cli.app, ["search", "西湖", "--limit", "3"])
    assert table.exit_code == 0 and "西湖区" in table.stdout and "区县" in table.stdout
    empty = sample_runner.invoke(cli.app, ["search", ""])
    assert empty.exit_code != 0 and "empty" in empty.output
    markup = sample_runner.invoke(cli.app, ["search", "[bold]不存在[/bold]"])
    assert markup.exit_code == 0 and "no place matches" in markup.stdout
