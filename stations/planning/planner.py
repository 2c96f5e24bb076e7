"""Planning over the registry: coverage per district and service gaps, cached per registry version.

Stations closed for good (``operating_status=closed``) are left out; every other station of the chosen
types counts as serving. The grid of a district set and cell size is built once and reused; results are
cached per (registry version, radius, types, cell size), so a repeated question is answered at once and a
write to the registry makes the next answer fresh.

The caches are bounded by bytes, not entries (``cache_bytes``; the size of a value is estimated from its numpy
arrays and geometries, see ``value_bytes``), least recently used dropped first. Cell sizes are rounded to whole
metres (``CoverageRequest``), so ``cell_m=60.001`` and ``cell_m=60`` share one grid and one cached answer.

How large a question is answered is ``PlanningLimits`` (the settings' ``max_cells``, ``max_new_sites``...),
checked here for both doors. A grid over the limit is ``geo.errors.GridTooLarge``, which
``stations.errors.domain_error`` turns into the ``InvalidValue`` on ``cell_m`` that both doors report.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, TypeVar, cast

import numpy as np
import shapely
from scipy import sparse

from geo.coverage import Demand, compute_coverage
from geo.districts import Districts
from geo.gaps import Gap, find_gaps
from geo.grid import Grid
from stations.errors import InvalidValue
from stations.model import Station
from stations.planning.report import CoverageReport, SitingReport
from stations.planning.requests import CoverageRequest, PlanningLimits, SitingRequest
from stations.planning.siting import propose_sites
from stations.registry import Registry
from stations.snapshot import StationsAt, lon_lat

if TYPE_CHECKING:
    from stations.planning.filters import CoverageFilters
    from stations.planning.hotspots import HotspotReport

DEFAULT_CACHE_BYTES = 256_000_000
"""Cache budget of a planner built without settings (a server passes ``YIZHAN_PLANNING_CACHE_BYTES``)."""
T = TypeVar("T")


class Planner:
    """Coverage, gaps and siting of the registry's current stations over its districts.

    Grids, coverage reports and gap lists are cached together within ``cache_bytes`` (estimated by
    ``value_bytes``; a value that alone exceeds the budget is returned but not kept). ``limits`` bound the
    questions answered; by default the settings' defaults (``PlanningLimits.defaults``)."""

    def __init__(
        self,
        registry: Registry,
        demand: Demand | None = None,
        limits: PlanningLimits | None = None,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> None:
        if registry.districts is None:
            raise InvalidValue("districts", None, "planning needs district boundaries (YIZHAN_DISTRICTS_PATH)")
        self.registry = registry
        self.districts: Districts = registry.districts
        self.demand = demand
        self.limits = limits if limits is not None else PlanningLimits.defaults()
        self.cache_bytes = cache_bytes
        self._cache: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._cached_bytes = 0
        self._lock = threading.Lock()

    @property
    def max_cells(self) -> int:
        """Largest grid built (cells): ``limits.max_cells``."""
        return self.limits.max_cells

    @property
    def cached_bytes(self) -> int:
        """Estimated bytes the cache holds now (≤ ``cache_bytes``)."""
        return self._cached_bytes

    def _cached(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return cast(T, self._cache[key][0])
        value = compute()
        size = value_bytes(value)
        with self._lock:
            if key in self._cache:  # another thread computed it meanwhile: keep one
                return cast(T, self._cache[key][0])
            if size <= self.cache_bytes:
                self._forget_older_than(getattr(value, "version", None))
                self._cache[key] = (value, size)
                self._cached_bytes += size
            while self._cached_bytes > self.cache_bytes:
                _, (_, dropped) = self._cache.popitem(last=False)
                self._cached_bytes -= dropped
        return value

    def _forget_older_than(self, version: object) -> None:
        """Drop (lock held) the cached reports of registry versions before ``version`` (None: no report): a report's
        stations are its snapshot's (``StationsAt``), so an old report would keep an old snapshot alive."""
        if not isinstance(version, int):
            return
        for key, (value, size) in list(self._cache.items()):
            older = getattr(value, "version", None)
            if isinstance(older, int) and older < version:
                del self._cache[key]
                self._cached_bytes -= size

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
        """The grid at ``cell_m`` metres (built once per cell size); ``geo.errors.GridTooLarge`` (with a cell
        size that fits) beyond ``limits.max_cells``."""
        return self._cached(("grid", cell_m), lambda: Grid.build(self.districts, cell_m, self.limits.max_cells))

    def coverage(self, request: CoverageRequest) -> CoverageReport:
        """Coverage of every district for ``request`` against the current registry."""
        self.limits.check_coverage(request)
        snapshot = self.registry.snapshot()

        def compute() -> CoverageReport:
            serving = snapshot.serving(request.types)  # chosen from the columns, none built
            coverage = compute_coverage(
                self.grid(request.cell_m), serving.lon, serving.lat, request.radius_m, self.demand
            )
            counts = snapshot.counts_by_adcode(include_closed=False)
            return CoverageReport(request, snapshot.version, coverage, serving, counts)

        return self._cached(("coverage", snapshot.version, request), compute)

    def gaps(self, request: CoverageRequest, adcode: str | None = None, limit: int | None = 20) -> list[Gap]:
        """Gaps for ``request``, largest uncovered demand (or area) first, optionally in one district."""
        self.check_adcode(adcode)
        report = self.coverage(request)
        lon, lat = lon_lat(report.stations)
        key = ("gaps", report.version, request, adcode, limit)
        return self._cached(key, lambda: find_gaps(report.coverage, lon, lat, adcode=adcode, limit=limit))

    def hotspots(
        self, request: CoverageRequest, adcode: str | None = None, filters: CoverageFilters | None = None
    ) -> HotspotReport:
        """Hot spots for ``request`` (optionally in one district): the unserved demand split into pieces one
        new station serves, with every gap's station count (``geo.hotspots``); cached like gaps. With active
        ``filters`` (open at a time, with amenities), of the coverage of the stations they let through
        (``stations.planning.timed.filtered_coverage``): exactly the hot spots of a registry of those stations."""
        from geo.hotspots import find_hotspots
        from stations.planning.hotspots import HotspotReport
        from stations.planning.timed import FilteredCoverage, filtered_coverage

        self.check_adcode(adcode)
        if filters is not None and filters.active:
            report: CoverageReport = filtered_coverage(self, request, filters)
        else:
            report, filters = self.coverage(request), None
        lon, lat = lon_lat(report.stations)

        def compute() -> HotspotReport:
            found = find_hotspots(report.coverage, lon, lat, self.demand, adcode=adcode)
            counted = report.describe() if isinstance(report, FilteredCoverage) else {}
            return HotspotReport(request, report.version, found, report.stations, filters, counted)

        return self._cached(("hotspots", report.version, request, filters, adcode), compute)

    def site(self, request: SitingRequest, stop: Callable[[], bool] | None = None) -> SitingReport:
        """Propose new sites for ``request`` against the current registry (not cached: each run solves);
        see ``stations.planning.siting``.

        ``stop`` is asked between steps and by the solvers as they run (e.g. "has the client gone?"); once it
        answers True the run ends with ``geo.siting.Stopped`` and no report."""
        self.limits.check_siting(request)
        return propose_sites(self, request, stop)


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
    if isinstance(value, StationsAt):  # its positions; the snapshot is the registry's (older ones: _forget_older_than)
        return sys.getsizeof(value) + value_bytes(value.positions, seen)
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
