r"""``yizhan user``: the people who sign in to the keeper console — create, reset-password, disable, enable, list.

Passwords are never given on the command line (where ``ps`` and the shell's history would show them): they
are asked for twice at a terminal without echo, or read as one line from standard input with
``--password-stdin`` (``printf '%s\\n' "$PASSWORD" | yizhan user create wang --password-stdin``). Run on the
server, the commands act on the database directly (``YIZHAN_DATABASE_URL``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from api.cli_support import err, fail, get_settings, out, row
from stations.errors import InvalidValue, YizhanError
from stations.vocabulary import ROLES

if TYPE_CHECKING:
    from stations.people import People

user_app = typer.Typer(
    help="People who sign in to the keeper console (/console): create, reset-password, disable, enable, list.",
    no_args_is_help=True,
)

PasswordStdin = Annotated[
    bool,
    typer.Option("--password-stdin", help="read the password as one line from standard input (no prompt)"),
]


def register(app: typer.Typer) -> None:
    """Add ``yizhan user`` to the ``yizhan`` app."""
    app.add_typer(user_app, name="user")


def _people() -> People:
    from stations.people import People
    from stations.store import Store

    settings = get_settings()
    return People.from_settings(Store(settings.database_url), settings)


def at_terminal() -> bool:
    """Whether standard input is a terminal, where a password can be asked for without echo."""
    return sys.stdin.isatty()


def _password(from_stdin: bool) -> str:
    """The new password: one line of standard input, or asked twice at a terminal; one-line errors otherwise."""
    if from_stdin:
        line = sys.stdin.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
        if not password:
            raise InvalidValue("password", "(empty)", "--password-stdin read no password: give it as one line")
        return password
    if not at_terminal():
        raise InvalidValue(
            "password", "(not asked)", "no terminal to ask for it: pipe it in as one line with --password-stdin"
        )
    first = typer.prompt("password", hide_input=True)
    if typer.prompt("password again", hide_input=True) != first:
        raise InvalidValue("password", "(hidden)", "the two passwords differ; nothing was changed")
    return str(first)


@user_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="the name the person signs in with (shown in the edit history)")],
    role: Annotated[str, typer.Option(help=f"one of: {', '.join(ROLES)}")] = "editor",
    password_stdin: PasswordStdin = False,
) -> None:
    """Create a person who can sign in to /console with a password (asked for, never on the command line)."""
    try:
        people = _people()
        if role not in ROLES:
            raise InvalidValue("role", role, "unknown role", ROLES)
        person = people.create(name, role, _password(password_stdin))
    except YizhanError as error:
        fail(error)
    err.print(f"created {person.role} {person.name!r}: they can sign in at /console/login", highlight=False)


@user_app.command("reset-password")
def reset_password(
    name: Annotated[str, typer.Argument(help="whose password")],
    password_stdin: PasswordStdin = False,
) -> None:
    """Give a person a new password; their open sessions end."""
    try:
        people = _people()
        people.get(name)  # an unknown name fails before the password is asked for
        person = people.reset_password(name, _password(password_stdin))
    except YizhanError as error:
        fail(error)
    err.print(f"new password set for {person.name!r}; their sessions have ended", highlight=False)


@user_app.command("disable")
def disable(name: Annotated[str, typer.Argument(help="who")]) -> None:
    """Stop a person signing in; their open sessions end at once."""
    try:
        person = _people().disable(name)
    except YizhanError as error:
        fail(error)
    err.print(f"disabled {person.name!r}; their sessions have ended", highlight=False)


@user_app.command("enable")
def enable(name: Annotated[str, typer.Argument(help="who")]) -> None:
    """Let a disabled person sign in again."""
    try:
        person = _people().enable(name)
    except YizhanError as error:
        fail(error)
    err.print(f"enabled {person.name!r}", highlight=False)


@user_app.command("list")
def list_people() -> None:
    """Everyone who may sign in (never a password or its hash): name, role, state, created, password changed."""
    table = Table(title="console users", title_justify="left")
    for column in ("name", "role", "state", "created", "password changed"):
        table.add_column(column, overflow="fold")
    for person in _people().list():
        row(
            table,
            person.name,
            person.role,
            "disabled" if person.disabled else "active",
            person.created_at.date().isoformat(),
            person.password_changed_at.date().isoformat(),
        )
    out.print(table)
