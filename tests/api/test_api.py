"""The HTTP API end to end: a real SQLite file, the real Hangzhou districts, stations loaded from CSV.

Every answer is checked against an oracle written here (brute-force haversine ranking, hand-worked opening
hours, ``geo.crs.transform`` of the stored coordinates), never against the code under test.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import random
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from registries import empty_registry

from api.app import create_app
from geo.crs import transform
from geo.distance import haversine_m
from geo.districts import Districts
from stations.errors import ImportRejected
from stations.importers import parse_file
from stations.model import STATION_TYPES
from stations.settings import SAMPLE_DIR, Settings

DISTRICTS_PATH = SAMPLE_DIR / "districts.geojson"
GEOJSON = "application/geo+json"
HEADER = ("id", "name", "types", "lon", "lat", "opening_hours", "operating_status", "hot_water", "microwave", "toilet")
SPLIT_HOURS = "Mo-Fr 08:30-11:00,13:30-17:00; PH off"
EVENING_HOURS = "Mo-Su 18:00-22:00"
DAY_HOURS = "Mo-Su 08:00-20:00"

# Hand-worked opening status of each hours text at each test time (China time). 2026-11-23 is a Monday;
# 2026-10-01 is National Day (a Thursday, a public holiday); 2026-11-19 is an ordinary Thursday.
MONDAY_0900 = "2026-11-23T09:00"
MONDAY_1200 = "2026-11-23T12:00"
MONDAY_2100 = "2026-11-23T21:00"
NATIONAL_DAY_1000 = "2026-10-01T10:00"
THURSDAY_1000 = "2026-11-19T10:00"
HOURS_AT: dict[str, dict[str, str]] = {
    "24/7": dict.fromkeys((MONDAY_0900, MONDAY_1200, MONDAY_2100, NATIONAL_DAY_1000, THURSDAY_1000), "open"),
    SPLIT_HOURS: {
        MONDAY_0900: "open",
        MONDAY_1200: "closed",
        MONDAY_2100: "closed",
        NATIONAL_DAY_1000: "closed",
        THURSDAY_1000: "open",
    },
    EVENING_HOURS: {
        MONDAY_0900: "closed",
        MONDAY_1200: "closed",
        MONDAY_2100: "open",
        NATIONAL_DAY_1000: "closed",
        THURSDAY_1000: "closed",
    },
    DAY_HOURS: {
        MONDAY_0900: "open",
        MONDAY_1200: "open",
        MONDAY_2100: "closed",
        NATIONAL_DAY_1000: "open",
        THURSDAY_1000: "open",
    },
    "": dict.fromkeys((MONDAY_0900, MONDAY_1200, MONDAY_2100, NATIONAL_DAY_1000, THURSDAY_1000), "unknown"),
}


@dataclass(frozen=True)
class Rec:
    """A station as the test writes it into the CSV: the oracle's own copy of the truth."""

    id: str
    name: str
    types: tuple[str, ...]
    lon: float
    lat: float
    hours: str = "24/7"
    status: str = "normal"
    amenities: dict[str, str] = field(default_factory=dict)

    def row(self) -> list[str]:
        cells = [self.id, self.name, ";".join(self.types), repr(self.lon), repr(self.lat), self.hours, self.status]
        return cells + [self.amenities.get(a, "") for a in ("hot_water", "microwave", "toilet")]


