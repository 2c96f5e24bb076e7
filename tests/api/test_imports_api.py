"""Imports over HTTP (``POST /imports``): the dry-run report (added, updated by id, unchanged, rejected rows, likely
duplicates), all-or-nothing commits recorded in the history, updates that touch only the file's columns, the
formats and headers unions use, and the clear 4xx of oversized or malformed uploads. On SQLite: the store's
part (one transaction) is tested on both stores in tests/stations/test_edits.py.
"""

from __future__ import annotations

import io
import json
import math
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest
from keeper_support import ORIGIN, Keeper, csv_bytes, keeper_app
from sqlalchemy import event

from geo.crs import transform
from geo.distance import haversine_m

HEADER = "id,name,types,lon,lat,phone,hot_water"
EARTH_RADIUS_M = 6_371_008.8


@pytest.fixture
def keeper(tmp_path: Path) -> Iterator[Keeper]:
    with keeper_app(f"sqlite:///{tmp_path / 'imports.sqlite3'}", max_upload_bytes=50_000) as running:
        yield running


def upload(
    keeper: Keeper, data: bytes, filename: str = "union.csv", role: str = "editor", **params: Any
) -> httpx.Response:
    return keeper.client.post("/imports", files={"file": (filename, data)}, params=params, headers=keeper.auth(role))


def north(metres: float, origin: tuple[float, float] = ORIGIN) -> tuple[float, float]:
    """(lon, lat) that many metres due north of ``origin``."""
    return origin[0], origin[1] + math.degrees(metres / EARTH_RADIUS_M)


def row(station_id: str, name: str, at: tuple[float, float] = ORIGIN, phone: str = "", hot_water: str = "") -> str:
    return f"{station_id},{name},outdoor_worker,{at[0]!r},{at[1]!r},{phone},{hot_water}"


# ---------------------------------------------------------------------------------------------- the report


def test_a_dry_run_reports_every_row_and_writes_nothing(keeper: Keeper) -> None:
    keeper.add("KEEP", name="保持不变驿站", lon=120.20, lat=30.30, phone="1")
    keeper.add("EDIT", name="武林街道工会驿站", phone="0571-0")
    before = keeper.written()
    data = csv_bytes(
        HEADER,
        [
            row("KEEP", "保持不变驿站", (120.20, 30.30), phone="1"),
            row("EDIT", "武林街道工会驿站", phone="0571-1", hot_water="yes"),
            row("NEAR", "无关的名字", north(12)),
            row("SIMILAR", "武林街道户外劳动者服务站", north(40)),
            row("OTHER", "古荡街道工会驿站", north(-40)),
            row("BAD", "坏行", (120.1, 91.0)),
            "BAD2,坏类型,bakery,120.1,30.2,,",
        ],
    )
    response = upload(keeper, data, dry_run="true")
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["rows"], report["valid"], report["added"], report["updated"], report["unchanged"]) == (7, 5, 3, 1, 1)
    assert (report["dry_run"], report["committed"]) == (True, False)
    assert [(r["id"], r["matched_by"], r["changes"]) for r in report["rows_updated"]] == [
        ("EDIT", "id", ["amenities", "phone"])
    ]
    assert [r["id"] for r in report["rows_unchanged"]] == ["KEEP"]
    assert [r["id"] for r in report["rows_added"]] == ["NEAR", "SIMILAR", "OTHER"]
    duplicates = {(d["id"], d["existing_id"], d["reason"]) for d in report["duplicates"]}
    assert duplicates == {("NEAR", "EDIT", "within 15 m"), ("SIMILAR", "EDIT", "similar name within 50 m")}
    near = next(d for d in report["duplicates"] if d["id"] == "NEAR")
    assert near["distance_m"] == pytest.approx(float(haversine_m(*ORIGIN, *north(12))), abs=0.05)
    assert {(p["field"], p["value"]) for p in report["problems"]} == {("lat", "91.0"), ("types", "bakery")}
    assert all(p["row"] and p["reason"] for p in report["problems"])
    assert "nothing" in report["message"]
    assert keeper.written() == before


