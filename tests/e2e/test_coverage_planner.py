"""The planners' coverage map in Chromium (issue 15 item 4): the page states its language, the district colours
read through the gap hatching (pixels), a click inside a gap opens the district's row, the hour selector
recolours and says the hour of a weekday and of a weekend day/holiday (the API's profile figure), the night gaps
layer stripes over the map without hiding it and switches off, the numbered badges never overlap and open by
keyboard, and axe-core finds no serious or critical violation; the printable district report served by the API
prints to 1-3 A4 pages.

The e2e registry's stations are all near West Lake, so 淳安县 (330127) is one gap from end to end.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from e2e_support import Server
from test_accessibility import AXE, MARKER_BOXES, _overlapping, _violations

from geo.districts import Districts
from maps.styles import coverage_colour

pytestmark = pytest.mark.slow

CHUN_AN = "330127"
DESKTOP = {"width": 1280, "height": 800}
MAP_PATH = f"/maps/coverage?adcode={CHUN_AN}&cell_m=250&limit=5"
BACKGROUND = (221, 221, 221)
"""Leaflet's container grey: the tiles are cut off in these tests."""


@pytest.fixture(scope="module")
def chun_an(server: Server) -> tuple[float, float]:
    """(lat, lon) of a point well inside 淳安县."""
    districts = Districts.from_file(server.settings.districts_path)
    point = districts.geometries[districts.position(CHUN_AN)].representative_point()
    return point.y, point.x


def _open(new_page: Callable[..., Any], server: Server, path: str) -> Any:
    page = new_page(viewport=DESKTOP, bypass_csp=True, locale="zh-CN")
    page.goto(server.url + path, timeout=120_000)
    page.wait_for_selector(".yizhan-box", timeout=120_000)
    page.wait_for_timeout(600)  # fitBounds
    return page


def _screen_point(page: Any, lat: float, lon: float) -> tuple[float, float]:
    return page.evaluate(
        """([lat, lon]) => {
            const map = Object.values(window).find((v) => v instanceof L.Map);
            const p = map.latLngToContainerPoint([lat, lon]);
            const box = map.getContainer().getBoundingClientRect();
            return [p.x + box.left, p.y + box.top];
        }""",
        [lat, lon],
    )


def _blend(colour: str, opacity: float) -> tuple[int, int, int]:
    rgb = [int(colour[i : i + 2], 16) for i in (1, 3, 5)]
    return tuple(round(opacity * c + (1 - opacity) * b) for c, b in zip(rgb, BACKGROUND, strict=True))  # type: ignore[return-value]


def _pixels(page: Any, x: float, y: float, size: int = 60) -> list[tuple[int, int, int]]:
    from io import BytesIO

    from PIL import Image

    png = page.screenshot(clip={"x": x - size / 2, "y": y - size / 2, "width": size, "height": size})
    data = Image.open(BytesIO(png)).convert("RGB").tobytes()
    return [(data[i], data[i + 1], data[i + 2]) for i in range(0, len(data), 3)]


def _near(a: tuple[int, int, int], b: tuple[int, int, int], tolerance: int = 8) -> bool:
    return all(abs(p - q) <= tolerance for p, q in zip(a, b, strict=True))


@pytest.mark.parametrize(("lang", "html_lang"), [("zh", "zh-CN"), ("en", "en")])
def test_the_page_states_its_language(new_page: Callable[..., Any], server: Server, lang: str, html_lang: str) -> None:
    page = _open(new_page, server, f"{MAP_PATH}&lang={lang}")
    assert page.evaluate("document.documentElement.lang") == html_lang
    title = page.locator(".yizhan-box h1").text_content()
    assert ("驿站覆盖率" in title) == (lang == "zh") and ("Yizhan coverage" in title) == (lang == "en")
    layers = [t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_text_contents()]
    assert ("服务空白" in layers) == (lang == "zh") and ("Service gaps" in layers) == (lang == "en")


