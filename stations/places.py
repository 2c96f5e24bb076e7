"""Places a rider can start from without GPS: districts, streets and communities, stations — found by name.

The answers of ``yizhan search`` and ``GET /search`` (``Service.search``), built from the search index's
matching stations (``stations.search``), the registry snapshot and the district boundaries:

- a **district** whose name holds the query starts from ``district_points``: among the stations inside its
  polygon, the one nearest their mean (a point where its stations are, never the middle of its bounding box,
  which may lie in a lake, on a mountain or outside the district); the polygon's representative point (always
  inside) when it has no station;
- a **street or community** (街道, 社区, 路, 街, 巷...) named in a matching station's address or name
  (``street_names``) starts from the same station-weighted point of the stations that name it;
- a **station** starts at the station.

Points are WGS84 (lon, lat); the API gives them in the crs asked for.
"""

from __future__ import annotations

import heapq
import re
import threading
import weakref
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from numpy.typing import NDArray

from stations.search import normalise
from stations.snapshot import lon_lat

if TYPE_CHECKING:
    from geo.crs import CrsName
    from geo.districts import Districts
    from stations.model import Station
    from stations.registry import Registry
    from stations.snapshot import Snapshot

PlaceKind = Literal["district", "street", "station"]
PLACE_KINDS: tuple[PlaceKind, ...] = ("district", "street", "station")


@dataclass(frozen=True, slots=True)
class Place:
    """One answer of a search: what it is, its name, where a rider starts from (WGS84), and a line about it."""

    kind: PlaceKind
    name: str
    lon: float
    lat: float
    detail: str = ""
    """District of a street; address (or district) of a station; empty for a district."""
    id: str | None = None
    """A station's id; a district's adcode."""
    stations: int = 1
    """How many stations the place has (a district's, a street's); 1 for a station."""


_ADMIN_PREFIX = re.compile(
    r"^(?:[\u4e00-\u9fff]{1,8}?(?:省|自治区|特别行政区))?(?:[\u4e00-\u9fff]{1,8}?(?:市|自治州|地区|盟))?"
    r"(?:[\u4e00-\u9fff]{1,8}?(?:区|县|市|旗))?"
)
"""An address's province, city and district: '浙江省杭州市西湖区' of '浙江省杭州市西湖区文三路1号'."""
_STREET = re.compile(r"[^\s\d0-9０-９与、,，;；()（）\[\]【】#-]+?(?:街道|社区|大道|大街|路|街|巷|弄|村|镇|乡)")
"""A street or community: shortest run of characters ending in one of the words for it."""
_NAMED_IN_NAME = re.compile(r"[\u4e00-\u9fff]{2,6}?(?:街道|社区)")
"""A 街道 or 社区 a station is named after: '武林街道' of '武林街道工会驿站'."""


@lru_cache(maxsize=65_536)  # ~20 µs a station, for each of up to CANDIDATES stations a search: kept
def street_names(address: str | None, name: str | None = None) -> tuple[str, ...]:
    """The streets and communities an address names (after its province, city and district, before its house
    number) and the 街道 or 社区 a station's name names, in order, each once.

    >>> street_names("杭州市西湖区西溪街道文三路与学院路交叉口", "武林街道工会驿站")
    ('西溪街道', '文三路', '学院路', '武林街道')
    >>> street_names("杭州市上城区九和路259号")
    ('九和路',)
    """
    found: list[str] = []
    if address:
        rest = address[_ADMIN_PREFIX.match(address).end() :]  # type: ignore[union-attr]  # it matches '' at least
        found.extend(_STREET.findall(rest))
    if name:
        found.extend(_NAMED_IN_NAME.findall(name))
    return tuple(dict.fromkeys(found))


def group_points(
    groups: NDArray[np.intp], lon: NDArray[np.float64], lat: NDArray[np.float64], size: int
) -> dict[int, tuple[float, float]]:
    """For each group (``groups[i]`` in ``0..size-1``, negative: none) with members: the member nearest the
    members' mean (distances on a plane scaled by cos(latitude), fine within a city), as (lon, lat).

    >>> group_points(np.array([0, 0, 0, 1]), np.array([0.0, 1.0, 10.0, 5.0]), np.array([0.0, 0.0, 0.0, 5.0]), 2)
    {0: (1.0, 0.0), 1: (5.0, 5.0)}
    """
    inside = groups >= 0
    groups, lon, lat = groups[inside], lon[inside], lat[inside]
    if not len(groups):
        return {}
    counts = np.bincount(groups, minlength=size)
    mean_lon = np.bincount(groups, lon, minlength=size) / np.maximum(counts, 1)
    mean_lat = np.bincount(groups, lat, minlength=size) / np.maximum(counts, 1)
    scale = np.cos(np.radians(mean_lat[groups]))
    squared = ((lon - mean_lon[groups]) * scale) ** 2 + (lat - mean_lat[groups]) ** 2
    order = np.lexsort((squared, groups))  # by group, nearest first within each
    first = order[np.r_[True, groups[order][1:] != groups[order][:-1]]]
    return {int(groups[i]): (float(lon[i]), float(lat[i])) for i in first}


