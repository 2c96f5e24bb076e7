"""The printable district report: what it is asked (``DISTRICT_REPORT_INPUTS``, ``DistrictReportQuery``) and
how the service gathers it (``district_report``): the district's coverage row, its largest gaps, proposed sites
inside it (greedy siting with every other district's quota at 0), and hot spots and the hour profile where the
planner offers them. The page itself is ``maps.district_report``.

``GET /reports/district/{adcode}`` and ``yizhan report district ADCODE -o report.html`` both call it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, ClassVar

from stations.errors import InvalidValue
from stations.inputs import LIMIT, PLANNING_INPUTS, Input
from stations.planning.requests import CoverageRequest
from stations.vocabulary import STATION_TYPES, label

if TYPE_CHECKING:
    from maps.coverage import HourDay, MapHotSpot
    from stations.service import Service

DISTRICT_REPORT_INPUTS = (
    *PLANNING_INPUTS,
    Input("add", int, 5, "how many new sites to propose in the district (0: none; greedy siting)", ge=0, le=50),
    LIMIT.but(default=10, le=50, help="how many gaps to list"),
    Input("lang", str, "zh", "language of the report: zh or en", pattern=r"^(zh|en)$"),
)
"""``GET /reports/district/{adcode}`` (the adcode in the path) and ``yizhan report district ADCODE``."""


@dataclass(frozen=True)
class DistrictReportQuery:
    """A district report's options (the district itself is given apart: it is the route's path)."""

    request: CoverageRequest
    add: int = 5
    limit: int = 10
    lang: str = "zh"
    inputs: ClassVar[tuple[Input, ...]] = DISTRICT_REPORT_INPUTS

    @classmethod
    def parse(
        cls, *, radius_m: float, types: str | None, cell_m: float, add: int = 5, limit: int = 10, lang: str = "zh"
    ) -> DistrictReportQuery:
        """Checked: known types, radius and cell in range, a known language."""
        from stations.queries import planning_request

        if lang not in ("zh", "en"):
            raise InvalidValue("lang", lang, "unknown language", ["zh", "en"])
        for spec, value in ((DISTRICT_REPORT_INPUTS[3], add), (DISTRICT_REPORT_INPUTS[4], limit)):
            spec.check(value)
        return cls(planning_request(radius_m, types, cell_m), add, limit, lang)


def district_report(service: Service, adcode: str, query: DistrictReportQuery) -> str:
    """The printable report of district ``adcode`` (``InvalidValue`` for an unknown one), as HTML."""
    import shapely

    from maps.coverage import MapStation, _all_synthetic
    from maps.district_report import DistrictReport, district_report_html
    from stations.queries import siting_request
    from stations.service import _after_figures, _figures, _proposed_site

    planner = service.planner
    if not adcode:
        raise InvalidValue("adcode", adcode, "a district's adcode is required, e.g. 330106")
    planner.check_adcode(adcode)
    districts = planner.districts
    position = districts.position(adcode)
    request = query.request
    report = planner.coverage(request)
    no_counts = dict.fromkeys(STATION_TYPES, 0)
    row = next((r for r in report.coverage.districts if r.adcode == adcode), None)
    figures = None if row is None else _figures(row, report.counts.get(adcode, no_counts))
    found = planner.gaps(request, adcode, query.limit)
    nearest = [report.stations[g.nearest_station].name if g.nearest_station >= 0 else None for g in found]
    boundary = districts.geometries[position]
    near: Any = (
        shapely.dwithin(  # in and within the radius of the district (degrees: ~1.3 x the radius at 30°N)
            boundary, shapely.points([(s.lon, s.lat) for s in report.stations]), request.radius_m / 85_000.0
        )
        if report.stations
        else []
    )
    stations = [
        MapStation(s.id, s.name, tuple(s.types), s.lon, s.lat, s.source)
        for s, keep in zip(report.stations, near, strict=True)
        if keep
    ]
    proposals: list[Any] = []
    after = None
    gain_unit = "demand"
    if query.add > 0:
        quotas = tuple((other, 0) for other in districts.adcodes if other != adcode)
        siting = service.site(
            siting_request(
                add=query.add, radius_m=request.radius_m, types=",".join(request.types) or None,
                cell_m=request.cell_m, quotas=quotas,
            )
        )  # fmt: skip
        proposals = [_proposed_site(site) for site in siting.sites if site["adcode"] == adcode]
        after = next((_after_figures(r) for r in siting.after if r["adcode"] == adcode), None)
        gain_unit = "人" if siting.weight_unit == "demand" and query.lang == "zh" else siting.weight_unit
    kinds = request.types or STATION_TYPES
    all_shares, hour_day = map_hour_shares(service, request, query.lang)
    hour_shares = None if all_shares is None else all_shares.get(adcode)
    types_text = (
        "、".join(label(k, query.lang) for k in kinds)
        if query.lang == "zh"
        else ", ".join(label(k, "en") for k in kinds)
    )
    data = DistrictReport(
        adcode, districts.names[position], boundary, request.radius_m, figures, after,
        {kind: label(kind, query.lang) for kind in STATION_TYPES}, stations, found, nearest, proposals, gain_unit,
        hotspots=map_hotspots(service, request, adcode, 5), hour_shares=hour_shares, hour_day=hour_day,
        lang=query.lang, types_text=types_text, cell_m=request.cell_m,
        version=report.version, date=date.today().isoformat(), source=districts.metadata.get("source"),
        synthetic=_all_synthetic(stations),
    )  # fmt: skip
    return district_report_html(data)


def map_hotspots(service: Service, request: CoverageRequest, adcode: str | None, limit: int = 20) -> list[MapHotSpot]:
    """The ``limit`` first hot spots (``Planner.hotspots``) as the coverage map and the report draw them."""
    from maps.coverage import MapHotSpot
    from stations.planning.hotspots import hotspot_points

    points = hotspot_points(service.planner.hotspots(request, adcode), limit)
    return [
        MapHotSpot(p.rank, p.lon, p.lat, p.demand, p.area_km2, p.district, p.nearest_station, p.nearest_station_m)
        for p in points
    ]


def map_hour_days(service: Service, request: CoverageRequest, lang: str = "zh") -> list[HourDay]:
    """Covered share of each district at each hour 0..23 of the profile's representative weekday and weekend day
    or holiday (``Service.hour_profile``; stations of unknown hours reported separately, so not counted as open),
    each named in ``lang`` with its date, as the coverage map's hour selector offers them."""
    import math

    from maps.coverage import HourDay
    from maps.coverage_text import day_name
    from stations.queries import HourProfileQuery

    profile = service.hour_profile(HourProfileQuery(request))
    days = []
    for d, (kind, when) in enumerate(profile.days):
        shares: dict[str, list[float | None]] = {
            code: [None if not math.isfinite(v) else float(v) for v in profile.covered_share[d, :, i]]
            for i, code in enumerate(profile.adcodes)
        }
        days.append(HourDay(f"{day_name(lang, kind)} {when.isoformat()}", shares))
    return days


def map_hour_shares(
    service: Service, request: CoverageRequest, lang: str = "zh"
) -> tuple[dict[str, list[float | None]] | None, str]:
    """Covered share of each district at each hour 0..23 of the representative weekday (the first of
    ``map_hour_days``), and the day's name in ``lang``."""
    weekday = map_hour_days(service, request, lang)[0]
    return dict(weekday.shares), weekday.label  # type: ignore[arg-type]
