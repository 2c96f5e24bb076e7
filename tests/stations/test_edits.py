"""Writes to the registry (``stations.edits`` through ``stations.registry``): RFC 7396 merge patches, revisions,
one transaction per batch, and a history that records every change and replays to the current station.

Runs on both stores where the store matters (transactions, JSON round trips, triggers); the pure functions and
the long random sequences run once, on SQLite.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from geo.districts import Districts
from stations import edits
from stations.edits import Change, diff, merge_patch, payload
from stations.errors import Conflict, ImportRejected, InvalidFields, InvalidValue, NotFound, StaleRevision
from stations.model import Station
from stations.registry import Registry
from stations.store import HistoryRow, StationRow, Store

ACTOR = "编辑小王"


def station(
    station_id: str, name: str = "武林街道工会驿站", lon: float = 120.16, lat: float = 30.27, **fields: Any
) -> Station:
    return Station(id=station_id, name=name, types=fields.pop("types", ["outdoor_worker"]), lon=lon, lat=lat, **fields)


@pytest.fixture
def registry(database_url: str, districts: Districts) -> Registry:
    return Registry(Store(database_url), districts, check_interval_s=0)


@pytest.fixture(scope="module")
def sqlite_registry(tmp_path_factory: pytest.TempPathFactory, districts: Districts) -> Registry:
    """One SQLite registry for the module's random sequences (examples share it; each uses its own ids)."""
    path = tmp_path_factory.mktemp("edits") / "edits.sqlite3"
    return Registry(Store(f"sqlite:///{path}"), districts, check_interval_s=0)


def history_count(store: Store) -> int:
    with Session(store.engine) as session:
        return session.scalar(select(func.count()).select_from(HistoryRow)) or 0


def everything(store: Store) -> tuple[int, int, list[tuple[str, int, dict]]]:
    """What a write could touch: the registry version, the number of history rows, every row with its revision."""
    with Session(store.engine) as session:
        rows = session.execute(select(StationRow.id, StationRow.revision, StationRow.payload).order_by(StationRow.id))
        stations = [(i, r, p) for i, r, p in rows]
    return store.version(), history_count(store), stations


def replay(entries: list[edits.HistoryEntry]) -> dict[str, Any] | None:
    """A station rebuilt from nothing by applying each history entry's ``after`` values (None: absent, or gone)."""
    state: dict[str, Any] | None = None
    for entry in entries:
        state = dict(state or {})
        for key, (_before, after) in entry.changes.items():
            if after is None:
                state.pop(key, None)
            else:
                state[key] = after
        state = state or None
    return state


# ---------------------------------------------------------------------------------------------- merge patch

# RFC 7396, Appendix A: (target, patch, result), verbatim.
RFC_7396_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize(("target", "patch", "result"), RFC_7396_EXAMPLES)
def test_merge_patch_gives_the_results_of_rfc_7396_appendix_a(target: Any, patch: Any, result: Any) -> None:
    assert merge_patch(target, patch) == result


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("abcd"), inner, max_size=4),
    max_leaves=12,
)


def reference_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 section 2's pseudocode, transcribed."""
    if isinstance(patch, dict):
        if not isinstance(target, dict):
            target = {}
        target = dict(target)
        for name, value in patch.items():
            if value is None:
                target.pop(name, None)
            else:
                target[name] = reference_merge_patch(target.get(name), value)
        return target
    return patch


@given(JSON, JSON)
def test_merge_patch_equals_the_rfc_pseudocode_and_leaves_its_inputs_alone(target: Any, patch: Any) -> None:
    target_before, patch_before = copy.deepcopy(target), copy.deepcopy(patch)
    merged = merge_patch(target, patch)
    assert merged == reference_merge_patch(target, patch)
    assert (target, patch) == (target_before, patch_before)
    assert merge_patch(merged, patch) == merged  # applying a merge patch twice changes nothing more


FLAT = st.dictionaries(st.sampled_from("abcdef"), JSON.filter(lambda v: v is not None), max_size=6)


