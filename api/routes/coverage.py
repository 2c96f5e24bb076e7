"""Planning routes: coverage per district, service gaps, and the coverage map page."""

from __future__ import annotations

import threading
from functools import partial
from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PlannerDep
from api.routes.stations import GEOJSON, GeoJSONResponse
from geo.crs import CrsName, transform
from geo.siting import Stopped
from stations import params
from stations.exporters import table_csv, table_xlsx
from stations.model import STATION_TYPES
from stations.planning import (
    Candidate,
    CoverageRequest,
    Planner,
    SitingReport,
    SitingRequest,
    gap_features,
    siting_geojson,
)

router = APIRouter(tags=["planning"])

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Radius = Annotated[float, Query(gt=0, allow_inf_nan=False, description="service distance, metres (≈15 min walk: 1000)")]
Types = Annotated[str | None, Query(description=f"comma-separated, any of: {', '.join(STATION_TYPES)}; default all")]
Cell = Annotated[float, Query(ge=1, allow_inf_nan=False, description="grid cell size, metres; rounded to whole metres")]
Adcode = Annotated[str | None, Query(description="only this district, e.g. 330106")]


def _request(radius_m: float, types: str | None, cell_m: float) -> CoverageRequest:
    return CoverageRequest(radius_m, params.names(types, STATION_TYPES, "types"), cell_m)


def _coverage_features(planner: Planner, rows: list[dict], adcode: str | None) -> dict:
    by_adcode = {row["adcode"]: row for row in rows}
    collection = planner.districts.to_feature_collection([by_adcode.get(a, {}) for a in planner.districts.adcodes])
    features = collection["features"]
    collection["features"] = [f for f in features if adcode is None or f["properties"]["adcode"] == adcode]
    return collection


@router.get(
    "/coverage",
    summary="Coverage per district",
    responses={200: {"content": {"application/json": {}, GEOJSON: {}, "text/csv": {}, XLSX: {}}}},
)
def coverage(
    planner: PlannerDep,
    radius_m: Radius = 1000.0,
    types: Types = None,
    cell_m: Cell = 100.0,
    adcode: Adcode = None,
    format: Annotated[Literal["json", "geojson", "csv", "xlsx"], Query()] = "json",
) -> Response:
    """Share of each district within ``radius_m`` of a station (of ``types``), on a ``cell_m`` grid: area,
    stations per type, covered share, uncovered km², median and 90th-percentile distance to the nearest
    station, and demand-weighted covered share when a demand layer is loaded. Cached per registry version."""
    planner.check_adcode(adcode)
    request = _request(radius_m, types, cell_m)
    report = planner.coverage(request)
    rows = report.rows(adcode)
    if format == "csv":
        return Response("\ufeff" + table_csv(rows), media_type="text/csv; charset=utf-8")
    if format == "xlsx":
        headers = {"Content-Disposition": 'attachment; filename="coverage.xlsx"'}
        return Response(table_xlsx(rows), media_type=XLSX, headers=headers)
    if format == "geojson":
        return GeoJSONResponse(_coverage_features(planner, rows, adcode))
    body = {
        "radius_m": request.radius_m,
        "cell_m": request.cell_m,
        "types": list(request.types) or list(STATION_TYPES),
        "registry_version": report.version,
        "demand": planner.demand is not None,
        "districts": rows,
    }
    return JSONResponse(body)


