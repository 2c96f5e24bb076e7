"""Siting over the registry: where new stations help most, or the fewest that reach a target share.

``propose_sites`` takes the planner's coverage of the request, turns what is left uncovered into demand units
(demand points when a demand layer is loaded, else uncovered cells binned to squares weighted by area), takes
the user's candidates or derives a lattice of them from the units, and hands the problem to the solvers of
``geo.siting`` (greedy, exact or both). The answer is a ``SitingReport`` with coverage before and after.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from geo.coverage import Demand, compute_coverage, nearest_distance_m
from geo.errors import TargetUnreachable
from geo.grid import Grid
from geo.siting import SitingProblem, SitingResult, Stopped, exact, exact_cover, greedy, greedy_cover
from stations.errors import InvalidValue
from stations.planning.report import CoverageReport, SitingReport
from stations.planning.requests import SitingRequest
from stations.snapshot import lon_lat

if TYPE_CHECKING:
    from stations.planning.planner import Planner

Floats = NDArray[np.float64]
MAX_UNITS = 50_000
"""Demand units for siting by area (no demand layer); coarser units beyond."""
MAX_CANDIDATES = 5_000
"""Candidates derived from the gaps; wider spacing beyond."""


def propose_sites(planner: Planner, request: SitingRequest, stop: Callable[[], bool] | None = None) -> SitingReport:
    """Proposed sites for ``request`` against the planner's registry as it is now (see ``Planner.site``)."""
    for adcode, _ in request.quotas:
        planner.check_adcode(adcode)
    check = _stop_check(stop)
    report = planner.coverage(request.coverage)
    check()
    grid, radius = report.coverage.grid, request.coverage.radius_m
    station_lon, station_lat = lon_lat(report.stations)
    sx, sy = grid.project(station_lon, station_lat)
    unit_x, unit_y, unit_w, total_all, weight_unit = uncovered_units(report, request, planner.demand, sx, sy)
    candidate_x, candidate_y, names = candidate_sites(request, grid, unit_x, unit_y, unit_w)
    row, col = grid.cell_of(candidate_x, candidate_y)
    group = np.where(row >= 0, grid.raster[row, col], -1).astype(np.intp)
    districts = planner.districts
    quotas = {districts.position(adcode): quota for adcode, quota in request.quotas}
    problem = SitingProblem.from_arrays(
        unit_x, unit_y, unit_w, candidate_x, candidate_y, radius,
        min_spacing_m=request.min_spacing_m, candidate_group=group, quotas=quotas,
    )  # fmt: skip
    covered_before = total_all - float(unit_w.sum())
    check()
    results = solve(problem, request, total_all, covered_before, stop)
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
            "adcode": districts.adcodes[group[j]] if group[j] >= 0 else None,
            "district": districts.names[group[j]] if group[j] >= 0 else None,
            "name": names[j],
            "gain": round(float(gain), 3),
        }
        for rank, (j, x, y, gain) in enumerate(zip(best.chosen, lon, lat, best.gains, strict=True), start=1)
    ]
    after = compute_coverage(
        grid,
        np.concatenate((station_lon, lon)),
        np.concatenate((station_lat, lat)),
        radius,
        planner.demand,
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


def uncovered_units(
    report: CoverageReport, request: SitingRequest, demand: Demand | None, sx: Floats, sy: Floats
) -> tuple[Floats, Floats, Floats, float, str]:
    """Demand units not yet covered by the stations at planar ``sx``, ``sy``: demand points (weights) when a
    demand layer is loaded, else uncovered cells binned to ``unit_m`` squares weighted by area (km²).
    Also the total of all demand and its unit (``demand`` or ``km²``)."""
    grid, radius = report.coverage.grid, request.coverage.radius_m
    if demand is not None:
        dx, dy = grid.project(demand.lon, demand.lat)
        row, col = grid.cell_of(dx, dy)
        inside = row >= 0
        inside[inside] = grid.raster[row[inside], col[inside]] >= 0
        dx, dy, weight = dx[inside], dy[inside], demand.weight[inside]
        distance, _ = nearest_distance_m(sx, sy, dx, dy)
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
    return ux, uy, (count * grid.cell_area_km2).astype(np.float64), float(total), "km²"


def candidate_sites(
    request: SitingRequest, grid: Grid, unit_x: Floats, unit_y: Floats, unit_w: Floats
) -> tuple[Floats, Floats, list[str | None]]:
    """User candidates (all must lie in a district), or a lattice over the uncovered demand; planar x, y and
    names (None for derived ones)."""
    if request.candidates:
        cx, cy = grid.project(
            np.array([c.lon for c in request.candidates]), np.array([c.lat for c in request.candidates])
        )
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


def solve(
    problem: SitingProblem,
    request: SitingRequest,
    total_all: float,
    covered_before: float,
    stop: Callable[[], bool] | None = None,
) -> dict[str, SitingResult]:
    """The result of each method ``request`` asks for: ``add`` sites (maximal covering) or the fewest that reach
    ``target_share`` of ``total_all`` (set covering), ``covered_before`` being covered already.

    Only the errors that are about the request become ``InvalidValue``: more sites than candidates (``add``),
    a target no choice of candidates reaches (``geo.errors.TargetUnreachable``: ``target_share``) and no answer
    within the time limit (``time_limit_s``); anything else the solvers raise is a fault and passes."""
    methods = ["greedy", "exact"] if request.method == "both" else [request.method]
    greedy_p, greedy_target = partial(greedy, stop=stop), partial(greedy_cover, stop=stop)
    exact_p = partial(exact, time_limit_s=request.time_limit_s, stop=stop)
    exact_target = partial(exact_cover, time_limit_s=request.time_limit_s, stop=stop)
    results: dict[str, SitingResult] = {}
    if request.add is not None:
        if request.add > problem.n_candidates:
            raise InvalidValue("add", request.add, f"more than the {problem.n_candidates} candidate sites")
        for method in methods:
            results[method] = (greedy_p if method == "greedy" else exact_p)(problem, request.add)
        return results
    assert request.target_share is not None  # a SitingRequest has add or target_share
    needed = request.target_share * total_all - covered_before
    reachable = (covered_before + problem.total_weight) / total_all
    if needed > problem.total_weight + 1e-9:
        reason = f"not reachable with these candidates; best is {reachable:.4f}"
        raise InvalidValue("target_share", request.target_share, reason)
    try:
        for method in methods:
            solve_target = greedy_target if method == "greedy" else exact_target
            results[method] = solve_target(problem, max(needed, 0.0))
    except TargetUnreachable as exc:  # a target the spacing or quotas keep out of reach
        raise InvalidValue("target_share", request.target_share, str(exc)) from None
    except TimeoutError as exc:
        raise InvalidValue("time_limit_s", request.time_limit_s, str(exc)) from None
    return results


def _stop_check(stop: Callable[[], bool] | None) -> Callable[[], None]:
    def check() -> None:
        if stop is not None and stop():
            raise Stopped("siting was stopped before it finished")

    return check