@given(FLAT, FLAT)
def test_diff_lists_exactly_the_fields_that_differ_with_their_before_and_after(before: dict, after: dict) -> None:
    changes = diff(before, after)
    for key in before.keys() | after.keys():
        if before.get(key) == after.get(key):
            assert key not in changes
        else:
            assert changes[key] == [before.get(key), after.get(key)]
    assert list(changes) == sorted(changes)
    assert diff(None, None) == {} and diff(before, before) == {}


# ---------------------------------------------------------------------------------------------- apply


def test_each_write_bumps_the_revision_and_a_stale_one_changes_nothing(registry: Registry) -> None:
    created, revision = registry.create(station("A"), ACTOR)
    assert revision == 1 and created.adcode == "330105"  # found from the position: 拱墅区
    _, revision = registry.update("A", {"phone": "0571-1"}, ACTOR, expected_revision=1)
    assert revision == 2 and registry.versioned("A")[1] == 2
    before = everything(registry.store)
    with pytest.raises(StaleRevision) as stale:
        registry.update("A", {"phone": "0571-2"}, "另一位编辑", expected_revision=1)
    assert (stale.value.expected, stale.value.current) == (1, 2)
    assert everything(registry.store) == before
    assert registry.snapshot().get("A").phone == "0571-1"


def test_a_batch_is_written_whole_or_not_at_all(registry: Registry) -> None:
    registry.create(station("A"), ACTOR)
    before = everything(registry.store)
    batch = [
        Change("NEW", station("NEW", lon=120.17), "create"),
        Change("A", station("A", name="改名"), "update", expected_revision=1),
        Change("A", station("A", name="又改名"), "update", expected_revision=1),  # stale after the change before it
    ]
    with pytest.raises(StaleRevision):
        edits.apply(registry.store, batch, ACTOR)
    assert everything(registry.store) == before
    for bad, error in (
        (Change("A", station("A"), "create"), Conflict),
        (Change("GONE", station("GONE"), "update"), NotFound),
        (Change("GONE", None, "purge"), NotFound),
    ):
        with pytest.raises(error):
            edits.apply(registry.store, [Change("NEW", station("NEW"), "create"), bad], ACTOR)
        assert everything(registry.store) == before


def test_a_change_that_changes_nothing_writes_nothing(registry: Registry) -> None:
    registry.create(station("A", phone="1"), ACTOR)
    before = everything(registry.store)
    assert registry.update("A", {"phone": "1"}, ACTOR, expected_revision=1)[1] == 1
    assert registry.delete("A", ACTOR, hard=False) is True  # closing it is a change...
    closed = everything(registry.store)
    assert registry.delete("A", ACTOR, hard=False) is False  # ...closing it again is not
    assert everything(registry.store) == closed and closed[0] > before[0]


def test_an_unchanged_batch_leaves_the_registry_version_alone(registry: Registry) -> None:
    """Nothing to write, so nothing written: other processes need not rebuild their snapshots or caches."""
    registry.create(station("A"), ACTOR)
    before = everything(registry.store)
    assert edits.apply(registry.store, [Change("A", registry.versioned("A")[0], "import")], ACTOR) == []
    assert everything(registry.store) == before


def test_a_station_removed_and_created_again_never_reuses_an_old_etag(registry: Registry) -> None:
    """An editor holding ETag "1" of the removed station must not be able to change its successor with it."""
    registry.create(station("A", name="旧站"), ACTOR)
    registry.delete("A", ACTOR, expected_revision=1, hard=True)
    _, revision = registry.create(station("A", name="新站"), ACTOR)
    assert revision > 2
    with pytest.raises(StaleRevision):
        registry.update("A", {"name": "旧站改名"}, ACTOR, expected_revision=1)
    revisions = [e.revision for e in registry.history("A")]
    assert revisions == sorted(set(revisions))


def test_bad_patches_name_the_field_and_change_nothing(registry: Registry) -> None:
    registry.create(station("A"), ACTOR)
    before = everything(registry.store)
    for patch, field in (
        ({"name": None}, "name"),
        ({"types": ["bakery"]}, "types.0"),
        ({"lat": 91}, "lat"),
        ({"opening_hours": "whenever"}, "opening_hours"),
        ({"amenities": {"hot_water": "maybe"}}, "amenities.hot_water"),
        ({"nickname": "x"}, "nickname"),
    ):
        with pytest.raises(InvalidFields) as invalid:
            registry.update("A", patch, ACTOR, expected_revision=1)
        assert field in [f for f, _, _ in invalid.value.problems], (patch, invalid.value.problems)
    with pytest.raises(InvalidValue, match="id"):
        registry.update("A", {"id": "B"}, ACTOR, expected_revision=1)
    assert everything(registry.store) == before


