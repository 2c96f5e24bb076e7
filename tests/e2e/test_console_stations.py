"""The keeper console's station pages in Chromium (issue 16): an editor sets a station's opening hours in the form
(people's words or the weekly hours editor) → the saved OSM syntax → the rider page shows the right open status
at a fixed time; two editors save the same station (the second sees both versions and re-applies, nothing lost);
an editor drags the pin and the station moves; a viewer sees no write control; axe-core finds no serious or
critical violation on the list, form, history and freshness pages. The app runs on its own registry (the tests
write), the pages with their Content-Security-Policy (the map and the form's script must run under it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_accessibility
from e2e_support import FIXED_NOW, RIDER_AT, Server, console_serve, signed_in

pytestmark = pytest.mark.slow
axe_path = test_accessibility.axe_path  # the accessibility tests' fixture: node_modules/axe-core

EDITOR, OTHER, VIEWER = "编辑甲", "编辑乙", "查看者丙"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    people = ((EDITOR, "editor"), (OTHER, "editor"), (VIEWER, "viewer"))
    with console_serve(tmp_path_factory.mktemp("console-stations"), people) as running:
        yield running


def _signed_in(new_page: Callable[..., Any], server: Server, path: str, name: str = EDITOR, **options: Any) -> Any:
    return signed_in(new_page, server, path, name, **options)


def _station(server: Server, station_id: str) -> dict[str, Any]:
    feature: dict[str, Any] = httpx.get(f"{server.url}/stations/{station_id}", timeout=30).json()
    return feature


def test_hours_set_in_the_form_reach_the_rider_page(new_page: Callable[..., Any], console_server: Server) -> None:
    page = _signed_in(new_page, console_server, "/console/stations/T-NONE")
    page.wait_for_selector("#yz-station-map .leaflet-marker-icon")  # the map ran under the page's CSP
    page.wait_for_selector(".yz-hours-editor")  # the weekly editor (maps/static/hours_editor.js)
    page.click(".yz-he-add-group")
    group = page.locator(".yz-he-group").first
    days = group.locator(".yz-he-days input[type=checkbox]")
    for day in range(days.count()):  # 一 … 日
        days.nth(day).check()
    times = group.locator(".yz-he-range input[type=time]")
    times.nth(0).fill("11:00")
    times.nth(1).fill("13:00")
    assert page.input_value("#f-opening_hours") == "Mo-Su 11:00-13:00"  # the OSM syntax it wrote
    page.click("#yz-save")
    page.wait_for_selector("#yz-form-message")
    assert "已保存" in page.inner_text("#yz-form-message")
    assert _station(console_server, "T-NONE")["properties"]["opening_hours"] == "Mo-Su 11:00-13:00"
    rider = new_page(
        geolocation={"longitude": RIDER_AT[0], "latitude": RIDER_AT[1]}, permissions=["geolocation"], locale="zh-CN"
    )
    rider.goto(f"{console_server.url}/?now={FIXED_NOW}")  # a Monday noon
    badge = rider.locator('.yz-item[data-id="T-NONE"] .yz-badge')
    badge.wait_for()
    assert badge.text_content() == "开放中"


def test_two_editors_save_the_same_station_and_nothing_is_lost(
    new_page: Callable[..., Any], console_server: Server
) -> None:
    first = _signed_in(new_page, console_server, "/console/stations/T-EVE")
    second = _signed_in(new_page, console_server, "/console/stations/T-EVE", name=OTHER)
    second.fill("#f-name", "延安路骑士之家（乙改）")
    second.click("#yz-save")
    second.wait_for_selector("#yz-form-message")
    first.fill("#f-phone", "0571-8888")
    first.click("#yz-save")
    first.wait_for_selector("#yz-conflict")
    text = first.inner_text("#yz-conflict")
    assert "延安路骑士之家（乙改）" in text and "0571-8888" in text and "SSTI[{{ 7*7 }}]X" in text
    assert first.locator("#yz-conflict tr.yz-changed-both").count() == 1  # the phone: changed by me
    first.click("#yz-reapply")
    first.wait_for_selector("#yz-form-message")
    saved = _station(console_server, "T-EVE")["properties"]
    assert (saved["name"], saved["phone"]) == ("延安路骑士之家（乙改）", "0571-8888")


def test_dragging_the_pin_moves_the_station(new_page: Callable[..., Any], console_server: Server) -> None:
    page = _signed_in(new_page, console_server, "/console/stations/T-FAR")
    marker = page.locator("#yz-station-map .leaflet-marker-icon")
    marker.wait_for()
    before = (page.input_value("#f-lon"), page.input_value("#f-lat"))
    box = marker.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 60, y + 30, steps=8)
    page.mouse.up()
    after = (page.input_value("#f-lon"), page.input_value("#f-lat"))
    assert float(after[0]) > float(before[0]) and float(after[1]) < float(before[1])  # east and south
    page.click("#yz-save")
    page.wait_for_selector("#yz-form-message")
    lon, lat = _station(console_server, "T-FAR")["geometry"]["coordinates"]
    assert (f"{lon:.6f}", f"{lat:.6f}") == after  # WGS84 tiles: the form's numbers are the stored ones


def test_a_viewer_sees_no_write_control(new_page: Callable[..., Any], console_server: Server) -> None:
    page = _signed_in(new_page, console_server, "/console/stations/T-SPLIT", name=VIEWER)
    page.wait_for_selector("#yz-station-facts")
    assert page.locator("main form[method=post], #yz-station-form, #yz-save").count() == 0
    assert page.locator("main input:not([type=hidden]), main select, main textarea").count() == 0
    assert "湖滨街道工会驿站 {# 二号" in page.inner_text("#yz-station-facts")
    page.goto(f"{console_server.url}/console/freshness?days=0")
    assert page.locator("form.yz-verify").count() == 0 and page.locator("#yz-fresh-list tr[data-id]").count() > 0
    page.goto(f"{console_server.url}/console/stations")
    assert page.locator("text=新建站点").count() == 0


@pytest.mark.parametrize(
    "path", ["/console/stations", "/console/stations/T-IMG", "/console/stations/T-IMG/history", "/console/freshness"]
)
def test_axe_finds_no_serious_violation(
    new_page: Callable[..., Any], console_server: Server, axe_path: Path, path: str
) -> None:
    page = _signed_in(new_page, console_server, path, bypass_csp=True)  # axe is injected
    page.wait_for_timeout(300)
    problems = test_accessibility._violations(page, axe_path)
    assert not problems, f"axe-core on {path}:\n" + "\n".join(problems)
