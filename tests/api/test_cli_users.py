"""``yizhan user``: create (password asked twice or from stdin, never an argument), reset-password, disable, enable,
list; every error one line and exit 1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from api import cli, cli_users
from stations.errors import SignInRefused
from stations.people import People
from stations.settings import get_settings
from stations.store import Store


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'users.sqlite3'}"
    monkeypatch.setenv("YIZHAN_DATABASE_URL", url)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


NAME = "王丽 <b>{{ 7*7 }}</b>"


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli.app, list(args), input=stdin, catch_exceptions=False)


def signs_in(url: str, name: str, password: str) -> bool:
    store = Store(url)
    try:
        People(store, "s").sign_in(name, password, "127.0.0.1")
        return True
    except SignInRefused:
        return False
    finally:
        store.engine.dispose()


def test_create_list_reset_disable_enable(database: str) -> None:
    made = run("user", "create", NAME, "--role", "admin", "--password-stdin", stdin="first pass 1\n")
    assert made.exit_code == 0, made.output
    assert "created admin" in made.output and "first pass 1" not in made.output
    assert signs_in(database, NAME, "first pass 1")
    listed = run("user", "list")
    assert NAME in listed.output and "admin" in listed.output and "active" in listed.output
    assert run("user", "reset-password", NAME, "--password-stdin", stdin="second pass\n").exit_code == 0
    assert not signs_in(database, NAME, "first pass 1")
    assert run("user", "disable", NAME).exit_code == 0
    assert "disabled" in run("user", "list").output
    assert not signs_in(database, NAME, "second pass")
    assert run("user", "enable", NAME).exit_code == 0
    assert signs_in(database, NAME, "second pass")


def test_the_password_is_asked_twice_at_a_terminal(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_users, "at_terminal", lambda: True)
    differ = run("user", "create", "li", stdin="one password\nanother one\n")
    assert differ.exit_code == 1 and "the two passwords differ" in differ.output
    assert "one password" not in differ.output  # no echo
    made = run("user", "create", "li", stdin="one password\none password\n")
    assert made.exit_code == 0 and signs_in(database, "li", "one password")


@pytest.mark.parametrize(
    ("args", "stdin", "says"),
    [
        (("user", "create", "bob"), None, "pipe it in as one line with --password-stdin"),
        (("user", "create", "bob", "--password-stdin"), "", "--password-stdin read no password"),
        (("user", "create", "bob", "--password-stdin"), "short\n", "a password has 8 to 1,024 characters"),
        (("user", "create", "bob", "--role", "boss", "--password-stdin"), "long enough\n", "unknown role"),
        (("user", "create", "tab\there", "--password-stdin"), "long enough\n", "control character U+0009"),
        (("user", "disable", "nobody"), None, "no person"),
        (("user", "reset-password", "nobody", "--password-stdin"), "long enough\n", "no person"),
    ],
)
@pytest.mark.usefixtures("database")
def test_errors_are_one_line_and_exit_1(args: tuple[str, ...], stdin: str | None, says: str) -> None:
    answer = run(*args, stdin=stdin)
    assert answer.exit_code == 1
    lines = answer.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("yizhan: error:") and says in lines[0], answer.output


@pytest.mark.usefixtures("database")
def test_a_taken_name_is_refused() -> None:
    assert run("user", "create", "Zhao", "--password-stdin", stdin="long enough\n").exit_code == 0
    again = run("user", "create", "zhao", "--password-stdin", stdin="long enough\n")
    assert again.exit_code == 1 and "already a person with this name" in again.output
