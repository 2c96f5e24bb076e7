"""The rider page (``GET /``) shows what riders need (issue 14 items 2 and 4): the phone as a ``tel:`` link (only
for text that is a phone number), the amenities that matter as chips and filters, the photo lazily (https only,
loaded under the page's CSP), and a way-of-travel choice that changes every navigation link, kept for the next
visit; driver homes are driven to by default. Hostile text stays text."""

from __future__ import annotations

import base64
import csv
import io
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from e2e_support import IMG, RIDER_AT, SCRIPT, Server, serve

pytestmark = pytest.mark.slow

TOKEN = "e2e-trip-admin-token"
PHOTO_URL = "https://photos.example.test/station.png"
PNG = base64.b64decode(  # a 1 x 1 PNG
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)
PHOTO_NAME = f"换电驿站 {IMG}"
ODD_NAME = f"怪电话驿站 {SCRIPT}"
MORE = [  # near the rider, with a phone, a photo and the amenities riders stop for
    {"id": "T-PHOTO", "name": PHOTO_NAME, "types": "outdoor_worker", "lon": 120.1604, "lat": 30.2503,
     "phone": "0571-8930 0947", "photo_url": PHOTO_URL, "ebike_charging": "yes", "battery_swap": "yes",
     "toilet": "yes", "wheelchair": "yes", "changing_table": "yes", "opening_hours": "24/7"},
    {"id": "T-ODD", "name": ODD_NAME, "types": "outdoor_worker", "lon": 120.1596, "lat": 30.2496,
     "phone": "javascript:alert(3)", "photo_url": "http://insecure.example.test/x.png", "ebike_charging": "no",
     "opening_hours": "24/7"},
]  # fmt: skip
CHIPS = ["电动车充电", "换电", "卫生间", "无障碍", "尿布台"]


@pytest.fixture(scope="module")
def trip_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("trip"), admin_token=TOKEN) as running:
        out = io.StringIO()
        columns = sorted({key for row in MORE for key in row})
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        writer.writerows(MORE)
        response = httpx.post(
            running.url + "/imports",
            files={"file": ("more.csv", out.getvalue().encode("utf-8"))},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=60,
        )
        assert response.status_code < 300, response.text
        for _ in range(100):  # the import is answered once committed; the snapshot follows at once or soon
            ids = [
                f["id"] for f in running.get("/stations/nearby", lon=RIDER_AT[0], lat=RIDER_AT[1]).json()["features"]
            ]
            if "T-PHOTO" in ids:
                break
            time.sleep(0.1)
        yield running


def open_page(new_page: Callable[..., Any], server: Server) -> Any:
    page = new_page(
        geolocation={"longitude": RIDER_AT[0], "latitude": RIDER_AT[1]}, permissions=["geolocation"], locale="zh-CN"
    )
    photo_loads: list[str] = []

    def photo(route: Any) -> None:
        photo_loads.append(route.request.url)
        route.fulfill(status=200, body=PNG, content_type="image/png")

    page.route("https://photos.example.test/**", photo)  # the page's routes win over the context's loopback rule
    page.photo_loads = photo_loads
    page.goto(server.url + "/")
    page.wait_for_selector(".yz-item[data-id='T-PHOTO']")
    return page


def item(page: Any, station_id: str) -> Any:
    return page.locator(f".yz-item[data-id='{station_id}']")


def modes_shown(page: Any) -> dict[str, tuple[str, str, str]]:
    """Each listed station's (Amap mode, Baidu mode, Tencent type), read from the links' URLs."""
    links = page.eval_on_selector_all(
        ".yz-item",
        """items => items.map(i => [i.dataset.id, ...["amap", "baidu", "tencent"].map(
              app => i.querySelector(".yz-nav-" + app).href)])""",
    )
    found = {}
    for station_id, amap, baidu, tencent in links:
        found[station_id] = (
            parse_qs(urlsplit(amap).query)["mode"][0],
            parse_qs(urlsplit(baidu).query)["mode"][0],
            parse_qs(urlsplit(tencent).query)["type"][0],
        )
    return found


