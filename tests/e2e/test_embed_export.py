"""The embeddable map, its snippet builder, the static export from file:// and GCJ-02 tiles, in Chromium."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from e2e_support import FIXED_NOW, IMG, RIDER_AT, SCRIPT, STATION_WGS84, STATIONS, Server, other_site, serve

from geo.crs import transform

pytestmark = pytest.mark.slow

NAMES = {row[0]: row[1] for row in STATIONS}
MARKERS_JS = (
    "() => Object.entries(window.yizhan.state.markers).map(([id, m]) => [id, m.getLatLng().lng, m.getLatLng().lat])"
)


def listed(server: Server, **params: Any) -> list[dict]:
    return server.get("/stations", **params).json()["features"]


def marker_titles(page_or_frame: Any) -> list[str]:
    return sorted(page_or_frame.locator(".leaflet-marker-icon.yz-pin").evaluate_all("pins => pins.map(p => p.title)"))


def test_embed_applies_district_types_language_and_view(new_page: Callable[..., Any], server: Server) -> None:
    adcode = listed(server)[0]["properties"]["adcode"]
    expected = listed(server, adcode=adcode, types="outdoor_worker")
    assert 0 < len(expected) < len(STATIONS)
    response = server.get("/embed", adcode=adcode, types="outdoor_worker")
    assert "frame-ancestors *" in response.headers["content-security-policy"].split("; ")
    assert "x-frame-options" not in response.headers
    page = new_page()
    page.goto(f"{server.url}/embed?adcode={adcode}&types=outdoor_worker&lang=en")
    page.wait_for_selector(".yz-pin")
    assert marker_titles(page) == sorted(f["properties"]["name"] for f in expected)
    assert page.locator(".yz-legend-count").text_content() == f"{len(expected)} stations"
    assert page.locator(".leaflet-control-zoom").count() == 1
    page.locator(".yz-pin").first.focus()
    page.keyboard.press("Enter")  # the popup: name, hours and navigation buttons, all as text
    popup = page.locator(".leaflet-popup-content .yz-card")
    assert popup.locator(".yz-card-name").text_content() in NAMES.values()
    assert popup.locator(".yz-nav-link").count() == 4

    bare = new_page()
    bare.goto(f"{server.url}/embed?lon=120.2&lat=30.22&zoom=15&controls=false&types=driver_home")
    bare.wait_for_selector(".yz-pin")
    assert marker_titles(bare) == sorted(NAMES[i] for i in ("T-SCRIPT", "T-DRV"))
    assert bare.locator(".leaflet-control-zoom").count() == 0 and bare.locator(".yz-legend").count() == 0
    centre = bare.evaluate(
        "[window.yizhan.map.getCenter().lng, window.yizhan.map.getCenter().lat, window.yizhan.map.getZoom()]"
    )
    assert centre == pytest.approx([120.2, 30.22, 15])


def test_embed_rejects_an_unknown_district(server: Server) -> None:
    import httpx

    response = httpx.get(f"{server.url}/embed", params={"adcode": "999999"})
    assert response.status_code == 422 and "adcode" in response.text


def test_the_builder_snippet_works_in_an_iframe_of_another_site(
    new_page: Callable[..., Any], server: Server, tmp_path: Path
) -> None:
    builder = new_page(viewport={"width": 1000, "height": 900})
    builder.goto(f"{server.url}/embed/builder")
    adcode = listed(server)[0]["properties"]["adcode"]
    builder.select_option("#yb-adcode", adcode)
    builder.check("input[name=types][value=outdoor_worker]")
    builder.check("input[name=types][value=nursing_room]")
    builder.select_option("#yb-lang", "en")
    builder.check("input[name=sizing][value=fixed]")
    builder.fill("#yb-width", "480")
    snippet = builder.input_value("#yb-snippet")
    assert snippet.startswith("<iframe ") and 'width="480"' in snippet
    assert f"adcode={adcode}" in snippet and "types=outdoor_worker%2Cnursing_room" in snippet
    expected = listed(server, adcode=adcode, types="outdoor_worker,nursing_room")

    site = new_page()
    with other_site(tmp_path, {"map.html": f"<!DOCTYPE html><h1>Union site</h1>{snippet}"}) as origin:
        site.goto(f"{origin}/map.html")
        frame = site.frame_locator("iframe")
        frame.locator(".yz-pin").first.wait_for()
    frame = site.frame_locator("iframe")
    frame.locator(".yz-pin").first.wait_for()
    assert marker_titles(frame) == sorted(f["properties"]["name"] for f in expected)
    assert frame.locator(".yz-legend-count").text_content() == f"{len(expected)} stations"


def test_other_pages_cannot_be_framed(new_page: Callable[..., Any], server: Server, tmp_path: Path) -> None:
    site = new_page()
    html = f'<!DOCTYPE html><iframe src="{server.url}/"></iframe><iframe src="{server.url}/embed"></iframe>'
    with other_site(tmp_path, {"both.html": html}) as origin:
        site.goto(f"{origin}/both.html")
        site.frame_locator("iframe").nth(1).locator(".yz-pin").first.wait_for()  # the embed loads...
        site.wait_for_timeout(300)
    assert site.frame_locator("iframe").nth(0).locator(".yz-top").count() == 0  # ...the rider page does not


def test_static_export_opens_from_file_and_shows_the_stations(
    new_page: Callable[..., Any], server: Server, tmp_path: Path
) -> None:
    output = tmp_path / "stations.html"
    env = {**os.environ, "YIZHAN_DATABASE_URL": server.settings.database_url}
    command = [str(Path(sys.executable).with_name("yizhan")), "map", "stations", "-o", str(output)]
    subprocess.run(command, env=env, check=True, capture_output=True, timeout=120)
    html = output.read_text(encoding="utf-8")
    assert IMG not in html and "</script><script>alert(2)" not in html
    page = new_page()
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(output.as_uri())
    page.wait_for_selector(".yz-pin")
    assert marker_titles(page) == sorted(NAMES.values())
    assert page.locator(".yz-legend-count").text_content() == f"{len(STATIONS)} 个服务站"
    page.locator(".yz-pin[title='" + SCRIPT.replace("'", "\\'") + "']").focus()
    page.keyboard.press("Enter")
    assert page.locator(".leaflet-popup-content .yz-card-name").text_content() == SCRIPT
    assert [url for url in requests if not url.startswith(("file:", "data:", "https://tile.openstreetmap.org/"))] == []


@pytest.fixture(scope="module")
def gcj_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with serve(tmp_path_factory.mktemp("gcj"), tiles="https://tiles.example.test/{z}/{x}/{y}.png",
               tiles_attribution="© Amap", tiles_crs="gcj02") as running:  # fmt: skip
        yield running


def test_gcj02_tiles_shift_the_rider_and_the_stations(new_page: Callable[..., Any], gcj_server: Server) -> None:
    page = new_page(geolocation={"longitude": RIDER_AT[0], "latitude": RIDER_AT[1]}, permissions=["geolocation"])
    page.goto(gcj_server.url + f"/?now={FIXED_NOW}")
    page.wait_for_selector(".yz-item")
    (g_lon,), (g_lat,) = (v.tolist() for v in transform([RIDER_AT[0]], [RIDER_AT[1]], "wgs84", "gcj02"))
    lon, lat = page.evaluate("window.yizhan.state.position")
    assert abs(lon - g_lon) < 1e-6 and abs(lat - g_lat) < 1e-6
    wgs_order = [
        f["id"]
        for f in gcj_server.get(
            "/stations/nearby", lon=RIDER_AT[0], lat=RIDER_AT[1], k=20, order="open_first", at=FIXED_NOW
        ).json()["features"]
    ]
    assert page.eval_on_selector_all(".yz-item", "items => items.map(i => i.dataset.id)") == wgs_order
    for station_id, x, y in page.evaluate(MARKERS_JS):
        (sx,), (sy,) = (
            v.tolist()
            for v in transform([STATION_WGS84[station_id][0]], [STATION_WGS84[station_id][1]], "wgs84", "gcj02")
        )
        assert abs(x - sx) < 1e-6 and abs(y - sy) < 1e-6
    assert page.locator(".leaflet-control-attribution").text_content().endswith("© Amap")

    embed = new_page()
    embed.goto(gcj_server.url + "/embed?types=driver_home")
    embed.wait_for_selector(".yz-pin")
    for station_id, x, y in embed.evaluate(MARKERS_JS):
        (sx,), (sy,) = (
            v.tolist()
            for v in transform([STATION_WGS84[station_id][0]], [STATION_WGS84[station_id][1]], "wgs84", "gcj02")
        )
        assert abs(x - sx) < 1e-6 and abs(y - sy) < 1e-6
