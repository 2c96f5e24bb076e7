"""API tokens and roles: viewer < editor < admin.

A token is shown once when created; only its SHA-256 is stored, so a stolen database yields no usable
token. Tokens expire and can be revoked. A bootstrap admin token may also come from the settings
(``YIZHAN_ADMIN_TOKEN``), compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from stations.errors import Forbidden, InvalidValue, NotFound, Unauthorized
from stations.store import Store, TokenRow, as_utc
from stations.vocabulary import ROLES, Role

PREFIX = "yzt_"
MAX_EXPIRES_IN_DAYS = 36_500
"""A token may be made to last up to a hundred years (or for ever, with no expiry)."""


@dataclass(frozen=True, slots=True)
class Account:
    """Who is asking: the token's name (recorded in the history) and role."""

    name: str
    role: Role

    def require(self, role: Role) -> Account:
        """The account itself if its role is at least ``role``; Forbidden otherwise."""
        if ROLES.index(self.role) < ROLES.index(role):
            raise Forbidden(f"this needs the {role} role; token {self.name!r} is a {self.role}")
        return self


@dataclass(frozen=True, slots=True)
class TokenInfo:
    """A token's record, never its secret: name, role, and when it was created, expires and was revoked (UTC)."""

    id: int
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    def state(self, now: datetime) -> str:
        """``active``, ``revoked`` or ``expired`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at is not None and self.expires_at <= now else "active"


def digest(secret: str) -> str:
    """SHA-256 of a token's secret (hex), as the store keeps it."""
    return hashlib.sha256(secret.encode()).hexdigest()


class Accounts:
    """Tokens kept in ``store``; ``admin_token`` (optional) is an admin token from the settings."""

    def __init__(self, store: Store, admin_token: str | None = None) -> None:
        self.store = store
        self.admin_token = admin_token or None

    def create(self, name: str, role: str, expires_in_days: float | None = 365) -> tuple[str, TokenInfo]:
        """A new token's secret (shown once) and its record; ``expires_in_days=None`` never expires."""
        if role not in ROLES:
            raise InvalidValue("role", role, "unknown role", ROLES)
        if not name.strip() or len(name) > 200:
            raise InvalidValue("name", name, "give the token a name of 1 to 200 characters (who or what uses it)")
        if expires_in_days is not None and not 0 < expires_in_days <= MAX_EXPIRES_IN_DAYS:
            raise InvalidValue(
                "expires_in_days",
                expires_in_days,
                f"must be a positive number of days, at most {MAX_EXPIRES_IN_DAYS:,} (or none: never expires)",
            )
        secret = PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        expires = now + timedelta(days=expires_in_days) if expires_in_days is not None else None
        row = TokenRow(name=name.strip(), role=role, secret_sha256=digest(secret), created_at=now, expires_at=expires)
        with Session(self.store.engine) as session, session.begin():
            session.add(row)
            session.flush()
            info = _info(row)
        return secret, info

    def authenticate(self, secret: str | None) -> Account:
        """The account of a bearer token; Unauthorized saying why when it is missing or not usable."""
        if not secret:
            raise Unauthorized("this needs a token: send 'Authorization: Bearer <token>'")
        if self.admin_token is not None and hmac.compare_digest(secret.encode(), self.admin_token.encode()):
            return Account("admin (YIZHAN_ADMIN_TOKEN)", "admin")
        with Session(self.store.engine) as session:
            row = session.scalar(select(TokenRow).where(TokenRow.secret_sha256 == digest(secret)))
            info = _info(row) if row is not None else None
        if info is None:
            raise Unauthorized("unknown token")
        state = info.state(datetime.now(UTC))
        if state != "active":
            raise Unauthorized(f"token {info.name!r} is {state}")
        return Account(info.name, info.role)  # type: ignore[arg-type]  # a stored role: create() checked it

    def revoke(self, key: str) -> list[TokenInfo]:
        """Revoke the active token with this id, or else the active tokens with this name; NotFound if there is
        none. A key of digits is an id when a token has that id (revoking token 3 never revokes one *named* "3")."""
        now = datetime.now(UTC)
        active = TokenRow.revoked_at.is_(None)
        with Session(self.store.engine) as session, session.begin():
            by_id = key.isdigit() and session.get(TokenRow, int(key)) is not None
            match = TokenRow.id == int(key) if by_id else TokenRow.name == key
            rows = session.scalars(select(TokenRow).where(match, active)).all()
            if not rows:
                raise NotFound("active token", key)
            session.execute(update(TokenRow).where(TokenRow.id.in_([r.id for r in rows])).values(revoked_at=now))
            session.flush()
            return [_info(r) for r in rows]

    def list(self) -> list[TokenInfo]:
        """Every token's record, revoked and expired ones too, oldest first."""
        with Session(self.store.engine) as session:
            return [_info(r) for r in session.scalars(select(TokenRow).order_by(TokenRow.id))]


def _info(row: TokenRow) -> TokenInfo:
    return TokenInfo(
        row.id, row.name, row.role, as_utc(row.created_at), _maybe_utc(row.expires_at), _maybe_utc(row.revoked_at)
    )


def _maybe_utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else as_utc(moment)