def wait_for(check: Callable[[], bool], timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    assert check()


def test_phone_amenities_and_photo_show_as_riders_need_them(new_page: Callable[..., Any], trip_server: Server) -> None:
    page = open_page(new_page, trip_server)
    photo = item(page, "T-PHOTO")
    assert photo.locator(".yz-name").text_content() == PHOTO_NAME  # hostile text as text
    tel = photo.locator("a.yz-tel")
    assert tel.get_attribute("href") == "tel:0571-89300947" and tel.text_content() == "0571-8930 0947"
    assert tel.get_attribute("aria-label") == "拨打 0571-8930 0947"
    chips = photo.locator(".yz-amenity").all_text_contents()
    assert all(name in chips for name in CHIPS), chips
    image = photo.locator("img.yz-photo")
    assert image.get_attribute("loading") == "lazy" and image.get_attribute("src") == PHOTO_URL
    assert image.get_attribute("alt") == f"{PHOTO_NAME}的照片"
    image.scroll_into_view_if_needed()
    wait_for(lambda: page.evaluate("img => img.complete && img.naturalWidth > 0", image.element_handle()))
    assert page.photo_loads == [PHOTO_URL]  # loaded, through the page's CSP (img-src https:)
    # a phone that is not a number is text, never a link; an http photo is not shown
    odd = item(page, "T-ODD")
    assert odd.locator(".yz-name").text_content() == ODD_NAME
    assert odd.locator("a").filter(has_text="javascript").count() == 0 and odd.locator("a.yz-tel").count() == 0
    assert "javascript:alert(3)" in odd.locator(".yz-phone").text_content()
    assert odd.locator("img").count() == 0
    assert page.eval_on_selector_all("a[href^='javascript'], a[href^='http:']", "links => links.length") == 0
    # the amenities are filters too: battery swap leaves only the station that has it
    page.click("#yz-amenities .yz-chip[data-value='battery_swap']")
    wait_for(lambda: page.eval_on_selector_all(".yz-item", "items => items.map(i => i.dataset.id)") == ["T-PHOTO"])


def test_the_way_of_travel_changes_every_link_and_is_kept(new_page: Callable[..., Any], trip_server: Server) -> None:
    page = open_page(new_page, trip_server)
    defaults = modes_shown(page)
    assert defaults["T-SCRIPT"] == ("car", "driving", "drive")  # a driver home: driven to
    assert defaults["T-PHOTO"] == ("ride", "riding", "bike")
    assert item(page, "T-SCRIPT").locator(".yz-nav-mode").text_content() == "驾车路线："
    assert page.is_checked("#yz-travel-auto")
    page.check("#yz-travel-walk")
    wait_for(lambda: set(modes_shown(page).values()) == {("walk", "walking", "walk")})
    assert item(page, "T-SCRIPT").locator(".yz-nav-mode").text_content() == "步行路线："
    page.reload()
    page.wait_for_selector(".yz-item[data-id='T-PHOTO']")
    assert page.is_checked("#yz-travel-walk")  # remembered
    wait_for(lambda: set(modes_shown(page).values()) == {("walk", "walking", "walk")})
    page.check("#yz-travel-drive")
    wait_for(lambda: set(modes_shown(page).values()) == {("car", "driving", "drive")})
    page.check("#yz-travel-auto")
    wait_for(lambda: modes_shown(page) == defaults)
    assert item(page, "T-PHOTO").locator(".yz-name").text_content() == PHOTO_NAME


def test_the_embed_popup_shows_the_phone_photo_and_driving_route(
    new_page: Callable[..., Any], trip_server: Server
) -> None:
    page = new_page(locale="zh-CN")
    loads: list[str] = []
    page.route("https://photos.example.test/**", lambda route: (loads.append(route.request.url), route.fulfill(
        status=200, body=PNG, content_type="image/png")))  # fmt: skip
    page.goto(trip_server.url + "/embed")
    page.wait_for_selector(".yz-pin")
    page.locator(".yz-pin[title='" + PHOTO_NAME + "']").focus()
    page.keyboard.press("Enter")
    card = page.locator(".leaflet-popup-content .yz-card")
    assert card.locator(".yz-card-name").text_content() == PHOTO_NAME
    assert card.locator("a.yz-tel").get_attribute("href") == "tel:0571-89300947"
    assert all(name in card.locator(".yz-amenity").all_text_contents() for name in CHIPS)
    assert card.locator("img.yz-photo").get_attribute("loading") == "lazy"
    wait_for(lambda: loads == [PHOTO_URL])  # allowed by the embed's policy too
    assert card.locator(".yz-nav-mode").text_content() == "骑行路线："
    page.locator(".yz-pin[title='" + SCRIPT.replace("'", "\\'") + "']").focus()  # a driver home: driven to
    page.keyboard.press("Enter")
    card = page.locator(".leaflet-popup-content .yz-card").filter(has_text="alert(2)")
    assert card.locator(".yz-card-name").text_content() == SCRIPT
    assert card.locator(".yz-nav-mode").text_content() == "驾车路线："
    assert "mode=car" in card.locator(".yz-nav-amap").get_attribute("href")