def district_points(serving: Sequence[Station], districts: Districts) -> list[tuple[float, float]]:
    """Where a rider who picks each district starts (WGS84, in the districts' order): the station nearest the
    mean of the ``serving`` stations (those that count: ``Station.serves``) inside its polygon, or the polygon's
    representative point without any. Always inside the district (a station counts for the district whose
    polygon holds it)."""
    lon, lat = lon_lat(serving)
    located = districts.locate(lon, lat) if len(serving) else np.zeros(0, dtype=np.intp)
    weighted = group_points(located, lon, lat, len(districts))
    points = []
    for position, geometry in enumerate(districts.geometries):
        if position in weighted:
            points.append(weighted[position])
        else:
            inner = geometry.representative_point()
            points.append((float(inner.x), float(inner.y)))
    return points


def _rank(station: Station, wanted: str) -> tuple[int, int, str]:
    name = normalise(station.name)
    place = 0 if name == wanted else 1 if name.startswith(wanted) else 2 if wanted in name else 3
    return place, len(station.name), station.id


def places(
    query: str,
    matched: Sequence[Station],
    districts: Districts | None,
    points: Sequence[tuple[float, float]],
    counts: dict[str, int],
    limit: int,
) -> list[Place]:
    """The answers to ``query``: districts whose name holds it, then the streets and communities of ``matched``
    (the stations the index found) whose name holds it, then the serving stations of ``matched`` — names
    that are the query, start with it, hold it, then the others (by address or district), shorter names
    first — ``limit`` in all.

    ``points`` are ``district_points`` of ``districts``; ``counts`` each district's serving stations by adcode.
    """
    wanted = normalise(query)
    found: list[Place] = []
    if districts is not None:
        for position, (adcode, name) in enumerate(zip(districts.adcodes, districts.names, strict=True)):
            if wanted in normalise(name):
                lon, lat = points[position]
                found.append(Place("district", name, lon, lat, "", adcode, counts.get(adcode, 0)))
    serving = [s for s in matched if s.serves()]
    streets: dict[tuple[str, str], list[Station]] = defaultdict(list)
    for station in serving:
        for street in street_names(station.address, station.name):
            if wanted in normalise(street):
                streets[street, station.district or ""].append(station)
    shown = heapq.nsmallest(  # the most stations first; leave room for stations too
        max(1, limit // 2), streets, key=lambda key: (-len(streets[key]), len(key[0]), key)
    )
    for street, district in shown:
        members = streets[street, district]
        lon, lat = group_points(
            np.zeros(len(members), dtype=np.intp),
            np.array([s.lon for s in members], dtype=float),
            np.array([s.lat for s in members], dtype=float),
            1,
        )[0]
        found.append(Place("street", street, lon, lat, district, None, len(members)))
    for station in heapq.nsmallest(max(limit - len(found), 0), serving, key=lambda s: _rank(s, wanted)):
        found.append(Place("station", station.name, station.lon, station.lat, station.address or station.district
                           or "", station.id))  # fmt: skip
    return found[:limit]


CANDIDATES = 1000
"""Matching stations read from the index for one search: the streets are gathered and the stations ranked
among these (a query matching more, such as 杭州 in every address, still answers the first ``limit``)."""
_points_lock = threading.Lock()
_points_kept: weakref.WeakKeyDictionary[Snapshot, tuple[Districts, list[tuple[float, float]], dict[str, int]]] = (
    weakref.WeakKeyDictionary()
)
"""District points per snapshot (dropped with it): a registry's snapshot is swapped whole on every write."""


def registry_district_points(registry: Registry) -> tuple[list[tuple[float, float]], dict[str, int]]:
    """``district_points`` of the registry's districts and each district's serving stations (by adcode), kept
    with the registry's current snapshot and made again for the next one; empty without districts."""
    districts = registry.districts
    if districts is None:
        return [], {}
    snapshot = registry.snapshot()
    with _points_lock:
        kept = _points_kept.get(snapshot)
    if kept is not None and kept[0] is districts:
        return kept[1], kept[2]
    serving = snapshot.serving()
    points = district_points(serving, districts)
    counts = serving.adcode_counts()
    with _points_lock:
        _points_kept[snapshot] = (districts, points, dict(counts))
    return points, dict(counts)


def search(registry: Registry, query: str, limit: int) -> list[Place]:
    """``places`` for ``query`` over the registry: its index's matching stations, snapshot and districts."""
    from stations.search import find

    with registry.store.engine.connect() as connection:
        ids = find(connection, query, CANDIDATES)
    snapshot = registry.snapshot()
    matched = [station for station in map(snapshot.get, ids) if station is not None]
    points, counts = registry_district_points(registry)
    return places(query, matched, registry.districts, points, counts, limit)


def places_json(query: str, found: Sequence[Place], crs: CrsName) -> dict[str, Any]:
    """The answer of ``GET /search`` and ``yizhan search --json``: each place with its point in ``crs``.

    >>> places_json("西湖", [Place("district", "西湖区", 120.13, 30.26, "", "330106", 12)], "wgs84")["places"][0]
    {'kind': 'district', 'name': '西湖区', 'detail': '', 'id': '330106', 'stations': 12, 'coordinates': [120.13, 30.26]}
    """
    from geo.crs import point_out

    answers = []
    for place in found:
        x, y = point_out(place.lon, place.lat, crs)
        answers.append(
            {"kind": place.kind, "name": place.name, "detail": place.detail, "id": place.id,
             "stations": place.stations, "coordinates": [round(x, 7), round(y, 7)]}
        )  # fmt: skip
    return {"query": query, "coordinate_system": crs, "places": answers}
