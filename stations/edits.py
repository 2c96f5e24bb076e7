"""Every write to the registry: stations created, changed or removed, each recorded in the history in the
same transaction, all of a batch or none.

Writers queue on the registry version (``store.bump_version`` is the first statement of each write), so a
write always sees what earlier writes committed; a station's ``revision`` then tells whether the editor's copy
is still current (optimistic concurrency: a stale revision changes nothing).
"""

from __future__ import annotations

import itertools
import json
import math
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

import orjson
from sqlalchemy import ARRAY, JSON, ColumnElement, String, any_, bindparam, delete, func, insert, select, update
from sqlalchemy import column as column_
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator

if TYPE_CHECKING:
    from sqlalchemy import Insert, Select, Table

from stations import search
from stations.errors import Conflict, NotFound, RegistryChanged, StaleRevision
from stations.model import Station
from stations.store import HistoryRow, StationRow, Store, as_utc, bump_version

Action = Literal["create", "update", "verify", "delete", "restore", "purge", "import"]
ACTIONS: tuple[str, ...] = get_args(Action)
_CHUNK = 500
WRITE_CHUNK = 5_000
"""Rows written per statement of a large batch (and how often ``apply`` reports progress)."""


@dataclass(frozen=True, slots=True)
class Change:
    """One station to write: ``after`` is its new state, or None to remove it for good.

    With ``expected_revision`` the write applies only if the station is at that revision now; ``create``
    applies only if no station has the id.
    """

    station_id: str
    after: Station | None
    action: Action
    expected_revision: int | None = None


@dataclass(frozen=True, slots=True)
class Written:
    """What one change did: the station's new revision and each changed field ``[before, after]``."""

    station_id: str
    revision: int
    changes: dict[str, list[Any]]
    at: datetime


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """One recorded change of a station: its revision, action, who and when (UTC), each field ``[before, after]``."""

    station_id: str
    revision: int
    action: str
    actor: str
    at: datetime
    changes: dict[str, list[Any]]

    def as_json(self) -> dict[str, Any]:
        """The entry as the API and ``yizhan history --json`` give it (time in ISO 8601, UTC)."""
        return {
            "revision": self.revision, "action": self.action, "actor": self.actor, "at": self.at.isoformat(),
            "changes": self.changes,
        }  # fmt: skip


def payload(station: Station) -> dict[str, Any]:
    """A station as stored: JSON types, absent fields left out."""
    return station.model_dump(mode="json", exclude_none=True)


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, list[Any]]:
    """``{field: [before, after]}`` for each top-level field that differs (None: absent).

    >>> diff({"name": "A", "phone": "1"}, {"name": "B", "phone": "1", "host": "union"})
    {'host': [None, 'union'], 'name': ['A', 'B']}
    """
    if not before:  # a new station (an import's usual case): every field it has, without a lookup per key
        return {key: [None, value] for key, value in sorted((after or {}).items()) if value is not None}
    after = after or {}
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    }


