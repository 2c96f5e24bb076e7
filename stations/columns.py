"""Every station of a registry as columns: numpy arrays by position, plus each station's stored JSON in shared byte
buffers — what a ``stations.snapshot.Snapshot`` answers queries from, instead of one ``Station`` object each.

Built from the store by one bulk read of the stored JSON (``read``; no pydantic validation: the store validated
every row on write), from ``Station`` objects (``from_stations``), or from another columns' rows plus a few changed
stations (``replace``: a refresh or an import), which shares the other's JSON buffers instead of copying them.

Text that few stations share (hours, adcodes, photo URLs, amenities as JSON) is kept once, as a sorted tuple of the
distinct values and an int32 code per station (-1: absent). Ids are UTF-8 bytes (numpy ``S``: byte order is
code-point order). The JSON kept per station is the rest of its stored JSON (compact UTF-8): a station is its
columns' values plus that (``station``).

>>> from stations.model import Station
>>> columns = StationColumns.from_stations([
...     Station(id="B", name="乙", types=["nursing_room"], lon=120.2, lat=30.3, amenities={"sink": "yes"}),
...     Station(id="A", name="甲", types=["outdoor_worker"], lon=120.1, lat=30.2, opening_hours="24/7"),
... ]).sorted_by_id()
>>> columns.ids.tolist(), columns.lon.tolist(), columns.hours_texts, columns.hours_code.tolist()
([b'A', b'B'], [120.1, 120.2], ('24/7',), [0, -1])
>>> columns.type_bits.tolist(), columns.amenity_bits.tolist(), columns.amenities_texts
([1, 4], [0, 8388608], ('{"sink":"yes"}',))
>>> columns.station(1).name, columns.station(1).amenities  # B: the buffer holds B's JSON first, as given
('乙', {'sink': 'yes'})
>>> columns.payloads[0].decode()[:55]
'{"name":"乙","types":["nursing_room"],"external_ids":{}}'
"""

from __future__ import annotations

import itertools
import json
import math
import weakref
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date
from functools import lru_cache
from typing import Any

import numpy as np
import orjson
from numpy.typing import NDArray
from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

from stations.edits import WRITE_CHUNK, payload
from stations.model import AMENITIES, OPERATING_STATUSES, STATION_TYPES, Station, unchecked_station
from stations.store import StationRow, Store, json_loads

_TYPE_BIT = {name: 1 << i for i, name in enumerate(STATION_TYPES)}
_AMENITY_BIT = {name: 1 << i for i, name in enumerate(AMENITIES)}
_STATUS_CODE = {name: i for i, name in enumerate(OPERATING_STATUSES)}
NEVER_VERIFIED = -1
"""``verified_day`` of a station never verified (a real day's ordinal is at least 1)."""
READ_CHUNK = 20_000
"""Rows read and parsed at a time by ``read``: a large registry's JSON is never all held as Python objects."""
CODED = {"hours": "opening_hours", "adcode": "adcode", "photo": "photo_url", "amenities": "amenities"}
"""The coded text columns and the Station field each holds: ``<name>_code`` (int32 per station, -1: absent) into
``<name>_texts`` (sorted; amenities as JSON text)."""
_HELD = frozenset({"id", "lon", "lat", "operating_status", *CODED.values()})
"""Fields held in columns, so left out of the JSON kept per station."""