def test_a_commit_writes_the_whole_file_and_records_it_in_the_history(keeper: Keeper) -> None:
    keeper.add("EDIT", name="武林街道工会驿站", phone="0571-0")
    data = csv_bytes(HEADER, [row("EDIT", "武林街道工会驿站", phone="0571-1"), row("NEW", "新驿站", (120.2, 30.3))])
    response = upload(keeper, data)
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["committed"], report["dry_run"], report["added"], report["updated"]) == (True, False, 1, 1)
    assert keeper.client.get("/stations/EDIT").json()["properties"]["phone"] == "0571-1"
    assert keeper.client.get("/stations/NEW").json()["properties"]["district"] == "上城区"
    for station_id, action in (("EDIT", "import"), ("NEW", "import")):
        history = keeper.client.get(f"/stations/{station_id}/history", headers=keeper.auth("viewer")).json()["history"]
        assert (history[-1]["action"], history[-1]["actor"]) == (action, "editor token")
    history = keeper.client.get("/stations/EDIT/history", headers=keeper.auth("viewer")).json()["history"]
    assert history[-1]["changes"] == {"phone": ["0571-0", "0571-1"]}

    before = keeper.written()
    again = upload(keeper, data).json()
    assert (again["added"], again["updated"], again["unchanged"], again["committed"]) == (0, 0, 2, True)
    assert keeper.written() == before  # re-importing the same sheet changes nothing, not even the version


def test_a_half_valid_file_is_422_with_every_bad_row_and_writes_nothing(keeper: Keeper) -> None:
    keeper.add("A")
    before = keeper.written()
    rows = [row(f"N{i}", f"驿站{i}", north(100 * i)) for i in range(1, 60)]
    rows[39] = "N40,坏行,outdoor_worker,120.1,north,,"
    rows[49] = "N50,,outdoor_worker,120.1,30.2,,"
    response = upload(keeper, csv_bytes(HEADER, rows))
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "import_rejected"
    assert [(p["row"], p["field"], p["value"]) for p in body["detail"]["problems"]] == [
        (41, "lat", "north"),
        (51, "name", ""),
    ]
    assert body["detail"]["committed"] is False and body["detail"]["valid"] == 57
    assert keeper.written() == before
    assert keeper.client.get("/stations/N1").status_code == 404


def test_a_file_updates_only_the_columns_it_has(keeper: Keeper) -> None:
    """An editor's phone numbers, hours and closures survive the union's sheet, which has none of those."""
    keeper.add("A", name="甲", phone="0571-1", opening_hours="24/7", amenities={"wifi": "yes"})
    keeper.add("B", name="乙", lon=120.2, lat=30.3, phone="0571-2")
    assert keeper.client.delete("/stations/B", headers=keeper.auth(If_Match="*")).status_code == 204
    data = csv_bytes(
        "id,name,types,lon,lat,热水", ["A,甲改,outdoor_worker,120.16,30.27,是", "B,乙,outdoor_worker,120.2,30.3,"]
    )
    report = upload(keeper, data).json()
    assert [(r["id"], r["changes"]) for r in report["rows_updated"]] == [("A", ["amenities", "name"])]
    a = keeper.client.get("/stations/A").json()["properties"]
    assert (a["name"], a["phone"], a["opening_hours"]) == ("甲改", "0571-1", "24/7")
    assert a["amenities"] == {"wifi": "yes", "hot_water": "yes"}
    b = keeper.client.get("/stations/B").json()["properties"]
    assert (b["operating_status"], b["phone"]) == ("closed", "0571-2")  # not reopened by a sheet without statuses


