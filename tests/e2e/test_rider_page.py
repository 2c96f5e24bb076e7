"""The rider page (``GET /``) in headless Chromium: the list is the API's answer, filters and "open now" act
as the API says, navigation links carry correctly converted coordinates, hostile names stay text, and a
refused geolocation is said clearly with a way out (district, tap on the map)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from e2e_support import (
    ARTIFACTS,
    FIXED_NOW,
    IMG,
    RIDER_AT,
    SCRIPT,
    STATION_WGS84,
    STATIONS,
    Server,
    list_ids,
    wait_for_ids,
)

from geo.crs import transform

pytestmark = pytest.mark.slow

K = 20  # the page asks for the 20 nearest
FREE_MAP_POINT = """() => {
  const box = document.querySelector("#yz-map-slot .folium-map").getBoundingClientRect();
  for (let y = box.top + 60; y < box.bottom - 30; y += 7) {
    for (let x = box.left + 60; x < box.right - 20; x += 7) {
      const hit = document.elementFromPoint(x, y);
      if (hit && !hit.closest(".leaflet-marker-icon, .leaflet-control, .leaflet-interactive")) { return [x, y]; }
    }
  }
  throw new Error("no free spot on the map");
}"""


def api_ids(
    server: Server, lon: float = RIDER_AT[0], lat: float = RIDER_AT[1], order: str = "open_first", **params: Any
) -> list[str]:
    """The ids the API answers, in the rider page's default order (open stations first)."""
    body = server.get("/stations/nearby", lon=lon, lat=lat, k=K, order=order, **params).json()
    return [feature["id"] for feature in body["features"]]


def located_page(new_page: Callable[..., Any], server: Server, query: str = "") -> Any:
    page = new_page(
        geolocation={"longitude": RIDER_AT[0], "latitude": RIDER_AT[1]},
        permissions=["geolocation"],
        locale="zh-CN",
    )
    page.goto(f"{server.url}/{query}")
    page.wait_for_selector(".yz-item")
    return page


def test_the_list_is_the_nearest_stations_in_the_api_order(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server)
    expected = api_ids(server)
    assert len(expected) == len(STATION_WGS84)
    wait_for_ids(page, expected)
    assert page.locator("#yz-status").text_content().endswith(f"找到 {len(expected)} 个服务站，开放的优先。")
    assert page.locator(".leaflet-marker-icon.yz-pin").count() == len(expected)
    first = page.locator(".yz-item").first
    assert re.search(r"\d+ 米 · 步行约 \d+ 分钟 · 骑行约 \d+ 分钟", first.locator(".yz-distance").text_content())
    assert first.locator(".yz-verified").text_content().startswith("核实日期：2026-10-")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "rider.png"))


def test_hostile_names_show_as_text_and_run_nothing(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server)
    names = page.eval_on_selector_all(".yz-name", "nodes => nodes.map(node => node.textContent)")
    assert sorted(names) == sorted(row[1] for row in STATIONS)  # template syntax too: shown, never evaluated
    assert not any("SSTI[49]" in name or name == "IF-RAN" for name in names)
    addresses = page.eval_on_selector_all(".yz-meta", "nodes => nodes.map(node => node.textContent)")
    assert f"地址：湖滨路 {IMG}" in addresses and f"地址：{SCRIPT}" in addresses
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.querySelectorAll('script').length") == page.evaluate(
        "Array.from(document.scripts).filter(s => !s.textContent.includes('alert(2)')).length"
    )
    titles = page.eval_on_selector_all(".yz-pin", "pins => pins.map(pin => pin.title)")
    assert any(title.endswith(IMG) for title in titles)
    # (the new_page fixture fails the test if any dialog fired or any script error was thrown)


