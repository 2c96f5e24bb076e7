"""Persistent station registry on SQLAlchemy 2: an embedded SQLite file by default.

The database URL comes from settings (``YIZHAN_DATABASE_URL``), e.g. ``sqlite:///yizhan.sqlite3``, or
``postgresql://user:password@host/db`` for the production store (PostgreSQL + PostGIS, through psycopg 3).
Each station is kept whole as validated JSON beside the columns used to look it up; a ``registry_version``
counter is bumped in the same transaction as every write, so any process can tell cheaply whether its
in-memory snapshot is stale. Opening a store brings its database to the newest schema (``stations.migrations``);
on PostgreSQL the stations table also carries a PostGIS ``geom`` point that the database keeps equal to
(lon, lat), unknown to these models.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column
from sqlalchemy.pool import ConnectionPoolEntry

from stations import migrations
from stations.model import Station

if TYPE_CHECKING:
    import sqlite3


class Base(DeclarativeBase):
    """The declarative base of the store's tables."""


class StationRow(Base):
    """One station: its coordinates and district as columns for queries, the whole station as JSON ``payload``."""

    __tablename__ = "stations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    lon: Mapped[float] = mapped_column(Float, nullable=False)
    lat: Mapped[float] = mapped_column(Float, nullable=False)
    adcode: Mapped[str | None] = mapped_column(String(6), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False, default=1, server_default="1")
    """Bumped by every write of this station; its ETag, for optimistic concurrency."""


class HistoryRow(Base):
    """One change of one station: who, when, and each changed field's value before and after."""

    __tablename__ = "station_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    revision: Mapped[int] = mapped_column(Integer, nullable=False)
    """The station's revision after the change (a hard delete takes the next revision too)."""
    action: Mapped[str] = mapped_column(String(16), nullable=False)
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, nullable=False)
    """``{field: [before, after]}``; ``None`` stands for absent."""


class TokenRow(Base):
    """An API token; only the SHA-256 of the secret is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    secret_sha256: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ReportRow(Base):
    """A rider's report of a problem with a station, until an editor resolves it."""

    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    station_id: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    message: Mapped[str | None] = mapped_column(String(2000))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    client: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    """A keyed hash of the reporter's address (for rate limits); never the address itself."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(16), nullable=False, default="open", index=True)
    resolved_by: Mapped[str | None] = mapped_column(String(200))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution: Mapped[str | None] = mapped_column(String(2000))


class PersonRow(Base):
    """A person who signs in to the keeper console (``stations.people``); only an argon2 hash of the password."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    name_key: Mapped[str] = mapped_column(String(200), nullable=False, unique=True)
    """The name as sign-in compares it (NFKC, case-folded): one person per key."""
    role: Mapped[str] = mapped_column(String(16), nullable=False)
    password_hash: Mapped[str] = mapped_column(String(512), nullable=False)
    disabled: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    password_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class ConsoleSessionRow(Base):
    """A signed-in browser; only the SHA-256 of the session id its cookie holds is kept."""

    __tablename__ = "console_sessions"

    id_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    person_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("people.id", ondelete="CASCADE"), nullable=False, index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64), nullable=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)


class LoginAttemptRow(Base):
    """One sign-in attempt, counted for the limits per account and per client (keyed hashes, never the name
    typed or the address)."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    client: Mapped[str] = mapped_column(String(64), nullable=False, index=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, index=True)
    succeeded: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)


class RegistryMeta(Base):
    """Named integers of the registry; ``version`` is the registry version (``Store.version``)."""

    __tablename__ = "registry_meta"

    key: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, nullable=False)


_VERSION_KEY = "version"
_VERSION_QUERY = select(RegistryMeta.value).where(RegistryMeta.key == _VERSION_KEY)


def _sqlite_pragmas(dbapi_connection: sqlite3.Connection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=30000")  # first: switching to WAL may wait for another process (a migration)
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def json_loads(text: str | bytes) -> Any:
    """A stored JSON value, read by orjson (~5x faster than ``json.loads``: every station is read at start-up);
    ``json.loads`` for what orjson refuses (NaN or Infinity written by an older version).

    >>> json_loads('{"a": [1, 2.5, "驿站"]}'), json_loads('{"x": NaN}')["x"] != 0
    ({'a': [1, 2.5, '驿站']}, True)
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


def create_store_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite with WAL and a busy timeout; ``postgresql://`` through psycopg 3."""
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, json_deserializer=json_loads)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # a server restart costs a retry, not an error
    return create_engine(parsed, pool_pre_ping=True, json_deserializer=json_loads)


OPEN_ATTEMPTS = 5
"""Times opening a SQLite file tries its schema check again when SQLite answers "database is locked" at once."""


class Store:
    """Stations in a database; every write is one transaction that also bumps the registry version."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = create_store_engine(url)
        for attempt in range(OPEN_ATTEMPTS):
            try:
                migrations.upgrade(self.engine)
                break
            except OperationalError as error:  # SQLite may refuse a lock at once rather than wait (a deadlock
                # it foresees between processes opening a new file together): try again, then give up
                if "database is locked" not in str(error) or attempt == OPEN_ATTEMPTS - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def version(self) -> int:
        """Registry version: changes whenever any station is written. A Core ``SELECT`` on a connection of the pool
        (each worker asks every ``check_interval_s``): ~0.2 ms of CPU, against ~0.3 ms through the ORM's session."""
        with self.engine.connect() as connection:
            return connection.execute(_VERSION_QUERY).scalar() or 0

    def count(self) -> int:
        """Number of stations."""
        with Session(self.engine) as session:
            return session.scalar(select(func.count()).select_from(StationRow)) or 0

    def all(self) -> list[Station]:
        """Every station, ordered by id (rows streamed, so a large registry's payloads are never all held at once)."""
        with Session(self.engine) as session:
            query = select(StationRow.payload).order_by(StationRow.id).execution_options(yield_per=10_000)
            return [Station.model_validate(p) for p in session.scalars(query)]

    def get(self, station_id: str) -> Station | None:
        """The station with ``station_id``, or None."""
        with Session(self.engine) as session:
            row = session.get(StationRow, station_id)
            return Station.model_validate(row.payload) if row else None

    def existing_ids(self, ids: Iterable[str]) -> set[str]:
        """Those of ``ids`` that name a station in the store (looked up 500 at a time)."""
        wanted = list(ids)
        found: set[str] = set()
        with Session(self.engine) as session:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                found.update(session.scalars(select(StationRow.id).where(StationRow.id.in_(chunk))))
        return found

    def versioned(self, station_id: str) -> tuple[Station, int] | None:
        """A station and its revision (its ETag), or None."""
        with Session(self.engine) as session:
            row = session.get(StationRow, station_id)
            return (Station.model_validate(row.payload), row.revision) if row else None


def as_utc(moment: datetime) -> datetime:
    """A datetime read back from the store, in UTC (SQLite returns naive datetimes; they were written in UTC)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def bump_version(session: Session) -> int:
    """Bump the registry version in ``session``'s transaction and return the new value.

    Every write transaction does this first: the UPDATE takes the write lock (SQLite) or the row lock
    (PostgreSQL) at once, so writers queue here and each then reads what the ones before it committed.
    """
    bumped = session.execute(
        update(RegistryMeta)
        .where(RegistryMeta.key == _VERSION_KEY)
        .values(value=RegistryMeta.value + 1)
        .returning(RegistryMeta.value)
    ).scalar()
    if bumped is None:  # the very first write of a new database
        session.add(RegistryMeta(key=_VERSION_KEY, value=1))
        session.flush()
        bumped = 1
    return bumped
