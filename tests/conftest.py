"""Shared fixtures: the real Hangzhou districts, and a database on each store (SQLite file, PostgreSQL + PostGIS)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from postgres_server import PostgresServer, PostgresUnavailable, open_server
from registries import empty_registry
from rich.console import Console
from typer.testing import CliRunner

from api import cli, cli_planning, cli_riders
from geo.districts import Districts
from stations.settings import SAMPLE_DIR, get_settings
from stations.store import Store

# Never a wall-clock limit in tests: machines here are shared and noisy.
settings.register_profile("yizhan", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("yizhan")  # the same examples in CI as here: the suite's time is a budget (< 8 min)

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
DISTRICTS_PATH = SAMPLE_DIR / "districts.geojson"
STATIONS_PATH = SAMPLE_DIR / "stations.csv"


@pytest.fixture(scope="session")
def districts() -> Districts:
    return Districts.from_geojson(DISTRICTS_PATH)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL + PostGIS server for the session (see tests/postgres_server.py); started on first use.

    Without one the PostGIS tests are skipped, saying why; in CI (``CI`` set) they fail instead.
    """
    try:
        server = open_server()
    except PostgresUnavailable as unavailable:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the PostGIS tests, but: {unavailable}")
        pytest.skip(f"no PostgreSQL + PostGIS server: {unavailable}")
    yield server
    server.close()


@pytest.fixture
def postgis_url(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a fresh PostgreSQL database with PostGIS installed (and nothing else), dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(scope="session")
def postgis_registry_template(postgres_server: PostgresServer) -> Iterator[str]:
    """URL of a PostGIS database already migrated to the newest schema, to copy for each test.

    Opening a copy then finds nothing to migrate, which saves a fraction of a second per test;
    tests/stations/test_migrations.py migrates blank databases itself.
    """
    url = postgres_server.create_database()
    Store(url).engine.dispose()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture(scope="session")
def sqlite_registry_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite registry file already migrated to the newest schema, to copy for each test (as for PostGIS)."""
    path = tmp_path_factory.mktemp("template") / "yizhan.sqlite3"
    Store(f"sqlite:///{path}").engine.dispose()  # the last connection's close checkpoints the WAL into the file
    assert not Path(f"{path}-wal").exists()
    return path


@pytest.fixture(params=["sqlite", "postgis"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """URL of an empty registry database, once on each store: a SQLite file, and PostgreSQL + PostGIS (each a
    copy of a migrated empty registry; tests/stations/test_migrations.py migrates blank databases itself)."""
    with empty_registry(request, request.param, tmp_path) as url:
        yield url


@pytest.fixture
def sample_runner(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A CLI runner on a fresh SQLite file holding the sample registry (the sample demand layer is the default)."""
    monkeypatch.setenv("YIZHAN_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    wide = Console(width=200)
    for module in (cli, cli_planning, cli_riders):  # every module printing tables
        monkeypatch.setattr(module, "out", wide)
    get_settings.cache_clear()
    runner = CliRunner()
    assert runner.invoke(cli.app, ["import", str(SAMPLE_DIR / "stations.csv")]).exit_code == 0
    yield runner
    get_settings.cache_clear()


def _chromium() -> str | None:
    for path in ("/usr/bin/chromium", shutil.which("chromium"), shutil.which("chromium-browser")):
        if path and Path(path).exists():
            return path
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright, one per test process: Playwright's sync API cannot start a second
    instance while one is open in the same thread ("using Playwright Sync API inside the asyncio loop"), so
    every test that needs a browser shares this one.

    Skipped where Chromium or the ``playwright`` package is missing, except in CI (``CI`` set), where that is a
    failure: ``.ci/run`` installs Debian's chromium. Never ``playwright install``.
    """
    executable = _chromium()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        if os.environ.get("CI"):  # .ci/run installs Debian's chromium and the test extra: missing is a failure
            pytest.fail("CI must have chromium (apt-get install chromium) and the playwright package")
        pytest.skip("needs Debian's chromium and the playwright package")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