def field_changes(changes: dict[str, list[Any]]) -> list[tuple[str, Any, Any]]:
    """A history entry's changes as ``(field, before, after)``, one per changed key of an object field
    (amenities, external ids: ``amenities.wifi``), as the CLI's history table and the console show them.

    >>> field_changes({"amenities": [{"wifi": "no", "toilet": "yes"}, {"toilet": "yes"}], "name": ["A", "B"]})
    [('amenities.wifi', 'no', None), ('name', 'A', 'B')]
    """
    found = []
    for key, (before, after) in changes.items():
        if isinstance(before, dict) and isinstance(after, dict):
            inner = {k: (before.get(k), after.get(k)) for k in sorted(before.keys() | after.keys())}
            found += [(f"{key}.{k}", b, a) for k, (b, a) in inner.items() if b != a]
        else:
            found.append((key, before, after))
    return found


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge key by key, ``null`` removes a key, anything else replaces.

    >>> merge_patch({"name": "A", "amenities": {"toilet": "yes", "wifi": "no"}}, {"amenities": {"wifi": None}})
    {'name': 'A', 'amenities': {'toilet': 'yes'}}
    """
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def apply(
    store: Store,
    changes: Iterable[Change],
    actor: str,
    expected_version: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
) -> list[Written]:
    """Write ``changes`` in one transaction with their history; raise (writing nothing) on the first change
    whose expected revision is stale, whose station is missing, or that creates an existing id — or, with
    ``expected_version``, with RegistryChanged if anything was written since the registry was at that version.

    ``on_chunk(count)`` is told of every ``WRITE_CHUNK`` changes prepared and then stored (so ``2 * len(changes)``
    in all), inside the transaction: whatever it raises (a cancel) rolls the whole batch back.

    Changes that change nothing are skipped: no new revision, no history; a batch with nothing to write
    leaves the registry version alone. A station created again after it was removed for good continues
    its old revisions, so an ETag of the removed station never matches its successor.
    """
    written: list[Written] = []
    apply_many(store, changes, actor, expected_version, on_chunk, written.append)
    return written


def apply_many(
    store: Store,
    changes: Iterable[Change],
    actor: str,
    expected_version: int | None = None,
    on_chunk: Callable[[int], None] | None = None,
    on_written: Callable[[Written], None] | None = None,
    on_stored: Callable[[str, dict[str, Any] | None], None] | None = None,
) -> int:
    """``apply`` for large batches (an import): the number of stations written, each told to ``on_written``
    when given, instead of a list of them all; ``on_stored(station_id, payload)`` hears what each chunk left of
    each station it changed, in write order: the payload stored (the dict the write dumped: a caller keeping the
    stations, as the registry's snapshot does, need not dump them again) or None, removed. Both are told inside
    the transaction: a later failure or cancel writes nothing of what they heard.

    ``changes`` are taken ``WRITE_CHUNK`` at a time (an iterator is never held whole): each chunk's stored rows
    are read, its rows and history entries prepared (payloads serialised once, by orjson) and written (new
    rows by the DBAPI cursor's executemany with tuples, ``_insert_many``; updates and removals by SQLAlchemy
    Core statements), then dropped. All chunks share one transaction, so a later chunk
    sees what an earlier one wrote (changes still apply in order, the last wins) and a failure or a cancel in
    any chunk writes nothing.
    """
    count = 0
    with Session(store.engine) as session, session.begin() as transaction:
        version = bump_version(session)
        if expected_version is not None and version != expected_version + 1:
            raise RegistryChanged(f"the registry changed (version {expected_version} → {version - 1}) meanwhile")
        now = write_stamp(session)  # under the write lock, from the database's clock: stamps follow commit order
        batches = iter(changes)
        while chunk := list(itertools.islice(batches, WRITE_CHUNK)):
            count += _write_chunk(session, chunk, actor, now, on_chunk, on_written, on_stored)
        if not count:
            transaction.rollback()  # not even the version bump: nothing changed
    return count


def write_stamp(session: Session) -> datetime:
    """The moment (UTC) that stamps the write in ``session``'s transaction, taken after ``bump_version`` (under the
    write lock) from the database's clock — PostgreSQL's ``clock_timestamp()``, so app hosts with skewed clocks
    still stamp in commit order; SQLite runs inside this process, so its clock is this host's."""
    if session.get_bind().dialect.name == "postgresql":
        return session.execute(select(func.clock_timestamp())).scalar_one().astimezone(UTC)  # type: ignore[no-any-return]
    return datetime.now(UTC)


