"""maps.page and maps.elements: inlining the vendored libraries, refusing what is not vendored, safe text."""

from __future__ import annotations

import doctest
import json
import re
from importlib import resources

import folium
import pytest

import maps.coverage
import maps.elements
import maps.page
import maps.styles
from maps.elements import HtmlControl, PointsLayer, ShapesLayer, html_table
from maps.page import VENDORED, base_map, marker_cluster, self_contained
from maps.safe_text import escape, js_literal


@pytest.mark.parametrize("module", [maps.coverage, maps.elements, maps.page, maps.styles])
def test_docstring_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_every_vendored_file_and_its_licence_ship_with_the_package() -> None:
    vendor = resources.files("maps") / "vendor"
    for path in VENDORED.values():
        assert (vendor / path).is_file(), path
        assert (vendor / path.split("/")[0] / "LICENSE").is_file()
    readme = (vendor / "README.md").read_text(encoding="utf-8")
    assert "BSD-2-Clause" in readme and "MIT" in readme


def test_leaflet_and_its_images_are_inlined() -> None:
    page = self_contained(base_map(location=[30.25, 120.15], tiles=None))
    assert 'version="1.9.4"' in page
    assert "url(images/" not in page
    assert len(re.findall(r'url\("data:image/png;base64,', page)) == 3  # layers, layers-2x, marker icon
    assert 'L.Icon.Default.mergeOptions({iconUrl:"data:image/png;base64,' in page  # default markers work
    assert not re.search(r"<script[^>]*\bsrc\s*=|<link\b", page)


def test_a_default_marker_is_drawn_offline() -> None:
    m = base_map(location=[30.25, 120.15], tiles=None)
    folium.Marker([30.25, 120.15]).add_to(m)
    assert "L.marker(" in self_contained(m)


def test_the_cluster_plugin_is_inlined_only_when_used() -> None:
    m = base_map(location=[30.25, 120.15], tiles=None)
    assert "MarkerClusterGroup" not in self_contained(m)
    cluster = marker_cluster("stations").add_to(m)
    PointsLayer([(30.25, 120.15)], {"radius": 5}).add_to(cluster)
    page = self_contained(m)
    assert "MarkerClusterGroup" in page and ".marker-cluster-small" in page
    assert page.index('version="1.9.4"') < page.index("MarkerClusterGroup")  # Leaflet first


def test_what_is_not_vendored_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match=r"jquery \(https://code\.jquery\.com/.*\) is not vendored"):
        self_contained(folium.Map(tiles=None))  # folium's own defaults: jQuery, Bootstrap, icon fonts


def test_folium_popups_and_icons_are_refused() -> None:
    m = base_map(tiles=None)
    folium.CircleMarker([30, 120], popup=folium.Popup("x")).add_to(m)
    with pytest.raises(ValueError, match=r"folium\.Popup needs jQuery"):
        self_contained(m)
    m = base_map(tiles=None)
    folium.Marker([30, 120], icon=folium.Icon()).add_to(m)
    with pytest.raises(ValueError, match=r"folium\.Icon needs Leaflet\.awesome-markers"):
        self_contained(m)


def test_self_contained_leaves_folium_defaults_alone() -> None:
    before = (list(folium.Map.default_js), list(folium.Map.default_css))
    self_contained(base_map(tiles=None))
    assert (folium.Map.default_js, folium.Map.default_css) == before


def test_js_literal_cannot_close_a_script_or_comment() -> None:
    hostile = "</script><!-- ' & \u2028 `${x}`"
    text = js_literal({"name": hostile})
    for raw in ("<", ">", "&", "'", "\u2028"):
        assert raw not in text
    assert json.loads(text) == {"name": hostile}
    with pytest.raises(ValueError):
        js_literal(float("nan"))


def test_fragments_escape_every_text() -> None:
    assert escape("<a href='x'>&") == "&lt;a href=&#x27;x&#x27;&gt;&amp;"
    fragment = html_table("<b>", "<i>", [("<th>", "<td>")])
    assert fragment.count("<") == fragment.count(">") == 14  # only the table's own tags


def test_points_layer_checks_its_templates_and_escapes_fields() -> None:
    layer = PointsLayer([(30, 120), (31, 121)], {}, fields=[["<a>", "1"], ["b", "2"]], popup="{0} ({1})")
    assert [row[2] for row in layer.rows] == [["&lt;a&gt;", "1"], ["b", "2"]]
    with pytest.raises(ValueError, match="the templates use 2"):
        PointsLayer([(30, 120)], {}, fields=[["only one"]], popup="{0} {1}")
    with pytest.raises(ValueError, match="no fields"):
        PointsLayer([(30, 120)], {}, tooltip="{0}")
    with pytest.raises(ValueError, match="1 entries for 2 points"):
        PointsLayer([(30, 120), (31, 121)], {}, fields=[["a"]], tooltip="{0}")
    with pytest.raises(ValueError, match="kind 'marker'"):
        PointsLayer([(30, 120)], {}, kind="marker")


def test_shapes_layer_rounds_and_skips_empty_geometries() -> None:
    from shapely.geometry import Polygon, box

    layer = ShapesLayer([(box(120.1234567, 30, 120.2, 30.1), {}, None, None), (Polygon(), {}, None, None)])
    (feature,) = layer.data["features"]
    assert min(x for x, _ in feature["geometry"]["coordinates"][0]) == 120.12346


def test_html_control_refuses_unknown_positions_and_classes() -> None:
    with pytest.raises(ValueError, match="position 'middle'"):
        HtmlControl("x", "middle")
    with pytest.raises(ValueError, match="css_class"):
        HtmlControl("x", css_class='a" onclick="x')


TEMPLATE_FAMILY = "SSTI[{{ 7*7 }}] {% if 1 %}x{% endif %} {# 二号 ${7*7} #{7*7} <%= 7*7 %>"


def test_folium_elements_own_text_is_never_compiled_as_a_template() -> None:
    # branca compiles a MacroElement's rendered output again as Jinja2; the layer control carries layer names
    # and the tile layer its attribution: "{#" in one broke the page, "{{ 7*7 }}" was evaluated
    m = base_map(location=[30.25, 120.15], tiles=None)
    folium.TileLayer(tiles="https://t.example/{z}/{x}/{y}.png", attr=TEMPLATE_FAMILY, name="底图").add_to(m)
    folium.FeatureGroup(name=TEMPLATE_FAMILY).add_to(m)
    folium.LayerControl().add_to(m)
    page = self_contained(m)
    written = json.dumps(TEMPLATE_FAMILY).replace("<", "\\u003c").replace(">", "\\u003e")  # folium's tojson
    assert f'"attribution": {written},' in page
    assert f"{written} : feature_group_" in page
    assert "SSTI[49]" not in page and "{% if 1 %}x{% endif %}" in page
