"""``yizhan`` commands of the registry keeper: tokens, edits, history and riders' reports.

Run on the server, they act on the database directly; changes are recorded in the history as ``cli:<user>``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, date, datetime
from types import UnionType
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

import typer
from rich.table import Table

from api.cli_support import cli_actor, err, fail, get_settings, out, registry, row
from stations.errors import InvalidValue, YizhanError
from stations.vocabulary import REPORT_KINDS as KINDS
from stations.vocabulary import ROLES

if TYPE_CHECKING:
    from stations.accounts import Accounts
    from stations.reports import Reports

token_app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)
reports_app = typer.Typer(help="Riders' reports: list, file, resolve.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add these commands to the ``yizhan`` app."""
    app.add_typer(token_app, name="token")
    app.add_typer(reports_app, name="reports")
    for command in (edit, verify, delete, history):
        app.command()(command)


def _accounts() -> Accounts:
    from stations.accounts import Accounts

    return Accounts(registry().store)


def _reports() -> Reports:
    from stations.reports import Reports

    return Reports(registry().store, get_settings().reports_per_hour)


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="who or what uses it, e.g. 'Xihu union office'")],
    role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")] = "editor",
    expires_days: Annotated[float, typer.Option(help="days until it expires")] = 365,
    never_expires: Annotated[bool, typer.Option("--never-expires", help="no expiry")] = False,
) -> None:
    """Create a token and print it once: only its hash is kept, so copy it now."""
    try:
        secret, info = _accounts().create(name, role, None if never_expires else expires_days)
    except YizhanError as error:
        fail(error)
    expiry = info.expires_at.date().isoformat() if info.expires_at else "never"
    err.print(f"token {info.id} {info.name!r} ({info.role}, expires {expiry}); it is shown only now:")
    out.print(secret, highlight=False, markup=False)


@token_app.command("list")
def token_list() -> None:
    """Every token (never the secrets): id, name, role, state, expiry."""
    now = datetime.now(UTC)
    table = Table(title="API tokens", title_justify="left")
    for column in ("id", "name", "role", "state", "created", "expires"):
        table.add_column(column, overflow="fold")
    for info in _accounts().list():
        expires = info.expires_at.date().isoformat() if info.expires_at else "never"
        row(table, str(info.id), info.name, info.role, info.state(now), info.created_at.date().isoformat(), expires)
    out.print(table)


@token_app.command("revoke")
def token_revoke(key: Annotated[str, typer.Argument(help="token id or name")]) -> None:
    """Revoke a token at once (by id, or every active token of that name)."""
    try:
        revoked = _accounts().revoke(key)
    except YizhanError as error:
        fail(error)
    err.print(f"revoked {', '.join(f'{t.id} {t.name!r}' for t in revoked)}")


NULL = "null"
"""The value that clears a field (``phone=null``) or removes one amenity or external id (``amenities.wifi=null``)."""
_LIST_SEPARATORS = re.compile(r"[,;，；]")


def parse_assignments(assignments: list[str]) -> dict[str, Any]:
    """``field=value`` pairs as a merge patch, each value typed by the Station field it sets (see ``field_value``).

    ``amenities.hot_water=yes`` sets one amenity, ``field=null`` clears a field.

    >>> parse_assignments(["name=新名字", "phone=88881234", "capacity=8", "amenities.wifi=yes", "host=null"])
    {'name': '新名字', 'phone': '88881234', 'capacity': 8, 'amenities': {'wifi': 'yes'}, 'host': None}
    """
    patch: dict[str, Any] = {}
    for assignment in assignments:
        key, sep, text = assignment.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InvalidValue("assignment", assignment, "write field=value, e.g. opening_hours='Mo-Fr 08:00-18:00'")
        field, _, member = key.partition(".")
        value = field_value(key, text)
        if not member:
            patch[field] = value
            continue
        members = patch.setdefault(field, {})
        if not isinstance(members, dict):
            raise InvalidValue(key, text, f"{field} is already set as a whole by another assignment")
        members[member] = value
    return patch


