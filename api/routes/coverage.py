"""Planning routes: coverage per district, service gaps, and the coverage map page."""

from __future__ import annotations

import threading
from dataclasses import replace
from functools import partial
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, create_model

from api.deps import ServiceDep
from api.inputs import query_dependency
from api.routes import coverage_hours
from api.routes.hotspots import router as hotspots_router
from api.routes.report_files import XLSX
from api.routes.report_files import table_file as _table_file
from api.routes.stations import GEOJSON, GeoJSONResponse
from geo.crs import CrsName
from geo.siting import Stopped
from stations.district_report import DistrictReportQuery
from stations.inputs import SITING_INPUTS, Input
from stations.model import STATION_TYPES
from stations.planning import Candidate, Planner, SitingReport, SitingRequest
from stations.planning.exports import (
    change_table,
    columns_json,
    coverage_table,
    gaps_geojson,
    gaps_table,
    geojson_in,
    sites_geojson,
    sites_table,
    siting_context,
)
from stations.queries import CoverageMapQuery, CoverageQuery, GapsQuery, report_lang, siting_request

router = APIRouter(tags=["planning"])
router.include_router(hotspots_router)  # GET /hotspots (api.routes.hotspots): a planning request too
coverage_hours.add_routes(router)  # /coverage/profile, /coverage/night-gaps

CoverageParams = Annotated[CoverageQuery, Depends(query_dependency(CoverageQuery))]
GapsParams = Annotated[GapsQuery, Depends(query_dependency(GapsQuery))]
CoverageMapParams = Annotated[CoverageMapQuery, Depends(query_dependency(CoverageMapQuery))]
DistrictReportParams = Annotated[DistrictReportQuery, Depends(query_dependency(DistrictReportQuery))]


def _coverage_features(planner: Planner, rows: list[dict[str, Any]], adcode: str | None) -> dict[str, Any]:
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
    service: ServiceDep,
    query: CoverageParams,
    format: Annotated[Literal["json", "geojson", "csv", "xlsx"], Query()] = "json",
) -> Response:
    """Share of each district within ``radius_m`` of a station (of ``types``), on a ``cell_m`` grid: area,
    stations per type, covered share, uncovered km², median and 90th-percentile distance to the nearest
    station, and demand-weighted covered share when a demand layer is loaded. Cached per registry version."""
    report = service.coverage(query)
    request, adcode = query.request, query.adcode
    table = coverage_table(report, adcode)
    context = service.report_context(request, report.version, query.lang, query.crs, _filters(query))
    if format in ("csv", "xlsx"):
        return _table_file([table], context, format, "coverage")
    if format == "geojson":
        collection = _coverage_features(service.planner, table.rows, adcode)
        return GeoJSONResponse(geojson_in(collection, context, table.columns))
    body = {
        "radius_m": request.radius_m,
        "cell_m": request.cell_m,
        "types": list(request.types) or list(STATION_TYPES),
        "registry_version": report.version,
        "demand": service.planner.demand is not None,
        "metadata": context.metadata_json(),
        "columns": columns_json(table.columns, context),
        "districts": table.rows,
    }
    describe = getattr(report, "describe", None)  # a FilteredCoverage: open at a time, with amenities
    if describe is not None:
        body["filters"] = describe()
    return JSONResponse(body)


def _filters(query: object) -> object:
    """The station filters of a planning query (a time, amenities), for the report's metadata; None if it has
    none."""
    return getattr(query, "filters", None)


@router.get(
    "/gaps",
    response_class=GeoJSONResponse,
    summary="Service gaps",
    responses={200: {"content": {GEOJSON: {}, "text/csv": {}, XLSX: {}}}},
)
def gaps(
    service: ServiceDep,
    query: GapsParams,
    format: Annotated[Literal["geojson", "csv", "xlsx"], Query()] = "geojson",
) -> Response:
    """Connected areas farther than ``radius_m`` from every station, largest uncovered demand (or area)
    first, with area, demand, centroid and the nearest existing station; in ``crs``, with the report's
    metadata, headers in ``lang``."""
    found, serving = service.gaps(query)
    version = service.registry.snapshot().version  # what the gaps were found in (a filtered gap list too)
    context = service.report_context(query.request, version, query.lang, query.crs, _filters(query))
    context = replace(context, report=("服务空白", "Service gaps"))
    if format in ("csv", "xlsx"):
        return _table_file([gaps_table(found, serving, query.crs)], context, format, "gaps")
    return GeoJSONResponse(gaps_geojson(found, serving, context))


