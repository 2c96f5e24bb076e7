"""Siting new stations: maximal covering (MCLP) and set covering, greedy and exact.

A ``SitingProblem`` holds demand units not yet covered by an existing station (weights: orders, people or
area), candidate sites, and which candidates would cover which units (within ``radius_m`` in a metric plane).
Units that the very same candidates cover are merged, which shrinks the exact model without changing it.

* ``greedy(problem, p)`` — lazy greedy (CELF): at least (1 − 1/e) ≈ 63% of the optimum, usually ~98–100%.
* ``exact(problem, p, time_limit_s)`` — a sparse MILP solved by HiGHS (scipy.optimize.milp), by row generation
  when units outnumber candidates (rows only for the units that decide the answer). It reports the objective,
  the proven bound and the gap; a solution cut short by the time limit is never called optimal.
* ``greedy_cover`` / ``exact_cover`` — the fewest sites that cover a target amount of demand
  (``geo.errors.TargetUnreachable`` when no choice of the candidates reaches it).

Every solver takes an optional ``stop`` (a function answering "should I give up?", e.g. because the client
who asked has gone): greedy asks it as it picks sites; with ``stop``, the exact solvers run HiGHS in a child
process, which is ended as soon as ``stop()`` says so (HiGHS cannot be interrupted from within scipy). Either
way a stopped solver raises ``Stopped`` and returns nothing.

Both constructors follow spopt: ``from_arrays`` for planar coordinates in metres, ``from_frames`` for
GeoDataFrames in any CRS.

>>> problem = SitingProblem.from_arrays([0, 10, 20, 1000], [0, 0, 0, 0], [1, 1, 1, 5], [10, 1000], [0, 0], radius_m=15)
>>> [int(j) for j in greedy(problem, 1).chosen], float(exact(problem, 2).objective)
([1], 8.0)
"""

from __future__ import annotations

import heapq
import math
import multiprocessing
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import sparse
from scipy.spatial import cKDTree

from geo.errors import TargetUnreachable
from geo.grid import local_projection

if TYPE_CHECKING:  # scipy.optimize (HiGHS) is loaded by the first exact solve (~0.4 s of every app start else)
    from scipy.optimize import LinearConstraint, OptimizeResult

Floats = NDArray[np.float64]
Stop = Callable[[], bool] | None
"""Asked while a solver runs; True: give up (``Stopped``)."""
STOP_POLL_S = 0.1
"""How often an exact solve in a child process asks ``stop``."""
STOP_EVERY = 64
"""Greedy asks ``stop`` once per this many candidates it looks at."""


class Stopped(Exception):
    """A solver gave up because its ``stop()`` said so; there is no result."""


