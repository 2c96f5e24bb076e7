"""Riders report problems with a station (no token, rate-limited per client); editors list and resolve them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.auth import Editor, Viewer
from api.deps import SettingsDep
from api.routes.stations import Crs, StationId
from geo.crs import point_in
from stations.errors import InvalidValue
from stations.reports import Reports, client_key
from stations.vocabulary import ReportKind as Kind

router = APIRouter(tags=["reports"])


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


Note = Annotated[str, AfterValidator(_no_nul)]


class NewReport(BaseModel):
    """What a rider found wrong; for ``moved``, where the station is now (optional)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind = Field(examples=["closed"])
    message: Note | None = Field(default=None, max_length=2000, examples=["门锁着，贴了停用通知"])
    lon: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)


class Resolution(BaseModel):
    """How a keeper closed a report: resolved or rejected, with an optional note."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    status: Literal["resolved", "rejected"]
    resolution: Note | None = Field(default=None, max_length=2000, examples=["closed the station"])


def get_reports(request: Request) -> Reports:
    """The rider reports the lifespan built (a dependency)."""
    reports: Reports = request.app.state.reports  # built in the lifespan
    return reports


def _public(report: Any) -> dict[str, Any]:
    data = asdict(report)
    for key in ("created_at", "resolved_at"):
        data[key] = data[key].isoformat() if data[key] is not None else None
    return data


@router.post("/stations/{station_id}/reports", status_code=201, summary="Report a problem with a station")
def report_station(
    request: Request, settings: SettingsDep, station_id: StationId, report: NewReport, crs: Crs = "wgs84"
) -> dict[str, Any]:
    """Tell the station's keepers it is closed, has moved, has wrong hours or lacks an amenity; no token
    needed. Each client may send a few reports an hour (429 with `Retry-After` beyond)."""
    position = None
    if (report.lon is None) != (report.lat is None):
        missing = "lat" if report.lat is None else "lon"
        raise InvalidValue(missing, None, "a position needs lon and lat together (or neither)")
    if report.lon is not None and report.lat is not None:
        x, y = point_in(report.lon, report.lat, crs)
        position = (round(x, 7), round(y, 7))
    address = request.client.host if request.client else "unknown"
    filed = get_reports(request).submit(
        station_id, report.kind, client_key(address, settings.secret), report.message, position
    )
    return {"id": filed.id, "station_id": filed.station_id, "kind": filed.kind, "status": filed.status}


@router.get("/reports", summary="Riders' reports")
def list_reports(
    _account: Viewer,
    request: Request,
    status: Annotated[Literal["open", "resolved", "rejected", "all"], Query()] = "open",
    station_id: Annotated[str | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Reports, newest first (viewer token or better)."""
    found = get_reports(request).list(None if status == "all" else status, station_id, limit)
    return {"reports": [_public(r) for r in found]}


@router.patch("/reports/{report_id}", summary="Resolve a report")
def resolve_report(
    account: Editor, request: Request, report_id: Annotated[int, Path(ge=1, le=2**31 - 1)], body: Resolution
) -> dict[str, Any]:
    """Close an open report as resolved or rejected, with a note (editor token). Fix the station itself
    with `PATCH /stations/{id}` or `DELETE /stations/{id}`."""
    return _public(get_reports(request).resolve(report_id, body.status, account.name, body.resolution))
