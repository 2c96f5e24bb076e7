"""National per-district coverage as a batch job: one partition per province, run on a dask cluster.

The country is cut into its 34 provinces (省级: the first two digits of a district's adcode). Each partition
is one call of the ordinary ``compute_coverage`` on the grid of that province's districts, so there is no
second copy of the coverage logic, and the table of a province is the same whether it was computed here,
in a plain loop (``national_coverage_serial``) or by ``compute_coverage`` on that province alone.

Every partition is given *all* stations, not only its own: a cell near a provincial border is served by
stations across it, and its nearest-station distance may come from anywhere. 200,000 stations are 3.2 MB
of coordinates, broadcast to each worker once (``Client.scatter(..., broadcast=True)``).

Cell size: a province gets a grid in its own equal-area projection, and the whole grid must stay within
``max_cells`` raster cells (``geo.grid.DEFAULT_MAX_CELLS``, 20 million). Xinjiang, the largest, needs
12.5 million at 500 m (``NATIONAL_CELL_M``), so 500 m is the finest round size every province fits; 1 km
takes a quarter of the time. Over a province the projection is no longer city-sized: the local scale of a
Lambert azimuthal equal-area projection is off by 1 − cos(c/2) at an angular distance c from its centre,
at most 0.76 % in Hainan (its 南沙 islands lie far south of its centre) and 0.57 % in Inner Mongolia, measured
at each province's farthest vertex by bench/national.py: ±8 m on a 1,000 m radius at worst; areas stay exact.

>>> from shapely.geometry import box
>>> from geo.districts import Districts
>>> squares = [box(116.40, 39.90, 116.42, 39.92), box(117.20, 39.10, 117.22, 39.12)]
>>> districts = Districts(["110101", "120101"], ["东城区", "和平区"], squares)
>>> table = national_coverage_serial(districts, [116.41], [39.91], radius_m=1000, cell_m=100)
>>> table[["province_adcode", "adcode", "stations"]].values.tolist()
[['110000', '110101', 1], ['120000', '120101', 0]]
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import shapely
from numpy.typing import ArrayLike, NDArray

from geo.coverage import compute_coverage
from geo.districts import Districts
from geo.grid import DEFAULT_MAX_CELLS, Grid, GridTooLarge

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

NATIONAL_CELL_M = 500.0
WORKER_CONFIG: dict[str, object] = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
"""Dask configuration for the workers of a national run: keep glibc's adaptive malloc (see ``local_cluster``)."""
COLUMNS: tuple[str, ...] = (
    "province_adcode",
    "adcode",
    "name",
    "area_km2",
    "stations",
    "covered_share",
    "uncovered_km2",
    "median_distance_m",
    "p90_distance_m",
)
"""Columns of the national table: areas in km², distances in metres (cell centre to nearest station, inf
where there is no station at all), ``stations`` the number of stations inside the district."""


def province_adcode(adcode: str) -> str:
    """The province (省级) adcode of a district: its first two digits, then 0000.

    >>> province_adcode("330106")
    '330000'
    """
    return adcode[:2] + "0000"


def partition_by_province(districts: Districts) -> dict[str, Districts]:
    """The districts of each province (in file order), keyed by province adcode in ascending order."""
    groups: dict[str, list[str]] = {}
    for adcode in districts.adcodes:
        groups.setdefault(province_adcode(adcode), []).append(adcode)
    return {code: districts.subset(groups[code]) for code in sorted(groups)}


def _stations_inside(districts: Districts, lon: NDArray[np.float64], lat: NDArray[np.float64]) -> NDArray[np.int64]:
    """How many of the stations fall in each district (those outside the districts' bounds are skipped early)."""
    west, south, east, north = shapely.total_bounds(districts.geometries)
    near = (lon >= west) & (lon <= east) & (lat >= south) & (lat <= north)
    position = districts.locate(lon[near], lat[near])
    return np.bincount(position[position >= 0], minlength=len(districts))


