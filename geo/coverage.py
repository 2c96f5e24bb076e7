"""Coverage: the share of each district (and of its demand) within a service distance of a station.

A grid cell (``geo.grid``) is covered when the distance from its centre to the nearest station is at most
``radius_m``. This is the union of station circles sampled at cell centres: it converges to the exact
union-of-buffers area as cells shrink, and gives distances, percentiles and gaps, which a union of buffers
cannot. The covered cells and the median / p90 distance per district are exact without a nearest-station
query per cell (``geo.coverage_engine``: one query per 4 × 4-cell block centre, bounds for every cell, and
exact distances only in the boundary band around the radius and around each quantile); the per-cell
distances (``Coverage.distance_m``) are a k-d tree query over every cell, run on first use.

>>> from shapely.geometry import box
>>> from geo.districts import Districts
>>> from geo.grid import Grid
>>> grid = Grid.build(Districts(["1"], ["square"], [box(120.0, 30.0, 120.1, 30.1)]), cell_m=100)
>>> result = compute_coverage(grid, [120.05], [30.05], radius_m=1000)
>>> row = result.districts[0]
>>> round(row.area_km2, 1), round(row.covered_share, 3)  # π km² out of 9.64 × 11.1 km²
(106.9, 0.029)
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pykdtree.kdtree import KDTree
from threadpoolctl import threadpool_limits

from geo.coverage_engine import coverage_core
from geo.grid import Grid


@dataclass(frozen=True)
class Demand:
    """Demand points (e.g. delivery orders, population) with non-negative weights, WGS84 degrees."""

    lon: NDArray[np.float64]
    lat: NDArray[np.float64]
    weight: NDArray[np.float64]

    @classmethod
    def from_arrays(cls, lon: ArrayLike, lat: ArrayLike, weight: ArrayLike | None = None) -> Demand:
        """Demand from WGS84 degrees and weights (1 each when ``weight`` is None); ValueError if they differ in
        length, a coordinate is not finite or a weight is negative or not finite."""
        lon_a, lat_a = np.asarray(lon, dtype=float).ravel(), np.asarray(lat, dtype=float).ravel()
        weight_a = np.ones_like(lon_a) if weight is None else np.asarray(weight, dtype=float).ravel()
        if not lon_a.shape == lat_a.shape == weight_a.shape:
            raise ValueError("demand lon, lat and weight differ in length")
        if not (np.isfinite(lon_a).all() and np.isfinite(lat_a).all()):
            first = int(np.flatnonzero(~(np.isfinite(lon_a) & np.isfinite(lat_a)))[0])
            raise ValueError(f"demand point {first} has a non-finite coordinate ({lon_a[first]}, {lat_a[first]})")
        bad = ~np.isfinite(weight_a) | (weight_a < 0)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            raise ValueError(f"demand weight {weight_a[first]!r} at point {first}: weights must be finite and ≥ 0")
        return cls(lon_a, lat_a, weight_a)


@dataclass(frozen=True)
class DistrictCoverage:
    """Coverage figures of one district; areas in km², distances in metres (cell centre to station)."""

    adcode: str
    name: str
    area_km2: float
    covered_share: float
    uncovered_km2: float
    median_distance_m: float
    p90_distance_m: float
    demand: float | None = None
    demand_covered_share: float | None = None


@dataclass(frozen=True, eq=False)
class Coverage:
    """Per-cell coverage and per-district figures for one radius and one set of stations.

    ``compute_coverage`` fills ``_covered_raster`` (exact, from ``geo.coverage_engine``) and leaves the
    per-cell distances to be computed on first use from ``_stations`` (a k-d tree query over every cell, the
    costly part); built by hand from distances (``Coverage(grid, radius_m, distance_m, districts)``), covered
    is distance ≤ radius.
    """

    grid: Grid
    radius_m: float
    _distance: NDArray[np.float64] | None
    districts: list[DistrictCoverage]
    demand_cell: tuple[NDArray[np.intp], NDArray[np.intp]] | None = None
    demand_weight: NDArray[np.float64] | None = None
    _covered: NDArray[np.bool_] | None = None
    _stations: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
    """Station x, y in the grid plane, for the distances on demand."""
    _covered_raster: NDArray[np.bool_] | None = None
    """Covered as a raster shaped like ``grid.raster`` (False outside the districts), when known."""

    @property
    def distance_m(self) -> NDArray[np.float64]:
        """Distance from each inside cell's centre to the nearest station (inf when there is none), metres;
        computed on first use."""
        if self._distance is None:
            if self._stations is None:
                raise ValueError("Coverage without distances needs its stations")
            distance, _ = nearest_distance_m(*self._stations, self.grid.x, self.grid.y)
            object.__setattr__(self, "_distance", distance)  # a cache: frozen for everything else
            return distance
        return self._distance

    @property
    def covered(self) -> NDArray[np.bool_]:
        """Whether each inside cell's centre is within ``radius_m`` of a station."""
        if self._covered is None:
            if self._covered_raster is not None:
                covered = self._covered_raster[self.grid.inside]  # raster order, as grid.row
                object.__setattr__(self, "_covered", covered)  # a cache, as for the distances
                return covered
            return self.distance_m <= self.radius_m
        return self._covered

    def covered_raster(self) -> NDArray[np.bool_]:
        """``covered`` as a raster shaped like ``grid.raster`` (False outside every district)."""
        if self._covered_raster is not None:
            return self._covered_raster
        out = np.zeros(self.grid.shape, dtype=bool)
        out[self.grid.inside] = self.covered
        return out

    def raster(self) -> NDArray[np.float64]:
        """Distances as a raster shaped like ``grid.raster`` (NaN outside every district)."""
        out = np.full(self.grid.shape, np.nan)
        out[self.grid.row, self.grid.col] = self.distance_m
        return out


