"""GET /hotspots and ``yizhan hotspots`` with a time and amenities (issue 15 item 1): the hot spots of the stations
open then (with those amenities) are exactly the hot spots of a registry holding only those stations; and the
answer is written in the language and coordinate system asked for, with the filters in its metadata."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from fastapi.testclient import TestClient
from sample_client import sample_client
from typer.testing import CliRunner

from api import cli
from geo.crs import transform
from stations import hours
from stations.planning.exports import read_report_csv
from stations.planning.filters import parse_filters
from stations.settings import SAMPLE_DIR

BASE = {"radius_m": 1000, "cell_m": 250, "types": "outdoor_worker", "limit": 1000}
CASES = [
    {"open_at": "2026-12-09T23:00"},  # a weekday night, unknown hours reported separately (not counted)
    {"hour": 7, "day": "holiday", "amenities": "hot_water", "unknown_hours": "open"},
]


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with sample_client(tmp_path_factory.mktemp("hotspot-inputs") / "h.sqlite3") as test_client:
        yield test_client


def _passing_ids(client: TestClient, params: dict[str, Any]) -> set[str]:
    """Brute force: the ids of the outdoor-worker stations the filters let through, one by one."""
    filters = parse_filters(
        **{k: v for k, v in params.items() if k in ("open_at", "hour", "day", "amenities", "unknown_hours")}
    )
    counted = {"open", "unknown"} if filters.unknown_hours == "open" else {"open"}
    at: datetime | None = filters.open_at
    chosen = set()
    for station in client.app.state.registry.snapshot().stations:  # type: ignore[attr-defined]
        if not station.serves(("outdoor_worker",)):
            continue
        if any(station.amenity(name) != "yes" for name in filters.amenities):
            continue
        state = "closed" if station.is_closed else hours.status(station.opening_hours, at) if at else "open"
        if state in counted:
            chosen.add(station.id)
    return chosen


@pytest.mark.parametrize("params", CASES, ids=["open_at", "hour_holiday_hot_water"])
def test_hotspots_of_the_stations_that_pass_equal_those_of_a_registry_of_them(
    client: TestClient, tmp_path: Path, params: dict[str, Any]
) -> None:
    answer = client.get("/hotspots", params={**BASE, **params})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    ids = _passing_ids(client, params)
    assert 0 < len(ids) < len(client.app.state.registry.snapshot().stations)  # type: ignore[attr-defined]
    expected = _reference(tmp_path, ids)
    got = [f["properties"] for f in body["features"]]
    keys = ("rank", "adcode", "demand", "area_km2", "site_lon", "site_lat", "label_lon", "label_lat",
            "nearest_station_id", "nearest_station_m", "gap_rank", "gap_stations")  # fmt: skip
    assert [[p[k] for k in keys] for p in got] == [[p[k] for k in keys] for p in expected["rows"]]
    assert body["summary"]["unserved"] == pytest.approx(expected["unserved"])
    assert {p["nearest_station_id"] for p in got} <= ids
    summary = body["summary"]
    assert summary["unknown_hours"] == params.get("unknown_hours", "separate")
    assert summary["amenities"] == ([params["amenities"]] if "amenities" in params else [])
    time = body["metadata"]["time"]
    assert time and ("open_at" in time or "hour" in time or "day" in time)


def _reference(tmp_path: Path, ids: set[str]) -> dict[str, Any]:
    """Hot spots (no filters) of a fresh registry importing only the stations ``ids`` of the sample."""
    from api.app import create_app
    from stations.settings import Settings

    text = (SAMPLE_DIR / "stations.csv").read_text(encoding="utf-8")
    records = list(csv.DictReader(io.StringIO(text)))
    subset = io.StringIO()
    writer = csv.DictWriter(subset, fieldnames=list(records[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(r for r in records if r["id"] in ids)
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'subset.sqlite3'}", check_interval_s=0))
    with TestClient(app) as reference:
        app.state.registry.import_file(subset.getvalue().encode("utf-8"), "stations.csv")
        assert {s.id for s in app.state.registry.snapshot().stations} == ids
        body = reference.get("/hotspots", params=BASE).json()
    return {"rows": [f["properties"] for f in body["features"]], "unserved": body["summary"]["unserved"]}


def test_language_and_coordinate_system(client: TestClient) -> None:
    params = {**BASE, "limit": 5, "open_at": "2026-12-09T23:00"}
    wgs = client.get("/hotspots", params=params).json()
    gcj = client.get("/hotspots", params={**params, "crs": "gcj02", "lang": "en"}).json()
    assert gcj["coordinate_system"] == "gcj02" and gcj["metadata"]["lang"] == "en"
    labels = {c["key"]: c["label"] for c in gcj["columns"]}
    assert labels["site_lon"] == "Suggested site longitude" and labels["demand"] == "Unserved demand"
    for plain, moved in zip(wgs["features"], gcj["features"], strict=True):
        p, q = plain["properties"], moved["properties"]
        lon, lat = transform([p["site_lon"], p["label_lon"]], [p["site_lat"], p["label_lat"]], "wgs84", "gcj02")
        assert [q["site_lon"], q["label_lon"]] == pytest.approx(list(lon), abs=2e-6)
        assert [q["site_lat"], q["label_lat"]] == pytest.approx(list(lat), abs=2e-6)
        assert moved["geometry"]["coordinates"] == pytest.approx([q["site_lon"], q["site_lat"]], abs=2e-6)
    need_w, need_g = wgs["summary"]["gaps"][0], gcj["summary"]["gaps"][0]
    assert need_g["label_lon"] != need_w["label_lon"]
    sheet = client.get("/hotspots", params={**params, "format": "xlsx", "crs": "bd09"})
    book = openpyxl.load_workbook(io.BytesIO(sheet.content))
    assert book.sheetnames == ["热点", "各服务空白需站数", "说明"]
    header = [cell.value for cell in book["热点"][1]]
    assert "建议站址经度(BD-09)" in header and "未服务需求 人" in header
    about = {row[0].value: row[1].value for row in book["说明"].iter_rows(min_row=2)}
    assert "open_at=2026-12-09T23:00:00+08:00" in about["时间"] and "北京时间" in about["时间"]
    metadata, rows = read_report_csv(client.get("/hotspots", params={**params, "format": "csv", "lang": "en"}).text)
    assert metadata["Coordinate system"].startswith("WGS 84") and len(rows) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [({"hour": 24}, "hour"), ({"amenities": "jacuzzi"}, "amenities"), ({"unknown_hours": "maybe"}, "unknown_hours"),
     ({"crs": "utm"}, "crs"), ({"lang": "fr"}, "lang"), ({"open_at": "tomorrow-ish"}, "open_at"),
     ({"hour": 3, "open_at": "now"}, "hour")],
)  # fmt: skip
def test_bad_time_amenity_or_output_names_the_field(client: TestClient, params: dict[str, Any], field: str) -> None:
    answer = client.get("/hotspots", params={**BASE, **params})
    assert 400 <= answer.status_code < 500 and field in answer.text


def test_cli_hotspots_with_time_language_and_crs(sample_runner: CliRunner) -> None:
    base = ["hotspots", "--cell", "250", "--types", "outdoor_worker", "--limit", "3", "--hour", "23"]
    body = json.loads(sample_runner.invoke(cli.app, [*base, "--json", "--crs", "gcj02"]).stdout)
    assert body["coordinate_system"] == "gcj02" and body["metadata"]["time"]["open_at"].endswith("T23:00:00+08:00")
    assert len(body["features"]) == 3
    table = sample_runner.invoke(cli.app, [*base, "--lang", "en", "--crs", "bd09"])
    assert table.exit_code == 0 and "hot spots" in table.stdout and "(BD-09)" in table.stdout
    bad = sample_runner.invoke(cli.app, [*base, "--amenities", "jacuzzi"])
    assert bad.exit_code != 0 and "amenities" in bad.output