@router.get(
    "/gaps", response_class=GeoJSONResponse, summary="Service gaps", responses={200: {"content": {GEOJSON: {}}}}
)
def gaps(
    planner: PlannerDep,
    radius_m: Radius = 1000.0,
    types: Types = None,
    cell_m: Cell = 100.0,
    adcode: Adcode = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> GeoJSONResponse:
    """Connected areas farther than ``radius_m`` from every station, largest uncovered demand (or area)
    first, with area, demand, centroid and the nearest existing station."""
    request = _request(radius_m, types, cell_m)
    found = planner.gaps(request, adcode, limit)
    return GeoJSONResponse(gap_features(found, planner.coverage(request).stations))


@router.get("/maps/coverage", response_class=HTMLResponse, summary="Coverage map page")
def coverage_map_page(
    planner: PlannerDep,
    radius_m: Radius = 1000.0,
    types: Types = None,
    cell_m: Cell = 100.0,
    adcode: Adcode = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
) -> HTMLResponse:
    """A self-contained HTML map: district choropleth of covered share, covered area, gaps and stations."""
    return HTMLResponse(render_coverage_map(planner, _request(radius_m, types, cell_m), adcode, limit))


class CandidateIn(BaseModel):
    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    name: str | None = Field(default=None, max_length=200)


class SitingIn(BaseModel):
    """Where ``add`` new stations help most (or the fewest that reach ``target_share``)."""

    add: int | None = Field(default=10, ge=1, le=500, description="how many new sites")
    target_share: float | None = Field(default=None, gt=0, le=1, description="instead of add: share of demand to cover")
    radius_m: float = Field(default=1000.0, gt=0, allow_inf_nan=False)
    types: list[str] = Field(default_factory=list, examples=[["outdoor_worker"]])
    cell_m: float = Field(default=100.0, ge=1, allow_inf_nan=False, description="rounded to whole metres")
    method: Literal["greedy", "exact", "both"] = "greedy"
    time_limit_s: float = Field(default=30.0, gt=0, le=600)
    min_spacing_m: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    quotas: dict[str, int] = Field(default_factory=dict, description="adcode → most new sites there")
    candidates: list[CandidateIn] = Field(
        default_factory=list, description="sites to choose from; default: from the gaps"
    )
    crs: CrsName = "wgs84"

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"add": 20, "radius_m": 1000, "types": ["outdoor_worker"], "method": "both"}]},
    )

    def request(self) -> SitingRequest:
        coverage = CoverageRequest(
            self.radius_m, params.names(",".join(self.types), STATION_TYPES, "types"), self.cell_m
        )
        lon, lat = transform([c.lon for c in self.candidates], [c.lat for c in self.candidates], self.crs, "wgs84")
        candidates = tuple(
            Candidate(float(x), float(y), c.name) for x, y, c in zip(lon, lat, self.candidates, strict=True)
        )
        add = None if self.target_share is not None else self.add
        return SitingRequest(
            coverage, add, self.target_share, self.method, self.time_limit_s, self.min_spacing_m,
            tuple(self.quotas.items()), candidates,
        )  # fmt: skip


@router.post(
    "/siting", response_class=GeoJSONResponse, summary="Propose new sites", responses={200: {"content": {GEOJSON: {}}}}
)
async def siting(planner: PlannerDep, body: SitingIn, request: Request) -> Response:
    """Ranked proposals (GeoJSON points with rank, district and marginal gain) and a summary: solver figures
    per method (objective, proven bound, gap, optimal, seconds) and coverage per district before and after.
    Runs in a worker thread, so other requests are answered meanwhile, and stops when the client goes away."""
    siting_request = body.request()
    gone = threading.Event()
    report: SitingReport | None = None
    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(_watch_disconnect, request, gone)
        try:
            report = await anyio.to_thread.run_sync(partial(planner.site, siting_request, stop=gone.is_set))
        except Exception as exc:  # raised below, outside the task group (which would wrap it in a group)
            failure = exc
        group.cancel_scope.cancel()
    if isinstance(failure, Stopped):  # nobody is left to read an answer; the access log shows 499 (nginx's)
        return JSONResponse({"error": "client_closed_request", "detail": str(failure)}, status_code=499)
    if failure is not None or report is None:
        raise failure or RuntimeError("siting gave no report")
    return GeoJSONResponse(siting_geojson(report))


DISCONNECT_POLL_S = 0.2
"""How often a running siting request looks whether its client is still there."""


async def _watch_disconnect(request: Request, gone: threading.Event) -> None:
    """Set ``gone`` once the client of ``request`` has disconnected."""
    while not await request.is_disconnected():
        await anyio.sleep(DISCONNECT_POLL_S)
    gone.set()


def render_coverage_map(
    planner: Planner, request: CoverageRequest, adcode: str | None, limit: int, siting: SitingReport | None = None
) -> str:
    """The coverage map page for ``request`` (shared by the API, ``yizhan map coverage`` and ``yizhan site
    --map``), with ``siting``'s proposals and after-coverage when given."""
    from maps.coverage import coverage_html

    planner.check_adcode(adcode)
    report = planner.coverage(request)
    found = planner.gaps(request, adcode, limit)
    stations = [
        {"id": s.id, "name": s.name, "types": list(s.types), "lon": s.lon, "lat": s.lat} for s in report.stations
    ]
    nearest_names = [report.stations[g.nearest_station].name if g.nearest_station >= 0 else None for g in found]
    kinds = ", ".join(request.types) if request.types else "all station types"
    extra = {}
    if siting is not None:
        extra = {"proposals": siting.sites, "after_rows": siting.after, "gain_unit": siting.weight_unit}
    return coverage_html(
        planner.districts,
        report.rows(),
        found,
        stations,
        radius_m=request.radius_m,
        gap_station_names=nearest_names,
        adcode=adcode,
        title=f"Yizhan coverage within {request.radius_m:,.0f} m — {kinds}",
        **extra,
    )
