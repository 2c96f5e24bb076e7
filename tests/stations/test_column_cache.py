"""The column cache (``stations.column_cache``): columns written and read back are equal to the originals (hostile
text, lone surrogates, empty registries); a cache the store does not agree with is not used or is advanced by the
changes since it to exactly what the store holds; a damaged file is never read as stations; workers starting
together build once.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert

from stations import column_cache, edits, refresh
from stations.column_cache import CacheUnusable, ColumnCache
from stations.columns import CODED, StationColumns
from stations.edits import Change
from stations.model import AMENITIES, OPERATING_STATUSES, STATION_TYPES, Station
from stations.registry import Registry
from stations.store import StationRow, Store

ROOT = Path(__file__).resolve().parents[2]
HOSTILE = ("<script>alert(1)</script>", "{{ 7*7 }}", "{% x %}", "=1+1", "a\u2028b\u200f", "\x00\x1f", "长" * 50)
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=12))  # any code point: lone surrogates too
KEY = {"store": "test", "schema": "0", "code": "x"}
STAMP = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def values(columns: StationColumns) -> dict[str, Any]:
    """Every column by position (arrays with their dtypes), coded texts decoded, each station's stored JSON."""
    found: dict[str, Any] = {}
    for name in ("ids", "lon", "lat", "type_bits", "amenity_bits", "status"):
        array = getattr(columns, name)
        found[name] = (array.dtype.str if name != "ids" or array.size else "S", array.tolist())
    found.update({name: columns.texts(name) for name in CODED})
    found["payloads"] = [columns.payload(i) for i in range(len(columns))]
    return found


@st.composite
def payloads(draw: st.DrawFn) -> dict[str, Any]:
    """A station's stored JSON, as the columns take it (unvalidated: text the model would refuse, too)."""
    data: dict[str, Any] = {
        "id": draw(st.text(st.characters(codec="utf-8"), min_size=1, max_size=6)),
        "name": draw(TEXT),
        "types": draw(st.lists(st.sampled_from(STATION_TYPES), min_size=1, max_size=3, unique=True)),
        "lon": draw(st.floats(73, 135)),
        "lat": draw(st.floats(18, 54)),
        "operating_status": draw(st.sampled_from(OPERATING_STATUSES)),
    }
    for name in ("opening_hours", "adcode", "photo_url", "address"):
        if draw(st.booleans()):
            data[name] = draw(TEXT)
    if draw(st.booleans()):
        data["amenities"] = draw(st.dictionaries(st.sampled_from(AMENITIES), st.sampled_from(["yes", "no"])))
    return data


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(payloads(), max_size=8), st.lists(payloads(), max_size=3))
def test_columns_written_and_read_back_are_equal(tmp_path: Path, given: list[dict], more: list[dict]) -> None:
    unique = {p["id"]: p for p in given}
    columns = StationColumns.from_payloads(list(unique.values())).sorted_by_id()
    fresh = {p["id"]: p for p in more if p["id"] not in unique}
    if fresh:  # a refresh's columns: several JSON buffers
        columns = columns.merged(StationColumns.from_payloads(list(fresh.values())).sorted_by_id())
    path = tmp_path / "c.columns"
    column_cache.save(path, columns, 7, STAMP, KEY)
    cached = column_cache.load(path, KEY)
    assert (cached.version, cached.stamp) == (7, STAMP)
    assert values(cached.columns) == values(columns)
    assert cached.columns.payloads == columns.payloads
    with pytest.raises(CacheUnusable, match="another"):
        column_cache.load(path, {**KEY, "store": "other"})


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, StationColumns]:
    columns = StationColumns.from_payloads(
        [{"id": f"S{i:03d}", "name": HOSTILE[i % 7], "types": ["driver_home"], "lon": 120 + i / 100, "lat": 30.0,
          "opening_hours": "24/7" if i % 2 else "Mo-Fr 08:00-17:00"} for i in range(50)]
    )  # fmt: skip
    path = tmp_path_factory.mktemp("saved") / "c.columns"
    column_cache.save(path, columns, 3, STAMP, KEY)
    return path.read_bytes(), columns


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_damaged_file_is_refused_or_reads_the_same(
    tmp_path: Path, saved: tuple[bytes, StationColumns], data: st.DataObject
) -> None:
    original, columns = saved
    damage = data.draw(st.sampled_from(["cut", "bytes", "random"]))
    if damage == "cut":
        damaged = original[: data.draw(st.integers(0, len(original) - 1))]
    elif damage == "bytes":
        at = data.draw(st.integers(0, len(original) - 1))
        junk = data.draw(st.binary(min_size=1, max_size=16))
        damaged = original[:at] + junk + original[at + len(junk) :]
    else:
        damaged = data.draw(st.binary(max_size=200))
    path = tmp_path / "c.columns"
    path.write_bytes(damaged)
    try:
        cached = column_cache.load(path, KEY)
    except CacheUnusable:
        return
    assert values(cached.columns) == values(columns)  # only the padding between sections was hit


