"""Open-data delta sync (``stations.opendata.dump`` with ``modified_since``): a client that applies each delta and
asks again from its ``next_modified_since`` holds exactly the registry, and each delta holds exactly what changed.

A model-based (stateful hypothesis) test drives random creates, edits, closes, reopenings, hard deletes,
re-creations and imports; a threaded test syncs while another thread writes. Both stores: stamps and their
comparison are the store's business.
"""

from __future__ import annotations

import itertools
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import event

from geo.districts import Districts
from stations import opendata
from stations.edits import payload
from stations.model import Station
from stations.registry import Registry
from stations.store import Store

EXAMPLES = itertools.count()
LICENCE, ATTRIBUTION = "CC BY 4.0", "test registry (synthetic)"
NAMES = ("A", "B", "C", "D")
PATCHES: list[dict[str, Any]] = [
    {"phone": "0571-88888888"},
    {"phone": None, "host": "区总工会"},
    {"amenities": {"hot_water": "yes", "microwave": "no"}},
    {"lon": 120.13, "lat": 30.26},
    {"name": "改名驿站", "opening_hours": "Mo-Su 08:00-20:00"},
]


@pytest.fixture
def registry(database_url: str, districts: Districts) -> Registry:
    return Registry(Store(database_url), districts, check_interval_s=0)


