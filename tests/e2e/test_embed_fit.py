"""Embeds that fit a union's site (issue 14 item 7), in Chromium: the builder's snippets inside a page of another
origin at a phone's width (390 px) and a desktop's (1280 px) never scroll sideways and show the whole map and
legend; the wheel and one finger scroll the page until the map is clicked (gesture handling); popups badge a
station open or closed; "view full map" opens the rider page at the embed's view."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from e2e_support import FIXED_NOW, IMG, STATIONS, Server, other_site

pytestmark = pytest.mark.slow

NAMES = {row[0]: row[1] for row in STATIONS}
FILLER = '<p style="height: 1600px">工会新闻 Union news…</p>'
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
DESKTOP = {"viewport": {"width": 1280, "height": 800}}


def build_snippet(new_page: Callable[..., Any], server: Server, sizing: str, **choices: str) -> str:
    """The builder's snippet for all stations in English, ``sizing`` "responsive" (4:3) or "fixed" (600 x 450)."""
    builder = new_page(viewport={"width": 1280, "height": 900})
    builder.goto(f"{server.url}/embed/builder")
    builder.check(f"input[name=sizing][value={sizing}]")
    for field, value in choices.items():
        builder.fill(f"#yb-{field}", value)
    snippet: str = builder.input_value("#yb-snippet")
    return snippet


def union_page(snippet: str) -> str:
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1"><title>某区总工会</title></head>'
        f"<body><h1>户外劳动者服务站地图</h1><p>欢迎来歇脚。</p>{snippet}{FILLER}</body></html>"
    )


def inside(inner: dict[str, float], outer: dict[str, float], slack: float = 0.5) -> bool:
    return (
        inner["x"] >= outer["x"] - slack
        and inner["y"] >= outer["y"] - slack
        and inner["x"] + inner["width"] <= outer["x"] + outer["width"] + slack
        and inner["y"] + inner["height"] <= outer["y"] + outer["height"] + slack
    )


FRAME_FITS_JS = """() => {
  const box = r => ({x: r.left, y: r.top, width: r.width, height: r.height});
  const view = {x: 0, y: 0, width: innerWidth, height: innerHeight};
  return {view, scrollWidth: document.documentElement.scrollWidth,
          map: box(document.querySelector('.folium-map').getBoundingClientRect()),
          legend: box(document.querySelector('.yz-legend').getBoundingClientRect()),
          link: box(document.querySelector('.yz-full-map-link').getBoundingClientRect())};
}"""


@pytest.mark.parametrize("sizing", ["responsive", "fixed"])
@pytest.mark.parametrize("device", [PHONE, DESKTOP], ids=["390px", "1280px"])
def test_the_snippet_fits_a_page_of_another_site(
    new_page: Callable[..., Any], server: Server, tmp_path: Path, sizing: str, device: dict[str, Any]
) -> None:
    snippet = build_snippet(new_page, server, sizing)
    assert 'style="' in snippet and "max-width: 100%" in snippet if sizing == "fixed" else "padding-top: 75%" in snippet
    site = new_page(**device)
    with other_site(tmp_path, {"map.html": union_page(snippet)}) as origin:
        site.goto(f"{origin}/map.html")
        frame = site.frame_locator("iframe")
        frame.locator(".yz-legend").wait_for()
        width = site.evaluate("innerWidth")
        assert width == device["viewport"]["width"]
        assert site.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scroll
        iframe = site.locator("iframe").bounding_box()
        assert iframe["x"] >= 0 and iframe["x"] + iframe["width"] <= width
        if sizing == "responsive":
            assert iframe["height"] == pytest.approx(iframe["width"] * 0.75, abs=1)
        inner = site.frames[1].evaluate(FRAME_FITS_JS)
        assert inner["scrollWidth"] <= inner["view"]["width"]
        assert inside(inner["map"], inner["view"]) and inner["map"]["width"] == pytest.approx(iframe["width"], abs=1)
        assert inside(inner["legend"], inner["view"]), inner  # the whole legend, and the link, inside the frame
        assert inside(inner["link"], inner["view"]), inner
        frame.locator(".yz-legend").scroll_into_view_if_needed()
        legend = frame.locator(".yz-legend").bounding_box()  # in the union page's viewport
        assert inside(legend, {"x": 0, "y": 0, "width": width, "height": device["viewport"]["height"]})
        assert inside(legend, site.locator("iframe").bounding_box())