def test_a_row_matched_by_external_id_updates_that_station(keeper: Keeper) -> None:
    keeper.add("HZ-7", name="武林驿站", external_ids={"union": "007"})
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [120.17, 30.28]},
        "properties": {"name": "武林驿站（新址）", "types": ["outdoor_worker"], "external_ids": {"union": "007"}},
    }
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}).encode()
    report = upload(keeper, data, filename="moved.geojson").json()
    assert [(r["id"], r["matched_by"]) for r in report["rows_updated"]] == [("HZ-7", "external_ids.union")]
    assert report["added"] == 0


def test_a_spreadsheet_row_matched_by_an_external_id_column_updates_that_station(keeper: Keeper) -> None:
    keeper.add("HZ-8", name="古荡驿站", external_ids={"union": "008"})
    header = "名称,类型,经度,纬度,external_ids.union,external_ids.amap"
    text = f"{header}\n古荡驿站（新址）,爱心驿站,120.12,30.28,008,B0FFX\n"
    report = upload(keeper, text.encode()).json()
    assert [(r["id"], r["matched_by"]) for r in report["rows_updated"]] == [("HZ-8", "external_ids.union")]
    stored = keeper.app.state.registry.versioned("HZ-8")[0]
    assert stored.external_ids == {"union": "008", "amap": "B0FFX"} and stored.name == "古荡驿站（新址）"


# ---------------------------------------------------------------------------------------------- formats


def test_chinese_headers_in_gbk_with_gcj02_coordinates(keeper: Keeper) -> None:
    lon, lat = (float(v) for v in transform(120.1612, 30.2519, "wgs84", "gcj02"))
    header = "编号,名称,类型,经度,纬度,坐标系,开放时间,热水,联系电话"
    text = f"{header}\nHB,湖滨驿站,爱心驿站,{lon},{lat},高德,24小时,是,0571-1\n"
    report = upload(keeper, text.encode("gbk"))
    assert report.status_code == 200, report.text
    stored = keeper.app.state.registry.versioned("HB")[0]
    assert float(haversine_m(stored.lon, stored.lat, 120.1612, 30.2519)) < 0.5
    assert (stored.opening_hours, stored.amenities, stored.phone) == ("24/7", {"hot_water": "yes"}, "0571-1")


def test_the_crs_parameter_applies_to_rows_without_one(keeper: Keeper) -> None:
    lon, lat = (float(v) for v in transform(120.1612, 30.2519, "wgs84", "bd09"))
    report = upload(keeper, csv_bytes("id,name,types,lon,lat", [f"BD,百度驿站,driver_home,{lon},{lat}"]), crs="bd09")
    assert report.status_code == 200
    stored = keeper.app.state.registry.versioned("BD")[0]
    assert float(haversine_m(stored.lon, stored.lat, 120.1612, 30.2519)) < 0.5


def test_xlsx_and_geojson_files(keeper: Keeper) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["名称", "类型", "经度", "纬度", "微波炉"])
    sheet.append(["表格驿站", "母婴室", 120.15, 30.25, "有"])
    out = io.BytesIO()
    workbook.save(out)
    assert upload(keeper, out.getvalue(), filename="union.xlsx").json()["added"] == 1
    feature = {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [120.14, 30.24]},
        "properties": {"id": "GJ", "name": "地理驿站", "types": "司机之家", "amenities": {"toilet": "yes"}},
    }
    data = json.dumps({"type": "FeatureCollection", "features": [feature]}, ensure_ascii=False).encode()
    assert upload(keeper, data, filename="union.geojson").json()["added"] == 1
    stored = keeper.app.state.registry.versioned("GJ")[0]
    assert (stored.types, stored.amenities) == (("driver_home",), {"toilet": "yes"})
    names = {s.name for s in keeper.app.state.registry.snapshot().stations}
    assert names == {"表格驿站", "地理驿站"}


# ---------------------------------------------------------------------------------------------- bad uploads