def field_value(key: str, text: str) -> Any:
    """The value ``text`` stands for in the Station field ``key`` (``phone``, ``capacity``, ``amenities.wifi``).

    Typed by the field, never guessed from its look: text fields keep digits as text, numbers are numbers,
    ``types`` is a comma-separated list, amenities are ``yes``, ``no`` or ``unknown``; ``null`` clears.
    InvalidValue names the field and its valid values when ``key`` or ``text`` does not fit.

    >>> field_value("phone", "88881234"), field_value("area_m2", "12.5"), field_value("amenities.wifi", "unknown")
    ('88881234', 12.5, None)
    >>> field_value("types", "driver_home, outdoor_worker")
    ['driver_home', 'outdoor_worker']
    >>> field_value("capacity", "lots")
    Traceback (most recent call last):
    ...
    stations.errors.InvalidValue: capacity='lots': not a whole number; valid: a whole number such as 8, null
    """
    from stations.model import Station

    field, dot, member = key.partition(".")
    info = Station.model_fields.get(field)
    if info is None:
        raise InvalidValue("field", field, "no station has this field", Station.model_fields)
    annotation = _without_none(info.annotation)
    if not dot:
        return _typed(key, annotation, text)
    if get_origin(annotation) is not dict or "." in member or not member:
        nested = [name for name, f in Station.model_fields.items() if get_origin(_without_none(f.annotation)) is dict]
        raise InvalidValue("field", key, "only these fields take field.NAME=value", [f"{n}.NAME" for n in nested])
    key_type, value_type = get_args(annotation)
    if get_origin(key_type) is Literal and member not in get_args(key_type):
        raise InvalidValue(field, member, f"no such {field} name", get_args(key_type))
    return _typed(key, value_type, text)


def _without_none(annotation: Any) -> Any:
    """``X`` for ``X | None``; other types as they are."""
    if get_origin(annotation) in (Union, UnionType):
        arguments = [a for a in get_args(annotation) if a is not type(None)]
        if len(arguments) == 1:
            return arguments[0]
    return annotation


def _typed(key: str, annotation: Any, text: str) -> Any:
    """``text`` as a value of ``annotation`` (str, int, float, bool, date, Literal, tuple of them...)."""
    if text.strip() == NULL:
        return None
    origin = get_origin(annotation)
    if origin is Literal:
        choices = get_args(annotation)
        if set(choices) == {"yes", "no"}:  # a tri-state amenity: its third state, unknown, is its absence
            if text.strip() == "unknown":
                return None
            choices = (*choices, "unknown")
        if text.strip() not in choices:
            raise InvalidValue(key, text, "not one of the values", [*choices, NULL])
        return text.strip()
    if origin in (tuple, list):
        item_type = get_args(annotation)[0]
        items = [part.strip() for part in _LIST_SEPARATORS.split(text) if part.strip()]
        return [_typed(key, item_type, item) for item in items]
    if annotation is bool:
        if text.strip().lower() not in ("true", "yes", "1", "false", "no", "0"):
            raise InvalidValue(key, text, "not true or false", ["true", "false", NULL])
        return text.strip().lower() in ("true", "yes", "1")
    if annotation is int:
        try:
            return int(text)
        except ValueError:
            raise InvalidValue(key, text, "not a whole number", ["a whole number such as 8", NULL]) from None
    if annotation is float:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not math.isfinite(number):
            raise InvalidValue(key, text, "not a finite number", ["a number such as 12.5", NULL])
        return number
    if annotation is date:
        try:
            return date.fromisoformat(text.strip()).isoformat()
        except ValueError:
            raise InvalidValue(key, text, "not a date", ["YYYY-MM-DD, e.g. 2026-12-03", NULL]) from None
    if get_origin(annotation) is dict:
        raise InvalidValue(key, text, f"set one at a time: {key}.NAME=value")
    return text  # str, and anything else the Station model checks itself


def _print_station(station_id: str, revision: int) -> None:
    err.print(f"{station_id} is now at revision {revision}")


def edit(
    station_id: Annotated[str, typer.Argument(help="station id")],
    assignments: Annotated[list[str], typer.Argument(help="field=value ... (amenities.x=yes; field=null clears)")],
) -> None:
    """Change fields of a station, e.g. `yizhan edit HZ-1 opening_hours="Mo-Fr 08:00-18:00" amenities.wifi=yes`."""
    try:
        _, revision = registry().update(station_id, parse_assignments(assignments), cli_actor())
    except YizhanError as error:
        fail(error)
    _print_station(station_id, revision)


