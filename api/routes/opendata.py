"""Open data: the whole registry as CSV, GeoJSON or XLSX with its licence, and delta sync (``modified_since``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import Response

from api.deps import RegistryDep, SettingsDep
from api.routes.stations import Crs, GeoJSONResponse
from api.security import header_text
from stations import opendata, params
from stations.exporters import table_csv, table_xlsx

router = APIRouter(tags=["open data"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ModifiedSince = Annotated[
    str | None,
    Query(
        description="only stations changed at or after this ISO date-time (China time if no offset), plus the ids "
        "removed for good since; pass the previous download's next_modified_since to sync changes",
        examples=["2026-11-01T00:00:00+08:00"],
    ),
]


def _dump(registry: RegistryDep, settings: SettingsDep, modified_since: str | None) -> opendata.Dump:
    since = params.moment(modified_since, field="modified_since")
    return opendata.dump(registry.store, settings.data_licence, settings.data_attribution, since)


def _headers(data: opendata.Dump, filename: str) -> dict[str, str]:
    headers = {"Content-Disposition": f'attachment; filename="{filename}"', "X-Licence": header_text(data.licence)}
    if data.next_modified_since is not None:
        headers["X-Next-Modified-Since"] = opendata.iso(data.next_modified_since) or ""
    return headers


@router.get("/stations.geojson", response_class=GeoJSONResponse, summary="Open data: all stations as GeoJSON")
def stations_geojson(
    registry: RegistryDep, settings: SettingsDep, modified_since: ModifiedSince = None, crs: Crs = "wgs84"
) -> GeoJSONResponse:
    """Every station (closed ones too, with `operating_status`), with `revision` and `modified_at`; members
    `licence`, `attribution`, `next_modified_since` and `deleted` (ids removed for good, with `modified_since`)."""
    data = _dump(registry, settings, modified_since)
    return GeoJSONResponse(opendata.geojson(data, crs), headers=_headers(data, "yizhan-stations.geojson"))


@router.get("/stations.csv", summary="Open data: all stations as CSV", responses={200: {"content": {"text/csv": {}}}})
def stations_csv(
    registry: RegistryDep, settings: SettingsDep, modified_since: ModifiedSince = None, crs: Crs = "wgs84"
) -> Response:
    """The canonical CSV columns plus `revision`, `modified_at`, `deleted_at` (rows of stations removed for good,
    with `modified_since`), `licence` and `attribution`; UTF-8 with BOM so Excel opens it."""
    data = _dump(registry, settings, modified_since)
    body = "\ufeff" + table_csv(opendata.table(data, crs), opendata.COLUMNS)
    headers = _headers(data, "yizhan-stations.csv")
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/stations.xlsx", summary="Open data: all stations as XLSX", responses={200: {"content": {XLSX: {}}}})
def stations_xlsx(
    registry: RegistryDep, settings: SettingsDep, modified_since: ModifiedSince = None, crs: Crs = "wgs84"
) -> Response:
    """The same table as `/stations.csv`, as an Excel workbook."""
    data = _dump(registry, settings, modified_since)
    body = table_xlsx(opendata.table(data, crs), sheet="stations", columns=opendata.COLUMNS)
    return Response(body, media_type=XLSX, headers=_headers(data, "yizhan-stations.xlsx"))
