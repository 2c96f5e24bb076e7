"""The keeper console's station pages (issue 16): the list, the station form (editors) or view (viewers), a save
that hit a newer revision, a station's history, and the freshness page with its one-click verify.

Thin: the list is ``stations.station_list``, the form's text and the patch of what an editor changed are
``stations.station_form``, every write is the registry's (``update``, ``create``, ``verify``: history and
revision checks included), and the pages are ``maps.console.stations``. Every POST needs an editor's session
and the session's CSRF token (``api.sessions``), checked before anything is read from the registry.

- ``GET /console/stations``: ``q``, ``adcode``, ``type``, ``stale`` (1/0), ``closed`` (1/0), ``sort`` (name,
  district, verified_at), ``order`` (asc/desc), ``per_page``, ``page``.
- ``GET|POST /console/stations/new``; ``GET|POST /console/stations/{id}`` (a save carries the revision the
  editor loaded; on a newer one the answer is 409 with both versions and a choice per field; a form with bad
  values is 422 with each problem next to its field, in Chinese); ``GET /console/stations/{id}/history``.
- ``GET /console/freshness`` (``days``, default the ``stale_after_days`` setting; ``adcode``; ``page``),
  ``POST /console/freshness/verify``.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import RegistryDep, ServiceDep, SettingsDep
from api.routes.stations import StationId, station_id_path
from api.sessions import (
    NO_STORE,
    ConsoleEditor,
    ConsoleViewer,
    CsrfChecked,
    console_page,
    console_shell,
    message_page,
)
from maps.console import stations as pages
from maps.console.layout import ConsoleShell
from stations import edits, hours
from stations.edits import field_changes
from stations.errors import Conflict, InvalidFields, InvalidValue, StaleRevision
from stations.hours_words import to_words
from stations.model import Station
from stations.registry import Registry
from stations.service import Service
from stations.station_form import (
    FORM_FIELDS,
    FieldProblem,
    changed_fields,
    conflict_rows,
    form_of_payload,
    form_values,
    model_problems,
    new_station,
    patch_for,
    payload_at,
    problem_words,
    problems_of,
    submitted,
)
from stations.station_list import PAGE_SIZES, SORT_KEYS, StationListQuery, list_stations
from stations.vocabulary import AMENITIES, OPERATING_STATUSES, STATION_TYPES, page_labels

router = APIRouter(prefix="/console", tags=["console"], include_in_schema=False)
NO_STATION = (
    "没有这个站点（可能已被删除；修改记录仍可查看）",
    "No such station (it may have been removed; its history is kept)",
)


def _vocabulary(registry: Registry, lang: str) -> pages.Vocabulary:
    districts = registry.districts
    known = tuple(zip(districts.adcodes, districts.names, strict=True)) if districts is not None else ()
    return pages.Vocabulary(STATION_TYPES, AMENITIES, OPERATING_STATUSES, page_labels()[lang], known)


def _listed(station: Station, today: date, max_age_days: int, revision: int | None = None) -> pages.ListedStation:
    return pages.ListedStation(
        station.id, station.name, tuple(station.types), station.district or "", station.address or "",
        station.phone or "", station.operating_status, station.verified_at.isoformat() if station.verified_at else "",
        station.is_stale(today, max_age_days), revision,
    )  # fmt: skip


def _choice(value: str | None) -> bool | None:
    return {"1": True, "0": False}.get(value or "")


def _int(value: str | None, name: str, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise InvalidValue(name, value, "not a whole number") from None


@router.get("/stations", response_class=HTMLResponse)
def station_list(
    request: Request,
    _account: ConsoleViewer,
    registry: RegistryDep,
    settings: SettingsDep,
    q: Annotated[str, Query(max_length=100)] = "",
    adcode: str = "",
    type: str = "",
    stale: str = "",
    closed: str = "",
    sort: str = "name",
    order: str = "asc",
    per_page: str = "",
    page: str = "",
) -> HTMLResponse:
    """The station list, a page at a time."""
    shell = console_shell(request)
    query = StationListQuery(
        text=q,
        adcode=adcode or None,
        station_type=type or None,
        stale=_choice(stale),
        closed=_choice(closed),
        max_age_days=settings.stale_after_days,
        sort=sort,  # type: ignore[arg-type]  # checked by StationListQuery
        descending=order == "desc",
        page=max(_int(page, "page", 1), 1),
        per_page=_int(per_page, "per_page", PAGE_SIZES[0]),
    )
    today = hours.today()
    found = list_stations(registry, query, today)
    filters = pages.ListFilters(
        q, adcode, type, stale, closed, sort, "desc" if query.descending else "asc", str(query.per_page)
    )
    view = pages.ListView(
        tuple(_listed(s, today, settings.stale_after_days) for s in found.stations),
        found.total, found.page, found.pages, filters, _vocabulary(registry, shell.lang), settings.stale_after_days,
        SORT_KEYS, PAGE_SIZES, shell.can_edit,
    )  # fmt: skip
    return console_page(pages.list_page(shell, view))


def _form(
    shell: ConsoleShell,
    service: Service,
    station: Station | None,
    revision: int | None,
    values: dict[str, str] | None = None,
    problems: list[FieldProblem] | None = None,
    message: str = "",
) -> str:
    registry = service.registry
    shown = values if values is not None else form_values(station, service.settings.tiles_crs)
    view = pages.FormView(
        station_id=station.id if station is not None else None,
        revision=revision,
        values=shown,
        vocabulary=_vocabulary(registry, shell.lang),
        tiles=service.tiles(),
        problems={p.field: problem_words(p, shell.lang) for p in problems or []},
        message=message,
        centre=service.centre(registry.snapshot()) if station is None else None,
        editable=shell.can_edit,
        name=station.name if station is not None else "",
        external_ids=station.external_ids if station is not None else {},
        hours_words=(to_words(station.opening_hours, shell.lang) or "") if station is not None else "",
    )
    return pages.form_page(shell, view)


@router.get("/stations/new", response_class=HTMLResponse)
def new_station_form(request: Request, _account: ConsoleEditor, service: ServiceDep) -> HTMLResponse:
    """An empty station form."""
    return console_page(_form(console_shell(request), service, None, None))


def _form_lists(form: Any) -> dict[str, list[str]]:
    return {key: [str(value) for value in form.getlist(key)] for key in form}


@router.post("/stations/new", response_class=HTMLResponse)
async def create_station(request: Request, account: ConsoleEditor, _csrf: CsrfChecked, service: ServiceDep) -> Response:
    """Add the station the form describes; 303 to it, or the form again with each problem (422)."""
    shell = console_shell(request)
    registry, settings = service.registry, service.settings
    form = _form_lists(await request.form())
    values = submitted(form)
    station_id = (form.get("id") or [""])[0].strip()
    station, problems = new_station(values, station_id, settings.tiles_crs)
    if station is not None:
        try:
            station, revision = registry.create(station, account.name)
        except InvalidFields as error:
            station, problems = None, problems_of(error, values)
        except Conflict:
            station, problems = None, [FieldProblem("id", station_id, "a station with this id already exists")]
    if station is None:
        page = _form(shell, service, None, None, {**values, "id": station_id}, problems)
        return console_page(page, 422)
    target = shell.link(pages.with_query(pages.station_path(station.id), saved=revision))
    return RedirectResponse(target, status_code=303, headers=NO_STORE)


@router.get("/stations/{station_id}", response_class=HTMLResponse)
def station_page(
    request: Request, _account: ConsoleViewer, service: ServiceDep, station_id: StationId, saved: str = ""
) -> HTMLResponse:
    """The station form (editors) or its read-only view (viewers)."""
    shell = console_shell(request)
    found = service.registry.store.versioned(station_id)
    if found is None:
        return message_page(request, 404, *NO_STATION)
    station, revision = found
    message = pages.word("saved", shell.lang, revision=revision) if saved.isdigit() else ""
    return console_page(_form(shell, service, station, revision, message=message))


@router.post("/stations/{station_id}", response_class=HTMLResponse)
async def save_station(
    request: Request, account: ConsoleEditor, _csrf: CsrfChecked, service: ServiceDep, station_id: StationId
) -> Response:
    """Save the fields the editor changed since the revision they loaded (``revision``). From the conflict view,
    against the revision it showed (``resolved_at``): each field the editor holds differently, unless chosen
    ``keep.<field>`` = theirs; or, with ``keep_all``, every field they changed since ``revision``."""
    shell = console_shell(request)
    registry, crs = service.registry, service.settings.tiles_crs
    form = _form_lists(await request.form())
    yours = submitted(form)
    loaded_revision = _int((form.get("revision") or [""])[0], "revision", 0)
    found = registry.store.versioned(station_id)
    if found is None:  # removed meanwhile: what the editor sent is shown, not lost
        return _conflict(shell, registry, station_id, yours, yours, loaded_revision, crs)
    current = found[0]
    loaded = _form_at(registry, station_id, loaded_revision, crs) or form_values(current, crs)
    base_revision = _int((form.get("resolved_at") or [""])[0], "resolved_at", loaded_revision)
    base = loaded if base_revision == loaded_revision else _form_at(registry, station_id, base_revision, crs) or loaded
    changed = changed_fields(base, yours)
    if (form.get("keep_all") or [""])[0] == "yours":  # re-apply: every field the editor changed, theirs elsewhere
        changed = [name for name in changed if yours[name] != loaded[name]]
    else:
        changed = [name for name in changed if (form.get(f"keep.{name}") or [""])[0] != "theirs"]
    patch, problems = patch_for(yours, changed, crs)
    if problems:
        problems = model_problems(edits.payload(current), patch, yours, problems)
    else:
        try:
            _, revision = registry.update(station_id, patch, account.name, base_revision)
        except InvalidFields as error:
            problems = problems_of(error, yours)
        except StaleRevision:  # the page reads the revisions again: another save may have landed since
            return _conflict(shell, registry, station_id, loaded, yours, loaded_revision, crs)
        else:
            target = shell.link(pages.with_query(pages.station_path(station_id), saved=revision))
            return RedirectResponse(target, status_code=303, headers=NO_STORE)
    page = _form(shell, service, current, loaded_revision, yours, problems)
    return console_page(page, 422)


def _form_at(registry: Registry, station_id: str, revision: int, crs: Any) -> dict[str, str] | None:
    """The form of the station as it was at ``revision`` (None: it never had it)."""
    found = payload_at(registry, station_id, revision)
    return form_of_payload(found, crs) if found is not None else None


def _conflict(
    shell: ConsoleShell,
    registry: Registry,
    station_id: str,
    base: dict[str, str],
    yours: dict[str, str],
    base_revision: int,
    crs: Any,
) -> HTMLResponse:
    """The 409 page of a save based on an old revision: theirs (as stored now) and yours, field by field."""
    found = registry.store.versioned(station_id)
    theirs = form_values(found[0], crs) if found is not None else dict.fromkeys(FORM_FIELDS, "")
    rows = conflict_rows(base, theirs, yours)
    view = pages.ConflictView(
        station_id,
        found[0].name if found is not None else station_id,
        base_revision,
        found[1] if found is not None else None,
        tuple(pages.ConflictField(r.field, r.theirs, r.yours, r.yours_changed) for r in rows),
        yours,
        _vocabulary(registry, shell.lang),
    )
    return console_page(pages.conflict_page(shell, view), 409)


def _value_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@router.get("/stations/{station_id}/history", response_class=HTMLResponse)
def station_history(
    request: Request, _account: ConsoleViewer, registry: RegistryDep, station_id: StationId
) -> HTMLResponse:
    """Every recorded change of the station, newest first, times in China time."""
    shell = console_shell(request)
    entries = registry.history(station_id)
    found = registry.store.versioned(station_id)
    name = found[0].name if found is not None else station_id
    vocabulary = _vocabulary(registry, shell.lang)
    rows = []
    for entry in reversed(entries):
        changes = tuple(
            (
                vocabulary.label(key.removeprefix("amenities."), shell.lang),
                pages.change_text(before, key, vocabulary, shell.lang, _value_text),
                pages.change_text(after, key, vocabulary, shell.lang, _value_text),
            )
            for key, before, after in field_changes(entry.changes)
        )
        at = entry.at.astimezone(hours.TIMEZONE).strftime("%Y-%m-%d %H:%M:%S")
        rows.append(pages.HistoryRow(entry.revision, entry.action, entry.actor, at, changes))
    return console_page(pages.history_page(shell, station_id, name, rows, vocabulary))


@router.get("/freshness", response_class=HTMLResponse)
def freshness(
    request: Request,
    _account: ConsoleViewer,
    registry: RegistryDep,
    settings: SettingsDep,
    days: str = "",
    adcode: str = "",
    page: str = "",
    verified: str = "",
    changed: str = "",
) -> HTMLResponse:
    """Stations not verified for ``days`` days (or never), the stalest first, with a verify button each."""
    shell = console_shell(request)
    max_age = _int(days, "days", settings.stale_after_days)
    query = StationListQuery(
        adcode=adcode or None, stale=True, max_age_days=max_age, sort="verified_at",
        page=max(_int(page, "page", 1), 1), per_page=PAGE_SIZES[1],
    )  # fmt: skip
    today = hours.today()
    found = list_stations(registry, query, today)
    rows = []
    for station in found.stations:
        versioned = registry.store.versioned(station.id)
        rows.append(_listed(station, today, max_age, versioned[1] if versioned else None))
    message = warning = ""
    for key, wanted in ((verified, "verified"), (changed, "verify_conflict")):
        if key:
            known = registry.snapshot().get(key)
            words = pages.word(wanted, shell.lang, name=known.name if known is not None else key)
            message, warning = (words, warning) if wanted == "verified" else (message, words)
    view = pages.FreshnessView(
        tuple(rows), found.total, found.page, found.pages, max_age, adcode, _vocabulary(registry, shell.lang),
        shell.can_edit, message, warning,
    )  # fmt: skip
    return console_page(pages.freshness_page(shell, view))


@router.post("/freshness/verify")
async def verify(request: Request, account: ConsoleEditor, _csrf: CsrfChecked, registry: RegistryDep) -> Response:
    """Record that the station was confirmed by phone (``verified_at`` today), if it is still at the revision
    the page showed; back to the freshness page (303) saying so, or that it changed meanwhile."""
    shell = console_shell(request)
    form = _form_lists(await request.form())

    def first(name: str) -> str:
        return (form.get(name) or [""])[0]

    station_id = station_id_path(first("station_id"))
    revision = _int(first("revision"), "revision", 0)
    back = {"days": first("days"), "adcode": first("adcode"), "page": first("page")}
    try:
        registry.verify(station_id, account.name, revision)
        back["verified"] = station_id
    except StaleRevision:
        back["changed"] = station_id
    return RedirectResponse(
        shell.link(pages.with_query("/console/freshness", **back)), status_code=303, headers=NO_STORE
    )