def test_district_colours_read_through_the_gaps_and_a_click_opens_the_district(
    new_page: Callable[..., Any], server: Server, chun_an: tuple[float, float]
) -> None:
    page = _open(new_page, server, MAP_PATH)
    hatch = page.locator("path.yizhan-gap-hatch").first
    assert hatch.get_attribute("fill") == "url(#yizhan-gap-hatch)"
    assert page.locator("path.yizhan-gap-outline").first.get_attribute("fill") == "none"
    x, y = _screen_point(page, *chun_an)
    pixels = _pixels(page, x, y)
    district = _blend(coverage_colour(0.0), 0.5)  # 淳安县 has no station: 0 %, the focused district at 0.5
    red = [p for p in pixels if p[0] > 150 and p[1] < 120 and p[2] < 120]
    under = [p for p in pixels if _near(p, district)]
    assert len(under) > 0.45 * len(pixels), f"choropleth colour {district} in {len(under)}/{len(pixels)} pixels"
    assert len(red) > 0.1 * len(pixels), "the gap's hatching is drawn"
    # click a pixel showing the district's colour: its row opens, not the gap's
    index = pixels.index(under[len(under) // 2])
    page.mouse.click(x - 30 + index % 60, y - 30 + index // 60)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    text = popup.text_content()
    assert "淳安县" in text and CHUN_AN in text and "覆盖率 covered0.0%" in text and "gap #" not in text


WEST_LAKE_MAP = "/maps/coverage?adcode=330106&cell_m=250&limit=5"


def _district_row(page: Any, adcode: str) -> tuple[str, str]:
    """(fill colour, popup HTML) of the choropleth's shape of ``adcode``."""
    return page.evaluate(
        """(adcode) => {
            const map = Object.values(window).find((v) => v instanceof L.Map);
            let out = null;
            map.eachLayer((layer) => {
                if (!out && layer.feature && layer.feature.properties.key === adcode) {
                    out = [layer.options.fillColor, layer.getPopup().getContent()];
                }
            });
            return out;
        }""",
        adcode,
    )


def test_hour_selector_recolours_and_names_the_hour_of_a_weekday_and_a_weekend_day(
    new_page: Callable[..., Any], server: Server
) -> None:
    profile = server.get("/coverage/profile", adcode="330106", cell_m=250).json()
    page = _open(new_page, server, WEST_LAKE_MAP)
    caption = page.locator("#yizhan-caption")
    assert "时覆盖率" not in caption.text_content()
    days = [o.strip() for o in page.locator("#yizhan-day option").all_text_contents()]
    assert len(days) == 2 and days[0].startswith("工作日 ") and days[1].startswith("周末/节假日 ")
    for day, kind in ((0, "weekday"), (1, "holiday")):
        page.select_option("#yizhan-day", str(day))
        page.select_option("#yizhan-hour", "3")
        assert re.search(rf"{re.escape(days[day])} 03时覆盖率", caption.text_content())
        colour, popup = _district_row(page, "330106")
        share = re.search(r"时段 \S+ \S+ 03:00</th><td>([\d.]+)%", popup)
        assert share, popup
        assert colour == coverage_colour(float(share.group(1)) / 100)
        expected = next(
            r for r in profile["rows"] if r["day"] == kind and r["hour"] == 3 and r["adcode"] == "330106"
        )  # the API's profile: the same figure
        assert float(share.group(1)) == pytest.approx(100 * expected["covered_share"], abs=0.051)
    page.select_option("#yizhan-hour", "")
    assert "时覆盖率" not in caption.text_content()


def test_night_gaps_layer_reads_over_the_choropleth_and_switches_off(
    new_page: Callable[..., Any], server: Server
) -> None:
    import shapely

    night = server.get("/coverage/night-gaps", adcode="330106", cell_m=250, limit=5, format="geojson").json()
    assert night["features"], "the e2e registry's day-only stations leave night gaps in 西湖区"
    inside = shapely.geometry.shape(night["features"][0]["geometry"]).representative_point()
    page = _open(new_page, server, WEST_LAKE_MAP)
    name = next(
        t.strip() for t in page.locator(".leaflet-control-layers-overlays label").all_text_contents() if "夜间空白" in t
    )
    assert re.fullmatch(r"夜间空白（工作日 \d{4}-\d\d-\d\d 22:00–06:00）", name)
    hatch = page.locator("path.yizhan-night-gap-hatch")
    assert hatch.count() == len(night["features"])
    assert hatch.first.get_attribute("fill") == "url(#yizhan-night-gap-hatch)"
    assert page.locator("path.yizhan-night-gap-outline").first.get_attribute("stroke-dasharray") == "6 4"
    x, y = _screen_point(page, inside.y, inside.x)
    striped = _pixels(page, x, y, size=20)
    assert "夜间空白：白天有覆盖" in page.locator(".leaflet-bottom.leaflet-right .yizhan-box").text_content()
    # switched off in the layer control: the stripes go; with them on, most pixels were the map under them
    page.locator(".leaflet-control-layers").hover()
    page.get_by_label(name).uncheck()
    assert page.locator("path.yizhan-night-gap-hatch").count() == 0
    plain = _pixels(page, x, y, size=20)
    same = sum(_near(a, b, 3) for a, b in zip(striped, plain, strict=True))
    dark = sum(max(a) < 60 and max(b) > 100 for a, b in zip(striped, plain, strict=True))
    assert same > 0.5 * len(plain), f"only {same}/{len(plain)} pixels show the map under the night gap"
    assert dark > 0.1 * len(plain), f"{dark}/{len(plain)} pixels are the night gap's dark stripes"


def test_badges_are_apart_and_work_by_keyboard(new_page: Callable[..., Any], server: Server) -> None:
    page = _open(new_page, server, "/maps/coverage?cell_m=250&limit=20")  # the whole city (as axe): twenty hot spots
    badges = page.locator(".leaflet-marker-icon.yizhan-label")
    assert badges.count() == 20
    boxes = page.evaluate(MARKER_BOXES)
    assert _overlapping(boxes) == [], "badges overlap at the city view"
    first = page.locator(".leaflet-marker-icon.yizhan-label", has_text=re.compile(r"^热1$"))
    assert first.get_attribute("role") == "button" and first.get_attribute("tabindex") == "0"
    for _ in range(80):  # Tab from the page's start reaches the badges
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('yizhan-label')"):
            break
    else:
        pytest.fail("Tab never reached a badge")
    ring = page.evaluate("getComputedStyle(document.activeElement.firstElementChild).outlineStyle")
    assert ring == "solid", "the focused badge shows a focus ring"
    label = page.evaluate("document.activeElement.textContent")
    popup = page.locator(".leaflet-popup-content")
    page.keyboard.press(" ")
    popup.wait_for()
    assert popup.text_content().startswith(label) and "未服务需求" in popup.text_content()
    assert page.locator(".leaflet-popup-content img, .leaflet-popup-content script").count() == 0
    # a function returning nothing: closePopup() returns the map, which Playwright would serialise (~7 s)
    page.evaluate("() => { Object.values(window).find((v) => v instanceof L.Map).closePopup(); }")
    popup.wait_for(state="detached")  # Leaflet removes it after its fade-out
    page.evaluate("document.querySelectorAll('.yizhan-label')[1].focus()")
    second = page.evaluate("document.activeElement.textContent")
    assert second != label and re.fullmatch(r"热\d+", second)
    page.keyboard.press("Enter")
    popup.wait_for()
    assert popup.text_content().startswith(second)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_axe_finds_no_serious_violation_on_the_coverage_map(
    new_page: Callable[..., Any], server: Server, lang: str
) -> None:
    if not AXE.exists():
        pytest.skip("needs axe-core in node_modules: make lint-js (npm ci)")
    page = _open(new_page, server, f"/maps/coverage?cell_m=250&limit=20&lang={lang}")
    problems = _violations(page, AXE)
    assert not problems, "axe-core on the coverage map:\n" + "\n".join(problems)


def test_the_district_report_prints_on_one_to_three_a4_pages(
    new_page: Callable[..., Any], server: Server, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    page = new_page(viewport={"width": 794, "height": 1123})
    page.goto(f"{server.url}/reports/district/330106?cell_m=250&add=3", timeout=120_000)
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    assert page.locator("script").count() == 0
    pdf = tmp_path / "report.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
    reader = PdfReader(str(pdf))
    assert 1 <= len(reader.pages) <= 3
    import unicodedata

    text = re.sub(r"\s+", "", unicodedata.normalize("NFKC", "".join(p.extract_text() for p in reader.pages)))
    assert "西湖区服务站覆盖报告" in text and "330106" in text and "建议新增站点" in text
