"""Station routes: nearest stations, listing, one station."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from starlette.types import Scope

from api.caching import REVALIDATE, deployment_of, etag_matches, not_modified, registry_etag
from api.deps import RegistryDep, ServiceDep, SettingsDep, SnapshotDep
from api.inputs import plain_values, query_dependency
from geo.crs import CrsName
from stations import hours, params
from stations.errors import InvalidValue, NotFound, YizhanError
from stations.exporters import (
    coordinates,
    feature_collection,
    nearby_geojson_json,
    query_point,
    rider_features,
    station_feature,
    to_csv,
)
from stations.inputs import Input
from stations.model import ID_PATTERN, STATION_TYPES, Station, id_problem
from stations.navigation import Trip
from stations.queries import NearbyRequest
from stations.service import Service
from stations.settings import Settings

router = APIRouter(prefix="/stations", tags=["stations"])

GEOJSON = "application/geo+json"
NEARBY_EXAMPLE = {
    "type": "FeatureCollection",
    "coordinate_system": "wgs84",
    "query": {"type": "Point", "coordinates": [120.16, 30.25]},
    "features": [
        {
            "type": "Feature",
            "id": "HZ-SYN-00042",
            "geometry": {"type": "Point", "coordinates": [120.1612, 30.2519]},
            "properties": {
                "id": "HZ-SYN-00042",
                "name": "湖滨街道工会驿站",
                "types": ["outdoor_worker"],
                "opening_hours": "Mo-Su 08:00-20:00",
                "amenities": {"hot_water": "yes", "microwave": "yes"},
                "distance_m": 212.4,
                "open_status": "open",
                "closes_at": "2026-11-23T20:00:00+08:00",
                "opens_at": None,
                "travel_mode": "ride",
                "navigation": {
                    "amap": "https://uri.amap.com/navigation?from=120.164678,30.24766,...&to=120.165875,30.249558,..."
                    "&mode=ride&src=yizhan&coordinate=gaode&callnative=1",
                    "baidu": "https://api.map.baidu.com/direction?origin=latlng:30.253412,120.171249%7C...&destination="
                    "latlng:30.255294,120.172451%7C...&mode=riding&region=...&output=html&coord_type=bd09ll&src=...",
                    "tencent": "https://apis.map.qq.com/uri/v1/routeplan?type=bike&from=...&fromcoord=30.24766,120.164678"
                    "&to=...&tocoord=30.249558,120.165875&referer=yizhan",
                    "geo": "geo:30.2519,120.1612?q=30.2519,120.1612(...)",
                },
            },
        }
    ],
}

Crs = Annotated[
    CrsName,
    Query(description="coordinate system of lon/lat in and out: wgs84, gcj02 (Amap, Tencent) or bd09 (Baidu)"),
]
Types = Annotated[
    str | None,
    Query(description=f"comma-separated, any of: {', '.join(STATION_TYPES)}", examples=["outdoor_worker"]),
]


def station_id_path(
    station_id: Annotated[str, PathParam(description="a station id, e.g. HZ-SYN-00001 or 驿站-RT-1")],
) -> str:
    """The ``{station_id}`` of a path; NotFound at once for text no station id can be (``..``, a bidi override,
    a NUL: no database is asked about it)."""
    if len(station_id) > 64 or re.match(ID_PATTERN, station_id) is None or id_problem(station_id) is not None:
        raise NotFound("station", station_id)
    return station_id


StationId = Annotated[str, Depends(station_id_path)]


class GeoJSONResponse(JSONResponse):
    """A JSON response typed ``application/geo+json``."""

    media_type = GEOJSON


@router.get(
    "/nearby",
    response_class=GeoJSONResponse,
    summary="Nearest stations to a point",
    responses={200: {"content": {GEOJSON: {"example": NEARBY_EXAMPLE}}}},
)
async def nearby(  # async: no hop to the thread pool; the work is a fraction of a millisecond of CPU, no I/O
    service: ServiceDep,
    settings: SettingsDep,
    request: Annotated[NearbyRequest, Depends(query_dependency(NearbyRequest))],
    at: Annotated[
        str | None, Query(description="time for open_status when open_at is not given (ISO date-time); default now")
    ] = None,
) -> Response:
    """The ``k`` nearest stations matching the filters, nearest first (``order=open_first``: open stations first,
    then those closing within 30 minutes, unknown hours, closed; the rider page asks this way), with great-circle
    ``distance_m``, ``open_status`` (at ``open_at``, else ``at``, else now), ``closes_at`` for an open station and
    ``opens_at`` for a closed one (China time, ISO 8601; null when unknown or not within 31 days) and route
    links for Amap, Baidu, Tencent and ``geo:`` from the asked point, for ``mode`` (each station's ``travel_mode``;
    unless given: drive to driver homes, ride to the others)."""
    return nearby_response(service, settings, request, at)


def nearby_response(service: Service, settings: Settings, request: NearbyRequest, at: str | None) -> Response:
    """The answer of ``GET /stations/nearby``, for the route and for its lane (``nearby_lane``)."""
    results = service.nearby(request, now=params.moment(at, field="at"))
    trip = Trip(request.mode, (request.query.lon, request.query.lat), settings.navigation_apps())
    body = nearby_geojson_json(results, request.crs, trip, query=query_point(request.query, request.crs))
    return Response(body, media_type=GEOJSON)


_NEARBY_LANE_INPUTS = (*NearbyRequest.inputs, Input("at", str | None, None))


def nearby_lane(scope: Scope) -> Response | None:
    """``GET /stations/nearby`` answered from the query string as the route would (``api.hot_routes``), or None
    when the route should answer: a value not in its plainest form, or one the query refuses (the route then
    refuses it in its own words)."""
    values = plain_values(scope["query_string"], _NEARBY_LANE_INPUTS)
    if values is None:
        return None
    state = scope["app"].state
    try:
        at = values.pop("at", None)
        return nearby_response(state.service, state.settings, NearbyRequest.parse(**values), at)
    except YizhanError:
        return None


@router.get("", summary="List stations", responses={200: {"content": {GEOJSON: {}, "text/csv": {}}}})
def list_stations(
    request: Request,
    snapshot: SnapshotDep,
    registry: RegistryDep,
    settings: SettingsDep,
    bbox: Annotated[
        str | None, Query(description="west,south,east,north in the crs", examples=["120.1,30.2,120.2,30.3"])
    ] = None,
    adcode: Annotated[str | None, Query(description="district code, e.g. 330106", pattern=r"^\d{6}$")] = None,
    types: Types = None,
    stale: Annotated[
        bool | None,
        Query(description="true: only stations nobody confirmed within stale_after_days (or ever); false: only fresh"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
    offset: Annotated[int, Query(ge=0)] = 0,
    format: Annotated[Literal["geojson", "csv"], Query()] = "geojson",
    crs: Crs = "wgs84",
) -> Response:
    """Stations by box, district, type and freshness, ordered by id, a page at a time (``limit``/``offset``);
    each with ``stale``. The total count is in the ``X-Total-Count`` header and the ``total`` member. The
    ``ETag`` is keyed by the registry version and the day (``stale`` changes with it): ``If-None-Match`` → 304."""
    etag = registry_etag(deployment_of(settings), snapshot.version, hours.today().isoformat(), "stations")
    if etag_matches(request.headers.get("if-none-match"), etag):
        return not_modified(etag, REVALIDATE)
    box = params.bbox(bbox, crs)
    districts = registry.districts
    if adcode is not None and districts is not None and adcode not in districts.adcodes:
        raise InvalidValue("adcode", adcode, "unknown district", districts.adcodes)
    chosen: Sequence[Station] = snapshot.select(box, adcode, params.names(types, STATION_TYPES, "types"))
    today, max_age = hours.today(), settings.stale_after_days
    if stale is not None:
        chosen = [s for s in chosen if s.is_stale(today, max_age) == stale]
    page = chosen[offset : offset + limit]
    headers = {"X-Total-Count": str(len(chosen)), "ETag": etag, "Cache-Control": REVALIDATE}
    if format == "csv":
        return Response("\ufeff" + to_csv(page, crs), media_type="text/csv; charset=utf-8", headers=headers)
    lon, lat = coordinates(page, crs)
    features = [
        station_feature(s, x, y, {"stale": s.is_stale(today, max_age)}) for s, x, y in zip(page, lon, lat, strict=True)
    ]
    body = feature_collection(features, crs, total=len(chosen), limit=limit, offset=offset)
    return GeoJSONResponse(body, headers=headers)


@router.get("/{station_id}", response_class=GeoJSONResponse, summary="One station")
def get_station(
    registry: RegistryDep, settings: SettingsDep, station_id: StationId, crs: Crs = "wgs84"
) -> JSONResponse:
    """One station as a GeoJSON Feature, with its ``open_status`` now, ``stale``, navigation links and its
    ``revision``; the ``ETag`` header is what ``If-Match`` of a change must carry."""
    station, revision = registry.versioned(station_id)
    return station_response(station, revision, settings, crs)


def etag(revision: int) -> str:
    """The ``ETag`` of a station at ``revision`` (a strong validator, quoted)."""
    return f'"{revision}"'


def station_response(
    station: Station, revision: int, settings: Settings, crs: CrsName = "wgs84", status_code: int = 200
) -> JSONResponse:
    """One station as a GeoJSON Feature with its ``revision``, ``open_status`` now and ``stale``; ETag header."""
    now = datetime.now(hours.TIMEZONE)
    extra = {
        "revision": revision,
        "open_status": "closed" if station.is_closed else hours.status(station.opening_hours, now),
        "stale": station.is_stale(now.date(), settings.stale_after_days),
    }
    feature = rider_features([station], crs, [extra], Trip(apps=settings.navigation_apps()))[0]
    return GeoJSONResponse(feature, status_code=status_code, headers={"ETag": etag(revision)})
