"""Shared fixtures: a registry on a real SQLite file with the real Hangzhou districts."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from typer.testing import CliRunner

from api import cli
from api.settings import SAMPLE_DIR, get_settings
from geo.districts import Districts

# Never a wall-clock limit in tests: machines here are shared and noisy.
settings.register_profile("yizhan", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", parent=settings.get_profile("yizhan"), max_examples=200)
settings.load_profile("ci" if os.environ.get("CI") else "yizhan")

DISTRICTS_PATH = SAMPLE_DIR / "districts.geojson"
STATIONS_PATH = SAMPLE_DIR / "stations.csv"


@pytest.fixture(scope="session")
def districts() -> Districts:
    return Districts.from_geojson(DISTRICTS_PATH)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'yizhan.sqlite3'}"


@pytest.fixture
def sample_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A CLI runner on a fresh SQLite file holding the sample registry (the sample demand layer is the default)."""
    monkeypatch.setenv("YIZHAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    monkeypatch.setattr(cli, "out", cli.Console(width=200))
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(cli.app, ["import", str(SAMPLE_DIR / "stations.csv")]).exit_code == 0
    yield runner
    get_settings.cache_clear()