def test_filters_and_open_now_change_the_list_as_the_api_says(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server, f"?now={FIXED_NOW}")
    steps: list[tuple[str, dict[str, str]]] = [
        ("#yz-amenities .yz-chip[data-value=hot_water]", {"amenities": "hot_water"}),
        ("#yz-amenities .yz-chip[data-value=microwave]", {"amenities": "hot_water,microwave"}),
        ("#yz-amenities .yz-chip[data-value=microwave]", {"amenities": "hot_water"}),
        ("#yz-types .yz-chip[data-value=outdoor_worker]", {"amenities": "hot_water", "types": "outdoor_worker"}),
        ("#yz-open-now", {"amenities": "hot_water", "types": "outdoor_worker", "open_at": FIXED_NOW}),
        ("#yz-types .yz-chip[data-value=outdoor_worker]", {"amenities": "hot_water", "open_at": FIXED_NOW}),
        ("#yz-amenities .yz-chip[data-value=hot_water]", {"open_at": FIXED_NOW}),
    ]
    previous = api_ids(server, at=FIXED_NOW)
    wait_for_ids(page, previous)
    for selector, query in steps:
        expected = api_ids(server, at=FIXED_NOW, **query)
        assert expected != previous, f"the test data should make {query} change the list"
        page.click(selector)
        wait_for_ids(page, expected)
        previous = expected
    assert page.locator("#yz-amenities .yz-chip[aria-pressed=true]").count() == 0
    assert page.is_checked("#yz-open-now")
    # the split-shift station is closed at Monday noon, so "open now" leaves it out
    assert "T-SPLIT" not in previous and "T-SPLIT" in api_ids(server)


def _numbers(text: str) -> list[float]:
    return [float(value) for value in text.split(",")[:2]]


def test_navigation_links_carry_coordinates_converted_per_app(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server)
    rows = page.eval_on_selector_all(
        ".yz-item",
        "items => items.map(item => [item.dataset.id, Array.from(item.querySelectorAll('.yz-nav-link'))"
        ".map(link => [link.className, link.getAttribute('href'), link.textContent])])",
    )
    assert len(rows) == len(STATION_WGS84)
    for station_id, links in rows:
        lon, lat = STATION_WGS84[station_id]
        (g_lon,), (g_lat,) = (v.tolist() for v in transform([lon], [lat], "wgs84", "gcj02"))
        (b_lon,), (b_lat,) = (v.tolist() for v in transform([lon], [lat], "wgs84", "bd09"))
        by_app = {cls.split("yz-nav-")[-1]: (href, text) for cls, href, text in links}
        assert [by_app[app][1] for app in ("amap", "baidu", "tencent", "geo")] == ["高德", "百度", "腾讯", "其他地图"]
        amap = parse_qs(urlsplit(by_app["amap"][0]).query)
        x, y = _numbers(amap["to"][0])
        assert abs(x - g_lon) < 1e-6 and abs(y - g_lat) < 1e-6
        baidu = parse_qs(urlsplit(by_app["baidu"][0]).query)
        y, x = _numbers(baidu["destination"][0].removeprefix("latlng:").split("|")[0])
        assert abs(x - b_lon) < 1e-6 and abs(y - b_lat) < 1e-6
        tencent = parse_qs(urlsplit(by_app["tencent"][0]).query)
        y, x = _numbers(tencent["tocoord"][0])
        assert abs(x - g_lon) < 1e-6 and abs(y - g_lat) < 1e-6
        geo = unquote(by_app["geo"][0])
        y, x = _numbers(geo.removeprefix("geo:").split("?")[0])
        assert abs(x - lon) < 1e-6 and abs(y - lat) < 1e-6


def test_selecting_a_list_item_highlights_its_marker_and_back(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server)
    page.locator(".yz-item .yz-pick").nth(2).click()
    third = list_ids(page)[2]
    assert page.locator(".yz-item").nth(2).get_attribute("class").split().count("yz-item-selected") == 1
    assert page.locator(".yz-item .yz-pick[aria-pressed=true]").count() == 1
    assert page.locator(".yz-pin.yz-selected").count() == 1
    assert page.locator(".yz-pin.yz-selected").text_content() == "3"
    page.locator(".yz-pin", has_text=re.compile(r"^1$")).focus()  # markers are in the tab order
    page.keyboard.press("Enter")
    assert page.locator(".yz-item.yz-item-selected").get_attribute("data-id") == list_ids(page)[0] != third
    assert page.evaluate("document.activeElement.closest('.yz-item').dataset.id") == list_ids(page)[0]
    assert page.locator(".yz-pin.yz-selected").text_content() == "1"


