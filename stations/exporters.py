"""Write stations as canonical CSV or RFC 7946 GeoJSON, in WGS84 or a Chinese map's coordinate system.

The CSV columns are the ones ``stations.importers`` reads (``CSV_COLUMNS``, then ``external_ids.<system>`` for
each system some exported station has an id in), so an export imports back unchanged. Text cells
that a spreadsheet would run as a formula (starting with ``= + - @``, tab or carriage return) are prefixed
with ``'``, which the importers remove again (``guard_formula``/``unguard_formula``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from json.encoder import encode_basestring
from typing import Any, Final, get_args

import numpy as np
import orjson

from geo.crs import CRS_NAMES, CrsName, point_to_gcj02_bd09, transform
from stations.hours import OpenStatus
from stations.model import AMENITIES, Station
from stations.navigation import (
    RouteLinks,
    TravelMode,
    Trip,
    default_mode,
    route_links,
    route_origin,
    trip_members,
)
from stations.snapshot import Nearby, NearbyQuery
from stations.xlsx_writer import xlsx_table

CSV_COLUMNS: tuple[str, ...] = (
    "id", "name", "types", "host", "lon", "lat", "crs", "address", "adcode", "district", "opening_hours",
    "operating_status", "phone", "capacity", "area_m2", "photo_url", "verified_at", "source", *AMENITIES,
)  # fmt: skip
EXTERNAL_ID_PREFIX = "external_ids."
"""Columns ``external_ids.<system>`` (e.g. ``external_ids.union``) hold a station's id in another register; an
import matches rows to stations by them (GeoJSON: an ``external_ids`` object property)."""
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""First characters that make a spreadsheet cell a formula (OWASP's CSV-injection list)."""
_GUARD = "'"


def guard_formula(text: str) -> str:
    """``text`` made safe for a spreadsheet cell: ``'`` before a formula trigger (and before a ``'``, so that
    ``unguard_formula`` gives back exactly the original).

    >>> guard_formula("=HYPERLINK(1)"), guard_formula("-"), guard_formula("'ok"), guard_formula("ok")
    ("'=HYPERLINK(1)", "'-", "''ok", 'ok')
    """
    return _GUARD + text if text.startswith((*FORMULA_START, _GUARD)) else text


def unguard_formula(text: str) -> str:
    """The inverse of ``guard_formula``: one leading ``'`` removed where ``guard_formula`` would have put it.

    >>> unguard_formula("'=1+1"), unguard_formula("''ok"), unguard_formula("'ok"), unguard_formula("ok")
    ('=1+1', "'ok", "'ok", 'ok')
    """
    return text[1:] if text.startswith(_GUARD) and text[1:2].startswith((*FORMULA_START, _GUARD)) else text


def coordinates(stations: Sequence[Station], crs: CrsName = "wgs84") -> tuple[np.ndarray, np.ndarray]:
    """Longitudes and latitudes of the stations in ``crs``, rounded to 7 decimals (~1 cm)."""
    return _rounded_in([s.lon for s in stations], [s.lat for s in stations], crs)


def _rounded_in(lon: Sequence[float], lat: Sequence[float], crs: CrsName) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 ``lon``, ``lat`` in ``crs``, rounded to 7 decimals (``coordinates``)."""
    x, y = transform(lon, lat, "wgs84", crs)
    return x.round(7), y.round(7)


def station_properties(station: Station) -> dict[str, Any]:
    """A station's fields as JSON-ready properties (all but its coordinates); unknown amenities omitted."""
    return station.model_dump(mode="json", exclude={"lon", "lat"})


