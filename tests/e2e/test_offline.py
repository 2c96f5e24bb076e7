"""The rider page in a dead zone (``maps/static/sw.js``), by taking the browser context offline: the page reloads
from the service worker's cache; the answer saved for the same or a nearby position shows, marked with its age and
with open/closed as of when it was saved (no live badge); a far position or other filters get a clear offline
message and no stale list; back online the answers are live again, unmarked. Embeds register no worker."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import RIDER_AT, Server, list_ids

pytestmark = pytest.mark.slow

LIVE_BADGES = ".yz-badge-open, .yz-badge-closed, .yz-badge-soon, .yz-badge-unknown"
SAVED_ANSWERS = """async () => {
  const names = (await caches.keys()).filter(name => name.startsWith("yizhan-answers-"));
  let count = 0;
  for (const name of names) { count += (await (await caches.open(name)).keys()).length; }
  return count;
}"""
AGE_ANSWERS = """async (minutes) => {
  for (const name of (await caches.keys()).filter(name => name.startsWith("yizhan-answers-"))) {
    const cache = await caches.open(name);
    for (const request of await cache.keys()) {
      const response = await cache.match(request);
      const headers = new Headers(response.headers);
      headers.set("X-Yizhan-Saved", new Date(Date.now() - minutes * 60000).toISOString());
      await cache.put(request, new Response(await response.blob(), {status: 200, headers}));
    }
  }
}"""


SAVED_AT = r"(?:\d\d-\d\d )?\d\d:\d\d"
"""When an answer was saved, as the page says it: the time, with the date (MM-DD) when that was not today — as
after answers aged 15 minutes just past midnight."""


def wait_until(check: Callable[[], bool], what: str, timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"waited {timeout_s} s for {what}")


def status(page: Any) -> str:
    return page.locator("#yz-status").text_content() or ""


def relocate(page: Any, lon: float, lat: float) -> None:
    """The rider taps the map at (lon, lat) (WGS84, as the test's tiles are), and the answer comes."""
    page.locator("#yz-status").evaluate("line => { line.textContent = ''; }")
    page.evaluate("([lon, lat]) => { yizhan.map.fire('click', {latlng: L.latLng(lat, lon)}); }", [lon, lat])
    wait_until(lambda: status(page) not in ("", "正在查找…"), "the answer")


def test_the_page_and_the_last_answers_work_offline_marked_as_saved(
    new_page: Callable[..., Any], server: Server
) -> None:
    page = new_page(
        geolocation={"longitude": RIDER_AT[0], "latitude": RIDER_AT[1]}, permissions=["geolocation"], locale="zh-CN"
    )
    page.goto(server.url + "/")
    page.wait_for_selector(".yz-item")
    wait_until(lambda: page.evaluate("() => !!navigator.serviceWorker.controller"), "the worker to take the page")
    wait_until(lambda: page.evaluate(SAVED_ANSWERS) >= 1, "the first answer to be saved")
    live = list_ids(page)
    assert len(live) > 3 and "离线" not in status(page)
    assert page.locator(".yz-list-saved").count() == 0 and page.locator("#yz-offline").is_hidden()
    assert page.locator(LIVE_BADGES).count() > 0 and page.locator(".yz-badge-saved").count() == 0

    page.context.set_offline(True)
    page.reload()  # the page itself comes from the worker's cache: without it this is a network error
    page.wait_for_selector(".yz-item")
    assert list_ids(page) == live
    assert "离线：显示不到 1 分钟前保存的结果。" in status(page)
    assert page.locator(".yz-list-saved").count() == 1
    note = page.locator("#yz-offline")
    assert note.is_visible() and re.fullmatch(rf"已保存的结果（{SAVED_AT}），不是实时信息", note.text_content() or "")
    assert page.locator(LIVE_BADGES).count() == 0  # never shown as live
    saved_badges = page.locator(".yz-badge-saved").all_text_contents()
    assert saved_badges and all(re.fullmatch(rf"{SAVED_AT} 时(开放中|已关闭)|开放时间未知", b) for b in saved_badges)

    page.evaluate(AGE_ANSWERS, 15)  # as if saved a quarter of an hour ago
    relocate(page, RIDER_AT[0], RIDER_AT[1])
    assert "离线：显示 15 分钟前保存的结果。" in status(page) and list_ids(page) == live
    page.click("#yz-lang")
    page.wait_for_selector("html[lang=en]")
    assert "Offline: showing results saved 15 min ago." in status(page)
    assert re.fullmatch(rf"Saved results \({SAVED_AT}\), not live", page.locator("#yz-offline").text_content() or "")
    assert all(re.fullmatch(rf"(Open|Closed) at {SAVED_AT}|Hours unknown", b)
               for b in page.locator(".yz-badge-saved").all_text_contents())  # fmt: skip
    page.click("#yz-lang")
    page.wait_for_selector("html[lang=zh-CN]")

    # a few hundred metres away: the same saved list, saying where it was saved for
    relocate(page, RIDER_AT[0] + 0.003, RIDER_AT[1])
    assert re.search(r"离线：显示 15 分钟前在约 \d{3} 米 外保存的结果，距离从当时的位置算起。", status(page))
    assert list_ids(page) == live and page.locator(LIVE_BADGES).count() == 0

    # the page opens offline whatever its query (the same page: the app reads the query)
    page.goto(server.url + "/?lang=en")
    page.wait_for_selector(".yz-item")
    assert "Offline: showing results saved 15 min ago." in status(page) and list_ids(page) == live
    page.goto(server.url + "/")
    page.wait_for_selector(".yz-item")

    # far from any saved position: a clear message, no stale list
    relocate(page, RIDER_AT[0] + 0.15, RIDER_AT[1] + 0.05)
    assert status(page) == "离线：这里附近没有按这些条件保存的结果。联网后再查找。"
    assert list_ids(page) == [] and page.locator(".leaflet-marker-icon").count() == 0
    assert page.locator("#yz-offline").is_hidden() and page.locator(".yz-list-saved").count() == 0

    # the saved place with a filter never asked for: nothing saved for it either
    relocate(page, RIDER_AT[0], RIDER_AT[1])
    assert list_ids(page) == live
    page.click("#yz-amenities .yz-chip[data-value=microwave]")
    wait_until(lambda: status(page).startswith("离线：这里附近没有"), "the offline message for the filter")
    assert list_ids(page) == []

    # back online: live answers, unmarked
    page.context.set_offline(False)
    page.click("#yz-amenities .yz-chip[data-value=microwave]")
    relocate(page, RIDER_AT[0], RIDER_AT[1])
    wait_until(lambda: list_ids(page) == live, "the live list")
    assert "离线" not in status(page) and f"找到 {len(live)} 个服务站" in status(page)
    assert page.locator(".yz-list-saved").count() == 0 and page.locator("#yz-offline").is_hidden()
    assert page.locator(LIVE_BADGES).count() > 0 and page.locator(".yz-badge-saved").count() == 0


def test_the_page_keeps_at_most_ten_answers(new_page: Callable[..., Any], server: Server) -> None:
    page = new_page(
        geolocation={"longitude": RIDER_AT[0], "latitude": RIDER_AT[1]}, permissions=["geolocation"], locale="zh-CN"
    )
    page.goto(server.url + "/")
    page.wait_for_selector(".yz-item")
    wait_until(lambda: page.evaluate("() => !!navigator.serviceWorker.controller"), "the worker to take the page")
    for step in range(13):
        relocate(page, RIDER_AT[0] + 0.02 * step, RIDER_AT[1])
    wait_until(lambda: page.evaluate(SAVED_ANSWERS) == 10, "ten saved answers")
    page.context.set_offline(True)
    relocate(page, RIDER_AT[0] + 0.02 * 12, RIDER_AT[1])  # the newest is kept
    assert "离线：显示不到 1 分钟前保存的结果。" in status(page)
    relocate(page, RIDER_AT[0], RIDER_AT[1])  # the oldest is gone
    assert status(page).startswith("离线：这里附近没有")


def test_embeds_register_no_worker(new_page: Callable[..., Any], server: Server) -> None:
    page = new_page()
    page.goto(server.url + "/embed")
    page.wait_for_selector(".leaflet-marker-icon, .marker-cluster")
    page.wait_for_timeout(300)
    assert page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.length)") == 0
