"""Snapshot refresh (``stations.refresh``): a snapshot advanced by the delta since its stamp equals one built whole
from the store, after random edit sequences on both stores; a refresh in the background never makes a reader wait;
a failing refresh keeps the old snapshot serving, logs once, retries, and says so in ``/healthz``.

Ordering is asserted with events and counters (``BackgroundRefresh.completed``), never with the clock.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import delete, event, func, insert, select
from sqlalchemy.orm import Session

from api.app import create_app
from geo.districts import Districts
from stations import edits, opendata, refresh
from stations.edits import Change, payload
from stations.model import Station
from stations.registry import Registry
from stations.settings import Settings
from stations.snapshot import NearbyQuery, Snapshot
from stations.store import StationRow, Store, bump_version

EXAMPLES = itertools.count()
NAMES = ("A", "B", "C", "D", "E")
PATCHES: list[dict[str, Any]] = [
    {"phone": "0571-88888888"},
    {"phone": None, "host": "区总工会"},
    {"amenities": {"hot_water": "yes", "microwave": "no"}},
    {"lon": 120.13, "lat": 30.26},
    {"name": "改名驿站", "opening_hours": "Mo-Su 08:00-20:00", "types": ["nursing_room"]},
]


def station(station_id: str, east: int, name: str = "合成驿站") -> Station:
    return Station(id=station_id, name=name, types=["outdoor_worker"], lon=120.15 + east / 1000, lat=30.27)


def contents(snapshot: Snapshot) -> tuple[int, list[dict[str, Any]]]:
    return snapshot.version, [payload(s) for s in snapshot.stations]


def nearest_ids(snapshot: Snapshot) -> list[str]:
    return [r.station.id for r in snapshot.nearby(NearbyQuery(120.15, 30.27, k=50), now=datetime(2026, 12, 4, 9, 0))]


@pytest.fixture
def writer(database_url: str, districts: Districts) -> Registry:
    return Registry(Store(database_url), districts, check_interval_s=0)


def machine(writer: Registry) -> type[RuleBasedStateMachine]:
    class IncrementalRefresh(RuleBasedStateMachine):
        """Writes through one registry (another process); a reader registry advances its snapshot now and then."""

        def __init__(self) -> None:
            super().__init__()
            self.prefix = f"R{next(EXAMPLES)}-"  # the examples share one store
            self.reader = Registry(Store(writer.store.url), None, check_interval_s=0)
            self.reader.snapshot()
            self.advanced = 0

        def _id(self, name: str) -> str:
            return self.prefix + name

        def _current(self, name: str) -> tuple[Station, int] | None:
            return writer.store.versioned(self._id(name))

        @rule(name=st.sampled_from(NAMES), east=st.integers(0, 9))
        def create(self, name: str, east: int) -> None:
            if self._current(name) is None:
                writer.create(station(self._id(name), east), "creator")  # or re-create after a purge

        @rule(name=st.sampled_from(NAMES), which=st.integers(0, len(PATCHES) - 1))
        def patch(self, name: str, which: int) -> None:
            if (current := self._current(name)) is not None:
                writer.update(self._id(name), PATCHES[which], "editor", current[1])

        @rule(name=st.sampled_from(NAMES))
        def close(self, name: str) -> None:
            if self._current(name) is not None:
                writer.delete(self._id(name), "editor")

        @rule(name=st.sampled_from(NAMES))
        def reopen(self, name: str) -> None:
            if (current := self._current(name)) is not None and current[0].operating_status == "closed":
                writer.update(self._id(name), {"operating_status": "normal"}, "editor")

        @rule(name=st.sampled_from(NAMES))
        def purge(self, name: str) -> None:
            if self._current(name) is not None:
                writer.delete(self._id(name), "admin", hard=True)

        @rule(names=st.sets(st.sampled_from(NAMES), min_size=1), east=st.integers(0, 9))
        def batch(self, names: set[str], east: int) -> None:
            """Several stations in one transaction, as an import writes them."""
            changes = [Change(self._id(n), station(self._id(n), east + i, "导入驿站"), "import") for i, n in
                       enumerate(sorted(names))]  # fmt: skip
            edits.apply(writer.store, changes, "import")

        @rule()
        def advance(self) -> None:
            before = self.reader.snapshot()
            after = self.reader.refresh()
            if after.version != before.version:
                assert after.stamp is not None  # advanced by the delta, not built whole
                self.advanced += 1

        @invariant()
        def the_reader_equals_a_full_rebuild_of_its_version(self) -> None:
            held = self.reader.snapshot()
            if held.version == writer.store.version():
                whole = refresh.build(writer.store, held.version)
                assert contents(held) == contents(whole)
                assert nearest_ids(held) == nearest_ids(whole)

        def teardown(self) -> None:
            held, version = self.reader.refresh(), writer.store.version()
            assert contents(held) == contents(refresh.build(writer.store, version))
            self.reader.store.engine.dispose()

    return IncrementalRefresh


def test_incremental_refresh_equals_a_full_rebuild_after_random_edits(writer: Registry, database_url: str) -> None:
    examples = 25 if database_url.startswith("sqlite") else 10
    run_state_machine_as_test(
        machine(writer), settings=settings(max_examples=examples, stateful_step_count=20, deadline=None)
    )


def test_a_refresh_reads_only_what_changed(writer: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    for i, name in enumerate(NAMES):
        writer.create(station(name, i), "seed")
    reader = Registry(Store(writer.store.url), None, check_interval_s=0)
    before = reader.snapshot()
    writer.update("B", {"phone": "0571-1"}, "editor")
    writer.delete("C", "admin", hard=True)
    read: list[str] = []
    original = Station.model_validate

    def counting(data: Any, *args: Any, **kwargs: Any) -> Station:
        read.append(data["id"])
        return original(data, *args, **kwargs)

    monkeypatch.setattr(Station, "model_validate", counting)
    after = reader.refresh()
    monkeypatch.undo()
    # C's removal comes as an id; A, D and E are never read again (E, the newest write when the reader was built, is
    # stamped at its cursor: the delta starts strictly after it)
    assert sorted(read) == ["B"]
    assert [s.id for s in after.stations] == ["A", "B", "D", "E"] and after.get("B").phone == "0571-1"
    kept = [c.payloads[c.segment[s.position("A")]] for c, s in ((before.columns, before), (after.columns, after))]
    assert kept[0] is kept[1]  # A's stored JSON kept, not copied


# --------------------------------------------------------------------------- in the background, over HTTP


class SlowRefresh:
    """Wraps a registry's ``_advance`` (its refresh step): after the first build, a refresh waits until released."""

    def __init__(self, advance: Callable[[Snapshot | None, int], Snapshot]) -> None:
        self.advance = advance
        self.started, self.release, self.finished = threading.Event(), threading.Event(), threading.Event()

    def __call__(self, before: Snapshot | None, version: int) -> Snapshot:
        if before is None:
            return self.advance(before, version)
        self.started.set()
        assert self.release.wait(30), "the test never released the refresh"
        try:
            return self.advance(before, version)
        finally:
            self.finished.set()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'refresh.sqlite3'}"


