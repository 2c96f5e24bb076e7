"""The keepers' list of stations: search, filters, sorting and paging over the registry (the console's
``/console/stations`` and ``/console/freshness``).

A query (``StationListQuery``) picks stations by text (the registry's search index, ``stations.search``: a
station whose normalised name, address or district holds the text), district, type, freshness (``stale``: not
verified within ``max_age_days``, or never — ``Station.is_stale``) and whether it is closed (for good or for
now: ``Station.is_closed``); sorts them by name, district or verification date; and cuts one page. The answer
(``StationListPage``) carries the page's stations and the total that matched.

>>> from stations.model import Station
>>> from stations.snapshot import Snapshot
>>> a = Station(id="A", name="西湖驿站", types=["outdoor_worker"], lon=120.1, lat=30.2)
>>> b = Station(id="B", name="滨江驿站", types=["nursing_room"], lon=120.2, lat=30.2, operating_status="closed")
>>> _passing(Snapshot([a, b]), StationListQuery(closed=False), date(2026, 12, 4)).tolist()
[True, False]
"""

from __future__ import annotations

import bisect
import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, get_args

import numpy as np
from numpy.typing import NDArray

from stations.columns import Derivation, StationColumns, derivation
from stations.errors import InvalidValue
from stations.search import MAX_QUERY_CHARS, normalise
from stations.snapshot import Snapshot, StationsAt
from stations.vocabulary import STATION_TYPES

if TYPE_CHECKING:
    from stations.model import Station
    from stations.registry import Registry

SortKey = Literal["name", "district", "verified_at"]
SORT_KEYS: tuple[str, ...] = get_args(SortKey)
PAGE_SIZES = (20, 50, 100)
"""Stations a page may show (the first is the default)."""


@dataclass(frozen=True, slots=True)
class StationListQuery:
    """Which stations to list, in what order, which page (1-based) of ``per_page``.

    ``stale``: True only stations not verified within ``max_age_days`` (or never), False only the others, None
    both; ``closed``: True only stations closed (for good or for now), False only open ones, None both.
    """

    text: str = ""
    adcode: str | None = None
    station_type: str | None = None
    stale: bool | None = None
    closed: bool | None = None
    max_age_days: int = 180
    sort: SortKey = "name"
    descending: bool = False
    page: int = 1
    per_page: int = PAGE_SIZES[0]

    def __post_init__(self) -> None:
        if len(self.text.strip()) > MAX_QUERY_CHARS:
            raise InvalidValue("q", self.text, f"at most {MAX_QUERY_CHARS} characters")
        if self.station_type is not None and self.station_type not in STATION_TYPES:
            raise InvalidValue("type", self.station_type, "unknown station type", STATION_TYPES)
        if self.sort not in SORT_KEYS:
            raise InvalidValue("sort", self.sort, "unknown order", SORT_KEYS)
        if self.per_page not in PAGE_SIZES:
            raise InvalidValue("per_page", self.per_page, "unknown page size", [str(n) for n in PAGE_SIZES])
        if self.page < 1:
            raise InvalidValue("page", self.page, "pages are numbered from 1")
        if not 0 <= self.max_age_days <= 36_500:
            raise InvalidValue("days", self.max_age_days, "must be between 0 and 36,500 days")


@dataclass(frozen=True, slots=True)
class StationListPage:
    """One page of the list: its stations, how many matched in all, the page number and the number of pages."""

    stations: tuple[Station, ...]
    total: int
    page: int
    pages: int


class _Orders:
    """The positions of a registry's stations in each order of the list (``SORT_KEYS``), ascending, worked out once
    per version of the registry's columns: every name is read from the stored JSON and normalised once (at 1M
    stations 8 s, then a list view is a few numpy passes over positions: 10 ms), not per view (each view built
    every station: 33-51 s). After a few edits the orders are carried over from the columns before them
    (``carried``): the unchanged stations keep their order, each station written is put in its place by a binary
    search.

    ``name``: the normalised name, then the id; ``district``: the district's name (none last), then as by name;
    ``verified_at``: the day, never verified first, then as by name. Every order is total, so descending is the
    ascending order reversed."""

    def __init__(self, orders: dict[SortKey, NDArray[np.intp]]) -> None:
        self.orders = orders

    @classmethod
    def worked_out(cls, columns: StationColumns) -> _Orders:
        """The orders of ``columns``, from every station's stored JSON."""
        ids = columns.ids.tolist()
        names, districts = zip(*columns.stored("name", "district"), strict=True) if len(columns) else ((), ())
        keys = [(normalise(name), station_id) for name, station_id in zip(names, ids, strict=True)]
        by_name = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.intp)
        name_rank = np.empty(len(keys), dtype=np.intp)
        name_rank[by_name] = np.arange(len(keys))
        district_keys = sorted(set(districts), key=lambda d: (d is None, d or ""))
        rank_of = {d: i for i, d in enumerate(district_keys)}
        district_rank = np.array([rank_of[d] for d in districts], dtype=np.intp)
        return cls({
            "name": by_name,
            "district": np.lexsort((name_rank, district_rank)).astype(np.intp),
            "verified_at": np.lexsort((name_rank, columns.verified_day)).astype(np.intp),  # never: -1, first
        })  # fmt: skip

    def carried(self, columns: StationColumns, found: Derivation) -> _Orders:
        """These orders (of ``found.base``) carried over to ``columns``: the base's stations that did not change
        keep their order at their new positions; each one written is put in its place (``bisect``, reading the
        stored JSON of ~log2(n) stations it passes)."""
        keys = _Keys(columns)
        orders = {}
        for sort, order in self.orders.items():
            key = getattr(keys, sort)
            moved = found.moved[order]
            moved = moved[moved >= 0]
            written = sorted(found.written.tolist(), key=key)
            places = [bisect.bisect_left(moved, key(p), key=key) for p in written]
            orders[sort] = np.insert(moved, places, written).astype(np.intp)
        return _Orders(orders)


