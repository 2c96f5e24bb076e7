"""Accessibility of the pages in Chromium: axe-core (``node_modules/axe-core``, from ``npm ci``) finds no serious or
critical violation of the WCAG 2.0-2.2 A/AA rules (target-size included) on the rider page, the embed and the
embed builder, in Chinese and English, at phone and desktop size, with the hostile stations listed; every tap
target is at least 44 x 44 CSS px and no two map markers overlap at the first view; pinch-zoom is allowed; and
what goes wrong is said in the page's language.

axe is injected into the page (and its frames) by Playwright; the pages' Content-Security-Policy allows only
their own inline scripts, so these contexts bypass CSP (``bypass_csp``), in the test only.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_support import RIDER_AT, Server

pytestmark = pytest.mark.slow

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
MIN_TAP_PX = 44

RUN_AXE = """async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    rules: {"target-size": {enabled: true}},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => ({impact: n.impact, target: n.target, html: n.html, summary: n.failureSummary})),
  }));
}"""

TAP_TARGETS = """() => {
  // Everything a finger may tap, by its box: a checkbox's or radio's box is its label's. Links inside a line of
  // text (the map's attribution) are exempt, as WCAG 2.5.8 exempts inline targets; so is what is off screen
  // (the skip link until it has focus).
  const selector = "a[href], button, select, textarea, input, summary, [role=button], .leaflet-marker-icon";
  const seen = new Set();
  const out = [];
  for (const node of document.querySelectorAll(selector)) {
    if (node.closest(".leaflet-control-attribution")) { continue; }
    let box = node;
    if (node.matches("input[type=checkbox], input[type=radio]")) {
      box = node.closest("label") || document.querySelector(`label[for="${node.id}"]`) || node;
    }
    if (seen.has(box)) { continue; }
    seen.add(box);
    const rect = box.getBoundingClientRect();
    const style = getComputedStyle(box);
    if (!rect.width || !rect.height || style.visibility === "hidden") { continue; }
    if (rect.right <= 0 || rect.bottom <= 0 || rect.left >= innerWidth + scrollX + 5000) { continue; }
    const name = (box.getAttribute("aria-label") || box.title || box.textContent || box.id || "").trim();
    out.push({
      what: `${box.tagName.toLowerCase()}.${[...box.classList].join(".")} ${JSON.stringify(name.slice(0, 30))}`,
      width: rect.width, height: rect.height,
    });
  }
  return out;
}"""

MARKER_BOXES = """() => [...document.querySelectorAll(".leaflet-marker-icon")].map((m) => {
  const r = m.getBoundingClientRect();
  return {title: m.title || m.textContent, left: r.left, top: r.top, right: r.right, bottom: r.bottom};
})"""


@pytest.fixture(scope="module")
def axe_path() -> Path:
    if not AXE.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE} is missing: make lint-js (npm ci) installs axe-core from package-lock.json")
        pytest.skip("needs axe-core in node_modules: make lint-js (npm ci)")
    return AXE


def _open(new_page: Callable[..., Any], server: Server, path: str, viewport: dict[str, int]) -> Any:
    page = new_page(
        viewport=viewport,
        bypass_csp=True,  # axe is injected: the pages' CSP allows their own inline scripts only
        geolocation={"longitude": RIDER_AT[0], "latitude": RIDER_AT[1]},
        permissions=["geolocation"],
        locale="zh-CN",
    )
    page.goto(server.url + path)
    if path.startswith("/embed/builder"):
        page.wait_for_selector("#yb-preview iframe")
    elif path.startswith("/embed"):
        page.wait_for_selector(".yz-pin")
    else:
        page.wait_for_selector(".yz-item")  # the stations are listed: list items and numbered markers
        page.locator(".yz-item .yz-report summary").first.click()  # the report form's controls, shown
    page.wait_for_timeout(400)  # the map's fit animation ends
    return page


def _violations(page: Any, axe_path: Path) -> list[str]:
    for frame in page.frames:
        frame.add_script_tag(path=str(axe_path))
    found = page.evaluate(RUN_AXE, WCAG_TAGS)
    lines = []
    for violation in found:
        for node in violation["nodes"]:
            if (node["impact"] or violation["impact"]) in ("serious", "critical"):
                lines.append(
                    f"{violation['id']} ({node['impact']}): {violation['help']}\n    at {node['target']}: "
                    f"{node['html'][:160]}\n    {(node['summary'] or '').replace(chr(10), ' ')[:300]}"
                )
    return lines


def _overlapping(boxes: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Pairs of marker boxes that overlap (by more than half a pixel), by title."""
    return [
        (a["title"], b["title"])
        for i, a in enumerate(boxes)
        for b in boxes[i + 1 :]
        if a["left"] < b["right"] - 0.5
        and b["left"] < a["right"] - 0.5
        and a["top"] < b["bottom"] - 0.5
        and b["top"] < a["bottom"] - 0.5
    ]


PAGES = ["/", "/?lang=en", "/embed", "/embed?lang=en", "/embed/builder"]


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("path", PAGES)
def test_axe_finds_no_serious_violation(
    new_page: Callable[..., Any], server: Server, axe_path: Path, path: str, viewport: dict[str, int]
) -> None:
    page = _open(new_page, server, path, viewport)
    problems = _violations(page, axe_path)
    assert not problems, f"axe-core on {path} at {viewport}:\n" + "\n".join(problems)


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("path", PAGES)
def test_tap_targets_are_44_px_and_markers_do_not_overlap(
    new_page: Callable[..., Any], server: Server, path: str, viewport: dict[str, int]
) -> None:
    page = _open(new_page, server, path, viewport)
    targets = page.evaluate(TAP_TARGETS)
    assert len(targets) > 3
    small = [t for t in targets if t["width"] < MIN_TAP_PX - 0.5 or t["height"] < MIN_TAP_PX - 0.5]
    assert not small, "\n".join(f"{t['what']}: {t['width']:.0f} x {t['height']:.0f}" for t in small)
    boxes = page.evaluate(MARKER_BOXES)
    overlapping = _overlapping(boxes)
    assert not overlapping, f"markers overlap on {path}: {overlapping}"


