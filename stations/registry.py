"""The registry service: the store, the districts, and the current query snapshot, kept in step.

Writes go to the store in one transaction; the snapshot is advanced by the changes since it
(``stations.refresh``) and swapped in whole. Other processes writing to the same database are noticed through the
store's version counter, checked at most once per ``check_interval_s``: by the reader that notices it, or — once
``refresh_in_background`` is on (the API) — by a background thread while every reader keeps the current snapshot.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np

from stations import edits, hours
from stations.columns import ColumnsBuilder
from stations.edits import Change, Written
from stations.errors import ImportRejected, InvalidValue, NotFound, RegistryChanged, RowProblem, StaleRevision
from stations.limits import DEFAULT_LIMITS, ReadLimits
from stations.model import Station, station_from, unchecked_station
from stations.progress import Progress
from stations.refresh import LOGGER, BackgroundRefresh, RefreshStatus, advance
from stations.snapshot import Snapshot
from stations.store import Store

if TYPE_CHECKING:
    from geo.districts import (
        Districts,  # the importers (openpyxl) and the import planner (scipy) load with the first import
    )
    from stations import imports
    from stations.column_cache import ColumnCache

_ATTEMPTS = 3
"""How often a write based on what was just read is made again when another write lands in between."""


def _served(snapshot: Snapshot, took_s: float | None = None) -> None:
    """One line at INFO on ``yizhan.refresh``: this process now serves ``snapshot`` (``yizhan serve`` prints it on
    stderr: when each worker took up each registry version, e.g. for bench/refresh_load.py)."""
    if LOGGER.isEnabledFor(logging.INFO):
        took = "" if took_s is None else f", advanced in {took_s:.3f} s"
        LOGGER.info("serving registry version %d (%d stations) in process %d%s", snapshot.version, len(snapshot),
                    os.getpid(), took)  # fmt: skip


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do): counts, and each row added, updated (with the fields
    that change), unchanged, rejected (``problems``) or looking like a station already there (``duplicates``)."""

    file: str
    rows: int
    valid: int
    added: int
    updated: int
    unchanged: int
    dry_run: bool
    committed: bool
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    duplicates: list[imports.Duplicate] = field(default_factory=list)
    """The first 10,000 likely duplicates (``imports.DUPLICATES_LISTED``), in the order ``imports.plan`` gives."""
    duplicates_total: int = 0
    """How many likely duplicates there are in all (more than are listed when past 10,000)."""
    rows_added: list[imports.PlannedRow] = field(default_factory=list)
    rows_updated: list[imports.PlannedRow] = field(default_factory=list)
    rows_unchanged: list[imports.PlannedRow] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain dicts and lists (``dataclasses.asdict``)."""
        return asdict(self)


_paused = 0
_paused_lock = threading.Lock()
_was_enabled = True


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block (an import) and on again after it, if it was on.

    An import makes a few objects per row and frees few of them until it ends, so the collector would run
    again and again over all of them in vain: at 100k rows that was ~40% of a dry run (10.7 s against 6.1 s).
    Reference counting still frees everything that is not a cycle meanwhile. Imports in parallel threads
    share the pause: the collector is on again when the last of them ends.
    """
    global _paused, _was_enabled
    with _paused_lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


def assign_districts(
    stations: list[Station], rows: list[int], districts: Districts | None
) -> tuple[list[Station], list[RowProblem]]:
    """Stations with ``adcode``/``district`` set by point-in-polygon where absent, and warnings for
    stations outside every district or whose given adcode disagrees with their position.

    The list returned is ``stations`` itself, each station replaced by its located copy as it is made, so that an
    import never holds every station twice."""
    if districts is None or not stations:
        return stations, []
    found = districts.locate(np.array([s.lon for s in stations]), np.array([s.lat for s in stations]))
    warnings = []
    for i, (station, row, position) in enumerate(zip(stations, rows, found.tolist(), strict=True)):
        if position < 0:
            warnings.append(RowProblem(row, "lon,lat", f"{station.lon},{station.lat}", "outside every known district"))
            continue
        adcode, name = districts.adcodes[position], districts.names[position]
        if station.adcode and station.adcode != adcode:
            warnings.append(
                RowProblem(
                    row,
                    "adcode",
                    station.adcode,
                    f"the point lies in {adcode} {name}; check the coordinates' crs",
                )
            )
            continue
        # what model_copy(update=...) makes, without its ~10 µs of copying machinery (the values are valid)
        values = {**station.__dict__, "adcode": adcode, "district": station.district or name}
        stations[i] = unchecked_station(values, station.__pydantic_fields_set__ | _LOCATED_FIELDS)
    return stations, warnings