@dataclass(frozen=True, slots=True, eq=False, weakref_slot=True)
class StationColumns:
    """Stations by position: coordinates (WGS84 degrees), type and amenity bit sets (bit i: ``STATION_TYPES[i]``,
    ``AMENITIES[i]`` "yes"), operating status (index into ``OPERATING_STATUSES``), coded text columns and each
    the rest of each station's stored JSON (``_HELD`` left out): ``payloads[segment[i]][start[i]:end[i]]``."""

    ids: NDArray[np.bytes_]
    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    type_bits: NDArray[np.uint32]
    amenity_bits: NDArray[np.uint64]
    status: NDArray[np.int8]
    verified_day: NDArray[np.int32]
    """The day it was last verified (``date.toordinal``), ``NEVER_VERIFIED`` if never (its JSON keeps it too)."""
    hours_code: NDArray[np.int32]
    hours_texts: tuple[str, ...]
    adcode_code: NDArray[np.int32]
    adcode_texts: tuple[str, ...]
    photo_code: NDArray[np.int32]
    photo_texts: tuple[str, ...]
    amenities_code: NDArray[np.int32]
    amenities_texts: tuple[str, ...]
    segment: NDArray[np.int32]
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    payloads: tuple[bytes, ...]
    payload_tokens: tuple[int, ...] = ()
    """A number per JSON buffer, never given to another buffer in this process (new buffers get new ones; columns
    made from others keep theirs): with a station's offset in its buffer, what its content is known by
    (``content_key``)."""

    def __post_init__(self) -> None:
        if len(self.payload_tokens) != len(self.payloads):
            object.__setattr__(self, "payload_tokens", tuple(next(_TOKENS) for _ in self.payloads))

    def __len__(self) -> int:
        return int(self.ids.size)

    def content_key(self, position: int) -> int:
        """A number that stands for everything the station at ``position`` is (its JSON slice, held in no other
        place, and its columns' values, which go with that slice): equal for this station in any columns made
        from these or from which these were made while it was not written, and never for another station's
        content in this process. What a cache of texts made from a station can key them by across snapshots.

        Every station's JSON slice is at least ``{}`` long, so no two stations of a buffer start at one offset.
        """
        i = int(position)
        return self.payload_tokens[self.segment.item(i)] << _OFFSET_BITS | self.start.item(i)

    def payload(self, position: int) -> dict[str, Any]:
        """The stored JSON of the station at ``position``, as a dict: its columns' values and the rest."""
        i = int(position)  # .item(i): Python values straight away (numpy scalars cost ~5 µs here in all)
        data = self._stored_json(i)
        data.update(id=self.ids.item(i).decode(), lon=self.lon.item(i), lat=self.lat.item(i))
        data["operating_status"] = OPERATING_STATUSES[self.status.item(i)]
        if (code := self.hours_code.item(i)) >= 0:
            data["opening_hours"] = self.hours_texts[code]
        if (code := self.adcode_code.item(i)) >= 0:
            data["adcode"] = self.adcode_texts[code]
        if (code := self.photo_code.item(i)) >= 0:
            data["photo_url"] = self.photo_texts[code]
        if (code := self.amenities_code.item(i)) >= 0:
            data["amenities"] = dict(_amenities(self.amenities_texts[code]))
        return data

    def stored(self, *fields: str) -> list[tuple[Any, ...]]:
        """Each station's values of ``fields`` (none of them held in a column) from its stored JSON, None where
        absent, by position: one parse per station, no station built."""
        if held := _HELD.intersection(fields):
            raise ValueError(f"held in columns, not in the stored JSON: {sorted(held)}")
        payloads = self.payloads
        return [
            tuple(map(json_loads(payloads[segment][start:end]).get, fields))
            for segment, start, end in zip(self.segment.tolist(), self.start.tolist(), self.end.tolist(), strict=True)
        ]

    def stored_at(self, position: int, *fields: str) -> tuple[Any, ...]:
        """``stored`` of the one station at ``position``."""
        return tuple(map(self._stored_json(int(position)).get, fields))

    def _stored_json(self, i: int) -> dict[str, Any]:
        """The JSON kept for the station at ``i``: its stored JSON without the fields held in columns."""
        data: dict[str, Any] = json_loads(self.payloads[self.segment.item(i)][self.start.item(i) : self.end.item(i)])
        return data

    def station(self, position: int) -> Station:
        """The station at ``position``, equal to what ``Store.get`` reads, from its stored JSON: validated when
        it was written, so put together without validating again (``_trusted``; what a nearby answer pays)."""
        return _trusted(self.payload(position))

    def code(self, name: str, text: str | None) -> int:
        """The code ``text`` has in the coded column ``name`` (``CODED``): -1 for None (absent), -2 for a text no
        station holds (so it matches none)."""
        if text is None:
            return -1
        texts: tuple[str, ...] = getattr(self, f"{name}_texts")
        return texts.index(text) if text in texts else -2

    def texts(self, name: str) -> list[str | None]:
        """Each station's value of the coded column ``name`` (``CODED``), None where absent."""
        values: list[str | None] = [*getattr(self, f"{name}_texts"), None]  # code -1 reads the last
        return [values[code] for code in getattr(self, f"{name}_code").tolist()]

    @classmethod
    def from_payloads(cls, texts: Iterable[bytes | str | dict[str, Any]]) -> StationColumns:
        """Columns of stations given as stored JSON (a store's rows; or parsed already), in the order given."""
        builder = ColumnsBuilder(READ_CHUNK)
        for text in texts:
            builder.add(text)
        return builder.build()

    @classmethod
    def from_stations(cls, stations: Sequence[Station]) -> StationColumns:
        """Columns of ``stations`` in the order given (their JSON as the store keeps it)."""
        return cls.from_payloads(payload(s) for s in stations)

    def take(self, positions: NDArray[np.intp]) -> StationColumns:
        """The stations at ``positions``, in that order (the JSON buffers shared, not copied)."""
        return replace(
            self,
            **{name: getattr(self, name)[positions] for name in _ROW_ARRAYS},
            **_compact_codes(self, positions),
        )

    def sorted_by_id(self) -> StationColumns:
        """The same stations ordered by id (code points, as Python orders strings)."""
        order = np.argsort(self.ids, kind="stable")
        if np.all(order[1:] > order[:-1]):  # already in order: nothing to copy
            return self
        return self.take(order)

    def positions_of(self, ids: Iterable[str]) -> NDArray[np.intp]:
        """Positions of those of ``ids`` that are here (columns sorted by id)."""
        return self._positions_of(np.array([i.encode() for i in ids], dtype="S"))

    def _positions_of(self, wanted: NDArray[np.bytes_]) -> NDArray[np.intp]:
        """``positions_of`` the UTF-8 ids ``wanted``."""
        # each id at its own width: cast to the column's, "H10" would be cut to "H1" and find (and replace) it
        if not wanted.size or not len(self):
            return np.empty(0, dtype=np.intp)
        found = np.searchsorted(self.ids, wanted).clip(max=len(self) - 1)
        return np.unique(found[self.ids[found] == wanted]).astype(np.intp)

    def replace(self, stations: Sequence[Station], removed: Iterable[str] = ()) -> StationColumns:
        """These columns (sorted by id) with ``stations`` written (added or replacing the same ids) and the ids
        ``removed`` gone, sorted by id; the unchanged stations' JSON is shared, not copied."""
        return self.merged(StationColumns.from_stations(stations), removed)

    def merged(self, written: StationColumns, removed: Iterable[str] = ()) -> StationColumns:
        """``replace`` with the stations written given as columns already (ids unique; ``ColumnsBuilder.written``:
        a write's payloads, so no station is dumped to JSON again)."""
        removed_ids = np.array([i.encode() for i in removed], dtype="S")
        gone = self._positions_of(np.concatenate([removed_ids, written.ids]) if removed_ids.size else written.ids)
        keep = np.ones(len(self), dtype=bool)
        keep[gone] = False
        kept = self if keep.all() else self.take(np.flatnonzero(keep))
        result = concat([kept, written]).sorted_by_id() if len(written) else kept
        if result is not self:
            _record_derivation(self, result, keep, result._positions_of(written.ids))
        return result


