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

import math
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal, get_args

import numpy as np
from numpy.typing import NDArray

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
    """The positions of a snapshot's stations in each order of the list (``SORT_KEYS``), ascending, worked out once
    per snapshot: every name is read from the stored JSON and normalised once (at 1M stations 8 s, then a list
    view is a few numpy passes over positions: 10 ms), not per view (each view built every station: 33-51 s).

    ``name``: the normalised name, then the id; ``district``: the district's name (none last), then as by name;
    ``verified_at``: the day, never verified first, then as by name. Every order is total, so descending is the
    ascending order reversed."""

    def __init__(self, snapshot: Snapshot) -> None:
        columns = snapshot.columns
        ids = columns.ids.tolist()
        names, districts = zip(*columns.stored("name", "district"), strict=True) if len(columns) else ((), ())
        keys = [(normalise(name), station_id) for name, station_id in zip(names, ids, strict=True)]
        by_name = np.array(sorted(range(len(keys)), key=keys.__getitem__), dtype=np.intp)
        name_rank = np.empty(len(keys), dtype=np.intp)
        name_rank[by_name] = np.arange(len(keys))
        district_keys = sorted(set(districts), key=lambda d: (d is None, d or ""))
        rank_of = {d: i for i, d in enumerate(district_keys)}
        district_rank = np.array([rank_of[d] for d in districts], dtype=np.intp)
        self.orders: dict[SortKey, NDArray[np.intp]] = {
            "name": by_name,
            "district": np.lexsort((name_rank, district_rank)).astype(np.intp),
            "verified_at": np.lexsort((name_rank, columns.verified_day)).astype(np.intp),  # never: -1, first
        }


_ORDERS: weakref.WeakKeyDictionary[Snapshot, _Orders] = weakref.WeakKeyDictionary()
_ORDERS_LOCK = threading.Lock()


def _orders(snapshot: Snapshot) -> _Orders:
    """``snapshot``'s orders, worked out on first use (one thread at a time: a second waits rather than repeats)."""
    with _ORDERS_LOCK:
        orders = _ORDERS.get(snapshot)
        if orders is None:
            orders = _ORDERS[snapshot] = _Orders(snapshot)
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
        found[[p for p in map(snapshot.position, ids) if p is not None]] = True
        keep &= found
    order = _orders(snapshot).orders[query.sort]
    if query.descending:
        order = order[::-1]
    return paged(StationsAt(snapshot, order[keep[order]]), query.page, query.per_page)
