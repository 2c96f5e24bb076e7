"""What every ``yizhan`` command shares: the consoles, the registry of the settings, errors, table rows.

Errors end here, in one place: :class:`YizhanGroup` (the class of the ``yizhan`` app) turns whatever a command
raises into one line on stderr, ``yizhan: error: <what and why>``, and an exit code — 1 for a value, file or
database that cannot be used, 2 for a usage error (as click does) — never a traceback. An error nobody expected is
one line too, with a hint to set ``YIZHAN_DEBUG=1`` for the traceback.
"""

from __future__ import annotations

import getpass
import os
import re
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text
from typer.core import TyperGroup

from geo.errors import GeoError
from stations.errors import ImportRejected, YizhanError, domain_error

if TYPE_CHECKING:
    from stations.registry import Registry
    from stations.service import Service
    from stations.settings import Settings

out = Console()
err = Console(stderr=True)

__all__ = [
    "CLICK_ERRORS",
    "Console",
    "YizhanGroup",
    "check_database",
    "cli_actor",
    "describe_error",
    "err",
    "fail",
    "is_help_request",
    "out",
    "registry",
    "report_error",
    "row",
]

PROGRAM = "yizhan"
DEBUG_VARIABLE = "YIZHAN_DEBUG"
"""Set (to anything but 0/false/no) for the traceback of database, file and unexpected errors."""
DATABASE_URL_EXAMPLES = "sqlite:///yizhan.sqlite3 or postgresql://user:password@host:5432/yizhan"


def get_settings() -> Settings:
    """The settings of the environment (``stations.settings.get_settings``, read once), loaded on first use."""
    from stations.settings import get_settings as read

    return read()


_services: dict[int, Service] = {}


def service() -> Service:
    """The service of the settings (YIZHAN_DATABASE_URL...), opened once per settings (once per command run)."""
    from stations.service import Service

    settings = get_settings()
    found = _services.get(id(settings))
    if found is None or found.settings is not settings:
        _services.clear()
        found = _services[id(settings)] = Service(settings)
    return found


def registry() -> Registry:
    """The registry the settings (YIZHAN_DATABASE_URL...) point at."""
    return service().registry


def check_database() -> None:
    """Open the database the settings point at, creating or upgrading its schema, then close it.

    ``yizhan serve`` calls it first, so that a bad URL, an unreachable server or a schema newer than this code
    is one line before uvicorn starts instead of a traceback in the log of every worker.
    """
    from stations.store import Store

    Store(get_settings().database_url).engine.dispose()


def cli_actor() -> str:
    """Who the history records for a change made from this command line."""
    return f"cli:{getpass.getuser()}"


def fail(error: YizhanError | GeoError) -> NoReturn:
    """Print ``error`` as ``yizhan: error: ...`` on stderr and exit with status 1 (a geo error as the domain
    error ``stations.errors.domain_error`` maps it to); for commands that also run outside the ``yizhan`` group
    (``python -m api.cli_batch``)."""
    raise typer.Exit(report_error(error))


def row(table: Table, *cells: str) -> None:
    """Add cells as plain text: names and values from files must never be read as rich markup."""
    table.add_row(*(Text(cell) for cell in cells))


try:  # typer ≥ 0.26 carries its own click; older ones raise click's exceptions
    from click import ClickException as _ClickException

    CLICK_ERRORS: tuple[type[typer.TyperException | _ClickException], ...] = (typer.TyperException, _ClickException)
except ImportError:  # pragma: no cover - click is not installed beside a typer that no longer needs it
    CLICK_ERRORS = (typer.TyperException,)
"""Usage errors (exit 2), bad parameters, unreadable ``typer.FileText``...: each has exit_code and format_message."""


def is_help_request(error: BaseException) -> bool:
    """A group called without a command: typer printed its help already (matched by name, as typer does)."""
    return type(error).__name__ == "NoArgsIsHelpError"


class YizhanGroup(TyperGroup):
    """The ``yizhan`` app's group: every error of every command (sub-groups included) ends as one line.

    Exits (``typer.Exit``), aborts (Ctrl-C), ``--help`` and the help a group without a command prints pass
    through untouched; so does a broken pipe (``yizhan export | head``), which click ends quietly.
    """

    # typer hands its typer.Context; the base class names the Context of typer's private copy of click
    def invoke(self, ctx: typer.Context) -> Any:  # type: ignore[override]
        """Run the command, its errors ending as one line each (see the class docstring)."""
        _services.clear()  # each run opens the database afresh (in-process callers run several)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, BrokenPipeError):
            raise
        except Exception as error:
            expected = isinstance(error, CLICK_ERRORS) or domain_error(error) is not None
            if is_help_request(error) or (_debug() and not expected):
                raise
            raise typer.Exit(report_error(error)) from None


def report_error(error: BaseException) -> int:
    """Print ``error`` on stderr as ``yizhan: error: <one line>`` (and maybe a hint line); its exit status.

    The line is written as is: no rich markup (file names may hold brackets) and no wrapping at the console
    width, so it stays one line whatever the terminal.
    """
    status, message, hint = describe_error(error)
    typer.echo(typer.style(f"{PROGRAM}: error:", fg="red", bold=True) + " " + message, err=True)
    if hint:
        typer.echo(hint, err=True)
    return status