@dataclass(frozen=True, slots=True)
class Derivation:
    """How columns were made from earlier ones (``base``) by ``StationColumns.merged``, one write after another:
    where each base station is now (``moved``: its new position, -1 where it was rewritten or removed), and the
    positions of the stations written since (``written``, ascending). Whoever keeps something per position of
    ``base`` (the console list's orders, ``stations.station_list``) can carry it over instead of working it out
    again."""

    base: weakref.ref[StationColumns]
    moved: NDArray[np.intp]
    written: NDArray[np.intp]


_DERIVATIONS: weakref.WeakKeyDictionary[StationColumns, Derivation] = weakref.WeakKeyDictionary()


def derivation(columns: StationColumns) -> Derivation | None:
    """How ``columns`` were made from earlier columns still held somewhere, or None (built whole, or their base
    is gone)."""
    found = _DERIVATIONS.get(columns)
    return found if found is not None and found.base() is not None else None


def _record_derivation(
    before: StationColumns, after: StationColumns, kept: NDArray[np.bool_], written: NDArray[np.intp]
) -> None:
    """Note that ``after`` is ``before`` with the stations at ``~kept`` gone and those at ``written`` (positions in
    ``after``, ascending: ``_positions_of``) written; reaching back to ``before``'s own base while that is still
    held, so that a chain of writes leads back to the last columns someone kept something for."""
    moved = np.full(len(before), -1, dtype=np.intp)
    unchanged = np.ones(len(after), dtype=bool)
    unchanged[written] = False
    moved[kept] = np.flatnonzero(unchanged)  # both in id order: the k-th kept station is the k-th unchanged one
    earlier = derivation(before)
    if earlier is None:
        _DERIVATIONS[after] = Derivation(weakref.ref(before), moved, written)
        return
    # compose, base -> before -> after (a base let go meanwhile: derivation() answers None for it)
    moved_from_base = np.full(len(earlier.moved), -1, dtype=np.intp)
    was_there = earlier.moved >= 0
    moved_from_base[was_there] = moved[earlier.moved[was_there]]
    landed = np.zeros(len(after), dtype=bool)
    landed[moved_from_base[moved_from_base >= 0]] = True
    _DERIVATIONS[after] = Derivation(earlier.base, moved_from_base, np.flatnonzero(~landed))


