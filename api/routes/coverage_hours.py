"""Planning routes by time: coverage per hour of a weekday and a holiday, and night gaps.

Added to the planning router (``api.routes.coverage``), so they share its concurrency limit and memory ceiling.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse, Response

from api.deps import ServiceDep
from api.inputs import query_dependency
from api.routes.stations import GEOJSON, GeoJSONResponse
from stations.exporters import table_csv
from stations.queries import HourProfileQuery, NightGapsQuery

ProfileParams = Annotated[HourProfileQuery, Depends(query_dependency(HourProfileQuery))]
NightParams = Annotated[NightGapsQuery, Depends(query_dependency(NightGapsQuery))]


def coverage_profile(
    service: ServiceDep,
    query: ProfileParams,
    format: Annotated[Literal["json", "map", "csv"], Query()] = "json",
) -> Response:
    """Share of area (and demand) covered at each hour 00:00-23:00 (China time) of a representative weekday
    and public holiday, per district: ``json`` a flat table (day, date, hour, district, shares), ``map`` 24
    values per district and day for an hour selector, ``csv`` the table. Under ``unknown_hours=separate`` the
    share covered only by stations of unknown hours is a column of its own."""
    from stations.planning.timed import HOURS

    profile = service.hour_profile(query)
    rows = profile.rows(query.adcode, query.hour)
    if format == "csv":
        return Response("\ufeff" + table_csv(rows), media_type="text/csv; charset=utf-8")
    if format == "map":
        return JSONResponse(profile.for_map())
    body = {
        "radius_m": query.request.radius_m,
        "cell_m": query.request.cell_m,
        "registry_version": profile.version,
        "days": [{"day": kind, "date": day.isoformat()} for kind, day in profile.days],
        "hours": list(HOURS) if query.hour is None else [query.hour],
        **profile.filters.describe(),
        "rows": rows,
    }
    return JSONResponse(body)


def night_gaps(
    service: ServiceDep,
    query: NightParams,
    format: Annotated[Literal["json", "geojson", "csv"], Query()] = "json",
) -> Response:
    """Areas covered at some hour 06:00-21:00 but not at some hour 22:00-05:00 of a day (China time): ``json``
    per district (area and demand covered by day, night gap, and under ``unknown_hours=separate`` the part only
    stations of unknown hours might serve), ``geojson`` the largest night gaps as polygons, ``csv`` the table."""
    from stations.planning.timed import night_gap_features

    result = service.night_gaps(query)
    if format == "geojson":
        return GeoJSONResponse(night_gap_features(result))
    rows = result.rows(query.adcode)
    if format == "csv":
        return Response("\ufeff" + table_csv(rows), media_type="text/csv; charset=utf-8")
    kind, day = result.day
    body = {
        "radius_m": query.request.radius_m,
        "cell_m": query.request.cell_m,
        "registry_version": result.version,
        "day": kind,
        "date": day.isoformat(),
        "night_hours": "22:00-06:00",
        **result.filters.describe(),
        "districts": rows,
    }
    return JSONResponse(body)


def add_routes(router: APIRouter) -> None:
    """``GET /coverage/profile`` and ``GET /coverage/night-gaps`` on ``router``."""
    router.add_api_route(
        "/coverage/profile", coverage_profile, methods=["GET"], summary="Coverage per hour",
        responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
    )  # fmt: skip
    router.add_api_route(
        "/coverage/night-gaps", night_gaps, methods=["GET"], summary="Night gaps",
        responses={200: {"content": {"application/json": {}, GEOJSON: {}, "text/csv": {}}}},
    )  # fmt: skip
