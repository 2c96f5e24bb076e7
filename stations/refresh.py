"""Keeping a snapshot in step with the store: built whole, advanced by the changes since it, and refreshed in a
background thread so that readers never wait.

A snapshot remembers the registry version it serves and a ``stamp``: every change stamped after it is yet to be
applied. Writes are stamped under the registry's write lock from the database's clock (``edits.write_stamp``), so
stamps follow commit order on every host, and the open-data delta (``opendata.dump`` with ``modified_since``)
holds exactly the stations written and the ids removed since a stamp. ``advance`` reads that delta and merges it
into the stations it has — only the changed rows are read and validated — instead of reading back every station.

Reading order makes every step safe to repeat: the version is read first, then the stamp or the delta, so a write
committed in between is at most applied early (and again by the next refresh, which changes nothing), never
missed. A snapshot's stamp is the newest stamp seen, or an earlier one (after an import, the one before it).

``BackgroundRefresh`` runs the refresh in one daemon thread when asked (``kick``) while readers keep the current
snapshot; a failed refresh (database gone, a malformed row) leaves that snapshot serving, is logged once per
streak of failures, tried again with a growing delay, and reported by ``status`` until a refresh succeeds.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from stations import columns
from stations.snapshot import Snapshot
from stations.store import HistoryRow, StationRow, Store, as_utc

LOGGER = logging.getLogger("yizhan.refresh")
RETRY_FIRST_S = 1.0
"""Seconds before the first retry of a failed background refresh; doubled after each failure."""
RETRY_MOST_S = 60.0
"""Longest wait between retries of a failing background refresh."""


def newest_stamp(store: Store) -> datetime | None:
    """The newest write stamp in the store (of a station row or of any history entry, removals included), UTC;
    None for a store never written to."""
    stations = select(func.max(StationRow.updated_at)).scalar_subquery()
    entries = select(func.max(HistoryRow.at)).scalar_subquery()
    with Session(store.engine) as session:
        found = [as_utc(at) for at in session.execute(select(stations, entries)).one() if at is not None]
    return max(found, default=None)


def build(store: Store, version: int) -> Snapshot:
    """A snapshot of every station, labelled ``version`` (read before this is called): the stored JSON read in bulk
    into columns (``stations.columns.read``), by id in Python's order (code points), as ``advance`` merges (a
    database's collation may order otherwise)."""
    stamp = newest_stamp(store)  # before the stations: a write in between is then applied again, not missed
    return Snapshot(columns.read(store), version, stamp)


def advance(store: Store, before: Snapshot | None, version: int) -> Snapshot:
    """The snapshot at ``version`` (read before this is called): ``before`` with the stations changed or removed
    since its stamp applied, or built whole when there is nothing to start from (no snapshot, or no stamp).

    The delta holds only rows changed since the stamp, each validated as it is read; they replace their ids in the
    columns (the others' stored JSON is shared, not copied) and the index is rebuilt over every station — or kept,
    when no station was added, removed or moved — never read back from the store.
    """
    if before is None or before.stamp is None:
        return build(store, version)
    from stations import opendata  # the exporters load with the first refresh, not with `yizhan nearby`

    # strictly after the stamp: the snapshot holds every row stamped at it (``build`` reads the stations after the
    # stamp; a delta's newest stamp is a write it read whole), so the rows of the newest write — a whole import, or
    # a bulk load before start-up — are not read back and validated again by the next refresh
    delta = opendata.dump(store, "", "", before.stamp, strictly_after=True)
    if not delta.stations and not delta.deleted:  # applied early by the refresh before: the same, relabelled
        same = copy.copy(before)
        same.version = version
        return same
    merged = before.columns.replace([s for s, _revision, _at in delta.stations], [i for i, _at in delta.deleted])
    return Snapshot(merged, version, delta.next_modified_since or before.stamp, index=before.index)


@dataclass(frozen=True, slots=True)
class RefreshStatus:
    """How the background refresh stands: ``error`` names the kind of the latest failure (the exception's class:
    safe to show anyone) and ``cause`` its message (for the log) — None when the latest refresh succeeded or none
    has run; ``failures`` counts the failures in a row."""

    error: str | None = None
    cause: str | None = None
    failures: int = 0

    @property
    def degraded(self) -> bool:
        """Whether the snapshot served may be older than the store (the latest refresh failed)."""
        return self.error is not None


class BackgroundRefresh:
    """One daemon thread that calls ``refresh`` when kicked; failures are logged once per streak and retried
    after ``RETRY_FIRST_S``, doubling up to ``RETRY_MOST_S``, without waiting for another kick."""

    retry_first_s = RETRY_FIRST_S
    retry_most_s = RETRY_MOST_S

    def __init__(
        self, refresh: Callable[[], object], name: str = "yizhan-refresh", every_s: float | None = None
    ) -> None:
        self._refresh = refresh
        self._name = name
        self.every_s = every_s
        """Also refresh this often without a kick (None: only when kicked): a worker that no request reaches —
        under load the kernel may hand every new connection to another — still takes up each change in time."""
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.status = RefreshStatus()
        self.completed = 0
        """Refreshes run to their end (successful or not): tests wait on it instead of on the clock."""
        self._done = threading.Condition()

    def start(self) -> None:
        """Start the thread (once; a kick starts it too)."""
        if self._thread is None:
            with self._start_lock:
                if self._thread is None and not self._stop.is_set():
                    self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    self._thread.start()

    def kick(self) -> None:
        """Ask for a refresh soon (returns at once; kicks while one runs make one more run after it)."""
        self.start()
        self._wake.set()

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop the thread (after the refresh it is running, if any)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout_s)

    def wait(self, completed: int, timeout_s: float = 30.0) -> bool:
        """Wait until at least ``completed`` refreshes have ended; whether they had."""
        with self._done:
            return self._done.wait_for(lambda: self.completed >= completed, timeout_s)

    def _run(self) -> None:
        delay = 0.0
        while not self._stop.is_set():
            if delay:  # failing: retry after the delay whatever kicks come meanwhile
                if self._stop.wait(delay):
                    return
            else:
                self._wake.wait(self.every_s)  # a kick, or the time for a check of its own
                if self._stop.is_set():
                    return
            self._wake.clear()
            try:
                self._refresh()
            except Exception as error:  # whatever went wrong, the old snapshot keeps serving
                delay = min(self.retry_most_s, max(self.retry_first_s, 2 * delay))
                self._failed(error)
            else:
                delay = 0.0
                if self.status.degraded:
                    LOGGER.warning("snapshot refresh recovered after %d failures", self.status.failures)
                self.status = RefreshStatus()
            with self._done:
                self.completed += 1
                self._done.notify_all()

    def _failed(self, error: Exception) -> None:
        cause = (str(error).splitlines() or [""])[0][:300]
        if cause != self.status.cause:  # once per streak, and again only when the cause changes
            LOGGER.error(
                "snapshot refresh failed, still serving the previous snapshot; retrying: %s: %s",
                type(error).__name__, cause,
            )  # fmt: skip
        self.status = RefreshStatus(type(error).__name__, cause, self.status.failures + 1)
