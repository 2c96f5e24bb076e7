"""Station and district text is never template source, in any page, export or CLI map (issue: SSTI).

Stations carry the whole hostile family (``tests/hostile.py``) in their names, addresses, hosts and opening
hours comments; the districts file names its districts with template syntax too. Every page and export must
answer (no 5xx), show each text exactly as stored (as a JSON string in a page's data, a cell in a table) and
never evaluate it. The same pages are walked in Chromium by ``tests/e2e/test_hostile_pages.py``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from maps.safe_text import escape, js_literal
from stations.model import Station
from stations.settings import Settings
from tests.hostile import ALL, MARKUP, ODDITIES, TEMPLATES, evaluated_in

WEST_LAKE = (120.16, 30.25)
DISTRICT_NAMES = {"330901": "SSTI[{{ 7*7 }}]区 {# 二", "330902": "{% if 1 %}IF-RAN{% endif %}区 ${7*7}-dollar"}
TEXT_FIELDS = ("name", "address", "host")


def districts_file(folder: Path) -> Path:
    """Two box districts around West Lake named with template syntax."""
    west, east = (120.10, 30.20, 120.16, 30.30), (120.16, 30.20, 120.22, 30.30)
    features = [
        {
            "type": "Feature",
            "properties": {"adcode": adcode, "name": name},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]],
            },
        }
        for (adcode, name), (x0, y0, x1, y1) in zip(DISTRICT_NAMES.items(), (west, east), strict=True)
    ]
    path = folder / "districts.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False), "utf-8")
    return path


def hostile_stations() -> list[Station]:
    """One station per hostile text, in its name, address and host, and as an opening-hours comment."""
    return [
        Station(
            id=f"H-{number}",
            name=text,
            types=["outdoor_worker", "nursing_room"] if number % 2 else ["driver_home"],
            lon=WEST_LAKE[0] + 0.004 * (number - len(ALL) / 2),
            lat=WEST_LAKE[1] + 0.001 * number,
            address=text,
            host=text,
            opening_hours=f'Mo-Su 08:00-20:00 "{text.replace(chr(34), "")}"',
        )
        for number, text in enumerate(ALL)
    ]


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder = tmp_path_factory.mktemp("ssti")
    return Settings(
        database_url=f"sqlite:///{folder / 'ssti.sqlite3'}",
        districts_path=districts_file(folder),
        demand_path=None,
    )


@pytest.fixture(scope="module")
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as running:
        registry = running.app.state.registry
        for station in hostile_stations():
            registry.create(station, "set-up")
        registry.refresh()
        yield running


def test_hostile_stations_are_stored_as_given(client: TestClient) -> None:
    for number, text in enumerate(ALL):
        properties = client.get(f"/stations/H-{number}").json()["properties"]
        assert [properties[field] for field in TEXT_FIELDS] == [text] * 3


def assert_shown_literally(page: str, texts: tuple[str, ...] | list[str]) -> None:
    """Each text is in ``page`` as a JSON string of the page's data (or as escaped HTML), none evaluated."""
    assert evaluated_in(page) == []
    for text in texts:
        assert js_literal(text)[1:-1] in page or escape(text) in page, f"{text!r} is not in the page as text"


@pytest.mark.parametrize("query", ["", "?adcode=330901", "?types=driver_home&lang=en", "?controls=false"])
def test_embeds_show_every_text_literally(client: TestClient, query: str) -> None:
    response = client.get(f"/embed{query}")
    assert response.status_code == 200, response.text[:300]
    page = response.text
    features = client.get(f"/stations?format=geojson{query.replace('?', '&')}&limit=1000").json()["features"]
    names = [feature["properties"]["name"] for feature in features]
    assert names, "the query should select some hostile stations"
    assert_shown_literally(page, names)
    if query == "?adcode=330901":
        assert js_literal(DISTRICT_NAMES["330901"])[1:-1] in page  # the district's name is the page's title


@pytest.mark.parametrize("path", ["/", "/?lang=en", "/embed/builder"])
def test_pages_without_inline_stations_answer_and_evaluate_nothing(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert evaluated_in(response.text) == []
    if path == "/embed/builder":
        assert all(escape(name) in response.text for name in DISTRICT_NAMES.values())


@pytest.mark.parametrize("query", ["", "?adcode=330902", "?types=outdoor_worker,nursing_room&radius_m=500"])
def test_the_coverage_map_shows_every_text_literally(client: TestClient, query: str) -> None:
    response = client.get(f"/maps/coverage{query}")
    assert response.status_code == 200, response.text[:300]
    page = response.text
    assert_shown_literally(page, [escape(name) for name in DISTRICT_NAMES.values()])
    if query == "":
        assert_shown_literally(page, [escape(text) for text in ALL if "driver" not in text])


def test_station_exports_keep_every_text(client: TestClient) -> None:
    rows = list(csv.DictReader(io.StringIO(client.get("/stations.csv").text.lstrip("\ufeff"))))
    by_id = {row["id"]: row for row in rows}
    for number, text in enumerate(ALL):
        row = by_id[f"H-{number}"]
        cells = [row[field] for field in TEXT_FIELDS]
        # a leading = + - @ is neutralised for spreadsheets with a quote; the text is otherwise exact
        assert cells == [("'" + text) if text.startswith("=") else text] * 3
    book = openpyxl.load_workbook(io.BytesIO(client.get("/stations.xlsx").content), read_only=True)
    values = {str(cell) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for cell in row}
    assert all(text in values or "'" + text in values for text in TEMPLATES + MARKUP + ODDITIES[:1])
    assert not any(isinstance(value, str) and value.startswith("=") for value in values)
    geojson = client.get("/stations.geojson").json()
    assert {f["properties"]["name"] for f in geojson["features"]} == set(ALL)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "geojson", "json"])
def test_coverage_exports_keep_district_names(client: TestClient, fmt: str) -> None:
    response = client.get(f"/coverage?format={fmt}")
    assert response.status_code == 200
    if fmt == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(response.content), read_only=True)
        text = "\n".join(str(c) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for c in row)
    else:
        text = response.content.decode("utf-8") if fmt == "csv" else json.dumps(response.json(), ensure_ascii=False)
    assert all(name in text for name in DISTRICT_NAMES.values())
    assert evaluated_in(text) == []


@pytest.mark.usefixtures("client")
def test_the_cli_maps_and_export_keep_every_text(settings: Settings, tmp_path: Path) -> None:
    env = {"YIZHAN_DATABASE_URL": settings.database_url, "YIZHAN_DISTRICTS_PATH": str(settings.districts_path)}
    runner = CliRunner()
    outputs = {
        "stations.html": ["map", "stations", "-o"],
        "coverage.html": ["map", "coverage", "-o"],
        "export.csv": ["export", "-o"],
    }
    for name, command in outputs.items():
        result = runner.invoke(cli, [*command, str(tmp_path / name)], env=env)
        assert result.exit_code == 0, result.output
        text = (tmp_path / name).read_text(encoding="utf-8-sig")
        assert evaluated_in(text) == []
    assert_shown_literally((tmp_path / "stations.html").read_text("utf-8"), list(ALL))
    coverage_page = (tmp_path / "coverage.html").read_text("utf-8")
    assert_shown_literally(coverage_page, [escape(name) for name in DISTRICT_NAMES.values()])
    exported = (tmp_path / "export.csv").read_text("utf-8-sig")
    assert all(text in exported for text in TEMPLATES)
