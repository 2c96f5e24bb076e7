"""People who sign in to the keeper console: accounts with argon2 password hashes, server-side sessions and
sign-in limits.

A person has a name, a role (viewer < editor < admin, as tokens have) and may be disabled. Only an argon2id
hash of the password is kept (argon2-cffi's defaults, RFC 9106's low-memory choice; a hash made with older
parameters is renewed at the next sign-in). Signing in with an unknown name costs the same as with a known
one (a dummy hash is checked), and a refusal never says which part was wrong.

A session is a random 32-byte id, given to the browser in a cookie; only its SHA-256 is stored, so a stolen
database signs no one in. A session ends when left idle (``idle``), at the latest ``absolute`` after sign-in,
at sign-out, and at once when its person is disabled or given a new password. Each session carries its own
CSRF token for the console's forms.

Failed sign-ins are counted in the database, so the limits hold across server processes: per account (a
keyed hash of the name typed, known or not; counted since the account's last success) and per client (the
keyed, daily-changing hash of ``stations.reports.client_key``). An attempt is recorded before its password is
checked, one at a time per account and client (as reports are), so a burst cannot slip past the limit
together. Times come from ``clock`` (tests set it).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from stations.accounts import Account
from stations.errors import InvalidValue, NotFound, RateLimited, SignInRefused
from stations.reports import client_key
from stations.store import ConsoleSessionRow, LoginAttemptRow, PersonRow, Store, as_utc
from stations.vocabulary import ROLES, Role

if TYPE_CHECKING:
    from stations.settings import Settings

MAX_NAME_CHARS = 100
MIN_PASSWORD_CHARS = 8
MAX_PASSWORD_CHARS = 1024
"""Longer passwords are refused (and, at sign-in, fail without hashing): hashing is the costly part."""
HASHES_AT_ONCE = 4
"""Password hashes one process computes at once (argon2 takes 64 MiB and a core's fraction of a second each):
a flood of sign-ins waits its turn instead of exhausting memory."""
TOUCH_EVERY = timedelta(minutes=1)
"""A session's last-seen time is written at most this often (a page's requests do not each write)."""
ATTEMPTS_KEPT = timedelta(days=1)
"""Sign-in attempts older than this (and than the window) are deleted at the next sign-in."""
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
"""Control, format (bidi overrides, zero-width), surrogate, private-use, unassigned and line/paragraph separator
characters: none belongs in a name that the history and every page show."""


@dataclass(frozen=True, slots=True)
class Person:
    """A person's record, never the password hash; times in UTC."""

    id: int
    name: str
    role: Role
    disabled: bool
    created_at: datetime
    password_changed_at: datetime

    @property
    def account(self) -> Account:
        """Who the person is to the service layer (``Account.name`` is what the edit history records)."""
        return Account(self.name, self.role)


@dataclass(frozen=True, slots=True)
class ConsoleSession:
    """A live session: its person, its CSRF token, when it began and was last used (UTC)."""

    person: Person
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new session and the secret id for the browser's cookie (shown to the browser once, stored hashed)."""

    secret: str
    session: ConsoleSession


def session_digest(secret: str) -> str:
    """SHA-256 (hex) of a session id, as the store keeps it."""
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def name_key(name: str) -> str:
    """A name as sign-in compares it: NFKC, case-folded, outer spaces dropped.

    >>> name_key("  Ｗang Li ") == name_key("wang li")
    True
    """
    return unicodedata.normalize("NFKC", name).casefold().strip()


def check_name(name: str) -> str:
    """``name`` tidied (NFC, outer spaces dropped) when it can be a person's name; InvalidValue otherwise.

    Markup and template syntax are allowed (pages show names as text); control and format characters are not.

    >>> check_name(" 王丽 <b>{{ 7*7 }}</b> ")
    '王丽 <b>{{ 7*7 }}</b>'
    """
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue("name", name[:120], "a name must be Unicode text (it holds a lone surrogate)") from None
    tidy = unicodedata.normalize("NFC", name).strip()
    if not tidy or len(tidy) > MAX_NAME_CHARS:
        raise InvalidValue("name", name[:120], f"a name has 1 to {MAX_NAME_CHARS} characters")
    bad = next((c for c in tidy if unicodedata.category(c) in _REFUSED_CATEGORIES), None)
    if bad is not None:
        raise InvalidValue("name", name[:120], f"a name may not hold the control character U+{ord(bad):04X}")
    return tidy