@dataclass(frozen=True, eq=False)
class SitingProblem:
    """Demand units and candidate sites; ``cover[i, j]`` is True when candidate j covers unit i."""

    weights: NDArray[np.float64]
    """Weight of each (merged) demand unit still uncovered."""
    cover: sparse.csr_array
    """(units × candidates) boolean incidence."""
    candidate_x: NDArray[np.float64]
    candidate_y: NDArray[np.float64]
    radius_m: float
    conflicts: NDArray[np.intp]
    """(k, 2) pairs of candidates closer than the minimum spacing: at most one of each pair may be chosen."""
    candidate_group: NDArray[np.intp]
    """Group (e.g. district) of each candidate, -1 for none; used with ``quotas``."""
    quotas: dict[int, int]
    """Most sites allowed per group."""

    @classmethod
    def from_arrays(
        cls,
        demand_x: ArrayLike,
        demand_y: ArrayLike,
        weights: ArrayLike,
        candidate_x: ArrayLike,
        candidate_y: ArrayLike,
        radius_m: float,
        *,
        min_spacing_m: float = 0.0,
        candidate_group: ArrayLike | None = None,
        quotas: dict[int, int] | None = None,
    ) -> SitingProblem:
        """A problem from planar coordinates in metres (demand points need not be uncovered: pass only those
        that are, or weight the covered ones 0)."""
        if not (math.isfinite(radius_m) and radius_m > 0):
            raise ValueError(f"radius_m={radius_m!r}: must be a positive number of metres")
        dx, dy = np.asarray(demand_x, float).ravel(), np.asarray(demand_y, float).ravel()
        w = np.asarray(weights, float).ravel()
        cx, cy = np.asarray(candidate_x, float).ravel(), np.asarray(candidate_y, float).ravel()
        if not dx.shape == dy.shape == w.shape or cx.shape != cy.shape:
            raise ValueError("demand x, y and weights (and candidate x, y) must have equal lengths")
        if np.any(~np.isfinite(w) | (w < 0)):
            raise ValueError("demand weights must be finite and ≥ 0")
        keep = w > 0
        dx, dy, w = dx[keep], dy[keep], w[keep]
        n = cx.size
        if dx.size and n:
            lists = cKDTree(np.column_stack((cx, cy))).query_ball_point(np.column_stack((dx, dy)), r=radius_m)
            lengths = np.fromiter((len(item) for item in lists), dtype=np.intp, count=len(lists))
            columns = np.fromiter((j for item in lists for j in item), dtype=np.intp, count=int(lengths.sum()))
            rows = np.repeat(np.arange(dx.size), lengths)
        else:
            rows = columns = np.empty(0, dtype=np.intp)
        incidence = sparse.csr_array((np.ones(rows.size, dtype=bool), (rows, columns)), shape=(dx.size, n))
        weights_merged, cover = _merge_identical_units(w, incidence)
        conflicts = np.empty((0, 2), dtype=np.intp)
        if min_spacing_m > 0 and n > 1:
            # pairs strictly closer than the spacing: exactly min_spacing_m apart is allowed
            closer = float(np.nextafter(min_spacing_m, 0.0))
            pairs = cKDTree(np.column_stack((cx, cy))).query_pairs(r=closer, output_type="ndarray")
            conflicts = pairs.astype(np.intp).reshape(-1, 2)
        group = np.full(n, -1, dtype=np.intp) if candidate_group is None else np.asarray(candidate_group, np.intp)
        if group.shape != (n,):
            raise ValueError(f"candidate_group has {group.size} entries for {n} candidates")
        if any(quota < 0 for quota in (quotas or {}).values()):
            raise ValueError(f"quotas must be ≥ 0: {quotas}")
        return cls(weights_merged, cover, cx, cy, float(radius_m), conflicts, group, dict(quotas or {}))

    @classmethod
    def from_frames(
        cls,
        demand: object,
        candidates: object,
        radius_m: float,
        *,
        weight: str | None = "weight",
        min_spacing_m: float = 0.0,
    ) -> SitingProblem:
        """A problem from GeoDataFrames of demand points (optional ``weight`` column) and candidate points, in
        any CRS; both are projected to a local equal-area plane centred on the demand."""
        import geopandas  # heavy; only this constructor needs it

        if not isinstance(demand, geopandas.GeoDataFrame) or not isinstance(candidates, geopandas.GeoDataFrame):
            raise TypeError("demand and candidates must be GeoDataFrames")
        wgs = demand.to_crs("EPSG:4326") if demand.crs is not None else demand
        centre = wgs.geometry.union_all().centroid
        plane = local_projection(centre.x, centre.y)
        demand_plane, candidate_plane = demand.to_crs(plane), candidates.to_crs(plane)
        weights = demand[weight].to_numpy(float) if weight and weight in demand else np.ones(len(demand))
        return cls.from_arrays(
            demand_plane.geometry.x, demand_plane.geometry.y, weights,
            candidate_plane.geometry.x, candidate_plane.geometry.y, radius_m, min_spacing_m=min_spacing_m,
        )  # fmt: skip

    @property
    def n_candidates(self) -> int:
        """Number of candidate sites."""
        return int(self.cover.shape[1])

    @property
    def total_weight(self) -> float:
        """Weight of all demand units together."""
        return float(self.weights.sum())

    def covered_weight(self, chosen: Sequence[int] | NDArray[np.intp]) -> float:
        """Demand weight covered by the chosen candidates together."""
        chosen = np.asarray(chosen, dtype=np.intp)
        if chosen.size == 0:
            return 0.0
        hit = np.asarray(self.cover[:, chosen].sum(axis=1)).ravel() > 0
        return float(self.weights[hit].sum())

    def feasible(self, chosen: Sequence[int] | NDArray[np.intp]) -> bool:
        """True when ``chosen`` respects the minimum spacing and the quotas."""
        picked = set(int(j) for j in chosen)
        if any(int(a) in picked and int(b) in picked for a, b in self.conflicts):
            return False
        counts: dict[int, int] = {}
        for j in picked:
            group = int(self.candidate_group[j])
            counts[group] = counts.get(group, 0) + 1
        return all(counts.get(group, 0) <= quota for group, quota in self.quotas.items())