_LOCATED_FIELDS = frozenset({"adcode", "district"})


def _estimated_rows(data: bytes, filename: str) -> int | None:
    """Rows of a CSV file, counted as lines (a cell with a line break makes it an overestimate); None for
    other formats and for names that are no known format (parse_file reports those)."""
    try:
        from stations.importers import file_format

        return max(data.count(b"\n") - 1, 0) if file_format(filename) == "csv" else None
    except InvalidValue:
        return None


class Registry:
    """Stations stored in ``store``, located in ``districts``, answered from an atomically swapped snapshot."""

    def __init__(
        self,
        store: Store,
        districts: Districts | Callable[[], Districts | None] | None = None,
        check_interval_s: float = 1.0,
        limits: ReadLimits = DEFAULT_LIMITS,
        column_cache: ColumnCache | None = None,
    ) -> None:
        self.store = store
        self.column_cache = column_cache
        """Where the first snapshot is read from when it agrees with the store (``stations.column_cache``)."""
        self.limits = limits
        """What an imported file may hold (rows, cells, characters; what an XLSX unpacks to)."""
        self._districts = districts
        """The district boundaries, or a function loading them on first use (a rider's nearest-station question
        needs none: ``yizhan nearby`` then skips reading them and loading shapely)."""
        self.check_interval_s = check_interval_s
        self._lock = threading.Lock()
        self._districts_lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0
        self._background: BackgroundRefresh | None = None

    @property
    def districts(self) -> Districts | None:
        """The district boundaries (loaded on first use when given as a loader), or None without any."""
        if callable(self._districts):
            with self._districts_lock:
                if callable(self._districts):
                    self._districts = self._districts()
        return self._districts

    def check_adcode(self, adcode: str | None) -> None:
        """``InvalidValue`` naming the known districts when ``adcode`` is given and not one of them (any adcode
        passes when no district boundaries are loaded: there is nothing to check against)."""
        if adcode is not None and self.districts is not None and adcode not in self.districts.adcodes:
            raise InvalidValue("adcode", adcode, "unknown district", self.districts.adcodes)

    def snapshot(self) -> Snapshot:
        """The current snapshot. At most once per ``check_interval_s`` the store's version is checked and, if it
        changed, the snapshot advanced: here and now, or in the background (``refresh_in_background``), in which
        case this returns the current snapshot at once and a later call the new one."""
        current = self._snapshot
        if current is not None and time.monotonic() - self._checked_at < self.check_interval_s:
            return current
        if current is not None and self._background is not None:
            self._checked_at = time.monotonic()
            self._background.kick()
            return current
        return self.refresh()

    def refresh(self) -> Snapshot:
        """The snapshot as of the store's version now, advanced here and now if it changed (after this process
        wrote: its writer sees its own write; or when a background refresh is waited for)."""
        with self._lock:
            version = self.store.version()
            self._checked_at = time.monotonic()
            current = self._snapshot
            if current is None or current.version != version:
                started = time.perf_counter()
                current = self._snapshot = self._advance(current, version)
                _served(current, time.perf_counter() - started)
            return current

    def _advance(self, before: Snapshot | None, version: int) -> Snapshot:
        """The snapshot at ``version``: ``before`` with the changes since it applied (``stations.refresh.advance``);
        the first from the column cache, when there is one."""
        if before is None and self.column_cache is not None:
            return self.column_cache.first_snapshot(self.store, version)
        return advance(self.store, before, version)

    def refresh_in_background(self) -> None:
        """From now on, a change of the store's version is applied by a background thread while readers keep the
        current snapshot: noticed by ``snapshot`` (at most once per ``check_interval_s``) or by the thread's own
        check every ``check_interval_s`` (``stop_background`` ends it)."""
        if self._background is None:
            # a check of its own every interval too: a worker no reader reaches still takes up each change in time
            every_s = self.check_interval_s if self.check_interval_s > 0 else None
            self._background = BackgroundRefresh(self.refresh, every_s=every_s)
            self._background.start()

    def stop_background(self) -> None:
        """Stop the background refresh (the API's shutdown); ``snapshot`` refreshes in the caller again."""
        background, self._background = self._background, None
        if background is not None:
            background.stop()

    @property
    def background(self) -> BackgroundRefresh | None:
        """The background refresh, when on."""
        return self._background

    def refresh_status(self) -> RefreshStatus:
        """How the background refresh stands (never degraded without one: a failed refresh then raises)."""
        return self._background.status if self._background is not None else RefreshStatus()

    def import_file(
        self,
        data: bytes,
        filename: str,
        crs: str | None = None,
        dry_run: bool = False,
        actor: str = "import",
        progress: Progress | None = None,
    ) -> ImportReport:
        """Validate a whole file and, unless ``dry_run``, write its additions and updates in one transaction,
        recorded in the history as ``actor``'s.

        The plan is made from the registry as it is; if anything is written meanwhile, it is made again (a few
        times, then RegistryChanged), so an edit committed during an import is never overwritten.
        Raises ImportRejected (nothing written) if any row is bad; a dry run reports the problems instead.

        ``progress`` hears of each stage ("validating rows", "locating districts", "planning", "checking
        duplicates", "writing") and its rows; a cancel through it raises ImportCancelled at the next chunk of
        rows, before the commit (a cancel during the write rolls the transaction back): nothing is written.
        """
        with _collector_paused():
            return self._import_file(data, filename, crs, dry_run, actor, progress)

    def _import_file(
        self, data: bytes, filename: str, crs: str | None, dry_run: bool, actor: str, progress: Progress | None
    ) -> ImportReport:
        progress = progress or Progress()
        progress.stage("validating rows", _estimated_rows(data, filename))
        from stations import imports
        from stations.importers import parse_file

        parsed = parse_file(data, filename, crs, progress, limits=self.limits)
        progress.stage("locating districts", len(parsed.stations))
        stations, warnings = assign_districts(parsed.stations, parsed.station_rows, self.districts)  # in place
        progress.advance(len(parsed.stations))
        for attempt in range(_ATTEMPTS):
            snapshot = self.refresh()
            planned = imports.plan(
                stations, parsed.station_rows, snapshot, progress=progress, max_close_pairs=self.limits.max_close_pairs
            )
            report = ImportReport(
                file=filename,
                rows=parsed.rows,
                valid=len(stations),
                added=len(planned.added),
                updated=len(planned.updated),
                unchanged=len(planned.unchanged),
                dry_run=dry_run,
                committed=False,
                problems=parsed.problems,
                warnings=parsed.warnings + warnings,
                duplicates=planned.duplicates,
                duplicates_total=planned.duplicates_total,
                rows_added=planned.added,
                rows_updated=planned.updated,
                rows_unchanged=planned.unchanged,
            )
            if dry_run:
                return report
            if parsed.problems:
                raise ImportRejected(parsed.problems, report)
            progress.stage("writing", 2 * len(planned.writes))  # each row counted when prepared and when stored
            changes = (Change(s.id, s, "import") for s in planned.writes)
            stored = ColumnsBuilder()  # the payloads the write makes, parsed into columns as it goes
            try:
                written = edits.apply_many(
                    self.store, changes, actor, snapshot.version, progress.advance, on_stored=stored.stored
                )
            except RegistryChanged:
                if attempt == _ATTEMPTS - 1:
                    raise
                continue
            if written:
                self._swap_in(snapshot, stored)
            report.committed = True
            return report
        raise AssertionError("unreachable")

    def versioned(self, station_id: str) -> tuple[Station, int]:
        """A station as stored now and its revision; NotFound if there is none."""
        found = self.store.versioned(station_id)
        if found is None:
            raise NotFound("station", station_id)
        return found

    def create(self, station: Station, actor: str) -> tuple[Station, int]:
        """Add a new station (Conflict if the id is taken); its district is found from its position."""
        located = self._located(station)
        written = self._write([Change(located.id, located, "create")], actor)
        return located, written[0].revision

    def update(
        self, station_id: str, patch: dict[str, Any], actor: str, expected_revision: int | None = None
    ) -> tuple[Station, int]:
        """Apply a JSON merge patch (RFC 7396) to a station; with ``expected_revision``, only if it is still at
        that revision (StaleRevision otherwise). A move without a new adcode puts it in its new district."""
        if patch.get("id", station_id) != station_id:
            raise InvalidValue("id", patch["id"], "a station's id cannot change; create a new station instead")

        def patched(current: Station) -> tuple[Station, edits.Action]:
            data = edits.merge_patch(edits.payload(current), patch)
            moved = (data.get("lon"), data.get("lat")) != (current.lon, current.lat)
            if moved and "adcode" not in patch:
                data.pop("adcode", None)
                if "district" not in patch:
                    data.pop("district", None)
            station = self._located(station_from(data)) if moved else station_from(data)
            return station, "restore" if current.is_closed and not station.is_closed else "update"

        return self._edit(station_id, patched, actor, expected_revision)[:2]

    def verify(
        self, station_id: str, actor: str, expected_revision: int | None = None, on: date | None = None
    ) -> tuple[Station, int]:
        """Record that an editor confirmed the station as it is: ``verified_at`` becomes ``on`` (default today)."""

        def verified(current: Station) -> tuple[Station, edits.Action]:
            return current.model_copy(update={"verified_at": on or hours.today()}), "verify"

        return self._edit(station_id, verified, actor, expected_revision)[:2]

    def delete(self, station_id: str, actor: str, expected_revision: int | None = None, hard: bool = False) -> bool:
        """Close a station for good (it stays in the registry and its history, hidden from riders), or with
        ``hard`` remove it; False if there was nothing to change (already closed)."""

        def deleted(current: Station) -> tuple[Station | None, edits.Action]:
            if hard:
                return None, "purge"
            return current.model_copy(update={"operating_status": "closed"}), "delete"

        return self._edit(station_id, deleted, actor, expected_revision)[2] is not None

    def history(self, station_id: str) -> list[edits.HistoryEntry]:
        """Every recorded change of a station, oldest first; NotFound if it never existed."""
        entries = edits.history(self.store, station_id)
        if not entries and self.store.versioned(station_id) is None:
            raise NotFound("station", station_id)
        return entries

    def _edit(
        self,
        station_id: str,
        change: Callable[[Station], tuple[Station | None, edits.Action]],
        actor: str,
        expected_revision: int | None,
    ) -> tuple[Station, int, Written | None]:
        """Write ``change`` of the station as stored: the station after it, its revision, and what was
        written (None: nothing changed). Without ``expected_revision`` the change is based on the revision
        just read, and made again on the newer one if another write lands in between (never lost)."""
        for attempt in range(_ATTEMPTS):
            current, revision = self.versioned(station_id)
            after, action = change(current)
            based_on = expected_revision if expected_revision is not None else revision
            try:
                written = self._write([Change(station_id, after, action, based_on)], actor)
            except StaleRevision:
                if expected_revision is not None or attempt == _ATTEMPTS - 1:
                    raise
                continue
            return after or current, written[0].revision if written else revision, written[0] if written else None
        raise AssertionError("unreachable")

    def _located(self, station: Station) -> Station:
        located, _ = assign_districts([station], [1], self.districts)
        return located[0]

    def _swap_in(self, before: Snapshot, stored: ColumnsBuilder) -> None:
        """After an import committed on ``before``'s version: the new snapshot from ``before`` and the stations
        just written, as columns of the payloads the write stored (``stored``), instead of reading every station
        back from the store (the registry is exactly that: the write succeeded only if nothing else was written
        in between) or dumping each station to JSON again."""
        # by id, as Store.all; the stamp before the import's: the next refresh reads the import's rows again
        merged = before.columns.merged(stored.written(), stored.removed)
        rebuilt = Snapshot(merged, before.version + 1, before.stamp)
        with self._lock:
            self._snapshot = rebuilt
            self._checked_at = time.monotonic()
        _served(rebuilt)

    def _write(self, changes: list[Change], actor: str, expected_version: int | None = None) -> list[Written]:
        written = edits.apply(self.store, changes, actor, expected_version)
        if written:
            self.refresh()
        return written