def check_password(password: str) -> str:
    """``password`` when it can be set (8 to 1,024 characters of Unicode text); InvalidValue, never echoing it."""
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise InvalidValue(
            "password", "(hidden)", f"a password has {MIN_PASSWORD_CHARS} to {MAX_PASSWORD_CHARS:,} characters"
        )
    try:
        password.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidValue(
            "password", "(hidden)", "a password must be Unicode text (it holds a lone surrogate)"
        ) from None
    return password


def _role(role: str) -> Role:
    if role not in ROLES:
        raise InvalidValue("role", role, "unknown role", ROLES)
    return role  # type: ignore[return-value]  # checked against ROLES just now


_DUMMY_HASHES: dict[tuple[object, ...], str] = {}
"""The dummy hash for each set of hasher parameters, shared by every ``People`` of the process."""


class People:
    """People, sessions and sign-in attempts in ``store``.

    ``secret`` keys the hashes of names typed and client addresses; ``idle``/``absolute`` end sessions;
    ``per_account``/``per_client`` failures within ``window`` lock further sign-ins out.
    """

    def __init__(
        self,
        store: Store,
        secret: str,
        *,
        idle: timedelta = timedelta(hours=2),
        absolute: timedelta = timedelta(hours=12),
        per_account: int = 5,
        per_client: int = 20,
        window: timedelta = timedelta(minutes=15),
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if per_account < 1 or per_client < 1:
            raise InvalidValue("login_attempts", min(per_account, per_client), "must be at least 1")
        self.store = store
        self.secret = secret
        self.idle, self.absolute, self.window = idle, absolute, window
        self.per_account, self.per_client = per_account, per_client
        self.hasher = hasher or PasswordHasher()
        self._hashing = threading.BoundedSemaphore(HASHES_AT_ONCE)
        self.clock = clock

    @classmethod
    def from_settings(cls, store: Store, settings: Settings) -> People:
        """People in ``store`` with the session and sign-in settings (``YIZHAN_SESSION_*``, ``YIZHAN_LOGIN_*``)."""
        return cls(
            store,
            settings.secret,
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_max_hours),
            per_account=settings.login_attempts_per_account,
            per_client=settings.login_attempts_per_client,
            window=timedelta(minutes=settings.login_window_minutes),
        )

    @property
    def _dummy_hash(self) -> str:
        """A hash no password matches, checked for unknown names so that they take as long as known ones; one per
        hasher's parameters in the process (made once, ~0.5 s: not again for each app a process builds)."""
        hasher = self.hasher
        key = (hasher.time_cost, hasher.memory_cost, hasher.parallelism, hasher.hash_len, hasher.salt_len, hasher.type)
        if key not in _DUMMY_HASHES:
            _DUMMY_HASHES[key] = self._hash(secrets.token_urlsafe(24))
        return _DUMMY_HASHES[key]

    def prepare(self) -> None:
        """Make the dummy hash now (a server at start-up), so that the first unknown name costs no extra hash."""
        _ = self._dummy_hash

    def _hash(self, password: str) -> str:
        with self._hashing:
            return self.hasher.hash(password)

    # ---- people -------------------------------------------------------------------------------------------

    def create(self, name: str, role: str, password: str) -> Person:
        """A new person; InvalidValue for a bad name, role or password, or a name already taken."""
        name, role = check_name(name), _role(role)
        hashed = self._hash(check_password(password))
        now = self.clock()
        with Session(self.store.engine) as session, session.begin():
            key = name_key(name)
            if session.scalar(select(PersonRow.id).where(PersonRow.name_key == key)) is not None:
                raise InvalidValue("name", name, "there is already a person with this name")
            row = PersonRow(
                name=name, name_key=key, role=role, password_hash=hashed, disabled=False, created_at=now,
                password_changed_at=now,
            )  # fmt: skip
            session.add(row)
            session.flush()
            return _person(row)

    def get(self, name: str) -> Person:
        """The person with this name (compared as sign-in does); NotFound otherwise."""
        with Session(self.store.engine) as session:
            row = session.scalar(select(PersonRow).where(PersonRow.name_key == name_key(name)))
            if row is None:
                raise NotFound("person", name)
            return _person(row)

    def list(self) -> list[Person]:
        """Everyone, disabled people too, in the order they were added."""
        with Session(self.store.engine) as session:
            return [_person(r) for r in session.scalars(select(PersonRow).order_by(PersonRow.id))]

    def reset_password(self, name: str, password: str) -> Person:
        """Give the person a new password and end all their sessions; NotFound, InvalidValue."""
        hashed = self._hash(check_password(password))
        return self._change(name, password_hash=hashed, password_changed_at=self.clock())

    def disable(self, name: str) -> Person:
        """Disable the person (sign-in refused) and end all their sessions at once; NotFound."""
        return self._change(name, disabled=True)

    def enable(self, name: str) -> Person:
        """Let a disabled person sign in again; NotFound."""
        return self._change(name, disabled=False)

    def set_role(self, name: str, role: str) -> Person:
        """Change the person's role (their sessions carry the new one at their next request); NotFound."""
        return self._change(name, role=_role(role))

    def _change(self, name: str, **values: object) -> Person:
        with Session(self.store.engine) as session, session.begin():
            row = session.scalar(select(PersonRow).where(PersonRow.name_key == name_key(name)))
            if row is None:
                raise NotFound("person", name)
            for field, value in values.items():
                setattr(row, field, value)
            if "password_hash" in values or values.get("disabled"):
                session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.person_id == row.id))
            session.flush()
            return _person(row)

    # ---- sign-in and sessions ------------------------------------------------------------------------------

    def account_key(self, name: str) -> str:
        """The keyed hash under which failed sign-ins to ``name`` (known or not) are counted."""
        return hmac.new(self.secret.encode(), b"account|" + _utf8(name_key(name)), hashlib.sha256).hexdigest()

    def sign_in(self, name: str, password: str, address: str) -> SignedIn:
        """A new session for the person whose name and password these are, signing in from ``address``.

        RateLimited (with the wait) when the account or the client has too many recent failures; SignInRefused
        for a wrong name or password (never which) or a disabled person.
        """
        now = self.clock()
        account = self.account_key(name)
        client = client_key(address, self.secret, now)
        attempt = self._count_attempt(account, client, now)
        with Session(self.store.engine) as session:
            row = session.scalar(select(PersonRow).where(PersonRow.name_key == name_key(name)))
            stored = row.password_hash if row is not None else self._dummy_hash
            matches = self._verify(stored, password) and row is not None
            person_id = row.id if row is not None else None
        if not matches or row is None:
            raise SignInRefused()
        if row.disabled:
            raise SignInRefused(disabled=True)
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(32)
        with Session(self.store.engine) as session, session.begin():
            session.execute(update(LoginAttemptRow).where(LoginAttemptRow.id == attempt).values(succeeded=True))
            person = session.get(PersonRow, person_id)
            if person is None or person.disabled:  # removed or disabled meanwhile
                raise SignInRefused(disabled=person is not None)
            if self.hasher.check_needs_rehash(person.password_hash):
                person.password_hash = self._hash(password)
            session.add(
                ConsoleSessionRow(
                    id_sha256=session_digest(secret), person_id=person.id, csrf_token=csrf, created_at=now,
                    last_seen_at=now,
                )
            )  # fmt: skip
            self._forget_old(session, now)
            session.flush()
            return SignedIn(secret, ConsoleSession(_person(person), csrf, now, now))

    def _verify(self, stored: str, password: str) -> bool:
        if len(password) > MAX_PASSWORD_CHARS:
            return False
        try:
            with self._hashing:
                return self.hasher.verify(stored, password.encode("utf-8", "surrogatepass"))
        except (VerificationError, InvalidHashError):
            return False

    def _count_attempt(self, account: str, client: str, now: datetime) -> int:
        """Record a failed attempt (made good on success) and return its id; RateLimited, recording nothing,
        when the account or the client is over its limit."""
        window_start = now - self.window
        with Session(self.store.engine) as session, session.begin():
            _queue(session, account, client)
            row = LoginAttemptRow(account=account, client=client, at=now, succeeded=False)
            session.add(row)
            session.flush()  # SQLite: the first write takes the database's lock until commit
            last_success = session.scalar(  # an account's count starts again after each success
                select(func.max(LoginAttemptRow.id)).where(
                    LoginAttemptRow.account == account, LoginAttemptRow.succeeded.is_(True)
                )
            )
            for key_column, after_id, limit in (
                (LoginAttemptRow.account == account, last_success or 0, self.per_account),
                (LoginAttemptRow.client == client, 0, self.per_client),
            ):
                failures = session.scalars(
                    select(LoginAttemptRow.at)
                    .where(
                        key_column,
                        LoginAttemptRow.succeeded.is_(False),
                        LoginAttemptRow.at > window_start,
                        LoginAttemptRow.id > after_id,
                        LoginAttemptRow.id != row.id,
                    )
                    .order_by(LoginAttemptRow.at)
                ).all()
                if len(failures) >= limit:  # raising rolls this attempt back
                    wait = as_utc(failures[len(failures) - limit]) + self.window - now
                    raise RateLimited(
                        f"too many failed sign-ins; try again in {_minutes(wait)} minute(s)",
                        max(1, math.ceil(wait.total_seconds())),
                    )
            return row.id

    def _forget_old(self, session: Session, now: datetime) -> None:
        """Delete attempts nobody counts any more and sessions past their expiry."""
        session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.at < now - max(self.window, ATTEMPTS_KEPT)))
        session.execute(
            delete(ConsoleSessionRow).where(
                or_(
                    ConsoleSessionRow.last_seen_at < now - self.idle,
                    ConsoleSessionRow.created_at < now - self.absolute,
                )
            )
        )

    def session(self, secret: str | None) -> ConsoleSession | None:
        """The live session with this id (its last use noted), or None: unknown, expired (then deleted), or its
        person disabled."""
        if not secret or len(secret) > 200:
            return None
        now = self.clock()
        digest = session_digest(secret)
        with Session(self.store.engine) as session, session.begin():
            found = session.execute(
                select(ConsoleSessionRow, PersonRow)
                .join(PersonRow, PersonRow.id == ConsoleSessionRow.person_id)
                .where(ConsoleSessionRow.id_sha256 == digest)
            ).first()
            if found is None:
                return None
            row, person = found
            created, seen = as_utc(row.created_at), as_utc(row.last_seen_at)
            if person.disabled or now >= seen + self.idle or now >= created + self.absolute:
                session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id_sha256 == digest))
                return None
            if now - seen >= TOUCH_EVERY:
                row.last_seen_at = seen = now
            return ConsoleSession(_person(person), row.csrf_token, created, seen)

    def sign_out(self, secret: str | None) -> None:
        """End the session with this id (nothing when there is none)."""
        if not secret:
            return
        with Session(self.store.engine) as session, session.begin():
            session.execute(delete(ConsoleSessionRow).where(ConsoleSessionRow.id_sha256 == session_digest(secret)))


def csrf_matches(expected: str, given: str | None) -> bool:
    """Whether ``given`` is the session's CSRF token, compared in constant time.

    >>> csrf_matches("abc", "abc"), csrf_matches("abc", "abd"), csrf_matches("abc", None)
    (True, False, False)
    """
    return given is not None and hmac.compare_digest(_utf8(expected), _utf8(given))


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _minutes(wait: timedelta) -> int:
    return max(1, -(-int(wait.total_seconds()) // 60))


def _queue(session: Session, *keys: str) -> None:
    """Make concurrent attempts on one account or from one client take turns (see ``stations.reports``):
    PostgreSQL advisory locks in a fixed order; SQLite's first write locks the database until commit."""
    if session.get_bind().dialect.name == "postgresql":
        for key in sorted(set(keys)):
            number = int.from_bytes(hashlib.sha256(b"login|" + key.encode()).digest()[:8], "big", signed=True)
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": number})


def _person(row: PersonRow) -> Person:
    return Person(
        row.id, row.name, row.role, bool(row.disabled), as_utc(row.created_at),  # type: ignore[arg-type]
        as_utc(row.password_changed_at),
    )  # fmt: skip
