"""Riders' reports of problems with a station (closed, moved, wrong hours, missing amenity...), kept until an
editor resolves them.

Anyone may report, without a token, so reports are rate-limited per client. A client is known only by a
keyed hash of its address that changes every day: enough to count its reports, useless to find the rider.
The count is kept in the database, so the limit holds across all server processes, and a client's reports
are counted one at a time, so it holds under a burst of simultaneous reports too.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal, cast, get_args

from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from sqlalchemy import CursorResult

from stations.errors import Conflict, InvalidValue, NotFound, RateLimited
from stations.store import ReportRow, StationRow, Store, as_utc
from stations.vocabulary import REPORT_KINDS as KINDS

Status = Literal["open", "resolved", "rejected"]
STATUSES: tuple[str, ...] = get_args(Status)
WINDOW = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Report:
    """A rider's report on a station (``kind``, ``message``, where it is now for ``moved``) and how a keeper
    resolved it; times in UTC."""

    id: int
    station_id: str
    kind: str
    message: str | None
    lon: float | None
    lat: float | None
    created_at: datetime
    status: str
    resolved_by: str | None
    resolved_at: datetime | None
    resolution: str | None


def client_key(address: str, secret: str, on: datetime | None = None) -> str:
    """A keyed, daily-changing hash of a client address.

    >>> client_key("10.0.0.1", "s", datetime(2026, 11, 23)) == client_key("10.0.0.1", "s", datetime(2026, 11, 23))
    True
    >>> client_key("10.0.0.1", "s", datetime(2026, 11, 23)) == client_key("10.0.0.1", "s", datetime(2026, 11, 24))
    False
    """
    day = (on or datetime.now(UTC)).date().isoformat()
    return hmac.new(secret.encode(), f"{day}|{address}".encode(), hashlib.sha256).hexdigest()


class Reports:
    """Reports in ``store``; each client may file ``per_hour`` of them in any hour."""

    def __init__(self, store: Store, per_hour: int = 10) -> None:
        if per_hour < 1:
            raise InvalidValue("reports_per_hour", per_hour, "must be at least 1 (riders must be able to report)")
        self.store = store
        self.per_hour = per_hour

    def submit(
        self,
        station_id: str,
        kind: str,
        client: str,
        message: str | None = None,
        position: tuple[float, float] | None = None,
    ) -> Report:
        """File a report; NotFound for an unknown station, RateLimited past the client's hourly allowance."""
        if kind not in KINDS:
            raise InvalidValue("kind", kind, "unknown kind of report", KINDS)
        if kind == "other" and not (message or "").strip():
            raise InvalidValue("message", message, "say what is wrong")
        now = datetime.now(UTC)
        lon, lat = position if position is not None else (None, None)
        with Session(self.store.engine) as session, session.begin():
            if session.get(StationRow, station_id) is None:
                raise NotFound("station", station_id)
            _queue(session, client)
            row = ReportRow(
                station_id=station_id, kind=kind, message=(message or "").strip() or None, lon=lon, lat=lat,
                client=client, created_at=now, status="open",
            )  # fmt: skip
            session.add(row)
            session.flush()  # on SQLite the first write: from here on this client's reports are counted alone
            earlier = session.scalars(
                select(ReportRow.created_at)
                .where(ReportRow.client == client, ReportRow.created_at > now - WINDOW, ReportRow.id != row.id)
                .order_by(ReportRow.created_at)
            ).all()
            if len(earlier) >= self.per_hour:  # raising rolls the new report back
                wait = as_utc(earlier[len(earlier) - self.per_hour]) + WINDOW - now
                raise RateLimited(
                    f"at most {self.per_hour} reports an hour; thank you — try again later",
                    max(1, int(wait.total_seconds()) + 1),
                )
            return _report(row)

    def list(self, status: str | None = "open", station_id: str | None = None, limit: int = 100) -> list[Report]:
        """Reports, newest first, by status (None: all) and station."""
        if status is not None and status not in STATUSES:
            raise InvalidValue("status", status, "unknown status", STATUSES)
        query = select(ReportRow).order_by(ReportRow.id.desc()).limit(limit)
        if status is not None:
            query = query.where(ReportRow.status == status)
        if station_id is not None:
            query = query.where(ReportRow.station_id == station_id)
        with Session(self.store.engine) as session:
            return [_report(r) for r in session.scalars(query)]

    def resolve(self, report_id: int, status: str, actor: str, resolution: str | None = None) -> Report:
        """Close an open report as ``resolved`` or ``rejected``; Conflict if it was closed already."""
        if status not in ("resolved", "rejected"):
            raise InvalidValue("status", status, "a report is closed as resolved or rejected", ("resolved", "rejected"))
        values = {
            "status": status, "resolved_by": actor, "resolution": (resolution or "").strip() or None,
            "resolved_at": datetime.now(UTC),
        }  # fmt: skip
        with Session(self.store.engine) as session, session.begin():
            # one statement decides, under the row's (PostgreSQL) or the database's (SQLite) write lock
            done = session.execute(
                update(ReportRow).where(ReportRow.id == report_id, ReportRow.status == "open").values(**values)
            )
            closed = cast("CursorResult[Any]", done).rowcount  # an UPDATE's result is a CursorResult
            row = session.get(ReportRow, report_id)
            if row is None:
                raise NotFound("report", str(report_id))
            if not closed:
                raise Conflict(f"report {report_id} was already {row.status} by {row.resolved_by}")
            return _report(row)


def _queue(session: Session, client: str) -> None:
    """Make concurrent reports of one client take turns, so a burst cannot slip past the limit together.

    PostgreSQL: a transaction-level advisory lock on the client's key. SQLite: the report's INSERT, the
    transaction's first write, takes the database's write lock until commit, so nothing is needed here.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(hashlib.sha256(client.encode()).digest()[:8], "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


def _report(row: ReportRow) -> Report:
    return Report(
        row.id, row.station_id, row.kind, row.message, row.lon, row.lat, as_utc(row.created_at), row.status,
        row.resolved_by, None if row.resolved_at is None else as_utc(row.resolved_at), row.resolution,
    )  # fmt: skip