def station_feature(station: Station, lon: float, lat: float, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """One GeoJSON Feature with the station's properties plus ``extra``; lon/lat in the caller's CRS."""
    return {
        "type": "Feature",
        "id": station.id,
        "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
        "properties": {**station_properties(station), **(extra or {})},
    }


def feature_collection(features: Iterable[dict[str, Any]], crs: CrsName = "wgs84", **members: Any) -> dict[str, Any]:
    """A FeatureCollection; a non-WGS84 ``crs`` is stated in a ``coordinate_system`` foreign member."""
    collection: dict[str, Any] = {"type": "FeatureCollection", "coordinate_system": crs, **members}
    collection["features"] = list(features)
    return collection


def external_id_columns(stations: Sequence[Station]) -> tuple[str, ...]:
    """``external_ids.<system>`` for every system some of ``stations`` has an id in, sorted."""
    return tuple(EXTERNAL_ID_PREFIX + system for system in sorted({k for s in stations for k in s.external_ids}))


def station_rows(stations: Sequence[Station], crs: CrsName = "wgs84") -> list[dict[str, Any]]:
    """Stations as table rows with the ``CSV_COLUMNS`` (types ``;``-joined, lon/lat in ``crs``) and the
    station's own ``external_ids.<system>`` keys, for ``table_csv``/``table_xlsx``; unknown amenities and absent
    fields are ``None``."""
    lon, lat = coordinates(stations, crs)
    rows = []
    for station, x, y in zip(stations, lon, lat, strict=True):
        data = station.model_dump(mode="json")
        data.update(types=";".join(station.types), lon=float(x), lat=float(y), crs=crs, **station.amenities)
        row = {column: data.get(column) for column in CSV_COLUMNS}
        row.update({EXTERNAL_ID_PREFIX + system: value for system, value in station.external_ids.items()})
        rows.append(row)
    return rows


def to_csv(stations: Sequence[Station], crs: CrsName = "wgs84") -> str:
    """Stations as canonical CSV text (UTF-8; prepend a BOM yourself if Excel must open it directly)."""
    return table_csv(station_rows(stations, crs), (*CSV_COLUMNS, *external_id_columns(stations)))


MAP_FEATURE_KEYS = (
    "id", "name", "types", "address", "district", "opening_hours", "amenities", "verified_at", "phone", "photo_url",
    "travel_mode", "navigation",
)  # fmt: skip
"""Station properties an inline map page carries (enough for the popups; smaller pages)."""


def map_features(stations: Sequence[Station], tiles_crs: CrsName, trip: Trip | None = None) -> list[dict[str, Any]]:
    """Stations as Features for an inline map: coordinates in the tiles' CRS, navigation links per app (as
    ``trip`` says; default: each station's way of travel, from the rider's position), and only the
    ``MAP_FEATURE_KEYS`` properties."""
    features = rider_features(stations, tiles_crs, trip=trip)
    for feature in features:
        feature["properties"] = {k: v for k, v in feature["properties"].items() if k in MAP_FEATURE_KEYS}
    return features


def rider_features(
    stations: Sequence[Station],
    crs: CrsName = "wgs84",
    extras: Sequence[dict[str, Any]] | None = None,
    trip: Trip | None = None,
) -> list[dict[str, Any]]:
    """Station Features for riders: coordinates in ``crs``, per-station ``extras``, then the ``TRIP_MEMBERS``:
    ``travel_mode`` and ``navigation`` route links for it (``trip``: the way of travel, else each station's
    default, and where from; ``stations.navigation``)."""
    lon, lat = coordinates(stations, crs)
    extras = extras or [{}] * len(stations)
    trips = _trip_members(stations, trip or Trip())
    return [
        station_feature(station, x, y, {**extra, **members})
        for station, x, y, extra, members in zip(stations, lon, lat, extras, trips, strict=True)
    ]


TRIP_MEMBERS = ("travel_mode", "navigation")
"""What ``rider_features`` adds last to a station's properties: the way of travel and the route links for it."""


def _trip_members(stations: Sequence[Station], trip: Trip) -> list[dict[str, Any]]:
    return trip_members(
        [s.name for s in stations], [s.types for s in stations], [s.lon for s in stations], [s.lat for s in stations],
        [s.district for s in stations], trip,
    )  # fmt: skip


NEARBY_MEMBERS = ("distance_m", "open_status", "closes_at", "opens_at")
"""What a nearest-station answer adds to its station's rider Feature properties, in this order."""
FEATURE_TEXT_CACHE_SIZE = 10_000
"""Stations whose rider Feature JSON text is kept (~3 KB each, ~30 MB in all): a city's, or a country's busiest."""


def _nearby_members(result: Nearby) -> dict[str, Any]:
    return {
        "distance_m": round(result.distance_m, 1),
        "open_status": result.open_status,
        "closes_at": result.closes_at.isoformat() if result.closes_at else None,
        "opens_at": result.opens_at.isoformat() if result.opens_at else None,
    }


def nearby_geojson(
    results: Sequence[Nearby], crs: CrsName = "wgs84", trip: Trip | None = None, **members: Any
) -> dict[str, Any]:
    """Nearest-station answers as a FeatureCollection in their order, each with ``distance_m`` (metres),
    ``open_status``, ``closes_at`` (open) or ``opens_at`` (closed) and ``navigation`` links for Amap, Baidu,
    Tencent and ``geo:`` routing as ``trip`` says."""
    extras = [_nearby_members(r) for r in results]
    return feature_collection(rider_features([r.station for r in results], crs, extras, trip), crs, **members)


def query_point(query: NearbyQuery, crs: CrsName = "wgs84") -> dict[str, Any]:
    """The point a nearest-station query asked about, as a GeoJSON Point in ``crs`` (7 decimals, ~1 cm): the
    ``query`` member of an answer, where a page over GCJ-02 tiles draws a rider it located by GPS (WGS84).

    >>> from stations.snapshot import NearbyQuery
    >>> query_point(NearbyQuery(lon=120.16, lat=30.25), "gcj02")
    {'type': 'Point', 'coordinates': [120.1646782, 30.2476603]}
    """
    lon, lat = query.lon, query.lat
    if crs != "wgs84":
        g_lon, g_lat, b_lon, b_lat = point_to_gcj02_bd09(lon, lat)
        lon, lat = (g_lon, g_lat) if crs == "gcj02" else (b_lon, b_lat)
    return {"type": "Point", "coordinates": [_round7(lon), _round7(lat)]}


def _round7(value: float) -> float:
    """``value`` rounded to 7 decimals exactly as ``numpy.round`` does (times 10^7, half to even, divided: the
    same float), without numpy's cost for one number.

    >>> values = (120.16467821, -0.00000001, 2.5e-7)
    >>> [_round7(v) for v in values] == [float(np.round(v, 7)) for v in values]
    True
    """
    rounded = round(value * 1e7) / 1e7
    return math.copysign(rounded, value) if rounded == 0 else rounded


# JSON as starlette's JSONResponse writes it
_encode_json = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode
_BETWEEN_MEMBERS = tuple(f",{encode_basestring(name)}:" for name in (*NEARBY_MEMBERS, *TRIP_MEMBERS)[1:])
"""The text between the members an answer adds to a kept Feature text (``_feature_parts``)."""


def _plain_float(value: float | None) -> bool:
    """Whether orjson writes ``value`` (None: no value) as ``_encode_json`` does: finite, 1e-4 ≤ |x| < 1e16 or 0
    (written as Python's ``repr`` writes them, without an exponent)."""
    return value is None or value == 0 or 1e-4 <= abs(value) < 1e16


def _json_value(value: Any) -> str:
    """One value as ``_encode_json`` writes it, without its overhead for the usual types (as its C encoder does)."""
    if value is None:
        return "null"
    if type(value) is float and math.isfinite(value):
        return float.__repr__(value)
    if type(value) is str:
        return encode_basestring(value)
    return _encode_json(value)


def _route_pieces(links: RouteLinks) -> tuple[str, ...]:
    """The JSON text of ``links.start(origin)`` (as ``_encode_json`` writes it) around the three ``Origin`` parts,
    which go in as they are: their characters need no escape in JSON (``Origin``). Each link's text before its
    origin is written as a JSON string without its closing quote, the text after it without its opening one.

    >>> from stations.navigation import route_links, route_origin
    >>> (links,) = route_links(["驿站"], [120.16], [30.25])
    >>> start = route_origin((120.1, 30.2))
    >>> pieces = _route_pieces(links)
    >>> "".join(p + o for p, o in zip(pieces, (start.amap, start.baidu, start.tencent, ""))) == _encode_json(
    ...     links.start(start))
    True
    """
    return (
        '{"amap":' + encode_basestring(links.amap[0])[:-1],
        encode_basestring(links.amap[1])[1:] + ',"baidu":' + encode_basestring(links.baidu[0])[:-1],
        encode_basestring(links.baidu[1])[1:] + ',"tencent":' + encode_basestring(links.tencent[0])[:-1],
        encode_basestring(links.tencent[1])[1:] + ',"geo":' + encode_basestring(links.geo) + "}",
    )


_ASSEMBLED_KEPT = 2
"""Ways (coordinate system, way of travel) a station's Feature text is kept assembled in: a rider page asks one."""

_Kept = tuple[Any, ...]
"""What is kept of one station for the nearby answers (``_kept``): its ``content_key``; what its coordinates and links
are made from — its name, longitude, latitude, district and way of travel when a trip names none (``default_mode`` of
its types); then the 9 parts of its Feature text around what each answer puts in (``_feature_parts``). One flat
tuple of texts and numbers (``_FeatureTexts`` says why)."""
_KEY: Final = 0
_NAME: Final = 1
_LON: Final = 2
_LAT: Final = 3
_DISTRICT: Final = 4
_MODE: Final = 5
_PARTS: Final = 6


class _FeatureTexts:
    """Stations' rider Features (``rider_features``) as JSON text around their coordinates, the ``NEARBY_MEMBERS``
    and the ``TRIP_MEMBERS`` (``_feature_parts``), kept for the ``size`` stations answered most recently, with the
    JSON text of their coordinates per system, of their route links per way of travel and apps, split where each
    answer's ``Origin`` goes (``_route_pieces``), and of the Feature put together (``pieces``).

    A station's properties, its coordinates in each system and its route links are then built and encoded once,
    not in every answer; an answer adds its own point to the links (``Origin``). Stations are kept by their
    ``content_key``, which a written station never keeps: what is kept of the stations an edit left alone serves
    the snapshots after it too, and no answer waits for it to be made again after every edit.

    Everything is kept in flat tuples of texts and numbers, which the cyclic garbage collector stops tracking in
    the first collection that finds them (a young one, after 16 requests: ``api.young_collections``), in four dicts
    by content key: the kept stations are not walked by its later collections, as a ``Station``, an object of a
    class of its own, a dict per station (CPython lets a dict go only in full collections) or a tuple of tuples (let
    go a level per collection: the outer ones reach the older generations still tracked) would be — they piled up
    between full collections, ~63,000 objects and 40-60 ms a full collection in a busy worker at 200k stations
    (bench/RESULTS.md, 2026-12-05). What is made for a station later (its coordinates per system, links per way of
    travel and apps, assembled texts) is kept as one flat tuple of (key..., value...) groups, made again with each
    addition: a few groups each (``_find``, ``_with``).
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._texts: OrderedDict[int, _Kept] = OrderedDict()
        self._coordinates: dict[int, tuple[str, ...]] = {}
        """(system, x, y) groups: the coordinates' JSON texts."""
        self._routes: dict[int, tuple[str, ...]] = {}
        """(mode, *apps, 4 pieces) groups: the route links' JSON texts (``_route_pieces``)."""
        self._assembled: dict[int, tuple[str | bytes, ...]] = {}
        """(system, mode, *apps, 8 pieces) groups: the Feature texts put together (``_assembled``)."""
        self._lock = threading.Lock()

    def of(self, results: Sequence[Nearby]) -> list[_Kept]:
        """What is kept of each answer's station, building the Feature texts of those not kept."""
        keys = [result.content_key for result in results]
        found: dict[int, _Kept] = {}
        with self._lock:
            for key in keys:
                entry = self._texts.get(key)
                if entry is not None:
                    self._texts.move_to_end(key)
                    found[key] = entry
        if len(found) < len(set(keys)):
            built = {
                key: _kept(key, result.snapshot.columns.station(result.position))  # not kept as a Station anywhere
                for key, result in zip(keys, results, strict=True)
                if key not in found
            }
            found.update(built)
            with self._lock:
                self._texts.update(built)
                while len(self._texts) > self.size:
                    gone, _ = self._texts.popitem(last=False)
                    self._coordinates.pop(gone, None)
                    self._routes.pop(gone, None)
                    self._assembled.pop(gone, None)
        return [found[key] for key in keys]

    def pieces(self, kept: Sequence[_Kept], crs: CrsName, trip: Trip) -> list[tuple[bytes, ...]]:
        """Each kept station's Feature text in ``crs`` with route links for ``trip``'s way of travel (else its own)
        and apps, as the 8 pieces (UTF-8) between which an answer puts its 4 ``NEARBY_MEMBERS`` and its 3 ``Origin``
        parts; what is missing made at once (coordinates, links) and kept."""
        apps = trip.apps.key
        wanted = [(crs, trip.mode or entry[_MODE], *apps) for entry in kept]
        found: list[tuple[Any, ...] | None] = [
            _find(self._assembled.get(entry[_KEY], ()), way, _ASSEMBLED_SIZE)
            for entry, way in zip(kept, wanted, strict=True)
        ]
        if None in found:
            modes = [way[1] for way in wanted]
            coordinates = self._with_coordinates(kept, crs)
            routes = self._with_routes(kept, modes, trip)
            for i, (entry, way, xy, route) in enumerate(zip(kept, wanted, coordinates, routes, strict=True)):
                if found[i] is None:
                    pieces = found[i] = _assembled(entry[_PARTS:], xy, modes[i], route)
                    # ~2 KB each: kept for the last _ASSEMBLED_KEPT ways a station was asked in
                    self._keep(self._assembled, entry[_KEY], way, pieces, _ASSEMBLED_SIZE, _ASSEMBLED_KEPT)
        return _each(found)

    def _with_coordinates(self, kept: Sequence[_Kept], crs: CrsName) -> list[tuple[str, ...]]:
        """Each station's coordinates in ``crs`` as JSON texts (x, y), those missing made at once and kept."""
        found: list[tuple[Any, ...] | None] = [
            _find(self._coordinates.get(entry[_KEY], ()), (crs,), _COORDINATES_SIZE) for entry in kept
        ]
        missing = [i for i, xy in enumerate(found) if xy is None]
        if missing:
            if crs == "wgs84":  # rounded as coordinates() rounds (_round7), without its arrays
                made = [
                    (float.__repr__(_round7(kept[i][_LON])), float.__repr__(_round7(kept[i][_LAT]))) for i in missing
                ]
            else:
                lon, lat = _rounded_in([kept[i][_LON] for i in missing], [kept[i][_LAT] for i in missing], crs)
                made = [(float.__repr__(x), float.__repr__(y)) for x, y in zip(lon.tolist(), lat.tolist(), strict=True)]
            for i, xy in zip(missing, made, strict=True):
                found[i] = xy
                self._keep(self._coordinates, kept[i][_KEY], (crs,), xy, _COORDINATES_SIZE, len(CRS_NAMES))
        return _each(found)

    def _with_routes(self, kept: Sequence[_Kept], modes: Sequence[TravelMode], trip: Trip) -> list[tuple[str, ...]]:
        """Each station's route links for its way of travel in ``modes`` and ``trip``'s apps as ``_route_pieces``,
        those missing made at once and kept."""
        apps = trip.apps.key
        found: list[tuple[Any, ...] | None] = [
            _find(self._routes.get(entry[_KEY], ()), (mode, *apps), _ROUTE_SIZE)
            for entry, mode in zip(kept, modes, strict=True)
        ]
        missing = [i for i, route in enumerate(found) if route is None]
        if missing:
            links = route_links(
                [kept[i][_NAME] for i in missing], [kept[i][_LON] for i in missing], [kept[i][_LAT] for i in missing],
                [modes[i] for i in missing], regions=[kept[i][_DISTRICT] for i in missing], apps=trip.apps,
            )  # fmt: skip
            for i, link in zip(missing, links, strict=True):
                route = found[i] = _route_pieces(link)
                self._keep(self._routes, kept[i][_KEY], (modes[i], *apps), route, _ROUTE_SIZE, _ROUTES_KEPT)
        return _each(found)

    def _keep(
        self, kind: dict[int, Any], key: int, way: tuple[Any, ...], value: tuple[Any, ...], size: int, limit: int
    ) -> None:
        """Keep ``value`` for ``way`` in ``kind`` of the station known by ``key`` (``_with``), if the station is
        still kept: another thread may have let it go meanwhile, and what is kept of it would never be let go."""
        with self._lock:
            if key in self._texts:
                kind[key] = _with(kind.get(key, ()), way, value, size, limit)


_COORDINATES_SIZE = 1 + 2
"""A group of ``_FeatureTexts._coordinates``: system, x, y."""
_ASSEMBLED_SIZE = 2 + 3 + 8
"""A group of ``_FeatureTexts._assembled``: system, mode, the 3 apps' names, the 8 pieces."""
_ROUTE_SIZE = 1 + 3 + 4
"""A group of ``_FeatureTexts._routes``: mode, the 3 apps' names, the 4 pieces."""
_ROUTES_KEPT = 4
"""Ways of travel and apps a station's links are kept for."""


def _find(flat: tuple[Any, ...], key: tuple[Any, ...], size: int) -> tuple[Any, ...] | None:
    """The value (the rest of the group) of the group of ``size`` starting with ``key`` in ``flat``, or None."""
    width = len(key)
    for start in range(0, len(flat), size):
        if flat[start : start + width] == key:
            return flat[start + width : start + size]
    return None


def _with(
    flat: tuple[Any, ...], key: tuple[Any, ...], value: tuple[Any, ...], size: int, limit: int
) -> tuple[Any, ...]:
    """``flat`` with the group ``key + value`` first, at most ``limit`` groups (the least recent let go).

    >>> _with(("a", 1, "b", 2), ("b",), (3,), 2, 2), _with(("a", 1, "b", 2), ("c",), (3,), 2, 2)
    (('b', 3, 'a', 1), ('c', 3, 'a', 1))
    """
    width = len(key)
    others = [flat[i : i + size] for i in range(0, len(flat), size) if flat[i : i + width] != key]
    return sum(others[: limit - 1], key + value)


def _each(found: list[tuple[Any, ...] | None]) -> list[tuple[Any, ...]]:
    """``found`` once none is None."""
    made = [item for item in found if item is not None]
    if len(made) != len(found):
        raise AssertionError("a kept text was not made")
    return made


def _assembled(
    parts: tuple[str, ...], xy: tuple[str, ...], mode: TravelMode, route: tuple[str, ...]
) -> tuple[bytes, ...]:
    """The Feature text of ``parts`` at ``xy`` with ``route`` for ``mode``, as ``_FeatureTexts.pieces`` hands it."""
    head = parts[0] + xy[0] + parts[1] + xy[1] + parts[2]
    tail = parts[6] + _json_value(mode) + parts[7] + route[0]
    end = route[3] + parts[8]
    return tuple(piece.encode() for piece in (head, parts[3], parts[4], parts[5], tail, route[1], route[2], end))


def _kept(key: int, station: Station) -> _Kept:
    """What is kept of ``station`` (known by ``key``) for the nearby answers."""
    mode = default_mode(station.types)
    return (key, station.name, station.lon, station.lat, station.district, mode, *_feature_parts(station))


def _feature_parts(station: Station) -> tuple[str, ...]:
    """The JSON text of the station's rider Feature (``rider_features``: ``station_feature`` with the
    ``NEARBY_MEMBERS`` and ``TRIP_MEMBERS`` last) as ``_encode_json`` writes it, around what an answer puts in: its
    longitude, latitude, then each of those members' values (9 parts)."""
    head = f'{{"type":"Feature","id":{_json_value(station.id)},"geometry":{{"type":"Point","coordinates":['
    properties = _properties_text(station)  # never empty: a station has an id and a name
    opening = f']}},"properties":{properties[:-1]},{encode_basestring(NEARBY_MEMBERS[0])}:'
    return (head, ",", opening, *_BETWEEN_MEMBERS, "}}")


def _properties_text(station: Station) -> str:
    """``station_properties(station)`` as ``_encode_json`` writes it: by orjson straight from the station's fields
    where that is the same text (orjson writes the tuple of types as a list and the date as ISO 8601, as pydantic's
    JSON mode does; its one float plain, ``_plain_float``), else by pydantic and ``json``."""
    if _plain_float(station.area_m2):
        try:
            return orjson.dumps({name: getattr(station, name) for name in _PROPERTY_FIELDS}).decode()
        except orjson.JSONEncodeError:  # an integer past 64 bits, a lone surrogate
            pass
    return _encode_json(station_properties(station))


_PROPERTY_FIELDS = tuple(name for name in Station.model_fields if name not in ("lon", "lat"))
"""A station's fields as its Feature's properties hold them, in order (``station_properties``)."""


_FEATURE_TEXTS = _FeatureTexts(FEATURE_TEXT_CACHE_SIZE)


def nearby_geojson_json(
    results: Sequence[Nearby], crs: CrsName = "wgs84", trip: Trip | None = None, **members: Any
) -> bytes:
    """``nearby_geojson`` as compact JSON text in UTF-8, exactly what ``JSONResponse`` would send for it, built from
    each station's texts kept from earlier answers (``FEATURE_TEXT_CACHE_SIZE``), kept in UTF-8 too: several times
    faster, and the ~20 KB answer is never encoded whole."""
    if _ENVELOPE_KEYS.intersection(members):  # not a collection's own member: as json.dumps would write it
        return _encode_json(nearby_geojson(results, crs, trip, **members)).encode()
    # the collection's text around its features, as json.dumps writes feature_collection's dict
    opening = [f'{{"type":"FeatureCollection","coordinate_system":{_json_value(crs)}']
    opening += [f",{encode_basestring(str(k))}:{_encode_json(v)}" for k, v in members.items()]
    opening.append(',"features":[')
    trip = trip or Trip()
    pieces = _FEATURE_TEXTS.pieces(_FEATURE_TEXTS.of(results), crs, trip)
    origin = route_origin(trip.origin)
    amap, baidu, tencent = origin.amap.encode(), origin.baidu.encode(), origin.tencent.encode()
    features = []
    for result, (head, after_distance, after_status, after_closes, tail, after_amap, after_baidu, end) in zip(
        results, pieces, strict=True
    ):
        closes, opens = result.closes_at, result.opens_at
        # the distance: b"%.1f" writes what repr(round(d, 1)) does for any distance on Earth, in a quarter of the time
        features.append(
            b"".join((
                head, b"%.1f" % result.distance_m, after_distance,
                _STATUS_TEXT[result.open_status], after_status, b"null" if closes is None else _time_text(closes),
                after_closes, b"null" if opens is None else _time_text(opens), tail, amap, after_amap, baidu,
                after_baidu, tencent, end,
            ))
        )  # fmt: skip
    return "".join(opening).encode() + b",".join(features) + b"]}"


_ENVELOPE_KEYS = frozenset({"type", "coordinate_system", "features"})
_STATUS_TEXT = {status: _json_value(status).encode() for status in get_args(OpenStatus)}


@lru_cache(maxsize=4096)  # an answer's times are its hours texts' next changes, kept per text (stations.snapshot)
def _time_text(moment: datetime) -> bytes:
    return _json_value(moment.isoformat()).encode()


def _spreadsheet_value(value: Any) -> Any:
    """A cell value: text guarded against formulas, numbers as they are (non-finite ones left empty)."""
    if isinstance(value, str):
        return guard_formula(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def table_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """Rows of a table (dicts with the same keys) as CSV text; formula-like text cells are guarded.

    The header is ``columns`` (default: the first row's keys; no header at all for no rows and no columns).
    """
    out = io.StringIO()
    header = list(columns) if columns is not None else list(rows[0].keys()) if rows else []
    if header:
        # CR LF ends lines (RFC 4180): the csv module quotes only fields holding a line terminator's characters,
        # so with "\n" a lone CR inside a cell would be written bare and split the row when read back
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(header)
        writer.writerows([_spreadsheet_value(row.get(column)) for column in header] for row in rows)
    return out.getvalue()


def table_xlsx(rows: Sequence[dict[str, Any]], sheet: str = "coverage", columns: Sequence[str] | None = None) -> bytes:
    """Rows of a table as an XLSX workbook (numbers stay numbers; text cells are guarded against formulas).

    The header is ``columns`` as in ``table_csv``. XLSX cannot hold the control characters U+0000–U+0008,
    U+000B, U+000C and U+000E–U+001F (nor lone surrogates): each is written as U+FFFD (�) (``stations.xlsx_writer``).
    """
    header = list(columns) if columns is not None else list(rows[0].keys()) if rows else []
    body = ([_spreadsheet_value(row.get(column)) for column in header] for row in rows) if header else ()
    return xlsx_table(header, body, sheet)