@contextmanager
def union_site(new_page: Callable[..., Any], server: Server, tmp_path: Path, device: dict[str, Any]) -> Iterator[Any]:
    """A union's page on another origin with the builder's responsive snippet, its map's stations drawn."""
    snippet = build_snippet(new_page, server, "responsive")
    site = new_page(**device)
    with other_site(tmp_path, {"map.html": union_page(snippet)}) as origin:
        site.goto(f"{origin}/map.html")
        site.frame_locator("iframe").locator(".yz-pin").first.wait_for()
        yield site


def zoom_of(site: Any) -> float:
    zoom: float = site.frames[1].evaluate("window.yizhan.map.getZoom()")
    return zoom


def test_the_wheel_scrolls_the_page_until_the_map_is_clicked(
    new_page: Callable[..., Any], server: Server, tmp_path: Path
) -> None:
    with union_site(new_page, server, tmp_path, DESKTOP) as site:
        frame = site.frame_locator("iframe")
        box = site.locator("iframe").bounding_box()
        middle = (box["x"] + box["width"] / 2, box["y"] + 120)
        start = zoom_of(site)
        site.mouse.move(*middle)
        site.mouse.wheel(0, 200)
        site.wait_for_function("scrollY > 0")  # the page scrolled...
        assert zoom_of(site) == start  # ...and the map did not zoom
        assert frame.locator(".yz-gesture-hint").text_content() == "点击地图后可用滚轮缩放"
        site.evaluate("scrollTo(0, 0)")
        site.wait_for_function("scrollY === 0")
        site.mouse.click(box["x"] + box["width"] / 2, box["y"] + 40)  # clicked: focused
        site.mouse.wheel(0, -300)
        site.frames[1].wait_for_function("start => window.yizhan.map.getZoom() > start", arg=start)
        assert site.evaluate("scrollY") == 0
        zoomed = zoom_of(site)
        site.mouse.move(box["x"] + box["width"] / 2, 5)  # the mouse leaves the map: the wheel scrolls again
        site.mouse.move(*middle)
        site.mouse.wheel(0, 200)
        site.wait_for_function("scrollY > 0")
        assert zoom_of(site) == zoomed


def touch(client: Any, kind: str, points: list[tuple[float, float]]) -> None:
    client.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [{"x": x, "y": y} for x, y in points]})


def back_to_top(page: Any, timeout_s: float = 10.0) -> None:
    """Scroll ``page`` to the top and wait until it stays there for 200 ms (a fling may still be moving it)."""
    deadline = time.monotonic() + timeout_s
    while True:
        page.evaluate("scrollTo(0, 0)")
        page.wait_for_timeout(200)
        if page.evaluate("scrollY") == 0:
            return
        assert time.monotonic() < deadline, "the page did not stay at the top"


def test_one_finger_scrolls_past_the_map_and_two_move_it(
    new_page: Callable[..., Any], server: Server, tmp_path: Path
) -> None:
    with union_site(new_page, server, tmp_path, PHONE) as site:
        frame = site.frame_locator("iframe")
        box = site.locator("iframe").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        centre = site.frames[1].evaluate("window.yizhan.map.getCenter()")
        client = site.context.new_cdp_session(site)
        touch(client, "touchStart", [(x, y)])
        for step in range(1, 11):
            touch(client, "touchMove", [(x, y - 12 * step)])
        assert frame.locator(".yz-gesture-hint").text_content() == "使用双指移动地图"
        touch(client, "touchEnd", [])
        assert site.frames[1].evaluate("window.yizhan.map.getCenter()") == centre  # one finger: the map stayed
        site.wait_for_function("scrollY > 0")  # ...and the page scrolled
        back_to_top(site)  # the one-finger fling may still be scrolling: scroll back until the page stays there
        box = site.locator("iframe").bounding_box()
        x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        touch(client, "touchStart", [(x - 40, y), (x + 40, y)])
        for step in range(1, 11):
            touch(client, "touchMove", [(x - 40, y - 6 * step), (x + 40, y - 6 * step)])
        touch(client, "touchEnd", [])
        # polled by evaluate (wait_for_function timed out here at times, under load, though the map had moved)
        deadline = time.monotonic() + 10
        while site.frames[1].evaluate("window.yizhan.map.getCenter().lat") >= centre["lat"] - 1e-6:
            assert time.monotonic() < deadline, "two fingers did not move the map"
            site.wait_for_timeout(100)


