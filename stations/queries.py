"""One typed query per operation, built by ``parse`` from what a user gave either door (API or CLI).

Each query class names its inputs (``inputs``, from ``stations.inputs``) and parses the raw values into checked
ones: comma lists into names, coordinates into WGS84 (``geo.crs.point_in``), times into datetimes. A bad value is
an ``InvalidValue`` naming the field, whichever door it came through.

>>> CoverageQuery.parse(radius_m=500, types="outdoor_worker", cell_m=50.4, adcode=None).request
CoverageRequest(radius_m=500, types=('outdoor_worker',), cell_m=50.0)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

from stations.errors import InvalidValue
from stations.inputs import (
    COVERAGE_INPUTS,
    COVERAGE_MAP_INPUTS,
    GAPS_INPUTS,
    HOTSPOTS_INPUTS,
    NEARBY_INPUTS,
    NIGHT_GAPS_INPUTS,
    PROFILE_INPUTS,
    SEARCH_INPUTS,
    STATION_MAP_INPUTS,
    Input,
)
from stations.planning.filters import CoverageFilters, parse_filters
from stations.planning.requests import SITING_METHODS, Candidate, CoverageRequest, SitingRequest
from stations.vocabulary import STATION_TYPES

if TYPE_CHECKING:  # loaded by the functions that need them: the CLI's help must not wait for numpy and scipy
    from geo.crs import CrsName
    from stations.navigation import TravelMode
    from stations.snapshot import NearbyQuery

CRS_NAMES: tuple[CrsName, ...] = ("wgs84", "gcj02", "bd09")  # as geo.crs.CRS_NAMES
Lang = Literal["zh", "en"]


def crs_name(value: str, field: str = "crs") -> CrsName:
    """A coordinate system name, checked (a bad one is an ``InvalidValue`` of ``field``).

    >>> crs_name("gcj02")
    'gcj02'
    """
    for name in CRS_NAMES:
        if value == name:
            return name
    raise InvalidValue(
        field, value, "unknown coordinate system: wgs84, gcj02 (Amap, Tencent) or bd09 (Baidu)", CRS_NAMES
    )


@dataclass(frozen=True)
class NearbyRequest:
    """The nearest stations to a point (``query``, WGS84), answered in ``crs``.

    The point may be given in another system than the answer (``position_crs``): a phone's GPS gives WGS84,
    while a page over Amap tiles wants its answers, and the point echoed back, in GCJ-02.
    """

    query: NearbyQuery
    crs: CrsName = "wgs84"
    mode: TravelMode | None = None
    """Way of travel of the answer's navigation links; None: each station's default (``default_mode``)."""
    inputs: ClassVar[tuple[Input, ...]] = NEARBY_INPUTS

    @classmethod
    def parse(
        cls,
        *,
        lon: float,
        lat: float,
        k: int = 10,
        radius_m: float | None = None,
        types: str | None = None,
        amenities: str | None = None,
        open_at: str | None = None,
        include_unknown_hours: bool = False,
        order: str = "distance",
        crs: str = "wgs84",
        position_crs: str | None = None,
        mode: str | None = None,
    ) -> NearbyRequest:
        """Checked from what a user typed: (lon, lat) in ``position_crs`` (default ``crs``), comma lists, an ISO
        time or 'now'."""
        from stations import params
        from stations.navigation import travel_mode

        name = crs_name(crs)
        position = name if position_crs is None else crs_name(position_crs, "position_crs")
        query = params.nearby_query(
            lon, lat, crs=position, k=k, radius_m=radius_m, types=types, amenities=amenities, open_at=open_at,
            include_unknown_hours=include_unknown_hours, order=order,
        )  # fmt: skip
        return cls(query, name, None if mode is None else travel_mode(mode))


@dataclass(frozen=True)
class CoverageQuery:
    """Coverage per district (of ``adcode`` only, when given)."""

    request: CoverageRequest
    adcode: str | None = None
    lang: Lang = "zh"
    """Language of the report's headers and labels (``stations.planning.exports``)."""
    crs: CrsName = "wgs84"
    """Coordinate system of the report's points and shapes."""
    filters: CoverageFilters = field(default_factory=CoverageFilters)
    """Which stations count: open at a time, with amenities (``stations.planning.filters``)."""
    inputs: ClassVar[tuple[Input, ...]] = COVERAGE_INPUTS

    @classmethod
    def parse(
        cls, *, radius_m: float, types: str | None, cell_m: float, adcode: str | None, lang: str = "zh",
        crs: str = "wgs84", open_at: str | None = None, hour: int | None = None, day: str | None = None,
        amenities: str | None = None, unknown_hours: str = "separate",
    ) -> CoverageQuery:  # fmt: skip
        """Checked: the types are known names, the radius and cell size in range, a known language and crs, the
        time (or hour 0-23 of a day), amenities and unknown-hours policy."""
        filters = parse_filters(open_at=open_at, hour=hour, day=day, amenities=amenities, unknown_hours=unknown_hours)
        return cls(planning_request(radius_m, types, cell_m), adcode, report_lang(lang), crs_name(crs), filters)


