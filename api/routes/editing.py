"""Editing stations: create, change (JSON merge patch), confirm, close or remove; and each station's history.

Every write needs an editor's token (removing for good, an admin's). Changes of an existing station need
``If-Match`` with the ETag read from ``GET /stations/{id}``: if the station changed meanwhile the write gets
412 and changes nothing, so two editors never silently overwrite each other.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Response
from fastapi.responses import JSONResponse

from api.auth import Editor, Viewer
from api.deps import RegistryDep, SettingsDep
from api.routes.stations import Crs, GeoJSONResponse, StationId, station_response
from api.security import path_segment
from geo.crs import CrsName, point_in
from stations.errors import InvalidValue, RevisionRequired
from stations.importers import generated_id
from stations.model import station_from

router = APIRouter(prefix="/stations", tags=["editing"])

IfMatch = Annotated[
    str | None,
    Header(description='the ETag of the revision the change is based on, e.g. "3" (from GET /stations/{id})'),
]
STATION_EXAMPLE = {
    "name": "湖滨街道工会驿站",
    "types": ["outdoor_worker"],
    "lon": 120.1612,
    "lat": 30.2519,
    "opening_hours": "Mo-Su 08:00-20:00",
    "amenities": {"hot_water": "yes", "microwave": "yes"},
}
_ETAG = re.compile(r'^\s*(?:W/)?"(\d{1,18})"\s*$')


def expected_revision(if_match: str | None) -> int | None:
    """The revision an ``If-Match`` header names; None for ``*`` (any); RevisionRequired when absent."""
    if if_match is None:
        raise RevisionRequired(
            "send If-Match with the ETag from GET /stations/{id}, so a change made meanwhile is not overwritten"
        )
    if if_match.strip() == "*":
        return None
    found = _ETAG.match(if_match)
    if found is None:
        raise InvalidValue("If-Match", if_match, 'expected an ETag such as "3", or *')
    return int(found.group(1))


def _in_wgs84(data: dict[str, Any], crs: CrsName) -> dict[str, Any]:
    """``data`` with its lon/lat (when both are numbers) moved from ``crs`` to WGS84; InvalidValue for one of
    them alone outside WGS84 (the datum shift of one depends on the other)."""
    lon, lat = data.get("lon"), data.get("lat")
    if crs != "wgs84" and ("lon" in data) != ("lat" in data):
        given = "lon" if "lon" in data else "lat"
        raise InvalidValue(given, data[given], f"with crs={crs}, give lon and lat together")
    if crs == "wgs84" or not isinstance(lon, int | float) or not isinstance(lat, int | float):
        return data
    if isinstance(lon, bool) or isinstance(lat, bool) or not (-180 <= lon <= 180 and -90 <= lat <= 90):
        return data  # left for validation to reject
    x, y = point_in(lon, lat, crs)
    return {**data, "lon": round(x, 7), "lat": round(y, 7)}


@router.post("", status_code=201, summary="Add a station", response_class=GeoJSONResponse)
def create_station(
    account: Editor,
    registry: RegistryDep,
    settings: SettingsDep,
    body: Annotated[dict[str, Any], Body(openapi_examples={"station": {"value": STATION_EXAMPLE}})],
    crs: Crs = "wgs84",
) -> JSONResponse:
    r"""Add a station (fields as in `GET /stations/{id}`; `id` optional: one is made from name and place).
    Its district is found from its position. 409 if the id exists. An id is 1-64 visible characters of any
    script (e.g. `驿站-RT-1`), without spaces or `/ ? # % \`, and not `.` or `..`; the `Location` of the new
    station is its URL, percent-encoded (`/stations/%E9%A9%BF%E7%AB%99-RT-1`)."""
    data = _in_wgs84(body, crs)
    if (
        "id" not in data
        and isinstance(data.get("name"), str)
        and all(isinstance(data.get(k), (int, float)) for k in ("lon", "lat"))
    ):
        data = {"id": generated_id(data["name"].strip(), float(data["lon"]), float(data["lat"])), **data}
    station, revision = registry.create(station_from(data), account.name)
    response = station_response(station, revision, settings, crs, status_code=201)
    response.headers["Location"] = f"/stations/{path_segment(station.id)}"
    return response


@router.patch("/{station_id}", summary="Change a station", response_class=GeoJSONResponse)
def update_station(
    account: Editor,
    registry: RegistryDep,
    settings: SettingsDep,
    station_id: StationId,
    patch: Annotated[
        dict[str, Any],
        Body(
            description="JSON merge patch (RFC 7396): given fields replace, null removes, amenities merge",
            openapi_examples={"hours": {"value": {"opening_hours": "Mo-Fr 08:00-18:00", "amenities": {"wifi": "yes"}}}},
        ),
    ],
    if_match: IfMatch = None,
    crs: Crs = "wgs84",
) -> JSONResponse:
    """Change some fields of a station; needs `If-Match`. Reopening a closed station is a change of
    `operating_status`. A move without a new `adcode` puts the station in the district it moved to."""
    expected = expected_revision(if_match)
    station, revision = registry.update(station_id, _in_wgs84(patch, crs), account.name, expected)
    return station_response(station, revision, settings, crs)


@router.post("/{station_id}/verify", summary="Confirm a station is as recorded", response_class=GeoJSONResponse)
def verify_station(
    account: Editor, registry: RegistryDep, settings: SettingsDep, station_id: StationId, if_match: IfMatch = None
) -> JSONResponse:
    """Record that an editor checked the station and found it as recorded: `verified_at` becomes today (China
    time), so it is no longer `stale`. Needs `If-Match` (you confirm the revision you saw)."""
    station, revision = registry.verify(station_id, account.name, expected_revision(if_match))
    return station_response(station, revision, settings)


@router.delete("/{station_id}", status_code=204, summary="Close or remove a station")
def delete_station(
    account: Editor,
    registry: RegistryDep,
    station_id: StationId,
    if_match: IfMatch = None,
    hard: Annotated[bool, Query(description="remove for good, history kept (admins only)")] = False,
) -> Response:
    """Close a station for good: `operating_status` becomes `closed`, riders no longer see it, it stays in the
    registry, its history and the open data. With `hard=true` (admin) it is removed. Needs `If-Match`."""
    if hard:
        account.require("admin")
    registry.delete(station_id, account.name, expected_revision(if_match), hard=hard)
    return Response(status_code=204)


@router.get("/{station_id}/history", summary="Every change of a station")
def station_history(_account: Viewer, registry: RegistryDep, station_id: StationId) -> dict[str, Any]:
    """Who changed what and when, oldest first: each entry has the revision it made, the action (create,
    update, verify, delete, restore, purge, import), the token name, the time (UTC) and each changed field
    as `[before, after]` (null: absent)."""
    entries = registry.history(station_id)
    return {
        "station": station_id,
        "history": [e.as_json() for e in entries],
    }