def _merge_identical_units(
    weights: NDArray[np.float64], incidence: sparse.csr_array
) -> tuple[NDArray[np.float64], sparse.csr_array]:
    """Sum the weights of units covered by exactly the same candidates; drop units no candidate covers."""
    incidence = incidence.tocsr()
    incidence.sort_indices()
    keys: dict[bytes, int] = {}
    group = np.empty(incidence.shape[0], dtype=np.intp)
    indptr, indices = incidence.indptr, incidence.indices
    for i in range(incidence.shape[0]):
        group[i] = keys.setdefault(indices[indptr[i] : indptr[i + 1]].tobytes(), len(keys))
    first = np.full(len(keys), -1, dtype=np.intp)
    first[group[::-1]] = np.arange(incidence.shape[0])[::-1]
    # float64 with weights (numpy's stubs say integer whatever the weights)
    merged_weights = cast("NDArray[np.float64]", np.bincount(group, weights=weights, minlength=len(keys)))
    merged = incidence[first]
    reachable = np.diff(merged.indptr) > 0
    return merged_weights[reachable], sparse.csr_array(merged[reachable])


@dataclass(frozen=True)
class SitingResult:
    """Chosen candidates in rank order (largest marginal gain first) and the figures a planner reads.

    Maximal covering: ``bound`` is a proven upper bound on the newly covered demand. Set covering
    (``kind="set_covering"``): ``bound`` is the proven least number of sites.
    """

    method: str
    chosen: NDArray[np.intp]
    gains: NDArray[np.float64]
    """Newly covered demand each site adds, given the ones ranked before it."""
    objective: float
    """Demand newly covered by all chosen sites."""
    bound: float
    """Proven upper bound on the best objective (greedy: objective / (1 − 1/e))."""
    optimal: bool
    seconds: float
    status: str
    kind: str = "maximal_covering"

    @property
    def gap(self) -> float:
        """Relative optimality gap: (bound − objective) / bound for maximal covering, (sites − bound) / sites
        for set covering; 0 when proven optimal."""
        if self.kind == "set_covering":
            sites = self.chosen.size
            return 0.0 if sites == 0 else max(0.0, (sites - self.bound) / sites)
        return 0.0 if self.bound <= 0 else max(0.0, (self.bound - self.objective) / self.bound)


def _rank(problem: SitingProblem, chosen: Iterable[int]) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """Order chosen sites by greedy marginal gain among themselves."""
    remaining = list(int(j) for j in chosen)
    covered = np.zeros(problem.weights.size, dtype=bool)
    cover = problem.cover.tocsc()
    order, gains = [], []
    while remaining:
        best, best_gain, best_rows = -1, -1.0, None
        for j in remaining:
            rows = cover.indices[cover.indptr[j] : cover.indptr[j + 1]]
            gain = float(problem.weights[rows[~covered[rows]]].sum())
            if gain > best_gain:
                best, best_gain, best_rows = j, gain, rows
        order.append(best)
        gains.append(best_gain)
        covered[best_rows] = True
        remaining.remove(best)
    return np.array(order, dtype=np.intp), np.array(gains, dtype=float)