def to_csv_bytes(recs: list[Rec]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(r.row() for r in recs)
    return out.getvalue().encode("utf-8")


# A small town around P = (120.15, 30.25) in 西湖区; 0.001° of latitude is about 111 m.
P = (120.15, 30.25)
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
HOSTILE_SCRIPT = '"</script>'


def facilities(hot_water: str = "", microwave: str = "", toilet: str = "") -> dict[str, str]:
    """Amenities as the CSV gives them: "yes", "no", or "" (unknown, so absent)."""
    given = {"hot_water": hot_water, "microwave": microwave, "toilet": toilet}
    return {k: v for k, v in given.items() if v}


ALL_YES = facilities("yes", "yes", "yes")
WORKER, DRIVER, NURSING = ("outdoor_worker",), ("driver_home",), ("nursing_room",)
TOWN = [
    Rec("CLOSED", "已撤销驿站", WORKER, 120.15, 30.2501, "24/7", "closed", ALL_YES),
    Rec("SPLIT", "分时驿站", WORKER, 120.15, 30.2505, SPLIT_HOURS, "normal", facilities("yes", "yes")),
    Rec("UNKNOWN", "不详司机之家", DRIVER + NURSING, 120.15, 30.2510, "", "normal", facilities("yes", "no", "yes")),
    Rec("TEMP", "暂停驿站", WORKER, 120.15, 30.2520, "24/7", "temporarily_closed", ALL_YES),
    Rec("ALLDAY", HOSTILE_IMG, WORKER + DRIVER, 120.15, 30.2530, "24/7", "normal", facilities("yes", "", "no")),
    Rec("MOM", HOSTILE_SCRIPT, NURSING, 120.15, 30.2540, DAY_HOURS, "limited", facilities("no", "yes", "yes")),
    Rec("XIHU", "西湖边驿站", WORKER, 120.13, 30.26, EVENING_HOURS, "notice", {}),
    Rec("FAR", "远处驿站", WORKER, 120.25, 30.35, "24/7", "normal", ALL_YES),
]
BY_ID = {r.id: r for r in TOWN}


# ---------------------------------------------------------------------------------------------- helpers


def make_app(database_url: str, **overrides: object) -> FastAPI:
    return create_app(Settings(database_url=database_url, districts_path=DISTRICTS_PATH, **overrides))


@pytest.fixture
def app(database_url: str) -> FastAPI:
    return make_app(database_url)


@pytest.fixture
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def town(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    """A client of an app with TOWN loaded through the registry, once on each store, shared by this module's tests
    (they only read it; ``town.app`` is its app)."""
    with empty_registry(request, request.param, tmp_path_factory.mktemp("town")) as url:
        app = make_app(url)
        with TestClient(app) as client:
            report = app.state.registry.import_file(to_csv_bytes(TOWN), "town.csv")
            assert report.committed and report.added == len(TOWN) and not report.problems
            yield client


def nearby(client: TestClient, **params: object) -> dict:
    response = client.get("/stations/nearby", params={"lon": P[0], "lat": P[1], **params})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == GEOJSON
    body = response.json()
    assert body["type"] == "FeatureCollection"
    return body


def ids(body: dict) -> list[str]:
    return [f["id"] for f in body["features"]]


def brute_force(
    recs: list[Rec],
    lon: float,
    lat: float,
    k: int = 10,
    radius_m: float | None = None,
    types: tuple[str, ...] = (),
    amenities: tuple[str, ...] = (),
    open_at: str | None = None,
    include_unknown_hours: bool = False,
) -> list[tuple[str, float]]:
    """(id, haversine metres) of the k nearest matching stations, straight from the definition."""
    chosen = []
    for r in recs:
        if r.status == "closed":
            continue
        if types and not set(types) & set(r.types):
            continue
        if any(r.amenities.get(a) != "yes" for a in amenities):
            continue
        if open_at is not None:
            state = "closed" if r.status == "temporarily_closed" else HOURS_AT[r.hours][open_at]
            if not (state == "open" or (state == "unknown" and include_unknown_hours)):
                continue
        distance = float(haversine_m(lon, lat, r.lon, r.lat))
        if radius_m is not None and distance > radius_m:
            continue
        chosen.append((r.id, distance))
    chosen.sort(key=lambda pair: pair[1])
    return chosen[:k]


def error_entries(response) -> list[dict]:
    """The ``detail`` of an error response as a list of ``{"field", "value", "reason", ...}``."""
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "detail"}
    detail = body["detail"]
    entries = detail if isinstance(detail, list) else [detail]
    assert all(isinstance(e, dict) and {"field", "value", "reason"} <= set(e) for e in entries), body
    return entries


def same_value(reported: object, given: str) -> bool:
    """The error echoes the value given (as text, or as the number it parsed to)."""
    if str(reported) == given:
        return True
    try:
        return float(reported) == float(given)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


LINK_NUMBER = r"(-?\d+(?:\.\d+)?)"


def link_coordinates(links: dict[str, str]) -> dict[str, tuple[float, float]]:
    """(lon, lat) read back out of each navigation URL."""
    amap = parse_qs(urlsplit(links["amap"]).query)
    amap_lon, amap_lat, _label = amap["to"][0].split(",", 2)
    baidu = parse_qs(urlsplit(links["baidu"]).query)
    destination = re.fullmatch(rf"latlng:{LINK_NUMBER},{LINK_NUMBER}\|name:.*", baidu["destination"][0], re.S)
    assert destination is not None, links["baidu"]
    baidu_lat, baidu_lon = destination.group(1, 2)
    tencent = parse_qs(urlsplit(links["tencent"]).query)
    tencent_lat, tencent_lon = tencent["tocoord"][0].split(",")
    geo = re.fullmatch(rf"geo:{LINK_NUMBER},{LINK_NUMBER}\?q={LINK_NUMBER},{LINK_NUMBER}\(.*\)", links["geo"])
    assert geo is not None, links["geo"]
    assert geo.group(1, 2) == geo.group(3, 4)
    assert amap["coordinate"] == ["gaode"] and baidu["coord_type"] == ["bd09ll"]
    return {
        "amap": (float(amap_lon), float(amap_lat)),
        "baidu": (float(baidu_lon), float(baidu_lat)),
        "tencent": (float(tencent_lon), float(tencent_lat)),
        "geo": (float(geo.group(2)), float(geo.group(1))),
    }


def assert_navigation(feature: dict, lon: float, lat: float) -> None:
    """The links of a station at WGS84 (lon, lat) carry its coordinates in each app's datum, to 1e-6°."""
    found = link_coordinates(feature["properties"]["navigation"])
    gcj = transform(lon, lat, "wgs84", "gcj02")
    bd = transform(lon, lat, "wgs84", "bd09")
    expected = {"amap": gcj, "tencent": gcj, "baidu": bd, "geo": (lon, lat)}
    for app_name, (x, y) in expected.items():
        assert found[app_name][0] == pytest.approx(float(x), abs=1e-6), app_name
        assert found[app_name][1] == pytest.approx(float(y), abs=1e-6), app_name


# ------------------------------------------------------------------------------------- /stations/nearby


def test_empty_registry_gives_an_empty_feature_collection(client: TestClient) -> None:
    body = nearby(client, k=5)
    assert body["features"] == []
    assert client.get("/healthz").json()["stations"] == 0


def test_nearby_ranks_like_brute_force_and_never_returns_closed_stations(town: TestClient) -> None:
    body = nearby(town, k=100)
    expected = brute_force(TOWN, *P, k=100)
    assert ids(body) == [i for i, _ in expected]
    assert "CLOSED" not in ids(body) and ids(body)[0] == "SPLIT"
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances == sorted(distances)
    assert distances == pytest.approx([d for _, d in expected], abs=0.051)
    for feature in body["features"]:
        rec = BY_ID[feature["id"]]
        assert feature["type"] == "Feature" and feature["geometry"]["type"] == "Point"
        assert feature["geometry"]["coordinates"] == pytest.approx([rec.lon, rec.lat], abs=1e-7)
        assert feature["properties"]["name"] == rec.name
        assert tuple(feature["properties"]["types"]) == rec.types


def test_nearby_open_status_without_open_at_is_taken_now(town: TestClient) -> None:
    status = {f["id"]: f["properties"]["open_status"] for f in nearby(town, k=100)["features"]}
    # these three do not depend on the clock: 24/7, unknown hours, temporarily closed
    assert (status["ALLDAY"], status["UNKNOWN"], status["TEMP"]) == ("open", "unknown", "closed")


@pytest.mark.parametrize("k", [1, 2, 3, 7])
def test_k_limits_the_answer(town: TestClient, k: int) -> None:
    assert ids(nearby(town, k=k)) == [i for i, _ in brute_force(TOWN, *P, k=k)]


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        ("nursing_room", ["UNKNOWN", "MOM"]),
        ("driver_home", ["UNKNOWN", "ALLDAY"]),
        ("driver_home,nursing_room", ["UNKNOWN", "ALLDAY", "MOM"]),  # any of
        ("outdoor_worker", ["SPLIT", "TEMP", "ALLDAY", "XIHU", "FAR"]),
    ],
)
def test_types_filter_matches_any_of_the_types(town: TestClient, types: str, expected: list[str]) -> None:
    assert ids(nearby(town, k=100, types=types)) == expected
    assert expected == [i for i, _ in brute_force(TOWN, *P, k=100, types=tuple(types.split(",")))]


