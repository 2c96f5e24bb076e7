"""What a planner asks, checked: coverage and siting requests, user candidates, and the operator's limits.

Light on purpose (no numpy, scipy or shapely): ``stations.queries`` builds these from what either door was given,
and the CLI must answer ``--help`` without loading the planner. A request checks what is true of any request
(a positive radius, a known station type, ``add`` or ``target_share``); how large a question one installation
answers is ``PlanningLimits``, built from the settings (``YIZHAN_MAX_CELLS``, ``YIZHAN_MAX_NEW_SITES``...) and
checked by the planner.

>>> CoverageRequest(cell_m=60.001).cell_m
60.0
>>> PlanningLimits(max_radius_m=50_000, max_cells=10_000_000, max_new_sites=5, max_time_limit_s=600).check_siting(
...     SitingRequest(add=6))
Traceback (most recent call last):
...
stations.errors.InvalidValue: add=6: must be between 1 and 5 (setting YIZHAN_MAX_NEW_SITES)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from stations.errors import InvalidValue
from stations.vocabulary import STATION_TYPES

if TYPE_CHECKING:
    from stations.settings import Settings

SitingMethod = Literal["greedy", "exact", "both"]
SITING_METHODS: tuple[SitingMethod, ...] = ("greedy", "exact", "both")


@dataclass(frozen=True)
class CoverageRequest:
    """What a planner asks: service distance (m), station types (empty: all), grid cell size (m).

    ``cell_m`` is rounded to whole metres (at least 1 m): finer differences change no planning answer worth
    having, and every distinct cell size costs a grid of its own, so ``cell_m=60.001`` asks for the 60 m grid.
    The largest radius and grid one installation answers are ``PlanningLimits``.
    """

    radius_m: float = 1000.0
    types: tuple[str, ...] = ()
    cell_m: float = 100.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.radius_m) and self.radius_m > 0):
            raise InvalidValue("radius_m", self.radius_m, "must be a positive number of metres")
        if not (math.isfinite(self.cell_m) and self.cell_m >= 1):
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
        if self.add is not None and self.add < 1:
            raise InvalidValue("add", self.add, "must be at least 1")
        if self.target_share is not None and not 0 < self.target_share <= 1:
            raise InvalidValue("target_share", self.target_share, "must be in (0, 1]")
        if self.method not in SITING_METHODS:
            raise InvalidValue("method", self.method, "unknown method", SITING_METHODS)
        if not (math.isfinite(self.time_limit_s) and self.time_limit_s > 0):
            raise InvalidValue("time_limit_s", self.time_limit_s, "must be more than 0 seconds")
        if not (math.isfinite(self.min_spacing_m) and self.min_spacing_m >= 0):
            raise InvalidValue("min_spacing_m", self.min_spacing_m, "must be ≥ 0 metres")
        for adcode, quota in self.quotas:
            if quota < 0:
                raise InvalidValue("quotas", f"{adcode}={quota}", "a quota is a number of sites ≥ 0")


LIMIT_SETTINGS = {
    "max_radius_m": "planning_max_radius_m",
    "max_cells": "max_cells",
    "max_new_sites": "max_new_sites",
    "max_time_limit_s": "max_time_limit_s",
}
"""Each field of ``PlanningLimits`` and the setting (``stations.settings.Settings``) it comes from."""


@dataclass(frozen=True)
class PlanningLimits:
    """How large a planning question one installation answers; the values are its settings (see
    ``LIMIT_SETTINGS``), so the API and the CLI refuse the same requests with the same words."""

    max_radius_m: float
    """Largest service distance, metres."""
    max_cells: int
    """Largest coverage grid, cells (``geo.grid.Grid.build`` refuses more and suggests a cell size)."""
    max_new_sites: int
    """Most new sites one siting request may ask for (``add``)."""
    max_time_limit_s: float
    """Longest time limit of the exact solvers, seconds."""

    @classmethod
    def from_settings(cls, settings: Settings) -> PlanningLimits:
        """The limits ``settings`` set."""
        return cls(**{name: getattr(settings, setting) for name, setting in LIMIT_SETTINGS.items()})

    @classmethod
    def defaults(cls) -> PlanningLimits:
        """The settings' defaults (whatever the environment says), for planners built without settings."""
        from stations.settings import Settings

        fields = Settings.model_fields
        return cls(**{name: fields[setting].default for name, setting in LIMIT_SETTINGS.items()})

    def check_coverage(self, request: CoverageRequest) -> None:
        """``InvalidValue`` when ``request`` asks for more than these limits allow (the grid's size is checked
        when it is built: only the districts tell how many cells a cell size gives)."""
        if request.radius_m > self.max_radius_m:
            reason = f"must be between 0 and {self.max_radius_m:g} metres (setting YIZHAN_PLANNING_MAX_RADIUS_M)"
            raise InvalidValue("radius_m", request.radius_m, reason)

    def check_siting(self, request: SitingRequest) -> None:
        """``check_coverage`` of its coverage, plus the number of new sites and the solvers' time limit."""
        self.check_coverage(request.coverage)
        if request.add is not None and request.add > self.max_new_sites:
            reason = f"must be between 1 and {self.max_new_sites} (setting YIZHAN_MAX_NEW_SITES)"
            raise InvalidValue("add", request.add, reason)
        if request.time_limit_s > self.max_time_limit_s:
            reason = f"must be in (0, {self.max_time_limit_s:g}] seconds (setting YIZHAN_MAX_TIME_LIMIT_S)"
            raise InvalidValue("time_limit_s", request.time_limit_s, reason)
