"""Schema migrations (alembic) for both stores; ``upgrade(engine)`` brings any database to the newest schema.

``Store(url)`` calls ``upgrade`` when it opens a database, so a server, the CLI and the tests always work on
the newest schema; there is no separate upgrade step. It is safe when several processes open one database at
once (two uvicorn workers starting together): the first takes a lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: an advisory lock) and migrates in one transaction, the others wait and then find nothing to do. A
SQLite file made before migrations existed (tables made by ``create_all``, no ``alembic_version``) is stamped
with the revision its tables match and upgraded from there, keeping its rows.

The revisions, in ``versions/``, each a frozen copy of one step (they never import the models):

- 0001: stations and the registry version counter (the schema before issue 7)
- 0002: station revisions, history, API tokens, rider reports (issue 7)
- 0003: PostgreSQL only: PostGIS ``stations.geom``, a generated column kept equal to (lon, lat), GiST-indexed
- 0004: the search index (``stations.search``): ``station_search``, and SQLite's FTS5 ``station_search_fts``
- 0005: the keeper console (``stations.people``): ``people``, ``console_sessions``, ``login_attempts``

To change the schema: change the model in ``stations/store.py``, then add ``versions/0004_what_changed.py``
(``revision = "0004"``, ``down_revision = "0003"``) with ``upgrade()`` and ``downgrade()``. From the repo
root, ``YIZHAN_DATABASE_URL=sqlite:///scratch.sqlite3 .venv/bin/alembic revision --autogenerate -m "what
changed" --rev-id 0004`` drafts it against a scratch database (opened once with ``Store`` so it is at the
previous head). On SQLite, anything beyond adding a column or an index needs ``op.batch_alter_table``
(drafts use it). ``tests/stations/test_migrations.py`` fails until models and migrations agree on both stores.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, create_engine, event, inspect, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.pool import ConnectionPoolEntry, NullPool

if TYPE_CHECKING:  # alembic loads only when a database needs migrating (or a test asks): opening one is a SELECT
    import sqlite3

    from alembic.config import Config
    from alembic.script import ScriptDirectory

SCRIPT_LOCATION = Path(__file__).resolve().parent
POSTGIS_COLUMNS = {("stations", "geom")}
"""Columns only the PostgreSQL migrations make (the models do not know them; no write code has to)."""
POSTGIS_INDEXES = {"ix_stations_geom"}
POSTGIS_TABLES = {"spatial_ref_sys"}
"""Tables that ``CREATE EXTENSION postgis`` makes: PostGIS's, not ours."""
SEARCH_PREFIX = "station_search"
"""The search index's tables and indexes (``stations.search``; FTS5 adds shadow tables): SQL of each store's own,
written by ``stations.search``, not declared by the models."""
LOCK_KEY = zlib.crc32(b"yizhan schema migrations")
"""PostgreSQL advisory lock held while migrating (per database)."""
SQLITE_LOCK_TIMEOUT_MS = 120_000
"""How long a process opening a SQLite file waits for another one's migration to finish."""


def include_object(obj: object, name: str | None, type_: str, _reflected: bool, _compare_to: object) -> bool:
    """Autogenerate's filter: leave out the PostGIS-only objects, which the models deliberately do not declare.

    The signature is alembic's (it passes all five positionally); this filter needs only the first three.
    """
    if type_ == "column":
        return (getattr(getattr(obj, "table", None), "name", None), name) not in POSTGIS_COLUMNS
    if type_ == "index":
        return name not in POSTGIS_INDEXES and not (name or "").startswith(("ix_" + SEARCH_PREFIX, SEARCH_PREFIX))
    if type_ == "table":
        return name not in POSTGIS_TABLES and not (name or "").startswith(SEARCH_PREFIX)
    return True