def test_popups_badge_stations_open_or_closed(new_page: Callable[..., Any], server: Server) -> None:
    page = new_page()
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.url))
    page.goto(f"{server.url}/embed?now={FIXED_NOW}")
    page.wait_for_selector(".yz-pin")
    shown = (("T-SPLIT", "已关闭", "13:30 开放"), ("T-IMG", "开放中", "至 20:00"), ("T-NONE", "开放时间未知", None))
    for station_id, badge, when in shown:
        page.get_by_title(NAMES[station_id], exact=True).focus()
        page.keyboard.press("Enter")
        card = page.locator(".leaflet-popup-content .yz-card")
        assert card.locator(".yz-card-name").text_content() == NAMES[station_id]
        assert card.locator(".yz-badge").text_content() == badge
        assert (card.locator(".yz-when").text_content() if when else card.locator(".yz-when").count()) == (when or 0)
        # closed by the map's API: the close button's click once left the popup open in a loaded clean-clone run
        # (not reproduced since; see the closing note of 2026-12-04) and this test is about the badges
        page.evaluate("() => { window.yizhan.map.closePopup(); }")  # not the map back: Playwright serialises it
        card.wait_for(state="detached")
    assert IMG not in page.locator("body").inner_html().replace("&lt;", "<")  # names stay text
    status_urls = [url for url in asked if "/embed/status" in url]
    assert status_urls and parse_qs(urlsplit(status_urls[0]).query)["at"] == [FIXED_NOW]


def test_view_full_map_opens_the_rider_page_at_the_same_view(new_page: Callable[..., Any], server: Server) -> None:
    page = new_page()
    page.goto(f"{server.url}/embed?types=outdoor_worker&lang=en&lon=120.17&lat=30.25&zoom=14")
    link = page.locator(".yz-full-map-link")
    assert link.text_content() == "View full map" and link.get_attribute("target") == "_blank"
    view = page.evaluate("[window.yizhan.map.getCenter().lat, window.yizhan.map.getCenter().lng]")
    url = urlsplit(link.get_attribute("href"))
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{server.url}/"
    assert query == {"lat": f"{view[0]:.5f}", "lon": f"{view[1]:.5f}", "zoom": "14", "types": "outdoor_worker",
                     "lang": "en"}  # fmt: skip
    page.evaluate("() => { window.yizhan.map.setView([30.26, 120.15], 15); }")  # not the map back (serialised)
    page.wait_for_function("() => document.querySelector('.yz-full-map-link').href.includes('zoom=15')")
    assert "lat=30.26000" in link.get_attribute("href") and "lon=120.15000" in link.get_attribute("href")

    with page.expect_popup() as opened:
        link.click()
    rider = opened.value
    rider.wait_for_selector(".yz-item")
    assert rider.evaluate("window.yizhan.map.getZoom()") == 15
    centre = rider.evaluate("[window.yizhan.map.getCenter().lat, window.yizhan.map.getCenter().lng]")
    assert centre == pytest.approx([30.26, 120.15], abs=1e-4)
    assert rider.evaluate("window.yizhan.state.position") == pytest.approx([120.15, 30.26])
    assert rider.locator(".yz-chip[data-value=outdoor_worker]").get_attribute("aria-pressed") == "true"
    assert rider.locator("#yz-status").text_content().startswith("Showing the place of the embedded map.")
    listed = rider.eval_on_selector_all(".yz-item", "items => items.map(i => i.dataset.id)")
    assert listed and all("outdoor_worker" in row[2] for row in STATIONS if row[0] in listed)