@pytest.mark.parametrize(
    ("amenities", "expected"),
    [
        ("hot_water", ["SPLIT", "UNKNOWN", "TEMP", "ALLDAY", "FAR"]),  # MOM "no", XIHU unknown
        ("hot_water,microwave", ["SPLIT", "TEMP", "FAR"]),  # all required; UNKNOWN "no", ALLDAY unknown
        ("toilet", ["UNKNOWN", "TEMP", "MOM", "FAR"]),  # SPLIT unknown, ALLDAY "no"
        ("microwave , toilet", ["TEMP", "MOM", "FAR"]),
    ],
)
def test_amenities_filter_requires_all_to_be_yes(town: TestClient, amenities: str, expected: list[str]) -> None:
    assert ids(nearby(town, k=100, amenities=amenities)) == expected
    wanted = tuple(a.strip() for a in amenities.split(","))
    assert expected == [i for i, _ in brute_force(TOWN, *P, k=100, amenities=wanted)]


@pytest.mark.parametrize(
    ("open_at", "include_unknown", "expected"),
    [
        (MONDAY_0900, False, ["SPLIT", "ALLDAY", "MOM", "FAR"]),  # split shift open in the morning
        (MONDAY_0900, True, ["SPLIT", "UNKNOWN", "ALLDAY", "MOM", "FAR"]),  # + empty hours, never TEMP
        (MONDAY_1200, False, ["ALLDAY", "MOM", "FAR"]),  # split shift's lunch break
        (MONDAY_2100, False, ["ALLDAY", "XIHU", "FAR"]),  # evening hours only
        (NATIONAL_DAY_1000, False, ["ALLDAY", "MOM", "FAR"]),  # "PH off" on National Day
        (THURSDAY_1000, False, ["SPLIT", "ALLDAY", "MOM", "FAR"]),  # ...but open on an ordinary Thursday
        (THURSDAY_1000, True, ["SPLIT", "UNKNOWN", "ALLDAY", "MOM", "FAR"]),
    ],
)
def test_open_at_filters_on_hand_worked_hours(
    town: TestClient, open_at: str, include_unknown: bool, expected: list[str]
) -> None:
    body = nearby(town, k=100, open_at=open_at, include_unknown_hours=str(include_unknown).lower())
    assert ids(body) == expected
    assert expected == [
        i for i, _ in brute_force(TOWN, *P, k=100, open_at=open_at, include_unknown_hours=include_unknown)
    ]
    for feature in body["features"]:
        assert feature["properties"]["open_status"] == ("unknown" if feature["id"] == "UNKNOWN" else "open")


@pytest.mark.parametrize(
    ("open_at", "split_open"),
    [("2026-11-23T01:00:00Z", True), ("2026-11-23T04:00:00+00:00", False), ("2026-11-23T09:00:00+08:00", True)],
)
def test_open_at_with_an_offset_is_converted_to_china_time(town: TestClient, open_at: str, split_open: bool) -> None:
    assert ("SPLIT" in ids(nearby(town, k=100, open_at=open_at))) is split_open


def test_temporarily_closed_is_reported_closed_and_never_open(town: TestClient) -> None:
    everything = {f["id"]: f for f in nearby(town, k=100)["features"]}
    assert everything["TEMP"]["properties"]["open_status"] == "closed"
    for moment in (MONDAY_0900, MONDAY_1200, NATIONAL_DAY_1000):
        assert "TEMP" not in ids(nearby(town, k=100, open_at=moment, include_unknown_hours="true"))


@pytest.mark.parametrize(("radius_m", "expected"), [(50, []), (60, ["SPLIT"]), (112, ["SPLIT", "UNKNOWN"])])
def test_radius_limits_the_answer(town: TestClient, radius_m: float, expected: list[str]) -> None:
    assert ids(nearby(town, k=100, radius_m=radius_m)) == expected
    assert expected == [i for i, _ in brute_force(TOWN, *P, k=100, radius_m=radius_m)]


def test_filters_combine(town: TestClient) -> None:
    body = nearby(town, k=2, types="outdoor_worker", amenities="hot_water", open_at=MONDAY_1200, radius_m=20_000)
    assert ids(body) == ["ALLDAY", "FAR"]


@pytest.mark.parametrize("crs", ["gcj02", "bd09"])
def test_query_in_a_chinese_datum_is_converted_and_answered_in_it(town: TestClient, crs: str) -> None:
    rec = BY_ID["UNKNOWN"]
    x, y = transform(rec.lon, rec.lat, "wgs84", crs)
    body = nearby(town, lon=float(x), lat=float(y), k=3, crs=crs)
    assert body["coordinate_system"] == crs
    assert ids(body)[0] == "UNKNOWN"
    assert body["features"][0]["properties"]["distance_m"] <= 0.1
    assert ids(body) == [i for i, _ in brute_force(TOWN, rec.lon, rec.lat, k=3)]
    for feature in body["features"]:
        station = BY_ID[feature["id"]]
        ex, ey = transform(station.lon, station.lat, "wgs84", crs)
        assert feature["geometry"]["coordinates"] == pytest.approx([float(ex), float(ey)], abs=1e-7)
        # a WGS84 reading of the same numbers would be hundreds of metres off
        assert float(haversine_m(station.lon, station.lat, *feature["geometry"]["coordinates"])) > 100
        assert_navigation(feature, station.lon, station.lat)  # links always from the stored WGS84 point


