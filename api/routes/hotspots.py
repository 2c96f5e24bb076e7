"""``GET /hotspots``: gaps a station can close — the unserved demand in pieces one new station serves.

Registered on the planning router (``api.routes.coverage``), so it shares the planning requests' concurrency limit.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from api.deps import ServiceDep
from api.inputs import query_dependency
from api.routes.report_files import XLSX, table_file
from api.routes.stations import GEOJSON, GeoJSONResponse
from stations.planning.exports import hotspot_export
from stations.queries import HotspotsQuery

router = APIRouter(tags=["planning"])

HotspotsParams = Annotated[HotspotsQuery, Depends(query_dependency(HotspotsQuery))]


@router.get(
    "/hotspots",
    summary="Hot spots: where one new station serves the most unserved demand",
    responses={200: {"content": {GEOJSON: {}, "application/json": {}, "text/csv": {}, XLSX: {}}}},
)
def hotspots(
    service: ServiceDep,
    query: HotspotsParams,
    format: Annotated[Literal["geojson", "json", "csv", "xlsx"], Query()] = "geojson",
    table: Annotated[Literal["hotspots", "gaps"], Query(description="csv: hot spots, or stations needed per gap")] = (
        "hotspots"
    ),
) -> Response:
    """The unserved demand (beyond ``radius_m`` of every station) split into hot spots one new station serves, in
    greedy order: each with its demand, the gap area it would newly cover, district, the street and distance of the
    nearest station, a suggested site (the point) and a label point inside its gap beyond the radius. The
    ``summary`` holds the total unserved demand (the hot spots' demands add up to it) and every gap with the
    stations it would take (greedy plan) and a proven least number. With ``open_at`` (or ``hour`` of ``day``) and
    ``amenities``, only the stations open then and having them count. Points in ``crs``, headers and labels in
    ``lang``, with the report's metadata. ``json``: the rows; ``csv``: one table; ``xlsx``: both tables."""
    report = service.hotspots(query)
    context = service.report_context(query.request, report.version, query.lang, query.crs, query.filters)
    export = hotspot_export(report, context, query.limit)
    if format in ("csv", "xlsx"):
        chosen = export.tables if format == "xlsx" or table == "hotspots" else export.tables[1:]
        return table_file(chosen, export.context, format, "hotspots" if table == "hotspots" else "hotspot-gaps")
    collection = export.geojson
    if format == "json":
        members = {k: v for k, v in collection.items() if k not in ("type", "features", "summary")}
        body = {**collection["summary"], **members, "rows": [f["properties"] for f in collection["features"]]}
        return JSONResponse(body)
    return GeoJSONResponse(collection)
