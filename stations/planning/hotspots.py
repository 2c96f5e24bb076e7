"""Hot spots over the registry: where one new station would serve the most unserved demand (``geo.hotspots``).

``HotspotReport`` is the planner's answer (cached with coverage and gaps); ``hotspot_features`` writes it as GeoJSON
(suggested sites as points, numbered by rank, with the label point, the nearest station, its street and distance),
``hotspot_rows`` as table rows (CSV), ``gap_need_rows`` as the per-gap table of stations needed. ``hotspot_points``
is the plain list the coverage map draws: number, site and label point, demand and district.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo.hotspots import GapNeed, HotSpot, HotSpots
    from stations.model import Station
    from stations.planning.filters import CoverageFilters
    from stations.planning.requests import CoverageRequest


@dataclass(frozen=True)
class HotspotReport:
    """Hot spots of one coverage request against one registry version, and the stations they refer to."""

    request: CoverageRequest
    version: int
    found: HotSpots
    stations: Sequence[Station]
    """The serving stations (those the filters let through); ``HotSpot.nearest_station`` indexes them."""
    filters: CoverageFilters | None = None
    """Which stations counted beyond their types (open at a time, with amenities); None: all serving ones."""
    counted: dict[str, Any] = field(default_factory=dict)
    """The filters as the answer echoes them, with the open and unknown-hours station counts
    (``FilteredCoverage.describe``); empty without filters."""

    def describe(self) -> dict[str, Any]:
        """The station filters as an answer echoes them, or nothing without filters."""
        return dict(self.counted)


@dataclass(frozen=True)
class HotspotPoint:
    """One numbered hot spot as a map draws it: the suggested site (``lon``, ``lat``) and the label point inside
    its gap (``label_lon``, ``label_lat``), WGS84 degrees; demand in ``HotSpots.weight_unit``; metres."""

    rank: int
    lon: float
    lat: float
    demand: float
    area_km2: float
    district: str
    nearest_station: str | None
    """Name of the station nearest the label point."""
    nearest_station_m: float | None
    label_lon: float
    label_lat: float
    gap_stations: int
    """Stations its whole gap would take."""


def hotspot_points(report: HotspotReport, limit: int | None = 20) -> list[HotspotPoint]:
    """The ``limit`` first hot spots of ``report`` as points to draw, numbered by rank (what
    ``maps.coverage.MapHotSpot`` takes, plus the label point and its gap's station count)."""
    points = []
    for s in report.found.spots[:limit]:
        nearest = report.stations[s.nearest_station] if s.nearest_station >= 0 else None
        points.append(
            HotspotPoint(
                s.rank,
                s.site_lon,
                s.site_lat,
                s.demand,
                s.area_km2,
                s.district,
                nearest.name if nearest else None,
                s.nearest_station_m if nearest else None,
                s.label_lon,
                s.label_lat,
                s.gap_stations,
            )
        )
    return points


def _street(station: Station | None) -> str | None:
    """The first street or community the station's address names (``stations.places.street_names``)."""
    from stations.places import street_names

    if station is None:
        return None
    names = street_names(station.address, station.name)
    return names[0] if names else None


def hotspot_rows(report: HotspotReport, limit: int | None = 20) -> list[dict[str, Any]]:
    """One row per hot spot (rank order, the ``limit`` first): what a table or CSV shows."""
    return [_row(spot, report) for spot in report.found.spots[:limit]]


def _row(spot: HotSpot, report: HotspotReport) -> dict[str, Any]:
    nearest = report.stations[spot.nearest_station] if spot.nearest_station >= 0 else None
    return {
        "rank": spot.rank,
        "adcode": spot.adcode,
        "district": spot.district,
        "nearest_station_street": _street(nearest),
        "demand": round(spot.demand, 3),
        "demand_unit": report.found.weight_unit,
        "units": spot.units,
        "area_km2": round(spot.area_km2, 3),
        "site_lon": round(spot.site_lon, 6),
        "site_lat": round(spot.site_lat, 6),
        "reach_m": round(spot.reach_m, 1),
        "label_lon": round(spot.label_lon, 6),
        "label_lat": round(spot.label_lat, 6),
        "nearest_station_id": nearest.id if nearest else None,
        "nearest_station_name": nearest.name if nearest else None,
        "nearest_station_m": round(spot.nearest_station_m, 1) if nearest else None,
        "gap_rank": spot.gap_rank,
        "gap_stations": spot.gap_stations,
    }


def gap_need_rows(report: HotspotReport, limit: int | None = 20) -> list[dict[str, Any]]:
    """One row per gap (largest unserved demand first): area, demand, stations a greedy plan needs and a proven
    least number, and a label point inside it beyond the radius with its nearest station."""
    return [_need_row(need, report) for need in report.found.gaps[:limit]]


def _need_row(need: GapNeed, report: HotspotReport) -> dict[str, Any]:
    nearest = report.stations[need.nearest_station] if need.nearest_station >= 0 else None
    return {
        "gap_rank": need.gap_rank,
        "adcode": need.adcode,
        "district": need.district,
        "area_km2": round(need.area_km2, 3),
        "demand": round(need.demand, 3),
        "stations": need.stations,
        "stations_at_least": need.stations_at_least,
        "label_lon": round(need.label_lon, 6),
        "label_lat": round(need.label_lat, 6),
        "nearest_station_name": nearest.name if nearest else None,
        "nearest_station_m": round(need.nearest_station_m, 1) if nearest else None,
    }


def hotspot_features(report: HotspotReport, limit: int | None = 20) -> dict[str, Any]:
    """The ``limit`` first hot spots as a GeoJSON FeatureCollection (RFC 7946, WGS84): each a Point at its
    suggested site, with the row's properties; a ``summary`` foreign member holds the totals and the per-gap
    table of stations needed (the ``limit`` largest gaps)."""
    found = report.found
    features = []
    for row in hotspot_rows(report, limit):
        point = {"type": "Point", "coordinates": [row["site_lon"], row["site_lat"]]}
        features.append({"type": "Feature", "geometry": point, "properties": row})
    summary = {
        "radius_m": report.request.radius_m,
        "cell_m": report.request.cell_m,
        "types": list(report.request.types),
        "registry_version": report.version,
        **report.describe(),
        "demand_unit": found.weight_unit,
        "unserved": round(found.unserved, 3),
        "hotspots": len(found.spots),
        "shown": len(features),
        "shown_demand": round(sum(s.demand for s in found.spots[:limit]), 3),
        "gaps": gap_need_rows(report, limit),
    }
    return {"type": "FeatureCollection", "summary": summary, "features": features}
