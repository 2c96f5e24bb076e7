"""Coverage by time and amenity through the API and the CLI, on the sample registry in a real SQLite file."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sample_client import sample_client
from typer.testing import CliRunner

from api import cli

BASE = {"radius_m": 1000, "cell_m": 400}  # coarse: the figures are checked against each other


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hours")


@pytest.fixture(scope="module")
def client(folder: Path) -> Iterator[TestClient]:
    with sample_client(folder / "h.sqlite3") as test_client:
        yield test_client


def test_the_profiles_hour_is_the_coverage_at_that_hour(client: TestClient) -> None:
    profile = client.get("/coverage/profile", params={**BASE, "hour": 22}).json()
    assert [d["day"] for d in profile["days"]] == ["weekday", "holiday"]
    weekday = {r["adcode"]: r for r in profile["rows"] if r["day"] == "weekday"}
    at = client.get("/coverage", params={**BASE, "hour": 22, "day": "weekday"}).json()
    assert at["filters"]["unknown_hours"] == "separate" and at["filters"]["open_at"].endswith("T22:00:00+08:00")
    for row in at["districts"]:
        assert weekday[row["adcode"]]["covered_share"] == pytest.approx(row["covered_share"], abs=1e-4)
        assert weekday[row["adcode"]]["unknown_only_share"] == pytest.approx(row["unknown_only_share"], abs=2e-4)
        assert weekday[row["adcode"]]["demand_covered_share"] == pytest.approx(row["demand_covered_share"], abs=1e-4)


def test_fewer_stations_never_cover_more(client: TestClient) -> None:
    everything = client.get("/coverage", params=BASE).json()["districts"]
    night = client.get("/coverage", params={**BASE, "open_at": "2026-12-09T03:00+08:00"}).json()
    warm = client.get("/coverage", params={**BASE, "amenities": "hot_water,toilet"}).json()["districts"]
    assert night["filters"]["open_at_note"] is None  # a zone was given
    for all_row, night_row, warm_row in zip(everything, night["districts"], warm, strict=True):
        assert night_row["covered_share"] <= all_row["covered_share"] + 1e-9
        assert night_row["covered_share"] + night_row["unknown_only_share"] <= all_row["covered_share"] + 1e-9
        assert warm_row["covered_share"] <= all_row["covered_share"] + 1e-9


def test_a_zoneless_time_is_taken_as_china_time_and_said(client: TestClient) -> None:
    naive = client.get("/coverage", params={**BASE, "open_at": "2026-12-09T22:00"}).json()
    assert naive["filters"]["open_at"] == "2026-12-09T22:00:00+08:00"
    assert "北京时间" in naive["filters"]["open_at_note"] and "China time" in naive["filters"]["open_at_note_en"]


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/coverage", {"hour": 24}, "hour"),
        ("/coverage", {"hour": -1}, "hour"),
        ("/coverage", {"amenities": "hot_water,sauna"}, "amenities"),
        ("/coverage", {"unknown_hours": "maybe"}, "unknown_hours"),
        ("/coverage", {"open_at": "tonight"}, "open_at"),
        ("/gaps", {"hour": 25}, "hour"),
        ("/coverage/profile", {"hour": 24}, "hour"),
        ("/coverage/profile", {"amenities": "jacuzzi"}, "amenities"),
        ("/coverage/night-gaps", {"day": "someday"}, "day"),
        ("/coverage/night-gaps", {"cell_m": 1}, "cell_m"),
    ],
)
def test_bad_inputs_are_4xx_naming_the_field(
    client: TestClient, path: str, params: dict[str, object], field: str
) -> None:
    response = client.get(path, params={**BASE, **params})
    assert 400 <= response.status_code < 500
    assert field in response.text


def test_night_gaps_table_and_layer_agree(client: TestClient) -> None:
    table = client.get("/coverage/night-gaps", params=BASE).json()
    layer = client.get("/coverage/night-gaps", params={**BASE, "format": "geojson", "limit": 1000}).json()
    assert table["night_hours"] == "22:00-06:00" and layer["summary"]["date"] == table["date"]
    for row in table["districts"]:
        assert 0 <= row["night_gap_km2"] <= row["day_covered_km2"] + 1e-9
        assert row["night_gap_unknown_hours_km2"] <= row["night_gap_km2"] + 1e-9
        drawn = sum(
            f["properties"]["area_km2"] for f in layer["features"] if f["properties"]["adcode"] == row["adcode"]
        )
        assert drawn == pytest.approx(row["night_gap_km2"], abs=1e-2)
    assert all(f["properties"]["layer"] == "night_gap" for f in layer["features"])


def test_the_profile_for_a_map_and_as_csv(client: TestClient) -> None:
    for_map = client.get("/coverage/profile", params={**BASE, "format": "map"}).json()
    upper = for_map["districts"]["330102"]["weekday"]
    assert len(upper["covered_share"]) == 24 and len(for_map["total"]["holiday"]["covered_share"]) == 24
    text = client.get("/coverage/profile", params={**BASE, "format": "csv", "hour": 3}).text.lstrip("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["hour"] for r in rows} == {"3"} and len(rows) == 2 * 13


def test_the_cli_takes_the_same_inputs(folder: Path, client: TestClient) -> None:
    env = {"YIZHAN_DATABASE_URL": f"sqlite:///{folder / 'h.sqlite3'}"}
    runner = CliRunner()
    result = runner.invoke(cli.app, ["coverage-profile", "--cell", "400", "--hour", "22", "--json"], env=env)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    api = client.get("/coverage/profile", params={**BASE, "hour": 22}).json()["rows"]
    assert rows == api
    bad = runner.invoke(cli.app, ["coverage", "--cell", "400", "--hour", "24"], env=env)
    assert bad.exit_code != 0 and "hour" in bad.output
    night = runner.invoke(cli.app, ["night-gaps", "--cell", "400", "--day", "holiday"], env=env)
    assert night.exit_code == 0 and "night gaps" in night.stdout
    at = runner.invoke(cli.app, ["coverage", "--cell", "400", "--open-at", "2026-12-09T22:00"], env=env)
    assert at.exit_code == 0 and "北京时间" in at.stdout
