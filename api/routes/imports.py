"""Imports over HTTP: a station file checked row by row (dry run), then committed whole or not at all."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.auth import Editor
from api.deps import RegistryDep
from api.routes.stations import Crs
from stations.errors import ImportRejected
from stations.registry import ImportReport

router = APIRouter(tags=["editing"])


@router.post("/imports", summary="Import a station file (CSV, XLSX, GeoJSON)")
async def import_stations(
    account: Editor,
    registry: RegistryDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GBK), XLSX or GeoJSON; Chinese headers welcome")],
    dry_run: Annotated[bool, Query(description="check and report; write nothing")] = False,
    crs: Crs = "wgs84",
) -> JSONResponse:
    """Check every row and report the rows that would add a station, update one (matched by `id` or by an
    external id; only the columns the file has are changed), change nothing, are rejected (row, field, value,
    reason) or look like a station already there (within 15 m, or 50 m with a similar name).

    Without `dry_run` the file is written in one transaction — all of it or, if any row is bad, nothing (422
    with every bad row). Files over the size limit get 413."""
    data = await file.read()
    name = file.filename or "upload.csv"
    try:
        report = await run_in_threadpool(registry.import_file, data, name, crs, dry_run, account.name)
    except ImportRejected as rejected:
        return JSONResponse({"error": rejected.code, "detail": _body(rejected.report)}, status_code=422)
    return JSONResponse(_body(report))


def _body(report: ImportReport) -> dict[str, Any]:
    body = report.as_dict()
    body["message"] = (
        "nothing was imported: fix the rejected rows"
        if report.problems
        else "dry run: nothing was written"
        if report.dry_run
        else "imported"
    )
    return body