class ColumnsBuilder:
    """Columns of stored JSON handed over one station at a time, parsed ``chunk`` stations at a time (so the
    texts or dicts of a large batch are never all held; by default a write chunk's: an import's payloads are freed
    as the write goes, ~50 MB less at 100k rows than with ``READ_CHUNK``). ``add`` / ``build`` keep every station
    in the order given (``StationColumns.from_payloads``); ``stored`` / ``written`` / ``removed`` take a write's
    outcome in write order, a payload or a removal per station (``edits.apply_many``'s ``on_stored``: the payloads
    the write made), the last per id winning — what an import hands the registry's new snapshot
    (``StationColumns.merged``).

    >>> from stations.model import Station
    >>> from stations.edits import payload
    >>> builder = ColumnsBuilder()
    >>> for name in ("甲", "乙"):
    ...     builder.stored("A", payload(Station(id="A", name=name, types=["driver_home"], lon=120.1, lat=30.2)))
    >>> builder.stored("B", None)
    >>> written = builder.written()
    >>> written.ids.tolist(), written.station(0).name, builder.removed
    ([b'A'], '乙', ('B',))
    """

    def __init__(self, chunk: int = WRITE_CHUNK) -> None:
        self._size = chunk
        self._parts: list[StationColumns] = []
        self._chunk: list[bytes | str | dict[str, Any]] = []
        self._count = 0
        self._removed_at: dict[str, int] = {}  # id: how many stations were added before its last removal

    def add(self, text: bytes | str | dict[str, Any]) -> None:
        """One more station: its stored JSON (text, or parsed already)."""
        self._chunk.append(text)
        self._count += 1
        if len(self._chunk) >= self._size:
            self._parts.append(_parsed(self._chunk))
            self._chunk = []

    def stored(self, station_id: str, data: dict[str, Any] | None) -> None:
        """What a write left of one station: its payload (``data``, the store's JSON) or None, removed."""
        if data is None:
            self._removed_at[station_id] = self._count
        else:
            self.add(data)

    def build(self) -> StationColumns:
        """Every station added, in the order given."""
        if self._chunk or not self._parts:
            self._parts.append(_parsed(self._chunk))
            self._chunk = []
        self._parts = [concat(self._parts)]
        return self._parts[0]

    def written(self) -> StationColumns:
        """The stations ``stored``, the last of each id only, and none removed after it was stored: sorted by id."""
        columns = self.build()
        order = np.argsort(columns.ids, kind="stable")  # equal ids in write order: the last of each run wins
        ids = columns.ids[order]
        last = np.ones(ids.size, dtype=bool)
        last[:-1] = ids[1:] != ids[:-1]
        if self._removed_at:
            gone_at = np.array([self._removed_at.get(i.decode(), -1) for i in ids.tolist()], dtype=np.int64)
            last &= order >= gone_at  # stored at or after its last removal (positions count the stations added)
        kept = order[last]
        return columns if np.array_equal(kept, np.arange(len(columns))) else columns.take(kept)

    @property
    def removed(self) -> tuple[str, ...]:
        """The ids ``stored`` as removed (some may have been stored again after: ``written`` holds those)."""
        return tuple(self._removed_at)


