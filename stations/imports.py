"""What an import would do to the registry: which rows add stations, which update one (matched by id or by an
external id), which change nothing, and which new rows look like stations already there.

An update changes only the fields the file carries: a spreadsheet without phone numbers keeps the phone
numbers editors entered by hand. Given the file's ``columns`` that is exact; without them a field counts as
carried when some row fills it with something other than the model's default, so a file without a status
column never reopens the stations editors closed (and a status column that says ``normal`` on every row is
taken for no column: reopen those with an edit).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray
from rapidfuzz.distance import Indel
from rapidfuzz.process import cpdist

from geo.index import NearestIndex
from stations.edits import payload
from stations.errors import LimitExceeded
from stations.model import AMENITIES, Station, station_from
from stations.progress import Progress
from stations.snapshot import Snapshot

DUPLICATE_ANY_M = 15.0
"""A new station this close to an existing one is a likely duplicate, whatever its name."""
DUPLICATE_SIMILAR_M = 50.0
"""A new station this close to an existing one with a similar name is a likely duplicate."""
SIMILAR_NAME = 0.6
_DEFAULTS = {name: info.get_default(call_default_factory=True) for name, info in Station.model_fields.items()}

# Words every station name shares, and what is not a letter or digit; left out before names are compared.
_SHARED_WORDS = (
    r"户外劳动者|服务站点?|服务点|工会|爱心|驿站|骑士之家|司机之家|暖心|小屋|母婴室|哺乳室|妈咪|之家|"
    r"station|service|union|outdoor|workers?"
)
_GENERIC = re.compile(_SHARED_WORDS + r"|[\s\W_]+", re.IGNORECASE)
_GENERIC_BUT_NUL = re.compile(_SHARED_WORDS + r"|(?:[^\w\0]|_)+", re.IGNORECASE)
r"""``_GENERIC`` keeping NUL (``\s`` is all ``\W``): for names joined by it."""


@dataclass(frozen=True, slots=True)
class PlannedRow:
    """One valid row and what it does: its station id, and for an update the fields that change."""

    row: int
    id: str
    name: str
    matched_by: str | None = None
    """``"id"`` or ``"external_ids.<system>"`` for an update; None for an addition."""
    changes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Duplicate:
    """A row that would add a station next to an existing one that is probably the same place."""

    row: int
    id: str
    name: str
    existing_id: str
    existing_name: str
    distance_m: float
    reason: str


@dataclass
class ImportPlan:
    """What an import would do (``plan``): the stations to write and each valid row added, updated or unchanged."""

    writes: list[Station] = field(default_factory=list)
    added: list[PlannedRow] = field(default_factory=list)
    updated: list[PlannedRow] = field(default_factory=list)
    unchanged: list[PlannedRow] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    """The first ``DUPLICATES_LISTED`` likely duplicates."""
    duplicates_total: int = 0
    """How many likely duplicates there are in all."""


def similar_names(a: str, b: str) -> bool:
    """Whether two station names probably name the same place: once the words every station name shares are
    left out, equal, one inside the other, or sharing at least ``SIMILAR_NAME`` of their characters in order
    (twice the longest common subsequence over both lengths: rapidfuzz's ``Indel`` similarity).

    >>> similar_names("武林街道工会驿站", "武林街道户外劳动者服务站")
    True
    >>> similar_names("武林街道工会驿站", "古荡街道工会驿站")
    False
    """
    core_a, core_b = _core(a), _core(b)
    if not core_a or not core_b:
        return a.strip().lower() == b.strip().lower()
    return (
        core_a in core_b or core_b in core_a or bool(_alike(Indel.distance(core_a, core_b), len(core_a) + len(core_b)))
    )


def _core(name: str) -> str:
    """A name without the words every station name shares, lower case."""
    return _GENERIC.sub("", name).lower()


def _cores(names: list[str]) -> list[str]:
    """``_core`` of each name, by one pass of the pattern over them all joined by NUL (which no word left out
    holds, and no station name: the model refuses control characters) instead of a call per name."""
    joined = "\0".join(names)
    if joined.count("\0") != len(names) - 1:
        return [_core(name) for name in names]
    return _GENERIC_BUT_NUL.sub("", joined).lower().split("\0") if names else []


def _alike(apart: Any, total: Any) -> Any:
    """Whether cores ``total`` characters long together, ``apart`` insertions and deletions from each other
    (``Indel.distance``), share ``SIMILAR_NAME`` of their characters in order; for numbers or numpy arrays."""
    return total - apart >= SIMILAR_NAME * total


def plan(
    stations: Sequence[Station],
    rows: Sequence[int],
    snapshot: Snapshot,
    columns: Collection[str] | None = None,
    progress: Progress | None = None,
    max_close_pairs: int | None = None,
) -> ImportPlan:
    """What importing the valid ``stations`` (from file ``rows``) into ``snapshot``'s registry would do.

    ``columns``: the Station fields and amenities the file has a column (or GeoJSON property) for, when known.
    ``progress`` hears of the stages ("planning", "checking duplicates") and may cancel between chunks of rows.
    ``max_close_pairs``: see ``find_duplicates``.
    """
    progress = progress or Progress()
    progress.stage("planning", len(stations))
    carried: tuple[set[str], set[str], set[str]] | None = None  # found on the first update: additions need none
    by_external = (  # every station built to find them: only for a file that has any
        {(system, value): s.id for s in snapshot.stations for system, value in s.external_ids.items()}
        if any(s.external_ids for s in stations)
        else {}
    )
    result = ImportPlan()
    known = _known_ids(snapshot, stations)
    for count, (station, row, stored) in enumerate(zip(stations, rows, known, strict=True), start=1):
        if count % DUPLICATE_CHUNK == 0:
            progress.advance(DUPLICATE_CHUNK)
        # a row whose id the registry lacks and without external ids adds a station: no look-up (~5 µs each)
        target, matched_by = _match(station, snapshot, by_external) if stored or station.external_ids else (None, None)
        if target is None:
            result.writes.append(station)
            result.added.append(PlannedRow(row, station.id, station.name))
            continue
        if carried is None:
            carried = _carried_fields(stations, columns)
        updated = _merged(target, station, carried)
        before, after = payload(target), payload(updated)  # once each: a dump per key was quadratic in fields
        changes = sorted(k for k, v in after.items() if before.get(k) != v)
        changes += sorted(k for k in before.keys() - after.keys())
        planned = PlannedRow(row, target.id, station.name, matched_by, changes)
        if changes:
            result.writes.append(updated)
            result.updated.append(planned)
        else:
            result.unchanged.append(planned)
    progress.advance(len(stations) % DUPLICATE_CHUNK)
    added = {p.row for p in result.added}
    result.duplicates, result.duplicates_total = find_duplicates(
        [(r, s) for s, r in zip(stations, rows, strict=True) if r in added],
        snapshot,
        progress,
        max_pairs=max_close_pairs,
    )
    return result


def likely_duplicates(
    new: Sequence[tuple[int, Station]], snapshot: Snapshot, progress: Progress | None = None
) -> list[Duplicate]:
    """New stations within 15 m of an existing one, or within 50 m of one with a similar name; and pairs of
    new stations so close to each other (reported once, on the later row). Every one of them: see
    ``find_duplicates`` for the report's capped list.
    """
    return find_duplicates(new, snapshot, progress, limit=None)[0]


DUPLICATES_LISTED = 10_000
"""Likely duplicates an import report lists; past that it gives only their number (``duplicates_total``). A
real registry has a handful; tens of thousands mean the file and the registry overlap wholesale, which the
first ten thousand already show (and ``yizhan import`` prints only the first 200)."""


def find_duplicates(
    new: Sequence[tuple[int, Station]],
    snapshot: Snapshot,
    progress: Progress | None = None,
    limit: int | None = DUPLICATES_LISTED,
    max_pairs: int | None = None,
) -> tuple[list[Duplicate], int]:
    """The first ``limit`` likely duplicates (all with None) and how many there are in all.

    LimitExceeded (``max_close_pairs``) before any pair is listed when the pairs within 50 m to compare (new rows
    among themselves, and with existing stations) are more than ``max_pairs``: rows piled on one spot would make
    billions (``NearestIndex.count_pairs_within`` counts them without listing any).

    Existing stations near new rows: batched radius queries (``NearestIndex.within_many``), ``DUPLICATE_CHUNK``
    rows at a time. New rows near each other: every pair within 50 m at once (``NearestIndex.pairs_within``),
    reported on the later row. The cost grows with the rows and the pairs within 50 m, not with rows × stations.
    Pairs within 15 m need no names; the names of pairs 15-50 m apart are compared once per distinct pair of
    names (``_Names``). Duplicates of existing stations come first, then those between new rows; each in the
    order of ``new``, nearest first.
    """
    if not new:
        return [], 0
    progress = progress or Progress()
    progress.stage("checking duplicates", 2 * len(new))
    lon = np.array([s.lon for _, s in new], dtype=np.float64)
    lat = np.array([s.lat for _, s in new], dtype=np.float64)
    rows = np.array([row for row, _ in new], dtype=np.int64)
    new_stations = [s for _, s in new]
    new_ids = _id_keys(new_stations)
    existing = snapshot.stations  # each built when read: the few near the new rows, not all of them
    new_index = NearestIndex(lon, lat)
    if max_pairs is not None:
        _check_close_pairs(snapshot.index, new_index, lon, lat, max_pairs)
    judge = _Judge(new_stations, rows, limit)
    for start in range(0, len(new), DUPLICATE_CHUNK):
        stop = min(start + DUPLICATE_CHUNK, len(new))
        query, position, distance = snapshot.index.within_many(lon[start:stop], lat[start:stop], DUPLICATE_SIMILAR_M)
        query += start
        keep = new_ids[query] != snapshot.columns.ids[position]
        judge.report(existing, *judge.chosen(existing, query[keep], position[keep], distance[keep]))
        progress.advance(stop - start)
    none = np.empty(0, dtype=np.intp)
    picked = [judge.chosen(new_stations, none, none, np.empty(0, dtype=np.float64))]  # pairs or not, one to join
    for first, second, distance in new_index.pairs_within(DUPLICATE_SIMILAR_M, DUPLICATE_CHUNK * 10):
        later = rows[first] > rows[second]  # reported on the later row
        query, position = np.where(later, first, second), np.where(later, second, first)
        keep = new_ids[query] != new_ids[position]
        picked.append(judge.chosen(new_stations, query[keep], position[keep], distance[keep]))
        progress.check()
    query, position, distance, close = (np.concatenate(column) for column in zip(*picked, strict=True))
    order = np.lexsort((position, distance, query))
    judge.report(new_stations, query[order], position[order], distance[order], close[order])
    progress.advance(len(new))
    return judge.found, judge.total


def _check_close_pairs(
    existing: NearestIndex, new: NearestIndex, lon: NDArray[np.float64], lat: NDArray[np.float64], most: int
) -> None:
    """LimitExceeded if more than ``most`` pairs within 50 m are to be compared: a grid's bound first (a tenth of a
    second at 500,000 rows), counted exactly only when the bound is over."""

    def pairs(exact: bool) -> int:
        return existing.count_pairs_within(DUPLICATE_SIMILAR_M, lon, lat, exact=exact) + new.count_pairs_within(
            DUPLICATE_SIMILAR_M, exact=exact
        )

    found = pairs(exact=False)
    if found > most and (found := pairs(exact=True)) > most:
        raise LimitExceeded(
            "max_close_pairs", most, f"{found:,} pairs of stations within {DUPLICATE_SIMILAR_M:g} m", "file"
        )


DUPLICATE_CHUNK = 20_000
"""New rows per batched radius query, and a tenth of the pairs between new rows judged at a time: bounds the
memory of the pairs found, and how long a cancel waits."""


class _Judge:
    """Which pairs of a new row and a station near it are likely duplicates, and the list of them kept."""

    def __init__(self, new: Sequence[Station], rows: NDArray[np.int64], limit: int | None) -> None:
        self.new, self.rows, self.limit = new, rows, limit
        self.names = _Names()
        self.found: list[Duplicate] = []
        self.total = 0

    def chosen(
        self,
        others: Sequence[Station],
        query: NDArray[np.intp],
        position: NDArray[np.intp],
        distance: NDArray[np.float64],
    ) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.float64], NDArray[np.bool_]]:
        """The pairs (``new[query[k]]``, ``others[position[k]]``, ``distance[k]`` metres apart) that are likely
        duplicates, in the order given, and whether each is so close that its names did not matter."""
        close = distance <= DUPLICATE_ANY_M
        similar = np.zeros(len(query), dtype=bool)
        far = np.flatnonzero(~close)
        similar[far] = self.names.similar(self.new, query[far], others, position[far])
        which = np.flatnonzero(close | similar)
        return query[which], position[which], distance[which], close[which]

    def report(
        self,
        others: Sequence[Station],
        query: NDArray[np.intp],
        position: NDArray[np.intp],
        distance: NDArray[np.float64],
        close: NDArray[np.bool_],
    ) -> None:
        """Count the chosen pairs, and list them while the list has room."""
        self.total += len(query)
        room = len(query) if self.limit is None else max(0, min(len(query), self.limit - len(self.found)))
        for k in range(room):
            station, existing = self.new[query[k]], others[position[k]]
            reason = f"within {DUPLICATE_ANY_M:g} m" if close[k] else f"similar name within {DUPLICATE_SIMILAR_M:g} m"
            self.found.append(
                Duplicate(
                    int(self.rows[query[k]]),
                    station.id,
                    station.name,
                    existing.id,
                    existing.name,
                    round(float(distance[k]), 1),
                    reason,
                )
            )


class _Names:
    """Names of stations as compared for duplicates, each station's name coded once: its core (``_core``) as
    a number, and the core's length."""

    def __init__(self) -> None:
        self.cores: dict[str, int] = {}
        self.core_text: list[str] = []
        self.lengths: list[int] = []
        self.codes: dict[int, NDArray[np.int64]] = {}
        """Per list of stations (by ``id()``: the lists live as long as this object), each one's codes."""

    def _coded(self, stations: Sequence[Station], which: NDArray[np.intp]) -> NDArray[np.int64]:
        """Core codes of ``stations[which]``, computed the first time each station is asked for."""
        core_codes = self.codes.setdefault(id(stations), np.full(len(stations), -1, dtype=np.int64))
        cores, core_text = self.cores, self.core_text
        first = np.unique(which[core_codes[which] < 0]).tolist()
        for i, core in zip(first, _cores([stations[i].name for i in first]), strict=True):
            code = cores.get(core)
            if code is None:
                code = cores[core] = len(core_text)
                core_text.append(core)
                self.lengths.append(len(core))
            core_codes[i] = code
        return core_codes[which]

    def similar(
        self,
        stations: Sequence[Station],
        which: NDArray[np.intp],
        others: Sequence[Station],
        other_which: NDArray[np.intp],
    ) -> NDArray[np.bool_]:
        """``similar_names`` of each pair (``stations[which[k]]``, ``others[other_which[k]]``), vectorised: each
        distinct pair of cores compared once, all of them in one call of rapidfuzz (C); one core inside the
        other looked for only where the longest common subsequence is the shorter core whole, as it then is."""
        result = np.zeros(len(which), dtype=bool)
        if not len(which):
            return result
        core_a, core_b = self._coded(stations, which), self._coded(others, other_which)
        lengths = np.array(self.lengths, dtype=np.int64)
        empty = np.flatnonzero((lengths[core_a] == 0) | (lengths[core_b] == 0))  # few: names of generic words only
        plain: dict[str, int] = {}  # the stripped lower-case names of those pairs, coded
        plain_a = [plain.setdefault(stations[i].name.strip().lower(), len(plain)) for i in which[empty].tolist()]
        plain_b = [plain.setdefault(others[i].name.strip().lower(), len(plain)) for i in other_which[empty].tolist()]
        result[empty] = np.array(plain_a, dtype=np.int64) == np.array(plain_b, dtype=np.int64)
        empty_cores = np.zeros(len(which), dtype=bool)
        empty_cores[empty] = True
        result[~empty_cores & (core_a == core_b)] = True
        open_ = np.flatnonzero(~empty_cores & (core_a != core_b))
        if not len(open_):
            return result
        keys, inverse = np.unique((core_a[open_] << 32) | core_b[open_], return_inverse=True)
        a, b = keys >> 32, keys & 0xFFFFFFFF
        text = self.core_text
        apart = cpdist(
            [text[k] for k in a.tolist()], [text[k] for k in b.tolist()], scorer=Indel.distance, dtype=np.int64
        )
        total = lengths[a] + lengths[b]
        decided = _alike(apart, total)
        inside = ~decided & ((total - apart) // 2 == np.minimum(lengths[a], lengths[b]))
        for k in np.flatnonzero(inside).tolist():
            core_x, core_y = text[a[k]], text[b[k]]
            decided[k] = core_x in core_y or core_y in core_x
        result[open_] = decided[inverse.reshape(-1)]
        return result


def _known_ids(snapshot: Snapshot, stations: Sequence[Station]) -> list[bool]:
    """Whether the registry has a station of each one's id, for all at once (numpy's ``isin`` on the snapshot's
    id column)."""
    if not stations or not len(snapshot):
        return [False] * len(stations)
    return np.isin(_id_keys(stations), snapshot.columns.ids).tolist()  # type: ignore[no-any-return]


def _id_keys(stations: Sequence[Station]) -> NDArray[np.bytes_]:
    """The stations' ids as the snapshot's id column holds them (bytes), for comparisons in numpy."""
    return np.array([s.id.encode("utf-8", "surrogatepass") for s in stations])


def _match(
    station: Station, snapshot: Snapshot, by_external: dict[tuple[str, str], str]
) -> tuple[Station | None, str | None]:
    existing = snapshot.get(station.id)
    if existing is not None:
        return existing, "id"
    for system, value in station.external_ids.items():
        station_id = by_external.get((system, value))
        if station_id is not None:
            return snapshot.get(station_id), f"external_ids.{system}"
    return None, None


def _carried_fields(
    stations: Sequence[Station], columns: Collection[str] | None
) -> tuple[set[str], set[str], set[str]]:
    """Top-level fields, amenities and external-id systems the file carries: its ``columns`` when given, else
    those that at least one row fills with a value other than the default."""
    fields: set[str] = set()
    amenities: set[str] = set()
    systems: set[str] = set()
    for station in stations:
        data = payload(station)
        fields.update(key for key, value in data.items() if value != _DEFAULTS.get(key))
        amenities.update(data.get("amenities", {}))
        systems.update(data.get("external_ids", {}))
    if columns is not None:
        # and the district, which the registry finds from each row's position
        fields = {c for c in columns if c in Station.model_fields} | {"id", "types", "lon", "lat", "adcode", "district"}
        amenities = {c for c in columns if c in AMENITIES}
    return fields, amenities, systems


def _merged(existing: Station, row: Station, carried: tuple[set[str], set[str], set[str]]) -> Station:
    fields, amenities, systems = carried
    before, incoming = payload(existing), payload(row)
    data: dict[str, Any] = {k: v for k, v in before.items() if k not in fields or k in ("amenities", "external_ids")}
    data.update({k: v for k, v in incoming.items() if k in fields and k not in ("amenities", "external_ids")})
    data["id"] = existing.id
    for key, chosen in (("amenities", amenities), ("external_ids", systems)):
        merged = {k: v for k, v in before.get(key, {}).items() if k not in chosen}
        merged.update(incoming.get(key, {}))
        data[key] = merged
    return station_from(data)
