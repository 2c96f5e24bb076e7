"""Coverage by time and amenity: at one instant, over 24 hours of a weekday and a holiday, and night gaps.

Which stations count is ``stations.planning.filters.CoverageFilters``: open at an instant (China time, the
hours calendar's public holidays), with every amenity asked for, and stations of unknown hours counted as open,
as closed, or reported separately (default: the demand covered *only* by unknown-hours stations is a column of
its own). A temporarily closed station is closed at every instant.

* ``filtered_coverage`` — coverage at one instant (and/or of the stations with some amenities): the coverage
  engine (``geo.coverage.compute_coverage``) run on the stations that pass, twice under ``separate`` (open, and
  open or unknown), so it is exactly the engine's union of discs of those stations.
* ``hour_profile`` — share of area and demand covered per hour (00:00 … 23:00) per district, for a weekday and
  a holiday, without 48 coverage runs: stations are grouped by their distinct hours text, each text evaluated at
  the 48 instants once (a 48-bit mask per station: open, unknown); each cell and demand point gets the OR of the
  masks of the stations within the radius (a cells × stations incidence, built once), so it is covered at hour
  *h* iff bit *h* is set. Distances are the same exact cell-centre (and demand-point) distances the engine
  uses, so hour *h* of the profile equals ``filtered_coverage`` at that hour.
* ``night_gaps`` — cells covered at some hour 06:00–21:00 of a day but not at some hour 22:00–05:00 of it
  (the same date's early and late hours), per district and as polygons (``geo.gaps.find_gaps``).

Functions for a map's hour selector: ``hour_profile`` then ``HourProfile.for_map`` (compact JSON, per district
and day, 24 values each), ``hour_instants`` (the instants the profile's hours stand for), ``night_gap_features``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, cast

import numpy as np
from numpy.typing import NDArray

from geo.coverage import Coverage, compute_coverage
from geo.gaps import Gap, find_gaps
from stations import hours
from stations.planning.filters import CoverageFilters, UnknownHours, representative_days
from stations.planning.report import CoverageReport, _round_or_none
from stations.planning.requests import CoverageRequest
from stations.snapshot import StationsAt, hours_of, lon_lat

if TYPE_CHECKING:
    from geo.grid import Grid
    from stations.model import Station
    from stations.planning.planner import Planner

HOURS = tuple(range(24))
DAY_HOURS = tuple(range(6, 22))
"""Hours counted as day for night gaps: 06:00 … 21:00 (each hour's instant ``HH:00``)."""
NIGHT_HOURS = (22, 23, 0, 1, 2, 3, 4, 5)
"""Hours counted as night: 22:00 … 05:00 of the same date."""
MAX_INSTANTS = 64
"""Instants one bit mask holds."""
_REACH_CHUNK = 4_000_000
"""Candidate (station, cell) pairs examined at once when building the incidence (bounds memory)."""


def hour_instants(day: date) -> list[datetime]:
    """The 24 instants ``day`` 00:00 … 23:00, China time, that the profile's hours stand for."""
    return [datetime(day.year, day.month, day.day, h, tzinfo=hours.TIMEZONE) for h in HOURS]


def serving_stations(planner: Planner, request: CoverageRequest, amenities: Sequence[str]) -> StationsAt:
    """The registry's stations that serve ``request.types`` (not closed for good) and have ``amenities``."""
    return planner.registry.snapshot().serving(request.types, amenities)


def station_masks(
    stations: Sequence[Station], instants: Sequence[datetime]
) -> tuple[NDArray[np.uint64], NDArray[np.uint64]]:
    """Per station, bit *i* set when open (first array) or of unknown state (second) at ``instants[i]``.

    Each distinct hours text is evaluated at the instants once. No hours: unknown at every instant; a
    temporarily closed station: closed at every instant."""
    if len(instants) > MAX_INSTANTS:
        raise ValueError(f"{len(instants)} instants: at most {MAX_INSTANTS}")
    codes, texts, closed = hours_of(stations)
    # per hours code (the last entry: code -1, no hours), the instants it is open at and those it is unknown at
    open_by_code = np.zeros(len(texts) + 1, dtype=np.uint64)
    unknown_by_code = np.zeros(len(texts) + 1, dtype=np.uint64)
    unknown_by_code[-1] = np.uint64((1 << len(instants)) - 1)
    for code in np.unique(codes[~closed & (codes >= 0)]).tolist():
        opened = unknown = 0
        for bit, at in enumerate(instants):
            state = hours.status(texts[code], at)
            opened |= (state == "open") << bit
            unknown |= (state == "unknown") << bit
        open_by_code[code], unknown_by_code[code] = opened, unknown
    open_bits, unknown_bits = open_by_code[codes], unknown_by_code[codes]
    open_bits[closed] = unknown_bits[closed] = 0
    return open_bits, unknown_bits


def cell_reach(
    grid: Grid, station_x: NDArray[np.float64], station_y: NDArray[np.float64], radius_m: float
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
    """The cells × stations incidence as (cell, station) pairs, sorted by cell: cell centre within ``radius_m``
    of the station (plane metres, the distance the coverage engine uses). Only a station's window of raster
    cells is examined."""
    position = np.full(grid.shape, -1, dtype=np.intp)
    position[grid.row, grid.col] = np.arange(grid.n_cells)
    rows, cols = grid.shape
    reach = int(np.ceil(radius_m / grid.cell_m)) + 1
    offsets = np.arange(-reach, reach + 1)
    d_row, d_col = (a.ravel() for a in np.meshgrid(offsets, offsets, indexing="ij"))
    finite = np.flatnonzero(np.isfinite(station_x) & np.isfinite(station_y))
    s_row = np.floor((station_y[finite] - grid.y0) / grid.cell_m)
    s_col = np.floor((station_x[finite] - grid.x0) / grid.cell_m)
    near = (s_row >= -reach) & (s_row < rows + reach) & (s_col >= -reach) & (s_col < cols + reach)
    finite, s_row, s_col = finite[near], s_row[near].astype(np.intp), s_col[near].astype(np.intp)
    cells: list[NDArray[np.intp]] = []
    owners: list[NDArray[np.intp]] = []
    step = max(1, _REACH_CHUNK // d_row.size)
    for start in range(0, finite.size, step):
        part = slice(start, start + step)
        r = s_row[part, None] + d_row[None, :]
        c = s_col[part, None] + d_col[None, :]
        inside = (r >= 0) & (r < rows) & (c >= 0) & (c < cols)
        cell = np.where(inside, position[np.clip(r, 0, rows - 1), np.clip(c, 0, cols - 1)], -1)
        station = np.broadcast_to(finite[part, None], cell.shape)
        keep = cell >= 0
        cell, station = cell[keep], station[keep]
        distance = np.hypot(grid.x[cell] - station_x[station], grid.y[cell] - station_y[station])
        within = distance <= radius_m
        cells.append(cell[within])
        owners.append(station[within])
    cell_all = np.concatenate(cells) if cells else np.zeros(0, dtype=np.intp)
    owner_all = np.concatenate(owners) if owners else np.zeros(0, dtype=np.intp)
    order = np.argsort(cell_all, kind="stable")
    return cell_all[order], owner_all[order]


def point_reach(
    station_x: NDArray[np.float64], station_y: NDArray[np.float64], x: NDArray[np.float64], y: NDArray[np.float64],
    radius_m: float,
) -> tuple[NDArray[np.intp], NDArray[np.intp]]:  # fmt: skip
    """(point, station) pairs within ``radius_m`` (plane metres), sorted by point (a k-d tree of the stations)."""
    from scipy.spatial import cKDTree

    if station_x.size == 0 or x.size == 0:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    tree = cKDTree(np.column_stack((station_x, station_y)))
    found = cast("list[list[int]]", tree.query_ball_point(np.column_stack((x, y)), r=radius_m, return_sorted=False))
    counts = np.fromiter((len(f) for f in found), dtype=np.intp, count=len(found))
    stations = np.fromiter((s for f in found for s in f), dtype=np.intp, count=int(counts.sum()))
    points = np.repeat(np.arange(len(found)), counts)
    # the tree's test is its own; keep exactly the engine's (distance ≤ radius) so both agree at the boundary
    within = np.hypot(x[points] - station_x[stations], y[points] - station_y[stations]) <= radius_m
    return points[within], stations[within]


def _or_per(keys: NDArray[np.intp], bits: NDArray[np.uint64]) -> tuple[NDArray[np.intp], NDArray[np.uint64]]:
    """The distinct ``keys`` (sorted input) and the OR of ``bits`` over each."""
    if keys.size == 0:
        return keys, bits
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
    return keys[starts], np.bitwise_or.reduceat(bits, starts)


@dataclass(frozen=True, eq=False)
class ReachMasks:
    """For each cell and demand point within reach of a station: the OR of those stations' masks."""

    grid: Grid
    instants: tuple[datetime, ...]
    cells: NDArray[np.intp]
    """Positions (into the grid's flat arrays) of the cells some station reaches."""
    cell_open: NDArray[np.uint64]
    cell_unknown: NDArray[np.uint64]
    point_district: NDArray[np.intp]
    """District of each demand point inside the grid (empty without demand)."""
    point_weight: NDArray[np.float64]
    point_open: NDArray[np.uint64]
    """Masks of each of those points (0 when no station reaches it)."""
    point_unknown: NDArray[np.uint64]
    demand_cell: tuple[NDArray[np.intp], NDArray[np.intp]] | None


def reach_masks(
    grid: Grid,
    stations: Sequence[Station],
    radius_m: float,
    instants: Sequence[datetime],
    demand: Any = None,
) -> ReachMasks:
    """``ReachMasks`` of ``stations`` at ``instants`` (≤ 64) for cells of ``grid`` and ``demand`` points."""
    open_bits, unknown_bits = station_masks(stations, instants)
    sx, sy = grid.project(*lon_lat(stations))
    sx, sy = np.atleast_1d(sx), np.atleast_1d(sy)
    cell, owner = cell_reach(grid, sx, sy, radius_m)
    cells, cell_open = _or_per(cell, open_bits[owner])
    _, cell_unknown = _or_per(cell, unknown_bits[owner])
    empty_u = np.zeros(0, dtype=np.uint64)
    p_district, p_weight, p_open, p_unknown = np.zeros(0, dtype=np.intp), np.zeros(0), empty_u, empty_u
    demand_cell = None
    if demand is not None:
        dx, dy = grid.project(demand.lon, demand.lat)
        row, col = grid.cell_of(dx, dy)
        owner_d = np.where(row >= 0, grid.raster[row, col], -1)
        inside = owner_d >= 0
        px, py = np.asarray(dx)[inside], np.asarray(dy)[inside]
        point, by = point_reach(sx, sy, px, py, radius_m)
        p_open, p_unknown = np.zeros(px.size, dtype=np.uint64), np.zeros(px.size, dtype=np.uint64)
        reached, masks = _or_per(point, open_bits[by])
        p_open[reached] = masks
        reached, masks = _or_per(point, unknown_bits[by])
        p_unknown[reached] = masks
        p_district, p_weight = owner_d[inside].astype(np.intp), demand.weight[inside]
        demand_cell = (row[inside], col[inside])
    return ReachMasks(
        grid, tuple(instants), cells, cell_open, cell_unknown, p_district, p_weight, p_open, p_unknown, demand_cell
    )


def _bit_matrix(masks: NDArray[np.uint64], n_bits: int) -> NDArray[np.bool_]:
    """(len(masks), n_bits) booleans: bit *i* of each mask."""
    shifts = np.arange(n_bits, dtype=np.uint64)
    return ((masks[:, None] >> shifts[None, :]) & np.uint64(1)).astype(bool)


def _sums_per_district(
    district: NDArray[np.intp], weight: NDArray[np.float64] | None, opened: NDArray[np.uint64],
    unknown: NDArray[np.uint64], n_districts: int, n_bits: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:  # fmt: skip
    """Per district and bit: weight (or count) where some open station reaches, and where only stations of
    unknown state reach. Distinct (district, open mask, unknown mask) combinations are summed first: a city has
    millions of cells but few distinct combinations."""
    if district.size == 0:
        return np.zeros((n_districts, n_bits)), np.zeros((n_districts, n_bits))
    _, open_id = np.unique(opened, return_inverse=True)
    _, unknown_id = np.unique(unknown, return_inverse=True)
    key = (district.astype(np.int64) * (open_id.max() + 1) + open_id) * (unknown_id.max() + 1) + unknown_id
    combos, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    totals = np.bincount(inverse, weights=weight, minlength=combos.size)
    open_m = _bit_matrix(opened[first], n_bits)
    unknown_only = _bit_matrix(unknown[first] & ~opened[first], n_bits)
    covered = np.zeros((n_districts, n_bits))
    only = np.zeros((n_districts, n_bits))
    np.add.at(covered, district[first], open_m * totals[:, None])
    np.add.at(only, district[first], unknown_only * totals[:, None])
    return covered, only


@dataclass(frozen=True)
class HourFigures:
    """Per district (rows) and instant (columns): area and demand covered, and covered only by unknown hours."""

    cells: NDArray[np.float64]
    cells_open: NDArray[np.float64]
    cells_unknown_only: NDArray[np.float64]
    demand: NDArray[np.float64] | None
    demand_open: NDArray[np.float64] | None
    demand_unknown_only: NDArray[np.float64] | None


def hour_figures(masks: ReachMasks) -> HourFigures:
    """Sums of ``masks`` per district and instant."""
    grid, n_bits = masks.grid, len(masks.instants)
    n = len(grid.districts)
    cells = np.bincount(grid.district, minlength=n).astype(float)
    district = grid.district[masks.cells].astype(np.intp)
    c_open, c_only = _sums_per_district(district, None, masks.cell_open, masks.cell_unknown, n, n_bits)
    if masks.demand_cell is None:
        return HourFigures(cells, c_open, c_only, None, None, None)
    demand = np.bincount(masks.point_district, weights=masks.point_weight, minlength=n).astype(np.float64)
    d_open, d_only = _sums_per_district(
        masks.point_district, masks.point_weight, masks.point_open, masks.point_unknown, n, n_bits
    )
    return HourFigures(cells, c_open, c_only, demand, d_open, d_only)


def _share(part: NDArray[np.float64], whole: NDArray[np.float64]) -> NDArray[np.float64]:
    whole_b = np.broadcast_to(whole[..., None] if whole.ndim < part.ndim else whole, part.shape)
    out: NDArray[np.float64] = np.divide(part, whole_b, out=np.full(part.shape, np.nan), where=whole_b > 0)
    return out


@dataclass(frozen=True)
class HourProfile:
    """Coverage per hour (00:00 … 23:00) of each representative day, per district and in all.

    Arrays are (day, hour, district); ``covered_share`` and ``demand_covered_share`` count unknown hours as the
    ``unknown_hours`` policy says; under ``separate`` the ``unknown_only_*`` arrays hold what only stations of
    unknown hours reach (not in the covered figures)."""

    request: CoverageRequest
    filters: CoverageFilters
    version: int
    days: tuple[tuple[str, date], ...]
    adcodes: tuple[str, ...]
    names: tuple[str, ...]
    area_km2: NDArray[np.float64]
    covered_share: NDArray[np.float64]
    unknown_only_share: NDArray[np.float64]
    demand: NDArray[np.float64] | None
    demand_covered_share: NDArray[np.float64] | None
    unknown_only_demand_share: NDArray[np.float64] | None
    total_covered_share: NDArray[np.float64] = field(repr=False)
    """(day, hour) over all districts, by area."""
    total_demand_covered_share: NDArray[np.float64] | None = field(repr=False, default=None)

    def rows(self, adcode: str | None = None, hour: int | None = None) -> list[dict[str, Any]]:
        """The flat table: day, date, hour, adcode, name, covered_share (and demand, unknown-only columns)."""
        table = []
        for d, (kind, day) in enumerate(self.days):
            for h in HOURS if hour is None else (hour,):
                for i, code in enumerate(self.adcodes):
                    if adcode is not None and code != adcode:
                        continue
                    record: dict[str, Any] = {
                        "day": kind, "date": day.isoformat(), "hour": h, "adcode": code, "name": self.names[i],
                        "covered_share": _round_or_none(self.covered_share[d, h, i], 4),
                    }  # fmt: skip
                    if self.filters.unknown_hours == "separate":
                        record["unknown_only_share"] = _round_or_none(self.unknown_only_share[d, h, i], 4)
                    if self.demand_covered_share is not None and self.unknown_only_demand_share is not None:
                        record["demand_covered_share"] = _round_or_none(self.demand_covered_share[d, h, i], 4)
                        if self.filters.unknown_hours == "separate":
                            share = self.unknown_only_demand_share[d, h, i]
                            record["unknown_only_demand_share"] = _round_or_none(share, 4)
                    table.append(record)
        return table

    def for_map(self) -> dict[str, Any]:
        """Compact JSON for an hour selector: the days, and per district and day 24 values of each figure
        (shares 0..1, None where there is nothing to share), plus the totals over all districts."""

        def series(values: NDArray[np.float64] | None, d: int, i: int | None) -> list[float | None] | None:
            if values is None:
                return None
            picked = values[d, :, i] if i is not None else values[d]
            return [_round_or_none(v, 4) for v in picked]

        separate = self.filters.unknown_hours == "separate"
        days = [{"day": kind, "date": day.isoformat()} for kind, day in self.days]
        districts: dict[str, Any] = {}
        for i, code in enumerate(self.adcodes):
            districts[code] = {
                kind: {
                    "covered_share": series(self.covered_share, d, i),
                    "demand_covered_share": series(self.demand_covered_share, d, i),
                    "unknown_only_share": series(self.unknown_only_share, d, i) if separate else None,
                    "unknown_only_demand_share": series(self.unknown_only_demand_share, d, i) if separate else None,
                }
                for d, (kind, _) in enumerate(self.days)
            }
        total = {
            kind: {
                "covered_share": series(self.total_covered_share, d, None),
                "demand_covered_share": series(self.total_demand_covered_share, d, None),
            }
            for d, (kind, _) in enumerate(self.days)
        }
        return {
            "hours": list(HOURS),
            "days": days,
            "districts": districts,
            "total": total,
            "radius_m": self.request.radius_m,
            "registry_version": self.version,
            **self.filters.describe(),
        }


def _covered_and_only(
    opened: NDArray[np.float64], only: NDArray[np.float64], policy: UnknownHours
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Covered and unknown-only sums under ``policy``."""
    if policy == "open":
        return opened + only, np.zeros_like(only)
    if policy == "closed":
        return opened, np.zeros_like(only)
    return opened, only


def profile_days(reference: date | None = None) -> tuple[tuple[str, date], ...]:
    """(``weekday``, date) and (``holiday``, date): ``representative_days`` after ``reference`` (today)."""
    weekday, holiday = representative_days(reference or hours.today())
    return (("weekday", weekday), ("holiday", holiday))


def hour_profile(
    planner: Planner,
    request: CoverageRequest,
    filters: CoverageFilters = CoverageFilters(),
    days: Sequence[tuple[str, date]] | None = None,
) -> HourProfile:
    """Coverage per hour of ``days`` (default ``profile_days()``) per district, cached per registry version.
    ``filters.open_at`` is ignored (each hour is an instant); its amenities and unknown-hours policy apply."""
    planner.limits.check_coverage(request)
    chosen = tuple(days) if days is not None else profile_days()
    filters = CoverageFilters(None, filters.amenities, filters.unknown_hours)
    version = planner.registry.snapshot().version

    def compute() -> HourProfile:
        grid = planner.grid(request.cell_m)
        stations = serving_stations(planner, request, filters.amenities)
        instants = [at for _, day in chosen for at in hour_instants(day)]
        masks = reach_masks(grid, stations, request.radius_m, instants, planner.demand)
        figures = hour_figures(masks)
        shape = (len(chosen), len(HOURS), len(grid.districts))

        def per_day(values: NDArray[np.float64]) -> NDArray[np.float64]:
            return values.T.reshape(shape)  # (district, instant) → (day, hour, district)

        c_cov, c_only = _covered_and_only(figures.cells_open, figures.cells_unknown_only, filters.unknown_hours)
        covered = per_day(_share(c_cov, figures.cells))
        only = per_day(_share(c_only, figures.cells))
        total = (c_cov.sum(axis=0) / max(figures.cells.sum(), 1)).reshape(shape[:2])
        demand = d_share = d_only = d_total = None
        if figures.demand is not None and figures.demand_open is not None and figures.demand_unknown_only is not None:
            d_cov, d_only_sum = _covered_and_only(
                figures.demand_open, figures.demand_unknown_only, filters.unknown_hours
            )
            demand = figures.demand
            d_share, d_only = per_day(_share(d_cov, demand)), per_day(_share(d_only_sum, demand))
            all_demand = demand.sum()
            d_total = d_cov.sum(axis=0) / all_demand if all_demand > 0 else np.full(len(instants), np.nan)
            d_total = d_total.reshape(shape[:2])
        return HourProfile(
            request, filters, version, chosen, tuple(grid.districts.adcodes), tuple(grid.districts.names),
            grid.district_area_km2, covered, only, demand, d_share, d_only, total, d_total,
        )  # fmt: skip

    return planner._cached(("hour-profile", version, request, filters, chosen), compute)


@dataclass(frozen=True)
class FilteredCoverage(CoverageReport):
    """A ``CoverageReport`` of the stations ``filters`` let through (``stations``: those counted, unknown hours as
    the policy says); under ``separate``, ``with_unknown`` is the coverage of the open stations and those of
    unknown hours, and the rows say what only the latter cover."""

    filters: CoverageFilters = field(default_factory=CoverageFilters)
    with_unknown: Coverage | None = None
    open_stations: int = 0
    unknown_stations: int = 0

    def rows(self, adcode: str | None = None) -> list[dict[str, Any]]:
        """``CoverageReport.rows`` plus, under ``separate`` with a time, ``unknown_only_share`` (and
        ``unknown_only_demand_share``): the share covered only by stations of unknown hours."""
        table = super().rows(adcode)
        if self.with_unknown is None:
            return table
        extra = {}
        for before, after in zip(self.coverage.districts, self.with_unknown.districts, strict=True):
            area = after.covered_share - before.covered_share
            demand = None
            if after.demand_covered_share is not None and before.demand_covered_share is not None:
                demand = after.demand_covered_share - before.demand_covered_share
            extra[before.adcode] = (_round_or_none(area, 4), _round_or_none(demand, 4))
        for record in table:
            area_only, demand_only = extra[record["adcode"]]
            record["unknown_only_share"] = area_only
            if "demand_covered_share" in record:
                record["unknown_only_demand_share"] = demand_only
        return table

    def describe(self) -> dict[str, Any]:
        """The filters and station counts as an answer echoes them."""
        return {
            **self.filters.describe(),
            "open_stations": self.open_stations,
            "unknown_stations": self.unknown_stations,
        }


def filtered_coverage(planner: Planner, request: CoverageRequest, filters: CoverageFilters) -> FilteredCoverage:
    """Coverage of ``request`` counting only the stations ``filters`` let through (see the module)."""
    planner.limits.check_coverage(request)
    snapshot = planner.registry.snapshot()

    def compute() -> FilteredCoverage:
        stations = serving_stations(planner, request, filters.amenities)
        opened, unknown = stations, stations[:0]
        if filters.open_at is not None:
            open_bits, unknown_bits = station_masks(stations, [filters.open_at])
            opened, unknown = stations.where(open_bits != 0), stations.where(unknown_bits != 0)
        counted = opened + unknown if filters.unknown_hours == "open" else opened
        grid = planner.grid(request.cell_m)

        def run(chosen: StationsAt) -> Coverage:
            return compute_coverage(grid, chosen.lon, chosen.lat, request.radius_m, planner.demand)

        coverage = run(counted)
        with_unknown = run(opened + unknown) if filters.unknown_hours == "separate" and unknown else None
        if filters.unknown_hours == "separate" and not unknown and filters.open_at is not None:
            with_unknown = coverage
        counts = snapshot.counts_by_adcode(include_closed=False)
        return FilteredCoverage(
            request, snapshot.version, coverage, counted, counts, filters, with_unknown, len(opened), len(unknown)
        )

    return planner._cached(("filtered-coverage", snapshot.version, request, filters), compute)


def filtered_gaps(
    planner: Planner, request: CoverageRequest, filters: CoverageFilters, adcode: str | None = None,
    limit: int | None = 20,
) -> tuple[list[Gap], Sequence[Station]]:  # fmt: skip
    """Gaps of ``filtered_coverage`` (of the stations counted), and those stations (``nearest_station`` indexes)."""
    planner.check_adcode(adcode)
    result = filtered_coverage(planner, request, filters)
    stations = result.stations
    lon, lat = lon_lat(stations)
    key = ("filtered-gaps", result.version, request, filters, adcode, limit)
    found = planner._cached(key, lambda: find_gaps(result.coverage, lon, lat, adcode=adcode, limit=limit))
    return found, stations


@dataclass(frozen=True)
class NightGaps:
    """Cells covered by day but not all night, per district, and the largest such areas as gaps."""

    request: CoverageRequest
    filters: CoverageFilters
    version: int
    day: tuple[str, date]
    rows_: list[dict[str, Any]]
    gaps: list[Gap]
    stations: Sequence[Station]
    """Stations the gaps' ``nearest_station`` indexes refer to (the serving ones, whatever their hours)."""

    def rows(self, adcode: str | None = None) -> list[dict[str, Any]]:
        """Per district: area (km²) and demand covered by day, of it dark at some night hour, and under
        ``separate`` the part of that only stations of unknown hours might light."""
        return [dict(r) for r in self.rows_ if adcode is None or r["adcode"] == adcode]


def night_mask(masks: ReachMasks, policy: UnknownHours) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Over ``masks.cells`` (instants: one day's 24 hours): night gap (covered some day hour, not some night
    hour), and night gap that stations of unknown hours reach at every such night hour."""
    opened, unknown = masks.cell_open, masks.cell_unknown
    covered = opened | unknown if policy == "open" else opened
    union = opened | unknown
    day_bits = np.uint64(sum(1 << h for h in DAY_HOURS))
    night_bits = np.uint64(sum(1 << h for h in NIGHT_HOURS))
    by_day = (covered & day_bits) != 0
    dark = (~covered & night_bits) != 0
    gap = by_day & dark
    maybe = gap & ((~union & night_bits) == 0) if policy == "separate" else np.zeros_like(gap)
    return gap, maybe


def night_gaps(
    planner: Planner,
    request: CoverageRequest,
    filters: CoverageFilters = CoverageFilters(),
    day: tuple[str, date] | None = None,
    adcode: str | None = None,
    limit: int | None = 20,
) -> NightGaps:
    """Night gaps of ``day`` (default the representative weekday): covered at some hour 06:00–21:00, not at
    some hour 22:00–05:00 (unknown hours as ``filters`` says; ``separate`` counts them dark and reports them)."""
    planner.limits.check_coverage(request)
    planner.check_adcode(adcode)
    chosen = day or profile_days()[0]
    filters = CoverageFilters(None, filters.amenities, filters.unknown_hours)
    version = planner.registry.snapshot().version

    def compute() -> NightGaps:
        grid = planner.grid(request.cell_m)
        stations = serving_stations(planner, request, filters.amenities)
        masks = reach_masks(grid, stations, request.radius_m, hour_instants(chosen[1]), planner.demand)
        gap, maybe = night_mask(masks, filters.unknown_hours)
        n = len(grid.districts)
        district = grid.district[masks.cells]
        covered = masks.cell_open | masks.cell_unknown if filters.unknown_hours == "open" else masks.cell_open
        by_day = (covered & np.uint64(sum(1 << h for h in DAY_HOURS))) != 0
        day_cells = np.bincount(district, weights=by_day, minlength=n)
        gap_cells = np.bincount(district, weights=gap, minlength=n)
        maybe_cells = np.bincount(district, weights=maybe, minlength=n)
        demand_at: dict[str, NDArray[np.float64]] = {}
        if masks.demand_cell is not None:
            in_gap = np.zeros(grid.shape, dtype=bool)
            in_gap[grid.row[masks.cells[gap]], grid.col[masks.cells[gap]]] = True
            point_gap = in_gap[masks.demand_cell]
            demand_at["night_gap_demand"] = np.bincount(
                masks.point_district, weights=masks.point_weight * point_gap, minlength=n
            ).astype(np.float64)
        rows = []
        area = grid.cell_area_km2
        for i in range(n):
            record: dict[str, Any] = {
                "adcode": grid.districts.adcodes[i], "name": grid.districts.names[i],
                "day_covered_km2": round(float(day_cells[i]) * area, 3),
                "night_gap_km2": round(float(gap_cells[i]) * area, 3),
                "night_gap_share": _round_or_none(gap_cells[i] / day_cells[i], 4) if day_cells[i] else None,
            }  # fmt: skip
            if filters.unknown_hours == "separate":
                record["night_gap_unknown_hours_km2"] = round(float(maybe_cells[i]) * area, 3)
            for name, values in demand_at.items():
                record[name] = round(float(values[i]), 1)
            rows.append(record)
        distance = np.zeros(grid.n_cells)
        distance[masks.cells[gap]] = np.inf
        weight = masks.point_weight if masks.demand_cell is not None else None
        coverage = Coverage(grid, 1.0, distance, [], masks.demand_cell, weight)
        lon, lat = np.array([s.lon for s in stations], dtype=float), np.array([s.lat for s in stations], dtype=float)
        found = find_gaps(coverage, lon, lat, adcode=adcode, limit=limit)
        return NightGaps(request, filters, version, chosen, rows, found, stations)

    return planner._cached(("night-gaps", version, request, filters, chosen, adcode, limit), compute)


def night_gap_features(result: NightGaps) -> dict[str, Any]:
    """Night gaps as a GeoJSON FeatureCollection (WGS84 polygons), with the day they are for as ``summary``."""
    from stations.planning.geojson import gap_features

    collection = gap_features(result.gaps, result.stations)
    for feature in collection["features"]:
        feature["properties"]["layer"] = "night_gap"
    kind, day = result.day
    collection["summary"] = {
        "day": kind, "date": day.isoformat(), "night_hours": "22:00-06:00", "radius_m": result.request.radius_m,
        "registry_version": result.version, **result.filters.describe(),
    }  # fmt: skip
    return collection