@pytest.mark.parametrize("crs", ["wgs84", "gcj02", "bd09"])
def test_the_answer_states_the_query_point_in_its_crs(town: TestClient, crs: str) -> None:
    x, y = transform(*P, "wgs84", crs)
    body = nearby(town, lon=float(x), lat=float(y), k=100, crs=crs)
    assert body["query"]["type"] == "Point"
    assert body["query"]["coordinates"] == pytest.approx([float(x), float(y)], abs=1e-7)


def test_a_wgs84_position_is_answered_in_gcj02_with_its_point_shifted(town: TestClient) -> None:
    """What the rider page over Amap tiles asks with a GPS fix: the position in WGS84, everything back in GCJ-02."""
    in_wgs = nearby(town, k=100)
    mixed = nearby(town, k=100, crs="gcj02", position_crs="wgs84")
    gx, gy = transform(*P, "wgs84", "gcj02")
    assert mixed["coordinate_system"] == "gcj02"
    assert mixed["query"]["coordinates"] == pytest.approx([float(gx), float(gy)], abs=1e-7)
    assert ids(mixed) == ids(in_wgs)
    assert [f["properties"]["distance_m"] for f in mixed["features"]] == [
        f["properties"]["distance_m"] for f in in_wgs["features"]
    ]
    for feature in mixed["features"]:
        station = BY_ID[feature["id"]]
        ex, ey = transform(station.lon, station.lat, "wgs84", "gcj02")
        assert feature["geometry"]["coordinates"] == pytest.approx([float(ex), float(ey)], abs=1e-7)


def test_gcj02_query_matches_the_wgs84_query_for_the_same_place(town: TestClient) -> None:
    gx, gy = transform(*P, "wgs84", "gcj02")
    in_wgs = nearby(town, k=100)
    in_gcj = nearby(town, lon=float(gx), lat=float(gy), k=100, crs="gcj02")
    assert ids(in_gcj) == ids(in_wgs)
    assert [f["properties"]["distance_m"] for f in in_gcj["features"]] == pytest.approx(
        [f["properties"]["distance_m"] for f in in_wgs["features"]], abs=0.11
    )


def test_navigation_links_carry_each_apps_coordinates(town: TestClient) -> None:
    body = nearby(town, k=100)
    assert len(body["features"]) == 7
    for feature in body["features"]:
        rec = BY_ID[feature["id"]]
        assert set(feature["properties"]["navigation"]) == {"amap", "baidu", "tencent", "geo"}
        assert_navigation(feature, rec.lon, rec.lat)


APP_MODE_PARAMS = {
    "drive": ("car", "driving", "drive"),
    "ride": ("ride", "riding", "bike"),
    "walk": ("walk", "walking", "walk"),
}


def link_modes(links: dict[str, str]) -> tuple[str, str, str]:
    """The way of travel each of Amap, Baidu and Tencent is asked for, in its own words."""
    amap, baidu, tencent = (parse_qs(urlsplit(links[app]).query) for app in ("amap", "baidu", "tencent"))
    return amap["mode"][0], baidu["mode"][0], tencent["type"][0]


def test_links_route_by_each_stations_way_of_travel_unless_the_rider_chooses(town: TestClient) -> None:
    body = nearby(town, k=100)
    for feature in body["features"]:
        expected = "drive" if "driver_home" in BY_ID[feature["id"]].types else "ride"
        assert feature["properties"]["travel_mode"] == expected, feature["id"]
        assert link_modes(feature["properties"]["navigation"]) == APP_MODE_PARAMS[expected]
        # routes start where the question was asked, in each app's datum (Amap lon,lat; the others lat,lon)
        amap_from = parse_qs(urlsplit(feature["properties"]["navigation"]["amap"]).query)["from"][0].split(",")
        gcj = transform(P[0], P[1], "wgs84", "gcj02")
        assert [float(v) for v in amap_from[:2]] == pytest.approx([float(gcj[0]), float(gcj[1])], abs=1e-6)
    assert {f["properties"]["travel_mode"] for f in body["features"]} == {"drive", "ride"}
    for mode in ("walk", "ride", "drive"):
        chosen = nearby(town, k=100, mode=mode)
        assert ids(chosen) == ids(body)
        for feature in chosen["features"]:
            assert feature["properties"]["travel_mode"] == mode
            assert link_modes(feature["properties"]["navigation"]) == APP_MODE_PARAMS[mode]
            assert_navigation(feature, BY_ID[feature["id"]].lon, BY_ID[feature["id"]].lat)


@pytest.mark.parametrize("mode", ["fly", "", "WALK", "bike", "walk,ride"])
def test_unknown_way_of_travel_is_refused_listing_the_valid_ones(town: TestClient, mode: str) -> None:
    (entry,) = error_entries(town.get("/stations/nearby", params={"lon": P[0], "lat": P[1], "mode": mode}))
    assert entry["field"] == "mode" and entry["value"] == mode
    assert entry["valid"] == ["walk", "ride", "drive"]


def test_one_station_links_route_by_its_way_of_travel(town: TestClient) -> None:
    for rec in TOWN:
        feature = town.get(f"/stations/{rec.id}").json()
        expected = "drive" if "driver_home" in rec.types else "ride"
        assert feature["properties"]["travel_mode"] == expected
        assert link_modes(feature["properties"]["navigation"]) == APP_MODE_PARAMS[expected]
        assert "from" not in parse_qs(urlsplit(feature["properties"]["navigation"]["amap"]).query)


# ----------------------------------------------------------------------------- brute force, property-based

