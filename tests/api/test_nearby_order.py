"""``order`` and ``opens_at`` of ``GET /stations/nearby`` and ``yizhan nearby``: open stations first at night,
when a closed station opens and an open one closes, and the default order left as it was (nearest first).

The ranking itself is checked against brute force in ``tests/stations/test_nearby_answers.py``; here the two
doors: the parameter, its default, its error, and what each prints."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from typer.testing import CliRunner

from api import cli, cli_riders
from api.app import create_app
from stations import hours
from stations.settings import SAMPLE_DIR, Settings, get_settings

P = (120.15, 30.25)
NIGHT = "2026-11-24T02:17"  # a Tuesday, China time
SATURDAY_NIGHT = "2026-11-28T23:00"
# id, hours, metres north of P (0.001° of latitude is about 111 m)
STATIONS = [
    ("DAY", "Mo-Su 08:00-20:00", 0.0005),
    ("SPLIT", "Mo-Fr 08:30-11:00,13:30-17:00; PH off", 0.0010),
    ("NONE", "", 0.0015),
    ("ALLDAY", "24/7", 0.0030),
    ("LATE", "Mo-Su 20:00-02:30", 0.0040),  # open past midnight: closes at 02:30, "closes soon" at 02:17
    ("FAR24", "24/7", 0.0500),
]


def stations_csv() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "name", "types", "lon", "lat", "opening_hours"])
    for station_id, text, north in STATIONS:
        writer.writerow([station_id, f"驿站 {station_id}", "outdoor_worker", P[0], P[1] + north, text])
    return out.getvalue().encode("utf-8")


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'order.sqlite3'}", demand_path=None))
    with TestClient(app) as test_client:
        report = app.state.registry.import_file(stations_csv(), "order.csv")
        assert report.committed and not report.problems
        app.state.registry.refresh()
        yield test_client


def features(client: TestClient, **params: object) -> list[dict[str, Any]]:
    response = client.get("/stations/nearby", params={"lon": P[0], "lat": P[1], "k": 10, **params})
    assert response.status_code == 200, response.text
    found: list[dict[str, Any]] = response.json()["features"]
    return found


def test_the_default_order_is_still_nearest_first(client: TestClient) -> None:
    found = features(client, at=NIGHT)
    assert [f["id"] for f in found] == [row[0] for row in STATIONS]
    assert found == features(client, at=NIGHT, order="distance")


def test_open_first_at_night_puts_open_stations_first_and_says_when_the_others_open(client: TestClient) -> None:
    found = features(client, at=NIGHT, order="open_first")
    # open (nearest first), closing within 30 minutes, unknown hours, closed (nearest first)
    assert [f["id"] for f in found] == ["ALLDAY", "FAR24", "LATE", "NONE", "DAY", "SPLIT"]
    props = {f["id"]: f["properties"] for f in found}
    assert [props[i]["open_status"] for i in ("ALLDAY", "LATE", "NONE", "DAY")] == ["open", "open", "unknown", "closed"]
    assert props["LATE"]["closes_at"] == "2026-11-24T02:30:00+08:00" and props["LATE"]["opens_at"] is None
    assert props["DAY"]["opens_at"] == "2026-11-24T08:00:00+08:00" and props["DAY"]["closes_at"] is None
    assert props["SPLIT"]["opens_at"] == "2026-11-24T08:30:00+08:00"
    assert props["NONE"]["opens_at"] is None and props["NONE"]["closes_at"] is None  # unknown: never "open"
    assert props["ALLDAY"]["closes_at"] is None and props["ALLDAY"]["opens_at"] is None
    # k: the first k of that order, so the far open station comes before the near closed ones
    assert [f["id"] for f in features(client, at=NIGHT, order="open_first", k=2)] == ["ALLDAY", "FAR24"]
    # a radius bounds how far open stations are sought
    near = features(client, at=NIGHT, order="open_first", radius_m=1000)
    assert [f["id"] for f in near] == ["ALLDAY", "LATE", "NONE", "DAY", "SPLIT"]


def test_opens_at_names_the_next_working_day_over_a_weekend(client: TestClient) -> None:
    props = {f["id"]: f["properties"] for f in features(client, at=SATURDAY_NIGHT, order="open_first")}
    assert props["SPLIT"]["opens_at"] == "2026-11-30T08:30:00+08:00"  # Monday
    assert props["DAY"]["opens_at"] == "2026-11-29T08:00:00+08:00"


def test_an_unknown_order_is_a_4xx_naming_the_field(client: TestClient) -> None:
    response = client.get("/stations/nearby", params={"lon": P[0], "lat": P[1], "order": "random"})
    assert response.status_code == 422, response.text
    assert "order" in response.text and "open_first" in response.text


def test_the_parameter_is_documented(client: TestClient) -> None:
    parameters = client.get("/openapi.json").json()["paths"]["/stations/nearby"]["get"]["parameters"]
    (order,) = [p for p in parameters if p["name"] == "order"]
    assert order["schema"]["default"] == "distance" and "open_first" in order["description"]


@pytest.fixture
def cli_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("YIZHAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setenv("YIZHAN_DISTRICTS_PATH", str(SAMPLE_DIR / "districts.geojson"))
    for module in (cli, cli_riders):
        monkeypatch.setattr(module, "out", Console(width=250))
        monkeypatch.setattr(module, "err", Console(stderr=True, width=250))
    get_settings.cache_clear()
    (tmp_path / "order.csv").write_bytes(stations_csv())
    result = CliRunner().invoke(cli.app, ["import", str(tmp_path / "order.csv")], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    yield
    get_settings.cache_clear()


@pytest.mark.usefixtures("cli_database")
def test_the_cli_shows_when_stations_close_and_open() -> None:
    runner = CliRunner()
    args = ["nearby", str(P[0]), str(P[1]), "-k", "10"]
    table = runner.invoke(cli.app, [*args, "--open-at", "2026-11-24T12:00"], catch_exceptions=False)
    assert table.exit_code == 0, table.output
    assert "open, until 20:00" in table.output and "open, until 13:30" not in table.output
    # without open_at the clock decides; whatever it says, a closed station with hours says when it opens
    now = datetime.now(hours.TIMEZONE)
    table = runner.invoke(cli.app, [*args, "--order", "open_first"], catch_exceptions=False)
    assert "open ones first" in table.output
    for station_id, text, _ in STATIONS:
        if text and hours.status(text, now) == "closed":
            opening = hours.next_opening(text, now)
            assert opening is not None
            assert f"closed, {hours.change_words(opening, now, True, 'en')}" in table.output, station_id
    answer = json.loads(runner.invoke(cli.app, [*args, "--order", "open_first", "--json"]).output)
    statuses = [f["properties"]["open_status"] for f in answer["features"]]
    ranks = [{"open": 0, "unknown": 1, "closed": 2}[s] for s in statuses]
    assert ranks == sorted(ranks) and all("opens_at" in f["properties"] for f in answer["features"])
