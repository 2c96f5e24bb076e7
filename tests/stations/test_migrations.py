"""Schema migrations on both stores: models equal migrations, old files keep their rows, concurrent opens."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import geoalchemy2  # noqa: F401  (reflection then knows PostGIS's geometry type)
import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    func,
    insert,
    inspect,
    select,
    text,
)

from stations import migrations
from stations.store import Base, RegistryMeta, StationRow, Store

# The models as they were before migrations existed (commit c4bc580), made by create_all: a file of that time.
LEGACY = MetaData()
Table(
    "stations",
    LEGACY,
    Column("id", String(64), primary_key=True),
    Column("lon", Float, nullable=False),
    Column("lat", Float, nullable=False),
    Column("adcode", String(6), index=True),
    Column("payload", JSON, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
Table("registry_meta", LEGACY, Column("key", String(32), primary_key=True), Column("value", Integer, nullable=False))

WRITTEN_AT = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
CONSOLE = {"people", "console_sessions", "login_attempts"}
"""The keeper console's tables (revision 0005, issue 16): models since, not of the issue 7 schema."""


@pytest.fixture(params=["sqlite", "postgis"])
def blank_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database without tables on each store (PostgreSQL: PostGIS only), where migrations start from nothing."""
    if request.param == "postgis":
        return request.getfixturevalue("postgis_url")
    return f"sqlite:///{tmp_path / 'blank.sqlite3'}"


def differences(url: str) -> list:
    """What alembic autogenerate would change to make the database match the models (PostGIS extras ignored)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=migrations.COMPARE_OPTIONS)
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def station_row(station_id: str, lon: float, lat: float, adcode: str | None = None) -> dict:
    """A stations row as the store writes it: lookup columns plus the whole station as JSON."""
    payload = {"id": station_id, "name": f"站{station_id}", "types": ["outdoor_worker"], "lon": lon, "lat": lat}
    return {"id": station_id, "lon": lon, "lat": lat, "adcode": adcode, "payload": payload, "updated_at": WRITTEN_AT}


def test_a_new_database_is_at_head_and_matches_the_models(blank_url: str) -> None:
    store = Store(blank_url)
    with store.engine.connect() as connection:
        assert migrations.current(connection) == (migrations.head(),) == ("0005",)
    assert differences(blank_url) == []
    assert store.version() == 0 and store.count() == 0


def test_the_models_differ_from_an_older_revision(blank_url: str) -> None:
    """The comparison sees a missing column and tables, so an empty answer above means something."""
    engine = create_engine(blank_url)
    with migrations.locked_transaction(engine) as connection:
        command.upgrade(migrations.config(connection), "0001")
    engine.dispose()
    found = differences(blank_url)
    assert {d[1].name for d in found if d[0] == "add_table"} == {"station_history", "api_tokens", "reports", *CONSOLE}
    assert ("stations", "revision") in {(d[2], d[3].name) for d in found if d[0] == "add_column"}


def test_downgrade_to_nothing_and_back_up(blank_url: str) -> None:
    Store(blank_url)
    engine = create_engine(blank_url)
    with migrations.locked_transaction(engine) as connection:
        command.downgrade(migrations.config(connection), "base")
    assert set(inspect(engine).get_table_names()) - migrations.POSTGIS_TABLES == {"alembic_version"}
    engine.dispose()
    Store(blank_url)
    assert differences(blank_url) == []


def test_a_file_made_before_migrations_is_stamped_and_upgraded_keeping_its_rows(blank_url: str) -> None:
    engine = create_engine(blank_url)
    LEGACY.create_all(engine)
    with engine.begin() as connection:
        rows = [station_row("OLD-1", 120.1, 30.2, "330106"), station_row("OLD-2", 120.3, 30.1)]
        connection.execute(insert(LEGACY.tables["stations"]), rows)
        connection.execute(insert(LEGACY.tables["registry_meta"]), {"key": "version", "value": 7})
    engine.dispose()

    store = Store(blank_url)
    assert [s.id for s in store.all()] == ["OLD-1", "OLD-2"] and store.version() == 7
    assert store.versioned("OLD-1")[1] == 1  # every old station starts at revision 1
    with store.engine.connect() as connection:
        assert migrations.current(connection) == (migrations.head(),)
        assert connection.scalar(select(func.count()).select_from(RegistryMeta)) == 1
    assert differences(blank_url) == []


def test_a_database_made_by_the_issue_7_models_is_stamped_at_0002(blank_url: str) -> None:
    engine = create_engine(blank_url)
    Base.metadata.create_all(engine, tables=[t for t in Base.metadata.sorted_tables if t.name not in CONSOLE])
    with engine.begin() as connection:
        connection.execute(insert(StationRow), station_row("NEW-1", 120.1, 30.2))
        assert migrations.legacy_revision(connection) == "0002"
    engine.dispose()
    store = Store(blank_url)
    assert [s.id for s in store.all()] == ["NEW-1"]
    assert differences(blank_url) == []


OPEN_ON_GO = textwrap.dedent(
    """
    import os, sys, time
    from stations.store import Store
    url, go = sys.argv[1], sys.argv[2]
    print("ready", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    print(Store(url).version(), flush=True)
    """
)


def test_processes_opening_a_new_database_at_once_all_succeed(blank_url: str, tmp_path: Path) -> None:
    """Like uvicorn workers starting together: each migrates or waits for the one that does; none fails."""
    go = tmp_path / "go"
    children = [
        subprocess.Popen(
            [sys.executable, "-c", OPEN_ON_GO, blank_url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    assert [child.stdout.readline() for child in children] == ["ready\n"] * 4  # all imported: now open at once
    go.touch()
    outcomes = [(child.wait(timeout=300), *child.communicate()) for child in children]
    errors = "\n".join(error for _, _, error in outcomes if error)  # whole, to see where a failure came from
    assert [(code, out.strip()) for code, out, _ in outcomes] == [(0, "0")] * 4, errors
    store = Store(blank_url)
    with store.engine.connect() as connection:
        assert migrations.current(connection) == (migrations.head(),)
        assert connection.scalar(select(func.count()).select_from(RegistryMeta)) == 1
    assert differences(blank_url) == []


def test_a_database_from_a_newer_version_is_refused_with_a_reason(blank_url: str) -> None:
    Store(blank_url)
    engine = create_engine(blank_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    engine.dispose()
    with pytest.raises(migrations.SchemaTooNew, match="revision 9999, newer than this Yizhan knows"):
        Store(blank_url)
