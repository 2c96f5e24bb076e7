"""maps.district_report: the printable district report — hostile text stays text, the page is print-only HTML
(no scripts, no external resources, A4), and Chromium prints it to a PDF of 1-3 A4 pages that holds the
district's name and key figures (pypdf reads the text back). The first page is also saved as a PNG in
tests/artifacts/district_report.png for a person to look at.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from shapely.geometry import Polygon, box

from geo.gaps import Gap
from maps.coverage import DistrictFigures, MapHotSpot, MapStation, ProposedSite
from maps.district_report import DistrictReport, district_report_html, profile_svg
from tests.hostile import ALL, evaluated_in

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
BOUNDARY = Polygon([(120.00, 30.10), (120.20, 30.08), (120.24, 30.30), (120.10, 30.36), (119.98, 30.25)])
COUNTS = {"outdoor_worker": 42, "driver_home": 3, "nursing_room": 7}
LABELS = {"outdoor_worker": "骑手/户外劳动者", "driver_home": "司机之家", "nursing_room": "母婴室"}


def _report(name: str = "西湖区", hostile: bool = False, **changes: object) -> DistrictReport:
    names = list(ALL) if hostile else [f"驿站{i}" for i in range(len(ALL))]
    stations = [
        MapStation(
            f"S{i}", names[i % len(names)], ("outdoor_worker",), 120.05 + (i % 7) * 0.02, 30.15 + (i // 7) * 0.03
        )
        for i in range(40)
    ]
    gaps = [
        Gap(
            i + 1,
            "330106",
            name,
            100,
            12.5 - i,
            900.0 - 50 * i,
            120.0 + 0.02 * i,
            30.3,
            i,
            1_200.0 + i,
            box(119.99 + 0.02 * i, 30.28, 120.005 + 0.02 * i, 30.32),
        )
        for i in range(8)
    ]
    proposals = [ProposedSite(r, 120.1 + 0.01 * r, 30.2, 500.0 / r, name, names[r % len(names)]) for r in range(1, 6)]
    spots = [MapHotSpot(r, 120.02 + 0.01 * r, 30.31, 400.0 / r, 1.5, name, names[-r], 1_100.0 + r) for r in range(1, 6)]
    figures = DistrictFigures("330106", name, 311.4, 0.363, 198.5, 1_477.0, 4_070.0, COUNTS, 37_875.0, 0.924)
    after = DistrictFigures("330106", name, 311.4, 0.389, 190.3, 1_407.0, 4_070.0, COUNTS, 37_875.0, 0.983)
    values: dict[str, object] = {
        "figures": figures, "after": after, "type_labels": LABELS, "stations": stations, "gaps": gaps,
        "gap_station_names": [names[i] for i in range(8)], "proposals": proposals, "gain_unit": "人",
        "hotspots": spots, "hour_shares": [0.1] * 5 + [0.3 + 0.02 * h for h in range(17)] + [0.2, None],
        "hour_day": "工作日 2026-12-09", "types_text": "骑手/户外劳动者", "version": 7, "date": "2026-12-03",
        "source": names[0], "synthetic": True,
    }  # fmt: skip
    values.update(changes)
    return DistrictReport("330106", name, BOUNDARY, 1000.0, **values)  # type: ignore[arg-type]


class _Page(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:  # noqa: ARG002
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text += data


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_hostile_names_show_as_text_and_nothing_runs(lang: str) -> None:
    for name in ALL:
        page = district_report_html(_report(name, hostile=True, lang=lang))
        parsed = _Page(page)
        assert "script" not in parsed.tags and "img" not in parsed.tags and "iframe" not in parsed.tags
        assert name in parsed.text  # the district's name, as text (title, heading)
        assert evaluated_in(page) == []
    page = district_report_html(_report(hostile=True, lang=lang))
    text = _Page(page).text
    for name in ALL:  # station/site/gap names and the boundary source, each shown as text somewhere
        assert name in text, name
    for raw in ("<img src=x", "</script><script>", "<%= 7*7 %>"):
        assert raw not in page


def test_print_only_page() -> None:
    page = district_report_html(_report())
    assert page.startswith('<!DOCTYPE html>\n<html lang="zh-CN">')
    assert "@page { size: A4;" in page and "break-inside: avoid" in page and "print-color-adjust: exact" in page
    assert "<script" not in page and not re.search(r"(src|href)=\"?https?:", page)
    assert page.count('class="bar"') == 23  # 24 hours, one without a figure
    assert '<tr><th>建议新增站点数</th><td class="n">0</td><td class="n">5</td></tr>' in page
    for heading in ("覆盖概况", "地图", "24 小时覆盖率（工作日 2026-12-09）", "建议新增站点", "热点", "最大的服务空白"):
        assert f"{heading}" in page
    english = district_report_html(_report(lang="en", hour_shares=None))
    assert '<html lang="en">' in english and "Station coverage report: 西湖区" in english
    assert "No hourly coverage given." in english and 'class="bar"' not in english


def test_bad_input_is_refused() -> None:
    with pytest.raises(ValueError, match="hour_shares has 3 values"):
        _report(hour_shares=[0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="lang 'fr'"):
        _report(lang="fr")
    with pytest.raises(ValueError, match="radius_m"):
        DistrictReport("1", "x", BOUNDARY, math.nan)


def test_profile_bars_are_as_tall_as_the_shares() -> None:
    svg = profile_svg([h / 23 for h in range(24)])
    heights = [float(h) for h in re.findall(r'class="bar"[^>]*height="([\d.]+)"', svg)]
    assert len(heights) == 24 and heights[0] == 0.0
    assert all(b > a for a, b in itertools.pairwise(heights))
    assert heights[-1] == pytest.approx(260 - 34 - 14)


@pytest.mark.slow
def test_chromium_prints_it_on_one_to_three_a4_pages(browser: Any, tmp_path: Path) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_text(district_report_html(_report(hostile=True)), encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    dialogs: list[str] = []
    context = browser.new_context(viewport={"width": 794, "height": 1123})
    try:
        page = context.new_page()
        page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
        page.goto(page_file.as_uri())
        page.pdf(path=str(pdf), format="A4", print_background=True, prefer_css_page_size=True)
        page.emulate_media(media="print")
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "district_report.png"))  # the first A4 page's worth, to look at
    finally:
        context.close()
    assert dialogs == []
    reader = PdfReader(str(pdf))
    assert 1 <= len(reader.pages) <= 3
    width, height = (float(v) for v in reader.pages[0].mediabox.upper_right)
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = unicodedata.normalize("NFKC", "".join(p.extract_text() for p in reader.pages))  # Kangxi radicals → CJK
    squeezed = re.sub(r"\s+", "", text)
    for figure in ("西湖区服务站覆盖报告", "330106", "36.3", "38.9", "37,875", "92.4", "98.3", "1,477", "+500"):
        assert figure in squeezed, figure
    assert "1,000米" in squeezed and "工作日2026-12-09" in squeezed