def test_a_move_finds_the_new_district_unless_one_is_given(registry: Registry) -> None:
    registry.create(station("A"), ACTOR)  # 拱墅区
    moved, _ = registry.update("A", {"lon": 120.13, "lat": 30.26}, ACTOR)
    assert (moved.adcode, moved.district) == ("330106", "西湖区")
    renamed, _ = registry.update("A", {"district": "西湖风景区"}, ACTOR)
    assert (renamed.adcode, renamed.district) == ("330106", "西湖风景区")


# ---------------------------------------------------------------------------------------------- history


def test_history_records_every_kind_of_change_with_who_and_before_and_after(registry: Registry) -> None:
    registry.create(station("A", phone="1"), "创建者")
    registry.update("A", {"phone": "2", "amenities": {"hot_water": "yes"}}, "编辑甲", expected_revision=1)
    registry.verify("A", "核实员", expected_revision=2, on=date(2026, 11, 23))
    registry.delete("A", "编辑乙", expected_revision=3)
    registry.update("A", {"operating_status": "normal"}, "编辑丙", expected_revision=4)
    csv = "id,name,types,lon,lat,hot_water\nA,武林驿站,outdoor_worker,120.16,30.27,no\n"
    registry.import_file(csv.encode(), "union.csv", actor="导入员")
    registry.delete("A", "管理员", expected_revision=6, hard=True)

    entries = registry.history("A")
    assert [(e.revision, e.action, e.actor) for e in entries] == [
        (1, "create", "创建者"),
        (2, "update", "编辑甲"),
        (3, "verify", "核实员"),
        (4, "delete", "编辑乙"),
        (5, "restore", "编辑丙"),
        (6, "import", "导入员"),
        (7, "purge", "管理员"),
    ]
    changes = [e.changes for e in entries]
    assert changes[0]["phone"] == [None, "1"] and changes[0]["name"] == [None, "武林街道工会驿站"]
    assert changes[1] == {"amenities": [{}, {"hot_water": "yes"}], "phone": ["1", "2"]}
    assert changes[2] == {"verified_at": [None, "2026-11-23"]}
    assert changes[3] == {"operating_status": ["normal", "closed"]}
    assert changes[4] == {"operating_status": ["closed", "normal"]}
    assert changes[5] == {
        "amenities": [{"hot_water": "yes"}, {"hot_water": "no"}],
        "name": ["武林街道工会驿站", "武林驿站"],
    }
    assert all(after is None for _, after in changes[6].values()) and changes[6]["id"] == ["A", None]
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert replay(entries) is None
    with pytest.raises(NotFound):
        registry.history("NEVER")


OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["create", "patch", "verify", "close", "reopen", "purge", "import"]),
        st.sampled_from(["A", "B", "C"]),
        st.integers(0, 3),
    ),
    min_size=1,
    max_size=25,
)
PATCHES: list[dict[str, Any]] = [
    {"phone": "0571-88888888"},
    {"phone": None, "host": "市总工会"},
    {"amenities": {"hot_water": "yes", "wifi": "no"}},
    {"amenities": {"wifi": None, "toilet": "yes"}, "opening_hours": "24/7"},
    {"lon": 120.13, "lat": 30.26},
    {"name": "改名驿站", "capacity": 8, "opening_hours": None},
]


