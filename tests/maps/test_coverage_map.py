"""maps.coverage: layers, figures, escaping of hostile text, self-contained page, zoom, purity, proposals."""

from __future__ import annotations

import builtins
import json
import math
import re
import shutil
import socket
import subprocess
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import box

from geo.districts import Districts
from geo.gaps import Gap
from maps.badges import spread_pins_source
from maps.coverage import (
    AFTER_LAYER,
    BEFORE_LAYER,
    CLUSTER_ABOVE,
    DISTRICTS_LAYER,
    GAPS_LAYER,
    PROPOSALS_LAYER,
    CoverageMap,
    DistrictFigures,
    HourDay,
    MapHotSpot,
    MapStation,
    ProposedSite,
    coverage_html,
    coverage_map,
    covered_layer_name,
    legend_caption,
    proposed_layer_name,
)
from maps.styles import COVERED_COLOUR, GAP_COLOUR, NIGHT_GAP_COLOUR, PROPOSED_COLOUR, TYPE_COLOURS, coverage_colour
from maps.tiles import Tiles
from stations.vocabulary import LAYER_LABELS

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = '"</script><script>alert(1)</script>'
TEMPLATE = "${alert(1)}`+alert(2)+`"
ADCODE = "'\"><svg onload=alert(1)>"
HOSTILE = (IMG, SCRIPT, TEMPLATE, ADCODE)
RADIUS = 1000.0

WEST = box(120.0, 30.0, 120.1, 30.1)
EAST = box(120.1, 30.0, 120.2, 30.1)
NORTH = box(120.0, 30.1, 120.2, 30.2)


@pytest.fixture
def districts() -> Districts:
    return Districts(
        [ADCODE, "330102", "330105"],
        [IMG, "上城区", "拱墅区"],
        [WEST, EAST, NORTH],
        {"source": "Test boxes <b>&</b>", "crs": "WGS84"},
    )


def row(adcode: str, name: str, share: float, **extra: Any) -> DistrictFigures:
    counts = {"outdoor_worker": 7, "driver_home": 1, "nursing_room": 3}
    return DistrictFigures(adcode, name, 103.9, share, 12.34, 850.0, 2300.0, counts, **extra)


def draw(districts: Districts, **options: Any) -> str:
    """The page of ``districts`` with the labels the service passes, at ``RADIUS`` unless told."""
    return coverage_html(CoverageMap(districts, **{"radius_m": RADIUS, "type_labels": LAYER_LABELS, **options}))


@pytest.fixture
def rows() -> list[DistrictFigures]:
    return [
        row(ADCODE, IMG, 0.25),
        row("330102", "上城区", 0.632, demand=12345.0, demand_covered_share=0.71),
        # 拱墅区 has no row: it is drawn grey, "no figures"
    ]


@pytest.fixture
def gaps() -> list[Gap]:
    first = Gap(1, "330102", "上城区", 90, 0.9, 321.0, 120.165, 30.065, 0, 1234.5, box(120.15, 30.05, 120.18, 30.08))
    second = Gap(2, ADCODE, IMG, 4, 0.04, None, 120.05, 30.05, -1, math.inf, box(120.04, 30.04, 120.06, 30.06))
    return [first, second]


@pytest.fixture
def stations() -> list[MapStation]:
    return [
        MapStation("HZ-SYN-00001", IMG, ("outdoor_worker",), 120.15, 30.05),
        MapStation("HZ-SYN-00002", SCRIPT, ("driver_home",), 120.12, 30.15),
        MapStation("HZ-SYN-00003", TEMPLATE, ("outdoor_worker", "nursing_room"), 120.05, 30.08),
        MapStation("HZ-SYN-00004", "武林广场母婴室", ("nursing_room",), 120.16, 30.12),
    ]


@pytest.fixture
def page(districts: Districts, rows: list, gaps: list[Gap], stations: list) -> str:
    return draw(
        districts, figures=rows, gaps=gaps, gap_station_names=[SCRIPT, None], stations=stations, title=f"标题 {IMG}"
    )


# -- reading the page back -------------------------------------------------------------------------------------


def map_script(page: str) -> str:
    """The script folium writes after the body (the vendored libraries come before, in the head)."""
    return page[page.index("</body>") :]


def _json_after(page: str, marker: str) -> list[Any]:
    """Every JSON value that follows ``marker`` in the map's script."""
    script, decoder = map_script(page), json.JSONDecoder()
    starts = [
        m.end() + len(script[m.end() :]) - len(script[m.end() :].lstrip())
        for m in re.finditer(re.escape(marker), script)
    ]
    return [decoder.raw_decode(script, start)[0] for start in starts]


def point_layers(page: str) -> list[dict[str, Any]]:
    """kind, style, popup and tooltip templates, and rows of every PointsLayer in the page."""
    layers, page = [], map_script(page)
    for match in re.finditer(r"var style = ", page):
        decoder = json.JSONDecoder()
        style, end = decoder.raw_decode(page, match.end())
        popup, end = decoder.raw_decode(page, page.index("popup = ", end) + 8)
        tooltip, end = decoder.raw_decode(page, page.index("tooltip = ", end) + 10)
        rows, end = decoder.raw_decode(page, page.index("var layers = ", end) + 13)
        kind = re.search(r"L\.(circle|circleMarker)\(\[row\[0\], row\[1\]\]", page[end:]).group(1)
        layers.append({"kind": kind, "style": style, "popup": popup, "tooltip": tooltip, "rows": rows})
    return layers