@dataclass(frozen=True)
class GapsQuery:
    """The ``limit`` largest service gaps (in ``adcode`` only, when given)."""

    request: CoverageRequest
    adcode: str | None = None
    limit: int = 20
    lang: Lang = "zh"
    """Language of the report's headers and labels."""
    crs: CrsName = "wgs84"
    """Coordinate system of the report's points and shapes."""
    filters: CoverageFilters = field(default_factory=CoverageFilters)
    """Which stations count: open at a time, with amenities."""
    inputs: ClassVar[tuple[Input, ...]] = GAPS_INPUTS

    @classmethod
    def parse(
        cls, *, radius_m: float, types: str | None, cell_m: float, adcode: str | None, limit: int, lang: str = "zh",
        crs: str = "wgs84", open_at: str | None = None, hour: int | None = None, day: str | None = None,
        amenities: str | None = None, unknown_hours: str = "separate",
    ) -> GapsQuery:  # fmt: skip
        """Checked as ``CoverageQuery``, plus the number of gaps."""
        filters = parse_filters(open_at=open_at, hour=hour, day=day, amenities=amenities, unknown_hours=unknown_hours)
        request = planning_request(radius_m, types, cell_m)
        return cls(request, adcode, limit, report_lang(lang), crs_name(crs), filters)


@dataclass(frozen=True)
class CoverageMapQuery(GapsQuery):
    """The coverage map page: choropleth, covered area, the ``limit`` largest gaps and the stations."""

    limit: int = 50
    inputs: ClassVar[tuple[Input, ...]] = COVERAGE_MAP_INPUTS


@dataclass(frozen=True)
class HourProfileQuery:
    """Coverage per hour of a representative weekday and holiday (``stations.planning.timed.hour_profile``)."""

    request: CoverageRequest
    adcode: str | None = None
    filters: CoverageFilters = field(default_factory=CoverageFilters)
    hour: int | None = None
    inputs: ClassVar[tuple[Input, ...]] = PROFILE_INPUTS

    @classmethod
    def parse(
        cls, *, radius_m: float, types: str | None, cell_m: float, adcode: str | None, amenities: str | None = None,
        unknown_hours: str = "separate", hour: int | None = None,
    ) -> HourProfileQuery:  # fmt: skip
        """Checked: as ``CoverageQuery``, an hour 0-23 when given."""
        if hour is not None and not 0 <= hour <= 23:
            raise InvalidValue("hour", hour, "must be between 0 and 23")
        filters = parse_filters(amenities=amenities, unknown_hours=unknown_hours)
        return cls(planning_request(radius_m, types, cell_m), adcode, filters, hour)


