"""What a long-lived server is built with: ``yizhan serve``'s workers freeze start-up's objects (``gc.freeze``)
once the first snapshot is built, and the first snapshot is still freed when a refresh replaces it (by reference
counting: a frozen cycle would never be); FastAPI's own OpenTelemetry only when asked."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from fastapi.testclient import TestClient
from served import wait_until

from api.app import create_app
from stations.model import Station
from stations.settings import SAMPLE_DIR, Settings


def test_start_up_is_frozen_and_the_first_snapshot_still_goes(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'r.sqlite3'}", check_interval_s=0)
    app = create_app(settings, freeze_at_startup=True)
    before = gc.get_freeze_count()
    try:
        with TestClient(app) as client:
            registry = app.state.registry
            assert gc.get_freeze_count() > before  # start-up's objects, the first snapshot among them
            first = registry.snapshot()
            gone = weakref.ref(first)
            first_version = first.version
            del first
            assert client.get("/stations/nearby", params={"lon": 120.16, "lat": 30.25}).json()["features"] == []
            registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
            wait_until(lambda: registry.snapshot().version != first_version, "the import's snapshot")
            found = client.get("/stations/nearby", params={"lon": 120.16, "lat": 30.25, "k": 3}).json()["features"]
            assert len(found) == 3
            assert gone() is None  # no gc.collect(): frozen objects are freed by reference counting or never
            registry.create(Station(id="FROZEN-1", name="驿站", types=["driver_home"], lon=120.3, lat=30.05), "t")
            wait_until(lambda: registry.snapshot().get("FROZEN-1") is not None, "the edit's snapshot")
    finally:
        gc.unfreeze()  # the test process goes on making and dropping apps


def test_fastapi_telemetry_is_on_only_when_asked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    default = create_app(Settings(database_url=url))
    asked = create_app(Settings(database_url=url, opentelemetry=True))
    kinds = ("tracing", "metrics", "logs")
    assert [default._telemetry[kind] for kind in kinds] == [False, False, False]
    assert [asked._telemetry[kind] for kind in kinds] == [True, True, True]
