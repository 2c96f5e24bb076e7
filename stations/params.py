"""User-given query text (type and amenity lists, times, boxes) parsed into checked values.

Shared by the API and the CLI so both accept the same spellings and fail with the same messages.

>>> names("hot_water, microwave", AMENITIES, "amenities")
('hot_water', 'microwave')
>>> names("骑手", STATION_TYPES, "types")
Traceback (most recent call last):
...
stations.errors.InvalidValue: types='骑手': unknown value; valid: outdoor_worker, driver_home, nursing_room
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime

from geo.crs import CrsName, point_in
from stations import hours
from stations.errors import InvalidValue
from stations.model import AMENITIES, STATION_TYPES
from stations.snapshot import ORDERS, NearbyQuery, Order

# opening hours are only meaningful near the present (the holiday calendar does not reach far either way)
MIN_YEAR, MAX_YEAR = 2000, 2100


def names(text: str | None, vocabulary: Sequence[str], field: str) -> tuple[str, ...]:
    """Comma-separated names, each checked against ``vocabulary``; empty text gives ()."""
    parts = tuple(dict.fromkeys(p.strip() for p in (text or "").split(",") if p.strip()))
    for part in parts:
        if part not in vocabulary:
            raise InvalidValue(field, part, "unknown value", vocabulary)
    return parts


def moment(text: str | None, field: str = "open_at") -> datetime | None:
    """ISO 8601 date-time ("2026-11-23T09:00", with or without offset; naive means China time) or "now"."""
    if not text:
        return None
    if text.strip().lower() == "now":
        return datetime.now(hours.TIMEZONE)
    try:
        at = hours.local_time(datetime.fromisoformat(text.strip()))
    except (ValueError, OverflowError):
        raise InvalidValue(field, text, "not an ISO 8601 date-time such as 2026-11-23T09:00 or 'now'") from None
    if not MIN_YEAR <= at.year <= MAX_YEAR:
        raise InvalidValue(field, text, f"must be between the years {MIN_YEAR} and {MAX_YEAR}")
    return at


def bbox(text: str | None, crs: CrsName = "wgs84") -> tuple[float, float, float, float] | None:
    """``"west,south,east,north"`` in degrees of ``crs``, as a WGS84 box (each corner through ``geo.crs.point_in``);
    west > east crosses the antimeridian.

    >>> bbox("120.1,30.2,120.2,30.3")
    (120.1, 30.2, 120.2, 30.3)
    >>> [round(v, 4) for v in bbox("120.1,30.2,120.2,30.3", "gcj02")]
    [120.0952, 30.2023, 120.1954, 30.3024]
    """
    if not text:
        return None
    try:
        west, south, east, north = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidValue("bbox", text, "expected four numbers: west,south,east,north") from None
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise InvalidValue("bbox", text, "numbers must be finite")
    if not (-180 <= west <= 180 and -180 <= east <= 180 and -90 <= south <= north <= 90):
        raise InvalidValue("bbox", text, "need -180 ≤ west, east ≤ 180 and -90 ≤ south ≤ north ≤ 90")
    if crs == "wgs84":
        return west, south, east, north
    (west, south), (east, north) = point_in(west, south, crs), point_in(east, north, crs)
    return west, south, east, north


def nearby_query(
    lon: float,
    lat: float,
    *,
    crs: CrsName = "wgs84",
    k: int = 10,
    radius_m: float | None = None,
    types: str | None = None,
    amenities: str | None = None,
    open_at: str | None = None,
    include_unknown_hours: bool = False,
    order: str = "distance",
) -> NearbyQuery:
    """A checked NearbyQuery from what a user typed: (lon, lat) in ``crs``, comma lists, an ISO time, an order
    (``distance`` or ``open_first``)."""
    wgs_lon, wgs_lat = point_in(lon, lat, crs)
    return NearbyQuery(
        lon=wgs_lon,
        lat=wgs_lat,
        k=k,
        radius_m=radius_m,
        types=names(types, STATION_TYPES, "types"),
        amenities=names(amenities, AMENITIES, "amenities"),
        open_at=moment(open_at),
        include_unknown_hours=include_unknown_hours,
        order=_order(order),
    )


def _order(text: str) -> Order:
    """``distance`` or ``open_first``, checked."""
    for name in ORDERS:
        if text == name:
            return name
    raise InvalidValue("order", text, "unknown order", ORDERS)