def test_english_switch(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server)
    page.click("#yz-lang")
    assert page.locator("h1").text_content() == "Yizhan · stations near you"
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.locator("#yz-amenities .yz-chip[data-value=hot_water]").text_content() == "Hot water"
    assert "min walk" in page.locator(".yz-distance").first.text_content()
    assert page.locator("#yz-status").text_content().endswith("stations, open ones first.")


def test_refused_geolocation_is_said_and_a_district_or_a_tap_still_works(
    new_page: Callable[..., Any], server: Server
) -> None:
    page = new_page(locale="zh-CN")  # no geolocation permission: the browser refuses
    page.goto(server.url + "/")
    page.wait_for_function("() => document.getElementById('yz-status').textContent.includes('拒绝')", timeout=15_000)
    assert "请点击地图选择位置，或选择区县" in page.locator("#yz-status").text_content()
    assert page.locator(".yz-item").count() == 0
    page.wait_for_function("() => document.querySelectorAll('#yz-district option').length > 1")
    option = page.locator("#yz-district option").nth(1)
    adcode, name = option.get_attribute("value"), option.text_content()
    page.select_option("#yz-district", adcode)
    page.wait_for_selector(".yz-item")
    assert name in page.locator("#yz-status").text_content()
    x, y = page.evaluate(FREE_MAP_POINT)
    page.mouse.click(x, y)
    page.wait_for_function("() => document.getElementById('yz-status').textContent.includes('已选择地图上的位置')")
    lon, lat = page.evaluate("window.yizhan.state.position")
    wait_for_ids(page, api_ids(server, lon=round(lon, 7), lat=round(lat, 7)))


def test_the_page_refuses_to_be_framed(server: Server) -> None:
    headers = server.get("/").headers
    assert headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"].split("; ")


def test_status_badges_follow_the_clock_and_say_closes_soon(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server, "?now=2026-11-23T10:45")  # a Monday, 15 minutes before 11:00

    def badge(station_id: str) -> str:
        return page.locator(f'.yz-item[data-id="{station_id}"] .yz-badge').text_content()

    assert badge("T-SPLIT") == "即将关闭"  # split shift closes at 11:00
    assert badge("T-MOM") == "开放中"  # open until 20:00
    assert badge("T-EVE") == "已关闭"  # opens at 18:00
    assert badge("T-NONE") == "开放时间未知"
    body = server.get("/stations/nearby", lon=RIDER_AT[0], lat=RIDER_AT[1], k=20, at="2026-11-23T10:45").json()
    closes = {f["id"]: f["properties"]["closes_at"] for f in body["features"]}
    assert closes["T-SPLIT"] == "2026-11-23T11:00:00+08:00" and closes["T-EVE"] is None


NIGHT = "2026-11-24T02:17"
"""A Tuesday night (China time): only the 24/7 stations are open; day-time ones open at 08:00 or 08:30."""
SATURDAY_NIGHT = "2026-11-28T23:00"
BADGE_RANK = {"开放中": 0, "即将关闭": 1, "开放时间未知": 2, "已关闭": 3}


def item_texts(page: Any, selector: str) -> dict[str, str | None]:
    """Each list item's text of ``selector`` (None where it has none), by station id."""
    return dict(
        page.eval_on_selector_all(
            ".yz-item",
            "(items, selector) => items.map(item => [item.dataset.id, "
            "item.querySelector(selector) ? item.querySelector(selector).textContent : null])",
            selector,
        )
    )