def station(i: int, name: str = "驿站") -> Station:
    return Station(id=f"S{i:05d}", name=name, types=["outdoor_worker"], lon=120.1 + i / 1e4, lat=30.2)


@pytest.fixture
def registry_url(database_url: str) -> str:
    edits.apply(Store(database_url), [Change(s.id, s, "create") for s in map(station, range(30))], "test")
    return database_url


def from_store(url: str) -> dict[str, Any]:
    store = Store(url)
    return values(refresh.build(store, store.version()).columns)


def test_an_older_cache_is_advanced_to_what_the_store_holds(
    registry_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cache = ColumnCache(tmp_path, min_stations=0)
    first = Registry(Store(registry_url), column_cache=cache).snapshot()
    assert values(first.columns) == from_store(registry_url)
    writer = Registry(Store(registry_url))
    writer.update("S00003", {"name": "<script>x</script>"}, "test")
    writer.delete("S00004", "test", hard=True)
    writer.create(station(99), "test")
    with caplog.at_level(logging.INFO, "yizhan.column_cache"):
        second = Registry(Store(registry_url), column_cache=cache).snapshot()
        third = Registry(Store(registry_url), column_cache=cache).snapshot()
    assert [r.message.split(": ")[1].split(" at")[0] for r in caplog.records] == ["advanced"]  # third: read as is
    for snapshot in (second, third):
        assert snapshot.version == Store(registry_url).version()
        assert values(snapshot.columns) == from_store(registry_url)
    assert third.get("S00003").name == "<script>x</script>" and third.get("S00004") is None  # type: ignore[union-attr]


def test_a_cache_the_store_does_not_hold_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    edits.apply(Store(url), [Change(s.id, s, "create") for s in map(station, range(5))], "test")
    store = Store(url)
    cache = ColumnCache(tmp_path / "cache", min_stations=0)
    path = cache.folder / column_cache.file_name(store)
    key = column_cache.key_of(store)
    cache.first_snapshot(store, store.version())
    good = column_cache.load(path, key)
    wrong = StationColumns.from_stations([station(i, "别的") for i in range(5)])
    for version, stamp in [
        (good.version + 1, good.stamp),  # newer than the store: it went back, or another database
        (good.version, good.stamp - timedelta(microseconds=1)),  # a stamp the store never wrote
    ]:
        column_cache.save(path, wrong, version, stamp, key)
        with caplog.at_level(logging.INFO, "yizhan.column_cache"):
            snapshot = cache.first_snapshot(store, store.version())
        assert values(snapshot.columns) == from_store(url)
        assert values(column_cache.load(path, key).columns) == from_store(url)  # written again
    assert sum("ignored" in r.message for r in caplog.records) == 2
    assert sum(": built at" in r.message for r in caplog.records) == 2
    path.write_bytes(path.read_bytes()[:-10])  # cut short: built again
    assert values(cache.first_snapshot(store, store.version()).columns) == from_store(url)
    not_a_folder = ColumnCache(tmp_path / "r.sqlite3", min_stations=0)  # a file: served without the cache
    assert values(not_a_folder.first_snapshot(store, store.version()).columns) == from_store(url)
    assert ColumnCache.for_database(url, "off") is None
    assert ColumnCache.for_database(url, "") == ColumnCache(tmp_path.resolve() / ".yizhan-snapshot-cache")


WORKER = """
import logging, sys, time
from pathlib import Path
from stations.column_cache import ColumnCache
from stations.store import Store
logging.basicConfig(level=logging.INFO, format="%(message)s")
store = Store(sys.argv[1])
while not Path(sys.argv[3]).exists():
    time.sleep(0.01)
snapshot = ColumnCache(Path(sys.argv[2]), min_stations=0).first_snapshot(store, store.version())
print(len(snapshot), snapshot.version, snapshot.columns.ids[-1].decode())
"""


def test_workers_starting_together_build_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.sqlite3'}"
    rows = [{"id": s.id, "lon": s.lon, "lat": s.lat, "payload": edits.payload(s), "updated_at": STAMP}
            for s in map(station, range(20_000))]  # fmt: skip
    with Store(url).engine.begin() as connection:  # as bench/load.py writes a large registry: no history
        connection.execute(insert(StationRow), rows)
    go = tmp_path / "go"
    script = textwrap.dedent(WORKER)
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, url, str(tmp_path / "cache"), str(go)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    go.touch()
    outcomes = [worker.communicate(timeout=120) for worker in workers]
    assert [out for out, _ in outcomes] == ["20000 0 S19999\n"] * 3, outcomes
    logged = "".join(err for _, err in outcomes)
    assert logged.count(": built at") == 1, logged
    assert np.array_equal(
        column_cache.load(next((tmp_path / "cache").glob("*.columns")), column_cache.key_of(Store(url))).columns.ids,
        np.array([s.encode() for s in sorted(f"S{i:05d}" for i in range(20_000))]),
    )
