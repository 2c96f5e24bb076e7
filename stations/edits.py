"""Every write to the registry: stations created, changed or removed, each recorded in the history in the
same transaction, all of a batch or none.

Writers queue on the registry version (``store.bump_version`` is the first statement of each write), so a
write always sees what earlier writes committed; a station's ``revision`` then tells whether the editor's copy
is still current (optimistic concurrency: a stale revision changes nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

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
    before, after = before or {}, after or {}
    return {
        key: [before.get(key), after.get(key)]
        for key in sorted(before.keys() | after.keys())
        if before.get(key) != after.get(key)
    }


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
    changes: Sequence[Change],
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
    with Session(store.engine) as session, session.begin() as transaction:
        version = bump_version(session)
        if expected_version is not None and version != expected_version + 1:
            raise RegistryChanged(f"the registry changed (version {expected_version} → {version - 1}) meanwhile")
        now = datetime.now(UTC)  # taken under the write lock: writes are stamped in commit order
        current = _current(session, [c.station_id for c in changes])
        stored = {station_id for station_id, row in current.items() if row is not None}
        last_revision = _last_revisions(session, [c.station_id for c in changes if c.station_id not in stored])
        # each changed station's row as the batch leaves it (None: removed): changes apply in order, the last wins
        final: dict[str, dict[str, Any] | None] = {}
        history = []
        for count, change in enumerate(changes, start=1):
            if on_chunk is not None and count % WRITE_CHUNK == 0:
                on_chunk(WRITE_CHUNK)
            row = current.get(change.station_id)
            revision = row[1] if row else None
            _check(change, revision)
            after = payload(change.after) if change.after is not None else None
            changed = diff(row[0] if row else None, after)
            if not changed:
                continue
            new_revision = (revision if revision is not None else last_revision.get(change.station_id, 0)) + 1
            last_revision[change.station_id] = new_revision
            current[change.station_id] = (after, new_revision) if after is not None else None
            row_values = _columns(change.after, after, now, new_revision) if change.after is not None else None
            final[change.station_id] = row_values
            history.append(
                {"station_id": change.station_id, "revision": new_revision, "action": change.action, "actor": actor,
                 "at": now, "changes": changed}
            )  # fmt: skip
            written.append(Written(change.station_id, new_revision, changed, now))
        if on_chunk is not None:
            on_chunk(len(changes) % WRITE_CHUNK)
        if not history:
            transaction.rollback()  # not even the version bump: nothing changed
            return written
        purges = [station_id for station_id, values in final.items() if values is None and station_id in stored]
        inserts = [values for station_id, values in final.items() if values is not None and station_id not in stored]
        updates = [values for station_id, values in final.items() if values is not None and station_id in stored]
        for start in range(0, len(purges), _CHUNK):
            session.execute(delete(StationRow).where(StationRow.id.in_(purges[start : start + _CHUNK])))
        # in chunks, so that ``on_chunk`` can stop a long write; still one transaction
        for start in range(0, max(len(inserts), len(updates), len(history)), WRITE_CHUNK):
            if inserts[start : start + WRITE_CHUNK]:
                session.execute(insert(StationRow), inserts[start : start + WRITE_CHUNK])
            if updates[start : start + WRITE_CHUNK]:
                session.execute(update(StationRow), updates[start : start + WRITE_CHUNK])
            if history[start : start + WRITE_CHUNK]:
                session.execute(insert(HistoryRow), history[start : start + WRITE_CHUNK])
            if on_chunk is not None:
                on_chunk(min(WRITE_CHUNK, len(changes) - start))
    return written


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
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        query = select(StationRow.id, StationRow.payload, StationRow.revision).where(StationRow.id.in_(chunk))
        found.update({station_id: (data, revision) for station_id, data, revision in session.execute(query)})
    return found


def _last_revisions(session: Session, ids: list[str]) -> dict[str, int]:
    """The newest revision recorded in the history of each of ``ids`` (stations removed for good, or never made)."""
    found: dict[str, int] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), _CHUNK):
        query = (
            select(HistoryRow.station_id, func.max(HistoryRow.revision))
            .where(HistoryRow.station_id.in_(unique[start : start + _CHUNK]))
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


def _columns(station: Station, data: dict[str, Any] | None, now: datetime, revision: int) -> dict[str, Any]:
    """The stored row of ``station`` (``data``: its payload) at ``revision``, stamped ``now``."""
    return {
        "id": station.id,
        "lon": station.lon,
        "lat": station.lat,
        "adcode": station.adcode,
        "payload": data,
        "updated_at": now,
        "revision": revision,
    }