@lru_cache(maxsize=4096)
def _amenities(text: str) -> dict[str, str]:
    """Amenities from their JSON text, kept per text (a registry has few distinct sets); callers copy."""
    found: dict[str, str] = json_loads(text)
    return found


def _trusted(data: dict[str, Any]) -> Station:
    """A ``Station`` of the JSON-ready ``data`` (a stored payload: valid), made without validation
    (``unchecked_station``: ~1 µs against ~10; stations stored with the same fields share their fields set):
    equal to ``Station.model_validate(data)``; the JSON types turned back into the model's (tuple, date)."""
    data["types"] = tuple(data["types"])
    if (verified_at := data.get("verified_at")) is not None:
        data["verified_at"] = date.fromisoformat(verified_at)
    return unchecked_station(data, tuple(data))


_TOKENS = itertools.count(1)
_OFFSET_BITS = 40
"""A JSON buffer's offsets fit in 40 bits (1 TiB); the token goes above them."""
_ROW_ARRAYS = ("ids", "lon", "lat", "type_bits", "amenity_bits", "status", "verified_day", "segment", "start", "end")


def _compact_codes(columns: StationColumns, positions: NDArray[np.intp]) -> dict[str, Any]:
    """The coded columns of the stations at ``positions``, with only the texts they still use."""
    found: dict[str, Any] = {}
    for name in CODED:
        codes = getattr(columns, f"{name}_code")[positions]
        texts = getattr(columns, f"{name}_texts")
        used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(texts)))  # in order, as unique; O(n)
        if used.size == len(texts):
            found[f"{name}_code"], found[f"{name}_texts"] = codes, texts
            continue
        renumber = np.full(len(texts) + 1, -1, dtype=np.int32)  # code -1 reads the last: stays -1
        renumber[used] = np.arange(used.size, dtype=np.int32)
        found[f"{name}_code"], found[f"{name}_texts"] = renumber[codes], tuple(texts[i] for i in used.tolist())
    return found


def concat(parts: Sequence[StationColumns]) -> StationColumns:
    """The stations of ``parts`` one after another (their JSON buffers kept, distinct texts merged)."""
    if len(parts) == 1:
        return parts[0]
    payloads: list[bytes] = []
    tokens: list[int] = []
    offsets = []
    for part in parts:
        offsets.append(len(payloads))
        payloads.extend(part.payloads)
        tokens.extend(part.payload_tokens)
    merged: dict[str, Any] = {
        name: np.concatenate([getattr(p, name) for p in parts]) for name in _ROW_ARRAYS if name != "segment"
    }
    merged["segment"] = np.concatenate([p.segment + o for p, o in zip(parts, offsets, strict=True)]).astype(np.int32)
    if merged["ids"].size == 0:
        merged["ids"] = merged["ids"].astype("S1")
    for name in CODED:
        texts = sorted({t for p in parts for t in getattr(p, f"{name}_texts")})
        code_of = {t: i for i, t in enumerate(texts)}
        codes = []
        for part in parts:
            renumber = np.array([code_of[t] for t in getattr(part, f"{name}_texts")] + [-1], dtype=np.int32)
            codes.append(renumber[getattr(part, f"{name}_code")])
        merged[f"{name}_code"], merged[f"{name}_texts"] = np.concatenate(codes).astype(np.int32), tuple(texts)
    return StationColumns(payloads=tuple(payloads), payload_tokens=tuple(tokens), **merged)