def filled(template: str, fields: list[str]) -> str:
    """What the page's ``fill`` does in the browser."""
    return re.sub(r"\{(\d+)\}", lambda m: fields[int(m.group(1))], template)


def shape_layers(page: str) -> list[list[dict[str, Any]]]:
    """Features of each ShapesLayer (``L.geoJSON({...``) and GapsLayer (``var data = {...``), in page order."""
    script, decoder = map_script(page), json.JSONDecoder()
    starts = [m.end() - 1 for m in re.finditer(r"L\.geoJSON\(\{|var data = \{", script)]
    return [decoder.raw_decode(script, start)[0]["features"] for start in starts]


def gap_styles(page: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The GapsLayer's hatch and outline styles."""
    (hatch,) = _json_after(page, "hatch = ")
    (outline,) = _json_after(page, "outline = ")
    return hatch, outline


class Fragment(HTMLParser):
    """Elements and text of an HTML fragment, as a browser's innerHTML would build them."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[str] = []
        self.texts: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend(name for name, _ in attrs)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)

    @property
    def text(self) -> str:
        return "".join(self.texts)


SAFE_TAGS = {"div", "b", "span", "table", "tr", "th", "td", "h1"}


def assert_inert(fragment: str) -> Fragment:
    parsed = Fragment(fragment)
    assert set(parsed.tags) <= SAFE_TAGS, parsed.tags
    assert set(parsed.attributes) <= {"class", "style", "id"}, parsed.attributes  # id: the legend caption (constant)
    return parsed


class PageScripts(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=False)
        self.scripts: list[str] = []
        self.script_attrs: list[list[tuple[str, str | None]]] = []
        self.links: list[list[tuple[str, str | None]]] = []
        self.title = ""
        self._in: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.script_attrs.append(attrs)
            self.scripts.append("")
        if tag == "link":
            self.links.append(attrs)
        self._in = tag

    def handle_endtag(self, tag: str) -> None:  # noqa: ARG002 - HTMLParser calls it with the tag; any end will do
        self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "script":
            self.scripts[-1] += data
        if self._in == "title":
            self.title += data


# -- layers and figures -----------------------------------------------------------------------------------------


def test_layer_names_legend_caption_and_district_names(page: str) -> None:
    for name in (DISTRICTS_LAYER, covered_layer_name(RADIUS), GAPS_LAYER, *LAYER_LABELS.values()):
        assert json.dumps(name) + " : " in page  # the layer control's entries (folium writes them as ASCII JSON)
    assert covered_layer_name(RADIUS) == "覆盖范围（≤ 1,000 米）"
    assert covered_layer_name(RADIUS, "en") == "Covered (≤ 1,000 m)"
    assert legend_caption(RADIUS) == "覆盖率（站点 1,000 米内）"
    assert legend_caption(RADIUS, "en") == "Covered share within 1,000 m of a station"
    assert "覆盖率（站点 1,000 米内）" in page and '<html lang="zh-CN">' in page
    for name in ("上城区", "拱墅区"):
        assert name in page
    assert "L.control.layers(" in page


def test_one_circle_of_radius_m_per_station(page: str, stations: list) -> None:
    (circles,) = [layer for layer in point_layers(page) if layer["kind"] == "circle"]
    assert circles["style"]["radius"] == RADIUS
    assert circles["style"]["interactive"] is False  # clicks go through to districts and gaps
    assert [row[:2] for row in circles["rows"]] == [[s.lat, s.lon] for s in stations]


def test_station_markers_one_layer_per_type_coloured_and_escaped(page: str, stations: list) -> None:
    markers = [layer for layer in point_layers(page) if layer["kind"] == "circleMarker"]
    by_colour = {layer["style"]["fillColor"]: layer for layer in markers}
    assert set(by_colour) == set(TYPE_COLOURS.values())
    for kind, colour in TYPE_COLOURS.items():
        expected = [s for s in stations if kind in s.types]  # a station shows in each of its types' layers
        layer = by_colour[colour]
        assert [row[:2] for row in layer["rows"]] == [[s.lat, s.lon] for s in expected]
        for station, row in zip(expected, layer["rows"], strict=True):
            popup = assert_inert(filled(layer["popup"], row[2]))
            tooltip = assert_inert(filled(layer["tooltip"], row[2]))
            assert station.name in popup.text and station.id in popup.text
            assert tooltip.text == station.name
    (both,) = [row for row in by_colour[TYPE_COLOURS["nursing_room"]]["rows"] if row[2][1] == "HZ-SYN-00003"]
    assert both[2][2] == "户外劳动者服务站 outdoor workers, 母婴室 nursing rooms"
    assert "markerClusterGroup" not in page  # few stations: plain groups, no cluster plugin


def test_district_choropleth_popups_and_missing_rows(page: str) -> None:
    districts_layer = shape_layers(page)[0]
    by_name = {assert_inert(f["properties"]["popup"]).texts[0]: f["properties"] for f in districts_layer}
    assert set(by_name) == {IMG, "上城区", "拱墅区"}
    shangcheng = by_name["上城区"]
    assert shangcheng["style"]["fillColor"] == coverage_colour(0.632)
    text = assert_inert(shangcheng["popup"]).text
    for figure in ("330102", "104 km²", "63.2%", "12.3 km²", "850 m", "2,300 m", "12,345", "71.0%"):
        assert figure in text
    for label, count in (("outdoor workers", "7"), ("driver homes", "1"), ("nursing rooms", "3")):
        assert f"{label}{count}" in text  # th then td
    assert assert_inert(shangcheng["tooltip"]).text == "上城区 · 覆盖 63.2%"
    hostile = assert_inert(by_name[IMG]["popup"])
    assert hostile.texts[:2] == [IMG, " "] and ADCODE in hostile.text and "需求" not in hostile.text
    grey = by_name["拱墅区"]
    assert grey["style"]["fillColor"] == coverage_colour(None)
    assert "无数据 no figures" in assert_inert(grey["popup"]).text


def test_one_red_polygon_per_gap_with_its_figures(page: str, gaps: list[Gap]) -> None:
    gap_layer = shape_layers(page)[1]
    assert len(gap_layer) == len(gaps)
    hatch, outline = gap_styles(page)
    # over the choropleth, never hiding it: stripes (a quarter of the area) and an outline; no solid fill
    assert hatch["fillColor"] == "url(#yizhan-gap-hatch)" and hatch["stroke"] is False
    assert outline["color"] == GAP_COLOUR and outline["fill"] is False
    assert 'id="yizhan-gap-hatch"' in page and f'fill="{GAP_COLOUR}"' in page
    for feature, gap in zip(gap_layer, gaps, strict=True):
        ring = feature["geometry"]["coordinates"][0]
        west, south, east, north = gap.polygon.bounds
        assert {(x, y) for x, y in ring} == {(west, south), (east, south), (east, north), (west, north)}
    first = assert_inert(gap_layer[0]["properties"]["popup"]).text
    for figure in ("gap #1", "上城区", "330102", "0.90 km²", "321", SCRIPT, "1,234 m"):
        assert figure in first
    second = assert_inert(gap_layer[1]["properties"]["popup"]).text
    assert "gap #2" in second and IMG in second and "无站点 none" in second and "需求" not in second


def test_hostile_text_never_appears_unescaped(page: str) -> None:
    for text in (IMG, SCRIPT, "<img", "<svg onload", "</script><script>alert", "onload=alert(1)>"):
        assert text not in page
    # `${...}` is inert in a double-quoted JSON string (folium's Tooltip/Popup would evaluate it in a `...`)
    assert page.count(TEMPLATE) == page.count(json.dumps(TEMPLATE, ensure_ascii=False)) > 0
    assert "`" not in map_script(page).replace(json.dumps(TEMPLATE, ensure_ascii=False), "")
    scripts = PageScripts(page)
    assert page.count("<script") == page.count("</script>") == len(scripts.scripts)
    assert all(attrs == [] for attrs in scripts.script_attrs)
    # HTML contexts (outside scripts) hold the hostile text as entities only
    assert "<title>标题 &lt;img src=x onerror=alert(1)&gt;</title>" in page
    # the title, legend and credit boxes are escaped fragments too
    boxes = _json_after(page, "box.innerHTML = ")
    texts = [assert_inert(fragment).text for fragment in boxes]
    assert f"标题 {IMG}" in texts
    assert any("Test boxes <b>&</b>" in text for text in texts)


def test_every_inline_script_parses(page: str, tmp_path: Path) -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed")
    scripts = PageScripts(page).scripts
    assert len(scripts) >= 3  # leaflet, the icon paths, the map
    for number, script in enumerate(scripts):
        path = tmp_path / f"script{number}.js"
        path.write_text(script, encoding="utf-8")
        result = subprocess.run([node, "--check", str(path)], capture_output=True, text=True, check=False)
        assert result.returncode == 0, result.stderr


def test_page_is_self_contained(page: str) -> None:
    assert "https://cdn" not in page and "cdnjs" not in page and "code.jquery.com" not in page
    assert not re.search(r"<script[^>]*\bsrc\s*=", page)
    assert not re.search(r"<link\b", page)
    assert 'version="1.9.4"' in page  # Leaflet, inlined
    assert "url(images/" not in page and 'url("data:image/png;base64,' in page  # CSS images inlined
    assert "sourceMappingURL" not in page
    assert "jquery" not in page.lower() and "bootstrap" not in page.lower()
    tiles = _json_after(page, "L.tileLayer(")
    assert tiles == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]  # the only network address used


def test_many_stations_are_clustered_with_the_vendored_plugin(districts: Districts) -> None:
    many = [
        MapStation(f"S{i}", f"驿站 {i}", ("outdoor_worker",), 120.0 + i * 1e-4, 30.05) for i in range(CLUSTER_ABOVE + 1)
    ]
    page = draw(districts, stations=many, radius_m=500)
    assert "L.markerClusterGroup(" in page and "MarkerClusterGroup" in page  # the plugin is inlined
    assert "marker-cluster-small" in page  # and its default CSS
    assert '"disableClusteringAtZoom": 15' in page
    assert not re.search(r"<script[^>]*\bsrc\s*=|<link\b", page)
    (markers,) = [layer for layer in point_layers(page) if layer["kind"] == "circleMarker"]
    assert len(markers["rows"]) == CLUSTER_ABOVE + 1


# -- zoom, credits, options -------------------------------------------------------------------------------------


def test_adcode_zooms_to_that_district_and_draws_it_on_top(districts: Districts, rows: list) -> None:
    page = draw(districts, figures=rows, adcode="330102")
    (bounds,) = _json_after(page, ".fitBounds(")
    west, south, east, north = EAST.bounds
    assert bounds == [[south, west], [north, east]]
    features = shape_layers(page)[0]
    assert assert_inert(features[-1]["properties"]["popup"]).texts[0] == "上城区"
    assert features[-1]["properties"]["style"]["weight"] > max(
        f["properties"]["style"]["weight"] for f in features[:-1]
    )


def test_without_adcode_the_map_fits_all_districts(districts: Districts) -> None:
    (bounds,) = _json_after(draw(districts), ".fitBounds(")
    assert bounds == [[30.0, 120.0], [30.2, 120.2]]


def test_hostile_adcode_focus_and_attribution(districts: Districts, rows: list) -> None:
    page = draw(
        districts,
        figures=rows,
        adcode=ADCODE,
        tiles=Tiles("https://tiles.example.org/{z}/{x}/{y}.png", "<script>alert(1)</script> Example"),
    )
    (bounds,) = _json_after(page, ".fitBounds(")
    assert bounds == [[30.0, 120.0], [30.1, 120.1]]
    assert "<script>alert(1)</script>" not in page and ADCODE not in page
    (attribution,) = re.findall(r'"attribution": ("[^"]*")', page)
    assert assert_inert(json.loads(attribution)).text == "<script>alert(1)</script> Example"


def test_credits_name_the_boundary_source_and_synthetic_stations(
    districts: Districts, page: str, stations: list
) -> None:
    assert "站点为合成示例数据，并非真实地点。" in page
    real = [replace(s, id=s.id.replace("HZ-SYN-", "HZ-")) for s in stations]
    other = draw(districts, stations=real)
    assert "合成示例数据" not in other
    assert "Test boxes" in other
    marked = [replace(s, source="synthetic") for s in real]
    assert "合成示例数据" in draw(districts, stations=marked)
    assert "Stations are synthetic" in draw(districts, stations=marked, lang="en")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"radius_m": 0}, "radius_m 0 must be a positive number"),
        ({"radius_m": math.nan}, "radius_m nan"),
        ({"adcode": "999999"}, "adcode '999999' is not one of the districts"),
        ({"gap_station_names": ["only one"]}, "1 names for 2 gaps"),
        ({"tiles": Tiles("https://tiles.example.org/{z}/{x}/{y}.png")}, "pass attribution="),
        ({"tiles": Tiles("No Such Provider")}, "is neither a tile provider name"),
        ({"figures": [row("110101", "东城区", 0.5)]}, "figures row 1: adcode '110101' is not one of the districts"),
        ({"figures": [row("330102", "上城区", 0.5)] * 2}, "figures row 2: a second row for adcode '330102'"),
    ],
)
def test_bad_input_is_refused_with_a_reason(
    districts: Districts, rows: list, gaps: list, stations: list, changes: dict, message: str
) -> None:
    arguments: dict[str, Any] = {"figures": rows, "gaps": gaps, "stations": stations, "radius_m": RADIUS, **changes}
    with pytest.raises(ValueError, match=re.escape(message)):
        coverage_map(CoverageMap(districts, **arguments))


def test_builder_is_pure(
    districts: Districts, rows: list, gaps: list, stations: list, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    writes: list[str] = []
    real_open = builtins.open

    def watching_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if any(flag in mode for flag in "wax+"):
            writes.append(str(file))
        return real_open(file, mode, *args, **kwargs)

    def no_network(*_args: Any, **_kwargs: Any) -> None:
        raise AssertionError("the map builder opened a socket")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(builtins, "open", watching_open)
    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    data = CoverageMap(districts, RADIUS, rows, gaps, [SCRIPT, None], stations, LAYER_LABELS)
    m = coverage_map(data)
    first = coverage_html(data)
    second = coverage_html(data)
    assert writes == [] and list(tmp_path.iterdir()) == []
    assert isinstance(first, str) and first.startswith("<!DOCTYPE html>")
    # the same inputs give the same page, up to folium's random element ids
    assert re.sub(r"_[0-9a-f]{32}", "_ID", first) == re.sub(r"_[0-9a-f]{32}", "_ID", second)
    assert m.get_name().startswith("map_")


# -- proposed sites -------------------------------------------------------------------------------------------


@pytest.fixture
def proposals() -> list[ProposedSite]:
    """Out of rank order on purpose; hostile names and districts."""
    return [
        ProposedSite(3, 120.05, 30.15, 0.35, "拱墅区", None),
        ProposedSite(1, 120.16, 30.07, 1234.0, "上城区", IMG),
        ProposedSite(4, 120.19, 30.01, 7, None, TEMPLATE),
        ProposedSite(2, 120.04, 30.05, 56.5, IMG, SCRIPT),
    ]


@pytest.fixture
def after_rows() -> list[DistrictFigures]:
    return [
        row(ADCODE, IMG, 0.40),
        row("330102", "上城区", 0.75, demand=12345.0, demand_covered_share=0.8),
        row("330105", "拱墅区", 0.10),  # no row before: "no figures" before, 10 % after
    ]


@pytest.fixture
def proposal_page(
    districts: Districts, rows: list, gaps: list[Gap], stations: list, proposals: list, after_rows: list
) -> str:
    return draw(
        districts,
        figures=rows,
        gaps=gaps,
        gap_station_names=[SCRIPT, None],
        stations=stations,
        title=f"标题 {IMG}",
        proposals=proposals,
        after=after_rows,
    )


def label_layers(page: str) -> list[dict[str, Any]]:
    """badge, popup and tooltip templates, and rows (lat, lon, fields, label) of every LabelMarkers."""
    layers, script, decoder = [], map_script(page), json.JSONDecoder()
    for match in re.finditer(r"var badge = ", script):
        badge, end = decoder.raw_decode(script, match.end())
        popup, end = decoder.raw_decode(script, script.index("popup = ", end) + 8)
        tooltip, end = decoder.raw_decode(script, script.index("tooltip = ", end) + 10)
        rows, end = decoder.raw_decode(script, script.index("var rows = ", end) + 11)
        layers.append({"badge": badge, "popup": popup, "tooltip": tooltip, "rows": rows})
    return layers


def layer_control(page: str) -> tuple[dict[str, str], dict[str, str]]:
    """Base layers and overlays of the layer control: name → the layer's JavaScript variable."""
    script = map_script(page)
    section = script[script.index("base_layers : {") : script.index("L.control.layers(")]
    base, overlays = section.split("overlays :")

    def entries(text: str) -> dict[str, str]:
        return {json.loads(k): v for k, v in re.findall(r'^\s*("(?:[^"\\]|\\.)*") : (\w+),$', text, re.MULTILINE)}

    return entries(base), entries(overlays)


def test_proposals_are_numbered_badges_in_rank_order(proposal_page: str, proposals: list) -> None:
    (layer,) = label_layers(proposal_page)
    ordered = sorted(proposals, key=lambda p: p.rank)
    assert [r[3] for r in layer["rows"]] == ["1", "2", "3", "4"]  # the badge texts, in rank order
    assert [r[:2] for r in layer["rows"]] == [[p.lat, p.lon] for p in ordered]
    assert f"background: {PROPOSED_COLOUR}" in layer["badge"]["style"]
    script = map_script(proposal_page)
    assert "L.divIcon(" in script and "zIndexOffset: 1000 * (rows.length - i)" in script  # rank 1 on top
    assert "L.icon(" not in script and "awesome" not in proposal_page.lower()  # no images, no icon fonts
    texts = []
    for proposal, r in zip(ordered, layer["rows"], strict=True):
        popup = assert_inert(filled(layer["popup"], r[2]))
        tooltip = assert_inert(filled(layer["tooltip"], r[2]))
        assert f"排名 rank{proposal.rank}" in popup.text
        assert f"#{proposal.rank} " in tooltip.text
        assert f"{proposal.lon:.5f}, {proposal.lat:.5f}" in popup.text
        texts.append((popup.text, tooltip.text))
    (p1, t1), (p2, _), (p3, t3), (p4, _) = texts
    assert IMG in p1 and "区县 district上城区" in p1 and "新增覆盖 gain+1,234 demand" in p1
    assert t1 == f"#1 {IMG} · +1,234 demand"
    assert SCRIPT in p2 and f"区县 district{IMG}" in p2 and "+56.5 demand" in p2
    assert "新增站点 proposed site" in p3 and "+0.35 demand" in p3  # no name
    assert t3 == "#3 新增站点 proposed site · +0.35 demand"
    assert TEMPLATE in p4 and "区县 district—" in p4 and "+7 demand" in p4  # no district


def test_gain_unit_is_shown_with_each_gain(districts: Districts, proposals: list) -> None:
    page = draw(districts, proposals=proposals, gain_unit="km²")
    (layer,) = label_layers(page)
    gains = [assert_inert(filled(layer["tooltip"], r[2])).text.rsplit(" · ", 1)[1] for r in layer["rows"]]
    assert gains == ["+1,234 km²", "+56.5 km²", "+0.35 km²", "+7 km²"]


def test_one_proposed_circle_of_radius_m_per_proposal(proposal_page: str, proposals: list, stations: list) -> None:
    existing, proposed = [layer for layer in point_layers(proposal_page) if layer["kind"] == "circle"]
    assert existing["style"]["fillColor"] == COVERED_COLOUR and len(existing["rows"]) == len(stations)
    assert proposed["style"]["fillColor"] == PROPOSED_COLOUR != COVERED_COLOUR
    assert proposed["style"]["radius"] == RADIUS and proposed["style"]["interactive"] is False
    ordered = sorted(proposals, key=lambda p: p.rank)
    assert [r[:2] for r in proposed["rows"]] == [[p.lat, p.lon] for p in ordered]


def test_layer_control_names_both_choropleths_and_the_proposal_layers(proposal_page: str) -> None:
    base, overlays = layer_control(proposal_page)
    assert list(base) == [BEFORE_LAYER, AFTER_LAYER]  # a radio choice: one choropleth at a time
    assert BEFORE_LAYER == "覆盖率（现状）" and AFTER_LAYER == "覆盖率（新增后）"
    assert proposed_layer_name(RADIUS) == "新增覆盖（≤ 1,000 米）"
    assert PROPOSALS_LAYER == "新增站点（编号为推荐顺序）"
    assert list(overlays) == [
        covered_layer_name(RADIUS),
        proposed_layer_name(RADIUS),
        GAPS_LAYER,
        *LAYER_LABELS.values(),
        PROPOSALS_LAYER,
    ]
    assert DISTRICTS_LAYER not in base and DISTRICTS_LAYER not in overlays
    script = map_script(proposal_page)
    assert f"{base[AFTER_LAYER]}.addTo(" in script  # the after layer is shown first
    assert f"{base[BEFORE_LAYER]}.addTo(" not in script
    for name in overlays.values():
        assert f"{name}.addTo(" in script
    # switching choropleths (or one off and on) puts it back under the gaps and stations on the canvas
    assert f"[{base[BEFORE_LAYER]}, {base[AFTER_LAYER]}]" in script and '"baselayerchange overlayadd"' in script
    legend = [assert_inert(f).text for f in _json_after(proposal_page, "box.innerHTML = ")]
    assert any(PROPOSALS_LAYER in text and proposed_layer_name(RADIUS) in text for text in legend)


def test_after_popups_state_both_shares(proposal_page: str) -> None:
    before, after, gaps_layer = shape_layers(proposal_page)
    assert len(gaps_layer) == 2
    old = {assert_inert(f["properties"]["popup"]).texts[0]: f["properties"] for f in before}
    new = {assert_inert(f["properties"]["popup"]).texts[0]: f["properties"] for f in after}
    assert set(old) == set(new) == {IMG, "上城区", "拱墅区"}
    assert old["上城区"]["style"]["fillColor"] == coverage_colour(0.632)
    assert new["上城区"]["style"]["fillColor"] == coverage_colour(0.75)
    assert "before" not in assert_inert(old["上城区"]["popup"]).text  # the before layer's popups as ever
    text = assert_inert(new["上城区"]["popup"]).text
    for figure in (f"{BEFORE_LAYER}63.2%", f"{AFTER_LAYER}75.0%", "变化 change+11.8 pp", "12,345"):
        assert figure in text
    assert "demand covered before71.0%" in text and "demand covered after80.0%" in text
    assert assert_inert(new["上城区"]["tooltip"]).text == "上城区 · 覆盖 63.2% → 75.0%"
    hostile = assert_inert(new[IMG]["popup"])
    assert hostile.texts[:2] == [IMG, " "] and ADCODE in hostile.text
    assert f"{BEFORE_LAYER}25.0%" in hostile.text and f"{AFTER_LAYER}40.0%" in hostile.text
    gongshu = assert_inert(new["拱墅区"]["popup"]).text
    assert f"{BEFORE_LAYER}无数据 no figures" in gongshu and f"{AFTER_LAYER}10.0%" in gongshu
    assert "变化 change—" in gongshu
    assert new["拱墅区"]["style"]["fillColor"] == coverage_colour(0.10)
    assert assert_inert(new["拱墅区"]["tooltip"]).text == "拱墅区 · 覆盖 10.0%"


def test_hostile_proposal_names_never_appear_unescaped(proposal_page: str) -> None:
    for text in (IMG, SCRIPT, "<img", "<svg onload", "</script><script>alert", "onerror=alert(1)>"):
        assert text not in proposal_page
    assert "${alert(1)}" in TEMPLATE
    assert proposal_page.count(TEMPLATE) == proposal_page.count(json.dumps(TEMPLATE, ensure_ascii=False)) > 0
    assert "`" not in map_script(proposal_page).replace(json.dumps(TEMPLATE, ensure_ascii=False), "")
    scripts = PageScripts(proposal_page)
    assert proposal_page.count("<script") == proposal_page.count("</script>") == len(scripts.scripts)
    assert all(attrs == [] for attrs in scripts.script_attrs)
    (layer,) = label_layers(proposal_page)
    for r in layer["rows"]:
        assert_inert(f'<div style="{layer["badge"]["style"]}">{r[3]}</div>')  # the badge, as the browser builds it


def test_proposal_page_is_self_contained_and_its_scripts_parse(proposal_page: str, tmp_path: Path) -> None:
    test_page_is_self_contained(proposal_page)
    test_every_inline_script_parses(proposal_page, tmp_path)


def test_proposals_without_after_rows_keep_one_choropleth(districts: Districts, rows: list, proposals: list) -> None:
    page = draw(districts, figures=rows, proposals=proposals)
    base, overlays = layer_control(page)
    assert base == {}
    names = [DISTRICTS_LAYER, covered_layer_name(RADIUS), proposed_layer_name(RADIUS), GAPS_LAYER, PROPOSALS_LAYER]
    assert list(overlays) == names
    assert len(shape_layers(page)) == 2 and len(label_layers(page)) == 1
    assert "baselayerchange" not in map_script(page)


def test_no_proposals_no_proposal_layers(page: str, districts: Districts, rows: list) -> None:
    assert label_layers(page) == [] and "L.divIcon(" not in map_script(page)
    assert "baselayerchange" not in map_script(page) and "proposed" not in page
    empty = draw(districts, figures=rows, proposals=[])
    assert re.sub(r"_[0-9a-f]{32}", "_ID", empty) == re.sub(r"_[0-9a-f]{32}", "_ID", draw(districts, figures=rows))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"proposals": [ProposedSite(1, 120.1, 30.1, 1.0), ProposedSite(1, 120.2, 30.1, 1.0)]},
            "proposals: ranks [1, 1] repeat",
        ),
        ({"after": [row("110101", "东城区", 0.5)]}, "after row 1: adcode '110101' is not one of"),
    ],
)
def test_bad_proposals_are_refused_with_a_reason(districts: Districts, rows: list, changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        CoverageMap(districts, RADIUS, rows, **changes)


# -- a map a planner can read (issue 15 item 4): language, hot spots, hour selector -----------------------------


def test_english_page_says_everything_of_its_own_in_english(districts: Districts, rows: list, gaps: list) -> None:
    page = draw(districts, figures=rows, gaps=gaps, lang="en", type_labels={"outdoor_worker": "Outdoor workers"})
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    _, overlays = layer_control(page)
    assert list(overlays)[:3] == ["District coverage", "Covered (≤ 1,000 m)", "Service gaps"]
    legend = " ".join(assert_inert(f).text for f in _json_after(page, "box.innerHTML = "))
    assert "Covered share within 1,000 m of a station" in legend and "Service gaps (red hatching" in legend
    assert "覆盖率（站点" not in legend and "服务空白" not in legend
    assert "<title>Covered share within 1,000 m of a station</title>" in page  # no title given: the caption
    with pytest.raises(ValueError, match="lang 'fr' is not one of zh, en"):
        CoverageMap(districts, RADIUS, lang="fr")


@pytest.fixture
def spots() -> list[MapHotSpot]:
    return [
        MapHotSpot(2, 120.05, 30.05, 120.0, 0.8, IMG, SCRIPT, 1_450.0),
        MapHotSpot(1, 120.15, 30.05, 321.0, 1.2, "上城区", None, None),
    ]


def test_hot_spots_are_numbered_badges_with_escaped_popups(districts: Districts, spots: list) -> None:
    page = draw(districts, hotspots=spots)
    (layer,) = label_layers(page)
    assert [r[3] for r in layer["rows"]] == ["热1", "热2"]  # rank order, rank 1 on top
    assert [r[:2] for r in layer["rows"]] == [[30.05, 120.15], [30.05, 120.05]]
    assert layer["badge"]["keyboard"] is True  # buttons: Tab reaches them, Enter or Space opens the popup
    assert spread_pins_source() in page  # drawn apart where they crowd, by the rider page's own spreadPins
    second = assert_inert(filled(layer["popup"], layer["rows"][1][2])).text
    for figure in ("热2", IMG, "120", "0.80 km²", SCRIPT, "1,450 m", "120.05000, 30.05000"):
        assert figure in second
    assert IMG not in page and SCRIPT not in page
    _, overlays = layer_control(page)
    assert "热点：一站可补的空白（编号）" in overlays
    english = draw(districts, hotspots=spots, lang="en")
    assert [r[3] for r in label_layers(english)[0]["rows"]] == ["H1", "H2"]


def hour_selector(page: str) -> dict[str, Any]:
    (data,) = _json_after(page, "var config = ")
    return data


def test_hour_selector_recolours_by_the_hours_share(districts: Districts, rows: list) -> None:
    shares = {"330102": [0.1] * 6 + [0.9] * 16 + [0.2, None], ADCODE: [0.5] * 24}
    page = draw(districts, figures=rows, hour_shares=shares, hour_day="工作日")
    data = hour_selector(page)
    assert "<select id=\\u0022yizhan-hour\\u0022>" not in page  # the markup reaches the page as a JSON string only
    assert data["html"].count("<option") == 25 and 'value="22">22:00' in data["html"]
    (day,) = data["days"]
    assert "yizhan-day" not in data["html"]  # one day: no choice of days
    assert day["districts"]["330102"]["colours"] == [coverage_colour(s) for s in shares["330102"]]
    assert day["districts"]["330102"]["shares"][6] == "90.0%" and day["districts"]["330102"]["shares"][23] == "—"
    assert set(day["districts"]) == {"330102", ADCODE}
    assert day["captions"][23] == "工作日 22时覆盖率 · 1,000 米"
    keys = [f["properties"]["key"] for f in shape_layers(page)[0]]
    assert keys == [ADCODE, "330102", "330105"]  # the choropleth's shapes carry their adcodes for the selector
    with pytest.raises(ValueError, match="hour_shares\\['330102'\\] has 3 values"):
        CoverageMap(districts, RADIUS, hour_shares={"330102": [0.1, 0.2, 0.3]})


def test_no_hour_shares_no_selector(page: str) -> None:
    assert "yizhan-hour" not in page


def test_hour_selector_offers_a_weekday_and_a_weekend_day(districts: Districts, rows: list) -> None:
    weekday = HourDay("工作日 2026-12-09", {"330102": [0.8] * 24})
    weekend = HourDay(f"周末/节假日 {IMG}", {"330102": [0.2] * 22 + [None, 0.1]})
    page = draw(districts, figures=rows, hour_days=[weekday, weekend])
    data = hour_selector(page)
    html = data["html"]
    assert '<label for="yizhan-day">日期</label><select id="yizhan-day">' in html
    assert '<option value="0">工作日 2026-12-09</option><option value="1">周末/节假日 &lt;img' in html
    assert IMG not in html and IMG not in page  # the day's name is escaped in the options and the popup rows
    first, second = data["days"]
    assert first["districts"]["330102"]["colours"] == [coverage_colour(0.8)] * 24
    assert second["districts"]["330102"]["shares"][22:] == ["—", "10.0%"]
    assert second["captions"][24] == f"周末/节假日 {IMG} 23时覆盖率 · 1,000 米"  # set as textContent: plain text
    assert second["label"] == "周末/节假日 &lt;img src=x onerror=alert(1)&gt;"  # in the popup rows: escaped
    english = hour_selector(draw(districts, figures=rows, hour_days=[weekday, weekend], lang="en"))
    assert '<label for="yizhan-day">Day</label>' in english["html"]
    with pytest.raises(ValueError, match="one per hour"):
        CoverageMap(districts, RADIUS, hour_days=[HourDay("x", {"330102": [0.1]})])


def test_night_gaps_are_a_layer_of_their_own_drawn_apart_from_the_gaps(
    districts: Districts, rows: list, gaps: list[Gap]
) -> None:
    night = [Gap(1, "330102", "上城区", 9, 0.09, 88.0, 120.12, 30.02, 0, 1500.0, box(120.11, 30.01, 120.13, 30.03))]
    page = draw(
        districts, figures=rows, gaps=gaps, night_gaps=night, night_gap_station_names=[SCRIPT],
        night_day="工作日 2026-12-09",
    )  # fmt: skip
    _, overlays = layer_control(page)
    assert "夜间空白（工作日 2026-12-09 22:00–06:00）" in overlays and "服务空白" in overlays
    layers = shape_layers(page)
    night_features = layers[-1]
    assert len(night_features) == 1 and len(layers[-2]) == len(gaps)
    popup = assert_inert(night_features[0]["properties"]["popup"]).text
    assert "夜间空白 night gap #1 · 上城区" in popup and SCRIPT in popup and "1,500 m" in popup
    hatches = _json_after(page, "hatch = ")
    outlines = _json_after(page, "outline = ")
    assert [h["fillColor"] for h in hatches] == ["url(#yizhan-gap-hatch)", "url(#yizhan-night-gap-hatch)"]
    assert outlines[1]["dashArray"] == "6 4" and outlines[1]["color"] == NIGHT_GAP_COLOUR
    assert all(h["stroke"] is False and h["fill"] is True for h in hatches)  # hatching only: the colours read through
    assert 'id="yizhan-night-gap-hatch"' in page and 'patternTransform="rotate(-45)"' in page
    assert "夜间空白：白天有覆盖，22:00–06:00 无" in page
    english = draw(districts, figures=rows, night_gaps=night, night_day="weekday 2026-12-09", lang="en")
    assert "Night gaps (weekday 2026-12-09 22:00–06:00)" in layer_control(english)[1]
    assert "Night gaps: covered by day, not at 22:00–06:00" in english
    assert "夜间空白" not in draw(districts, figures=rows, gaps=gaps)
    with pytest.raises(ValueError, match="night_day"):  # it names a layer, which folium compiles as a template
        CoverageMap(districts, RADIUS, night_gaps=night, night_day="{# 二号")
    with pytest.raises(ValueError, match="night_gap_station_names has 2 names for 1 night gaps"):
        CoverageMap(districts, RADIUS, night_gaps=night, night_gap_station_names=["a", "b"])