RNG_STATIONS = 300
HOURS_CHOICES = ("24/7", SPLIT_HOURS, EVENING_HOURS, DAY_HOURS, "")
STATUS_CHOICES = ("normal",) * 6 + ("notice", "limited", "temporarily_closed", "closed")


def random_town(seed: int, n: int) -> list[Rec]:
    rng = random.Random(seed)
    recs = []
    for i in range(n):
        types = tuple(rng.sample(STATION_TYPES, rng.choice((1, 1, 2))))
        amenities = {a: v for a in ("hot_water", "microwave", "toilet") if (v := rng.choice(("yes", "no", "")))}
        recs.append(
            Rec(
                f"R{i:04d}",
                f"随机驿站{i}",
                types,
                round(rng.uniform(119.95, 120.40), 6),
                round(rng.uniform(30.05, 30.45), 6),
                rng.choice(HOURS_CHOICES),
                rng.choice(STATUS_CHOICES),
                amenities,
            )
        )
    return recs


RANDOM_TOWN = random_town(20261123, RNG_STATIONS)
RANDOM_BY_ID = {r.id: r for r in RANDOM_TOWN}


@pytest.fixture(scope="module")
def random_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path_factory.mktemp('random') / 'yizhan.sqlite3'}"
    app = make_app(url)
    with TestClient(app) as client:
        app.state.registry.import_file(to_csv_bytes(RANDOM_TOWN), "random.csv")
        assert client.get("/healthz").json()["stations"] == RNG_STATIONS
        yield client


@settings(max_examples=30)
@given(
    lon=st.floats(119.9, 120.45),
    lat=st.floats(30.0, 30.5),
    k=st.integers(1, 40),
    radius_m=st.none() | st.floats(100, 30_000),
    types=st.lists(st.sampled_from(STATION_TYPES), max_size=2, unique=True),
    amenities=st.lists(st.sampled_from(("hot_water", "microwave", "toilet")), max_size=2, unique=True),
    open_at=st.none() | st.sampled_from(sorted(HOURS_AT["24/7"])),
    include_unknown=st.booleans(),
    crs=st.sampled_from(("wgs84", "gcj02", "bd09")),
)
def test_nearby_equals_brute_force_haversine(
    random_client: TestClient,
    lon: float,
    lat: float,
    k: int,
    radius_m: float | None,
    types: list[str],
    amenities: list[str],
    open_at: str | None,
    include_unknown: bool,
    crs: str,
) -> None:
    qx, qy = transform(lon, lat, "wgs84", crs)
    params: dict[str, object] = {"lon": float(qx), "lat": float(qy), "k": k, "crs": crs}
    if radius_m is not None:
        params["radius_m"] = radius_m
    if types:
        params["types"] = ",".join(types)
    if amenities:
        params["amenities"] = ",".join(amenities)
    if open_at is not None:
        params["open_at"] = open_at
        params["include_unknown_hours"] = str(include_unknown).lower()
    body = nearby(random_client, **params)
    expected = brute_force(RANDOM_TOWN, lon, lat, k, radius_m, tuple(types), tuple(amenities), open_at, include_unknown)
    found = body["features"]
    everything = brute_force(
        RANDOM_TOWN, lon, lat, RNG_STATIONS, radius_m, tuple(types), tuple(amenities), open_at, include_unknown
    )
    eligible = {i for i, _ in everything}
    assert len(found) == len(expected)
    assert len({f["id"] for f in found}) == len(found)
    assert {f["id"] for f in found} <= eligible
    # rank by rank the same distances (ties may come in either order), each the station's true distance
    true_distance = [float(haversine_m(lon, lat, RANDOM_BY_ID[f["id"]].lon, RANDOM_BY_ID[f["id"]].lat)) for f in found]
    assert true_distance == pytest.approx([d for _, d in expected], abs=1e-3)
    assert [f["properties"]["distance_m"] for f in found] == pytest.approx(true_distance, abs=0.051)
    for feature in found:
        rec = RANDOM_BY_ID[feature["id"]]
        x, y = transform(rec.lon, rec.lat, "wgs84", crs)
        assert feature["geometry"]["coordinates"] == pytest.approx([float(x), float(y)], abs=1e-7)
        if open_at is not None:
            state = "closed" if rec.status == "temporarily_closed" else HOURS_AT[rec.hours][open_at]
            assert feature["properties"]["open_status"] == state
        elif rec.status == "temporarily_closed":
            assert feature["properties"]["open_status"] == "closed"


# ------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("params", "field_name", "value"),
    [
        ({"lat": 91}, "lat", "91"),
        ({"lon": -181}, "lon", "-181"),
        ({"lat": "nan"}, "lat", "nan"),
        ({"lon": "inf"}, "lon", "inf"),
        ({"lon": "abc"}, "lon", "abc"),
        ({"k": 0}, "k", "0"),
        ({"k": 101}, "k", "101"),
        ({"k": "ten"}, "k", "ten"),
        ({"radius_m": -5}, "radius_m", "-5"),
        ({"radius_m": 0}, "radius_m", "0"),
        ({"radius_m": 100_001}, "radius_m", "100001"),
        ({"types": "spaceship"}, "types", "spaceship"),
        ({"types": "outdoor_worker,spaceship"}, "types", "spaceship"),
        ({"amenities": "jacuzzi"}, "amenities", "jacuzzi"),
        ({"open_at": "yesterday"}, "open_at", "yesterday"),
        ({"open_at": "2026-13-01T09:00"}, "open_at", "2026-13-01T09:00"),
        ({"crs": "epsg3857"}, "crs", "epsg3857"),
        ({"crs": "gcj02", "position_crs": "gps"}, "position_crs", "gps"),
        ({"include_unknown_hours": "maybe"}, "include_unknown_hours", "maybe"),
    ],
)
def test_bad_nearby_input_names_field_and_value(town: TestClient, params: dict, field_name: str, value: str) -> None:
    response = town.get("/stations/nearby", params={"lon": P[0], "lat": P[1], **params})
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_value"
    entries = error_entries(response)
    matching = [e for e in entries if e["field"] == field_name]
    assert matching, entries
    assert same_value(matching[0]["value"], value), matching
    assert matching[0]["reason"]