@pytest.fixture
def served(sqlite_url: str) -> Iterator[tuple[TestClient, Registry]]:
    """The API over a registry of two stations, checking the store's version at every request; and a writer on the
    same database (another process)."""
    writer = Registry(Store(sqlite_url), None, check_interval_s=0)
    writer.create(station("A", 0), "seed")
    writer.create(station("B", 1), "seed")
    app = create_app(Settings(database_url=sqlite_url, check_interval_s=0, demand_path=None))
    with TestClient(app) as client:
        yield client, writer


def test_a_request_during_a_slow_refresh_answers_from_the_old_snapshot(
    served: tuple[TestClient, Registry], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, writer = served
    registry: Registry = client.app.state.registry  # type: ignore[attr-defined]
    slow = SlowRefresh(registry._advance)
    monkeypatch.setattr(registry, "_advance", slow)
    assert registry.background is not None
    writer.create(station("C", 2), "elsewhere")  # version 3, written by another process
    first = client.get("/healthz").json()  # notices version 3, starts the refresh, answers at once
    assert (first["registry_version"], first["stations"]) == (2, 2)
    assert slow.started.wait(30)  # the refresh runs, and cannot end until released
    during = client.get("/stations/nearby", params={"lon": 120.15, "lat": 30.27, "k": 5})
    health = client.get("/healthz").json()
    assert not slow.finished.is_set()  # both answers came while the refresh was still running
    assert during.status_code == 200 and [f["id"] for f in during.json()["features"]] == ["A", "B"]
    assert (health["status"], health["registry_version"]) == ("ok", 2)
    slow.release.set()
    assert registry.background.wait(1)
    after = client.get("/healthz").json()
    assert (after["registry_version"], after["stations"]) == (3, 3)
    nearby = client.get("/stations/nearby", params={"lon": 120.15, "lat": 30.27, "k": 5}).json()
    assert [f["id"] for f in nearby["features"]] == ["A", "B", "C"]


def insert_malformed(store: Store, station_id: str) -> None:
    """A row no Station validates (no name, no types), written with a new registry version, as a broken writer
    (or a hand edit of the database) would leave it."""
    with Session(store.engine) as session, session.begin():
        bump_version(session)
        session.execute(
            insert(StationRow).values(
                id=station_id,
                lon=120.2,
                lat=30.3,
                adcode=None,
                payload={"id": station_id, "lon": "east"},
                updated_at=datetime.now(UTC),
                revision=1,
            )
        )


def remove_row(store: Store, station_id: str) -> None:
    with Session(store.engine) as session, session.begin():
        bump_version(session)
        session.execute(delete(StationRow).where(StationRow.id == station_id))


def test_a_failing_refresh_keeps_serving_logs_once_retries_and_says_degraded(
    served: tuple[TestClient, Registry], caplog: pytest.LogCaptureFixture
) -> None:
    client, writer = served
    app: Any = client.app
    background = app.state.registry.background
    background.retry_first_s = background.retry_most_s = 0.01  # retry at once (the test waits on counts)
    caplog.set_level(logging.ERROR, logger="yizhan.refresh")
    insert_malformed(writer.store, "BAD")  # version 3
    done = background.completed
    assert client.get("/healthz").json()["status"] == "ok"  # noticed; the refresh runs after this answer
    assert background.wait(done + 3)  # the failure, then two retries of its own (no request asked for them)
    health = client.get("/healthz").json()
    assert health["status"] == "degraded" and health["registry_version"] == 2 and health["stations"] == 2
    assert health["refresh_error"] == "ValidationError" and health["refresh_failures"] >= 3
    assert "east" not in str(health)  # the kind of failure only; the cause is in the log
    nearby = client.get("/stations/nearby", params={"lon": 120.15, "lat": 30.27, "k": 5})
    assert nearby.status_code == 200 and [f["id"] for f in nearby.json()["features"]] == ["A", "B"]
    failures = [r for r in caplog.records if r.name == "yizhan.refresh"]
    assert len(failures) == 1 and "ValidationError" in failures[0].getMessage()  # once, however many retries
    remove_row(writer.store, "BAD")  # version 4: the next retry succeeds
    for _ in range(20):  # one retry may have begun before the removal and fail; the next begins after it
        done = background.completed  # read before the status: the success that ends the streak then counts
        if not background.status.degraded:
            break
        assert background.wait(done + 1)
    # a retry that read the version (3) before the removal and its rows after it succeeds labelled 3 (by design:
    # the version is read first, so a label is never ahead of the data); the next request notices 4 and refreshes
    for _ in range(20):
        done = background.completed
        healed = client.get("/healthz").json()
        if healed["registry_version"] == 4:
            break
        assert background.wait(done + 1)
    assert (healed["status"], healed["registry_version"], healed["stations"]) == ("ok", 4, 2)
    assert "refresh_error" not in healed


def seeded_reader(
    sqlite_url: str, kind: type[Registry], check_interval_s: float
) -> tuple[Registry, Registry, Snapshot]:
    """A writer that wrote station A, and a reader of ``kind`` holding the snapshot with it, refreshing in the
    background."""
    writer = Registry(Store(sqlite_url), None, check_interval_s=0)
    writer.create(station("A", 0), "seed")
    reader = kind(Store(sqlite_url), None, check_interval_s=check_interval_s)
    held = reader.snapshot()
    reader.refresh_in_background()
    return writer, reader, held


def test_a_store_gone_keeps_the_snapshot_serving(sqlite_url: str) -> None:
    class Gone(Registry):
        def _advance(self, before: Snapshot | None, version: int) -> Snapshot:
            if before is not None:
                raise OSError("database unreachable")
            return super()._advance(before, version)

    writer, reader, held = seeded_reader(sqlite_url, Gone, check_interval_s=0)
    assert reader.background is not None
    reader.background.retry_first_s = reader.background.retry_most_s = 60  # one failure, then a long wait
    writer.create(station("B", 1), "elsewhere")
    assert reader.snapshot() is held  # noticed: the refresh starts in the background
    assert reader.background.wait(1)
    assert reader.snapshot() is held and reader.refresh_status().degraded
    assert reader.refresh_status().error == "OSError" and reader.refresh_status().failures == 1
    reader.stop_background()


def test_a_worker_no_reader_reaches_still_takes_up_each_change(sqlite_url: str) -> None:
    """Under load the kernel may hand every new connection to another worker: no request of this one notices the
    change, so its background thread checks on its own every ``check_interval_s``."""
    writer, reader, held = seeded_reader(sqlite_url, Registry, check_interval_s=0.05)
    assert reader.background is not None
    for name in ("B", "C"):
        done = reader.background.completed
        writer.create(station(name, 1 + len(name)), "elsewhere")
        version = writer.store.version()
        assert reader.background.wait(done + 2, timeout_s=60)  # two checks of its own: the second after the write
        while reader._snapshot is None or reader._snapshot.version < version:  # no reader call: no kick
            done = reader.background.completed
            assert reader.background.wait(done + 1, timeout_s=60)
    assert reader._snapshot is not held and {s.id for s in reader._snapshot.stations} == {"A", "B", "C"}
    reader.stop_background()


def test_writes_are_stamped_by_the_database_clock_under_the_write_lock(writer: Registry, database_url: str) -> None:
    """On PostgreSQL a write's stamp comes from ``clock_timestamp()`` read after the version bump (under the write
    lock), so app hosts with skewed clocks stamp in commit order; SQLite runs in this process (its clock is this
    host's)."""
    statements: list[str] = []

    @event.listens_for(writer.store.engine, "before_cursor_execute")
    def record(_connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    writer.create(station("A", 0), "creator")
    bump = next(i for i, s in enumerate(statements) if s.lstrip().upper().startswith("UPDATE REGISTRY_META"))
    clock = [i for i, s in enumerate(statements) if "clock_timestamp" in s]
    if database_url.startswith("sqlite"):
        assert clock == []
        return
    assert len(clock) == 1 and clock[0] > bump  # once per write, after the lock is taken
    with Session(writer.store.engine) as session:
        database_now = session.execute(select(func.clock_timestamp())).scalar_one()
    stamp = writer.history("A")[-1].at
    assert stamp <= database_now and opendata.dump(writer.store, "", "").next_modified_since == stamp
