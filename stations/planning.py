"""Planning over the registry: coverage per district and service gaps, cached per registry version.

Stations closed for good (``operating_status=closed``) are left out; every other station of the chosen
types counts as serving. The grid of a district set and cell size is built once and reused; results are
cached per (registry version, radius, types, cell size), so a repeated question is answered at once and a
write to the registry makes the next answer fresh.
"""

from __future__ import annotations

import csv
import io
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from geo.coverage import Coverage, Demand, compute_coverage
from geo.districts import Districts
from geo.gaps import Gap, find_gaps
from geo.grid import Grid, GridTooLarge
from stations.errors import FileUnreadable, InvalidValue
from stations.model import STATION_TYPES, Station
from stations.registry import Registry

MAX_RADIUS_M = 50_000.0
DEFAULT_MAX_CELLS = 10_000_000
T = TypeVar("T")


@dataclass(frozen=True)
class CoverageRequest:
    """What a planner asks: service distance (m), station types (empty: all), grid cell size (m)."""

    radius_m: float = 1000.0
    types: tuple[str, ...] = ()
    cell_m: float = 100.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.radius_m) and 0 < self.radius_m <= MAX_RADIUS_M):
            raise InvalidValue("radius_m", self.radius_m, f"must be between 0 and {MAX_RADIUS_M:g} metres")
        if not (np.isfinite(self.cell_m) and self.cell_m > 0):
            raise InvalidValue("cell_m", self.cell_m, "must be a positive number of metres")
        if self.cell_m > self.radius_m:
            raise InvalidValue(
                "cell_m", self.cell_m, f"cells larger than the radius cannot resolve it; try {self.radius_m / 10:g}"
            )
        for kind in self.types:
            if kind not in STATION_TYPES:
                raise InvalidValue("types", kind, "unknown value", STATION_TYPES)


@dataclass(frozen=True)
class CoverageReport:
    """Per-district figures plus what is needed to draw and rank them."""

    request: CoverageRequest
    version: int
    coverage: Coverage
    stations: list[Station]
    """The serving stations that were counted (the chosen types, not closed for good)."""
    counts: dict[str, dict[str, int]]
    """Stations (not closed for good) of every type per adcode."""

    def rows(self, adcode: str | None = None) -> list[dict[str, Any]]:
        """The per-district table: adcode, name, area_km2, stations per type, covered_share, uncovered_km2,
        median and p90 distance (m), and demand with its covered share when a demand layer is loaded."""
        table = []
        for row in self.coverage.districts:
            if adcode is not None and row.adcode != adcode:
                continue
            values = asdict(row)
            counts = self.counts.get(row.adcode, dict.fromkeys(STATION_TYPES, 0))
            record = {"adcode": row.adcode, "name": row.name, "area_km2": round(row.area_km2, 3)}
            record.update({f"stations_{kind}": counts[kind] for kind in STATION_TYPES})
            record.update(
                covered_share=round(row.covered_share, 4),
                uncovered_km2=round(row.uncovered_km2, 3),
                median_distance_m=_round_or_none(values["median_distance_m"]),
                p90_distance_m=_round_or_none(values["p90_distance_m"]),
            )
            if row.demand is not None:
                share = _round_or_none(row.demand_covered_share, 4)
                record.update(demand=round(row.demand, 1), demand_covered_share=share)
            table.append(record)
        return table


def _round_or_none(value: float | None, digits: int = 0) -> float | None:
    if value is None or not np.isfinite(value):
        return None
    return round(float(value), digits) if digits else float(round(value))


