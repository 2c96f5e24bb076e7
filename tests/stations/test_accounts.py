"""API tokens (``stations.accounts``): shown once and stored only as a SHA-256, roles in order, revocation and
expiry, the bootstrap admin token. Token state is read back from the store, so that part runs on both stores.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from stations.accounts import ROLES, Account, Accounts
from stations.errors import Forbidden, InvalidValue, NotFound, Unauthorized
from stations.store import Store, TokenRow


@pytest.fixture
def accounts(database_url: str) -> Accounts:
    return Accounts(Store(database_url), admin_token="bootstrap-secret")


@pytest.fixture
def sqlite_accounts(tmp_path: Path) -> Accounts:
    return Accounts(Store(f"sqlite:///{tmp_path / 'accounts.sqlite3'}"))


def test_a_token_is_stored_only_as_its_sha256(sqlite_accounts: Accounts) -> None:
    secret, info = sqlite_accounts.create("区总工会 王编辑", "editor")
    assert secret.startswith("yzt_") and len(secret) > 40
    assert (info.name, info.role, info.revoked_at) == ("区总工会 王编辑", "editor", None)
    assert info.expires_at is not None and info.expires_at - info.created_at == timedelta(days=365)
    with Session(sqlite_accounts.store.engine) as session:
        stored = session.scalar(select(TokenRow.secret_sha256).where(TokenRow.id == info.id))
        dump = "\n".join(session.connection().connection.driver_connection.iterdump())  # the whole database
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in dump and secret[4:] not in dump
    assert sqlite_accounts.authenticate(secret) == Account("区总工会 王编辑", "editor")
    other, _ = sqlite_accounts.create("区总工会 王编辑", "editor")
    assert other != secret  # a second token of the same name is a different secret


def test_revoked_and_expired_tokens_are_refused_saying_why(accounts: Accounts) -> None:
    editor, info = accounts.create("editor", "editor")
    soon, soon_info = accounts.create("short-lived", "viewer", expires_in_days=1)
    forever, _ = accounts.create("forever", "admin", expires_in_days=None)
    assert accounts.authenticate(soon).role == "viewer" and accounts.authenticate(forever).role == "admin"
    with Session(accounts.store.engine) as session, session.begin():
        past = datetime.now(UTC) - timedelta(microseconds=1)
        session.execute(update(TokenRow).where(TokenRow.id == soon_info.id).values(expires_at=past))
    with pytest.raises(Unauthorized, match="expired"):
        accounts.authenticate(soon)
    assert [t.id for t in accounts.revoke(str(info.id))] == [info.id]
    with pytest.raises(Unauthorized, match="revoked"):
        accounts.authenticate(editor)
    with pytest.raises(NotFound):
        accounts.revoke(str(info.id))  # no active token left with that id
    states = {t.name: t.state(datetime.now(UTC)) for t in accounts.list()}
    assert states == {"editor": "revoked", "short-lived": "expired", "forever": "active"}


def test_revoking_by_name_revokes_every_active_token_of_that_name(sqlite_accounts: Accounts) -> None:
    first, _ = sqlite_accounts.create("shared laptop", "editor")
    second, _ = sqlite_accounts.create("shared laptop", "viewer")
    keep, _ = sqlite_accounts.create("someone else", "editor")
    assert len(sqlite_accounts.revoke("shared laptop")) == 2
    for secret in (first, second):
        with pytest.raises(Unauthorized):
            sqlite_accounts.authenticate(secret)
    assert sqlite_accounts.authenticate(keep).name == "someone else"
    with pytest.raises(NotFound):
        sqlite_accounts.revoke("nobody")


@pytest.mark.parametrize(
    "secret", [None, "", "yzt_unknown", "bootstrap-secre", "bootstrap-secret ", "BOOTSTRAP-SECRET"]
)
def test_unusable_secrets_are_unauthorized(accounts: Accounts, secret: str | None) -> None:
    with pytest.raises(Unauthorized):
        accounts.authenticate(secret)


def test_the_bootstrap_admin_token_is_an_admin_only_when_set(sqlite_accounts: Accounts) -> None:
    assert Accounts(sqlite_accounts.store, "bootstrap-secret").authenticate("bootstrap-secret").role == "admin"
    for unset in (None, ""):
        with pytest.raises(Unauthorized):
            Accounts(sqlite_accounts.store, unset).authenticate("")


def test_roles_are_ordered_viewer_editor_admin() -> None:
    for have in ROLES:
        for need in ROLES:
            account = Account("x", have)  # type: ignore[arg-type]
            if ROLES.index(have) >= ROLES.index(need):
                assert account.require(need) is account  # type: ignore[arg-type]
            else:
                with pytest.raises(Forbidden, match=need):
                    account.require(need)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "role", "days", "field"),
    [
        ("x", "owner", 30, "role"),
        ("   ", "editor", 30, "name"),
        ("x" * 201, "editor", 30, "name"),
        ("x", "editor", 0, "expires_in_days"),
        ("x", "editor", -1, "expires_in_days"),
        ("x", "editor", float("nan"), "expires_in_days"),
        ("x", "editor", float("inf"), "expires_in_days"),
        ("x", "editor", 10**9, "expires_in_days"),
    ],
)
def test_bad_tokens_are_refused_naming_the_field(
    sqlite_accounts: Accounts, name: str, role: str, days: float, field: str
) -> None:
    with pytest.raises(InvalidValue) as invalid:
        sqlite_accounts.create(name, role, expires_in_days=days)
    assert invalid.value.field == field
    with Session(sqlite_accounts.store.engine) as session:
        assert session.execute(text("SELECT count(*) FROM api_tokens")).scalar() == 0


def test_a_key_of_digits_is_the_token_with_that_id_before_a_token_named_so(sqlite_accounts: Accounts) -> None:
    alpha, first = sqlite_accounts.create("alpha", "editor")
    named_one, _ = sqlite_accounts.create("1", "editor")
    _, third = sqlite_accounts.create("7", "viewer")
    assert first.id == 1 and third.id != 7
    assert [t.id for t in sqlite_accounts.revoke(str(first.id))] == [first.id]  # id 1: not the token named "1"
    assert sqlite_accounts.authenticate(named_one).name == "1"
    assert [t.id for t in sqlite_accounts.revoke("7")] == [third.id]  # no token has id 7: the one named "7"
    with pytest.raises(Unauthorized, match="revoked"):
        sqlite_accounts.authenticate(alpha)
