"""Columns from the payloads a write made (``stations.columns.ColumnsBuilder``, fed by ``edits.apply_many``'s
``on_stored``): what an import hands the registry's new snapshot instead of dumping each station again. On random
batches (hostile names, line and RTL marks, infinite areas, ids written twice, removals), the snapshot's columns merged
with them equal those of ``StationColumns.replace`` with the stations themselves (``from_stations``) and those read
back from the store; ``written`` keeps the last state of each id, as a dict of the events would.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stations import edits
from stations.columns import ColumnsBuilder, StationColumns, read
from stations.edits import Change, payload
from stations.model import AMENITIES, OPERATING_STATUSES, STATION_TYPES, Station
from stations.registry import Registry
from stations.store import Store
from tests.hostile import ALL as HOSTILE
from tests.stations.test_columnar_snapshot import column_values

EXAMPLES = itertools.count()
# the longest name; no lone surrogates: the model refuses them (in any field)
NAMES = (*HOSTILE, "驿站", "a\u2028b\u200f", "长" * 200)
POOL = ("A", "A1", "A10", "B", "驿", "驿站")  # ids that are prefixes of others, of other widths in bytes


@st.composite
def stations(draw: st.DrawFn, station_id: str) -> Station:
    return Station(
        id=station_id,
        name=draw(st.sampled_from(NAMES)),
        types=draw(st.lists(st.sampled_from(STATION_TYPES), min_size=1, max_size=3, unique=True)),
        lon=120.15 + draw(st.integers(0, 20)) / 1000,
        lat=30.27 + draw(st.integers(0, 20)) / 1000,
        opening_hours=draw(st.sampled_from([None, "24/7", "Mo-Fr 08:30-17:00; PH off"])),
        operating_status=draw(st.sampled_from(OPERATING_STATUSES)),
        amenities=draw(st.dictionaries(st.sampled_from(AMENITIES[:6]), st.sampled_from(["yes", "no"]), max_size=3)),
        adcode=draw(st.sampled_from([None, "330106"])),
        area_m2=draw(st.sampled_from([None, 12.5, float("inf")])),  # SQLite keeps JSON's Infinity as text
        phone=draw(st.sampled_from([None, "{{ 7*7 }}"])),
        external_ids=draw(st.sampled_from([{}, {"osm": "<script>"}])),
    )


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    folder: Path = tmp_path_factory.mktemp("columns-builder")
    return Registry(Store(f"sqlite:///{folder / 'yizhan.sqlite3'}"), None, check_interval_s=0)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_the_payloads_a_write_stored_give_the_columns_of_its_stations(registry: Registry, data: st.DataObject) -> None:
    prefix = f"W{next(EXAMPLES)}-"
    stored_first = [data.draw(stations(prefix + name)) for name in data.draw(st.sets(st.sampled_from(POOL)))]
    if stored_first:  # what the batch then replaces or removes
        edits.apply(registry.store, [Change(s.id, s, "import") for s in stored_first], "import")
    before = registry.refresh()
    existing = {s.id: s for s in registry.store.all()}
    changes, state = [], dict(existing)
    for _ in range(data.draw(st.integers(1, 12))):
        station_id = prefix + data.draw(st.sampled_from(POOL))
        if station_id in state and data.draw(st.integers(0, 3)) == 0:
            changes.append(Change(station_id, None, "purge"))
            del state[station_id]
        else:
            state[station_id] = data.draw(stations(station_id))
            changes.append(Change(station_id, state[station_id], "import"))
    builder = ColumnsBuilder(chunk=2)
    heard: list[tuple[str, dict[str, Any] | None]] = []

    def stored(station_id: str, stored_payload: dict[str, Any] | None) -> None:
        heard.append((station_id, stored_payload))
        builder.stored(station_id, stored_payload)

    # small chunks: a batch spans several write chunks and several parsed parts
    with mock.patch.object(edits, "WRITE_CHUNK", 3):
        edits.apply_many(registry.store, changes, "import", before.version, on_stored=stored)
    for station_id, stored_payload in heard:  # each payload is the station's as stored, at the time
        assert stored_payload is None or stored_payload["id"] == station_id
    merged = before.columns.merged(builder.written(), builder.removed)
    gone = [i for i in existing if i not in state]
    written = [state[i] for i in dict.fromkeys(c.station_id for c in changes) if i in state]
    assert column_values(merged) == column_values(before.columns.replace(written, gone))
    assert column_values(merged) == column_values(read(registry.store))
    assert column_values(merged) == column_values(
        StationColumns.from_stations(sorted(state.values(), key=lambda s: s.id))
    )


@settings(max_examples=60, deadline=None)
@given(events=st.lists(st.tuples(st.sampled_from(POOL), st.sampled_from([None, *NAMES[:5]])), max_size=12))
def test_written_keeps_the_last_state_of_each_id(events: list[tuple[str, str | None]]) -> None:
    builder, last = ColumnsBuilder(chunk=2), {}
    for station_id, name in events:
        station = None if name is None else Station(id=station_id, name=name, types=["driver_home"], lon=1, lat=2)
        builder.stored(station_id, None if station is None else payload(station))
        last[station_id] = station
    written = builder.written()
    expected = sorted((s for s in last.values() if s is not None), key=lambda s: s.id)
    assert column_values(written) == column_values(StationColumns.from_stations(expected))
    assert set(builder.removed) == {i for i, name in events if name is None}
