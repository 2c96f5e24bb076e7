"""``GET /hotspots``: gaps a station can close — the unserved demand in pieces one new station serves.

Registered on the planning router (``api.routes.coverage``), so it shares the planning requests' concurrency limit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from api.deps import ServiceDep
from api.inputs import query_dependency
from api.routes.stations import GEOJSON, GeoJSONResponse
from stations.exporters import table_csv
from stations.planning.hotspots import gap_need_rows, hotspot_features, hotspot_rows
from stations.queries import HotspotsQuery

router = APIRouter(tags=["planning"])

HotspotsParams = Annotated[HotspotsQuery, Depends(query_dependency(HotspotsQuery))]


@router.get(
    "/hotspots",
    summary="Hot spots: where one new station serves the most unserved demand",
    responses={200: {"content": {GEOJSON: {}, "application/json": {}, "text/csv": {}}}},
)
def hotspots(
    service: ServiceDep,
    query: HotspotsParams,
    format: Annotated[Literal["geojson", "json", "csv"], Query()] = "geojson",
    table: Annotated[Literal["hotspots", "gaps"], Query(description="csv: hot spots, or stations needed per gap")] = (
        "hotspots"
    ),
) -> Response:
    """The unserved demand (beyond ``radius_m`` of every station) split into hot spots one new station serves, in
    greedy order: each with its demand, the gap area it would newly cover, district, the street and distance of the
    nearest station, a suggested site (the point) and a label point inside its gap beyond the radius. The
    ``summary`` holds the total unserved demand (the hot spots' demands add up to it) and every gap with the
    stations it would take (greedy plan) and a proven least number. ``json``: the rows; ``csv``: one table."""
    report = service.hotspots(query)
    if format == "csv":
        rows = hotspot_rows(report, query.limit) if table == "hotspots" else gap_need_rows(report, query.limit)
        return Response("\ufeff" + table_csv(rows), media_type="text/csv; charset=utf-8")
    collection = hotspot_features(report, query.limit)
    if format == "json":
        body = {**collection["summary"], "rows": [f["properties"] for f in collection["features"]]}
        return JSONResponse(body)
    return GeoJSONResponse(collection)
