"""The keeper console's keeping pages: imports (``/console/imports``) and the riders' reports queue
(``/console/reports``). Thin: the import runs in ``stations.import_jobs`` (``Registry.import_file``: dry run,
then all or nothing), reports are ``stations.reports``; pages are built by ``maps.console.keeping``.

An upload is kept on the server between its dry run and its commit, keyed by a random id and bound to the
person and their session (see ``stations.import_jobs`` for the limits); the page polls
``/console/imports/{id}/status`` while the import runs in a worker thread. Every POST is CSRF-checked before
anything is read or written, and needs an editor.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from api.deps import RegistryDep, SettingsDep
from api.routes.reports import get_reports
from api.security import header_text
from api.sessions import ConsoleEditor, ConsoleViewer, CsrfChecked, console_page, console_shell, lang_of
from geo.crs import CrsName, point_out
from maps.console.keeping import (
    DuplicateView,
    ImportView,
    MapTiles,
    PlannedRowView,
    ProblemView,
    ReportsView,
    ReportView,
    imports_page,
    reports_page,
)
from maps.tiles import OSM_ATTRIBUTION, OSM_TILES
from stations.errors import Conflict, InvalidValue, NotFound, RateLimited, RowProblem
from stations.import_jobs import ImportJob, ImportJobs
from stations.import_template import template_csv, template_xlsx
from stations.import_words import field_zh, reason_zh
from stations.registry import ImportReport, Registry
from stations.reports import Report
from stations.settings import Settings
from stations.snapshot import Snapshot

router = APIRouter(prefix="/console", include_in_schema=False)

ROWS_SHOWN = 500
"""Rows of each part of a report put on the page (``maps.console.keeping.ROWS_SHOWN``)."""
NOTE_CHARS = 2000
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
JobId = Annotated[str, Path(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]


def import_jobs(request: Request) -> ImportJobs:
    """The app's import jobs, made on first use (over the lifespan's registry)."""
    state = request.app.state
    jobs: ImportJobs | None = getattr(state, "console_import_jobs", None)
    if jobs is None:
        jobs = state.console_import_jobs = ImportJobs(state.registry)
    return jobs


def _session_key(shell_token: str) -> str:
    """What binds an upload to the session: a hash of its CSRF token (one per session)."""
    return hashlib.sha256(shell_token.encode()).hexdigest()


def _url(path: str, request: Request, **params: str) -> str:
    query = {**params, **({"lang": "en"} if lang_of(request) == "en" else {})}
    return f"{path}?{urlencode(query)}" if query else path


def _tiles(settings: Settings) -> MapTiles:
    if "{z}" in settings.tiles:
        return MapTiles(settings.tiles, settings.tiles_attribution)
    return MapTiles(OSM_TILES, OSM_ATTRIBUTION)  # a folium provider name: the small maps draw OpenStreetMap


def _tiles_crs(settings: Settings) -> CrsName:
    return settings.tiles_crs if "{z}" in settings.tiles else "wgs84"


def _placed(lon: float, lat: float, crs: CrsName) -> tuple[float, float]:
    x, y = point_out(lon, lat, crs)
    return round(float(x), 7), round(float(y), 7)


# ---------------------------------------------------------------- imports


@router.get("/imports/template.xlsx")
def import_template_xlsx(_account: ConsoleViewer) -> Response:
    """The import template: the Chinese headers the importers accept and one example row."""
    return _download(template_xlsx(), XLSX, "驿站导入模板.xlsx")


@router.get("/imports/template.csv")
def import_template_csv(_account: ConsoleViewer) -> Response:
    """The import template as CSV (UTF-8 with a byte order mark, for Excel)."""
    return _download(template_csv(), "text/csv; charset=utf-8", "驿站导入模板.csv")


def _download(body: bytes, media_type: str, filename: str) -> Response:
    ascii_name = "yizhan-import-template." + filename.rsplit(".", 1)[1]
    disposition = f'attachment; filename="{ascii_name}"; filename*={header_text(filename)}'
    return Response(body, media_type=media_type, headers={"Content-Disposition": disposition})


@router.get("/imports", response_class=HTMLResponse)
def imports_home(request: Request, _account: ConsoleViewer, settings: SettingsDep) -> HTMLResponse:
    """The upload form (editors) and the template's links."""
    shell = console_shell(request)
    notice = None
    if request.query_params.get("cancelled"):
        notice = "已取消，未写入任何内容。" if shell.lang != "en" else "Cancelled; nothing was written."
    return console_page(imports_page(shell, _tiles(settings), notice=notice, max_upload_mb=_mb(settings)))


def _mb(settings: Settings) -> float:
    return round(settings.max_upload_bytes / 1_000_000, 1)


