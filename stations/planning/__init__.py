"""Planning over the registry, one concern a module.

* ``requests`` — what a planner asks (``CoverageRequest``, ``SitingRequest``, ``Candidate``) and how much one
  installation answers (``PlanningLimits``, from the settings); light: no numpy, scipy or shapely.
* ``planner`` — ``Planner``: coverage and gaps cached per registry version within a byte budget.
* ``siting`` — where new stations help most: demand units, candidates, the solvers of ``geo.siting``.
* ``demand`` — ``load_demand``: the demand layer from a CSV.
* ``report`` — the answers: ``CoverageReport``, ``SitingReport``.
* ``geojson`` — the answers as GeoJSON: ``gap_features``, ``siting_geojson``.

``from stations.planning import X`` works for each public name; the names are loaded on first use (PEP 562), so
importing this package, or ``stations.planning.requests`` alone (as ``stations.queries`` does), loads no scipy
or shapely.

>>> import stations.planning as planning
>>> planning.CoverageRequest(radius_m=500).radius_m
500
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stations.planning.demand import load_demand
    from stations.planning.geojson import gap_features, siting_geojson
    from stations.planning.planner import Planner, value_bytes
    from stations.planning.report import CoverageReport, SitingReport
    from stations.planning.requests import (
        Candidate,
        CoverageRequest,
        PlanningLimits,
        SitingMethod,
        SitingRequest,
    )

_MODULES = {
    "Candidate": "requests",
    "CoverageRequest": "requests",
    "PlanningLimits": "requests",
    "SitingMethod": "requests",
    "SitingRequest": "requests",
    "CoverageReport": "report",
    "SitingReport": "report",
    "load_demand": "demand",
    "gap_features": "geojson",
    "siting_geojson": "geojson",
    "Planner": "planner",
    "value_bytes": "planner",
}
"""Where each public name lives."""

__all__ = [
    "Candidate",
    "CoverageReport",
    "CoverageRequest",
    "Planner",
    "PlanningLimits",
    "SitingMethod",
    "SitingReport",
    "SitingRequest",
    "gap_features",
    "load_demand",
    "siting_geojson",
    "value_bytes",
]


def __getattr__(name: str) -> Any:
    """Load the module of a public name on first use (PEP 562) and keep the name here."""
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_MODULES})