def _lazy_greedy(
    problem: SitingProblem, p: int | None, target: float | None, stop: Stop = None
) -> tuple[list[int], list[float]]:
    """CELF: stale gains are upper bounds (coverage is submodular), so a site whose recomputed gain still
    tops the heap is the true best. Stops after ``p`` sites or once ``target`` weight is covered; raises
    ``Stopped`` when ``stop()`` says so."""
    cover = problem.cover.tocsc()
    covered = np.zeros(problem.weights.size, dtype=bool)
    conflicts: dict[int, list[int]] = {}
    for a, b in problem.conflicts:
        conflicts.setdefault(int(a), []).append(int(b))
        conflicts.setdefault(int(b), []).append(int(a))
    blocked = np.zeros(problem.n_candidates, dtype=bool)
    group_count: dict[int, int] = {}

    def rows_of(j: int) -> NDArray[np.integer[Any]]:  # the matrix's index dtype: int32, or int64 when large
        return cover.indices[cover.indptr[j] : cover.indptr[j + 1]]

    heap = [(-float(problem.weights[rows_of(j)].sum()), j, 0) for j in range(problem.n_candidates)]
    heapq.heapify(heap)
    chosen: list[int] = []
    gains: list[float] = []
    total = 0.0
    looked = 0
    while heap and (p is None or len(chosen) < p) and (target is None or total < target * (1 - 1e-12) - 1e-12):
        looked += 1
        if stop is not None and looked % STOP_EVERY == 0 and stop():
            raise Stopped("greedy siting was stopped before it finished")
        negative, j, stamp = heapq.heappop(heap)
        group = int(problem.candidate_group[j])
        if blocked[j] or group_count.get(group, 0) >= problem.quotas.get(group, math.inf):
            continue
        if stamp != len(chosen):  # stale: recompute and push back
            rows = rows_of(j)
            heapq.heappush(heap, (-float(problem.weights[rows[~covered[rows]]].sum()), j, len(chosen)))
            continue
        if -negative <= 0:
            break  # nothing left to gain
        chosen.append(j)
        gains.append(-negative)
        total += -negative
        covered[rows_of(j)] = True
        group_count[group] = group_count.get(group, 0) + 1
        blocked[conflicts.get(j, [])] = True
    return chosen, gains


def greedy(problem: SitingProblem, p: int, stop: Stop = None) -> SitingResult:
    """Lazy greedy maximal covering with ``p`` new sites (fewer if nothing more can be gained)."""
    _check_p(problem, p)
    start = time.perf_counter()
    chosen, gains = _lazy_greedy(problem, p, None, stop)
    objective = float(sum(gains))
    if len(problem.conflicts):
        bound = problem.total_weight  # greedy has no approximation guarantee under spacing conflicts
    elif problem.quotas:
        bound = min(2 * objective, problem.total_weight)  # quotas make a partition matroid: greedy ≥ 1/2
    else:
        bound = min(objective / (1 - 1 / math.e), problem.total_weight)  # the classic (1 − 1/e) guarantee
    optimal = objective >= problem.total_weight - 1e-9  # everything coverable is covered
    return SitingResult("greedy", np.array(chosen, dtype=np.intp), np.array(gains), objective,
                        objective if optimal else bound, optimal, time.perf_counter() - start, "heuristic")  # fmt: skip


def _check_p(problem: SitingProblem, p: int) -> None:
    if p <= 0:
        raise ValueError(f"p={p}: must be at least 1")
    if p > problem.n_candidates:
        raise ValueError(f"p={p}: more than the {problem.n_candidates} candidate sites")