@pytest.mark.parametrize("open_at", ["0001-01-01T00:00+14:00", "9999-12-31T23:59-12:00"])
def test_open_at_out_of_range_after_conversion_is_a_422(app: FastAPI, open_at: str) -> None:
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/stations/nearby", params={"lon": P[0], "lat": P[1], "open_at": open_at})
        assert response.status_code == 422
        (entry,) = error_entries(response)
        assert (entry["field"], entry["value"]) == ("open_at", open_at)


def test_open_at_now_keeps_round_the_clock_stations_and_drops_paused_ones(town: TestClient) -> None:
    found = ids(nearby(town, k=100, open_at="now"))
    assert "ALLDAY" in found and "FAR" in found
    assert not {"TEMP", "CLOSED", "UNKNOWN"} & set(found)
    assert "UNKNOWN" in ids(nearby(town, k=100, open_at="now", include_unknown_hours="true"))


def test_bad_types_and_amenities_list_the_valid_values(town: TestClient) -> None:
    (types_error,) = error_entries(town.get("/stations/nearby", params={"lon": 120, "lat": 30, "types": "spaceship"}))
    assert types_error["valid"] == list(STATION_TYPES)
    (amenity_error,) = error_entries(
        town.get("/stations/nearby", params={"lon": 120, "lat": 30, "amenities": "jacuzzi"})
    )
    assert "hot_water" in amenity_error["valid"] and "jacuzzi" not in amenity_error["valid"]
    (crs_error,) = error_entries(town.get("/stations/nearby", params={"lon": 120, "lat": 30, "crs": "epsg3857"}))
    assert all(name in crs_error["reason"] for name in ("wgs84", "gcj02", "bd09"))


def test_missing_coordinates_are_named(town: TestClient) -> None:
    entries = error_entries(town.get("/stations/nearby"))
    assert {e["field"] for e in entries} == {"lon", "lat"}


def test_unknown_station_is_404_not_found(town: TestClient) -> None:
    response = town.get("/stations/unknown-id")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found" and "unknown-id" in response.json()["detail"]


def test_unknown_route_and_wrong_method_are_json_errors(town: TestClient) -> None:
    missing = town.get("/no/such/route")
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    wrong = town.post("/stations/nearby")
    assert wrong.status_code == 405 and wrong.json()["error"] == "method_not_allowed"


# --------------------------------------------------------------------------------------------- /stations


def list_stations(client: TestClient, **params: object) -> tuple[dict, int]:
    response = client.get("/stations", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].split(";")[0] == GEOJSON
    body = response.json()
    assert body["type"] == "FeatureCollection" and body["total"] == int(response.headers["X-Total-Count"])
    return body, int(response.headers["X-Total-Count"])


def test_listing_everything_is_ordered_by_id_and_includes_closed_stations(town: TestClient) -> None:
    body, total = list_stations(town)
    assert total == len(TOWN) and ids(body) == sorted(BY_ID)
    for feature in body["features"]:
        rec = BY_ID[feature["id"]]
        assert feature["geometry"]["coordinates"] == pytest.approx([rec.lon, rec.lat], abs=1e-7)
        assert feature["properties"]["operating_status"] == rec.status


def test_bbox_selects_the_stations_inside_it(town: TestClient) -> None:
    west, south, east, north = 120.149, 30.2504, 120.151, 30.2515
    body, total = list_stations(town, bbox=f"{west},{south},{east},{north}")
    expected = sorted(r.id for r in TOWN if west <= r.lon <= east and south <= r.lat <= north)
    assert expected == ["SPLIT", "UNKNOWN"] and ids(body) == expected and total == 2


def test_bbox_in_gcj02_is_converted_and_answered_in_gcj02(town: TestClient) -> None:
    (gw, ge), (gs, gn) = transform([120.149, 120.151], [30.2504, 30.2515], "wgs84", "gcj02")
    body, _ = list_stations(town, bbox=f"{gw},{gs},{ge},{gn}", crs="gcj02")
    assert ids(body) == ["SPLIT", "UNKNOWN"] and body["coordinate_system"] == "gcj02"
    for feature in body["features"]:
        rec = BY_ID[feature["id"]]
        x, y = transform(rec.lon, rec.lat, "wgs84", "gcj02")
        assert feature["geometry"]["coordinates"] == pytest.approx([float(x), float(y)], abs=1e-7)
    # the same numbers read as WGS84 describe a box some 500 m away that holds neither station
    assert ids(list_stations(town, bbox=f"{gw},{gs},{ge},{gn}")[0]) == []


def test_adcode_filter_uses_the_real_district_polygons(town: TestClient, districts: Districts) -> None:
    body, total = list_stations(town, adcode="330106")
    located = districts.locate(np.array([r.lon for r in TOWN]), np.array([r.lat for r in TOWN]))
    expected = sorted(
        r.id for r, at in zip(TOWN, located, strict=True) if at >= 0 and districts.adcodes[at] == "330106"
    )
    assert "XIHU" in expected and "FAR" not in expected
    assert ids(body) == expected and total == len(expected)
    for feature in body["features"]:
        assert (feature["properties"]["adcode"], feature["properties"]["district"]) == ("330106", "西湖区")
    xihu = town.get("/stations/XIHU").json()
    assert (xihu["properties"]["adcode"], xihu["properties"]["district"]) == ("330106", "西湖区")


def test_unknown_adcode_lists_the_valid_ones(town: TestClient, districts: Districts) -> None:
    response = town.get("/stations", params={"adcode": "999999"})
    assert response.status_code == 422
    (entry,) = error_entries(response)
    assert (entry["field"], entry["value"]) == ("adcode", "999999")
    assert entry["valid"] == districts.adcodes and "330106" in entry["valid"]