def verify(station_id: Annotated[str, typer.Argument(help="station id")]) -> None:
    """Record that you checked the station and it is as recorded (verified today; no longer stale)."""
    try:
        _, revision = registry().verify(station_id, cli_actor())
    except YizhanError as error:
        fail(error)
    _print_station(station_id, revision)


def delete(
    station_id: Annotated[str, typer.Argument(help="station id")],
    hard: Annotated[bool, typer.Option("--hard", help="remove for good instead of closing (history is kept)")] = False,
) -> None:
    """Close a station for good (riders no longer see it), or remove it with --hard."""
    try:
        changed = registry().delete(station_id, cli_actor(), hard=hard)
    except YizhanError as error:
        fail(error)
    err.print(f"{station_id}: " + ("removed" if hard else "closed") if changed else f"{station_id} was already closed")


def history(
    station_id: Annotated[str, typer.Argument(help="station id")],
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table")] = False,
) -> None:
    """Every change of a station: revision, action, who, when (UTC), each field before → after."""
    try:
        entries = registry().history(station_id)
    except YizhanError as error:
        fail(error)
    if as_json:
        for e in entries:
            typer.echo(json.dumps(e.as_json(), ensure_ascii=False))  # one line each, never wrapped at 80 columns
        return
    table = Table(title=f"history of {station_id}", title_justify="left")
    for column in ("rev", "action", "who", "when (UTC)", "changes"):
        table.add_column(column, overflow="fold")
    for e in entries:
        changes = "\n".join(_change_lines(e.changes))
        row(table, str(e.revision), e.action, e.actor, e.at.strftime("%Y-%m-%d %H:%M:%S"), changes)
    out.print(table)


def _change_lines(changes: dict[str, list[Any]]) -> list[str]:
    """``field: before → after``, one line per changed key of dict fields (amenities, external ids)."""
    from stations.edits import field_changes

    return [f"{key}: {_short(before)} → {_short(after)}" for key, before, after in field_changes(changes)]


def _short(value: Any) -> str:
    text = "—" if value is None else value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


@reports_app.command("list")
def reports_list(
    status: Annotated[str, typer.Option(help="open, resolved, rejected or all")] = "open",
    station: Annotated[str | None, typer.Option(help="only this station")] = None,
) -> None:
    """Riders' reports, newest first."""
    try:
        found = _reports().list(None if status == "all" else status, station)
    except YizhanError as error:
        fail(error)
    table = Table(title=f"{status} reports", title_justify="left")
    for column in ("id", "station", "kind", "message", "filed (UTC)", "status", "resolution"):
        table.add_column(column, overflow="fold")
    for r in found:
        filed = r.created_at.strftime("%Y-%m-%d %H:%M")
        row(table, str(r.id), r.station_id, r.kind, r.message or "", filed, r.status, r.resolution or "")
    out.print(table)


@reports_app.command("file")
def reports_file(
    station_id: Annotated[str, typer.Argument(help="station id")],
    kind: Annotated[str, typer.Option(help=f"one of: {', '.join(KINDS)}")],
    message: Annotated[str | None, typer.Option(help="what is wrong")] = None,
) -> None:
    """File a report as a rider would (e.g. one phoned in)."""
    from stations.reports import client_key

    try:
        filed = _reports().submit(station_id, kind, client_key(cli_actor(), get_settings().secret), message)
    except YizhanError as error:
        fail(error)
    err.print(f"report {filed.id} filed for {station_id}")


@reports_app.command("resolve")
def reports_resolve(
    report_id: Annotated[int, typer.Argument(help="report id")],
    status: Annotated[str, typer.Option(help="resolved or rejected")] = "resolved",
    note: Annotated[str | None, typer.Option(help="what was done")] = None,
) -> None:
    """Close a report as resolved or rejected (fix the station itself with `yizhan edit` / `yizhan delete`)."""
    try:
        done = _reports().resolve(report_id, status, cli_actor(), note)
    except YizhanError as error:
        fail(error)
    err.print(f"report {done.id} {done.status}")
