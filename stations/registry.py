"""The registry service: the store, the districts, and the current query snapshot, kept in step.

Writes go to the store in one transaction; the snapshot is rebuilt from the store and swapped in whole.
Other processes writing to the same database are noticed through the store's version counter, checked at
most once per ``check_interval_s``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from geo.districts import Districts
from stations.errors import ImportRejected, RowProblem
from stations.importers import parse_file
from stations.model import Station
from stations.snapshot import Snapshot
from stations.store import Store


@dataclass
class ImportReport:
    """What an import did (or, on a dry run, would do)."""

    file: str
    rows: int
    valid: int
    added: int
    updated: int
    dry_run: bool
    committed: bool
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def assign_districts(
    stations: list[Station], rows: list[int], districts: Districts | None
) -> tuple[list[Station], list[RowProblem]]:
    """Stations with ``adcode``/``district`` set by point-in-polygon where absent, and warnings for
    stations outside every district or whose given adcode disagrees with their position."""
    if districts is None or not stations:
        return stations, []
    found = districts.locate(np.array([s.lon for s in stations]), np.array([s.lat for s in stations]))
    result, warnings = [], []
    for station, row, position in zip(stations, rows, found, strict=True):
        if position < 0:
            warnings.append(RowProblem(row, "lon,lat", f"{station.lon},{station.lat}", "outside every known district"))
            result.append(station)
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
            result.append(station)
            continue
        result.append(station.model_copy(update={"adcode": adcode, "district": station.district or name}))
    return result, warnings


class Registry:
    """Stations stored in ``store``, located in ``districts``, answered from an atomically swapped snapshot."""

    def __init__(self, store: Store, districts: Districts | None = None, check_interval_s: float = 1.0) -> None:
        self.store = store
        self.districts = districts
        self.check_interval_s = check_interval_s
        self._lock = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._checked_at = 0.0

    def snapshot(self) -> Snapshot:
        """The current snapshot; rebuilt only when the store's version has changed since it was built."""
        current = self._snapshot
        if current is not None and time.monotonic() - self._checked_at < self.check_interval_s:
            return current
        with self._lock:
            version = self.store.version()
            self._checked_at = time.monotonic()
            if self._snapshot is None or self._snapshot.version != version:
                self._snapshot = Snapshot(self.store.all(), version)
            return self._snapshot

    def refresh(self) -> Snapshot:
        """Rebuild the snapshot now (after this process wrote)."""
        self._checked_at = 0.0
        return self.snapshot()

    def import_file(self, data: bytes, filename: str, crs: str | None = None, dry_run: bool = False) -> ImportReport:
        """Validate a whole file and, unless ``dry_run``, write all of its stations in one transaction.

        Raises ImportRejected (nothing written) if any row is bad; a dry run reports the problems instead.
        """
        parsed = parse_file(data, filename, crs)
        stations, warnings = assign_districts(parsed.stations, parsed.station_rows, self.districts)
        existing = self.store.existing_ids(s.id for s in stations)
        report = ImportReport(
            file=filename,
            rows=parsed.rows,
            valid=len(stations),
            added=sum(s.id not in existing for s in stations),
            updated=sum(s.id in existing for s in stations),
            dry_run=dry_run,
            committed=False,
            problems=parsed.problems,
            warnings=parsed.warnings + warnings,
        )
        if dry_run:
            return report
        if parsed.problems:
            raise ImportRejected(parsed.problems)
        self.store.upsert_many(stations)
        self.refresh()
        report.committed = True
        return report
