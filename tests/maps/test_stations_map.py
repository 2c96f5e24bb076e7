"""maps.stations: the station page builder inlines everything, keeps user text inside escaped JSON and
configures tiles and the view."""

from __future__ import annotations

import doctest
import json
import re

import pytest

import maps.stations
from maps.stations import PageAssets, StationPage, Tiles, View, features_bounds, station_page

ASSETS = PageAssets(css=".x { color: red }", script="function yizhanApp(map, config) { window.c = config; }")
HOSTILE = ['"</script><script>alert(1)</script>', "<img src=x onerror=alert(2)>", "${alert(3)}`", "a\u2028b"]


def feature(name: str, lon: float, lat: float) -> dict:
    return {
        "type": "Feature",
        "id": name,
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"id": name, "name": name, "types": ["driver_home"]},
    }


def config_of(page: str) -> dict:
    match = re.search(r"yizhanApp\(map_\w+, (\{.*\})\);", page)
    assert match is not None
    return json.loads(match.group(1))


def test_docstring_examples() -> None:
    result = doctest.testmod(maps.stations, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


def test_user_text_only_inside_escaped_json_and_round_trips() -> None:
    features = [feature(name, 120.1 + i / 100, 30.2) for i, name in enumerate(HOSTILE)]
    page = station_page(StationPage(ASSETS, {"mode": "static", "title": HOSTILE[0]}, features, HOSTILE[1]))
    for name in HOSTILE[:2]:
        assert name not in page
    assert page.lower().count("</script") == page.lower().count("<script")  # no script ended early
    assert "<title>&lt;img src=x onerror=alert(2)&gt;</title>" in page
    config = config_of(page)
    assert [f["properties"]["name"] for f in config["features"]] == HOSTILE
    assert config["title"] == HOSTILE[0]
    assert "<script src=" not in page and "<link" not in page


def test_view_fits_the_stations_unless_a_centre_is_given() -> None:
    features = [feature("a", 120.1, 30.3), feature("b", 120.2, 30.1)]
    config = config_of(station_page(StationPage(ASSETS, features=features)))
    assert config["fit"] == [[30.1, 120.1], [30.3, 120.2]] == features_bounds(features)
    page = station_page(StationPage(ASSETS, features=features, view=View((30.0, 121.0), zoom=15)))
    assert config_of(page)["fit"] is None
    assert "[30.0, 121.0]" in page and '"zoom": 15' in page


def test_tiles_and_their_crs_reach_the_page() -> None:
    tiles = Tiles("https://tiles.example/{z}/{x}/{y}.png", "© <b>Amap</b>", "gcj02")
    page = station_page(StationPage(ASSETS, {"mode": "rider"}, tiles=tiles))
    assert "https://tiles.example/{z}/{x}/{y}.png" in page
    assert "<b>Amap" not in page
    assert config_of(page)["tiles_crs"] == "gcj02"
    with pytest.raises(ValueError, match="attribution"):
        station_page(StationPage(ASSETS, tiles=Tiles("https://tiles.example/{z}/{x}/{y}.png", None)))


def test_assets_that_would_end_their_tag_are_refused() -> None:
    with pytest.raises(ValueError, match="script"):
        PageAssets(css="", script="var a = '</script>';")
    with pytest.raises(ValueError, match="css"):
        PageAssets(css="</style><script>", script="")
