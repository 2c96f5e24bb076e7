"""The lane of the hottest routes (``api.hot_routes``) answers exactly what the FastAPI routes answer.

Two apps on one SQLite copy of the sample registry: the app as built, and the same app without the lane (its
``HotRoutes`` middleware taken out), so FastAPI's route answers everything. Random query strings — plain ones
the lane reads itself, and every kind of form it hands on (exponents, signs, spaces, repeated or missing
parameters, values out of bounds, unknown words, percent-encoding, hostile text) — must get the same status, the
same headers (but the request id) and the same body from both.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.hot_routes import HotRoutes
from api.routes.stations import nearby_lane
from stations.service import Service
from stations.settings import SAMPLE_DIR, Settings
from tests.bench_scripts import bench_module

AT = "at=2026-11-23T12:00"  # answers' open status at a fixed time: two requests a minute apart agree


@pytest.fixture(scope="module")
def clients(
    tmp_path_factory: pytest.TempPathFactory, sqlite_registry_template: Path
) -> Iterator[dict[str, TestClient]]:
    """``lane``: the app as built; ``route``: the same without the lane; on one copy of the sample registry."""
    path = tmp_path_factory.mktemp("hot") / "sample.sqlite3"
    shutil.copyfile(sqlite_registry_template, path)
    settings = Settings(database_url=f"sqlite:///{path}")
    registry = Service(settings).registry
    assert registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv").committed
    registry.store.engine.dispose()
    apps: dict[str, FastAPI] = {"lane": create_app(settings), "route": create_app(settings)}
    apps["route"].user_middleware = [m for m in apps["route"].user_middleware if m.cls is not HotRoutes]
    with TestClient(apps["lane"]) as lane, TestClient(apps["route"]) as route:
        yield {"lane": lane, "route": route}


def same_answer(clients: dict[str, TestClient], url: str) -> tuple[int, bytes]:
    """Status and body of ``url``, after checking both apps answer it alike."""
    lane, route = clients["lane"].get(url), clients["route"].get(url)
    assert (lane.status_code, lane.content) == (route.status_code, route.content), url
    strip = {"x-request-id"}
    assert [(k, v) for k, v in lane.headers.multi_items() if k not in strip] == [
        (k, v) for k, v in route.headers.multi_items() if k not in strip
    ]
    return lane.status_code, lane.content


NUMBER = st.one_of(
    st.floats(118.0, 121.0).map(lambda v: f"{v:.6f}"),
    st.sampled_from(["1e2", "+120.1", " 120.1", "120.1 ", "inf", "nan", "", "1_20.1", "0x10", "１２０", "-0", "200"]),
)
LAT = st.one_of(st.floats(29.0, 30.6).map(lambda v: f"{v:.6f}"), st.sampled_from(["91", "-90.0000001", "30,2", "3e1"]))
COUNT = st.one_of(st.integers(0, 60).map(str), st.sampled_from(["10.0", "1e1", "+5", "007", "-1", "99999999999", ""]))
ODD = st.sampled_from(["{{ 7*7 }}", "<script>", "\u202e", "distance\n", "%ZZ", "", "True", "1", "yes", "bogus"])
BOOL = st.sampled_from(["true", "false"]) | ODD
VALUES = {  # each parameter: its plausible values, and odd ones
    "lon": NUMBER, "lat": LAT, "k": COUNT, "radius_m": COUNT | st.sampled_from(["0", "2500.5", "1e3"]),
    "types": st.sampled_from(["outdoor_worker", "driver_home,nursing_room", "nursing_room"]) | ODD,
    "amenities": st.sampled_from(["hot_water", "hot_water,toilet", "microwave"]) | ODD,
    "open_at": st.sampled_from(["2026-11-23T12:00", "2026-11-23T23:30+08:00", "2026-11-23"]) | ODD,
    "include_unknown_hours": BOOL,
    "order": st.sampled_from(["distance", "open_first"]) | ODD,
    "crs": st.sampled_from(["wgs84", "gcj02", "bd09", "WGS84"]) | ODD,
    "position_crs": st.sampled_from(["wgs84", "gcj02", "bd09"]) | ODD,
    "mode": st.sampled_from(["ride", "walk", "drive", "fly"]) | ODD,
    "at": st.sampled_from(["2026-11-23T08:00", "2026-11-24T03:00"]) | ODD,
    "_": ODD, "LON": NUMBER,
}  # fmt: skip


@st.composite
def query_strings(draw: st.DrawFn) -> str:
    """A nearby query: usually plain, often with one odd part."""
    pairs = [("lon", draw(NUMBER)), ("lat", draw(LAT))]
    for name in draw(st.lists(st.sampled_from(sorted(VALUES)), max_size=5)):
        pairs.append((name, draw(VALUES[name])))
    if draw(st.booleans()):
        pairs = draw(st.permutations(pairs))
    if draw(st.integers(0, 5)) == 0:
        pairs = pairs[1:]  # a required parameter missing
    text = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    if all(k not in ("at", "open_at") for k, _ in pairs):
        text += f"&{AT}"
    return text


@settings(max_examples=150, deadline=None)
@given(query=query_strings())
def test_lane_and_route_answer_nearby_alike(clients: dict[str, TestClient], query: str) -> None:
    same_answer(clients, f"/stations/nearby?{query}")


def test_plain_queries_take_the_lane_and_odd_ones_the_route(clients: dict[str, TestClient]) -> None:
    app = clients["lane"].app

    def lane(query: str) -> bool:
        return nearby_lane({"query_string": query.encode(), "app": app}) is not None

    plain = "lon=120.16&lat=30.25&k=5&types=outdoor_worker&amenities=hot_water&open_at=now&crs=gcj02&mode=walk"
    assert lane(plain) and lane("lat=30.25&lon=120.16&_=17") and lane(f"lon=120.16&lat=30.25&{AT}")
    odd = ("k=1e1", "lat=30.3", "crs=mars", "k=100000", "at=soon", "radius_m=-1", "include_unknown_hours=1")
    assert not lane("lon=120.16") and not lane("lon=120.16&lat=91")
    for part in odd:
        assert not lane(f"lon=120.16&lat=30.25&{part}"), part
    status, body = same_answer(clients, f"/stations/nearby?{plain}")
    assert status == 200 and body.count(b'"type":"Feature"') == 5
    assert same_answer(clients, "/stations/nearby?lon=120.16&lat=30.25&k=1e1")[0] == 422


def test_lane_and_route_answer_healthz_alike(clients: dict[str, TestClient]) -> None:
    status, body = same_answer(clients, "/healthz")
    assert status == 200 and b'"stations":' in body
    assert clients["lane"].head("/healthz").status_code == 200


@pytest.mark.parametrize("encoding", ["identity", "gzip, br"])
def test_the_benchmarks_layered_floor_passes_the_nearby_answers_pipeline(
    clients: dict[str, TestClient], encoding: str
) -> None:
    """bench/load.py's bound of the nearby target (bench/floor_app.py ``--layers``) answers through every layer a
    nearby answer goes through: the same headers in the same order, the body compressed alike (the bare floor has
    two headers)."""
    layered_app = bench_module("floor_app").layered_app
    headers = {"accept-encoding": encoding, "origin": "https://union.example"}
    nearby = clients["lane"].get(f"/stations/nearby?lon=120.16&lat=30.25&k=10&{AT}", headers=headers)
    with TestClient(layered_app(freeze=False)) as floor:
        fixed = floor.get(f"/answer?bytes={len(nearby.content)}", headers=headers)
    assert nearby.status_code == fixed.status_code == 200
    varying = {"x-request-id", "content-length", "content-type", "etag"}
    assert [k for k in nearby.headers if k not in varying] == [k for k in fixed.headers if k not in varying]
    assert nearby.headers.get("content-encoding") == fixed.headers.get("content-encoding")
