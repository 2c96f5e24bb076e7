"""Shared by the planning API tests (coverage, gaps, hot spots, hours, siting, exports, district reports): the app
on a new SQLite file holding the sample stations, behind a TestClient."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from api.app import create_app
from stations.settings import SAMPLE_DIR, Settings


@contextmanager
def sample_client(database: Path, **settings: Any) -> Iterator[TestClient]:
    """A client of the app on the SQLite file ``database`` after importing the sample stations; ``settings``
    override the defaults (the registry is checked for changes at every request: ``check_interval_s=0``)."""
    app = create_app(Settings(database_url=f"sqlite:///{database}", **{"check_interval_s": 0, **settings}))
    with TestClient(app) as client:
        app.state.registry.import_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
        yield client
