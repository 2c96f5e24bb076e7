"""Registry databases for tests: an empty, migrated registry on either store, copied from the session's templates
(tests/conftest.py: ``sqlite_registry_template``, ``postgis_registry_template``)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from postgres_server import PostgresServer
from sqlalchemy.engine import make_url


@contextmanager
def empty_registry(request: pytest.FixtureRequest, store: str, folder: Path) -> Iterator[str]:
    """URL of an empty registry database on ``store`` ("sqlite": a file in ``folder``; "postgis": a database on
    the session's server), each a copy of a migrated empty registry, dropped afterwards."""
    if store == "sqlite":
        path = folder / "yizhan.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_registry_template"), path)
        yield f"sqlite:///{path}"
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    template = make_url(request.getfixturevalue("postgis_registry_template")).database
    url = server.create_database(template)
    yield url
    server.drop_database(url)