@router.post("/imports", response_class=HTMLResponse)
async def upload(
    request: Request,
    account: ConsoleEditor,
    _csrf: CsrfChecked,
    settings: SettingsDep,
    file: Annotated[UploadFile, File()],
    crs: Annotated[str, Form(pattern=r"^(wgs84|gcj02|bd09)$")] = "wgs84",
) -> Response:
    """Keep the file and start its dry run; the job's page shows the progress, then the report."""
    shell = console_shell(request)
    zh = shell.lang != "en"
    data = await file.read(settings.max_upload_bytes + 1)
    error, status = None, 200
    if len(data) > settings.max_upload_bytes:
        error, status = (
            (f"文件太大：最大 {_mb(settings)} MB" if zh else f"File too large: at most {_mb(settings)} MB"),
            413,
        )
    elif not data:
        error, status = ("文件是空的" if zh else "The file is empty"), 422
    else:
        try:
            job = import_jobs(request).start(
                data, file.filename or "upload.csv", crs, account.name, _session_key(shell.csrf_token)
            )
        except InvalidValue:
            error, status = ("不支持的文件类型：请上传 .csv、.xlsx 或 .geojson 文件" if zh else
                             "Unsupported file type: upload a .csv, .xlsx or .geojson file"), 422  # fmt: skip
        except RateLimited as limited:
            error, status = str(limited) if zh else "Too many imports at once: try again shortly", 429
        else:
            return RedirectResponse(_url(f"/console/imports/{job.id}", request), status_code=303)
    page = imports_page(shell, _tiles(settings), error=error, max_upload_mb=_mb(settings))
    return console_page(page, status)


def _job(request: Request, account: Any, job_id: str) -> ImportJob:
    shell = console_shell(request)
    return import_jobs(request).get(job_id, account.name, _session_key(shell.csrf_token))


def _gone(request: Request, settings: Settings) -> HTMLResponse:
    """The imports page saying the job is gone (expired, cancelled, another session's), with a 404."""
    shell = console_shell(request)
    error = (
        "这个导入已过期或不存在（上传的文件最多保留 30 分钟，且只在上传它的登录中有效）：请重新上传。"
        if shell.lang != "en"
        else "This import has expired or does not exist (an upload is kept 30 minutes, in the sign-in that "
        "uploaded it): upload the file again."
    )
    return console_page(imports_page(shell, _tiles(settings), error=error, max_upload_mb=_mb(settings)), 404)


@router.get("/imports/{job_id}", response_class=HTMLResponse)
def import_job(
    request: Request, account: ConsoleViewer, settings: SettingsDep, registry: RegistryDep, job_id: JobId
) -> HTMLResponse:
    """An import: its progress while it runs, then the dry-run report (commit / cancel) or what was written."""
    try:
        job = _job(request, account, job_id)
    except NotFound:
        return _gone(request, settings)
    shell = console_shell(request)
    view = import_view(job, shell.lang, registry, _tiles_crs(settings))
    return console_page(imports_page(shell, _tiles(settings), job=view, max_upload_mb=_mb(settings)))


@router.get("/imports/{job_id}/status")
def import_status(request: Request, account: ConsoleViewer, job_id: JobId) -> JSONResponse:
    """Where a running import is: ``{state, stage, done, total}`` (polled by the page)."""
    try:
        job = _job(request, account, job_id)
    except NotFound:
        return JSONResponse({"error": "not_found", "detail": "no such import"}, status_code=404)
    return JSONResponse(job.status(), headers={"Cache-Control": "no-store"})


@router.post("/imports/{job_id}/commit")
def commit_import(
    request: Request, account: ConsoleEditor, _csrf: CsrfChecked, settings: SettingsDep, job_id: JobId
) -> Response:
    """Write the checked file, all of it or nothing; the job's page shows the progress and the result."""
    shell = console_shell(request)
    try:
        import_jobs(request).commit(job_id, account.name, _session_key(shell.csrf_token))
    except NotFound:
        return _gone(request, settings)
    return RedirectResponse(_url(f"/console/imports/{job_id}", request), status_code=303)


@router.post("/imports/{job_id}/cancel")
def cancel_import(
    request: Request, account: ConsoleEditor, _csrf: CsrfChecked, settings: SettingsDep, job_id: JobId
) -> Response:
    """Stop the import (nothing is written) and forget the uploaded file."""
    shell = console_shell(request)
    try:
        import_jobs(request).cancel(job_id, account.name, _session_key(shell.csrf_token))
    except NotFound:
        return _gone(request, settings)
    return RedirectResponse(_url("/console/imports", request, cancelled="1"), status_code=303)


def import_view(job: ImportJob, lang: str, registry: Registry, tiles_crs: CrsName) -> ImportView:
    """What the page shows of ``job``: its report's rows (the first ``ROWS_SHOWN`` of each part), problems in
    ``lang``, likely duplicates placed in the tiles' coordinate system."""
    report = job.result if job.result is not None else job.report
    if report is None:
        return ImportView(job.id, job.filename, job.state, job.status(), error=job.error)
    zh = lang != "en"
    snapshot = registry.snapshot()
    return ImportView(
        id=job.id,
        filename=job.filename,
        state=job.state,
        status=job.status(),
        rows=report.rows,
        added=[_planned(r, zh) for r in report.rows_added[:ROWS_SHOWN]],
        updated=[_planned(r, zh) for r in report.rows_updated[:ROWS_SHOWN]],
        unchanged=[_planned(r, zh) for r in report.rows_unchanged[:ROWS_SHOWN]],
        added_total=report.added,
        updated_total=report.updated,
        unchanged_total=report.unchanged,
        problems=[_problem(p, zh) for p in report.problems[:ROWS_SHOWN]],
        problems_total=len(report.problems),
        warnings=[_problem(p, zh) for p in report.warnings[:ROWS_SHOWN]],
        warnings_total=len(report.warnings),
        duplicates=_duplicates(report, job, snapshot, zh, tiles_crs),
        duplicates_total=report.duplicates_total,
        error=job.error,
    )