def test_at_night_open_stations_come_first_and_closed_ones_say_when_they_open(
    new_page: Callable[..., Any], server: Server
) -> None:
    by_distance = api_ids(server, order="distance", at=NIGHT)
    statuses = {f["id"]: f["properties"]["open_status"] for f in server.get(
        "/stations/nearby", lon=RIDER_AT[0], lat=RIDER_AT[1], k=K, at=NIGHT).json()["features"]}  # fmt: skip
    assert statuses[by_distance[0]] == "closed"  # nearest first, the list would start with a closed station
    page = located_page(new_page, server, f"?now={NIGHT}")
    expected = api_ids(server, at=NIGHT)
    wait_for_ids(page, expected)
    first = page.locator(".yz-item").first
    assert first.locator(".yz-badge").text_content() == "开放中"
    badges = page.eval_on_selector_all(".yz-item .yz-badge", "nodes => nodes.map(node => node.textContent)")
    assert [BADGE_RANK[b] for b in badges] == sorted(BADGE_RANK[b] for b in badges)
    assert page.locator("#yz-order-open-first").is_checked()
    assert page.locator("#yz-status").text_content().endswith("开放的优先。")
    when = item_texts(page, ".yz-when")
    assert when["T-IMG"] == "08:00 开放" and when["T-SPLIT"] == "08:30 开放" and when["T-EVE"] == "18:00 开放"
    assert when["T-SCRIPT"] is None  # 24/7: open, and never closes
    assert when["T-NONE"] is None and item_texts(page, ".yz-badge")["T-NONE"] == "开放时间未知"
    # the toggle: nearest first, as the API answers by distance
    page.click("#yz-order-distance")
    wait_for_ids(page, by_distance)
    assert page.locator("#yz-status").text_content().endswith("按距离排序。")
    assert page.locator(".yz-item").first.locator(".yz-when").text_content() == "08:00 开放"
    page.click("#yz-lang")
    assert item_texts(page, ".yz-when")["T-IMG"] == "opens 08:00"
    page.click("#yz-order-open-first")
    wait_for_ids(page, expected)


def test_weekend_nights_and_day_times_say_the_day(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server, f"?now={SATURDAY_NIGHT}&order=distance")
    wait_for_ids(page, api_ids(server, order="distance", at=SATURDAY_NIGHT))
    assert page.locator("#yz-order-distance").is_checked()
    when = item_texts(page, ".yz-when")
    assert when["T-SPLIT"] == "周一 08:30 开放" and when["T-IMG"] == "明天 08:00 开放"
    assert when["T-EVE"] == "明天 18:00 开放"
    page.click("#yz-lang")
    when = item_texts(page, ".yz-when")
    assert when["T-SPLIT"] == "opens Mon 08:30" and when["T-IMG"] == "opens tomorrow 08:00"
    page = located_page(new_page, server, f"?now={FIXED_NOW}")
    wait_for_ids(page, api_ids(server, at=FIXED_NOW))
    when = item_texts(page, ".yz-when")
    assert when["T-IMG"] == "至 20:00" and when["T-SPLIT"] == "13:30 开放" and when["T-SCRIPT"] is None


def test_walking_time_only_near_riding_or_driving_beyond(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server, f"?now={FIXED_NOW}")
    wait_for_ids(page, api_ids(server, at=FIXED_NOW))
    travel = item_texts(page, ".yz-distance")
    assert re.fullmatch(r"\d+ 米 · 步行约 \d+ 分钟 · 骑行约 \d+ 分钟", travel["T-IMG"] or "")
    assert re.fullmatch(r"[\d.]+ 公里 · 骑行约 \d+ 分钟", travel["T-FAR"] or "")  # 6.8 km: no walking time
    assert re.fullmatch(r"[\d.]+ 公里 · 驾车约 \d+ 分钟", travel["T-DRV"] or "")  # a driver home 4.8 km away
    assert not any(
        "步行" in text and "公里" in text and float(text.split(" ")[0]) > 3 for text in travel.values() if text
    )