def _json(rest: dict[str, Any]) -> bytes:
    """JSON text of the rest of a station's JSON (kept in memory only, read back by ``json_loads``): orjson,
    or ``json.dumps`` where orjson would change the value (a float that is not finite: area_m2 is the only float
    left; text that is not valid Unicode)."""
    area_m2 = rest.get("area_m2")
    if area_m2 is None or math.isfinite(area_m2):
        try:
            return orjson.dumps(rest)
        except orjson.JSONEncodeError:
            pass
    return json.dumps(rest).encode()


def _parsed(texts: Sequence[bytes | str | dict[str, Any]]) -> StationColumns:
    """Columns of one chunk of stored JSON texts (one buffer)."""
    count = len(texts)
    ids, lon, lat, type_bits, amenity_bits, status, verified, rest = [], [], [], [], [], [], [], []
    coded: dict[str, list[str | None]] = {name: [] for name in CODED}
    type_cache: dict[tuple[str, ...], int] = {}
    amenity_cache: dict[bytes, tuple[str, int]] = {}  # by JSON text: (the text, bits of those "yes")
    for text in texts:
        data = text if isinstance(text, dict) else json_loads(text)
        rest.append(_json({k: v for k, v in data.items() if k not in _HELD}))
        ids.append(data["id"].encode())
        lon.append(data["lon"])
        lat.append(data["lat"])
        kinds = tuple(data["types"])
        bits = type_cache.get(kinds)
        if bits is None:
            bits = type_cache[kinds] = sum(map(_TYPE_BIT.__getitem__, set(kinds)))
        type_bits.append(bits)
        amenities = data.get("amenities")
        if amenities:
            key = orjson.dumps(amenities)
            known = amenity_cache.get(key)
            if known is None:
                yes = sum([_AMENITY_BIT[a] for a, v in amenities.items() if v == "yes"])
                known = amenity_cache[key] = (key.decode(), yes)
            coded["amenities"].append(known[0])
            amenity_bits.append(known[1])
        else:
            coded["amenities"].append(None)
            amenity_bits.append(0)
        status.append(_STATUS_CODE[data.get("operating_status", "normal")])
        day = data.get("verified_at")
        verified.append(date.fromisoformat(str(day)).toordinal() if day else NEVER_VERIFIED)
        coded["hours"].append(data.get("opening_hours") or None)
        coded["adcode"].append(data.get("adcode"))
        coded["photo"].append(data.get("photo_url"))
    lengths = np.fromiter(map(len, rest), dtype=np.int64, count=count)
    end = np.cumsum(lengths)
    columns: dict[str, Any] = {}
    for name, values in coded.items():
        distinct = sorted({v for v in values if v is not None})
        code_of: dict[str | None, int] = {v: i for i, v in enumerate(distinct)}
        code_of[None] = -1
        columns[f"{name}_code"] = np.fromiter(map(code_of.__getitem__, values), dtype=np.int32, count=count)
        columns[f"{name}_texts"] = tuple(distinct)
    return StationColumns(
        ids=np.array(ids, dtype="S") if ids else np.empty(0, dtype="S1"),
        lon=np.array(lon, dtype=np.float64),
        lat=np.array(lat, dtype=np.float64),
        type_bits=np.array(type_bits, dtype=np.uint32),
        amenity_bits=np.array(amenity_bits, dtype=np.uint64),
        status=np.array(status, dtype=np.int8),
        verified_day=np.array(verified, dtype=np.int32),
        segment=np.zeros(count, dtype=np.int32),
        start=end - lengths,
        end=end,
        payloads=(b"".join(rest),),
        **columns,
    )


def read(store: Store) -> StationColumns:
    """Every station of ``store`` as columns, sorted by id (code points): the stored JSON read as text in bulk
    (streamed), each row parsed once for the columns and kept as bytes; nothing validated again."""
    query = select(cast(StationRow.payload, Text)).execution_options(yield_per=READ_CHUNK)
    with Session(store.engine) as session:
        columns = StationColumns.from_payloads(session.scalars(query))
    return columns.sorted_by_id()
