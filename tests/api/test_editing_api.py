"""Editing over HTTP: who may write (every write endpoint against every kind of credential), optimistic
concurrency with ETag / If-Match (412, 428), the clear 4xx of bad edits, history, freshness, and the nearest
index seeing an edit at once.

The auth matrix and the request-level cases run on SQLite; concurrent edits run on both stores.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from keeper_support import GEOJSON, ORIGIN, Keeper, at_once, csv_bytes, keeper_app, make_app
from sqlalchemy import event

from geo.crs import transform
from geo.distance import haversine_m
from stations import hours
from stations.accounts import ROLES


@pytest.fixture
def keeper(tmp_path: Path) -> Iterator[Keeper]:
    with keeper_app(f"sqlite:///{tmp_path / 'keeper.sqlite3'}") as running:
        yield running


NEW_STATION = {"name": "湖滨街道工会驿站", "types": ["outdoor_worker"], "lon": 120.1612, "lat": 30.2519}

# ---------------------------------------------------------------------------------------------- auth matrix

_serial = itertools.count()


def fresh_station(keeper: Keeper) -> str:
    station_id = f"M{next(_serial)}"
    keeper.add(station_id)
    return station_id


def fresh_report(keeper: Keeper) -> int:
    return keeper.app.state.reports.submit(fresh_station(keeper), "closed", f"client-{next(_serial)}").id


def fresh_id(_keeper: Keeper) -> str:
    return f"NEW{next(_serial)}"


@dataclass(frozen=True)
class Endpoint:
    """One protected endpoint: the least role it needs, its success status, whether success writes, how to make a
    fresh target for it (written before the fingerprint is taken) and how to call it."""

    name: str
    role: str
    status: int
    writes: bool
    prepare: Callable[[Keeper], Any]
    send: Callable[[Keeper, Any, dict[str, str]], httpx.Response]


def _import(keeper: Keeper, station_id: str, auth: dict[str, str]) -> httpx.Response:
    data = csv_bytes("id,name,types,lon,lat", [f"{station_id},导入驿站,outdoor_worker,120.17,30.28"])
    return keeper.client.post("/imports", files={"file": ("union.csv", data, "text/csv")}, headers=auth)


ENDPOINTS = [
    Endpoint(
        "POST /stations", "editor", 201, True, fresh_id,
        lambda k, i, h: k.client.post("/stations", json={"id": i, **NEW_STATION}, headers=h),
    ),
    Endpoint(
        "PATCH /stations/{id}", "editor", 200, True, fresh_station,
        lambda k, i, h: k.client.patch(f"/stations/{i}", json={"phone": "0571-1"}, headers={**h, "If-Match": '"1"'}),
    ),
    Endpoint(
        "DELETE /stations/{id}", "editor", 204, True, fresh_station,
        lambda k, i, h: k.client.delete(f"/stations/{i}", headers={**h, "If-Match": '"1"'}),
    ),
    Endpoint(
        "DELETE /stations/{id}?hard=true", "admin", 204, True, fresh_station,
        lambda k, i, h: k.client.delete(f"/stations/{i}", params={"hard": "true"}, headers={**h, "If-Match": '"1"'}),
    ),
    Endpoint(
        "POST /stations/{id}/verify", "editor", 200, True, fresh_station,
        lambda k, i, h: k.client.post(f"/stations/{i}/verify", headers={**h, "If-Match": '"1"'}),
    ),
    Endpoint("POST /imports", "editor", 200, True, fresh_id, _import),
    Endpoint(
        "PATCH /reports/{id}", "editor", 200, True, fresh_report,
        lambda k, i, h: k.client.patch(f"/reports/{i}", json={"status": "resolved"}, headers=h),
    ),
    Endpoint(
        "GET /reports", "viewer", 200, False, lambda _k: None,
        lambda k, _i, h: k.client.get("/reports", headers=h),
    ),
    Endpoint(
        "GET /stations/{id}/history", "viewer", 200, False, fresh_station,
        lambda k, i, h: k.client.get(f"/stations/{i}/history", headers=h),
    ),
]  # fmt: skip

UNAUTHENTICATED: dict[str, Callable[[Keeper], dict[str, str]]] = {
    "no Authorization header": lambda _k: {},
    "Basic credentials": lambda _k: {"Authorization": "Basic ZWRpdG9yOnNlY3JldA=="},
    "Bearer without a token": lambda _k: {"Authorization": "Bearer"},
    "a token without the Bearer scheme": lambda k: {"Authorization": k.tokens["editor"]},
    "an unknown token": lambda _k: {"Authorization": "Bearer yzt_not-a-token-anyone-was-given"},
    "a revoked token": lambda k: k.auth("revoked"),
    "an expired token": lambda k: k.auth("expired"),
    "the admin token with a typo": lambda k: {"Authorization": f"Bearer {k.tokens['bootstrap']}x"},
}
AUTHENTICATED: dict[str, tuple[str, Callable[[Keeper], dict[str, str]]]] = {
    "viewer": ("viewer", lambda k: k.auth("viewer")),
    "editor": ("editor", lambda k: k.auth("editor")),
    "editor, lower-case scheme": ("editor", lambda k: {"Authorization": f"bearer {k.tokens['editor']}"}),
    "admin": ("admin", lambda k: k.auth("admin")),
    "bootstrap admin (YIZHAN_ADMIN_TOKEN)": ("admin", lambda k: k.auth("bootstrap")),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_every_protected_endpoint_against_every_kind_of_credential(keeper: Keeper, endpoint: Endpoint) -> None:
    """401 (with WWW-Authenticate) without a usable token, 403 with too low a role — and then nothing written —
    and success from the needed role up."""
    for credential, headers in UNAUTHENTICATED.items():
        target = endpoint.prepare(keeper)
        before = keeper.written()
        response = endpoint.send(keeper, target, headers(keeper))
        assert response.status_code == 401, (credential, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer"), credential
        assert response.json()["error"] == "unauthorized", credential
        assert keeper.written() == before, credential
    for credential, (role, headers) in AUTHENTICATED.items():
        target = endpoint.prepare(keeper)
        before = keeper.written()
        response = endpoint.send(keeper, target, headers(keeper))
        if ROLES.index(role) < ROLES.index(endpoint.role):
            assert response.status_code == 403, (credential, response.text)
            assert response.json()["error"] == "forbidden" and "WWW-Authenticate" not in response.headers
            assert keeper.written() == before, credential
        else:
            assert response.status_code == endpoint.status, (credential, response.text)
            assert (keeper.written() != before) is endpoint.writes, credential


def test_each_write_is_recorded_under_the_name_of_its_token(keeper: Keeper) -> None:
    keeper.add("A")
    keeper.client.patch("/stations/A", json={"phone": "1"}, headers=keeper.auth("editor", If_Match='"1"'))
    keeper.client.post("/stations/A/verify", headers=keeper.auth("admin", If_Match='"2"'))
    keeper.client.delete("/stations/A", headers=keeper.auth("bootstrap", If_Match='"3"'))
    history = keeper.client.get("/stations/A/history", headers=keeper.auth("viewer")).json()["history"]
    assert [(h["revision"], h["action"], h["actor"]) for h in history] == [
        (1, "create", "set-up"),
        (2, "update", "editor token"),
        (3, "verify", "admin token"),
        (4, "delete", "admin (YIZHAN_ADMIN_TOKEN)"),
    ]


def test_a_token_revoked_while_in_use_stops_working_at_once(keeper: Keeper) -> None:
    secret, _ = keeper.app.state.accounts.create("night shift", "editor")
    headers = {"Authorization": f"Bearer {secret}"}
    assert keeper.client.get("/reports", headers=headers).status_code == 200
    keeper.app.state.accounts.revoke("night shift")
    response = keeper.client.get("/reports", headers=headers)
    assert response.status_code == 401 and "revoked" in response.json()["detail"]


def test_reading_stations_needs_no_token(keeper: Keeper) -> None:
    keeper.add("A")
    for path in ("/stations/A", "/stations", "/stations.csv", "/stations/nearby?lon=120.16&lat=30.27"):
        assert keeper.client.get(path).status_code == 200, path


# ---------------------------------------------------------------------------------------------- ETag / If-Match


def test_an_edit_needs_the_current_etag(keeper: Keeper) -> None:
    keeper.add("A", phone="0571-0")
    response = keeper.client.get("/stations/A")
    assert response.headers["ETag"] == '"1"' and response.json()["properties"]["revision"] == 1

    changed = keeper.client.patch("/stations/A", json={"phone": "0571-1"}, headers=keeper.auth(If_Match='"1"'))
    assert changed.status_code == 200 and changed.headers["ETag"] == '"2"'
    assert changed.headers["content-type"].startswith(GEOJSON)
    assert changed.json()["properties"]["phone"] == "0571-1" and changed.json()["properties"]["revision"] == 2

    before = keeper.written()
    stale = keeper.client.patch("/stations/A", json={"phone": "0571-X"}, headers=keeper.auth(If_Match='"1"'))
    assert stale.status_code == 412
    assert stale.json()["error"] == "stale_revision"
    assert (stale.json()["detail"]["expected"], stale.json()["detail"]["current"]) == (1, 2)
    missing = keeper.client.patch("/stations/A", json={"phone": "0571-X"}, headers=keeper.auth())
    assert missing.status_code == 428 and missing.json()["error"] == "revision_required"
    for verb in ("post", "delete"):
        path = "/stations/A/verify" if verb == "post" else "/stations/A"
        assert getattr(keeper.client, verb)(path, headers=keeper.auth()).status_code == 428
        assert getattr(keeper.client, verb)(path, headers=keeper.auth(If_Match='"1"')).status_code == 412
    assert keeper.written() == before
    assert keeper.client.get("/stations/A").json()["properties"]["phone"] == "0571-1"


@pytest.mark.parametrize(("if_match", "status"), [('W/"1"', 200), ("*", 200), (' "1" ', 200), ('"01"', 200)])
def test_if_match_accepts_weak_and_any_etags(keeper: Keeper, if_match: str, status: int) -> None:
    keeper.add("A")
    response = keeper.client.patch("/stations/A", json={"phone": "1"}, headers=keeper.auth(If_Match=if_match))
    assert response.status_code == status, response.text


@pytest.mark.parametrize("if_match", ["1", "abc", '"1", "2"', '"-1"', '"1'])
def test_a_malformed_if_match_is_a_422_naming_the_header(keeper: Keeper, if_match: str) -> None:
    keeper.add("A")
    before = keeper.written()
    response = keeper.client.patch("/stations/A", json={"phone": "1"}, headers=keeper.auth(If_Match=if_match))
    assert response.status_code == 422 and response.json()["detail"][0]["field"] == "If-Match"
    assert keeper.written() == before


def test_unknown_stations_are_404(keeper: Keeper) -> None:
    auth = keeper.auth("admin", If_Match='"1"')
    assert keeper.client.patch("/stations/NOPE", json={"phone": "1"}, headers=auth).status_code == 404
    assert keeper.client.delete("/stations/NOPE", headers=auth).status_code == 404
    assert keeper.client.delete("/stations/NOPE", params={"hard": True}, headers=auth).status_code == 404
    assert keeper.client.post("/stations/NOPE/verify", headers=auth).status_code == 404
    assert keeper.client.get("/stations/NOPE/history", headers=auth).status_code == 404


# ---------------------------------------------------------------------------------------------- create, patch, delete


def test_create_returns_the_station_its_location_and_etag(keeper: Keeper) -> None:
    response = keeper.client.post("/stations", json={"id": "HB-1", **NEW_STATION}, headers=keeper.auth())
    assert response.status_code == 201
    assert response.headers["Location"] == "/stations/HB-1" and response.headers["ETag"] == '"1"'
    properties = response.json()["properties"]
    assert (properties["adcode"], properties["district"]) == ("330102", "上城区")  # from the real polygons
    assert properties["stale"] is True  # nobody has verified it yet
    again = keeper.client.post("/stations", json={"id": "HB-1", **NEW_STATION}, headers=keeper.auth())
    assert again.status_code == 409 and again.json()["error"] == "conflict"


def test_create_without_an_id_makes_a_stable_one(keeper: Keeper) -> None:
    first = keeper.client.post("/stations", json=NEW_STATION, headers=keeper.auth())
    assert first.status_code == 201 and first.json()["id"].startswith("ST-")
    again = keeper.client.post("/stations", json=NEW_STATION, headers=keeper.auth())
    assert again.status_code == 409  # the same name at the same place is the same station


def test_coordinates_in_gcj02_are_stored_in_wgs84(keeper: Keeper) -> None:
    gcj_lon, gcj_lat = (float(v) for v in transform(NEW_STATION["lon"], NEW_STATION["lat"], "wgs84", "gcj02"))
    body = {**NEW_STATION, "id": "G", "lon": gcj_lon, "lat": gcj_lat}
    response = keeper.client.post("/stations", params={"crs": "gcj02"}, json=body, headers=keeper.auth())
    assert response.status_code == 201
    stored = keeper.app.state.registry.versioned("G")[0]
    assert float(haversine_m(stored.lon, stored.lat, NEW_STATION["lon"], NEW_STATION["lat"])) < 0.5
    shown = response.json()["geometry"]["coordinates"]
    assert shown == pytest.approx([gcj_lon, gcj_lat], abs=1e-6)  # answered in the crs asked


def test_a_move_in_gcj02_needs_both_coordinates(keeper: Keeper) -> None:
    """A datum shift moves lon and lat together: one of them alone cannot be converted, so it is refused."""
    keeper.add("A")
    before = keeper.written()
    gcj_lon, gcj_lat = (float(v) for v in transform(120.17, 30.28, "wgs84", "gcj02"))
    for patch in ({"lon": gcj_lon}, {"lat": gcj_lat}):
        response = keeper.client.patch(
            "/stations/A", params={"crs": "gcj02"}, json=patch, headers=keeper.auth(If_Match="*")
        )
        assert response.status_code == 422 and response.json()["detail"][0]["field"] in patch
    assert keeper.written() == before
    both = {"lon": gcj_lon, "lat": gcj_lat}
    response = keeper.client.patch("/stations/A", params={"crs": "gcj02"}, json=both, headers=keeper.auth(If_Match="*"))
    assert response.status_code == 200
    stored = keeper.app.state.registry.versioned("A")[0]
    assert float(haversine_m(stored.lon, stored.lat, 120.17, 30.28)) < 0.5
    wgs = keeper.client.patch("/stations/A", json={"lon": 120.18}, headers=keeper.auth(If_Match="*"))
    assert wgs.status_code == 200 and wgs.json()["geometry"]["coordinates"][0] == 120.18  # WGS84: one is fine


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**NEW_STATION, "types": ["bakery"]}, "types.0"),
        ({**NEW_STATION, "lat": 95}, "lat"),
        ({**NEW_STATION, "opening_hours": "whenever"}, "opening_hours"),
        ({**NEW_STATION, "revision": 3}, "revision"),
        ({key: value for key, value in NEW_STATION.items() if key != "name"}, "name"),
        ({**NEW_STATION, "id": "nearby"}, "id"),
    ],
)
def test_invalid_stations_are_422_naming_the_field(keeper: Keeper, body: dict, field: str) -> None:
    before = keeper.written()
    response = keeper.client.post("/stations", json=body, headers=keeper.auth())
    assert response.status_code == 422, response.text
    assert field in [entry["field"] for entry in response.json()["detail"]]
    assert keeper.written() == before


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"name": None}, "name"),
        ({"lon": "east"}, "lon"),
        ({"amenities": {"hot_water": "maybe"}}, "amenities.hot_water"),
    ],
)
def test_invalid_patches_are_422_and_change_nothing(keeper: Keeper, patch: dict, field: str) -> None:
    keeper.add("A")
    before = keeper.written()
    response = keeper.client.patch("/stations/A", json=patch, headers=keeper.auth(If_Match='"1"'))
    assert response.status_code == 422 and field in [e["field"] for e in response.json()["detail"]]
    assert keeper.written() == before


@pytest.mark.parametrize("body", [b"[1, 2]", b"null", b'"phone"', b"{not json", b""])
def test_a_patch_that_is_not_a_json_object_is_422(keeper: Keeper, body: bytes) -> None:
    keeper.add("A")
    headers = keeper.auth(If_Match='"1"', **{"Content_Type": "application/merge-patch+json"})
    response = keeper.client.patch("/stations/A", content=body, headers=headers)
    assert response.status_code == 422, response.text


def test_a_patch_may_say_it_is_a_merge_patch(keeper: Keeper) -> None:
    keeper.add("A")
    headers = keeper.auth(If_Match='"1"', Content_Type="application/merge-patch+json")
    response = keeper.client.patch("/stations/A", content=b'{"phone": "0571-1"}', headers=headers)
    assert response.status_code == 200 and response.json()["properties"]["phone"] == "0571-1"


def test_a_patch_is_an_rfc_7396_merge_patch(keeper: Keeper) -> None:
    keeper.add("A", amenities={"hot_water": "yes", "wifi": "no"}, phone="0571-0", host="市总工会")
    patch = {"amenities": {"wifi": None, "toilet": "yes"}, "phone": None, "opening_hours": "24/7"}
    response = keeper.client.patch("/stations/A", json=patch, headers=keeper.auth(If_Match='"1"'))
    properties = response.json()["properties"]
    assert properties["amenities"] == {"hot_water": "yes", "toilet": "yes"}
    assert (properties["phone"], properties["host"], properties["opening_hours"]) == (None, "市总工会", "24/7")
    history = keeper.client.get("/stations/A/history", headers=keeper.auth("viewer")).json()["history"]
    assert history[-1]["changes"] == {
        "amenities": [{"hot_water": "yes", "wifi": "no"}, {"hot_water": "yes", "toilet": "yes"}],
        "opening_hours": [None, "24/7"],
        "phone": ["0571-0", None],
    }


def test_an_edit_that_changes_nothing_keeps_the_etag(keeper: Keeper) -> None:
    keeper.add("A", phone="1")
    before = keeper.written()
    response = keeper.client.patch("/stations/A", json={"phone": "1"}, headers=keeper.auth(If_Match='"1"'))
    assert response.status_code == 200 and response.headers["ETag"] == '"1"'
    assert keeper.written() == before


def test_a_closed_station_disappears_for_riders_and_can_be_reopened(keeper: Keeper) -> None:
    keeper.add("A", opening_hours="24/7")
    keeper.add("B", lon=ORIGIN[0] + 0.01, opening_hours="24/7")
    near = {"lon": ORIGIN[0], "lat": ORIGIN[1], "k": 5}
    assert [f["id"] for f in keeper.client.get("/stations/nearby", params=near).json()["features"]] == ["A", "B"]
    assert keeper.client.delete("/stations/A", headers=keeper.auth(If_Match='"1"')).status_code == 204
    assert [f["id"] for f in keeper.client.get("/stations/nearby", params=near).json()["features"]] == ["B"]
    closed = keeper.client.get("/stations/A")
    assert closed.json()["properties"]["operating_status"] == "closed" and closed.headers["ETag"] == '"2"'
    before = keeper.written()
    assert keeper.client.delete("/stations/A", headers=keeper.auth(If_Match='"2"')).status_code == 204
    assert keeper.written() == before  # closing a closed station changes nothing
    reopen = keeper.client.patch("/stations/A", json={"operating_status": "normal"}, headers=keeper.auth(If_Match="*"))
    assert reopen.status_code == 200
    assert [f["id"] for f in keeper.client.get("/stations/nearby", params=near).json()["features"]] == ["A", "B"]
    history = keeper.client.get("/stations/A/history", headers=keeper.auth("viewer")).json()["history"]
    assert [h["action"] for h in history] == ["create", "delete", "restore"]


def test_a_hard_delete_removes_the_station_and_keeps_its_history(keeper: Keeper) -> None:
    keeper.add("A")
    assert (
        keeper.client.delete("/stations/A", params={"hard": "true"}, headers=keeper.auth("editor")).status_code == 403
    )
    response = keeper.client.delete("/stations/A", params={"hard": "true"}, headers=keeper.auth("admin", If_Match="*"))
    assert response.status_code == 204
    assert keeper.client.get("/stations/A").status_code == 404
    history = keeper.client.get("/stations/A/history", headers=keeper.auth("viewer")).json()
    assert history["station"] == "A" and [h["action"] for h in history["history"]] == ["create", "purge"]
    assert (
        history["history"][1]["changes"]["name"] == ["测试驿站A", None]
        and history["history"][1]["actor"] == "admin token"
    )
    again = keeper.client.post("/stations", json={**NEW_STATION, "id": "A"}, headers=keeper.auth())
    assert again.status_code == 201 and again.headers["ETag"] == '"3"'  # never an ETag the old station had


def test_bodies_over_a_megabyte_are_413_before_anything_is_parsed(keeper: Keeper) -> None:
    keeper.add("A")
    huge = {"id": "H", **NEW_STATION, "address": "x" * 1_100_000}
    before = keeper.written()
    response = keeper.client.post("/stations", json=huge, headers=keeper.auth())
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    patch = keeper.client.patch("/stations/A", json={"address": "y" * 1_100_000}, headers=keeper.auth(If_Match="*"))
    assert patch.status_code == 413
    assert keeper.written() == before


# ---------------------------------------------------------------------------------------------- the index


def test_the_nearest_index_reflects_a_committed_edit_at_once(keeper: Keeper) -> None:
    keeper.add("A", lon=ORIGIN[0], lat=ORIGIN[1] + 0.001)  # ~111 m north
    keeper.add("B", lon=ORIGIN[0], lat=ORIGIN[1] + 0.002)  # ~222 m north
    near = {"lon": ORIGIN[0], "lat": ORIGIN[1], "k": 2}
    assert [f["id"] for f in keeper.client.get("/stations/nearby", params=near).json()["features"]] == ["A", "B"]
    moved = {"lon": ORIGIN[0], "lat": ORIGIN[1] + 0.01}  # ~1.1 km north
    assert keeper.client.patch("/stations/A", json=moved, headers=keeper.auth(If_Match='"1"')).status_code == 200
    features = keeper.client.get("/stations/nearby", params=near).json()["features"]
    assert [f["id"] for f in features] == ["B", "A"]
    expected = float(haversine_m(ORIGIN[0], ORIGIN[1], moved["lon"], moved["lat"]))
    assert features[1]["properties"]["distance_m"] == pytest.approx(expected, abs=0.1)
    assert keeper.client.delete("/stations/B", params={"hard": True}, headers=keeper.auth("admin", If_Match="*"))
    assert [f["id"] for f in keeper.client.get("/stations/nearby", params=near).json()["features"]] == ["A"]


# ---------------------------------------------------------------------------------------------- freshness


def test_stale_means_not_verified_within_the_configured_days(tmp_path: Path) -> None:
    today = hours.today()
    with keeper_app(f"sqlite:///{tmp_path / 'stale.sqlite3'}", stale_after_days=30) as keeper:
        for station_id, age in (("NEVER", None), ("OLD", 31), ("EDGE", 30), ("FRESH", 3)):
            keeper.add(station_id, verified_at=None if age is None else today - timedelta(days=age))
        stale = {i: keeper.client.get(f"/stations/{i}").json()["properties"]["stale"] for i in ("NEVER", "OLD", "EDGE")}
        assert stale == {"NEVER": True, "OLD": True, "EDGE": False}
        verified = keeper.client.post("/stations/OLD/verify", headers=keeper.auth(If_Match='"1"'))
        assert verified.status_code == 200 and verified.headers["ETag"] == '"2"'
        properties = verified.json()["properties"]
        assert (properties["verified_at"], properties["stale"]) == (today.isoformat(), False)
        history = keeper.client.get("/stations/OLD/history", headers=keeper.auth("viewer")).json()["history"]
        assert history[-1]["action"] == "verify" and history[-1]["actor"] == "editor token"
        assert history[-1]["changes"]["verified_at"][1] == today.isoformat()


def test_stations_can_be_listed_by_staleness(tmp_path: Path) -> None:
    today = hours.today()
    with keeper_app(f"sqlite:///{tmp_path / 'stale.sqlite3'}", stale_after_days=30) as keeper:
        keeper.add("OLD", verified_at=today - timedelta(days=100))
        keeper.add("NEW", verified_at=today)
        keeper.add("NEVER")
        for stale, expected in (("true", ["NEVER", "OLD"]), ("false", ["NEW"]), (None, ["NEVER", "NEW", "OLD"])):
            listed = keeper.client.get("/stations", params={"stale": stale} if stale else {}).json()
            assert [f["id"] for f in listed["features"]] == expected and listed["total"] == len(expected)
            assert all(f["properties"]["stale"] is (f["id"] != "NEW") for f in listed["features"])
        assert keeper.client.post("/stations/OLD/verify", headers=keeper.auth(If_Match="*")).status_code == 200
        listed = keeper.client.get("/stations", params={"stale": "true"}).json()
        assert [f["id"] for f in listed["features"]] == ["NEVER"]  # the listing sees the verification at once


# ---------------------------------------------------------------------------------------------- concurrency


def sender(client: TestClient, verb: str, body: dict, headers: dict[str, str]) -> Callable[[], httpx.Response]:
    """A call that sends ``body`` to station A (``patch``) or to /stations (``post``)."""
    path = "/stations/A" if verb == "patch" else "/stations"
    return lambda: getattr(client, verb)(path, json=body, headers=headers)


@pytest.mark.parametrize("rounds", [8])
def test_two_editors_with_the_same_etag_exactly_one_wins(database_url: str, rounds: int) -> None:
    """Two server processes (two apps on one database), one editor each, both sending the ETag they read at
    the same moment: one change is applied, the other gets 412 and changes nothing — round after round."""
    first, second = make_app(database_url), make_app(database_url)
    with TestClient(first) as client_a, TestClient(second) as client_b:
        secret, _ = first.state.accounts.create("editor", "editor")
        headers = {"Authorization": f"Bearer {secret}"}
        assert client_a.post("/stations", json={"id": "A", **NEW_STATION}, headers=headers).status_code == 201
        for round_number in range(rounds):
            etag = client_b.get("/stations/A").headers["ETag"]
            edits = {
                "甲": (client_a, {"phone": f"0571-{round_number}-a", "name": f"甲 {round_number}"}),
                "乙": (client_b, {"phone": f"0571-{round_number}-b", "name": f"乙 {round_number}"}),
            }
            responses = at_once({name: sender(client, "patch", patch, {**headers, "If-Match": etag})
                                 for name, (client, patch) in edits.items()})  # fmt: skip
            assert sorted(r.status_code for r in responses.values()) == [200, 412], {
                k: r.text for k, r in responses.items()
            }
            winner = next(name for name, r in responses.items() if r.status_code == 200)
            loser = next(name for name in edits if name != winner)
            assert responses[loser].json()["error"] == "stale_revision"
            stored = client_b.get("/stations/A").json()["properties"]
            assert (stored["name"], stored["phone"]) == (edits[winner][1]["name"], edits[winner][1]["phone"])
            assert stored["revision"] == int(etag.strip('"')) + 1
        history = first.state.registry.history("A")
        assert [e.revision for e in history] == list(range(1, rounds + 2))  # one entry per round, none lost


def test_two_creates_of_one_id_at_once_make_one_station(database_url: str) -> None:
    first, second = make_app(database_url), make_app(database_url)
    with TestClient(first) as client_a, TestClient(second) as client_b:
        secret, _ = first.state.accounts.create("editor", "editor")
        headers = {"Authorization": f"Bearer {secret}"}
        responses = at_once({name: sender(client, "post", {**NEW_STATION, "id": "A", "name": name}, headers)
                             for name, client in (("甲", client_a), ("乙", client_b))})  # fmt: skip
        statuses = [r.status_code for r in responses.values()]
        assert sorted(statuses) == [201, 409]
        assert [e.action for e in first.state.registry.history("A")] == ["create"]


def test_an_edit_with_if_match_any_keeps_an_edit_that_landed_meanwhile(keeper: Keeper) -> None:
    keeper.add("A")
    reader = threading.get_ident()
    armed = [True]

    def other_editor() -> None:
        keeper.app.state.registry.update("A", {"host": "市总工会"}, "other editor")

    @event.listens_for(keeper.store.engine, "after_cursor_execute")
    def interleave(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if armed[0] and threading.get_ident() != reader and "FROM stations" in statement:
            armed[0] = False  # the request has read the station; another editor's change commits now
            writer = threading.Thread(target=other_editor)
            writer.start()
            writer.join()

    response = keeper.client.patch("/stations/A", json={"phone": "0571-1"}, headers=keeper.auth(If_Match="*"))
    event.remove(keeper.store.engine, "after_cursor_execute", interleave)
    assert response.status_code == 200 and not armed[0]
    stored = keeper.app.state.registry.versioned("A")[0]
    assert (stored.phone, stored.host) == ("0571-1", "市总工会")
