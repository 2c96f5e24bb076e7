"""Planning answers as GeoJSON (RFC 7946, WGS84 lon/lat): service gaps and proposed sites."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from geo.gaps import Gap
    from stations.model import Station
    from stations.planning.report import SitingReport


def gap_features(gaps: Sequence[Gap], stations: Sequence[Station]) -> dict[str, Any]:
    """Gaps as a GeoJSON FeatureCollection (WGS84 polygons) with area, demand, centroid, nearest station and a
    label point (``label_point``: inside the gap, ``label_station_m`` from the nearest station, beyond the radius);
    ``stations`` are those the gaps' ``nearest_station`` indexes refer to (``CoverageReport.stations``)."""
    import shapely

    features = []
    for gap in gaps:
        nearest = stations[gap.nearest_station] if gap.nearest_station >= 0 else None
        properties = {
            "rank": gap.rank,
            "adcode": gap.adcode,
            "district": gap.district,
            "area_km2": round(gap.area_km2, 3),
            "cells": gap.cells,
            "demand": None if gap.demand is None else round(gap.demand, 1),
            "centroid": [round(gap.centroid_lon, 6), round(gap.centroid_lat, 6)],
            "nearest_station_id": nearest.id if nearest else None,
            "nearest_station_name": nearest.name if nearest else None,
            "nearest_station_m": round(gap.nearest_station_m, 1) if nearest else None,
        }
        label = gap.label
        if label is not None:  # inside the gap, beyond the radius (the centroid may be neither)
            properties["label_point"] = [round(label.lon, 6), round(label.lat, 6)]
            properties["label_station_m"] = round(label.nearest_station_m, 1) if nearest else None
        geometry = shapely.geometry.mapping(gap.polygon)
        features.append({"type": "Feature", "properties": properties, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}


def siting_geojson(report: SitingReport) -> dict[str, Any]:
    """Proposals as a FeatureCollection (WGS84 points, rank order) with a ``summary`` foreign member."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"]]},
            "properties": {key: value for key, value in site.items() if key not in ("lon", "lat")},
        }
        for site in report.sites
    ]
    summary = {
        "weight_unit": report.weight_unit,
        "covered_share_before": round(report.total_before, 4),
        "covered_share_after": round(report.total_after, 4),
        "solutions": report.solutions,
        "districts": [
            {
                "adcode": before["adcode"],
                "name": before["name"],
                "covered_share_before": before["covered_share"],
                "covered_share_after": after["covered_share"],
                "demand_covered_share_before": before.get("demand_covered_share"),
                "demand_covered_share_after": after.get("demand_covered_share"),
                "new_sites": sum(site["adcode"] == before["adcode"] for site in report.sites),
            }
            for before, after in zip(report.before, report.after, strict=True)
        ],
    }
    return {"type": "FeatureCollection", "summary": summary, "features": features}
