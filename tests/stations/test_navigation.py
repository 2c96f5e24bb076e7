"""Navigation links (``stations.navigation``): the exact URL of each app for each way of travel, coordinates that
read back to the station's WGS84 point within centimetres through ``geo.crs``'s inverses, names kept as text."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, quote, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.crs import CrsName, point_to_gcj02_bd09, transform
from geo.distance import haversine_m
from stations._route_fields import route_fields
from stations.errors import InvalidValue
from stations.navigation import (
    NAVIGATION_APPS,
    TRAVEL_MODES,
    NavigationApps,
    Trip,
    default_mode,
    navigation_links,
    travel_mode,
    trip_members,
)
from tests import hostile

# 湖滨 (Hangzhou) at WGS84 (120.16, 30.25): GCJ-02 (120.164678, 30.24766), BD-09 (120.171249, 30.253412)
LON, LAT = 120.16, 30.25
GCJ, BD = "120.164678,30.24766", "30.253412,120.171249"
NAME = "%E9%A9%BF%E7%AB%99"  # 驿站

EXPECTED: dict[tuple[str, str], str] = {
    ("walk", "amap"): f"https://uri.amap.com/navigation?to={GCJ},{NAME}&mode=walk&src=yizhan&coordinate=gaode&callnative=1",
    ("ride", "amap"): f"https://uri.amap.com/navigation?to={GCJ},{NAME}&mode=ride&src=yizhan&coordinate=gaode&callnative=1",
    ("drive", "amap"): f"https://uri.amap.com/navigation?to={GCJ},{NAME}&mode=car&src=yizhan&coordinate=gaode&callnative=1",
    ("walk", "baidu"): f"https://api.map.baidu.com/direction?destination=latlng:{BD}%7Cname:{NAME}&mode=walking"
    "&output=html&coord_type=bd09ll&src=webapp.yizhan.yizhan",
    ("ride", "baidu"): f"https://api.map.baidu.com/direction?destination=latlng:{BD}%7Cname:{NAME}&mode=riding"
    "&output=html&coord_type=bd09ll&src=webapp.yizhan.yizhan",
    ("drive", "baidu"): f"https://api.map.baidu.com/direction?destination=latlng:{BD}%7Cname:{NAME}&mode=driving"
    "&output=html&coord_type=bd09ll&src=webapp.yizhan.yizhan",
    ("walk", "tencent"): f"https://apis.map.qq.com/uri/v1/routeplan?type=walk&to={NAME}&tocoord=30.24766,120.164678"
    "&referer=yizhan",
    ("ride", "tencent"): f"https://apis.map.qq.com/uri/v1/routeplan?type=bike&to={NAME}&tocoord=30.24766,120.164678"
    "&referer=yizhan",
    ("drive", "tencent"): f"https://apis.map.qq.com/uri/v1/routeplan?type=drive&to={NAME}&tocoord=30.24766,120.164678"
    "&referer=yizhan",
    **{(mode, "geo"): f"geo:30.25,120.16?q=30.25,120.16({NAME})" for mode in TRAVEL_MODES},
}  # fmt: skip


@pytest.mark.parametrize(("mode", "app"), list(EXPECTED))
def test_each_app_gets_its_route_url_for_each_way_of_travel(mode: str, app: str) -> None:
    (links,) = navigation_links(["驿站"], [LON], [LAT], travel_mode(mode))
    assert set(links) == set(NAVIGATION_APPS)
    assert links[app] == EXPECTED[mode, app]


ORIGIN = (120.15, 30.26)  # WGS84; GCJ-02 (120.154708, 30.257679), BD-09 (120.161245, 30.263595)
WITH_ORIGIN = {
    "amap": f"https://uri.amap.com/navigation?from=120.154708,30.257679,%E8%B5%B7%E7%82%B9&to={GCJ},{NAME}"
    "&mode=car&src=my.app&coordinate=gaode&callnative=1",
    "baidu": "https://api.map.baidu.com/direction?origin=latlng:30.263595,120.161245%7Cname:%E8%B5%B7%E7%82%B9"
    f"&destination=latlng:{BD}%7Cname:{NAME}&mode=driving&region=%E4%B8%8A%E5%9F%8E%E5%8C%BA&output=html"
    "&coord_type=bd09ll&src=webapp.union.rider",
    "tencent": "https://apis.map.qq.com/uri/v1/routeplan?type=drive&from=%E8%B5%B7%E7%82%B9"
    f"&fromcoord=30.257679,120.154708&to={NAME}&tocoord=30.24766,120.164678&referer=ABCDE-KEY",
    "geo": f"geo:30.25,120.16?q=30.25,120.16({NAME})",
}  # fmt: skip


def test_an_origin_region_and_the_apps_settings_go_where_each_app_wants_them() -> None:
    apps = NavigationApps(amap_src="my.app", baidu_src="webapp.union.rider", tencent_referer="ABCDE-KEY")
    (links,) = navigation_links(["驿站"], [LON], [LAT], "drive", regions=["上城区"], origin=ORIGIN, apps=apps)
    assert links == WITH_ORIGIN


def test_driver_homes_are_driven_to_and_the_rest_ridden_unless_the_rider_chooses() -> None:
    types = [("driver_home",), ("outdoor_worker",), ("nursing_room",), ("outdoor_worker", "driver_home")]
    names, lon, lat, regions = ["a", "b", "c", "d"], [LON] * 4, [LAT] * 4, [None] * 4
    found = trip_members(names, types, lon, lat, regions, Trip())
    assert [m["travel_mode"] for m in found] == ["drive", "ride", "ride", "drive"]
    amap_modes = [parse_qs(urlsplit(m["navigation"]["amap"]).query)["mode"][0] for m in found]  # type: ignore[index]
    assert amap_modes == ["car", "ride", "ride", "car"]
    walked = trip_members(names, types, lon, lat, regions, Trip("walk"))
    assert {m["travel_mode"] for m in walked} == {"walk"}
    assert [default_mode(kinds) for kinds in types] == ["drive", "ride", "ride", "drive"]


@pytest.mark.parametrize("value", ["fly", "", "Walk", "bike", "car", " walk"])
def test_an_unknown_way_of_travel_names_the_valid_ones(value: str) -> None:
    with pytest.raises(InvalidValue) as error:
        travel_mode(value)
    assert error.value.field == "mode" and list(error.value.valid or ()) == ["walk", "ride", "drive"]


NUMBER = r"(-?\d+(?:\.\d+)?)"


def read_back(links: dict[str, str]) -> dict[str, tuple[float, float]]:
    """Each link's destination (lon, lat) in its own datum, as the app reads it."""
    amap = parse_qs(urlsplit(links["amap"]).query)
    a_lon, a_lat, _ = amap["to"][0].split(",", 2)
    baidu = parse_qs(urlsplit(links["baidu"]).query)
    destination = re.fullmatch(rf"latlng:{NUMBER},{NUMBER}\|name:.*", baidu["destination"][0], re.S)
    assert destination is not None
    tencent = parse_qs(urlsplit(links["tencent"]).query)
    t_lat, t_lon = tencent["tocoord"][0].split(",")
    geo = re.fullmatch(rf"geo:{NUMBER},{NUMBER}\?q=\1,\2\(.*\)", links["geo"], re.S)
    assert geo is not None
    return {
        "amap": (float(a_lon), float(a_lat)),
        "baidu": (float(destination.group(2)), float(destination.group(1))),
        "tencent": (float(t_lon), float(t_lat)),
        "geo": (float(geo.group(2)), float(geo.group(1))),
    }


