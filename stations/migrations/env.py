"""Alembic's environment: runs the migrations on the connection ``stations.migrations.upgrade`` hands over or,
from the alembic command line (``alembic.ini`` at the repo root), on ``YIZHAN_DATABASE_URL``."""

from __future__ import annotations

import os
from typing import Any

import geoalchemy2  # noqa: F401  (reflection then knows PostGIS's geometry type)
from alembic import context
from sqlalchemy import Connection, create_engine

from stations.migrations import COMPARE_OPTIONS, locked_transaction
from stations.store import Base


def _database_url() -> str:
    url = os.environ.get("YIZHAN_DATABASE_URL") or context.config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("set YIZHAN_DATABASE_URL to the database to migrate, e.g. sqlite:///yizhan.sqlite3")
    return url


def _configure(**options: Any) -> None:  # keyword arguments of context.configure
    context.configure(target_metadata=Base.metadata, **COMPARE_OPTIONS, **options)


def _run_on(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def run() -> None:
    """Offline (``--sql``): print the SQL. Online: migrate the given connection, else the configured database."""
    if context.is_offline_mode():
        url = _database_url()
        _configure(url=url, literal_binds=True, render_as_batch=url.startswith("sqlite"))
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run_on(connection)
        return
    engine = create_engine(_database_url())
    try:
        with locked_transaction(engine) as connection:
            _run_on(connection)
    finally:
        engine.dispose()


# Alembic executes this file with its context set up; anything else importing it (pytest's doctest
# collection walks every module of the package) finds no context, and nothing runs.
if hasattr(context, "config"):
    run()