class Replica:
    """A delta-sync client: what it holds, and the cursor it asks from next."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.stations: dict[str, dict[str, Any]] = {}
        self.cursor: datetime | None = None
        self.sync()

    def sync(self) -> opendata.Dump:
        delta = opendata.dump(self.store, LICENCE, ATTRIBUTION, self.cursor)
        if self.cursor is None:  # a full download is the whole registry
            self.stations = {}
        for station, _revision, _at in delta.stations:
            self.stations[station.id] = payload(station)
        for station_id, _at in delta.deleted:
            self.stations.pop(station_id, None)
        assert delta.modified_since == self.cursor
        assert (delta.licence, delta.attribution) == (LICENCE, ATTRIBUTION)
        if self.cursor is not None:
            assert delta.next_modified_since is not None and delta.next_modified_since >= self.cursor
        self.cursor = delta.next_modified_since
        return delta


def registry_station(station_id: str, lon: float) -> Station:
    return Station(id=station_id, name="合成驿站", types=["outdoor_worker"], lon=lon, lat=30.27)


def registry_now(store: Store) -> dict[str, dict[str, Any]]:
    return {s.id: payload(s) for s, _, _ in opendata.dump(store, LICENCE, ATTRIBUTION).stations}


def machine(registry: Registry) -> type[RuleBasedStateMachine]:
    class DeltaSync(RuleBasedStateMachine):
        """Writes through the registry; ``touched`` is every station a write changed since the last sync."""

        def __init__(self) -> None:
            super().__init__()
            self.prefix = f"M{next(EXAMPLES)}-"  # the examples share one store
            self.replica = Replica(registry.store)
            self.touched: set[str] = set()

        def _id(self, name: str) -> str:
            return self.prefix + name

        def _current(self, name: str) -> tuple[Any, int] | None:
            return registry.store.versioned(self._id(name))

        @rule(name=st.sampled_from(NAMES), east=st.integers(0, 9))
        def create(self, name: str, east: int) -> None:
            if self._current(name) is None:
                registry.create(registry_station(self._id(name), 120.15 + east / 1000), "creator")  # or re-create
                self.touched.add(self._id(name))

        @rule(name=st.sampled_from(NAMES), which=st.integers(0, len(PATCHES) - 1))
        def patch(self, name: str, which: int) -> None:
            if (current := self._current(name)) is not None:
                _, revision = registry.update(self._id(name), PATCHES[which], "editor", current[1])
                if revision != current[1]:
                    self.touched.add(self._id(name))

        @rule(name=st.sampled_from(NAMES))
        def close(self, name: str) -> None:
            if (current := self._current(name)) is not None and registry.delete(self._id(name), "editor", current[1]):
                self.touched.add(self._id(name))

        @rule(name=st.sampled_from(NAMES))
        def reopen(self, name: str) -> None:
            if (current := self._current(name)) is not None and current[0].operating_status == "closed":
                registry.update(self._id(name), {"operating_status": "normal"}, "editor", current[1])
                self.touched.add(self._id(name))

        @rule(name=st.sampled_from(NAMES))
        def purge(self, name: str) -> None:
            if (current := self._current(name)) is not None:
                registry.delete(self._id(name), "admin", current[1], hard=True)
                self.touched.add(self._id(name))

        @rule(names=st.sets(st.sampled_from(NAMES), min_size=1), hot_water=st.sampled_from(["yes", "no"]))
        def import_file(self, names: set[str], hot_water: str) -> None:
            rows = [f"{self._id(n)},导入驿站{n},outdoor_worker,120.16,30.2{i},{hot_water}" for i, n in enumerate(names)]
            report = registry.import_file(("id,name,types,lon,lat,hot_water\n" + "\n".join(rows)).encode(), "f.csv")
            self.touched.update(p.id for p in report.rows_added + report.rows_updated)

        @rule()
        def sync(self) -> None:
            before = self.replica.cursor
            delta = self.replica.sync()
            got = {s.id for s, _, _ in delta.stations} | {i for i, _ in delta.deleted}
            again = {s.id for s, _, at in delta.stations if at == before} | {
                i for i, at in delta.deleted if at == before
            }
            if before is None:  # a full download: the registry as it is, no deleted ids
                assert got == set(registry_now(registry.store)) and delta.deleted == []
            else:
                assert self.touched <= got, "a change is missing from the delta"
                assert got <= self.touched | again, "the delta holds stations that did not change"
            self.touched = set()

        @invariant()
        def syncing_reproduces_the_registry(self) -> None:
            if not self.touched:  # just synced (or nothing written since)
                assert self.replica.stations == registry_now(registry.store)

        def teardown(self) -> None:
            self.sync()
            assert self.replica.stations == registry_now(registry.store)

    return DeltaSync


def test_delta_sync_reproduces_the_registry_after_random_edits(registry: Registry, database_url: str) -> None:
    examples = 30 if database_url.startswith("sqlite") else 12
    run_state_machine_as_test(
        machine(registry), settings=settings(max_examples=examples, stateful_step_count=25, deadline=None)
    )


def test_a_full_download_has_no_deleted_ids_and_its_cursor_is_the_newest_write(registry: Registry) -> None:
    empty = opendata.dump(registry.store, LICENCE, ATTRIBUTION)
    assert (empty.stations, empty.deleted, empty.next_modified_since) == ([], [], None)  # ask for everything again
    registry.create(registry_station("A", 120.15), "x")
    registry.create(registry_station("B", 120.16), "x")
    registry.delete("A", "admin", hard=True)
    removed_at = registry.history("A")[-1].at
    full = opendata.dump(registry.store, LICENCE, ATTRIBUTION)
    assert [s.id for s, _, _ in full.stations] == ["B"] and full.deleted == []
    assert full.next_modified_since == removed_at > full.stations[0][2]  # the removal is the newest write
    since = opendata.dump(registry.store, LICENCE, ATTRIBUTION, full.next_modified_since)
    assert (since.stations, since.deleted) == ([], [("A", removed_at)])  # stamped exactly at the cursor: again
    later = opendata.dump(registry.store, LICENCE, ATTRIBUTION, removed_at + timedelta(microseconds=1))
    assert (later.stations, later.deleted) == ([], [])
    assert later.next_modified_since == later.modified_since  # nothing new: ask from the same moment next time


def test_writes_that_land_while_a_delta_is_read_come_in_the_next_one(registry: Registry) -> None:
    """Another process edits A and then removes B just as the client's download is being read (the first query
    of the download runs, the writes commit, the download goes on): the next delta must still carry A's edit."""
    for name in NAMES:
        registry.create(registry_station(name, 120.15), "seed")
    replica = Replica(registry.store)
    reader = threading.get_ident()
    armed = [True]

    def other_process_writes() -> None:
        _, revision = registry.update("A", {"phone": "0571-1"}, "elsewhere")
        registry.delete("B", "elsewhere", hard=True)
        assert revision == 2

    @event.listens_for(registry.store.engine, "after_cursor_execute")
    def interleave(_connection, _cursor, statement: str, *_args: Any) -> None:
        if armed[0] and threading.get_ident() == reader and "FROM stations" in statement:
            armed[0] = False
            writer = threading.Thread(target=other_process_writes)
            writer.start()
            writer.join()

    try:
        replica.sync()
    finally:
        event.remove(registry.store.engine, "after_cursor_execute", interleave)
    assert not armed[0]  # the writes did land mid-download
    replica.sync()
    assert replica.stations == registry_now(registry.store)
    assert replica.stations["A"]["phone"] == "0571-1" and "B" not in replica.stations
