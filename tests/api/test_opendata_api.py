"""Open data over HTTP (``/stations.csv``, ``.geojson``, ``.xlsx``): every station with its licence and
attribution, spreadsheet cells that never run as formulas, and delta sync with ``modified_since`` and the
``next_modified_since`` cursor. On SQLite: the delta's reading is tested on both stores in
tests/stations/test_delta_sync.py.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest
from keeper_support import GEOJSON, Keeper, keeper_app, read_csv

from geo.crs import transform
from stations import hours, opendata

LICENCE, ATTRIBUTION = "CC BY-SA 4.0", "测试登记册 (synthetic test data)"
FORMULAS = ('=HYPERLINK("http://evil.example","点我")', "+86 571 8888 8888", "-1+1", "@SUM(A1)", "=1+2")


@pytest.fixture
def keeper(tmp_path: Path) -> Iterator[Keeper]:
    database = f"sqlite:///{tmp_path / 'open.sqlite3'}"
    with keeper_app(database, data_licence=LICENCE, data_attribution=ATTRIBUTION) as running:
        running.add("A", name="武林驿站", phone="0571-1")
        running.add("B", name=FORMULAS[0], lon=120.17, phone=FORMULAS[1], address=FORMULAS[2], host=FORMULAS[3])
        running.add("C", name="已关闭驿站", lon=120.18, operating_status="closed", source=FORMULAS[4])
        yield running


def geojson(keeper: Keeper, **params: str) -> dict:
    response = keeper.client.get("/stations.geojson", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith(GEOJSON)
    return response.json()


def test_the_geojson_download_carries_the_licence_and_every_station(keeper: Keeper) -> None:
    body = geojson(keeper)
    assert (body["licence"], body["attribution"], body["deleted"], body["modified_since"]) == (
        LICENCE, ATTRIBUTION, [], None,
    )  # fmt: skip
    assert [f["id"] for f in body["features"]] == ["A", "B", "C"]  # closed stations too: it is the registry
    properties = {f["id"]: f["properties"] for f in body["features"]}
    assert properties["B"]["name"] == FORMULAS[0]  # JSON carries text as it is
    assert properties["C"]["operating_status"] == "closed" and properties["A"]["revision"] == 1
    newest = max(datetime.fromisoformat(p["modified_at"]) for p in properties.values())
    assert datetime.fromisoformat(body["next_modified_since"]) == newest


def test_the_geojson_download_in_gcj02(keeper: Keeper) -> None:
    feature = next(f for f in geojson(keeper, crs="gcj02")["features"] if f["id"] == "A")
    expected = [float(v) for v in transform(120.16, 30.27, "wgs84", "gcj02")]
    assert feature["geometry"]["coordinates"] == pytest.approx(expected, abs=1e-6)


def test_the_csv_download_guards_formulas_and_imports_back_the_same(keeper: Keeper) -> None:
    response = keeper.client.get("/stations.csv")
    assert response.status_code == 200 and response.text.startswith("\ufeff")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="yizhan-stations.csv"' in response.headers["Content-Disposition"]
    assert response.headers["X-Licence"] == LICENCE
    rows = read_csv(response.text)
    assert list(rows[0]) == list(opendata.COLUMNS)
    assert [(r["id"], r["licence"], r["attribution"], r["deleted_at"]) for r in rows] == [
        (station_id, LICENCE, ATTRIBUTION, "") for station_id in ("A", "B", "C")
    ]
    b = next(r for r in rows if r["id"] == "B")
    assert (b["name"], b["phone"], b["address"], b["host"]) == tuple("'" + text for text in FORMULAS[:4])
    assert next(r for r in rows if r["id"] == "C")["source"] == "'" + FORMULAS[4]
    for cell in (value for r in rows for value in r.values()):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    # a keeper who edits the download in a spreadsheet and imports it back gets the same stations
    dry = keeper.client.post(
        "/imports", files={"file": ("open.csv", response.content)}, params={"dry_run": True}, headers=keeper.auth()
    ).json()
    assert (dry["unchanged"], dry["updated"], dry["added"], dry["problems"]) == (3, 0, 0, [])


def test_the_xlsx_download_holds_the_same_table_as_text_not_formulas(keeper: Keeper) -> None:
    response = keeper.client.get("/stations.xlsx")
    assert response.status_code == 200 and response.headers["X-Licence"] == LICENCE
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    header, *rows = [list(r) for r in sheet.iter_rows()]
    assert [c.value for c in header] == list(opendata.COLUMNS)
    assert all(cell.data_type != "f" for row in rows for cell in row)  # no cell is a formula
    by_id = {row[0].value: {h.value: c.value for h, c in zip(header, row, strict=True)} for row in rows}
    assert by_id["B"]["name"] == "'" + FORMULAS[0] and by_id["B"]["licence"] == LICENCE
    csv_rows = read_csv(keeper.client.get("/stations.csv").text)
    for csv_row in csv_rows:
        for column in ("id", "name", "types", "phone", "licence", "attribution", "operating_status"):
            assert (by_id[csv_row["id"]][column] or "") == csv_row[column], column
        assert float(by_id[csv_row["id"]]["lon"]) == pytest.approx(float(csv_row["lon"]))


def test_delta_sync_over_http(keeper: Keeper) -> None:
    full = geojson(keeper)
    cursor = full["next_modified_since"]
    assert (
        keeper.client.patch("/stations/A", json={"phone": "0571-2"}, headers=keeper.auth(If_Match="*")).status_code
        == 200
    )
    admin = keeper.auth("admin", If_Match="*")
    assert keeper.client.delete("/stations/B", params={"hard": True}, headers=admin).status_code == 204
    keeper.add("D", lon=120.19)

    delta = geojson(keeper, modified_since=cursor)
    assert [f["id"] for f in delta["features"]] == ["A", "C", "D"]
    (c,) = (f for f in delta["features"] if f["id"] == "C")  # unchanged, but stamped exactly at the cursor
    assert datetime.fromisoformat(c["properties"]["modified_at"]) == datetime.fromisoformat(cursor)
    assert [d["id"] for d in delta["deleted"]] == ["B"]
    assert delta["modified_since"] is not None
    assert datetime.fromisoformat(delta["modified_since"]) == datetime.fromisoformat(cursor)
    csv = keeper.client.get("/stations.csv", params={"modified_since": cursor})
    rows = read_csv(csv.text)
    assert [(r["id"], bool(r["deleted_at"])) for r in rows] == [("A", False), ("C", False), ("D", False), ("B", True)]
    assert all(r["licence"] == LICENCE for r in rows)
    assert datetime.fromisoformat(csv.headers["X-Next-Modified-Since"]) == datetime.fromisoformat(
        delta["next_modified_since"]
    )
    after = geojson(keeper, modified_since=delta["next_modified_since"])
    assert [f["id"] for f in after["features"]] == ["D"]  # stamped exactly at the cursor: comes again, harmless
    assert after["deleted"] == []


def test_the_cursor_can_be_pasted_into_a_url_as_it_is(keeper: Keeper) -> None:
    """``next_modified_since`` goes straight into the next URL: no ``+`` that a query string reads as a space."""
    cursor = geojson(keeper)["next_modified_since"]
    assert "+" not in cursor and cursor.endswith("Z")
    response = keeper.client.get(f"/stations.geojson?modified_since={cursor}")
    assert response.status_code == 200 and [f["id"] for f in response.json()["features"]] == ["C"]


def test_a_naive_modified_since_is_china_time(keeper: Keeper) -> None:
    stamp = datetime.fromisoformat(geojson(keeper)["next_modified_since"])  # C, the newest
    china = stamp.astimezone(hours.TIMEZONE).replace(tzinfo=None)
    just_after = (china + timedelta(microseconds=1)).isoformat()
    assert [f["id"] for f in geojson(keeper, modified_since=china.isoformat())["features"]] == ["C"]
    assert geojson(keeper, modified_since=just_after)["features"] == []


@pytest.mark.parametrize("value", ["yesterday", "2026-13-01", "1066-10-14T09:00"])
def test_a_bad_modified_since_is_a_422_naming_it(keeper: Keeper, value: str) -> None:
    for path in ("/stations.geojson", "/stations.csv", "/stations.xlsx"):
        response = keeper.client.get(f"{path}?modified_since={quote(value)}")
        assert response.status_code == 422, (path, response.text)
        assert response.json()["detail"][0]["field"] == "modified_since"


def test_an_empty_delta_keeps_its_header_and_its_cursor(keeper: Keeper) -> None:
    future = (datetime.now().astimezone() + timedelta(days=1)).isoformat()
    xlsx = keeper.client.get("/stations.xlsx", params={"modified_since": future})
    sheet = openpyxl.load_workbook(io.BytesIO(xlsx.content)).active
    assert [c.value for c in next(sheet.iter_rows())] == list(opendata.COLUMNS)
    csv = keeper.client.get("/stations.csv", params={"modified_since": future})
    assert csv.text.removeprefix("\ufeff").splitlines() == [",".join(opendata.COLUMNS)]
    body = geojson(keeper, modified_since=future)
    assert body["features"] == [] and body["next_modified_since"] == body["modified_since"]


def test_downloads_need_no_token_and_name_their_files(keeper: Keeper) -> None:
    for suffix in ("csv", "geojson", "xlsx"):
        response = keeper.client.get(f"/stations.{suffix}")
        assert response.status_code == 200
        assert f'filename="yizhan-stations.{suffix}"' in response.headers["Content-Disposition"]
    assert json.loads(keeper.client.get("/stations.geojson").content)["type"] == "FeatureCollection"
