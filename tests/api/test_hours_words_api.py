"""Opening hours in people's words through the API doors: an edit and an import read them with the one
validation (the Station model, ``stations.hours_words``); words it cannot read are a 422 naming the part, in
Chinese, and nothing is written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from keeper_support import Keeper, csv_bytes, keeper_app


@pytest.fixture(scope="module")
def keeper(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keeper]:
    folder = tmp_path_factory.mktemp("hours_words_api")
    with keeper_app(f"sqlite:///{Path(folder) / 'keeper.sqlite3'}") as running:
        yield running


def test_an_edit_in_chinese_words_is_stored_as_osm_and_unreadable_words_are_refused(keeper: Keeper) -> None:
    keeper.add("HW-1", opening_hours="24/7")
    edit = {"opening_hours": "周一至周五 上午8:30-11:30 下午1:30-5:00，节假日休息"}
    saved = keeper.client.patch("/stations/HW-1", json=edit, headers=keeper.auth("editor", If_Match='"1"'))
    assert saved.status_code == 200, saved.text
    assert saved.json()["properties"]["opening_hours"] == "Mo-Fr 08:30-11:30,13:30-17:00; PH off"
    refused = keeper.client.patch(
        "/stations/HW-1", json={"opening_hours": "周一至周五 看心情"}, headers=keeper.auth("editor", If_Match='"2"')
    )
    assert refused.status_code == 422
    assert "“看心情”无法识别" in refused.text
    stored = keeper.client.get("/stations/HW-1").json()["properties"]["opening_hours"]
    assert stored == "Mo-Fr 08:30-11:30,13:30-17:00; PH off"


def test_an_import_in_chinese_words_reports_the_unreadable_row(keeper: Keeper) -> None:
    sheet = csv_bytes(
        "名称,类型,经度,纬度,开放时间",
        ["甲驿站,outdoor_worker,120.16,30.27,周一至周日 8:00-20:00", "乙驿站,outdoor_worker,120.17,30.27,偶尔开"],
    )
    answer = keeper.client.post(
        "/imports", files={"file": ("s.csv", sheet)}, params={"dry_run": "true"}, headers=keeper.auth()
    )
    assert answer.status_code == 200, answer.text
    report = answer.json()
    (problem,) = report["problems"]
    assert (problem["row"], problem["field"], problem["value"]) == (3, "opening_hours", "偶尔开")
    assert problem["reason"].startswith("开放时间中“偶尔开”无法识别")
    assert report["valid"] == 1 and not report["committed"]
