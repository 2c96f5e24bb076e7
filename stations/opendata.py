"""Open-data downloads of the whole registry, or of what changed since a moment (delta sync).

Writes are stamped under the registry's write lock, so stamps follow commit order; a download is read in one
statement (stations and removals together: as of one moment), and the newest stamp in it is the
``next_modified_since`` of the download. Asking for
changes at or after it next time misses nothing (a station stamped exactly then may come twice; applying a
row twice changes nothing). Stations removed for good come as ``deleted`` ids; closed ones as rows with
``operating_status`` closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, null, select, union_all
from sqlalchemy.orm import Session

from geo.crs import CrsName
from stations.exporters import CSV_COLUMNS, coordinates, feature_collection, station_feature, station_rows
from stations.model import Station
from stations.store import HistoryRow, StationRow, Store, as_utc

COLUMNS = (*CSV_COLUMNS, "revision", "modified_at", "deleted_at", "licence", "attribution")


@dataclass(frozen=True, slots=True)
class Dump:
    """Stations (with revision and last modification) and ids removed for good, as of one read."""

    stations: list[tuple[Station, int, datetime]]
    deleted: list[tuple[str, datetime]]
    modified_since: datetime | None
    next_modified_since: datetime | None
    licence: str
    attribution: str


def dump(
    store: Store, licence: str, attribution: str, modified_since: datetime | None = None, strictly_after: bool = False
) -> Dump:
    """Every station, or those changed at or after ``modified_since`` and the ids removed for good since then
    (and not created again), ordered by id; read in one statement, so as of one moment on either store.

    With ``strictly_after`` only changes stamped after ``modified_since``: for a reader that has read every row of
    the write stamped ``modified_since`` (``stations.refresh``) — every row of one write carries the same stamp,
    and stamps rise strictly from one write to the next (taken under the write lock) — so that the rows of a large
    import are not read back again by the next delta."""
    if modified_since is not None:
        modified_since = modified_since.astimezone(UTC)  # SQLite compares the stored UTC digits as text
    stations = select(StationRow.id, StationRow.payload, StationRow.revision, StationRow.updated_at)
    if modified_since is None:  # with the newest removal, which no station row remembers, for the cursor
        newest_removal = select(null(), null(), null(), func.max(HistoryRow.at)).where(HistoryRow.action == "purge")
        query = union_all(stations, newest_removal)
    else:
        alive = select(StationRow.id).where(StationRow.id == HistoryRow.station_id).exists()
        removed_since = HistoryRow.at > modified_since if strictly_after else HistoryRow.at >= modified_since
        removals = select(HistoryRow.station_id, null(), null(), HistoryRow.at).where(
            HistoryRow.action == "purge", removed_since, ~alive
        )
        changed = StationRow.updated_at > modified_since if strictly_after else StationRow.updated_at >= modified_since
        query = union_all(stations.where(changed), removals)
    with Session(store.engine) as session:
        found = [(i, data, revision, as_utc(at)) for i, data, revision, at in session.execute(query) if at is not None]
    rows = [(Station.model_validate(data), revision, at) for _, data, revision, at in found if revision is not None]
    rows.sort(key=lambda row: row[0].id)
    removed_at: dict[str, datetime] = {}
    for station_id, _, revision, at in found:
        if revision is None and station_id is not None:  # removed, perhaps more than once: the latest removal
            removed_at[station_id] = max(at, removed_at.get(station_id, at))
    deleted = sorted(removed_at.items(), key=lambda item: (item[1], item[0]))
    latest = max((at for *_, at in found), default=modified_since)
    return Dump(rows, deleted, modified_since, latest, licence, attribution)


def geojson(data: Dump, crs: CrsName = "wgs84") -> dict[str, Any]:
    """A FeatureCollection with ``licence``, ``attribution``, ``next_modified_since`` and ``deleted`` members."""
    stations = [s for s, _, _ in data.stations]
    lon, lat = coordinates(stations, crs)
    features = [
        station_feature(s, x, y, {"revision": revision, "modified_at": iso(at)})
        for (s, revision, at), x, y in zip(data.stations, lon, lat, strict=True)
    ]
    return feature_collection(
        features,
        crs,
        licence=data.licence,
        attribution=data.attribution,
        generated_at=iso(datetime.now(UTC)),
        modified_since=iso(data.modified_since),
        next_modified_since=iso(data.next_modified_since),
        deleted=[{"id": station_id, "deleted_at": iso(at)} for station_id, at in data.deleted],
    )


def table(data: Dump, crs: CrsName = "wgs84") -> list[dict[str, Any]]:
    """Rows with the ``COLUMNS``: one per station, then one per removed id with only ``deleted_at`` set."""
    about = {"licence": data.licence, "attribution": data.attribution}
    rows = [
        {**row, "revision": revision, "modified_at": iso(at), "deleted_at": None, **about}
        for row, (_, revision, at) in zip(
            station_rows([s for s, _, _ in data.stations], crs), data.stations, strict=True
        )
    ]
    rows += [{**dict.fromkeys(COLUMNS), "id": i, "deleted_at": iso(at), **about} for i, at in data.deleted]
    return [{column: row.get(column) for column in COLUMNS} for row in rows]


def iso(moment: datetime | None) -> str | None:
    """A stamp as ISO 8601 in UTC with ``Z``: nothing in it needs escaping in a URL (``+00:00`` would).

    >>> iso(datetime(2026, 11, 23, 6, 47, 45, 123456, tzinfo=UTC))
    '2026-11-23T06:47:45.123456Z'
    """
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z") if moment is not None else None