def _write_chunk(
    session: Session,
    changes: list[Change],
    actor: str,
    now: datetime,
    on_chunk: Callable[[int], None] | None,
    on_written: Callable[[Written], None] | None,
    on_stored: Callable[[str, dict[str, Any] | None], None] | None = None,
) -> int:
    """Prepare and write one chunk of changes in ``session``'s transaction; how many stations it wrote."""
    current = _current(session, [c.station_id for c in changes])
    stored = {station_id for station_id, row in current.items() if row is not None}
    stored_payloads = {station_id: row[0] for station_id, row in current.items() if row is not None}
    last_revision = _last_revisions(session, [c.station_id for c in changes if c.station_id not in stored])
    # each changed station's row as the chunk leaves it (None: removed): changes apply in order, the last wins
    final: dict[str, dict[str, Any] | None] = {}
    history = []
    for change in changes:
        row = current.get(change.station_id)
        revision = row[1] if row else None
        _check(change, revision)
        after = payload(change.after) if change.after is not None else None
        changed = diff(row[0] if row else None, after)
        if not changed:
            continue
        exact = _exact_json(after) if after is not None else None
        after_json = exact if exact is not None or after is None else json.dumps(after)
        # a new station's changes hold its payload's values (each as [null, value]): exact in orjson if it was
        changes_json = orjson.dumps(changed).decode() if row is None and exact is not None else dumps(changed)
        new_revision = (revision if revision is not None else last_revision.get(change.station_id, 0)) + 1
        last_revision[change.station_id] = new_revision
        current[change.station_id] = (after, new_revision) if after is not None else None
        final[change.station_id] = (
            _columns(change.after, after_json, now, new_revision) if change.after is not None and after_json else None
        )
        history.append(
            {"station_id": change.station_id, "revision": new_revision, "action": change.action, "actor": actor,
             "at": now, "changes_json": changes_json}
        )  # fmt: skip
        if on_written is not None:
            on_written(Written(change.station_id, new_revision, changed, now))
    if on_chunk is not None:
        on_chunk(len(changes))
    purges = [station_id for station_id, values in final.items() if values is None and station_id in stored]
    inserts = [values for station_id, values in final.items() if values is not None and station_id not in stored]
    updates = [values for station_id, values in final.items() if values is not None and station_id in stored]
    for start in range(0, len(purges), _CHUNK):
        session.execute(delete(_STATIONS).where(_STATIONS.c.id.in_(purges[start : start + _CHUNK])))
    if inserts:
        _insert_many(session, _INSERT_STATION, _STATION_COLUMNS, inserts)
    if updates:
        session.execute(_UPDATE_STATION, [{"station_id": v.pop("id"), **v} for v in updates])
    if history:
        _insert_many(session, _INSERT_HISTORY, _HISTORY_COLUMNS, history)
    _reindex(session, final, current, stored_payloads)
    if on_stored is not None:
        for station_id, values in final.items():
            row = current.get(station_id)
            on_stored(station_id, row[0] if values is not None and row is not None else None)
    if on_chunk is not None:
        on_chunk(len(changes))
    return len(history)


def _reindex(
    session: Session,
    final: dict[str, dict[str, Any] | None],
    current: dict[str, tuple[dict[str, Any], int] | None],
    stored_payloads: dict[str, dict[str, Any]],
) -> None:
    """The search index told of the chunk's writes (``stations.search``): stations removed for good dropped,
    stations new or whose searched text changed indexed again; the rest (most updates) left alone."""
    removed = [station_id for station_id, values in final.items() if values is None and station_id in stored_payloads]
    written = []
    for station_id, values in final.items():
        row = current.get(station_id)
        if values is None or row is None:
            continue
        before = stored_payloads.get(station_id)
        if before is None or search.station_text(before) != search.station_text(row[0]):
            written.append((station_id, row[0]))
    if removed or written:
        search.reindex(session.connection(), removed, written)


def dumps(value: dict[str, Any]) -> str:
    """JSON text of a payload or of a history entry's changes, as the store keeps it: orjson (UTF-8, no spaces;
    ~10x faster than ``json.dumps``), or ``json.dumps`` where orjson would change the value: a float field that
    is not finite (orjson writes null) or text that is not valid Unicode (a lone surrogate, which orjson refuses).

    >>> dumps({"name": "驿站", "lon": 120.5, "host": [None, "工会"]})
    '{"name":"驿站","lon":120.5,"host":[null,"工会"]}'
    >>> dumps({"area_m2": float("inf")})
    '{"area_m2": Infinity}'
    """
    exact = _exact_json(value)
    return exact if exact is not None else json.dumps(value)