INVERSE: dict[str, CrsName] = {"amap": "gcj02", "tencent": "gcj02", "baidu": "bd09", "geo": "wgs84"}


@settings(max_examples=200, deadline=None)
@given(
    lon=st.floats(73.5, 135.0),
    lat=st.floats(18.0, 53.5),
    mode=st.sampled_from(TRAVEL_MODES),
    name=st.text(st.characters(exclude_categories=["Cs"]), max_size=30) | st.sampled_from(hostile.ALL),
)
def test_every_link_reads_back_to_the_stations_wgs84_point(lon: float, lat: float, mode: str, name: str) -> None:
    (links,) = navigation_links([name], [lon], [lat], travel_mode(mode), origin=(lon + 0.01, lat - 0.01))
    for app, (x, y) in read_back(links).items():
        back_lon, back_lat = transform(x, y, INVERSE[app], "wgs84")  # geo.crs's inverse shifts
        assert float(haversine_m(lon, lat, back_lon, back_lat)) < 0.5, app  # 6 decimals: ~0.1 m, plus the inverse
    # the name reads back as the text it was (Baidu's "|" is its field separator: shown as a full-width one)
    query = {app: parse_qs(urlsplit(links[app]).query, keep_blank_values=True) for app in ("amap", "baidu", "tencent")}
    assert query["tencent"]["to"] == [name]
    assert query["amap"]["to"][0].split(",", 2)[2] == name
    baidu = query["baidu"]["destination"][0]
    assert baidu.split("|name:", 1)[1] == name.replace("|", "｜") and baidu.count("|") == 1
    assert "<" not in links["geo"] and " " not in "".join(links.values())


def reference_fields(name: str, lon: float, lat: float) -> tuple[str, ...]:
    """What ``route_fields`` (C) must return, by the standard library and ``geo.crs``'s own one-point shifts."""

    def degrees(value: float) -> str:
        return f"{value:.6f}".rstrip("0").rstrip(".")

    return (quote(name, safe=""), *map(degrees, (*point_to_gcj02_bd09(lon, lat), lon, lat)))


@settings(max_examples=600, deadline=None)
@given(
    name=st.text(st.characters(codec="utf-8"), max_size=30) | st.sampled_from(hostile.ALL),
    lon=st.floats(-180, 180) | st.floats(72.0, 138.0),  # anywhere, and often where the Chinese shifts apply
    lat=st.floats(-90, 90) | st.floats(0.8, 56.0),
)
def test_route_fields_in_c_equal_quote_and_the_shifts_of_geo_crs(name: str, lon: float, lat: float) -> None:
    assert route_fields(name, lon, lat) == reference_fields(name, lon, lat)


def test_route_fields_refuse_what_quote_and_the_links_refuse() -> None:
    with pytest.raises(UnicodeEncodeError):
        quote("\ud800", safe="")
    with pytest.raises(UnicodeEncodeError):
        route_fields("\ud800", LON, LAT)  # a lone surrogate: no UTF-8, as quote says
    with pytest.raises(ValueError, match="finite"):
        route_fields("x", float("nan"), LAT)
    with pytest.raises(TypeError):
        route_fields(b"x", LON, LAT)  # type: ignore[arg-type]