def _side_constraints(problem: SitingProblem, n_vars: int) -> list[LinearConstraint]:
    from scipy.optimize import LinearConstraint

    constraints = []
    if len(problem.conflicts):
        k = len(problem.conflicts)
        rows = np.repeat(np.arange(k), 2)
        matrix = sparse.csr_array((np.ones(2 * k), (rows, problem.conflicts.ravel())), shape=(k, n_vars))
        constraints.append(LinearConstraint(matrix, -np.inf, 1))
    for group, quota in problem.quotas.items():
        members = np.flatnonzero(problem.candidate_group == group)
        row = sparse.csr_array((np.ones(members.size), (np.zeros(members.size, np.intp), members)), shape=(1, n_vars))
        constraints.append(LinearConstraint(row, -np.inf, quota))
    return constraints


def _weight_scale(problem: SitingProblem) -> float:
    return float(problem.weights.max()) if problem.weights.size and problem.weights.max() > 0 else 1.0


def _solve(
    c: Floats,
    constraints: list[LinearConstraint],
    integrality: NDArray[np.intp],
    upper: Floats,
    time_limit_s: float,
    stop: Stop = None,
) -> OptimizeResult:
    """``milp`` within ``time_limit_s``; with ``stop``, in a child process that is ended once ``stop()`` is
    True (then ``Stopped``)."""
    if stop is None:
        return _milp(c, constraints, integrality, upper, time_limit_s)
    if stop():
        raise Stopped("the exact solve was stopped before it started")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["geo.siting"])  # numpy and scipy load once, in the fork server
    receiver, sender = context.Pipe(duplex=False)
    args = (sender, c, constraints, integrality, upper, time_limit_s)
    process = context.Process(target=_milp_in_child, args=args, name="yizhan-milp")
    process.start()
    sender.close()
    try:
        while not receiver.poll(STOP_POLL_S):
            if stop():
                raise Stopped("the exact solve was stopped before it finished")
            if not process.is_alive() and not receiver.poll():
                raise RuntimeError(f"the MILP solver process ended without an answer (exit code {process.exitcode})")
        failed, answer = receiver.recv()
    finally:
        if process.is_alive():
            process.kill()
        process.join()
        receiver.close()
    if failed:
        raise RuntimeError(f"the MILP solver failed: {answer}")
    return cast("OptimizeResult", answer)  # what _milp_in_child sent when it did not fail


def _milp(
    c: Floats, constraints: list[LinearConstraint], integrality: NDArray[np.intp], upper: Floats, time_limit_s: float
) -> OptimizeResult:
    from scipy.optimize import Bounds, milp

    return milp(
        c,
        constraints=constraints,
        integrality=integrality,
        bounds=Bounds(0, upper),
        options={"time_limit": float(time_limit_s), "mip_rel_gap": 0.0, "disp": False},
    )


def _milp_in_child(
    sender: Connection,
    c: Floats,
    constraints: list[LinearConstraint],
    integrality: NDArray[np.intp],
    upper: Floats,
    time_limit_s: float,
) -> None:
    """Run in a child process: solve and send ``(failed, OptimizeResult or message)`` back."""
    try:
        answer: tuple[bool, object] = (False, _milp(c, constraints, integrality, upper, time_limit_s))
    except Exception as exc:  # reported to the parent, which raises
        answer = (True, f"{type(exc).__name__}: {exc}")
    sender.send(answer)
    sender.close()


