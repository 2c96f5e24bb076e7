"""Every domain error Yizhan raises, in one place.

Each error names the bad value and, where there is a fixed set, the valid ones; ``api/errors.py`` maps
them to HTTP statuses and the CLI to exit codes. The errors ``geo`` raises about its input (``geo.errors``:
geo knows nothing of this module) become domain errors in one place, ``domain_error``, which both doors call.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from geo.errors import DistrictFileError, GeoError, GridTooLarge, TargetUnreachable


class YizhanError(Exception):
    """Base of all domain errors; ``code`` is the machine-readable name used in API responses."""

    code = "error"

    def detail(self) -> Any:
        """The ``detail`` of the JSON error body: the message, unless a subclass has figures to add."""
        return str(self)


class InvalidValue(YizhanError):
    """A field has a value that cannot be used."""

    code = "invalid_value"

    def __init__(self, field: str, value: object, reason: str, valid: Iterable[str] | None = None) -> None:
        self.field, self.value, self.reason = field, value, reason
        self.valid = list(valid) if valid is not None else None
        hint = f"; valid: {', '.join(self.valid)}" if self.valid else ""
        super().__init__(f"{field}={value!r}: {reason}{hint}")

    def detail(self) -> list[dict[str, Any]]:
        """A list of one ``{field, value, reason[, valid]}``, the shape request validation errors have too."""
        detail = {"field": self.field, "value": jsonable(self.value), "reason": self.reason}
        if self.valid:
            detail["valid"] = self.valid
        return [detail]


class HoursNotUnderstood(InvalidValue, ValueError):
    """Opening hours that are neither OSM syntax nor words ``stations.hours_words`` reads: names the ``part`` not
    understood and why, in Chinese (``zh``) and English (``en``). A ValueError too, so that the model's field
    validator reports it as the field's problem (the importers' row error)."""

    def __init__(self, text: str, part: str, zh: str, en: str) -> None:
        self.part, self.zh, self.en = part, zh, en
        reason = f"开放时间中“{part}”无法识别：{zh}（not understood in the opening hours: “{part}”: {en}）"
        super().__init__("opening_hours", text, reason)
        self.args = (reason,)


class InvalidFields(InvalidValue):
    """Several fields of one record have values that cannot be used; ``detail`` lists each."""

    def __init__(self, problems: list[tuple[str, object, str]]) -> None:
        super().__init__(*problems[0])
        self.problems = problems
        self.args = ("; ".join(f"{field}={value!r}: {reason}" for field, value, reason in problems),)

    def detail(self) -> list[dict[str, Any]]:
        """One ``field``, ``value``, ``reason`` entry per problem."""
        return [{"field": f, "value": jsonable(v), "reason": r} for f, v, r in self.problems]


class NotFound(YizhanError):
    """A thing looked up by key does not exist."""

    code = "not_found"

    def __init__(self, what: str, key: str) -> None:
        self.what, self.key = what, key
        super().__init__(f"no {what} with id {key!r}")


class Unauthorized(YizhanError):
    """No token, or one that is unknown, revoked or expired (HTTP 401)."""

    code = "unauthorized"


class SignInRefused(Unauthorized):
    """A keeper console sign-in refused: a wrong name or password (never saying which), or, with the right
    password, a ``disabled`` person (HTTP 401)."""

    code = "sign_in_refused"

    def __init__(self, disabled: bool = False) -> None:
        self.disabled = disabled
        super().__init__("this account is disabled" if disabled else "wrong name or password")


class Forbidden(YizhanError):
    """A valid token whose role is too low for the action (HTTP 403)."""

    code = "forbidden"


class Conflict(YizhanError):
    """The write cannot apply to the registry as it is, e.g. creating an id that exists (HTTP 409)."""

    code = "conflict"


class RegistryChanged(Conflict):
    """Something was written while a batch was being prepared from the registry as it was (HTTP 409)."""


class StaleRevision(YizhanError):
    """A write based on an old revision of a station: nothing was changed (HTTP 412)."""

    code = "stale_revision"

    def __init__(self, station_id: str, expected: int, current: int | None) -> None:
        self.station_id, self.expected, self.current = station_id, expected, current
        now = "it no longer exists" if current is None else f"it is now at revision {current}"
        super().__init__(
            f"station {station_id!r} changed since revision {expected} was read ({now}); reload it and retry"
        )

    def detail(self) -> dict[str, Any]:
        """The message with the station and the revisions expected and current (None: deleted)."""
        return {"message": str(self), "station": self.station_id, "expected": self.expected, "current": self.current}


class RevisionRequired(YizhanError):
    """A change of an existing station without saying which revision it is based on (HTTP 428)."""

    code = "revision_required"


class TooLarge(YizhanError):
    """An upload or request body over the configured limit (HTTP 413)."""

    code = "too_large"


class LimitExceeded(YizhanError):
    """An import file past one of the readers' limits on rows, cells per row or characters per cell (HTTP 422);
    reading stopped there. ``limit`` names it: a field of ``stations.xlsx.ReadLimits``, set on a server and the
    CLI by ``YIZHAN_IMPORT_<LIMIT>``."""

    code = "limit_exceeded"

    def __init__(self, limit: str, maximum: int, found: str, where: str) -> None:
        self.limit, self.maximum, self.found, self.where = limit, maximum, found, where
        super().__init__(f"{where}: {found}; the limit {limit} is {maximum:,} (setting YIZHAN_IMPORT_{limit.upper()})")

    def detail(self) -> dict[str, Any]:
        """The message with the limit's name, its maximum, what was found and where."""
        return {
            "message": str(self),
            "limit": self.limit,
            "maximum": self.maximum,
            "found": self.found,
            "where": self.where,
        }