def _exact_json(value: dict[str, Any]) -> str | None:
    """``value`` as orjson writes it, or None where that would change it (see ``dumps``). orjson writes a NaN or
    an infinity as ``null``, so floats are checked only when the text holds one (a payload has no null of its
    own: absent fields are left out)."""
    try:
        text = orjson.dumps(value)
    except orjson.JSONEncodeError:
        return None
    if b"null" in text:
        for key in _FLOAT_FIELDS:
            found = value.get(key)
            if found is not None and not _finite(found):
                return None
    return text.decode()


_FLOAT_FIELDS = tuple(name for name, info in Station.model_fields.items() if info.annotation in (float, float | None))
"""The Station fields that hold floats: the only values of a payload that may be NaN or infinite."""


def _finite(value: Any) -> bool:
    """Whether a float field's value (or a history entry's ``[before, after]`` of one) is finite."""
    if isinstance(value, list):
        return all(v is None or math.isfinite(v) for v in value)
    return math.isfinite(value)


class SerialisedJSON(TypeDecorator[str]):
    """A JSON column's value given as JSON text already (``dumps``): stored as it is, not serialised again."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[str | None], Any] | None:
        """PostgreSQL: the text wrapped for psycopg's json type, unchanged; SQLite: none (the text is stored)."""
        if dialect.name == "postgresql":  # psycopg sends a Json wrapper with the json type; its dumps: the text
            from psycopg.types.json import Json

            return lambda text: Json(text, dumps=_as_is)
        return None  # SQLite keeps JSON as text


def _as_is(text: Any) -> str:
    return str(text)


_STATIONS = cast("Table", StationRow.__table__)  # a declarative class's table (typed as any FromClause)
_HISTORY = cast("Table", HistoryRow.__table__)
_INSERT_STATION = insert(_STATIONS).values(payload=bindparam("payload_json", type_=SerialisedJSON()))
_UPDATE_STATION = (  # the other columns from the parameters' keys
    update(_STATIONS)
    .where(_STATIONS.c.id == bindparam("station_id"))
    .values(payload=bindparam("payload_json", type_=SerialisedJSON()))
)
_INSERT_HISTORY = insert(_HISTORY).values(changes=bindparam("changes_json", type_=SerialisedJSON()))


_STATION_COLUMNS = (
    ("id", "id"), ("lon", "lon"), ("lat", "lat"), ("adcode", "adcode"), ("payload", "payload_json"),
    ("updated_at", "updated_at"), ("revision", "revision"),
)  # fmt: skip
"""The columns ``_write_chunk`` inserts into stations, each with the key of its value in ``_columns``' dicts."""
_HISTORY_COLUMNS = (
    ("station_id", "station_id"), ("revision", "revision"), ("action", "action"), ("actor", "actor"),
    ("at", "at"), ("changes", "changes_json"),
)  # fmt: skip
_PLACEHOLDERS = {"qmark": "?", "format": "%s", "pyformat": "%s"}