def run(registry: Registry, operations: list[tuple[str, str, int]], prefix: str) -> None:
    """Apply random operations (each a no-op where it cannot apply) to stations ``prefix + name``."""
    for operation, name, choice in operations:
        station_id = prefix + name
        exists = registry.store.versioned(station_id)
        if operation == "create" and exists is None:
            registry.create(station(station_id, lon=120.15 + choice / 100), f"actor-{choice}")
        elif operation == "import":
            row = f"{station_id},导入站{choice},outdoor_worker,120.1{choice},30.25,{['yes', 'no', ''][choice % 3]}"
            registry.import_file(f"id,name,types,lon,lat,hot_water\n{row}\n".encode(), "f.csv", actor="importer")
        elif exists is None:
            continue
        elif operation == "patch":
            registry.update(station_id, PATCHES[choice + (2 if exists[1] % 2 else 0)], f"actor-{choice}", exists[1])
        elif operation == "verify":
            registry.verify(station_id, "verifier", exists[1], on=date(2026, 1, 1 + choice))
        elif operation == "close":
            registry.delete(station_id, "closer", exists[1])
        elif operation == "reopen":
            registry.update(station_id, {"operating_status": "normal"}, "opener", exists[1])
        elif operation == "purge":
            registry.delete(station_id, "admin", exists[1], hard=True)


@settings(max_examples=40)
@given(operations=OPERATIONS)
def test_replaying_the_history_from_nothing_gives_the_station_as_stored(
    sqlite_registry: Registry, operations: list[tuple[str, str, int]]
) -> None:
    prefix = f"H{history_count(sqlite_registry.store)}-"  # examples share the database; names never clash
    run(sqlite_registry, operations, prefix)
    for name in "ABC":
        entries = edits.history(sqlite_registry.store, prefix + name)
        current = sqlite_registry.store.versioned(prefix + name)
        assert replay(entries) == (payload(current[0]) if current else None)
        if current is not None:
            assert entries[-1].revision == current[1]
        revisions = [e.revision for e in entries]
        assert revisions == sorted(set(revisions))  # never reused, even across removal and re-creation
        assert all(e.changes for e in entries)  # an entry always records a change


# ------------------------------------------------------------------------------- a database that refuses a row

REFUSE_ROW_SQL = {
    "sqlite": [
        "CREATE TRIGGER refuse_s09000 BEFORE INSERT ON stations WHEN NEW.id = 'S09000' "
        "BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_s09000() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.id = 'S09000' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; RETURN NEW; END $$",
        "CREATE TRIGGER refuse_s09000 BEFORE INSERT ON stations FOR EACH ROW EXECUTE FUNCTION refuse_s09000()",
    ],
}


def big_file(rows: int, bad_row: int | None = None) -> bytes:
    """Synthetic stations S00000... on a lattice in Hangzhou, 0.001° apart; ``bad_row`` (1-based) has no latitude."""
    lines = ["id,name,types,lon,lat,phone"]
    for i in range(rows):
        lat = "" if bad_row is not None and i + 1 == bad_row else f"{30.20 + (i // 100) * 0.001:.3f}"
        lines.append(f"S{i:05d},合成驿站{i},outdoor_worker,{120.10 + (i % 100) * 0.001:.3f},{lat},0571-{i}")
    return ("\n".join(lines) + "\n").encode()


@pytest.mark.slow
def test_an_import_the_database_refuses_at_row_9000_of_10000_writes_nothing(registry: Registry) -> None:
    registry.import_file(big_file(50), "first.csv")  # 50 stations the big file then updates
    registry.update("S00007", {"host": "手工录入"}, ACTOR)
    with registry.store.engine.begin() as connection:
        for statement in REFUSE_ROW_SQL[registry.store.engine.dialect.name]:
            connection.execute(text(statement))
    before = everything(registry.store)
    snapshot = registry.snapshot()
    data = big_file(10_000).replace(b"0571-", b"0571-9")  # changes the 50 stored stations too
    with pytest.raises(DBAPIError, match="refused by the test trigger"):
        registry.import_file(data, "big.csv")
    assert everything(registry.store) == before
    assert registry.snapshot().stations == snapshot.stations


def test_an_import_with_a_bad_row_9000_of_10000_writes_nothing(tmp_path: Path) -> None:
    registry = Registry(Store(f"sqlite:///{tmp_path / 'bad.sqlite3'}"))
    registry.import_file(big_file(50), "first.csv")
    before = everything(registry.store)
    with pytest.raises(ImportRejected) as rejected:
        registry.import_file(big_file(10_000, bad_row=9_000), "big.csv")
    assert [(p.row, p.field) for p in rejected.value.problems] == [(9_001, "lat")]  # the header is line 1
    assert everything(registry.store) == before
