"""The opening status behind the embed's popup badges (``Service.station_statuses``, ``GET /embed/status``),
checked against two references: each station's own hours evaluated one by one (``stations.hours``), and the
snapshot's vectorised, change-cached answer to a nearest-stations question over every station."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from api.app import create_app
from geo.districts import Districts
from stations import hours
from stations.model import Station
from stations.queries import StationMapQuery
from stations.service import Service
from stations.settings import Settings
from stations.snapshot import NearbyQuery
from stations.vocabulary import OPERATING_STATUSES, STATION_TYPES
from tests.hostile import ALL

HOURS = [
    None,
    "24/7",
    "Mo-Fr 08:30-11:00,13:30-17:00; PH off",
    "Mo-Su 08:00-20:00",
    "Mo-Su 18:00-22:00",
    "Mo-Su 22:00-02:00",
    "Sa,Su 10:00-16:00",
    "Mo-Fr 08:00-12:00; Sa unknown",
]
START = datetime(2026, 1, 1, tzinfo=hours.TIMEZONE)
ODD_IDS = {0: "__proto__", 7: "constructor", 14: "驿站<b>{{7*7}}<b>", 21: "toString"}
"""Ids that are keys an object of a browser's JSON already has, or markup: the embed looks statuses up by id."""


def stations() -> list[Station]:
    """Stations across Hangzhou's centre with every mix of hours, operating status and types; odd ids."""
    found = []
    for number in range(48):
        types = [STATION_TYPES[number % len(STATION_TYPES)]]
        if number % 5 == 0:
            types.append(STATION_TYPES[(number + 1) % len(STATION_TYPES)])
        found.append(
            Station(
                id=ODD_IDS.get(number, f"E-{number}"),
                name=ALL[number % len(ALL)],
                types=types,
                lon=120.08 + 0.006 * number,
                lat=30.22 + 0.002 * (number % 13),
                opening_hours=HOURS[number % len(HOURS)],
                operating_status=OPERATING_STATUSES[number % len(OPERATING_STATUSES)],
            )
        )
    return found


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    folder: Path = tmp_path_factory.mktemp("embed-status")
    settings = Settings(database_url=f"sqlite:///{folder / 'embed.sqlite3'}", demand_path=None)
    with TestClient(create_app(settings)) as running:
        registry = running.app.state.registry
        for station in stations():
            registry.create(station, "set-up")
        registry.refresh()
        yield running


@pytest.fixture(scope="module")
def service(client: TestClient) -> Service:
    return client.app.state.service  # type: ignore[attr-defined,no-any-return]


@pytest.fixture(scope="module")
def adcodes(service: Service) -> list[str | None]:
    districts: Districts | None = service.registry.districts
    assert districts is not None
    shown = {s.adcode for s in service.registry.snapshot().stations}
    return [None, *sorted(code for code in districts.adcodes if code in shown)]


def expected(service: Service, adcode: str | None, types: tuple[str, ...], at: datetime) -> dict[str, tuple]:
    """Brute force: every station of the registry, filtered here, each hours text evaluated on its own."""
    answer = {}
    for station in service.registry.snapshot().stations:
        if station.operating_status == "closed" or (adcode is not None and station.adcode != adcode):
            continue
        if types and not set(types) & set(station.types):
            continue
        if station.is_closed:
            answer[station.id] = ("closed", None, None)
            continue
        text = station.opening_hours
        status = hours.status(text, at)
        closes_at = hours.next_change(text, at) if status == "open" else None
        answer[station.id] = (status, closes_at, hours.next_opening(text, at) if status == "closed" else None)
    return answer


@given(
    minutes=st.integers(0, 366 * 24 * 60),
    pick=st.integers(0, 100),
    types=st.sets(st.sampled_from(STATION_TYPES), max_size=2).map(lambda kinds: tuple(sorted(kinds))),
)
def test_statuses_match_each_stations_hours(
    service: Service, adcodes: list[str | None], minutes: int, pick: int, types: tuple[str, ...]
) -> None:
    at = START + timedelta(minutes=minutes)
    adcode = adcodes[pick % len(adcodes)]
    got = service.station_statuses(StationMapQuery(adcode=adcode, types=types, mode="embed"), at)
    assert {k: (v.open_status, v.closes_at, v.opens_at) for k, v in got.items()} == expected(service, adcode, types, at)


@given(minutes=st.integers(0, 366 * 24 * 60))
def test_statuses_match_the_snapshots_nearby_answers(service: Service, minutes: int) -> None:
    at = START + timedelta(minutes=minutes)
    snapshot = service.registry.snapshot()
    nearby = snapshot.nearby(NearbyQuery(lon=120.2, lat=30.25, k=len(snapshot)), now=at)
    reference = {n.station.id: (n.open_status, n.closes_at, n.opens_at) for n in nearby}
    got = service.station_statuses(StationMapQuery(mode="embed"), at)
    assert set(got) == set(reference)  # nearby leaves out the stations closed for good, as the map does
    assert {k: (v.open_status, v.closes_at, v.opens_at) for k, v in got.items()} == reference


def test_the_endpoint_answers_the_embeds_stations_with_a_minute_of_caching(client: TestClient) -> None:
    response = client.get("/embed/status", params={"types": "outdoor_worker", "at": "2026-11-23T12:00"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=60"
    body = response.json()["stations"]
    service: Service = client.app.state.service  # type: ignore[attr-defined]
    at = datetime(2026, 11, 23, 12, tzinfo=hours.TIMEZONE)
    want = expected(service, None, ("outdoor_worker",), at)
    iso = lambda moment: moment.isoformat() if moment else None  # noqa: E731
    assert body == {k: {"open_status": s, "closes_at": iso(c), "opens_at": iso(o)} for k, (s, c, o) in want.items()}
    assert any(v["opens_at"] for v in body.values())
    assert {"open", "closed", "unknown"} <= {v["open_status"] for v in body.values()}
    assert any(v["closes_at"] for v in body.values())


@pytest.mark.parametrize(
    ("params", "field"),
    [({"adcode": "999999"}, "adcode"), ({"types": "palace"}, "types"), ({"at": "noon"}, "at")],
)
def test_the_endpoint_rejects_bad_input_naming_the_field(client: TestClient, params: dict, field: str) -> None:
    response = client.get("/embed/status", params=params)
    assert response.status_code == 422 and field in response.text