def _insert_many(
    session: Session, statement: Insert, columns: tuple[tuple[str, str], ...], values: list[dict[str, Any]]
) -> None:
    """Run the insert ``statement`` for ``values`` (dicts keyed as ``columns`` name them) in ``session``'s
    transaction as one executemany of the DBAPI cursor with tuples, each column's values converted by its type's
    bind processor for the dialect a column at a time (a JSON column's value is JSON text already, as
    ``SerialisedJSON`` takes it), not by SQLAlchemy's parameter processing a dict at a time (~15 µs a row)."""
    connection = session.connection()
    dialect = connection.dialect
    table = cast("Table", statement.table)
    placeholder = _PLACEHOLDERS.get(dialect.paramstyle)
    if placeholder is None:  # a driver with another style: SQLAlchemy's own executemany
        session.execute(statement, values)
        return
    names = [name for name, _ in columns]
    rows: list[Any] = list(map(operator.itemgetter(*[key for _, key in columns]), values))
    by_column: list[Any] = []
    for position, name in enumerate(names):
        kind = table.c[name].type
        processor = (SerialisedJSON() if isinstance(kind, JSON) else kind).dialect_impl(dialect).bind_processor(dialect)
        if processor is None:
            continue
        if not by_column:
            by_column = list(zip(*rows, strict=True))
        column = by_column[position]
        first = column[0]
        if all(value is first for value in column):  # a timestamp shared by the whole batch: converted once
            by_column[position] = [processor(first)] * len(column)
        else:
            by_column[position] = list(map(processor, column))
    if by_column:
        rows = list(zip(*by_column, strict=True))
    preparer = dialect.identifier_preparer
    text = (
        f"INSERT INTO {preparer.format_table(table)} ({', '.join(preparer.quote(name) for name in names)}) "
        f"VALUES ({', '.join([placeholder] * len(names))})"
    )
    connection.exec_driver_sql(text, rows)


def history(store: Store, station_id: str) -> list[HistoryEntry]:
    """Every recorded change of one station, oldest first (also after it was removed for good)."""
    with Session(store.engine) as session:
        rows = session.scalars(
            select(HistoryRow).where(HistoryRow.station_id == station_id).order_by(HistoryRow.id)
        ).all()
        return [HistoryEntry(r.station_id, r.revision, r.action, r.actor, as_utc(r.at), r.changes) for r in rows]


def _current(session: Session, ids: list[str]) -> dict[str, tuple[dict[str, Any], int] | None]:
    found: dict[str, tuple[dict[str, Any], int] | None] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), WRITE_CHUNK):
        chunk = unique[start : start + WRITE_CHUNK]
        query = select(StationRow.id, StationRow.payload, StationRow.revision).where(
            _among(session, StationRow.id, chunk)
        )
        found.update({station_id: (data, revision) for station_id, data, revision in session.execute(query)})
    return found


def _among(session: Session, column: InstrumentedAttribute[str], ids: list[str]) -> ColumnElement[bool]:
    """``column IN ids`` with the ids as one bound value — a PostgreSQL array, a JSON array read by SQLite's
    ``json_each`` — instead of an IN list of one bound value per id (SQLAlchemy builds each: ~10 µs an id)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam("ids", ids, type_=ARRAY(String), unique=True))
    values = func.json_each(bindparam("ids", json.dumps(ids), unique=True))
    listed: Select[str] = select(column_("value", String)).select_from(values)
    return column.in_(listed.scalar_subquery())


def _last_revisions(session: Session, ids: list[str]) -> dict[str, int]:
    """The newest revision recorded in the history of each of ``ids`` (stations removed for good, or never made)."""
    found: dict[str, int] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), WRITE_CHUNK):
        query = (
            select(HistoryRow.station_id, func.max(HistoryRow.revision))
            .where(_among(session, HistoryRow.station_id, unique[start : start + WRITE_CHUNK]))
            .group_by(HistoryRow.station_id)
        )
        found.update({station_id: revision for station_id, revision in session.execute(query)})
    return found


def _check(change: Change, revision: int | None) -> None:
    if change.action == "create" and revision is not None:
        raise Conflict(f"station {change.station_id!r} already exists; change it with PATCH")
    if change.action != "create" and change.action != "import" and revision is None:
        raise NotFound("station", change.station_id)
    if change.expected_revision is not None and revision != change.expected_revision:
        raise StaleRevision(change.station_id, change.expected_revision, revision)


def _columns(station: Station, data: str, now: datetime, revision: int) -> dict[str, Any]:
    """The stored row of ``station`` (``data``: its payload's JSON text) at ``revision``, stamped ``now``: the
    parameters of ``_INSERT_STATION`` (``_UPDATE_STATION`` names the id ``station_id``)."""
    return {
        "id": station.id,
        "lon": station.lon,
        "lat": station.lat,
        "adcode": station.adcode,
        "payload_json": data,
        "updated_at": now,
        "revision": revision,
    }
