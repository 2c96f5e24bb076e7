"""Shared by the registry keepers' API tests (editing, imports, reports, open data): an app on a real database
with the real Hangzhou districts, one token of each kind, and a fingerprint of everything a request could write.
"""

from __future__ import annotations

import csv
import io
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.app import create_app
from stations.model import Station
from stations.settings import SAMPLE_DIR, Settings
from stations.store import HistoryRow, ReportRow, StationRow, TokenRow

DISTRICTS_PATH = SAMPLE_DIR / "districts.geojson"
ADMIN_TOKEN = "bootstrap-admin-secret-for-tests"
ORIGIN = (120.16, 30.27)  # 拱墅区, Hangzhou
GEOJSON = "application/geo+json"


@dataclass
class Keeper:
    """A running app, its client and a secret per kind of credential (``tokens``)."""

    app: FastAPI
    client: TestClient
    tokens: dict[str, str]

    @property
    def store(self) -> Any:
        return self.app.state.registry.store

    def auth(self, kind: str = "editor", **headers: str) -> dict[str, str]:
        """Headers sending the ``kind`` token (``viewer``, ``editor``, ``admin``, ``bootstrap``...), plus ``headers``
        (underscores become dashes: ``If_Match``)."""
        extra = {name.replace("_", "-"): value for name, value in headers.items()}
        return {"Authorization": f"Bearer {self.tokens[kind]}", **extra}

    def add(self, station_id: str, lon: float = ORIGIN[0], lat: float = ORIGIN[1], **fields: Any) -> Station:
        """A station written straight through the registry (set-up, not under test)."""
        types = fields.pop("types", ["outdoor_worker"])
        name = fields.pop("name", f"测试驿站{station_id}")
        station = Station(id=station_id, name=name, types=types, lon=lon, lat=lat, **fields)
        return self.app.state.registry.create(station, "set-up")[0]

    def etag(self, station_id: str) -> str:
        response = self.client.get(f"/stations/{station_id}")
        assert response.status_code == 200, response.text
        return response.headers["ETag"]

    def written(self) -> tuple[Any, ...]:
        """Everything a request could change: version, stations with revisions, history, reports, tokens."""
        with Session(self.store.engine) as session:
            stations = session.execute(
                select(StationRow.id, StationRow.revision, StationRow.payload).order_by(StationRow.id)
            ).all()
            history = session.scalar(select(func.count()).select_from(HistoryRow))
            reports = session.execute(
                select(ReportRow.id, ReportRow.status, ReportRow.resolved_by).order_by(ReportRow.id)
            ).all()
            tokens = session.execute(select(TokenRow.id, TokenRow.revoked_at).order_by(TokenRow.id)).all()
        return self.store.version(), [tuple(s) for s in stations], history, [tuple(r) for r in reports], tokens


def make_app(database_url: str, **overrides: Any) -> FastAPI:
    settings = {
        "database_url": database_url,
        "districts_path": DISTRICTS_PATH,
        "demand_path": None,  # no coverage planning here: the demand layer only slows the start
        "admin_token": ADMIN_TOKEN,
    }
    return create_app(Settings(**{**settings, **overrides}))


def issue_tokens(app: FastAPI) -> dict[str, str]:
    """One token of each kind: the three roles, a revoked and an expired editor, the bootstrap admin."""
    accounts = app.state.accounts
    tokens = {role: accounts.create(f"{role} token", role)[0] for role in ("viewer", "editor", "admin")}
    tokens["revoked"] = accounts.create("revoked editor", "editor")[0]
    accounts.revoke("revoked editor")
    tokens["expired"], info = accounts.create("expired editor", "editor", expires_in_days=30)
    with Session(app.state.registry.store.engine) as session, session.begin():
        past = datetime.now(UTC) - timedelta(seconds=1)
        session.execute(update(TokenRow).where(TokenRow.id == info.id).values(expires_at=past))
    tokens["bootstrap"] = ADMIN_TOKEN
    return tokens


@contextmanager
def keeper_app(database_url: str, **overrides: Any) -> Iterator[Keeper]:
    app = make_app(database_url, **overrides)
    with TestClient(app) as client:
        yield Keeper(app, client, issue_tokens(app))


def at_once(calls: dict[str, Callable[[], httpx.Response]]) -> dict[str, httpx.Response]:
    """Each call in its own thread, all released together; their responses by name."""
    barrier = threading.Barrier(len(calls))
    responses: dict[str, httpx.Response] = {}

    def run(name: str, call: Callable[[], httpx.Response]) -> None:
        barrier.wait()
        responses[name] = call()

    threads = [threading.Thread(target=run, args=item) for item in calls.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(responses) == len(calls), "a request failed without an answer"
    return responses


def csv_bytes(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def read_csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))
