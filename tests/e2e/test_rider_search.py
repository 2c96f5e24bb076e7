"""The rider page without GPS (issue 14 item 3): the search box finds districts and stations by name, and picking
one lists the stations near it; a district starts inside its polygon where its stations are; hostile, empty
and 10 KB queries are answered with a clear message, and every name stays text."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import shapely
from e2e_support import IMG, STATION_WGS84, Server, wait_for_ids

from geo.districts import Districts

pytestmark = pytest.mark.slow

K = 20


def api_ids(server: Server, page: Any, lon: float, lat: float) -> list[str]:
    """The API's answer from (lon, lat) in the page's order (open stations first, unless switched)."""
    order = page.evaluate("window.yizhan.state.order || 'distance'")
    body = server.get("/stations/nearby", lon=lon, lat=lat, k=K, order=order).json()
    return [feature["id"] for feature in body["features"]]


def page_without_gps(new_page: Callable[..., Any], server: Server) -> Any:
    page = new_page(locale="zh-CN")  # no geolocation permission: the browser refuses
    page.goto(server.url + "/")
    page.wait_for_function("() => document.getElementById('yz-status').textContent.includes('拒绝')", timeout=15_000)
    return page


def search(page: Any, text: str) -> list[str]:
    """Type ``text`` in the box, submit, and wait for the answer; the names of the places offered."""
    page.get_by_role("searchbox", name="搜索地点、街道或服务站").fill(text)
    page.get_by_role("button", name="搜索", exact=True).click()
    page.wait_for_function("() => !document.getElementById('yz-status').textContent.includes('正在搜索')")
    return page.eval_on_selector_all(".yz-place-name", "nodes => nodes.map(node => node.textContent)")


def test_type_xihu_pick_a_station_and_the_list_is_near_it(new_page: Callable[..., Any], server: Server) -> None:
    page = page_without_gps(new_page, server)
    names = search(page, "西湖")
    assert names[0] == "西湖区"  # the district first, then the station named 西湖…
    station = "西湖母婴室 {% if 1 %}IF-RAN{% endif %}"
    assert station in names
    assert "找到" in page.locator("#yz-status").text_content()
    page.locator(".yz-place-pick", has_text="西湖母婴室").click()
    page.wait_for_selector(".yz-item")
    lon, lat = STATION_WGS84["T-NONE"]
    assert page.evaluate("window.yizhan.state.position") == pytest.approx([lon, lat], abs=1e-6)
    wait_for_ids(page, api_ids(server, page, lon, lat))
    distance = page.locator('.yz-item[data-id="T-NONE"] .yz-distance').text_content()
    assert distance.startswith("0 米"), distance  # measured from the station picked
    assert "已选择：西湖母婴室" in page.locator("#yz-status").text_content()
    assert page.locator("#yz-places").is_hidden()


def test_a_district_starts_inside_it_near_its_stations(
    new_page: Callable[..., Any], server: Server, districts: Districts
) -> None:
    page = page_without_gps(new_page, server)
    assert search(page, "上城")[0] == "上城区"
    page.locator(".yz-place-pick").first.click()
    page.wait_for_selector(".yz-item")
    lon, lat = page.evaluate("window.yizhan.state.position")
    polygon = districts.geometries[districts.adcodes.index("330102")]
    assert polygon.covers(shapely.Point(lon, lat))
    inside = {sid for sid, (x, y) in STATION_WGS84.items() if polygon.covers(shapely.Point(x, y))}
    assert (lon, lat) in {STATION_WGS84[sid] for sid in inside}  # at one of its stations
    wait_for_ids(page, api_ids(server, page, round(lon, 7), round(lat, 7)))
    # the drop-down starts from the same point
    page.wait_for_function("() => document.querySelectorAll('#yz-district option').length > 1")
    page.select_option("#yz-district", "330102")
    page.wait_for_function("() => document.getElementById('yz-status').textContent.includes('已选择区县')")
    assert page.evaluate("window.yizhan.state.position") == pytest.approx([lon, lat], abs=1e-6)


def test_hostile_empty_and_long_queries_are_said_clearly(new_page: Callable[..., Any], server: Server) -> None:
    page = page_without_gps(new_page, server)
    names = search(page, IMG)
    assert IMG in names  # the station named so, shown as text (a dialog or a script error fails the test)
    assert page.locator(".yz-places img").count() == 0
    search(page, "   ")
    assert page.locator("#yz-status").text_content() == "请输入区县、街道、社区或服务站的名称。"
    assert page.locator(".yz-place").count() == 0
    page.evaluate("document.getElementById('yz-search').removeAttribute('maxlength')")
    search(page, "站" * 10_000)  # said at once, as the API would (GET /search answers 422: tests/api)
    assert page.locator("#yz-status").text_content() == "太长了：最多 100 个字。"
    search(page, "西湖\u0007")  # a bad query the page lets through: the API's 422, said in the page's words
    assert page.locator("#yz-status").text_content() == "搜索词里有无法搜索的字符，请修改后再试。"
    search(page, '"</script><b>不存在')
    assert page.locator("#yz-status").text_content() == '没有找到与“"</script><b>不存在”相关的地点。'
    assert page.locator("#yz-status b").count() == 0
