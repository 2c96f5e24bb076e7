"""District routes: boundaries with station counts per type."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import RegistryDep, SnapshotDep
from api.routes.stations import GEOJSON, GeoJSONResponse
from stations.model import STATION_TYPES

router = APIRouter(tags=["districts"])


@router.get("/districts", response_class=GeoJSONResponse, responses={200: {"content": {GEOJSON: {}}}})
def list_districts(registry: RegistryDep, snapshot: SnapshotDep) -> GeoJSONResponse:
    """District boundaries (WGS84) with ``stations`` counts per type; empty when no district file is set."""
    districts = registry.districts
    if districts is None:
        return GeoJSONResponse({"type": "FeatureCollection", "features": []})
    counts = snapshot.counts_by_adcode()
    empty = dict.fromkeys(STATION_TYPES, 0)
    extra = [{"stations": counts.get(adcode, empty)} for adcode in districts.adcodes]
    return GeoJSONResponse(districts.to_feature_collection(extra))
