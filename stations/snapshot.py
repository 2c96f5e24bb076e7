"""An immutable, query-ready view of the registry: stations plus their nearest index and filter columns.

A ``Snapshot`` is built once per registry version and never changed; ``stations.registry`` swaps in a new
one after a write, so a reader always sees one consistent registry.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, Literal, NamedTuple, overload

import numpy as np
from numpy.typing import NDArray

from geo.distance import m_from_chord, unit_vectors
from geo.index import NearestIndex
from stations import hours
from stations.columns import NEVER_VERIFIED, StationColumns
from stations.errors import InvalidValue
from stations.model import AMENITIES, OPERATING_STATUSES, STATION_TYPES, Station
from stations.vocabulary import CLOSED_STATUSES

_OPEN, _CLOSED, _UNKNOWN = 0, 1, 2
_STATUS_NAMES: tuple[hours.OpenStatus, ...] = ("open", "closed", "unknown")
_FEW = 32
"""Up to this many stations, statuses are looked up one by one (``Snapshot._status_until``)."""
OPEN_SHARE_GUESS = 0.5
"""The share of stations taken to be open at any time, for the first batch of candidates of an ``open_at`` query."""

Order = Literal["distance", "open_first"]
ORDERS: tuple[Order, ...] = ("distance", "open_first")
CLOSES_SOON = timedelta(minutes=30)
"""An open station whose hours change within this time "closes soon" (the rider page's 即将关闭)."""
GROUPS = ("open", "closes_soon", "unknown", "closed")
"""The groups of ``order="open_first"``, in their order."""
OPEN_FIRST_CANDIDATES = 8
"""``order="open_first"`` ranks the ``k`` × this nearest matching stations; a group short of stations among them is
sought over every matching station at once (vectorised; which stations match and their groups worked out once per
query), not by widening the nearest search step by step (each step a search again; pykdtree, which served
before, took ~0.1–0.25 s for k = 10,000 at 1M stations, our tree ~2 ms)."""


@dataclass(frozen=True, slots=True)
class NearbyQuery:
    """A nearest-station question; coordinates in WGS84 degrees, distances in metres.

    Types match if a station has any of them; amenities must all be "yes". With ``open_at`` only stations
    open then are returned, plus those with unknown hours when ``include_unknown_hours`` is set.

    ``order`` says which stations are the answer and in what order:

    - ``"distance"``: the ``k`` nearest matching stations, nearest first.
    - ``"open_first"``: matching stations ranked by their ``GROUPS`` at the asked time (open; open but closing
      within ``CLOSES_SOON``; unknown hours; closed), then by distance; the answer is the first ``k`` of that
      ranking. So at night a rider gets the ``k`` nearest *open* stations, however far (within ``radius_m``),
      and closed ones only to fill the list when fewer than ``k`` others match.
    """

    lon: float
    lat: float
    k: int = 10
    radius_m: float | None = None
    types: tuple[str, ...] = ()
    amenities: tuple[str, ...] = ()
    open_at: datetime | None = None
    include_unknown_hours: bool = False
    order: Order = "distance"

    def __post_init__(self) -> None:
        if not (
            math.isfinite(self.lon) and math.isfinite(self.lat) and -180 <= self.lon <= 180 and -90 <= self.lat <= 90
        ):
            raise InvalidValue("lon,lat", f"{self.lon},{self.lat}", "need -180 ≤ lon ≤ 180 and -90 ≤ lat ≤ 90")
        if self.k < 1:
            raise InvalidValue("k", self.k, "must be at least 1")
        if self.radius_m is not None and not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise InvalidValue("radius_m", self.radius_m, "must be a positive number of metres")
        if self.order not in ORDERS:
            raise InvalidValue("order", self.order, "unknown order", ORDERS)


class Nearby(NamedTuple):
    """One answer: the station (at ``position`` of ``snapshot``), its great-circle distance, and whether it is open
    at the asked time.

    A named tuple: immutable as a frozen dataclass, and made in a third of its time (an answer makes ten). It names
    its station by position rather than holding a ``Station``: the rider's answer is written from texts kept by the
    station's ``content_key`` (``stations.exporters``), so a warm answer builds no ``Station`` and the snapshot keeps
    none for it — ten thousand fewer objects for each of the garbage collector's full collections to walk at 200k
    stations (bench/RESULTS.md, "Nearby answers without Station objects")."""

    snapshot: Snapshot
    position: int
    distance_m: float
    open_status: hours.OpenStatus
    closes_at: datetime | None = None
    """For an open station: when it next closes (by its hours), China time."""
    opens_at: datetime | None = None
    """For a station closed by its hours: when it next opens (within ``hours.OPENING_HORIZON``), China time."""

    @property
    def station(self) -> Station:
        """The station (``Snapshot.at``: the most recent kept)."""
        return self.snapshot.at(self.position)

    @property
    def content_key(self) -> int:
        """What the station's content is known by across snapshots (``StationColumns.content_key``)."""
        return self.snapshot.columns.content_key(self.position)


def _wanted_status(include_unknown_hours: bool) -> NDArray[np.bool_]:
    """By status code, whether a station so open matches a query at a time (``open_at``)."""
    wanted = np.zeros(3, dtype=bool)
    wanted[_OPEN], wanted[_UNKNOWN] = True, include_unknown_hours
    wanted.flags.writeable = False
    return wanted


_WANTED_STATUS = {unknown: _wanted_status(unknown) for unknown in (False, True)}


@dataclass(frozen=True, slots=True)
class _HoursState:
    """One hours text's status code from ``start`` until it next changes at ``change`` (POSIX seconds
    ``until``; infinity and None if it never does)."""

    start: float
    until: float
    status: int
    change: datetime | None


_STATES_OF_CODE = {
    -2: _HoursState(-math.inf, math.inf, _CLOSED, None),  # closed whatever the hours say
    -1: _HoursState(-math.inf, math.inf, _UNKNOWN, None),  # no hours known
}
"""The states of the codes that are not an hours text's."""


def _bits(names: Sequence[str], vocabulary: Sequence[str]) -> int:
    return sum(1 << vocabulary.index(name) for name in names)


_CLOSED_STATUS = OPERATING_STATUSES.index("closed")
_CLOSED_STATUS_CODES = [OPERATING_STATUSES.index(name) for name in sorted(CLOSED_STATUSES)]


class StationsAt(Sequence[Station]):
    """Stations of a snapshot at some of its positions, in that order, each built when read (``Snapshot.at``):
    what planning and listing pages go over, without a ``Station`` object per station held for the whole list.
    Coordinates come from the columns (``lon``, ``lat``) without building any."""

    __slots__ = ("_snapshot", "positions")

    def __init__(self, snapshot: Snapshot, positions: NDArray[np.intp]) -> None:
        self._snapshot = snapshot
        self.positions = positions

    def __len__(self) -> int:
        return int(self.positions.size)

    @overload
    def __getitem__(self, item: int) -> Station: ...
    @overload
    def __getitem__(self, item: slice) -> StationsAt: ...
    def __getitem__(self, item: int | slice) -> Station | StationsAt:
        if isinstance(item, slice):
            return StationsAt(self._snapshot, self.positions[item])
        return self._snapshot.at(int(self.positions[item]))

    def __iter__(self) -> Iterator[Station]:
        at = self._snapshot.at
        return (at(position) for position in self.positions.tolist())

    def __eq__(self, other: object) -> bool:
        """Equal to any sequence of equal stations in the same order (as the tuple ``Snapshot.stations`` once was)."""
        if not isinstance(other, Sequence) or isinstance(other, str | bytes):
            return NotImplemented
        return len(self) == len(other) and all(a == b for a, b in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # equal by value, and not immutable in the eyes of a dict

    def payload(self, index: int) -> dict[str, Any]:
        """The stored JSON of the station at ``index`` of this sequence, as a dict: read, not built into a
        ``Station`` nor kept (what a pass over many stations for a few fields needs)."""
        return self._snapshot.columns.payload(int(self.positions[index]))

    def __add__(self, other: StationsAt) -> StationsAt:
        """These stations, then ``other``'s (of the same snapshot)."""
        return StationsAt(self._snapshot, np.concatenate((self.positions, other.positions)))

    def where(self, keep: NDArray[np.bool_]) -> StationsAt:
        """The stations where ``keep`` (one flag per station of this sequence) is set, in order."""
        return StationsAt(self._snapshot, self.positions[keep])

    def open_in(self, adcode: str | None) -> NDArray[np.bool_]:
        """Which of these stations are not closed for good and have the district code ``adcode`` (None: none)."""
        columns = self._snapshot.columns
        found: NDArray[np.bool_] = columns.adcode_code[self.positions] == columns.code("adcode", adcode)
        found &= ~self._snapshot._closed_for_good[self.positions]
        return found

    def adcode_counts(self) -> dict[str, int]:
        """How many of these stations each district code has (stations without one left out)."""
        columns = self._snapshot.columns
        counts = np.bincount(columns.adcode_code[self.positions] + 1, minlength=len(columns.adcode_texts) + 1)
        return {text: n for text, n in zip(columns.adcode_texts, counts[1:].tolist(), strict=True) if n}

    @property
    def ids(self) -> list[str]:
        """The stations' ids, in this sequence's order."""
        return [key.decode(errors="surrogatepass") for key in self._snapshot.columns.ids[self.positions].tolist()]

    @property
    def lon(self) -> NDArray[np.float64]:
        """Longitudes (WGS84 degrees), in this sequence's order."""
        return self._snapshot.columns.lon[self.positions]

    @property
    def lat(self) -> NDArray[np.float64]:
        """Latitudes (WGS84 degrees), in this sequence's order."""
        return self._snapshot.columns.lat[self.positions]


def lon_lat(stations: Sequence[Station]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The WGS84 coordinates of ``stations`` as arrays: from the columns for ``StationsAt`` (nothing built)."""
    if isinstance(stations, StationsAt):
        return stations.lon, stations.lat
    return np.array([s.lon for s in stations], dtype=float), np.array([s.lat for s in stations], dtype=float)


def hours_of(stations: Sequence[Station]) -> tuple[NDArray[np.int32], tuple[str, ...], NDArray[np.bool_]]:
    """Each station's opening hours as a code into a tuple of distinct texts (-1: none), and whether it is closed
    whatever its hours say (``Station.is_closed``): from the columns for ``StationsAt`` (nothing built)."""
    if isinstance(stations, StationsAt):
        columns, positions = stations._snapshot.columns, stations.positions
        return columns.hours_code[positions], columns.hours_texts, stations._snapshot.closed()[positions]
    texts = tuple(sorted({s.opening_hours for s in stations if s.opening_hours}))
    code_of = {text: i for i, text in enumerate(texts)}
    codes = np.array([code_of.get(s.opening_hours or "", -1) for s in stations], dtype=np.int32)
    return codes, texts, np.array([s.is_closed for s in stations], dtype=bool)


HOT_STATIONS = 10_000
"""Stations each snapshot keeps as ``Station`` objects once asked for (the most recently answered): the rest stay
columns and stored JSON until asked."""


class Snapshot:
    """Stations of one registry version, with everything needed to answer queries fast.

    Held as columns (``stations.columns.StationColumns``): positions, bit sets, status and hours codes in numpy
    arrays, each station's stored JSON in shared buffers. A ``Station`` is put together from its JSON when asked
    for (``get``, ``select``, a ``Nearby``'s ``station``) and the ``HOT_STATIONS`` most recent kept; ``stations``
    builds every one (once per snapshot): for the pages that list or plan over all of them, not for the rider's
    query, whose answer is written from texts kept by the station's content (``stations.exporters``).
    """

    open_first_candidates = OPEN_FIRST_CANDIDATES

    def __init__(
        self,
        stations: Sequence[Station] | StationColumns = (),
        version: int = 0,
        stamp: datetime | None = None,
        index: NearestIndex | None = None,
    ) -> None:
        """``index``: an index (an earlier snapshot's) to answer from if it is over exactly these stations' positions,
        in order — most edits move no station, and building the index is most of a refresh's work (~65 of ~125 ms
        of CPU at 200,000 stations); otherwise one is built."""
        columns = stations if isinstance(stations, StationColumns) else StationColumns.from_stations(stations)
        self.columns = columns
        self.version = version
        self.stamp = stamp
        """A moment (UTC) such that every change stamped later is yet to be applied (``stations.refresh``): the
        newest write stamp the stations were read after, or earlier; None: unknown (the next refresh rebuilds)."""
        self._by_id = np.argsort(columns.ids, kind="stable")  # ids in order, for get(); identity when sorted
        if index is None or not (np.array_equal(index.lon, columns.lon) and np.array_equal(index.lat, columns.lat)):
            index = NearestIndex(columns.lon, columns.lat)
        self.index = index
        self._type_bits = columns.type_bits
        self._amenity_bits = columns.amenity_bits
        self._closed_for_good: NDArray[np.bool_] = columns.status == _CLOSED_STATUS
        self._closed: NDArray[np.bool_] = np.isin(columns.status, _CLOSED_STATUS_CODES)  # for good or for now
        self._closed.flags.writeable = False
        self._any_closed_for_good = bool(self._closed_for_good.any())
        self._shares: dict[tuple[int, int], float] = {}
        self._hours_texts = columns.hours_texts
        self._hours_states_kept: list[_HoursState | None] = [None] * len(self._hours_texts)
        # next opening of a closed hours text, found during the kept state it belongs to
        self._openings_kept: list[tuple[_HoursState, datetime] | None] = [None] * len(self._hours_texts)
        self._vectors: NDArray[np.float64] | None = None  # unit vectors of every station, made when first needed
        # stations that are closed whatever their hours say share the code -2; unknown hours -1
        self._hours_code = np.where(self._closed, -2, columns.hours_code)
        self._station = lru_cache(maxsize=HOT_STATIONS)(columns.station)  # no reference back to the snapshot

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def stations(self) -> StationsAt:
        """Every station, by position (by id when read from the store), each built when read: none is kept beyond
        the ``HOT_STATIONS`` most recent (a registry of a million stations would take ~1 GB kept whole)."""
        return StationsAt(self, np.arange(len(self), dtype=np.intp))

    def by_id(self) -> StationsAt:
        """Every station, ordered by id, each built when read."""
        return StationsAt(self, self._by_id)

    def serving(self, types: Sequence[str] = (), amenities: Sequence[str] = ()) -> StationsAt:
        """The stations that serve (not closed for good; ``Station.serves``) any of ``types`` (all when empty) and
        have every one of ``amenities`` ("yes"), by position: chosen from the columns, none built."""
        ok = self._matching(slice(None), _bits(types, STATION_TYPES), np.uint64(_bits(amenities, AMENITIES)))
        return StationsAt(self, np.flatnonzero(ok).astype(np.intp))

    def stale(self, day: date, max_age_days: int) -> NDArray[np.bool_]:
        """Which stations are stale on ``day`` (``Station.is_stale``: never verified, or more than ``max_age_days``
        before it), by position: from the columns."""
        verified = self.columns.verified_day
        stale: NDArray[np.bool_] = (verified == NEVER_VERIFIED) | (day.toordinal() - verified > max_age_days)
        return stale

    def stale_count(self, day: date, max_age_days: int) -> int:
        """How many stations (not closed for good) are stale on ``day`` (``Station.is_stale``): from the columns."""
        return int(np.count_nonzero(self.stale(day, max_age_days) & ~self._closed_for_good))

    def closed(self) -> NDArray[np.bool_]:
        """Which stations are closed for good or for now (``Station.is_closed``), by position (read-only)."""
        return self._closed

    def of_types(self, types: Sequence[str]) -> NDArray[np.bool_]:
        """Which stations are of any of ``types`` (every one when none), by position."""
        mask = _bits(types, STATION_TYPES)
        return (self._type_bits & mask) != 0 if mask else np.ones(len(self), dtype=bool)

    def at(self, position: int) -> Station:
        """The station at ``position``, built from its columns (the ``HOT_STATIONS`` most recent kept)."""
        return self._station(int(position))  # a numpy integer would be another key of the cache

    def get(self, station_id: str) -> Station | None:
        """The station with ``station_id``, or None."""
        position = self.position(station_id)
        return None if position is None else self.at(position)

    def position(self, station_id: str) -> int | None:
        """The position of the station with ``station_id`` in the columns, or None."""
        if not len(self):
            return None
        key = station_id.encode(errors="surrogatepass")
        found = int(np.searchsorted(self.columns.ids, key, sorter=self._by_id))
        if found == len(self):
            return None
        position = int(self._by_id[found])
        return position if self.columns.ids[position] == key else None

    def photo_urls(self) -> list[str | None]:
        """Each station's photo URL (None: none), by position."""
        return self.columns.texts("photo")

    def _hours_states(self, codes: Sequence[int], at: datetime) -> list[_HoursState]:
        """Each hours text's (by code) status at ``at`` and its next change, kept while that status holds: queries
        at nearby times (a server's "now") evaluate each hours text once per change of its status, not per query."""
        moment = hours.local_time(at)
        seconds = moment.timestamp()
        return [self._hours_state(code, moment, seconds) for code in codes]

    def _hours_state(self, code: int, moment: datetime, seconds: float) -> _HoursState:
        """``_hours_states`` of one code, at ``moment`` (China time) and its POSIX ``seconds``; the codes below 0
        (closed whatever the hours say, no hours) have one state at all times."""
        if code < 0:
            return _STATES_OF_CODE[code]
        state = self._hours_states_kept[code]
        if state is None or not state.start <= seconds < state.until:
            text = self._hours_texts[code]
            change = hours.next_change(text, moment)
            until = math.inf if change is None else change.timestamp()
            state = _HoursState(seconds, until, _STATUS_NAMES.index(hours.status(text, moment)), change)
            self._hours_states_kept[code] = state  # one assignment: other threads see the old state or this
        return state

    def _status_until(self, positions: NDArray[np.intp], at: datetime) -> tuple[NDArray[np.int8], NDArray[np.float64]]:
        """Status codes at ``at`` and when each next changes (POSIX seconds; infinity: never, or no hours)."""
        codes = self._hours_code[positions]
        if codes.size <= _FEW:  # an answer's few stations: a loop costs less than the array operations
            moment = hours.local_time(at)
            seconds = moment.timestamp()
            states = [self._hours_state(code, moment, seconds) for code in codes.tolist()]
            return (
                np.array([state.status for state in states], dtype=np.int8),
                np.array([state.until for state in states], dtype=np.float64),
            )
        if codes.size > len(self._hours_texts):  # many stations: a table of every hours text, looked up by code
            states = self._hours_states(range(len(self._hours_texts)), at)
            statuses = np.array([state.status for state in states] + [_CLOSED, _UNKNOWN], dtype=np.int8)
            untils = np.array([state.until for state in states] + [math.inf, math.inf])
            return statuses[codes], untils[codes]  # code -2 (closed whatever the hours) and -1 (unknown) from the end
        result = np.full(codes.shape, _UNKNOWN, dtype=np.int8)
        until = np.full(codes.shape, math.inf)
        result[codes == -2] = _CLOSED
        known = codes >= 0
        if known.any():
            distinct, where = np.unique(codes[known], return_inverse=True)
            states = self._hours_states(distinct.tolist(), at)
            result[known] = np.array([state.status for state in states], dtype=np.int8)[where]
            until[known] = np.array([state.until for state in states])[where]
        return result, until

    def open_status(self, positions: NDArray[np.intp], at: datetime) -> NDArray[np.int8]:
        """Status codes (0 open, 1 closed, 2 unknown) at ``at``, evaluating each distinct hours text once."""
        return self._status_until(positions, at)[0]

    def groups(self, positions: NDArray[np.intp], at: datetime) -> NDArray[np.int8]:
        """Each station's place in ``GROUPS`` at ``at``: 0 open, 1 open but closing within ``CLOSES_SOON``,
        2 unknown hours, 3 closed."""
        status, until = self._status_until(positions, at)
        soon = until - hours.local_time(at).timestamp() <= CLOSES_SOON.total_seconds()
        result: NDArray[np.int8] = np.array([0, 3, 2], dtype=np.int8)[status]
        result[(status == _OPEN) & soon] = 1
        return result

    def _opens_at(self, code: int, at: datetime) -> datetime | None:
        """When the closed hours text ``code`` next opens after ``at`` (kept for the rest of its closed spell)."""
        state = self._hours_states([code], at)[0]
        kept = self._openings_kept[code]
        if kept is not None and kept[0] is state:
            return kept[1]
        opening = hours.next_opening(self._hours_texts[code], at)
        if opening is not None:  # None may change as the search horizon moves on: not kept
            self._openings_kept[code] = (state, opening)
        return opening

    def nearby(self, query: NearbyQuery, now: datetime | None = None) -> list[Nearby]:
        """The nearest stations matching ``query``, nearest first (stations closed for good never match).

        ``open_status`` of each answer is taken at ``query.open_at``, else at ``now`` (default: the clock).
        """
        type_mask = _bits(query.types, STATION_TYPES)
        amenity_mask = np.uint64(_bits(query.amenities, AMENITIES))
        wanted = _WANTED_STATUS[query.include_unknown_hours]

        def accept(positions: NDArray[np.intp]) -> NDArray[np.bool_]:
            ok = self._matching(positions, type_mask, amenity_mask)
            if query.open_at is not None:  # only where the other filters pass: it is the dearest
                ok[ok] = wanted[self.open_status(positions[ok], query.open_at)]
            return ok

        at = query.open_at or now or datetime.now(hours.TIMEZONE)
        if query.order == "distance":
            unfiltered = not (type_mask or amenity_mask or query.open_at is not None or self._any_closed_for_good)
            share = 1.0 if unfiltered else self._filter_share(type_mask, amenity_mask)
            if query.open_at is not None:
                share *= OPEN_SHARE_GUESS
            found = self.index.query(
                query.lon, query.lat, k=query.k, radius_m=query.radius_m, accept=None if unfiltered else accept,
                share=share,
            )  # fmt: skip
            index, distance_m = found.index.tolist(), found.distance_m.tolist()
        else:  # each group's nearest in turn until k are found: from the nearest candidates, else from all
            index, distance_m = [], []
            fetch = min(len(self), query.k * self.open_first_candidates)
            near = self.index.query(query.lon, query.lat, k=fetch, radius_m=query.radius_m, accept=accept)
            every_match = len(near) < fetch or fetch == len(self)  # the candidates: every match (within the radius)
            near_groups = self.groups(near.index, at)
            every: tuple[NDArray[np.intp], NDArray[np.int8]] | None = None  # every match and its group, if needed
            for group in range(len(GROUPS)):
                want = query.k - len(index)
                if want == 0:
                    break
                mine = near_groups == group
                if every_match or np.count_nonzero(mine) >= want:
                    index += near.index[mine][:want].tolist()
                    distance_m += near.distance_m[mine][:want].tolist()
                else:  # this group's nearest over every matching station at once
                    if every is None:
                        positions = np.arange(len(self), dtype=np.intp)
                        positions = positions[accept(positions)]
                        every = positions, self.groups(positions, at)
                    found_index, found_m = self._nearest_of(query, every[0][every[1] == group], want)
                    index += found_index
                    distance_m += found_m
        moment = hours.local_time(at)
        seconds = moment.timestamp()
        results = []
        for i, d in zip(index, distance_m, strict=True):
            code = self._hours_code.item(i)
            state = self._hours_state(code, moment, seconds)
            status = _STATUS_NAMES[state.status]
            closes_at = state.change if status == "open" else None
            opens_at = self._opens_at(code, at) if status == "closed" and code >= 0 else None
            results.append(Nearby(self, i, d, status, closes_at, opens_at))
        return results

    def _matching(
        self, positions: NDArray[np.intp] | slice, type_mask: int, amenity_mask: np.uint64
    ) -> NDArray[np.bool_]:
        """Which stations at ``positions`` are not closed for good and have any of the types and all the amenities
        of the masks (a mask of 0: any)."""
        ok: NDArray[np.bool_] = ~self._closed_for_good[positions]
        if type_mask:
            ok &= (self._type_bits[positions] & type_mask) != 0
        if amenity_mask:
            ok &= (self._amenity_bits[positions] & amenity_mask) == amenity_mask
        return ok

    def _filter_share(self, type_mask: int, amenity_mask: np.uint64) -> float:
        """The share of all stations ``_matching`` the masks: kept per pair of masks, for ``NearestIndex.query``'s
        first batch of candidates."""
        key = (type_mask, int(amenity_mask))
        share = self._shares.get(key)
        if share is None:
            ok = self._matching(slice(None), type_mask, amenity_mask)
            share = float(ok.mean()) if ok.size else 1.0
            if len(self._shares) >= 256:  # masks people ask for are few; a flood of others is let go
                self._shares.clear()
            self._shares[key] = share
        return share

    def _nearest_of(self, query: NearbyQuery, positions: NDArray[np.intp], want: int) -> tuple[list[int], list[float]]:
        """The ``want`` nearest of the stations at ``positions`` (within the query's radius), nearest first, by
        brute force: great-circle metres from the chord between unit vectors, as ``NearestIndex`` measures."""
        if self._vectors is None:
            self._vectors = unit_vectors(self.index.lon, self.index.lat)
        chord = np.linalg.norm(self._vectors[positions] - unit_vectors(query.lon, query.lat), axis=1)
        metres = m_from_chord(chord)
        if query.radius_m is not None:
            inside = metres <= query.radius_m
            positions, metres = positions[inside], metres[inside]
        if len(positions) > want:
            nearest = np.argpartition(metres, want - 1)[:want]
            positions, metres = positions[nearest], metres[nearest]
        order = np.argsort(metres, kind="stable")
        return positions[order].tolist(), metres[order].tolist()

    def select(
        self,
        bbox: tuple[float, float, float, float] | None = None,
        adcode: str | None = None,
        types: Sequence[str] = (),
    ) -> StationsAt:
        """Stations in a lon/lat box (west, south, east, north), a district and of any of ``types``, by id: chosen
        from the columns, each built when read."""
        positions = self.index.in_bbox(*bbox) if bbox is not None else np.arange(len(self), dtype=np.intp)
        type_mask = _bits(types, STATION_TYPES)
        if type_mask:
            positions = positions[(self._type_bits[positions] & type_mask) != 0]
        if adcode is not None:
            positions = positions[self.columns.adcode_code[positions] == self.columns.code("adcode", adcode)]
        return StationsAt(self, positions[np.argsort(self.columns.ids[positions], kind="stable")])

    def counts_by_adcode(self, include_closed: bool = True) -> dict[str | None, dict[str, int]]:
        """Number of stations of each type per adcode (None: outside every district), adcodes in the order their
        first station comes; without ``include_closed``, stations closed for good are left out."""
        codes, bits = self.columns.adcode_code, self._type_bits
        if not include_closed:
            codes, bits = codes[~self._closed_for_good], bits[~self._closed_for_good]
        present, first = np.unique(codes, return_index=True)
        names: list[str | None] = [*self.columns.adcode_texts, None]  # code -1 reads the last
        per_type = [
            np.bincount(codes + 1, weights=(bits >> i) & 1, minlength=len(names))[present + 1].astype(int).tolist()
            for i in range(len(STATION_TYPES))
        ]
        return {
            names[code]: {kind: per_type[t][j] for t, kind in enumerate(STATION_TYPES)}
            for j, code in sorted(enumerate(present.tolist()), key=lambda item: first[item[0]])
        }