@pytest.mark.parametrize(
    ("params", "field_name"),
    [
        ({"adcode": "abc"}, "adcode"),
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "120,31,121,30"}, "bbox"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"format": "xml"}, "format"),
        ({"types": "spaceship"}, "types"),
        ({"crs": "epsg3857"}, "crs"),
    ],
)
def test_bad_listing_input_names_the_field(town: TestClient, params: dict, field_name: str) -> None:
    response = town.get("/stations", params=params)
    assert response.status_code == 422
    assert field_name in {e["field"] for e in error_entries(response)}


def test_types_filter_on_listing(town: TestClient) -> None:
    body, total = list_stations(town, types="nursing_room")
    assert ids(body) == ["MOM", "UNKNOWN"] and total == 2
    body, _ = list_stations(town, types="driver_home,nursing_room")
    assert ids(body) == sorted(r.id for r in TOWN if {"driver_home", "nursing_room"} & set(r.types))


def test_limit_and_offset_page_through_everything(town: TestClient) -> None:
    pages = []
    for offset in range(0, 10, 3):
        body, total = list_stations(town, limit=3, offset=offset)
        assert total == len(TOWN) and (body["limit"], body["offset"]) == (3, offset)
        assert len(body["features"]) == min(3, max(0, len(TOWN) - offset))
        pages += ids(body)
    assert pages == sorted(BY_ID)


def test_csv_listing_has_a_bom_and_imports_back_to_the_same_stations(town: TestClient) -> None:
    response = town.get("/stations", params={"format": "csv"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["X-Total-Count"] == str(len(TOWN))
    assert response.content.startswith("\ufeff".encode())
    text = response.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("id,name,types,")
    parsed = parse_file(response.content, "export.csv")
    assert not parsed.problems
    assert parsed.stations == list(town.app.state.registry.snapshot().stations)
    assert {s.id: s.name for s in parsed.stations} == {r.id: r.name for r in TOWN}
    assert {s.id: (s.lon, s.lat) for s in parsed.stations} == {r.id: (r.lon, r.lat) for r in TOWN}
    assert {s.id: dict(s.amenities) for s in parsed.stations} == {r.id: r.amenities for r in TOWN}


def test_csv_listing_pages_and_converts(town: TestClient) -> None:
    response = town.get("/stations", params={"format": "csv", "types": "nursing_room", "crs": "gcj02", "limit": 1})
    assert response.headers["X-Total-Count"] == "2"
    parsed = parse_file(response.content, "export.csv")  # its crs column says gcj02: read back as WGS84
    assert [s.id for s in parsed.stations] == ["MOM"]
    mom = BY_ID["MOM"]
    assert (parsed.stations[0].lon, parsed.stations[0].lat) == pytest.approx((mom.lon, mom.lat), abs=1e-6)
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    gx, gy = transform(BY_ID["MOM"].lon, BY_ID["MOM"].lat, "wgs84", "gcj02")
    assert rows[0]["crs"] == "gcj02"
    assert (float(rows[0]["lon"]), float(rows[0]["lat"])) == pytest.approx((float(gx), float(gy)), abs=1e-7)


# ------------------------------------------------------------------------------- /stations/{id}, others


def test_one_station_is_a_feature_with_navigation_and_open_status(town: TestClient) -> None:
    expected_status = {"ALLDAY": "open", "UNKNOWN": "unknown", "TEMP": "closed", "CLOSED": "closed"}
    for station_id, status in expected_status.items():
        response = town.get(f"/stations/{station_id}")
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] == GEOJSON
        feature = response.json()
        rec = BY_ID[station_id]
        assert feature["type"] == "Feature" and feature["id"] == station_id
        assert feature["geometry"] == {"type": "Point", "coordinates": pytest.approx([rec.lon, rec.lat], abs=1e-7)}
        assert feature["properties"]["open_status"] == status
        assert feature["properties"]["opening_hours"] == (rec.hours or None)
        assert_navigation(feature, rec.lon, rec.lat)


@pytest.mark.parametrize("station_id", ["站-1", "a.b+c", "x:y@z", "HZ-SYN-00001"])
def test_ids_with_unusual_characters_can_be_fetched(client: TestClient, app: FastAPI, station_id: str) -> None:
    app.state.registry.import_file(to_csv_bytes([Rec(station_id, "站", ("outdoor_worker",), 120.15, 30.25)]), "i.csv")
    response = client.get(f"/stations/{station_id}")
    assert response.status_code == 200 and response.json()["id"] == station_id


def test_one_station_in_gcj02(town: TestClient) -> None:
    feature = town.get("/stations/SPLIT", params={"crs": "gcj02"}).json()
    x, y = transform(BY_ID["SPLIT"].lon, BY_ID["SPLIT"].lat, "wgs84", "gcj02")
    assert feature["geometry"]["coordinates"] == pytest.approx([float(x), float(y)], abs=1e-7)


def test_a_station_may_not_be_called_nearby_which_is_a_route(client: TestClient, app: FastAPI) -> None:
    data = to_csv_bytes([Rec("nearby", "附近", ("outdoor_worker",), 120.15, 30.25)])
    with pytest.raises(ImportRejected) as rejected:
        app.state.registry.import_file(data, "n.csv")
    (problem,) = rejected.value.problems
    assert (problem.field, problem.value) == ("id", "nearby") and "reserved" in problem.reason
    assert client.get("/healthz").json()["stations"] == 0


def test_hostile_names_round_trip_as_json_strings(town: TestClient) -> None:
    for station_id, name in (("ALLDAY", HOSTILE_IMG), ("MOM", HOSTILE_SCRIPT)):
        response = town.get(f"/stations/{station_id}")
        assert json.loads(response.text)["properties"]["name"] == name
        # the raw JSON is valid JSON with the quote escaped, not a string cut short
        assert json.dumps(name, ensure_ascii=False)[1:-1] in response.text
    by_id = {f["id"]: f["properties"]["name"] for f in nearby(town, k=100)["features"]}
    assert (by_id["ALLDAY"], by_id["MOM"]) == (HOSTILE_IMG, HOSTILE_SCRIPT)
    listed = {f["id"]: f["properties"]["name"] for f in list_stations(town)[0]["features"]}
    assert (listed["ALLDAY"], listed["MOM"]) == (HOSTILE_IMG, HOSTILE_SCRIPT)


def test_districts_have_real_boundaries_and_per_type_counts(town: TestClient, districts: Districts) -> None:
    response = town.get("/districts")
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0] == GEOJSON
    body = response.json()
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 13
    assert [f["properties"]["adcode"] for f in body["features"]] == districts.adcodes
    assert [f["properties"]["name"] for f in body["features"]] == districts.names
    assert "西湖区" in districts.names
    located = districts.locate(np.array([r.lon for r in TOWN]), np.array([r.lat for r in TOWN]))
    expected = {adcode: dict.fromkeys(STATION_TYPES, 0) for adcode in districts.adcodes}
    for rec, at in zip(TOWN, located, strict=True):
        for kind in rec.types:
            expected[districts.adcodes[at]][kind] += 1
    assert {f["properties"]["adcode"]: f["properties"]["stations"] for f in body["features"]} == expected
    assert sum(sum(c.values()) for c in expected.values()) == sum(len(r.types) for r in TOWN)
    for feature in body["features"]:
        assert feature["geometry"]["type"] in ("Polygon", "MultiPolygon")