def exact(problem: SitingProblem, p: int, time_limit_s: float = 60.0, stop: Stop = None) -> SitingResult:
    """Maximal covering solved exactly: max Σ wᵢ·[unit i covered] with at most ``p`` sites, spacing and quotas.

    Solved by row generation on the MILP max Σ wᵢyᵢ s.t. yᵢ ≤ Σ_{j covers i} xⱼ, Σ xⱼ ≤ p (x binary, y in
    [0, 1]) — which HiGHS takes minutes to solve whole on tens of thousands of units. Only the units in a working
    set S get a row; every unit outside S is credited to each chosen site that covers it (the union bound), so
    the reduced model's optimum R* bounds the true one: F(x) ≤ R(x) for every choice x, hence F* ≤ R*. Its
    solution x* is optimal for the true problem once no unit outside S is covered twice by x* (then
    F(x*) = R(x*) = R* ≥ F*); otherwise those units join S and the model is solved again. S starts with the
    units heavier than the mean and those covered twice by greedy's sites, which for demand concentrated in few
    units leaves a model of a few percent of the rows. Each round is one HiGHS solve within what is left of
    ``time_limit_s``; the reported bound is the least of the rounds' proven bounds (each bounds F*), the answer the
    best of the rounds' and greedy's sites, and it is called optimal only when proven so.

    With no more units than candidates the whole model is solved at once: on samples of bench/siting.py's
    instance (3,070 candidates) row generation took 10.4 s against 2.7 s for 1,483 units, 4.0 s against 9.7 s
    for 5,697, and 24 s against 351 s for all 35,666.
    """
    if problem.weights.size <= problem.n_candidates:
        return _exact_whole(problem, p, time_limit_s, stop)
    return _exact_by_rows(problem, p, time_limit_s, stop)


def _exact_by_rows(problem: SitingProblem, p: int, time_limit_s: float = 60.0, stop: Stop = None) -> SitingResult:
    """``exact`` by row generation, whatever the problem's size."""
    _check_p(problem, p)
    start = time.perf_counter()
    deadline = start + time_limit_s
    cover = problem.cover.astype(float).tocsr()
    best = np.asarray(_lazy_greedy(problem, p, None, stop)[0], dtype=np.intp)
    best_weight = problem.covered_weight(best)
    times = _times_covered(cover, best)
    in_model = times >= 2
    if problem.weights.size:
        in_model |= problem.weights > problem.weights.mean()
    bound, converged, message, rounds = problem.total_weight, False, "Time limit reached.", 0
    while (remaining := deadline - time.perf_counter()) > 0 or rounds == 0:
        rounds += 1
        result, scale = _solve_reduced(problem, cover, in_model, p, max(remaining, 0.0), stop)
        dual = getattr(result, "mip_dual_bound", None)
        if dual is not None and np.isfinite(dual):
            bound = min(bound, -float(dual) * scale)
        message = str(result.message)
        if result.x is None:
            break
        chosen = np.flatnonzero(result.x[: problem.n_candidates] > 0.5)
        times = _times_covered(cover, chosen)
        weight = float(problem.weights[times > 0].sum())
        if weight > best_weight:
            best, best_weight = chosen, weight
        missing = ~in_model & (times >= 2)
        if result.status != 0 or bound - best_weight <= 1e-9 * max(1.0, abs(bound)):
            break  # stopped by the time limit, or proven optimal by the bound
        if not missing.any():  # the reduced model is exact at its optimum
            converged = True
            break
        in_model |= missing
    seconds = time.perf_counter() - start
    order, gains = _rank(problem, best)
    objective = problem.covered_weight(order)
    if converged and bound - objective > 1e-9 * max(1.0, abs(bound)):
        message = f"HiGHS's bound {bound:g} stays above {objective:g} (its tolerances)"
    optimal = bound - objective <= 1e-9 * max(1.0, abs(bound))
    status = "optimal" if optimal else f"stopped: {message} ({rounds} rounds of row generation)"
    return SitingResult("exact", order, gains, objective, max(bound, objective), optimal, seconds, status)


def _times_covered(cover: sparse.csr_array, chosen: Sequence[int] | NDArray[np.intp]) -> NDArray[np.int64]:
    """How many of the chosen candidates cover each unit."""
    chosen = np.asarray(chosen, dtype=np.intp)
    if chosen.size == 0:
        return np.zeros(cover.shape[0], dtype=np.int64)
    return np.rint(np.asarray(cover[:, chosen].sum(axis=1)).ravel()).astype(np.int64)