class UnpackedTooLarge(TooLarge, LimitExceeded):
    """An XLSX archive past a limit on what it unpacks to: parts, bytes, compression ratio, shared strings
    (HTTP 413); checked before its XML is parsed."""

    code = "too_large"


class RateLimited(YizhanError):
    """Too many requests of one kind from one client; ``retry_after_s`` tells when to try again (HTTP 429)."""

    code = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(message)


class ReadOnly(YizhanError):
    """The database takes no writes just now (a read-only file or replica, a server in read-only mode): reads
    still work (HTTP 503)."""

    code = "read_only"

    def __init__(self, message: str = "") -> None:
        super().__init__(
            message
            or "the station registry is read-only just now, so nothing was changed; reads still work — try again "
            "later or ask the operator (数据库当前只读，未做任何修改；查询不受影响，请稍后再试或联系管理员)"
        )


SQLITE_READONLY = 8
"""SQLite's primary result code for a write to a read-only database (extended codes keep it in the low byte)."""
POSTGRES_READ_ONLY_TRANSACTION = "25006"
"""SQLSTATE of a write in a read-only transaction (``default_transaction_read_only``, a hot standby)."""


def read_only_error(error: BaseException) -> ReadOnly | None:
    """A ``ReadOnly`` when ``error`` (a database driver's error, or SQLAlchemy's wrapping of one in ``orig``)
    says the database refused a write because it is read-only; else None.

    >>> import sqlite3
    >>> database = sqlite3.connect(":memory:")
    >>> _ = database.execute("PRAGMA query_only = 1")
    >>> try:
    ...     database.execute("CREATE TABLE t (x)")
    ... except sqlite3.OperationalError as refused:
    ...     print(read_only_error(refused).code)
    read_only
    >>> read_only_error(sqlite3.OperationalError("database is locked")) is None
    True
    """
    cause = getattr(error, "orig", None) or error
    if getattr(cause, "sqlstate", None) == POSTGRES_READ_ONLY_TRANSACTION:
        return ReadOnly()
    code = getattr(cause, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF == SQLITE_READONLY:
        return ReadOnly()
    return None


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One problem with one row of an import: 1-based data row (the header is row 0), field, value, reason."""

    row: int
    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"row {self.row}, {self.field}={self.value!r}: {self.reason}"


class FileUnreadable(YizhanError):
    """A whole file cannot be read: unknown format, undecodable bytes, no header, malformed JSON..."""

    code = "unreadable_file"


class InvalidDistrictFile(FileUnreadable):
    """A district boundary file that cannot be used (``geo.errors.DistrictFileError``), with the reason."""

    code = "invalid_district_file"


def domain_error(error: BaseException) -> YizhanError | None:
    """The domain error ``error`` stands for: itself when it is one, the translation of an error ``geo`` raised
    about its input (``geo.errors.GeoError``), else None (a fault, not bad input). The one place geo's errors
    are mapped; ``api/errors.py`` and the CLI's ``describe_error`` both call it.

    >>> from geo.errors import GridTooLarge
    >>> domain_error(GridTooLarge("cell_m=5 gives 9 cells, more than the limit of 4; use cell_m ≥ 8", 5.0)).field
    'cell_m'
    >>> domain_error(KeyError("x")) is None
    True
    """
    if isinstance(error, YizhanError):
        return error
    if not isinstance(error, GeoError):
        return None
    if isinstance(error, GridTooLarge):
        return InvalidValue("cell_m", error.cell_m, str(error))
    if isinstance(error, DistrictFileError):
        return InvalidDistrictFile(str(error))
    if isinstance(error, TargetUnreachable):
        return InvalidValue("target_share", None, str(error))
    return InvalidValue("input", None, str(error))  # a GeoError raised where no caller gave it a field


class ImportRejected(YizhanError):
    """An import with invalid rows: nothing was written; ``problems`` lists every bad row."""

    code = "import_rejected"

    def __init__(self, problems: list[RowProblem], report: Any = None) -> None:
        self.problems = problems
        self.report = report
        """The whole import report, when there is one (rows that were fine too)."""
        shown = "\n".join(f"  {p}" for p in problems[:20])
        more = f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""
        super().__init__(f"{len(problems)} problem(s); nothing was imported:\n{shown}{more}")

    def detail(self) -> dict[str, Any]:
        """Every bad row's problem (row, field, value, reason)."""
        return {"message": "nothing was imported", "problems": [asdict(p) for p in self.problems]}


def jsonable(value: object) -> object:
    """The value if JSON can carry it as is (finite numbers, strings...), else its text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value if isinstance(value, (str, int, float, bool, type(None))) else str(value)


class ImportCancelled(Exception):
    """An import stopped on request (a signal, or the caller's cancel) before its commit: nothing was written.

    Not a YizhanError: nothing was wrong with the input, and no HTTP request can ask for it.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"import cancelled ({reason}); nothing was written")