def describe_error(error: BaseException) -> tuple[int, str, str | None]:
    """Exit status, message and optional hint for ``error``; the message is one line, passwords masked.

    >>> describe_error(IsADirectoryError(21, "Is a directory", "maps"))
    (1, 'maps: Is a directory', None)
    >>> from stations.errors import NotFound
    >>> describe_error(NotFound("station", "HZ-9"))
    (1, "no station with id 'HZ-9'", None)
    >>> from geo.errors import DistrictFileError
    >>> describe_error(DistrictFileError("d.geojson: no district features"))
    (1, 'd.geojson: no district features', None)
    """
    error = domain_error(error) or error  # geo's errors as the domain errors they stand for (as the API does)
    if isinstance(error, CLICK_ERRORS):
        status: int = getattr(error, "exit_code", 1)
        context = getattr(error, "ctx", None)
        hint = f"see '{context.command_path} --help'" if status == 2 and context is not None else None
        return status, _one_line(error.format_message()), hint
    if isinstance(error, ImportRejected):
        return 1, str(error), None  # the bad rows, one per line: the report is the point
    if isinstance(error, YizhanError):
        return 1, _one_line(str(error)), None
    import pydantic
    from sqlalchemy.exc import ArgumentError, DBAPIError

    from stations.migrations import SchemaTooNew

    url = _database_url()
    if isinstance(error, SchemaTooNew):
        return 1, _masked(f"database {_shown_url(url)}: {error}", url), None
    if isinstance(error, ArgumentError):  # NoSuchModuleError (unknown dialect) and unparsable URLs included
        reason = str(error.args[0]) if error.args else type(error).__name__
        return (
            1,
            _masked(f"database URL {_shown_url(url)} is not usable: {reason}", url),
            (f"set YIZHAN_DATABASE_URL to e.g. {DATABASE_URL_EXAMPLES}"),
        )
    if isinstance(error, (DBAPIError, *_driver_errors())):  # cannot connect, read-only, corrupted...
        orig = getattr(error, "orig", None) if isinstance(error, DBAPIError) else error
        reason = str(orig if orig is not None else error)
        message = f"cannot use database {_shown_url(url)}: {reason}{_sqlite_folder_hint(url)}"
        return 1, _masked(message, url), None
    if isinstance(error, OSError) and error.strerror:
        path = error.filename if error.filename is not None else None
        where = "" if path is None else f"{os.fsdecode(path)}: "
        if path is not None and error.filename2 is not None:
            where = f"{os.fsdecode(path)} → {os.fsdecode(error.filename2)}: "
        return 1, _one_line(f"{where}{error.strerror}"), None
    if isinstance(error, pydantic.ValidationError):
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or '*'}={e.get('input')!r}: {e['msg']}" for e in error.errors()
        )
        prefix = "invalid setting (YIZHAN_...)" if error.title == "Settings" else f"invalid {error.title}"
        return 1, _masked(f"{prefix}: {problems}", url), None
    reason = _one_line(str(error)) or "(no message)"
    return (
        1,
        _masked(f"unexpected {type(error).__name__}: {reason}", url),
        (f"this is a bug or an unforeseen situation; set {DEBUG_VARIABLE}=1 to see the traceback"),
    )


def _driver_errors() -> tuple[type[Exception], ...]:
    """The database drivers' own errors, for those raised where SQLAlchemy does not wrap them (connect hooks)."""
    errors: list[type[Exception]] = [sqlite3.Error]
    psycopg = sys.modules.get("psycopg")  # not imported: no psycopg error can have happened
    if psycopg is not None:
        errors.append(psycopg.Error)
    return tuple(errors)


def _one_line(text: str) -> str:
    """Runs of white space (line breaks included) as one space."""
    return " ".join(text.split())


def _debug() -> bool:
    # read directly, not through Settings: the error being reported may be that the settings cannot be read
    return os.environ.get(DEBUG_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def _database_url() -> str | None:
    """The database URL of the settings; the environment's when the settings themselves cannot be read."""
    try:
        return get_settings().database_url
    except Exception:  # the settings are what is broken: report the error at hand, not this one
        return os.environ.get("YIZHAN_DATABASE_URL")


def _password(url: str | None) -> str | None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url:
        return None
    try:
        password = make_url(url).password
    except ArgumentError:
        match = re.search(r"://[^/@:]*:([^/@]*)@", url)
        password = match.group(1) if match else None
    return str(password) if password else None


def _shown_url(url: str | None) -> str:
    """``url`` with its password as ``***``; ``(none)`` when there is none."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if not url:
        return "(none)"
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return url


def _masked(text: str, url: str | None) -> str:
    """``text`` on one line, without the password of ``url`` anywhere in it (drivers may quote the DSN)."""
    text = _one_line(text)
    password = _password(url)
    return text.replace(password, "***") if password else text


def _sqlite_folder_hint(url: str | None) -> str:
    """For a SQLite file whose folder does not exist: says so (SQLite only says "unable to open")."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url or "")
    except ArgumentError:
        return ""
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return ""
    folder = Path(parsed.database).parent
    return "" if folder.is_dir() else f" (folder {folder} does not exist)"