def _solve_reduced(
    problem: SitingProblem,
    cover: sparse.csr_array,
    in_model: NDArray[np.bool_],
    p: int,
    time_limit_s: float,
    stop: Stop,
) -> tuple[OptimizeResult, float]:
    """Solve the row-generation model of ``exact``: rows for the units in ``in_model``, the others' weight
    credited to every candidate covering them. Returns HiGHS's result and the weight scale of its objective."""
    from scipy.optimize import LinearConstraint

    n = problem.n_candidates
    rows = np.flatnonzero(in_model)
    k = rows.size
    # weights scaled to at most 1 so that none falls below the solver's tolerances (1e-7), whatever unit the
    # demand comes in
    scale = _weight_scale(problem)
    outside = np.where(in_model, 0.0, problem.weights)
    credited = np.asarray(cover.T @ outside, dtype=float)
    c = -np.concatenate((credited, problem.weights[rows])) / scale
    link = sparse.hstack([-cover[rows], sparse.eye_array(k)], format="csr")
    budget = sparse.csr_array(np.concatenate((np.ones(n), np.zeros(k)))[None, :])
    constraints = [LinearConstraint(link, -np.inf, 0), LinearConstraint(budget, -np.inf, p)]
    constraints += _side_constraints(problem, n + k)
    integrality = np.concatenate((np.ones(n, dtype=np.intp), np.zeros(k, dtype=np.intp)))  # 1: x is integer
    return _solve(c, constraints, integrality, np.ones(n + k), time_limit_s, stop), scale


def _exact_whole(problem: SitingProblem, p: int, time_limit_s: float = 60.0, stop: Stop = None) -> SitingResult:
    """The whole MILP of ``exact`` (a row for every unit) in one HiGHS solve: the reference that the tests
    compare ``exact`` with, and what ``exact`` solved before row generation."""
    from scipy.optimize import LinearConstraint

    _check_p(problem, p)
    start = time.perf_counter()
    m, n = problem.cover.shape
    # variables: x (n candidates) then y (m units); weights scaled to at most 1 so that none falls below the
    # solver's tolerances (1e-7), whatever unit the demand comes in
    scale = _weight_scale(problem)
    c = np.concatenate((np.zeros(n), -problem.weights / scale))
    link = sparse.hstack([-problem.cover.astype(float), sparse.eye_array(m)], format="csr")
    budget = sparse.csr_array(np.concatenate((np.ones(n), np.zeros(m)))[None, :])
    constraints = [LinearConstraint(link, -np.inf, 0), LinearConstraint(budget, -np.inf, p)]
    constraints += _side_constraints(problem, n + m)
    integrality = np.concatenate((np.ones(n, dtype=np.intp), np.zeros(m, dtype=np.intp)))  # 1: x is integer
    result = _solve(c, constraints, integrality, np.ones(n + m), time_limit_s, stop)
    seconds = time.perf_counter() - start
    # stopped by the time limit with nothing or with less than greedy finds: greedy's sites are always feasible
    # and HiGHS's bound still holds, so answer with the better of the two
    greedy_sites = _lazy_greedy(problem, p, None, stop)[0]
    chosen = np.flatnonzero(result.x[:n] > 0.5) if result.x is not None else greedy_sites
    if problem.covered_weight(greedy_sites) > problem.covered_weight(chosen):
        chosen = np.asarray(greedy_sites, dtype=np.intp)
    order, gains = _rank(problem, chosen)
    objective = problem.covered_weight(order)
    dual = getattr(result, "mip_dual_bound", None)
    bound = -float(dual) * scale if dual is not None and np.isfinite(dual) else problem.total_weight
    optimal = result.status == 0 and bound - objective <= 1e-9 * max(1.0, abs(bound))
    status = "optimal" if optimal else f"stopped: {result.message}"
    return SitingResult("exact", order, gains, objective, max(bound, objective), optimal, seconds, status)