@router.get("/maps/coverage", response_class=HTMLResponse, summary="Coverage map page")
def coverage_map_page(service: ServiceDep, query: CoverageMapParams) -> HTMLResponse:
    """A self-contained HTML map: district choropleth of covered share, covered area, gaps and stations."""
    return HTMLResponse(service.coverage_map(query))


@router.get("/reports/district/{adcode}", response_class=HTMLResponse, summary="Printable district report")
def district_report_page(
    service: ServiceDep,
    adcode: Annotated[str, Path(pattern=r"^\d{6}$", description="the district's adcode, e.g. 330106")],
    query: DistrictReportParams,
) -> HTMLResponse:
    """One district's coverage figures, map (inline SVG), hour profile, proposed sites and gaps, as an HTML
    page without scripts that prints on A4 (``lang`` zh or en)."""
    from stations.district_report import district_report

    return HTMLResponse(district_report(service, adcode, query))


class CandidateIn(BaseModel):
    """A candidate site, in the request's ``crs``, with an optional name."""

    lon: float = Field(ge=-180, le=180, allow_inf_nan=False)
    lat: float = Field(ge=-90, le=90, allow_inf_nan=False)
    name: str | None = Field(default=None, max_length=200)


def _field(spec: Input) -> Any:
    bounds = {bound: getattr(spec, bound) for bound in ("ge", "gt", "le") if getattr(spec, bound) is not None}
    if spec.annotation in (float, float | None):
        bounds["allow_inf_nan"] = False
    return (spec.annotation, Field(default=spec.default, description=spec.help, **bounds))


_SitingFields = create_model(  # the inputs both doors share, declared once in stations.inputs
    "_SitingFields", **{spec.name: _field(spec) for spec in SITING_INPUTS if spec.name != "types"}
)


class SitingIn(_SitingFields):  # type: ignore[misc,valid-type]
    """Where ``add`` new stations help most (or the fewest that reach ``target_share``)."""

    types: list[str] = Field(default_factory=list, examples=[["outdoor_worker"]])
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
        """The checked siting request (candidates converted to WGS84)."""
        values = self.model_dump(exclude={"types", "quotas", "candidates", "lang"})
        candidates = [Candidate(c.lon, c.lat, c.name) for c in self.candidates]
        return siting_request(
            **values, types=",".join(self.types), quotas=tuple(self.quotas.items()), candidates=candidates
        )


@router.post(
    "/siting", response_class=GeoJSONResponse, summary="Propose new sites", responses={200: {"content": {GEOJSON: {}}}}
)
async def siting(
    service: ServiceDep,
    body: SitingIn,
    request: Request,
    format: Annotated[Literal["geojson", "csv", "xlsx"], Query()] = "geojson",
) -> Response:
    """Ranked proposals (GeoJSON points in ``crs`` with rank, district, street and marginal gain in people or
    km²) and a summary: solver figures per method (objective, proven bound, gap, optimal, seconds) and coverage
    per district before and after; or the same as CSV (the sites) or XLSX (sites, districts before and after,
    metadata), headers in ``lang``. Runs in a worker thread, so other requests are answered meanwhile, and
    stops when the client goes away."""
    siting_request = body.request()
    gone = threading.Event()
    report: SitingReport | None = None
    failure: Exception | None = None
    async with anyio.create_task_group() as group:
        group.start_soon(_watch_disconnect, request, gone)
        try:
            report = await anyio.to_thread.run_sync(partial(service.site, siting_request, stop=gone.is_set))
        except Exception as exc:  # raised below, outside the task group (which would wrap it in a group)
            failure = exc
        group.cancel_scope.cancel()
    if isinstance(failure, Stopped):  # nobody is left to read an answer; the access log shows 499 (nginx's)
        return JSONResponse({"error": "client_closed_request", "detail": str(failure)}, status_code=499)
    if failure is not None or report is None:
        raise failure or RuntimeError("siting gave no report")
    coverage = service.planner.coverage(siting_request.coverage)  # cached: what the siting started from
    context = service.report_context(coverage.request, coverage.version, report_lang(body.lang), body.crs)
    context = siting_context(context, report)
    stations = service.registry.snapshot().stations  # every station's address may name the site's street
    if format in ("csv", "xlsx"):
        tables = [sites_table(report, stations, body.crs), change_table(report)]
        return _table_file(tables, context, format, "sites")
    return GeoJSONResponse(sites_geojson(report, stations, context))


DISCONNECT_POLL_S = 0.2
"""How often a running siting request looks whether its client is still there."""


async def _watch_disconnect(request: Request, gone: threading.Event) -> None:
    """Set ``gone`` once the client of ``request`` has disconnected."""
    while not await request.is_disconnected():
        await anyio.sleep(DISCONNECT_POLL_S)
    gone.set()
