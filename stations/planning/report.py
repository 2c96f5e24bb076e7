"""The answers of planning: coverage per district (``CoverageReport``) and proposed sites (``SitingReport``)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from stations.planning.requests import CoverageRequest, SitingRequest
from stations.vocabulary import STATION_TYPES

if TYPE_CHECKING:
    from geo.coverage import Coverage
    from stations.model import Station


@dataclass(frozen=True)
class CoverageReport:
    """Per-district figures plus what is needed to draw and rank them."""

    request: CoverageRequest
    version: int
    coverage: Coverage
    stations: Sequence[Station]
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
    """``value`` rounded (to whole units by default), or None when there is none or it is not finite.

    >>> _round_or_none(812.6), _round_or_none(0.12345, 4), _round_or_none(float("inf"))
    (813.0, 0.1235, None)
    """
    if value is None or not math.isfinite(value):
        return None
    return round(float(value), digits) if digits else float(round(value))


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
