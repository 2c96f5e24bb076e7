"""The coverage page in a real browser (headless Chromium): it runs with the network cut off, and hostile
names show up as text in every popup, tooltip and box without running anything.

Skipped where Chromium or a Node.js with WebSocket (the DevTools client, ``browser_probe.mjs``) is missing;
CI installs Debian's chromium for the browser tests.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box

from geo.districts import Districts
from geo.gaps import Gap
from maps.coverage import CoverageMap, DistrictFigures, HourDay, MapHotSpot, MapStation, coverage_html
from maps.tiles import Tiles
from stations.vocabulary import LAYER_LABELS

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = '"</script><script>alert(2)</script>'
TEMPLATE = "${alert(3)}`+alert(4)+` SSTI[{{ 7*7 }}]X {% if 1 %}IF-RAN{% endif %} #{7*7} <%= 7*7 %> {# 二号"
"""JavaScript template literal syntax, and the template syntax of Jinja2 (which folium and branca use), Ruby, ERB."""
ADCODE = "'\"><svg onload=alert(5)>"
TILES = "https://tiles.invalid/{z}/{x}/{y}.png"
PROBE = Path(__file__).with_name("browser_probe.mjs")


def _chromium() -> str | None:
    return next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)


def _node_command() -> list[str] | None:
    node = shutil.which("node")
    if node is None:
        return None
    for flags in ([], ["--experimental-websocket"]):  # WebSocket is global from Node 22, behind a flag in 20-21
        check = [node, *flags, "-e", "process.exit(typeof WebSocket === 'function' ? 0 : 1)"]
        if subprocess.run(check, capture_output=True, check=False).returncode == 0:
            return [node, *flags]
    return None


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """DevTools port of a headless Chromium that cannot resolve any host name."""
    chromium, node = _chromium(), _node_command()
    if chromium is None or node is None:
        if os.environ.get("CI"):  # .ci/run installs Debian's chromium: a missing browser there is a failure
            pytest.fail("CI must have chromium (apt-get install chromium) and Node.js with WebSocket")
        pytest.skip("needs chromium and a Node.js with WebSocket")
    profile = tmp_path_factory.mktemp("chromium")
    process = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
         "--remote-debugging-port=0", "--host-resolver-rules=MAP * ~NOTFOUND", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(200):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.05)
        else:
            pytest.fail("chromium did not open its DevTools port")
        yield int(port_file.read_text().splitlines()[0])
    finally:
        process.terminate()
        process.wait(timeout=10)


def probe(port: int, page: Path) -> dict[str, Any]:
    command = [*(_node_command() or []), str(PROBE), str(port), page.as_uri()]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def report(browser: int, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    districts = Districts(
        [ADCODE, "330102"], [IMG, "上城区"], [box(120.0, 30.0, 120.1, 30.1), box(120.1, 30.0, 120.2, 30.1)],
        {"source": f"boundaries {IMG}"},
    )  # fmt: skip
    counts = {"outdoor_worker": 2, "driver_home": 1, "nursing_room": 1}
    rows = [
        DistrictFigures(adcode, name, 100.0, share, 50.0, 900.0, 2000.0, counts)
        for adcode, name, share in ((ADCODE, IMG, 0.5), ("330102", "上城区", 0.8))
    ]
    gaps = [
        Gap(1, "330102", "上城区", 9, 0.09, None, 120.16, 30.06, 0, 1500.0, box(120.15, 30.05, 120.17, 30.07)),
        Gap(2, ADCODE, IMG, 4, 0.04, None, 120.05, 30.05, -1, math.inf, box(120.04, 30.04, 120.06, 30.06)),
    ]
    stations = [
        MapStation("A", IMG, ("outdoor_worker",), 120.15, 30.05),
        MapStation("B", SCRIPT, ("driver_home",), 120.12, 30.08),
        MapStation("C", TEMPLATE, ("outdoor_worker", "nursing_room"), 120.05, 30.08),
    ]
    night = [Gap(1, "330102", "上城区", 4, 0.04, None, 120.12, 30.02, 0, 900.0, box(120.11, 30.01, 120.13, 30.03))]
    spots = [MapHotSpot(1, 120.16, 30.06, 5.0, 0.5, IMG, TEMPLATE, 1500.0)]
    days = [HourDay("工作日", {"330102": [0.5] * 24}), HourDay(f"周末 {IMG}", {"330102": [0.25] * 24})]
    html = coverage_html(
        CoverageMap(
            districts, 1000, rows, gaps, [SCRIPT, None], stations, LAYER_LABELS, title=f"T {TEMPLATE}",
            tiles=Tiles(TILES, f"tiles {IMG}"), hotspots=spots, hour_days=days, night_gaps=night,
            night_gap_station_names=[IMG], night_day="工作日 2026-12-09",
        )
    )  # fmt: skip
    page = tmp_path_factory.mktemp("page") / "coverage.html"
    page.write_text(html, encoding="utf-8")
    return probe(browser, page)


def test_the_page_runs_offline_without_errors(report: dict[str, Any]) -> None:
    assert report["leaflet"] == "1.9.4"
    assert report["errors"] == [] and report["exceptions"] == []
    external = [url for url in report["requests"] if not url.startswith(("file:", "data:", "https://tiles.invalid/"))]
    assert external == []
    assert report["layerNames"] == [
        "区县覆盖率",
        "覆盖范围（≤ 1,000 米）",
        "服务空白",
        "夜间空白（工作日 2026-12-09 22:00–06:00）",
        "户外劳动者服务站 outdoor workers",
        "司机之家 driver homes",
        "母婴室 nursing rooms",
        "热点：一站可补的空白（编号）",
    ]
    assert report["canvases"] >= 1  # vector layers on one canvas (preferCanvas)


def test_hostile_names_show_as_text_and_run_nothing(report: dict[str, Any]) -> None:
    assert report["alerts"] == [] and report["injected"] == 0
    popups, tooltips = report["popups"], report["tooltips"]
    assert len(popups) == 2 + 2 + 1 + 4 + 1  # districts, gaps, night gap, stations (C in two layers), hot spot
    assert sum(IMG in text and ADCODE in text for text in popups) == 2  # the district and its gap
    assert any(text.startswith("夜间空白 night gap #1") and IMG in text and "900 m" in text for text in popups)
    assert any(text.startswith(f"热1 {IMG}") and TEMPLATE in text for text in popups)  # the hot spot's badge
    assert any(f"周末 {IMG}" in text for text in report["boxes"])  # the hour selector's day, as text
    assert any(SCRIPT in text and "1,500 m" in text for text in popups)  # gap 1's nearest station
    for name in (IMG, SCRIPT, TEMPLATE):
        assert name in tooltips
    assert f"T {TEMPLATE}" in report["boxes"]
    assert any(f"boundaries {IMG}" in text for text in report["boxes"])
    assert report["attribution"].endswith(f"tiles {IMG}")