@pytest.mark.parametrize("path", ["/", "/embed", "/embed/builder"])
def test_pinch_zoom_is_allowed(server: Server, path: str) -> None:
    page = server.get(path).text
    viewports = re.findall(r'<meta name="viewport" content="([^"]*)"', page)
    assert viewports, "no viewport meta"
    for content in viewports:
        assert "user-scalable=no" not in re.sub(r"\s", "", content)
        assert "maximum-scale=1" not in re.sub(r"\s", "", content)


FAILURES = {
    "zh": ["服务器出错了，请稍后再试。", "请求太频繁，请约 2 分钟后再试。", "连不上服务器，请检查网络后再试。"],
    "en": [
        "The server had a problem; please try again later.",
        "Too many requests from this device; please try again in about 2 min.",
        "Cannot reach the server; check your connection and try again.",
    ],
}


SEARCH_INVALID = {
    "zh": "搜索词里有无法搜索的字符，请修改后再试。",
    "en": "The search holds characters that cannot be searched; please change it and try again.",
}


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_what_goes_wrong_is_said_in_the_pages_language(new_page: Callable[..., Any], server: Server, lang: str) -> None:
    page = new_page(
        geolocation={"longitude": RIDER_AT[0], "latitude": RIDER_AT[1]},
        permissions=["geolocation"],
        locale="zh-CN",
        service_workers="block",  # every request reaches the routes below
    )
    page.goto(f"{server.url}/?lang={lang}")
    page.wait_for_selector(".yz-item")
    english = {"error": "internal", "detail": "something went wrong on the server (request id 42)"}
    answers = [
        lambda route: route.fulfill(status=500, json=english),
        lambda route: route.fulfill(
            status=429, json={"error": "rate_limited", "detail": "at most 10 an hour"}, headers={"Retry-After": "90"}
        ),
        lambda route: route.abort("internetdisconnected"),
    ]
    page.route("**/stations/nearby?*", lambda route: answers.pop(0)(route))
    status = page.locator("#yz-status")
    for expected in FAILURES[lang]:
        page.locator(".yz-chip").first.click()  # a filter: the page asks again
        page.wait_for_function("([el, text]) => el.textContent === text", arg=[status.element_handle(), expected])
        assert "yz-warning" in (status.get_attribute("class") or "")
    other = "en" if lang == "zh" else "zh"
    page.locator("#yz-lang").click()  # the message follows the language switch
    assert status.text_content() == FAILURES[other][-1]
    zoom_in = page.locator(".leaflet-control-zoom-in")  # Leaflet's own words too
    assert zoom_in.get_attribute("title") == ("Zoom in" if other == "en" else "放大地图")
    page.locator("#yz-search").fill("西湖\u0007")  # the API's 422 (a control character) has an English reason
    page.locator("#yz-search-form [type=submit]").click()
    page.wait_for_function(
        "([el, text]) => el.textContent === text", arg=[status.element_handle(), SEARCH_INVALID[other]]
    )


def _static_page(tmp_path: Path, count: int) -> str:
    """A static export (``mode: static``) of ``count`` stations packed into about 1 km (hostile names), as a
    file:// URL: 60 and fewer are drawn one by one (and spread apart), more are clustered."""
    from e2e_support import STATIONS

    from maps.stations import StationPage, station_assets, station_page
    from stations.service import app_vocabulary

    features = [
        {
            "type": "Feature",
            "id": f"S{i}",
            "geometry": {
                "type": "Point",
                "coordinates": [120.16 + (i * 7919 % 97) / 10000, 30.25 + (i * 104729 % 89) / 10000],
            },
            "properties": {"id": f"S{i}", "name": f"{STATIONS[i % len(STATIONS)][1]} {i}", "types": ["outdoor_worker"]},
        }
        for i in range(count)
    ]
    config = {"mode": "static", "lang": "zh", "title": "驿站", **app_vocabulary()}
    path = tmp_path / f"stations-{count}.html"
    path.write_text(station_page(StationPage(station_assets(), config, features, "驿站")), encoding="utf-8")
    return path.as_uri()


@pytest.mark.parametrize("count", [40, 150], ids=["spread", "clustered"])
def test_crowded_maps_keep_targets_apart(
    new_page: Callable[..., Any], axe_path: Path, tmp_path: Path, count: int
) -> None:
    page = new_page(viewport=PHONE, bypass_csp=True)
    page.goto(_static_page(tmp_path, count))
    page.wait_for_selector(".yz-pin" if count <= 60 else ".yz-cluster")
    page.wait_for_timeout(400)
    problems = _violations(page, axe_path)
    assert not problems, f"axe-core on {count} stations:\n" + "\n".join(problems)
    boxes = page.evaluate(MARKER_BOXES)
    assert boxes
    for box in boxes:
        assert box["right"] - box["left"] >= MIN_TAP_PX - 0.5 and box["bottom"] - box["top"] >= MIN_TAP_PX - 0.5
    overlapping = _overlapping(boxes)
    assert not overlapping, f"{len(overlapping)} overlapping markers: {overlapping[:5]}"
    if count <= 60:  # packed this close, most were moved, each with a line to its place
        assert page.locator(".leaflet-overlay-pane path").count() > count / 2
