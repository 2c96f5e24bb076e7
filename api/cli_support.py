"""What every ``yizhan`` command shares: the consoles, the registry of the settings, errors, table rows."""

from __future__ import annotations

import getpass
from typing import NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from api.app import build_registry
from api.settings import get_settings
from stations.errors import YizhanError
from stations.registry import Registry

out = Console()
err = Console(stderr=True)

__all__ = ["Console", "cli_actor", "err", "fail", "out", "registry", "row"]


def registry() -> Registry:
    """The registry the settings (YIZHAN_DATABASE_URL...) point at."""
    return build_registry(get_settings())


def cli_actor() -> str:
    """Who the history records for a change made from this command line."""
    return f"cli:{getpass.getuser()}"


def fail(error: YizhanError) -> NoReturn:
    err.print(Text("error: ", style="bold red") + Text(str(error)))
    raise typer.Exit(1)


def row(table: Table, *cells: str) -> None:
    """Add cells as plain text: names and values from files must never be read as rich markup."""
    table.add_row(*(Text(cell) for cell in cells))