@dataclass(frozen=True)
class NightGapsQuery:
    """Night gaps of a day: covered at some hour 06:00-21:00, not at some hour 22:00-05:00."""

    request: CoverageRequest
    adcode: str | None = None
    filters: CoverageFilters = field(default_factory=CoverageFilters)
    day: str = "weekday"
    limit: int = 20
    inputs: ClassVar[tuple[Input, ...]] = NIGHT_GAPS_INPUTS

    @classmethod
    def parse(
        cls, *, radius_m: float, types: str | None, cell_m: float, adcode: str | None, amenities: str | None = None,
        unknown_hours: str = "separate", day: str | None = None, limit: int = 20,
    ) -> NightGapsQuery:  # fmt: skip
        """Checked: as ``CoverageQuery``, a day (weekday, holiday or a date)."""
        from datetime import date

        chosen = day or "weekday"
        if chosen not in ("weekday", "holiday"):
            try:
                date.fromisoformat(chosen)
            except ValueError:
                raise InvalidValue("day", day, "weekday, holiday or a date such as 2026-12-09") from None
        filters = parse_filters(amenities=amenities, unknown_hours=unknown_hours)
        return cls(planning_request(radius_m, types, cell_m), adcode, filters, chosen, limit)


def report_lang(lang: str) -> Lang:
    """A report's language, checked (``InvalidValue`` on ``lang`` naming zh and en).

    >>> report_lang("en")
    'en'
    """
    if lang not in ("zh", "en"):
        raise InvalidValue("lang", lang, "unknown language", ["zh", "en"])
    return "en" if lang == "en" else "zh"


def planning_request(radius_m: float, types: str | None, cell_m: float) -> CoverageRequest:
    """What every planning question shares, checked.

    >>> planning_request(1000, None, 100).types
    ()
    """
    from stations import params

    return CoverageRequest(radius_m, params.names(types, STATION_TYPES, "types"), cell_m)


def siting_request(
    *,
    add: int | None = None,
    target_share: float | None = None,
    radius_m: float = 1000.0,
    types: str | None = None,
    cell_m: float = 100.0,
    method: str = "greedy",
    time_limit_s: float = 30.0,
    min_spacing_m: float = 0.0,
    quotas: Sequence[tuple[str, int]] = (),
    candidates: Sequence[Candidate] = (),
    crs: str = "wgs84",
) -> SitingRequest:
    """Siting, checked: ``add`` new sites (10 when neither it nor ``target_share`` is given) or the fewest that
    reach ``target_share``; ``candidates`` given in ``crs`` become WGS84. The operator's limits (most sites,
    longest time limit) are checked by the planner (``stations.planning.PlanningLimits``).

    >>> siting_request(target_share=0.9).add is None, siting_request().add
    (True, 10)
    """
    from geo.crs import point_in

    chosen = next((name for name in SITING_METHODS if name == method), None)
    if chosen is None:
        raise InvalidValue("method", method, "unknown method", SITING_METHODS)
    name = crs_name(crs)
    wgs84 = []
    for candidate in candidates:
        lon, lat = point_in(candidate.lon, candidate.lat, name)
        wgs84.append(Candidate(lon, lat, candidate.name))
    return SitingRequest(
        coverage=planning_request(radius_m, types, cell_m),
        add=add if add is not None or target_share is not None else 10,
        target_share=target_share,
        method=chosen,
        time_limit_s=time_limit_s,
        min_spacing_m=min_spacing_m,
        quotas=tuple(quotas),
        candidates=tuple(wgs84),
    )


