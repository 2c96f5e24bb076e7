"""Planning over the registry: coverage per district and service gaps, cached per registry version.

Stations closed for good (``operating_status=closed``) are left out; every other station of the chosen
types counts as serving. The grid of a district set and cell size is built once and reused; results are
cached per (registry version, radius, types, cell size), so a repeated question is answered at once and a
write to the registry makes the next answer fresh.

The caches are bounded by bytes, not entries (``cache_bytes``; the size of a value is estimated from its numpy
arrays and geometries, see ``value_bytes``), least recently used dropped first. Cell sizes are rounded to whole
metres (``CoverageRequest``), so ``cell_m=60.001`` and ``cell_m=60`` share one grid and one cached answer.
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import gc
import io
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

import numpy as np
import shapely
from numpy.typing import NDArray
from scipy import sparse

from geo.coverage import Coverage, Demand, compute_coverage, nearest_distance_m
from geo.districts import Districts
from geo.gaps import Gap, find_gaps
from geo.grid import Grid, GridTooLarge
from geo.siting import SitingProblem, SitingResult, Stopped, exact, exact_cover, greedy, greedy_cover
from stations.errors import FileUnreadable, InvalidValue
from stations.model import STATION_TYPES, Station
from stations.registry import Registry

MAX_RADIUS_M = 50_000.0
DEFAULT_MAX_CELLS = 10_000_000
DEFAULT_CACHE_BYTES = 256_000_000
T = TypeVar("T")


@dataclass(frozen=True)
class CoverageRequest:
    """What a planner asks: service distance (m), station types (empty: all), grid cell size (m).

    ``cell_m`` is rounded to whole metres (at least 1 m): finer differences change no planning answer worth
    having, and every distinct cell size costs a grid of its own, so ``cell_m=60.001`` asks for the 60 m grid.

    >>> CoverageRequest(cell_m=60.001).cell_m
    60.0
    """

    radius_m: float = 1000.0
    types: tuple[str, ...] = ()
    cell_m: float = 100.0

    def __post_init__(self) -> None:
        if not (np.isfinite(self.radius_m) and 0 < self.radius_m <= MAX_RADIUS_M):
            raise InvalidValue("radius_m", self.radius_m, f"must be between 0 and {MAX_RADIUS_M:g} metres")
        if not (np.isfinite(self.cell_m) and self.cell_m >= 1):
            raise InvalidValue("cell_m", self.cell_m, "must be at least 1 metre (it is rounded to whole metres)")
        object.__setattr__(self, "cell_m", float(round(self.cell_m)))
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
    counts: dict[str | None, dict[str, int]]
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
    """Coverage and gaps of the registry's current stations over its districts.

    Grids, coverage reports and gap lists are cached together within ``cache_bytes`` (estimated by
    ``value_bytes``; a value that alone exceeds the budget is returned but not kept)."""

    def __init__(
        self,
        registry: Registry,
        demand: Demand | None = None,
        max_cells: int = DEFAULT_MAX_CELLS,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if registry.districts is None:
            raise InvalidValue("districts", None, "planning needs district boundaries (YIZHAN_DISTRICTS_PATH)")
        self.registry = registry
        self.districts: Districts = registry.districts
        self.demand = demand
        self.max_cells = max_cells
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    @property
    def cached_bytes(self) -> int:
        """Estimated bytes the cache holds now (≤ ``cache_bytes``)."""
        return self._cached_bytes

    def _cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key][0]
        value = compute()
        size = value_bytes(value)
        with self._lock:
            if key in self._cache:  # another thread computed it meanwhile: keep one
                return self._cache[key][0]
            if size <= self.cache_bytes:
                self._cache[key] = (value, size)
                self._cached_bytes += size
            while self._cached_bytes > self.cache_bytes:
                _, (_, dropped) = self._cache.popitem(last=False)
                self._cached_bytes -= dropped
        return value

    def clear_cache(self) -> None:
        """Drop every cached grid and answer, and hand freed memory back to the system where the C library
        allows it (glibc ``malloc_trim``), so that the process's resident memory falls too."""
        with self._lock:
            self._cache.clear()
            self._cached_bytes = 0
        gc.collect()
        _trim_malloc()

    def check_adcode(self, adcode: str | None) -> None:
        """``InvalidValue`` naming the known districts when ``adcode`` is given and not one of them."""
        self.registry.check_adcode(adcode)

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
            serving = [s for s in snapshot.stations if s.serves(request.types)]
            coverage = compute_coverage(
                self.grid(request.cell_m),
                np.array([s.lon for s in serving]),
                np.array([s.lat for s in serving]),
                request.radius_m,
                self.demand,
            )
            counts = snapshot.counts_by_adcode(include_closed=False)
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

    def site(self, request: SitingRequest, stop: Callable[[], bool] | None = None) -> SitingReport:
        """Propose new sites for ``request`` against the current registry (not cached: each run solves).

        ``stop`` is asked between steps and by the solvers as they run (e.g. "has the client gone?"); once it
        answers True the run ends with ``geo.siting.Stopped`` and no report."""
        for adcode, _ in request.quotas:
            self.check_adcode(adcode)
        check = _stop_check(stop)
        report = self.coverage(request.coverage)
        check()
        grid, radius = report.coverage.grid, request.coverage.radius_m
        sx, sy = grid.project(np.array([s.lon for s in report.stations]), np.array([s.lat for s in report.stations]))
        unit_x, unit_y, unit_w, total_all, weight_unit = self._uncovered_units(report, request, sx, sy)
        candidate_x, candidate_y, names = self._candidates(request, grid, unit_x, unit_y, unit_w)
        row, col = grid.cell_of(candidate_x, candidate_y)
        group = np.where(row >= 0, grid.raster[row, col], -1).astype(np.intp)
        quotas = {self.districts.position(adcode): quota for adcode, quota in request.quotas}
        problem = SitingProblem.from_arrays(
            unit_x, unit_y, unit_w, candidate_x, candidate_y, radius,
            min_spacing_m=request.min_spacing_m, candidate_group=group, quotas=quotas,
        )  # fmt: skip
        covered_before = total_all - float(unit_w.sum())
        check()
        results = self._solve(problem, request, total_all, covered_before, stop)
        if "exact" in results and "greedy" in results and request.add is not None:
            # the exact solver's proven bound also bounds the greedy answer: report its real gap
            greedy_result, bound = results["greedy"], results["exact"].bound
            proven = results["exact"].optimal and greedy_result.objective >= bound - 1e-9 * max(1.0, bound)
            results["greedy"] = replace(greedy_result, bound=min(greedy_result.bound, bound), optimal=proven)
        best = results.get("exact") or results["greedy"]
        lon, lat = grid.unproject(candidate_x[best.chosen], candidate_y[best.chosen])
        sites = [
            {
                "rank": rank,
                "lon": round(float(x), 6),
                "lat": round(float(y), 6),
                "adcode": self.districts.adcodes[group[j]] if group[j] >= 0 else None,
                "district": self.districts.names[group[j]] if group[j] >= 0 else None,
                "name": names[j],
                "gain": round(float(gain), 3),
            }
            for rank, (j, x, y, gain) in enumerate(zip(best.chosen, lon, lat, best.gains, strict=True), start=1)
        ]
        after = compute_coverage(
            grid,
            np.concatenate(([s.lon for s in report.stations], lon)),
            np.concatenate(([s.lat for s in report.stations], lat)),
            radius,
            self.demand,
        )
        after_report = CoverageReport(request.coverage, report.version, after, report.stations, report.counts)
        solutions = {
            name: {
                "objective": round(r.objective, 3),
                "bound": round(r.bound, 3),
                "gap": round(r.gap, 6),
                "optimal": r.optimal,
                "seconds": round(r.seconds, 3),
                "status": r.status,
                "sites": int(r.chosen.size),
            }
            for name, r in results.items()
        }
        return SitingReport(
            request, sites, solutions, weight_unit, report.rows(), after_report.rows(),
            total_before=covered_before / total_all if total_all else 0.0,
            total_after=(covered_before + best.objective) / total_all if total_all else 0.0,
        )  # fmt: skip

    def _uncovered_units(
        self, report: CoverageReport, request: SitingRequest, sx: NDArray, sy: NDArray
    ) -> tuple[NDArray, NDArray, NDArray, float, str]:
        """Demand units not yet covered: demand points (weights) when a demand layer is loaded, else
        uncovered cells binned to ``unit_m`` squares weighted by area (km²). Also the total of all demand."""
        grid, radius = report.coverage.grid, request.coverage.radius_m
        if self.demand is not None:
            dx, dy = grid.project(self.demand.lon, self.demand.lat)
            row, col = grid.cell_of(dx, dy)
            inside = row >= 0
            inside[inside] = grid.raster[row[inside], col[inside]] >= 0
            dx, dy, weight = dx[inside], dy[inside], self.demand.weight[inside]
            distance, _ = nearest_distance_m(grid, sx, sy, dx, dy)
            open_ = distance > radius
            if not weight.sum():
                raise InvalidValue("demand", None, "the demand layer has no weight inside the districts")
            return dx[open_], dy[open_], weight[open_], float(weight.sum()), "demand"
        uncovered = ~report.coverage.covered
        # a quarter of the radius, coarser when the uncovered area would make more than MAX_UNITS units
        fitting = np.sqrt(uncovered.sum() * grid.cell_m**2 / MAX_UNITS)
        unit_m = request.unit_m or max(grid.cell_m, radius / 4, fitting)
        factor = max(1, round(unit_m / grid.cell_m))
        key = (grid.row[uncovered] // factor) * (grid.shape[1] // factor + 1) + grid.col[uncovered] // factor
        units, inverse = np.unique(key, return_inverse=True)
        count = np.bincount(inverse, minlength=units.size)
        ux = np.bincount(inverse, weights=grid.x[uncovered], minlength=units.size) / count
        uy = np.bincount(inverse, weights=grid.y[uncovered], minlength=units.size) / count
        total = grid.n_cells * grid.cell_area_km2
        return ux, uy, count * grid.cell_area_km2, float(total), "km²"

    def _candidates(
        self, request: SitingRequest, grid: Grid, unit_x: NDArray, unit_y: NDArray, unit_w: NDArray
    ) -> tuple[NDArray, NDArray, list[str | None]]:
        """User candidates (all must lie in a district), or a lattice over the uncovered demand."""
        if request.candidates:
            cx, cy = grid.project([c.lon for c in request.candidates], [c.lat for c in request.candidates])
            row, col = grid.cell_of(cx, cy)
            outside = [i for i in range(len(request.candidates)) if row[i] < 0 or grid.raster[row[i], col[i]] < 0]
            if outside:
                shown = ", ".join(
                    f"#{i + 1} ({request.candidates[i].lon}, {request.candidates[i].lat})" for i in outside[:5]
                )
                raise InvalidValue("candidates", shown, f"{len(outside)} candidate(s) lie outside every district")
            return cx, cy, [c.name for c in request.candidates]
        if unit_w.size == 0:
            raise InvalidValue("demand", 0, "nothing is left uncovered: no candidate sites can be derived")
        spacing = request.candidate_spacing_m or request.coverage.radius_m / 2
        while True:  # half the radius apart, wider when that would give more than MAX_CANDIDATES
            key_x, key_y = np.floor(unit_x / spacing).astype(np.int64), np.floor(unit_y / spacing).astype(np.int64)
            _, inverse = np.unique(np.column_stack((key_x, key_y)), axis=0, return_inverse=True)
            inverse = inverse.ravel()
            count = int(inverse.max()) + 1
            if request.candidate_spacing_m or count <= MAX_CANDIDATES:
                break
            spacing *= 1.05 * np.sqrt(count / MAX_CANDIDATES)
        weight = np.bincount(inverse, weights=unit_w)
        cx = np.bincount(inverse, weights=unit_x * unit_w) / weight
        cy = np.bincount(inverse, weights=unit_y * unit_w) / weight
        return cx, cy, [None] * cx.size

    @staticmethod
    def _solve(
        problem: SitingProblem,
        request: SitingRequest,
        total_all: float,
        covered_before: float,
        stop: Callable[[], bool] | None = None,
    ) -> dict[str, SitingResult]:
        methods = ["greedy", "exact"] if request.method == "both" else [request.method]
        greedy_p, greedy_target = partial(greedy, stop=stop), partial(greedy_cover, stop=stop)
        exact_p = partial(exact, time_limit_s=request.time_limit_s, stop=stop)
        exact_target = partial(exact_cover, time_limit_s=request.time_limit_s, stop=stop)
        results: dict[str, SitingResult] = {}
        try:
            if request.add is not None:
                if request.add > problem.n_candidates:
                    raise InvalidValue("add", request.add, f"more than the {problem.n_candidates} candidate sites")
                for method in methods:
                    results[method] = (greedy_p if method == "greedy" else exact_p)(problem, request.add)
                return results
            needed = request.target_share * total_all - covered_before
            reachable = (covered_before + problem.total_weight) / total_all
            if needed > problem.total_weight + 1e-9:
                raise InvalidValue(
                    "target_share",
                    request.target_share,
                    f"not reachable with these candidates; best is {reachable:.4f}",
                )
            for method in methods:
                solve = greedy_target if method == "greedy" else exact_target
                results[method] = solve(problem, max(needed, 0.0))
            return results
        except TimeoutError as exc:
            raise InvalidValue("time_limit_s", request.time_limit_s, str(exc)) from None
        except ValueError as exc:  # a target the spacing or quotas keep out of reach
            raise InvalidValue("target_share", request.target_share, str(exc)) from None


def _stop_check(stop: Callable[[], bool] | None) -> Callable[[], None]:
    def check() -> None:
        if stop is not None and stop():
            raise Stopped("siting was stopped before it finished")

    return check


def value_bytes(value: object, seen: set[int] | None = None) -> int:
    """Estimated memory (bytes) held by a cached planning value: its numpy arrays (``nbytes``), sparse matrices,
    geometries (16 bytes a coordinate plus a little), containers and objects' attributes, each object counted
    once. Districts and stations are left out: the registry holds them whatever the cache does.

    >>> value_bytes(np.zeros(1000)) >= 8000
    True
    """
    seen = set() if seen is None else seen
    if id(value) in seen or isinstance(value, Districts | Station | type):
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return int(value.nbytes) + 112
    if isinstance(value, sparse.sparray | sparse.spmatrix):
        return sum(value_bytes(getattr(value, name, None), seen) for name in ("data", "indices", "indptr", "coords"))
    if isinstance(value, shapely.Geometry):
        return 64 + 16 * int(shapely.get_num_coordinates(value))
    size = sys.getsizeof(value)
    if isinstance(value, dict):
        return size + sum(value_bytes(k, seen) + value_bytes(v, seen) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return size + sum(value_bytes(item, seen) for item in value)
    if hasattr(value, "__dict__"):  # dataclasses, with their cached properties
        return size + sum(value_bytes(item, seen) for item in vars(value).values())
    return size


def _trim_malloc() -> None:
    """Ask glibc to return freed heap memory to the system (numpy's big arrays are returned anyway; the many
    small ones of a coverage report leave holes otherwise). Nothing where the C library has no ``malloc_trim``."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


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


SitingMethod = Literal["greedy", "exact", "both"]


@dataclass(frozen=True)
class Candidate:
    """A site a user proposes (WGS84), e.g. a union building or a shop that agreed to host."""

    lon: float
    lat: float
    name: str | None = None


@dataclass(frozen=True)
class SitingRequest:
    """Where ``add`` new stations help most, or the fewest that reach ``target_share`` of demand covered."""

    coverage: CoverageRequest = field(default_factory=CoverageRequest)
    add: int | None = 10
    target_share: float | None = None
    method: SitingMethod = "greedy"
    time_limit_s: float = 30.0
    min_spacing_m: float = 0.0
    quotas: tuple[tuple[str, int], ...] = ()
    """(adcode, most new sites) pairs."""
    candidates: tuple[Candidate, ...] = ()
    """User candidate sites; empty: derived from the gaps."""
    candidate_spacing_m: float | None = None
    """Spacing of the candidates derived from gaps (default: half the radius)."""
    unit_m: float | None = None
    """Size of the demand units siting works on (default: a quarter of the radius, at least the cell size)."""

    def __post_init__(self) -> None:
        if (self.add is None) == (self.target_share is None):
            raise InvalidValue("add", self.add, "give either add (a number of new sites) or target_share")
        if self.add is not None and not 1 <= self.add <= MAX_NEW_SITES:
            raise InvalidValue("add", self.add, f"must be between 1 and {MAX_NEW_SITES}")
        if self.target_share is not None and not 0 < self.target_share <= 1:
            raise InvalidValue("target_share", self.target_share, "must be in (0, 1]")
        if self.method not in ("greedy", "exact", "both"):
            raise InvalidValue("method", self.method, "unknown method", ["greedy", "exact", "both"])
        if not 0 < self.time_limit_s <= MAX_TIME_LIMIT_S:
            raise InvalidValue("time_limit_s", self.time_limit_s, f"must be in (0, {MAX_TIME_LIMIT_S:g}] seconds")
        if not (np.isfinite(self.min_spacing_m) and self.min_spacing_m >= 0):
            raise InvalidValue("min_spacing_m", self.min_spacing_m, "must be ≥ 0 metres")
        for adcode, quota in self.quotas:
            if quota < 0:
                raise InvalidValue("quotas", f"{adcode}={quota}", "a quota is a number of sites ≥ 0")


MAX_NEW_SITES = 500
MAX_TIME_LIMIT_S = 600.0
MAX_UNITS = 50_000  # demand units for siting by area (no demand layer); coarser units beyond
MAX_CANDIDATES = 5_000  # candidates derived from the gaps; wider spacing beyond


@dataclass(frozen=True)
class SitingReport:
    """Proposed sites (rank order), the solver figures and coverage per district before and after."""

    request: SitingRequest
    sites: list[dict[str, Any]]
    solutions: dict[str, dict[str, Any]]
    """Per method: objective (newly covered demand), bound, gap, optimal, seconds, status."""
    weight_unit: str
    """What the gains count: ``demand`` (the demand layer's weights) or ``km²``."""
    before: list[dict[str, Any]]
    after: list[dict[str, Any]]
    total_before: float
    total_after: float
    """Covered share of all demand (or area) before and after, 0..1."""


def siting_geojson(report: SitingReport) -> dict[str, Any]:
    """Proposals as a FeatureCollection (WGS84 points, rank order) with a ``summary`` foreign member."""
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [site["lon"], site["lat"]]},
            "properties": {key: value for key, value in site.items() if key not in ("lon", "lat")},
        }
        for site in report.sites
    ]
    summary = {
        "weight_unit": report.weight_unit,
        "covered_share_before": round(report.total_before, 4),
        "covered_share_after": round(report.total_after, 4),
        "solutions": report.solutions,
        "districts": [
            {
                "adcode": before["adcode"],
                "name": before["name"],
                "covered_share_before": before["covered_share"],
                "covered_share_after": after["covered_share"],
                "demand_covered_share_before": before.get("demand_covered_share"),
                "demand_covered_share_after": after.get("demand_covered_share"),
                "new_sites": sum(site["adcode"] == before["adcode"] for site in report.sites),
            }
            for before, after in zip(report.before, report.after, strict=True)
        ],
    }
    return {"type": "FeatureCollection", "summary": summary, "features": features}