def load_demand(path: str | Path) -> Demand:
    """A demand layer from a CSV with ``lon,lat`` and optional ``weight`` columns (WGS84)."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise FileUnreadable(f"cannot read demand file {path}: {exc}") from exc
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames or not {"lon", "lat"} <= set(reader.fieldnames):
        raise FileUnreadable(f"{path}: a demand CSV needs lon and lat columns (and optionally weight)")
    lon, lat, weight = [], [], []
    for line, record in enumerate(reader, start=2):
        try:
            lon.append(float(record["lon"]))
            lat.append(float(record["lat"]))
            weight.append(float(record.get("weight") or 1.0))
        except (TypeError, ValueError):
            raise InvalidValue("demand", f"line {line}: {record}", "lon, lat and weight must be numbers") from None
    try:
        return Demand.from_arrays(lon, lat, weight)
    except ValueError as exc:
        raise InvalidValue("demand", str(path), str(exc)) from None


class Planner:
    """Coverage and gaps of the registry's current stations over its districts."""

    def __init__(
        self, registry: Registry, demand: Demand | None = None, max_cells: int = DEFAULT_MAX_CELLS, cache_size: int = 16
    ) -> None:
        if registry.districts is None:
            raise InvalidValue("districts", None, "planning needs district boundaries (YIZHAN_DISTRICTS_PATH)")
        self.registry = registry
        self.districts: Districts = registry.districts
        self.demand = demand
        self.max_cells = max_cells
        self._cache: OrderedDict[Hashable, Any] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._lock:
            self._cache[key] = value
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return value

    def check_adcode(self, adcode: str | None) -> None:
        if adcode is not None and adcode not in self.districts.adcodes:
            raise InvalidValue("adcode", adcode, "unknown district", self.districts.adcodes)

    def grid(self, cell_m: float) -> Grid:
        """The grid at ``cell_m`` metres (built once per cell size)."""

        def build() -> Grid:
            try:
                return Grid.build(self.districts, cell_m, self.max_cells)
            except GridTooLarge as exc:
                raise InvalidValue("cell_m", cell_m, str(exc)) from None

        return self._cached(("grid", cell_m), build)

    def coverage(self, request: CoverageRequest) -> CoverageReport:
        """Coverage of every district for ``request`` against the current registry."""
        snapshot = self.registry.snapshot()

        def compute() -> CoverageReport:
            open_stations = [s for s in snapshot.stations if s.operating_status != "closed"]
            serving = [s for s in open_stations if not request.types or set(s.types) & set(request.types)]
            coverage = compute_coverage(
                self.grid(request.cell_m),
                np.array([s.lon for s in serving]),
                np.array([s.lat for s in serving]),
                request.radius_m,
                self.demand,
            )
            counts: dict[str, dict[str, int]] = {}
            for station in open_stations:
                if station.adcode is not None:
                    per_type = counts.setdefault(station.adcode, dict.fromkeys(STATION_TYPES, 0))
                    for kind in station.types:
                        per_type[kind] += 1
            return CoverageReport(request, snapshot.version, coverage, serving, counts)

        return self._cached(("coverage", snapshot.version, request), compute)

    def gaps(self, request: CoverageRequest, adcode: str | None = None, limit: int | None = 20) -> list[Gap]:
        """Gaps for ``request``, largest uncovered demand (or area) first, optionally in one district."""
        self.check_adcode(adcode)
        report = self.coverage(request)
        lon = np.array([s.lon for s in report.stations])
        lat = np.array([s.lat for s in report.stations])
        key = ("gaps", report.version, request, adcode, limit)
        return self._cached(key, lambda: find_gaps(report.coverage, lon, lat, adcode=adcode, limit=limit))


def gap_features(gaps: Sequence[Gap], stations: Sequence[Station]) -> dict[str, Any]:
    """Gaps as a GeoJSON FeatureCollection (WGS84 polygons) with area, demand, centroid and nearest station."""
    import shapely

    features = []
    for gap in gaps:
        nearest = stations[gap.nearest_station] if gap.nearest_station >= 0 else None
        properties = {
            "rank": gap.rank,
            "adcode": gap.adcode,
            "district": gap.district,
            "area_km2": round(gap.area_km2, 3),
            "cells": gap.cells,
            "demand": None if gap.demand is None else round(gap.demand, 1),
            "centroid": [round(gap.centroid_lon, 6), round(gap.centroid_lat, 6)],
            "nearest_station_id": nearest.id if nearest else None,
            "nearest_station_name": nearest.name if nearest else None,
            "nearest_station_m": round(gap.nearest_station_m, 1) if nearest else None,
        }
        geometry = shapely.geometry.mapping(gap.polygon)
        features.append({"type": "Feature", "properties": properties, "geometry": geometry})
    return {"type": "FeatureCollection", "features": features}