class _Keys:
    """The sort key of each order (``name``, ``district``, ``verified_at``) of the station at a position of
    ``columns``, as ``_Orders.worked_out`` sorts; a station's stored JSON is read once however often it is compared."""

    def __init__(self, columns: StationColumns) -> None:
        self.columns = columns
        self.kept: dict[int, tuple[str, str | None, bytes]] = {}

    def name(self, position: int) -> tuple[Any, ...]:
        normalised, _district, station_id = self._read(position)
        return normalised, station_id

    def district(self, position: int) -> tuple[Any, ...]:
        normalised, district, station_id = self._read(position)
        return district is None, district or "", normalised, station_id

    def verified_at(self, position: int) -> tuple[Any, ...]:
        return self.columns.verified_day.item(position), *self.name(position)

    def _read(self, position: int) -> tuple[str, str | None, bytes]:
        position = int(position)
        found = self.kept.get(position)
        if found is None:
            name, district = self.columns.stored_at(position, "name", "district")
            found = self.kept[position] = (normalise(name), district, self.columns.ids.item(position))
        return found


CARRY_SHARE = 64
"""Orders are carried over when fewer than one station in this many was written since; else worked out again
(each station written costs ~3 x log2(n) JSON reads, each station ~8 µs when worked out whole)."""

_ORDERS: weakref.WeakKeyDictionary[StationColumns, _Orders] = weakref.WeakKeyDictionary()
_ORDERS_LOCK = threading.Lock()
_last: StationColumns | None = None
"""The columns whose orders were worked out last, held so that the next version's can be carried over from them
(~60 bytes a station besides the JSON the versions share)."""


def _orders(snapshot: Snapshot) -> _Orders:
    """The orders of ``snapshot``'s columns: worked out on first use, or carried over from the columns before a
    few edits (one thread at a time: a second waits rather than repeats)."""
    global _last
    columns = snapshot.columns
    with _ORDERS_LOCK:
        orders = _ORDERS.get(columns)
        if orders is None:
            found = derivation(columns)
            base = found.base() if found is not None else None
            before = _ORDERS.get(base) if base is not None else None
            if found is not None and before is not None and len(found.written) * CARRY_SHARE < len(columns):
                orders = before.carried(columns, found)
            else:
                orders = _Orders.worked_out(columns)
            _ORDERS[columns] = orders
            _last = columns
        return orders


def _passing(snapshot: Snapshot, query: StationListQuery, today: date) -> NDArray[np.bool_]:
    """Which positions pass ``query``'s district, type, freshness and closed filters (not its text), from the
    columns: a station is stale when never verified or verified more than ``max_age_days`` before ``today``
    (``Station.is_stale``), closed when closed for good or for now (``Station.is_closed``)."""
    columns = snapshot.columns
    keep = snapshot.of_types(() if query.station_type is None else (query.station_type,))
    if query.adcode is not None:
        keep &= columns.adcode_code == columns.code("adcode", query.adcode)
    if query.stale is not None:
        stale = snapshot.stale(today, query.max_age_days)
        keep &= stale if query.stale else ~stale
    if query.closed is not None:
        closed = snapshot.closed()
        keep &= closed if query.closed else ~closed
    return keep


def paged(stations: Sequence[Station], page: int, per_page: int) -> StationListPage:
    """Page ``page`` (1-based) of ``stations``; a page past the end is the last one (an empty list: page 1)."""
    pages = max(1, math.ceil(len(stations) / per_page))
    page = min(page, pages)
    start = (page - 1) * per_page
    return StationListPage(tuple(stations[start : start + per_page]), len(stations), page, pages)


def list_stations(registry: Registry, query: StationListQuery, today: date) -> StationListPage:
    """The page of stations ``query`` asks for, from the registry's snapshot (and its search index for text):
    chosen and ordered from the columns, so only the page's stations are built.

    Raises ``InvalidValue`` for a district the registry does not know.
    """
    registry.check_adcode(query.adcode)
    snapshot = registry.snapshot()
    keep = _passing(snapshot, query, today)
    text = query.text.strip()
    if text:
        from stations.search import find

        with registry.store.engine.connect() as connection:
            ids = find(connection, text, len(snapshot) + 1)
        found = np.zeros(len(keep), dtype=bool)
        found[snapshot.columns.positions_of(ids)] = True
        keep &= found
    order = _orders(snapshot).orders[query.sort]
    if query.descending:
        order = order[::-1]
    return paged(StationsAt(snapshot, order[keep[order]]), query.page, query.per_page)