def nearest_distance_m(
    station_x: NDArray[np.float64], station_y: NDArray[np.float64], x: ArrayLike, y: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
    """Planar distance (m) and position of the nearest station for each point, stations and points in one plane
    (a grid's)."""
    x_a, y_a = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if station_x.size == 0:
        return np.full(x_a.shape, np.inf), np.full(x_a.shape, -1, dtype=np.intp)
    tree = KDTree(np.column_stack((station_x, station_y)))
    with threadpool_limits(os.cpu_count() or 1, user_api="openmp"):  # a batch job: use every core
        distance, nearest = tree.query(np.column_stack((x_a, y_a)), k=1)
    return distance, nearest.astype(np.intp)


def _district_quantiles(grid: Grid, values: NDArray[np.float64], quantiles: tuple[float, ...]) -> NDArray[np.float64]:
    """Quantiles (linear interpolation) of per-cell ``values`` in each district: (n_districts, len(quantiles))."""
    order, bounds = grid.by_district
    grouped = values[order]
    result = np.full((len(grid.districts), len(quantiles)), np.nan)
    for i in range(len(grid.districts)):
        cells = grouped[bounds[i] : bounds[i + 1]]
        if cells.size:
            with np.errstate(invalid="ignore"):  # interpolating between two infinities gives nan: it is inf
                result[i] = np.nan_to_num(np.quantile(cells, quantiles), nan=np.inf)
    return result


def compute_coverage(
    grid: Grid,
    station_lon: ArrayLike,
    station_lat: ArrayLike,
    radius_m: float,
    demand: Demand | None = None,
) -> Coverage:
    """Coverage of every district of ``grid`` by stations at WGS84 (lon, lat) within ``radius_m`` metres."""
    if not np.isfinite(radius_m) or radius_m <= 0:
        raise ValueError(f"radius_m={radius_m!r}: must be a positive number of metres")
    station_x, station_y = grid.project(np.atleast_1d(station_lon), np.atleast_1d(station_lat))
    station_x, station_y = np.asarray(station_x, dtype=float), np.asarray(station_y, dtype=float)
    core = coverage_core(grid, station_x, station_y, radius_m, (0.5, 0.9))
    n = len(grid.districts)
    cells = grid.district_cells
    share = np.divide(core.covered_cells, cells, out=np.zeros(n), where=cells > 0)
    quantiles = core.quantiles
    area = grid.district_area_km2

    demand_totals = demand_shares = None
    demand_cell = demand_weight = None
    if demand is not None:
        dx, dy = grid.project(demand.lon, demand.lat)
        row, col = grid.cell_of(dx, dy)
        owner = np.where(row >= 0, grid.raster[row, col], -1)
        inside = owner >= 0
        d_distance, _ = nearest_distance_m(station_x, station_y, dx[inside], dy[inside])
        weights = demand.weight[inside]
        demand_totals = np.bincount(owner[inside], weights=weights, minlength=n)
        served = np.bincount(owner[inside], weights=weights * (d_distance <= radius_m), minlength=n)
        demand_shares = np.divide(served, demand_totals, out=np.full(n, np.nan), where=demand_totals > 0)
        demand_cell, demand_weight = (row[inside], col[inside]), weights

    rows = []
    for i in range(n):
        rows.append(
            DistrictCoverage(
                adcode=grid.districts.adcodes[i],
                name=grid.districts.names[i],
                area_km2=float(area[i]),
                covered_share=float(share[i]),
                uncovered_km2=float(area[i] * (1.0 - share[i])),
                median_distance_m=float(quantiles[i, 0]),
                p90_distance_m=float(quantiles[i, 1]),
                demand=None if demand_totals is None else float(demand_totals[i]),
                demand_covered_share=None if demand_shares is None else _none_if_nan(demand_shares[i]),
            )
        )
    stations = (station_x, station_y)
    return Coverage(grid, float(radius_m), None, rows, demand_cell, demand_weight, None, stations, core.covered)


def _none_if_nan(value: float) -> float | None:
    return None if np.isnan(value) else float(value)