def greedy_cover(problem: SitingProblem, target_weight: float, stop: Stop = None) -> SitingResult:
    """Fewest sites, chosen greedily, that newly cover at least ``target_weight`` of demand."""
    _check_target(target_weight)
    start = time.perf_counter()
    chosen, gains = _lazy_greedy(problem, None, target_weight, stop)
    objective = float(sum(gains))
    if objective < target_weight - 1e-9:
        raise TargetUnreachable(
            f"target {target_weight:g} not reachable: the candidates cover at most {objective:g} here"
        )
    # every site covers at most the largest single-site gain, so at least target / that many sites are needed
    per_site = problem.cover.T.astype(float) @ problem.weights
    largest = float(per_site.max()) if per_site.size else 0.0
    least = math.ceil(target_weight / largest - 1e-9) if target_weight > 0 and largest > 0 else 0
    return SitingResult("greedy", np.array(chosen, dtype=np.intp), np.array(gains), objective, float(least),
                        least == len(chosen), time.perf_counter() - start, "heuristic", "set_covering")  # fmt: skip


def _check_target(target_weight: float) -> None:
    if not math.isfinite(target_weight) or target_weight < 0:
        raise ValueError(f"target weight {target_weight!r}: must be finite and ≥ 0")


def exact_cover(
    problem: SitingProblem, target_weight: float, time_limit_s: float = 60.0, stop: Stop = None
) -> SitingResult:
    """Fewest sites that newly cover at least ``target_weight``: min Σ xⱼ s.t. Σ wᵢyᵢ ≥ target,
    yᵢ ≤ Σ_{j covers i} xⱼ. ``objective`` is the covered weight; ``bound`` is the proven least number of sites."""
    from scipy.optimize import LinearConstraint

    _check_target(target_weight)
    if target_weight > problem.total_weight + 1e-9:
        raise TargetUnreachable(
            f"target {target_weight:g} not reachable: candidates can cover {problem.total_weight:g}"
        )
    start = time.perf_counter()
    m, n = problem.cover.shape
    c = np.concatenate((np.ones(n), np.zeros(m)))
    link = sparse.hstack([-problem.cover.astype(float), sparse.eye_array(m)], format="csr")
    scale = _weight_scale(problem)
    reach = sparse.csr_array(np.concatenate((np.zeros(n), problem.weights / scale))[None, :])
    constraints = [LinearConstraint(link, -np.inf, 0), LinearConstraint(reach, target_weight / scale, np.inf)]
    constraints += _side_constraints(problem, n + m)
    integrality = np.concatenate((np.ones(n, dtype=np.intp), np.zeros(m, dtype=np.intp)))  # 1: x is integer
    result = _solve(c, constraints, integrality, np.ones(n + m), time_limit_s, stop)
    if result.status == 2:  # infeasible: the spacing or quotas keep the target out of reach
        raise TargetUnreachable(f"target {target_weight:g} not reachable under the spacing and quotas")
    if result.x is None:
        raise TimeoutError(f"no solution reaching the target found within {time_limit_s:g} s ({result.message})")
    order, gains = _rank(problem, np.flatnonzero(result.x[:n] > 0.5))
    dual = getattr(result, "mip_dual_bound", None)
    sites_bound = math.ceil(float(dual) - 1e-6) if dual is not None and np.isfinite(dual) else 0
    optimal = result.status == 0 or sites_bound >= order.size
    status = "optimal" if optimal else f"stopped: {result.message}; at least {sites_bound} sites are needed"
    return SitingResult("exact", order, gains, problem.covered_weight(order), float(max(sites_bound, 0)),
                        optimal, time.perf_counter() - start, status, kind="set_covering")  # fmt: skip