def province_table(
    districts: Districts,
    station_lon: ArrayLike,
    station_lat: ArrayLike,
    radius_m: float,
    cell_m: float = NATIONAL_CELL_M,
    max_cells: int = DEFAULT_MAX_CELLS,
) -> pd.DataFrame:
    """Coverage of one province's districts by all the stations: ``compute_coverage`` on the province's grid,
    as a table with ``COLUMNS``. GridTooLarge names the province when its grid would exceed ``max_cells``."""
    lon = np.asarray(station_lon, dtype=float).ravel()
    lat = np.asarray(station_lat, dtype=float).ravel()
    provinces = sorted({province_adcode(code) for code in districts.adcodes})
    try:
        grid = Grid.build(districts, cell_m, max_cells)
    except GridTooLarge as error:
        message = f"province {', '.join(provinces)}: {error}"
        raise GridTooLarge(message, error.cell_m, error.suggested_cell_m) from None
    coverage = compute_coverage(grid, lon, lat, radius_m)
    frame = pd.DataFrame([asdict(row) for row in coverage.districts])
    frame.insert(0, "province_adcode", [province_adcode(code) for code in districts.adcodes])
    frame["stations"] = _stations_inside(districts, lon, lat)
    return frame[list(COLUMNS)]


def national_coverage_serial(
    districts: Districts,
    station_lon: ArrayLike,
    station_lat: ArrayLike,
    radius_m: float,
    cell_m: float = NATIONAL_CELL_M,
    max_cells: int = DEFAULT_MAX_CELLS,
) -> pd.DataFrame:
    """The national table in this process: ``province_table`` for each province in turn, concatenated."""
    frames = [
        province_table(part, station_lon, station_lat, radius_m, cell_m, max_cells)
        for part in partition_by_province(districts).values()
    ]
    return pd.concat(frames, ignore_index=True)


def _work_hint(districts: Districts) -> float:
    """Rough size of a province's grid (its area in square degrees, shrunk by cos(latitude)): big ones first."""
    union_bounds = shapely.total_bounds(districts.geometries)
    mid_lat = (union_bounds[1] + union_bounds[3]) / 2.0
    return float(np.sum(shapely.area(districts.geometries)) * np.cos(np.radians(mid_lat)))


def national_coverage(
    client: Client,
    districts: Districts,
    station_lon: ArrayLike,
    station_lat: ArrayLike,
    radius_m: float,
    cell_m: float = NATIONAL_CELL_M,
    max_cells: int = DEFAULT_MAX_CELLS,
) -> pd.DataFrame:
    """The national table computed on a dask cluster: one task per province, the largest submitted with the
    highest priority so that no big province starts last; rows in the same order as the serial path.

    ``client`` is a ``distributed.Client`` of any cluster (``local_cluster`` here, or ``Client("tcp://host:8786")``
    for a real scheduler). Stations are broadcast to every worker once.
    """
    lon = np.asarray(station_lon, dtype=float).ravel()
    lat = np.asarray(station_lat, dtype=float).ravel()
    lon_future, lat_future = client.scatter([lon, lat], broadcast=True)
    parts = partition_by_province(districts)
    run = uuid.uuid4().hex[:12]
    ranks = {code: rank for rank, code in enumerate(sorted(parts, key=lambda c: _work_hint(parts[c])))}
    futures = [
        client.submit(
            province_table,
            part,
            lon_future,
            lat_future,
            radius_m,
            cell_m,
            max_cells,
            pure=False,
            priority=ranks[code],
            key=f"province-coverage-{code}-{run}",
        )
        for code, part in parts.items()
    ]
    try:
        frames: list[pd.DataFrame] = client.gather(futures)  # province_table's results, in order
    finally:
        client.cancel([*futures, lon_future, lat_future])
    return pd.concat(frames, ignore_index=True)


def local_cluster(workers: int = 2) -> LocalCluster:
    """A dask cluster on this machine: ``workers`` processes of one thread each, listening on 127.0.0.1 only
    (scheduler, workers and the scheduler's HTTP server, on free ports).

    The workers keep glibc's default malloc tuning: dask sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its worker
    processes by default, which also turns off glibc's adaptive mmap threshold, so every large numpy array is
    a fresh mmap and page-faulted again; Grid.build, which allocates raster-sized arrays per district, then ran
    1.5-2x slower on a worker than in a plain process (measured by bench/national.py). ``WORKER_CONFIG`` holds
    the setting for workers started by hand (``dask worker``) on a real cluster.
    """
    import dask.config
    from distributed import LocalCluster  # heavy; only the batch path needs it

    with dask.config.set(WORKER_CONFIG):
        return LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address="127.0.0.1:0"
        )