def _planned(row: Any, zh: bool) -> PlannedRowView:
    detail = "、".join(field_zh(c) for c in row.changes) if zh else ", ".join(row.changes)
    return PlannedRowView(row.row, row.id, row.name, detail)


def _problem(problem: RowProblem, zh: bool) -> ProblemView:
    if not zh:
        return ProblemView(problem.row, problem.field, problem.value, problem.reason)
    return ProblemView(problem.row, field_zh(problem.field), problem.value, reason_zh(problem.reason))


def _duplicates(
    report: ImportReport, job: ImportJob, snapshot: Snapshot, zh: bool, crs: CrsName
) -> list[DuplicateView]:
    views = []
    for d in report.duplicates[:ROWS_SHOWN]:
        existing = snapshot.get(d.existing_id)
        there = (existing.lon, existing.lat) if existing is not None else job.positions.get(d.existing_id)
        here = job.positions.get(d.id)
        views.append(
            DuplicateView(
                d.row,
                d.id,
                d.name,
                d.existing_id,
                d.existing_name,
                d.distance_m,
                reason_zh(d.reason) if zh else d.reason,
                _placed(*here, crs) if here else None,
                _placed(*there, crs) if there else None,
            )
        )
    return views


# ---------------------------------------------------------------- reports


@router.get("/reports", response_class=HTMLResponse)
def reports_queue(
    request: Request,
    _account: ConsoleViewer,
    settings: SettingsDep,
    registry: RegistryDep,
    status: Annotated[str, Query(pattern=r"^(open|resolved|rejected|all)$")] = "open",
    done: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> HTMLResponse:
    """The riders' reports (open by default; resolved, dismissed or all), newest first, with their stations."""
    shell = console_shell(request)
    notice = None
    if done is not None:
        notice = f"反馈 #{done} 已处理。" if shell.lang != "en" else f"Report #{done} is closed."
    view = _reports_view(request, registry, settings, status, notice)
    return console_page(reports_page(shell, _tiles(settings), view))


def _reports_view(
    request: Request, registry: Registry, settings: Settings, status: str, notice: str | None = None,
    error: str | None = None,
) -> ReportsView:  # fmt: skip
    found = get_reports(request).list(None if status == "all" else status, limit=200)
    snapshot, crs = registry.snapshot(), _tiles_crs(settings)
    return ReportsView([_report(r, snapshot, crs) for r in found], status, notice, error)


def _report(report: Report, snapshot: Snapshot, crs: CrsName) -> ReportView:
    station = snapshot.get(report.station_id)
    reported = (report.lon, report.lat) if report.lon is not None and report.lat is not None else None
    return ReportView(
        id=report.id,
        station_id=report.station_id,
        station_name=station.name if station is not None else None,
        kind=report.kind,
        message=report.message,
        created_at=report.created_at.strftime("%Y-%m-%d %H:%M UTC"),
        status=report.status,
        resolved_by=report.resolved_by,
        resolved_at=report.resolved_at.strftime("%Y-%m-%d %H:%M UTC") if report.resolved_at else None,
        resolution=report.resolution,
        station_at=_placed(station.lon, station.lat, crs) if station is not None else None,
        reported_at=_placed(*reported, crs) if reported else None,
    )


@router.post("/reports/{report_id}")
def resolve_report(
    request: Request,
    account: ConsoleEditor,
    _csrf: CsrfChecked,
    settings: SettingsDep,
    registry: RegistryDep,
    report_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    status: Annotated[str, Form(pattern=r"^(resolved|rejected)$")],
    note: Annotated[str, Form(max_length=NOTE_CHARS)] = "",
) -> Response:
    """Close a report as fixed (resolved) or dismissed (rejected), with the keeper's note."""
    shell = console_shell(request)
    zh = shell.lang != "en"
    error, code = None, 200
    if "\x00" in note:
        error, code = ("备注不能包含 NUL 字符" if zh else "The note must not contain NUL characters"), 422
    else:
        try:
            get_reports(request).resolve(report_id, status, account.name, note)
        except NotFound:
            error, code = (f"没有编号为 {report_id} 的反馈" if zh else f"No report #{report_id}"), 404
        except Conflict:
            error, code = (
                (f"反馈 #{report_id} 已经被处理过了" if zh else f"Report #{report_id} was closed already"),
                409,
            )
        else:
            return RedirectResponse(_url("/console/reports", request, done=str(report_id)), status_code=303)
    view = _reports_view(request, registry, settings, "open", error=error)
    return console_page(reports_page(shell, _tiles(settings), view), code)