@dataclass(frozen=True)
class StationMapQuery:
    """A map page of the stations of ``adcode`` and ``types`` with their data inline (embed or static export).

    ``lon``/``lat`` (WGS84) and ``zoom`` set the view; by default it fits the stations.
    """

    adcode: str | None = None
    types: tuple[str, ...] = ()
    lang: Lang = "zh"
    mode: Literal["embed", "static"] = "static"
    lon: float | None = None
    lat: float | None = None
    zoom: int | None = None
    controls: bool = True
    title: str | None = None
    inputs: ClassVar[tuple[Input, ...]] = STATION_MAP_INPUTS

    @classmethod
    def parse(
        cls,
        *,
        adcode: str | None = None,
        types: str | None = None,
        lang: str = "zh",
        mode: Literal["embed", "static"] = "static",
        lon: float | None = None,
        lat: float | None = None,
        zoom: int | None = None,
        controls: bool = True,
    ) -> StationMapQuery:
        """Checked: known types, a known language."""
        if lang not in ("zh", "en"):
            raise InvalidValue("lang", lang, "unknown language", ["zh", "en"])
        from stations import params

        language: Lang = "en" if lang == "en" else "zh"
        kinds = params.names(types, STATION_TYPES, "types")
        return cls(adcode, kinds, language, mode, lon, lat, zoom, controls)


@dataclass(frozen=True)
class SearchQuery:
    """Places (districts, streets and communities, stations) whose name holds ``text``; points in ``crs``."""

    text: str
    limit: int = 10
    crs: CrsName = "wgs84"
    inputs: ClassVar[tuple[Input, ...]] = SEARCH_INPUTS

    @classmethod
    def parse(cls, *, q: str, limit: int = 10, crs: str = "wgs84") -> SearchQuery:
        """Checked: 1-100 characters once trimmed, none of them a control character; a known crs.

        >>> SearchQuery.parse(q="  西湖 ").text
        '西湖'
        >>> SearchQuery.parse(q="")
        Traceback (most recent call last):
        ...
        stations.errors.InvalidValue: q='': empty: type a district, street, community or station name
        """
        from stations.search import MAX_QUERY_CHARS

        text = q.strip()
        shown = text if len(text) <= 40 else text[:40] + "…"  # a 10 KB query is not echoed back whole
        if not text:
            raise InvalidValue("q", text, "empty: type a district, street, community or station name")
        if len(text) > MAX_QUERY_CHARS:
            raise InvalidValue("q", shown, f"too long: {len(text):,} characters, at most {MAX_QUERY_CHARS}")
        if any(ord(c) < 32 or ord(c) == 127 for c in text):
            raise InvalidValue("q", shown, "must not contain control characters (line breaks, tabs, NUL...)")
        return cls(text, limit, crs_name(crs))


@dataclass(frozen=True)
class HotspotsQuery:
    """Hot spots (``geo.hotspots``) of ``adcode`` only, when given; ``limit`` of them listed; of the stations
    ``filters`` let through (open at a time, with amenities), written in ``lang`` with points in ``crs``."""

    request: CoverageRequest
    adcode: str | None = None
    limit: int = 20
    lang: Lang = "zh"
    """Language of the report's headers and labels (``stations.planning.exports``)."""
    crs: CrsName = "wgs84"
    """Coordinate system of the report's points."""
    filters: CoverageFilters = field(default_factory=CoverageFilters)
    """Which stations count: open at a time, with amenities (``stations.planning.filters``)."""
    inputs: ClassVar[tuple[Input, ...]] = HOTSPOTS_INPUTS

    @classmethod
    def parse(
        cls, *, radius_m: float, types: str | None, cell_m: float, adcode: str | None, limit: int = 20,
        lang: str = "zh", crs: str = "wgs84", open_at: str | None = None, hour: int | None = None,
        day: str | None = None, amenities: str | None = None, unknown_hours: str = "separate",
    ) -> HotspotsQuery:  # fmt: skip
        """Checked as ``GapsQuery``: a coverage question, how many to list, language, crs, time and amenities.

        >>> HotspotsQuery.parse(radius_m=1000, types=None, cell_m=100, adcode=None, limit=5, lang="en").lang
        'en'
        """
        filters = parse_filters(open_at=open_at, hour=hour, day=day, amenities=amenities, unknown_hours=unknown_hours)
        request = planning_request(radius_m, types, cell_m)
        return cls(request, adcode, limit, report_lang(lang), crs_name(crs), filters)