COMPARE_OPTIONS: dict[str, Any] = {"include_object": include_object, "compare_server_default": True}
"""How autogenerate compares the database with the models (``env.py``; the models == migrations test)."""


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer Yizhan than this one; this code would misread it."""


@lru_cache(maxsize=1)
def _scripts() -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(str(SCRIPT_LOCATION))


_REVISION = re.compile(r'^(down_)?revision = (?:"(\w+)"|None)$', re.MULTILINE)


@lru_cache(maxsize=1)
def newest_revision() -> str:
    """The newest revision, read from the scripts' ``revision``/``down_revision`` lines without alembic (the
    one revision no other revision follows); ``head()`` says the same through alembic.

    >>> newest_revision() == head()
    True
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (SCRIPT_LOCATION / "versions").glob("*.py"):
        for down, name in _REVISION.findall(script.read_text(encoding="utf-8")):
            if name:
                (parents if down else revisions).add(name)
    heads = revisions - parents
    assert len(heads) == 1, f"stations/migrations/versions has heads {sorted(heads)}, not one"
    return heads.pop()


def _stamped(connection: Connection) -> tuple[str, ...]:
    """The revisions in the database's ``alembic_version`` table by a plain SELECT (none when it has none)."""
    try:
        with connection.begin_nested() if connection.in_transaction() else connection.begin():
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except (OperationalError, ProgrammingError):  # no such table: a new database or one made before migrations
        return ()
    return tuple(rows)


def head() -> str:
    """The newest revision."""
    revision = _scripts().get_current_head()
    assert revision is not None, "stations/migrations/versions holds no revision"
    return revision


def current(connection: Connection) -> tuple[str, ...]:
    """The revisions the database is stamped with (empty for a new database or one made before migrations)."""
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_heads()


def config(connection: Connection | None = None) -> Config:
    """Alembic configuration for these migrations, run on ``connection`` (see ``env.py``)."""
    from alembic.config import Config

    alembic_config = Config()
    alembic_config.set_main_option("script_location", str(SCRIPT_LOCATION))
    alembic_config.attributes["connection"] = connection
    return alembic_config


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest schema; at once when it is there already (one SELECT, no alembic)."""
    with engine.connect() as connection:
        if _stamped(connection) == (newest_revision(),):
            return
    from alembic import command

    with locked_transaction(engine) as connection:
        unknown = set(current(connection)) - {script.revision for script in _scripts().walk_revisions()}
        if unknown:
            raise SchemaTooNew(
                f"the database's schema is at revision {', '.join(sorted(unknown))}, newer than this Yizhan knows "
                f"(newest {head()}): it was upgraded by a newer version; run that version, or upgrade this one"
            )
        legacy = legacy_revision(connection)
        if legacy is not None:
            command.stamp(config(connection), legacy)
        command.upgrade(config(connection), "head")


def legacy_revision(connection: Connection) -> str | None:
    """For a database made by ``create_all`` before migrations existed: the revision its tables match; else None."""
    tables = set(inspect(connection).get_table_names())
    if "alembic_version" in tables or "stations" not in tables:
        return None
    columns = {column["name"] for column in inspect(connection).get_columns("stations")}
    return "0002" if "revision" in columns else "0001"


@contextmanager
def locked_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction on ``engine``'s database that holds the migration lock until it commits.

    SQLite: a connection of its own that begins with ``BEGIN IMMEDIATE`` (the write lock, at once; Python's
    sqlite3 would otherwise run DDL outside any transaction). PostgreSQL: an advisory lock, released at
    commit; its DDL is transactional. Either way the whole upgrade commits or none of it does.
    """
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        locking = create_engine(engine.url, poolclass=NullPool)
        event.listen(locking, "connect", _sqlite_manual_transactions)
        event.listen(locking, "begin", lambda connection: connection.exec_driver_sql("BEGIN IMMEDIATE"))
        try:
            with locking.begin() as connection:
                yield connection
        finally:
            locking.dispose()
        return
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
        yield connection


def _sqlite_manual_transactions(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    dbapi_connection.isolation_level = None  # sqlite3 emits no BEGIN/COMMIT of its own; the "begin" event does
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_LOCK_TIMEOUT_MS}")
    cursor.close()
