"""Riders' reports over HTTP: anyone may report a station (no token), a client gets a few an hour (429 with
Retry-After, counted in the database so every server process shares the count, bursts included), editors list
and resolve them once (409 the second time). The rate limit runs on both stores; the rest on SQLite.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from keeper_support import Keeper, at_once, keeper_app, make_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from geo.crs import transform
from geo.distance import haversine_m
from stations.errors import InvalidValue
from stations.model import Station
from stations.reports import Reports
from stations.store import ReportRow


@pytest.fixture
def keeper(tmp_path: Path) -> Iterator[Keeper]:
    with keeper_app(f"sqlite:///{tmp_path / 'reports.sqlite3'}", reports_per_hour=3) as running:
        running.add("A")
        yield running


def report(client: TestClient, station_id: str = "A", **body: object) -> httpx.Response:
    return client.post(f"/stations/{station_id}/reports", json={"kind": "closed", **body})


def listed(keeper: Keeper, **params: object) -> list[dict]:
    response = keeper.client.get("/reports", params=params, headers=keeper.auth("viewer"))
    assert response.status_code == 200, response.text
    return response.json()["reports"]


def test_a_rider_reports_a_closed_station_without_a_token(keeper: Keeper) -> None:
    response = report(keeper.client, message="门锁着，贴了停用通知")
    assert response.status_code == 201
    body = response.json()
    assert (body["station_id"], body["kind"], body["status"]) == ("A", "closed", "open")
    (shown,) = listed(keeper)
    assert shown["id"] == body["id"] and shown["message"] == "门锁着，贴了停用通知"
    assert shown["resolved_by"] is None and datetime.fromisoformat(shown["created_at"]).tzinfo is not None
    assert not {"client", "address", "ip"} & set(shown)  # who reported is never shown


def test_a_moved_station_report_keeps_the_position_in_wgs84(keeper: Keeper) -> None:
    lon, lat = (float(v) for v in transform(120.17, 30.28, "wgs84", "gcj02"))
    response = keeper.client.post(
        "/stations/A/reports", params={"crs": "gcj02"}, json={"kind": "moved", "lon": lon, "lat": lat}
    )
    assert response.status_code == 201
    (shown,) = listed(keeper)
    assert float(haversine_m(shown["lon"], shown["lat"], 120.17, 30.28)) < 0.5


def test_a_report_for_an_unknown_station_is_404_and_stores_nothing(keeper: Keeper) -> None:
    before = keeper.written()
    response = report(keeper.client, "NOPE")
    assert response.status_code == 404 and response.json()["error"] == "not_found"
    assert keeper.written() == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "haunted"}, "kind"),
        ({"kind": "other"}, "message"),
        ({"kind": "other", "message": "   "}, "message"),
        ({"kind": "closed", "message": "x" * 2001}, "message"),
        ({"kind": "closed", "message": "a\x00b"}, "message"),
        ({"kind": "moved", "lon": 200, "lat": 30}, "lon"),
        ({"kind": "closed", "who": "me"}, "who"),
        ({"kind": "moved", "lon": 120.17}, "lat"),  # a position needs both coordinates
        ({"kind": "moved", "lat": 30.27}, "lon"),
    ],
)
def test_bad_reports_are_422_naming_the_field(keeper: Keeper, body: dict, field: str) -> None:
    before = keeper.written()
    response = keeper.client.post("/stations/A/reports", json=body)
    assert response.status_code == 422, response.text
    assert field in [entry["field"] for entry in response.json()["detail"]]
    assert keeper.written() == before


def test_the_hourly_allowance_must_allow_a_report(keeper: Keeper) -> None:
    for per_hour in (0, -1):
        with pytest.raises(InvalidValue, match="reports_per_hour"):
            Reports(keeper.store, per_hour)


def test_a_client_gets_a_few_reports_an_hour_then_429_with_retry_after(keeper: Keeper) -> None:
    for _ in range(3):
        assert report(keeper.client).status_code == 201
    before = keeper.written()
    limited = report(keeper.client, message="again")
    assert limited.status_code == 429 and limited.json()["error"] == "rate_limited"
    assert 3_500 <= int(limited.headers["Retry-After"]) <= 3_601  # the oldest of the three frees up in an hour
    assert keeper.written() == before
    with TestClient(keeper.app, client=("203.0.113.9", 4000)) as other_rider:
        assert report(other_rider).status_code == 201  # another address has its own allowance


def test_reports_older_than_an_hour_no_longer_count(keeper: Keeper) -> None:
    for _ in range(3):
        assert report(keeper.client).status_code == 201
    assert report(keeper.client).status_code == 429
    with Session(keeper.store.engine) as session, session.begin():
        oldest = session.scalar(select(ReportRow.id).order_by(ReportRow.id).limit(1))
        past = datetime.now(UTC) - timedelta(minutes=61)
        session.execute(update(ReportRow).where(ReportRow.id == oldest).values(created_at=past))
    assert report(keeper.client).status_code == 201
    assert report(keeper.client).status_code == 429


def test_the_limit_is_shared_by_every_server_process_and_holds_under_a_burst(database_url: str) -> None:
    """Two server processes on one database, and a burst of simultaneous reports from one rider: exactly the
    allowance gets through, whichever process answers."""
    first, second = make_app(database_url, reports_per_hour=5), make_app(database_url, reports_per_hour=5)
    with TestClient(first) as client_a, TestClient(second) as client_b:
        station = Station(id="A", name="驿站", types=["outdoor_worker"], lon=120.16, lat=30.27)
        first.state.registry.create(station, "set-up")
        clients = [client_a, client_b] * 6
        responses = at_once({f"rider {i}": (lambda c=c: report(c)) for i, c in enumerate(clients)})
        statuses = [r.status_code for r in responses.values()]
        assert sorted(statuses) == [201] * 5 + [429] * 7
        assert report(client_a).status_code == 429 and report(client_b).status_code == 429


# ---------------------------------------------------------------------------------------------- editors


def test_an_editor_resolves_a_report_once(keeper: Keeper) -> None:
    report_id = report(keeper.client).json()["id"]
    resolution = {"status": "resolved", "resolution": "  closed the station  "}
    response = keeper.client.patch(f"/reports/{report_id}", json=resolution, headers=keeper.auth("editor"))
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["resolved_by"], body["resolution"]) == (
        "resolved",
        "editor token",
        "closed the station",
    )
    assert datetime.fromisoformat(body["resolved_at"]) <= datetime.now(UTC)
    before = keeper.written()
    again = keeper.client.patch(f"/reports/{report_id}", json={"status": "rejected"}, headers=keeper.auth("admin"))
    assert again.status_code == 409 and again.json()["error"] == "conflict"
    assert "resolved by editor token" in again.json()["detail"]
    assert keeper.written() == before


def test_listing_by_status_and_station(keeper: Keeper) -> None:
    keeper.add("B", lon=120.2)
    first = report(keeper.client).json()["id"]
    second = report(keeper.client, "B", kind="hours_wrong").json()["id"]
    keeper.client.patch(f"/reports/{first}", json={"status": "rejected"}, headers=keeper.auth())
    assert [r["id"] for r in listed(keeper)] == [second]  # open ones by default
    assert [r["id"] for r in listed(keeper, status="rejected")] == [first]
    assert [r["id"] for r in listed(keeper, status="all")] == [second, first]  # newest first
    assert [r["id"] for r in listed(keeper, status="all", station_id="A")] == [first]
    assert [r["id"] for r in listed(keeper, status="all", limit=1)] == [second]


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/reports/999", {"status": "resolved"}, 404),
        ("/reports/0", {"status": "resolved"}, 422),
        ("/reports/abc", {"status": "resolved"}, 422),
        ("/reports/1", {"status": "open"}, 422),
        ("/reports/1", {"status": "resolved", "resolution": "x" * 2001}, 422),
        ("/reports/1", {}, 422),
    ],
)
def test_bad_resolutions(keeper: Keeper, path: str, body: dict, status: int) -> None:
    report(keeper.client)
    before = keeper.written()
    response = keeper.client.patch(path, json=body, headers=keeper.auth())
    assert response.status_code == status, response.text
    assert keeper.written() == before


def test_bad_listing_parameters_are_422(keeper: Keeper) -> None:
    for params in ({"status": "closed"}, {"limit": 0}, {"limit": 1001}):
        response = keeper.client.get("/reports", params=params, headers=keeper.auth("viewer"))
        assert response.status_code == 422, params


def resolver(client: TestClient, report_id: int, secret: str) -> Callable[[], httpx.Response]:
    headers = {"Authorization": f"Bearer {secret}"}
    return lambda: client.patch(f"/reports/{report_id}", json={"status": "resolved"}, headers=headers)


def test_two_editors_resolving_one_report_at_once_one_gets_409(database_url: str) -> None:
    first, second = make_app(database_url), make_app(database_url)
    with TestClient(first) as client_a, TestClient(second) as client_b:
        clients = (client_a, client_b)
        station = Station(id="A", name="驿站", types=["outdoor_worker"], lon=120.16, lat=30.27)
        first.state.registry.create(station, "set-up")
        tokens = [first.state.accounts.create(name, "editor")[0] for name in ("甲", "乙")]
        for round_number in range(4):
            report_id = first.state.reports.submit("A", "closed", f"rider-{round_number}").id
            responses = at_once(
                {
                    name: resolver(client, report_id, secret)
                    for name, client, secret in zip("甲乙", clients, tokens, strict=True)
                }
            )
            statuses = {name: r.status_code for name, r in responses.items()}
            assert sorted(statuses.values()) == [200, 409]
            winner = next(name for name, status in statuses.items() if status == 200)
            (stored,) = first.state.reports.list(status="resolved", station_id="A", limit=1)
            assert stored.id == report_id and stored.resolved_by == winner
