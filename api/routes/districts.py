"""District routes: boundaries with station counts per type, or (``?geometry=false``) the light list a
drop-down needs. Both carry an ``ETag`` keyed by the registry version and ``Cache-Control: no-cache``
(``api.caching``): a page that asks again gets a ``304`` until an edit or an import changes the counts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from api.caching import REVALIDATE, conditional, deployment_of, registry_etag
from api.deps import RegistryDep, SettingsDep, SnapshotDep
from api.routes.stations import GEOJSON, GeoJSONResponse
from stations.model import STATION_TYPES
from stations.places import registry_district_points

router = APIRouter(tags=["districts"])


@router.get("/districts", response_class=GeoJSONResponse, responses={200: {"content": {GEOJSON: {}}}})
def list_districts(
    request: Request,
    registry: RegistryDep,
    snapshot: SnapshotDep,
    settings: SettingsDep,
    geometry: Annotated[
        bool,
        Query(description="false: no boundaries, only each district's properties and its bbox (a drop-down's list)"),
    ] = True,
) -> Response:
    """District boundaries (WGS84) with ``stations`` counts per type and ``point``, [lon, lat] where a rider who
    picks the district starts (``stations.places.district_points``: at its stations, inside it); empty when no
    district file is set.
    With ``geometry=false`` each feature has ``"geometry": null`` and its ``bbox`` ([west, south, east,
    north], WGS84) instead: a few KB where the boundaries are hundreds."""
    etag = registry_etag(deployment_of(settings), snapshot.version, "districts" if geometry else "district-list")
    return conditional(request, etag, REVALIDATE, lambda: GeoJSONResponse(_districts(registry, snapshot, geometry)))


def _districts(registry: RegistryDep, snapshot: SnapshotDep, geometry: bool) -> dict[str, Any]:
    districts = registry.districts
    if districts is None:
        return {"type": "FeatureCollection", "features": []}
    counts = snapshot.counts_by_adcode()
    empty = dict.fromkeys(STATION_TYPES, 0)
    points, _ = registry_district_points(registry)  # where a rider who picks the district starts (WGS84)
    extra = [
        {"stations": counts.get(adcode, empty), "point": [round(lon, 7), round(lat, 7)]}
        for adcode, (lon, lat) in zip(districts.adcodes, points, strict=True)
    ]
    collection = districts.to_feature_collection(extra)
    if not geometry:
        for feature, shape in zip(collection["features"], districts.geometries, strict=True):
            feature["bbox"] = [round(value, 6) for value in shape.bounds]
            feature["geometry"] = None
    return collection