@pytest.mark.parametrize(
    ("filename", "data", "status", "error"),
    [
        ("union.doc", b"id,name\n", 422, "invalid_value"),
        ("union.csv", b"\xff\xfe\xfa\x00garbage\x81", 400, "unreadable_file"),
        ("union.geojson", b'{"type": "FeatureCollection", "features": [', 400, "unreadable_file"),
        ("union.geojson", b'{"type": "Feature"}', 400, "unreadable_file"),
        ("union.xlsx", b"PK\x03\x04 not really a workbook", 400, "unreadable_file"),
        ("union.csv", b"", 400, "unreadable_file"),
        ("union.csv", b"name,types\n", 400, "unreadable_file"),
    ],
)
def test_malformed_files_get_a_clear_4xx_and_write_nothing(
    keeper: Keeper, filename: str, data: bytes, status: int, error: str
) -> None:
    before = keeper.written()
    response = upload(keeper, data, filename=filename)
    assert (response.status_code, response.json()["error"]) == (status, error), response.text
    assert keeper.written() == before


def test_a_request_without_a_file_is_422(keeper: Keeper) -> None:
    no_file = keeper.client.post("/imports", data={"other": "x"}, headers=keeper.auth())
    assert no_file.status_code == 422 and no_file.json()["detail"][0]["field"] == "file"
    as_json = keeper.client.post("/imports", json={"file": "id,name"}, headers=keeper.auth())
    assert as_json.status_code == 422


def test_an_upload_over_the_limit_is_413_and_writes_nothing(keeper: Keeper) -> None:
    rows = [row(f"N{i}", f"驿站{i}", north(100 * i)) for i in range(2_000)]
    data = csv_bytes(HEADER, rows)
    assert len(data) > 50_000
    before = keeper.written()
    for params in ({}, {"dry_run": "true"}):
        response = upload(keeper, data, **params)
        assert response.status_code == 413 and response.json()["error"] == "too_large"
        assert "50,000" in response.json()["detail"]
    assert keeper.written() == before
    assert upload(keeper, csv_bytes(HEADER, rows[:100])).status_code == 200  # under the limit: fine


def test_a_chunked_upload_over_the_limit_is_413(keeper: Keeper) -> None:
    boundary = "yizhan-test-boundary"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
        "Content-Type: text/csv\r\n\r\n"
    ).encode()
    body = csv_bytes(HEADER, [row(f"N{i}", f"驿站{i}", north(100 * i)) for i in range(2_000)])

    def chunks() -> Iterator[bytes]:
        yield head
        for start in range(0, len(body), 8_192):
            yield body[start : start + 8_192]
        yield f"\r\n--{boundary}--\r\n".encode()

    headers = keeper.auth(Content_Type=f"multipart/form-data; boundary={boundary}")
    response = keeper.client.post("/imports", content=chunks(), headers=headers)
    assert response.status_code == 413


# ---------------------------------------------------------------------------------------------- concurrency


def test_an_import_keeps_an_edit_committed_while_it_was_planned(keeper: Keeper) -> None:
    keeper.add("A", name="甲")
    importer = threading.get_ident()
    armed = [True]

    def other_editor() -> None:
        keeper.app.state.registry.update("A", {"phone": "0571-9"}, "other editor")

    @event.listens_for(keeper.store.engine, "before_cursor_execute")
    def interleave(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if armed[0] and threading.get_ident() != importer and statement.startswith("UPDATE registry_meta"):
            armed[0] = False  # the import has made its plan and is about to write: another edit commits first
            writer = threading.Thread(target=other_editor)
            writer.start()
            writer.join()

    response = upload(keeper, csv_bytes("id,name,types,lon,lat", ["A,甲改,outdoor_worker,120.16,30.27"]))
    event.remove(keeper.store.engine, "before_cursor_execute", interleave)
    assert response.status_code == 200 and not armed[0]
    stored = keeper.app.state.registry.versioned("A")[0]
    assert (stored.name, stored.phone) == ("甲改", "0571-9")
