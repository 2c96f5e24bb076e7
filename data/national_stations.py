"""A SYNTHETIC national station registry over the county-level districts (never committed; made on the fly).

The rule (its numbers are in ``data/tables/national.toml``; it is also stated in data/china/README.md and
docs/scaling.md):

* a district's share of the stations is proportional to a weight from the kind its name shows: urban
  district (name ends in 区) 3, county-level city (市) 2, county, banner or other (县, 旗, 自治县, 特区, 林区…) 1;
  no stations are made in Taiwan, Hong Kong or Macau (710000, 810000, 820000), which the mainland union
  programme does not cover; counts are one multinomial draw over the districts;
* within a district, 75 % of its stations are gaussian clusters around made-up "town" centres (one centre
  per 40 stations, at least one, centres uniform over the district; sd 1.5 km urban, 2.5 km city, 3 km
  county) and 25 % are uniform over the district (uniform in lon/lat; each island gets its share by area);
  a clustered point that falls outside the district is drawn again (five times at most, then uniformly);
* types: 80 % outdoor_worker, 17 % nursing_room, 3 % driver_home.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

from data.read_tables import national_tables
from geo.districts import Districts
from geo.national import province_adcode

STATION_SEED = 20260801
NATIONAL_STATIONS = 200_000
NO_STATIONS_PROVINCES: tuple[str, ...] = national_tables().no_stations_provinces
CLUSTER_SHARE = 0.75
STATIONS_PER_CENTRE = 40
CLUSTER_TRIES = 5
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320

Floats = NDArray[np.float64]


def district_kind(name: str) -> str:
    """The kind of a district from its name.

    Parameters
    ----------
    name : str
        Chinese district name.

    Returns
    -------
    str
        ``urban`` (市辖区, name ends in 区), ``city`` (county-level 市) or ``county`` (县, 旗 and the rest).

    Examples
    --------
    >>> district_kind("西湖区"), district_kind("建德市"), district_kind("淳安县")
    ('urban', 'city', 'county')
    """
    if name.endswith("区"):
        return "urban"
    if name.endswith("市"):
        return "city"
    return "county"


@dataclass(frozen=True, eq=False)
class SyntheticStations:
    """Made-up stations (WGS84 degrees) with the adcode of the district each was drawn in and its type."""

    lon: Floats
    lat: Floats
    adcode: NDArray[np.str_]
    type: NDArray[np.str_]

    def __len__(self) -> int:
        return int(self.lon.size)

    @cached_property
    def ids(self) -> list[str]:
        """Ids ``CN-SYN-000001``… in row order."""
        return [f"CN-SYN-{number:06d}" for number in range(1, len(self) + 1)]

    def rows(self, districts: Districts) -> list[dict[str, str]]:
        """Registry CSV rows (the importer's canonical columns), ``source=synthetic`` on every one.

        Parameters
        ----------
        districts : Districts
            The districts the stations were drawn over (for their names).

        Returns
        -------
        list of dict
            One row per station.
        """
        type_names = national_tables().type_names
        names = dict(zip(districts.adcodes, districts.names, strict=True))
        columns = (self.ids, self.lon.tolist(), self.lat.tolist(), self.adcode.tolist(), self.type.tolist())
        return [
            {
                "id": station_id,
                "name": f"{names[code]}{type_names[kind]}（合成 {station_id}）",
                "types": kind,
                "lon": f"{lon:.6f}",
                "lat": f"{lat:.6f}",
                "crs": "wgs84",
                "adcode": code,
                "district": names[code],
                "source": "synthetic",
            }
            for station_id, lon, lat, code, kind in zip(*columns, strict=True)
        ]

    def write_csv(self, districts: Districts, path: Path) -> None:
        """Write the rows as UTF-8 CSV, LF line endings.

        Parameters
        ----------
        districts : Districts
            The districts the stations were drawn over.
        path : Path
            The file to (over)write.
        """
        rows = self.rows(districts)
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)


def _uniform_in_polygon(rng: np.random.Generator, polygon: BaseGeometry, n: int) -> tuple[Floats, Floats]:
    """``n`` points uniform (in lon/lat) over one polygon: rejection sampling in its bounding box."""
    west, south, east, north = polygon.bounds
    fill = polygon.area / ((east - west) * (north - south))
    lon_parts, lat_parts, have = [], [], 0
    while have < n:
        m = int(np.ceil((n - have) / fill * 1.2)) + 8
        lon, lat = rng.uniform(west, east, m), rng.uniform(south, north, m)
        inside = shapely.contains_xy(polygon, lon, lat)
        lon_parts.append(lon[inside])
        lat_parts.append(lat[inside])
        have += int(inside.sum())
    return np.concatenate(lon_parts)[:n], np.concatenate(lat_parts)[:n]


def _uniform_points(rng: np.random.Generator, parts: NDArray[np.object_], n: int) -> tuple[Floats, Floats]:
    """``n`` points uniform (in lon/lat) over a district: each part (island...) gets its share by area."""
    areas = shapely.area(parts)
    lon, lat = [np.empty(0)], [np.empty(0)]
    for part, count in zip(parts, rng.multinomial(n, areas / areas.sum()).tolist(), strict=True):
        if count:
            part_lon, part_lat = _uniform_in_polygon(rng, part, count)
            lon.append(part_lon)
            lat.append(part_lat)
    return np.concatenate(lon), np.concatenate(lat)


def _district_points(rng: np.random.Generator, geometry: BaseGeometry, kind: str, n: int) -> tuple[Floats, Floats]:
    """``n`` points in one district: clusters around made-up town centres, the rest uniform."""
    parts = shapely.get_parts(geometry)
    shapely.prepare(parts)
    n_cluster = round(n * CLUSTER_SHARE)
    centre_lon, centre_lat = _uniform_points(rng, parts, max(1, round(n_cluster / STATIONS_PER_CENTRE)))
    lon, lat = np.empty(n_cluster), np.empty(n_cluster)
    todo = np.arange(n_cluster)
    sd_km = national_tables().cluster_sd_km[kind]
    for _ in range(CLUSTER_TRIES):
        if not todo.size:
            break
        pick = rng.integers(0, centre_lon.size, todo.size)
        km_per_deg_lon = KM_PER_DEG_LON_EQUATOR * np.cos(np.radians(centre_lat[pick]))
        lon[todo] = centre_lon[pick] + rng.normal(0.0, sd_km, todo.size) / km_per_deg_lon
        lat[todo] = centre_lat[pick] + rng.normal(0.0, sd_km, todo.size) / KM_PER_DEG_LAT
        todo = todo[~shapely.contains_xy(geometry, lon[todo], lat[todo])]
    lon[todo], lat[todo] = _uniform_points(rng, parts, todo.size)
    uniform_lon, uniform_lat = _uniform_points(rng, parts, n - n_cluster)
    return np.concatenate((lon, uniform_lon)), np.concatenate((lat, uniform_lat))


def station_counts(districts: Districts, n: int, rng: np.random.Generator) -> NDArray[np.int64]:
    """Stations per district: one multinomial draw with the kind weights (none in Taiwan, Hong Kong, Macau).

    Parameters
    ----------
    districts : Districts
        The county-level districts.
    n : int
        Stations in all.
    rng : numpy.random.Generator
        Draws one multinomial.

    Returns
    -------
    ndarray of int
        Stations per district, in ``districts`` order, summing to ``n``.

    Raises
    ------
    ValueError
        When every district is in a province without stations.
    """
    tables = national_tables()
    weights = np.array(
        [
            0.0 if province_adcode(code) in tables.no_stations_provinces else tables.kind_weight[district_kind(name)]
            for code, name in zip(districts.adcodes, districts.names, strict=True)
        ]
    )
    if not weights.sum():
        raise ValueError("no district may get synthetic stations (all are in Taiwan, Hong Kong or Macau)")
    return rng.multinomial(n, weights / weights.sum())


def synthetic_stations(districts: Districts, n: int = NATIONAL_STATIONS, seed: int = STATION_SEED) -> SyntheticStations:
    """A made-up national registry of ``n`` stations over ``districts`` (the rule is in this module's docstring).

    Parameters
    ----------
    districts : Districts
        The districts to draw over (e.g. ``data/china/districts.fgb.zip``).
    n : int
        Stations in all.
    seed : int
        Seed of the generator: the same districts, ``n`` and ``seed`` give the same stations.

    Returns
    -------
    SyntheticStations
        ``n`` stations, district by district.
    """
    rng = np.random.default_rng(seed)
    counts = station_counts(districts, n, rng)
    lon_parts, lat_parts, codes = [], [], []
    for code, name, geometry, count in zip(
        districts.adcodes, districts.names, districts.geometries, counts.tolist(), strict=True
    ):
        if count:
            lon, lat = _district_points(rng, geometry, district_kind(name), count)
            lon_parts.append(lon)
            lat_parts.append(lat)
            codes += [code] * count
    names, shares = zip(*national_tables().type_shares, strict=True)
    types = rng.choice(np.array(names), size=n, p=np.array(shares))
    return SyntheticStations(np.concatenate(lon_parts), np.concatenate(lat_parts), np.array(codes), types)