def test_districts_with_no_stations_count_zero(client: TestClient) -> None:
    body = client.get("/districts").json()
    assert len(body["features"]) == 13
    assert all(f["properties"]["stations"] == dict.fromkeys(STATION_TYPES, 0) for f in body["features"])


def test_healthz_counts_stations_and_reports_the_version(town: TestClient) -> None:
    body = town.get("/healthz").json()
    assert body.pop("worker") == os.getpid()
    assert body == {"status": "ok", "stations": len(TOWN), "registry_version": town.app.state.registry.store.version()}
    assert body["registry_version"] == 1


def test_openapi_lists_the_endpoints(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ("/stations/nearby", "/stations", "/stations/{station_id}", "/districts", "/healthz"):
        assert "get" in paths[path], path
    names = {p["name"] for p in paths["/stations/nearby"]["get"]["parameters"]}
    assert {"lon", "lat", "k", "radius_m", "types", "amenities", "open_at", "include_unknown_hours", "crs"} <= names


# ------------------------------------------------------------------------------ writes and consistency


def test_an_import_with_one_bad_row_writes_nothing(town: TestClient) -> None:
    registry = town.app.state.registry
    version, count = registry.store.version(), registry.store.count()
    good = [Rec(f"NEW{i}", f"新站{i}", ("outdoor_worker",), 120.1 + i / 1000, 30.2) for i in range(5)]
    data = to_csv_bytes(good).decode() + "NEWBAD,坏站,outdoor_worker,120.1,north,,,,,\n"
    with pytest.raises(ImportRejected) as rejected:
        registry.import_file(data.encode(), "half.csv")
    assert [(p.row, p.field, p.value) for p in rejected.value.problems] == [(7, "lat", "north")]
    assert (registry.store.version(), registry.store.count()) == (version, count)
    health = town.get("/healthz").json()
    assert (health["stations"], health["registry_version"]) == (count, version)
    assert town.get("/stations/NEW0").status_code == 404


def healthz_once_refreshed(client: TestClient, app: FastAPI, version: int) -> dict[str, object]:
    """``/healthz`` of ``app`` once it serves ``version``: a request that notices a new registry version answers
    from the snapshot it has and starts a background refresh; wait for that refresh (by its count, not a clock)."""
    background = app.state.registry.background
    for _ in range(20):
        done = background.completed
        health: dict[str, object] = client.get("/healthz").json()
        if int(str(health["registry_version"])) >= version:
            return health
        background.wait(done + 1, timeout_s=10)
    raise AssertionError(f"{app} never served registry version {version}")


def test_a_write_through_one_app_is_seen_by_another_on_the_same_database(database_url: str) -> None:
    writer, reader = make_app(database_url, check_interval_s=0), make_app(database_url, check_interval_s=0)
    with TestClient(writer) as writer_client, TestClient(reader) as reader_client:
        assert reader_client.get("/healthz").json()["stations"] == 0
        writer.state.registry.import_file(to_csv_bytes(TOWN), "town.csv")
        assert writer_client.get("/healthz").json()["stations"] == len(TOWN)  # the writer sees its write at once
        health = healthz_once_refreshed(reader_client, reader, 1)
        assert health["stations"] == len(TOWN) and health["registry_version"] == 1
        assert reader_client.get("/stations/MOM").json()["properties"]["name"] == HOSTILE_SCRIPT
        assert ids(nearby(reader_client, k=100)) == [i for i, _ in brute_force(TOWN, *P, k=100)]


def test_another_apps_write_is_seen_once_the_check_interval_has_passed(database_url: str) -> None:
    interval = 0.3
    writer, reader = make_app(database_url, check_interval_s=0), make_app(database_url, check_interval_s=interval)
    with TestClient(writer), TestClient(reader) as reader_client:
        assert reader_client.get("/healthz").json()["stations"] == 0
        writer.state.registry.import_file(to_csv_bytes(TOWN[:3]), "town.csv")
        time.sleep(interval * 1.5)
        assert healthz_once_refreshed(reader_client, reader, 1)["stations"] == 3


def test_the_app_starts_without_a_district_file(database_url: str, tmp_path: Path) -> None:
    app = create_app(Settings(database_url=database_url, districts_path=tmp_path / "missing.geojson"))
    with TestClient(app) as client:
        app.state.registry.import_file(to_csv_bytes(TOWN), "town.csv")
        assert client.get("/districts").json() == {"type": "FeatureCollection", "features": []}
        assert client.get("/stations/XIHU").json()["properties"]["adcode"] is None
        assert math.isclose(nearby(client, k=1)["features"][0]["properties"]["distance_m"], 55.6, abs_tol=0.1)
