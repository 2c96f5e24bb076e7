"""The keepers' list of stations: search, filters, sorting and paging over the registry (the console's
``/console/stations`` and ``/console/freshness``).

A query (``StationListQuery``) picks stations by text (the registry's search index, ``stations.search``: a
station whose normalised name, address or district holds the text), district, type, freshness (``stale``: not
verified within ``max_age_days``, or never — ``Station.is_stale``) and whether it is closed (for good or for
now: ``Station.is_closed``); sorts them by name, district or verification date; and cuts one page. The answer
(``StationListPage``) carries the page's stations and the total that matched.

>>> from stations.model import Station
>>> a = Station(id="A", name="西湖驿站", types=["outdoor_worker"], lon=120.1, lat=30.2)
>>> b = Station(id="B", name="滨江驿站", types=["nursing_room"], lon=120.2, lat=30.2, operating_status="closed")
>>> [s.id for s in filtered([a, b], StationListQuery(closed=False), date(2026, 12, 4))]
['A']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Literal, get_args

from stations.errors import InvalidValue
from stations.search import MAX_QUERY_CHARS, normalise
from stations.vocabulary import STATION_TYPES

if TYPE_CHECKING:
    from stations.model import Station
    from stations.registry import Registry

SortKey = Literal["name", "district", "verified_at"]
SORT_KEYS: tuple[str, ...] = get_args(SortKey)
PAGE_SIZES = (20, 50, 100)
"""Stations a page may show (the first is the default)."""
_NEVER = date.min
"""The verification date a station never verified sorts as: before every real one (the stalest first)."""


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


def filtered(stations: Iterable[Station], query: StationListQuery, today: date) -> list[Station]:
    """The stations of ``stations`` that pass ``query``'s district, type, freshness and closed filters (not its
    text: ``list_stations`` narrows by the search index first), in their order."""
    found = []
    for station in stations:
        if query.adcode is not None and station.adcode != query.adcode:
            continue
        if query.station_type is not None and query.station_type not in station.types:
            continue
        if query.stale is not None and station.is_stale(today, query.max_age_days) != query.stale:
            continue
        if query.closed is not None and station.is_closed != query.closed:
            continue
        found.append(station)
    return found


def sort_key(key: SortKey) -> Callable[[Station], tuple[Any, ...]]:
    """The function ordering stations by ``key`` (ties by name, then id: every order is total and stable).

    ``name``: the normalised name (full-width letters as ASCII, ASCII lower-cased); ``district``: the district's
    name (none last), then the name; ``verified_at``: the date, never verified first.
    """
    if key == "district":
        return lambda s: (s.district is None, s.district or "", normalise(s.name), s.id)
    if key == "verified_at":
        return lambda s: (s.verified_at or _NEVER, normalise(s.name), s.id)
    return lambda s: (normalise(s.name), s.id)


def ordered(stations: Sequence[Station], key: SortKey, descending: bool = False) -> list[Station]:
    """``stations`` sorted by ``key`` (``sort_key``), reversed when ``descending``."""
    return sorted(stations, key=sort_key(key), reverse=descending)


def paged(stations: Sequence[Station], page: int, per_page: int) -> StationListPage:
    """Page ``page`` (1-based) of ``stations``; a page past the end is the last one (an empty list: page 1)."""
    pages = max(1, math.ceil(len(stations) / per_page))
    page = min(page, pages)
    start = (page - 1) * per_page
    return StationListPage(tuple(stations[start : start + per_page]), len(stations), page, pages)


def list_stations(registry: Registry, query: StationListQuery, today: date) -> StationListPage:
    """The page of stations ``query`` asks for, from the registry's snapshot (and its search index for text).

    Raises ``InvalidValue`` for a district the registry does not know.
    """
    registry.check_adcode(query.adcode)
    snapshot = registry.snapshot()
    stations: Sequence[Station]
    text = query.text.strip()
    if text:
        from stations.search import find

        with registry.store.engine.connect() as connection:
            ids = find(connection, text, len(snapshot) + 1)
        stations = [s for s in map(snapshot.get, ids) if s is not None]
    else:  # district and type chosen from the columns: only those are built (a district's hundreds, not a million)
        types = (query.station_type,) if query.station_type is not None else ()
        stations = snapshot.select(None, query.adcode, types)
    chosen = ordered(filtered(stations, query, today), query.sort, query.descending)
    return paged(chosen, query.page, query.per_page)
