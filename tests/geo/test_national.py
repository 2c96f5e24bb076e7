"""National scale: the county-level district file, the synthetic national registry, exact nearest queries on it,
and per-province batch coverage on a dask LocalCluster equal to the single-process path."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import geopandas
import numpy as np
import pandas as pd
import pytest
import shapely
from distributed import Client
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from api import cli_batch
from geo.coverage import compute_coverage
from geo.distance import haversine_m
from geo.districts import Districts
from geo.grid import Grid, GridTooLarge
from geo.index import NearestIndex
from geo.national import (
    COLUMNS,
    local_cluster,
    national_coverage,
    national_coverage_serial,
    partition_by_province,
    province_adcode,
)

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "data"))  # data/build_national.py is a script beside the data, not a package

from build_national import (  # noqa: E402
    DISTRICTS_PATH,
    NO_STATIONS_PROVINCES,
    SyntheticStations,
    district_kind,
    synthetic_stations,
)

HANGZHOU_PATH = ROOT / "data" / "hangzhou" / "districts.geojson"
NINGXIA = "640000"
# small districts in three provinces (Macau, Hong Kong, Beijing), so that a property example stays cheap
FEW_DISTRICTS = ("820001", "820002", "810001", "810002", "110101")
FEW_CELL_M = 200.0
RADIUS_M = 1000.0
QUERIES = 40


@pytest.fixture(scope="module")
def national() -> Districts:
    return Districts.from_file(DISTRICTS_PATH)


@pytest.fixture(scope="module")
def stations(national: Districts) -> SyntheticStations:
    return synthetic_stations(national)


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    with local_cluster(2) as cluster, Client(cluster) as dask_client:
        yield dask_client


# --------------------------------------------------------------------------- the district file


def test_national_file_has_every_county_once(national: Districts) -> None:
    assert len(national) == 2875
    assert len(set(national.adcodes)) == len(national)
    assert all(len(code) == 6 and code.isdigit() for code in national.adcodes)
    assert all(g.is_valid and not g.is_empty and g.geom_type == "MultiPolygon" for g in national.geometries)
    assert len(partition_by_province(national)) == 34
    frame = geopandas.read_file(DISTRICTS_PATH)
    assert frame["adcode"].tolist() == national.adcodes
    assert (frame["province_adcode"] == frame["adcode"].map(province_adcode)).all()
    assert frame["city_adcode"].str.fullmatch(r"\d{6}").all()
    # China's land area is ~9.6 million km² (Amap's polygons: ~9.5 million, Taiwan, Hong Kong, Macau included)
    area_km2 = frame.to_crs("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84").area.sum() / 1e6
    assert 9.3e6 < area_km2 < 9.8e6


def test_national_districts_do_not_overlap(national: Districts) -> None:
    assert shapely.coverage_is_valid(np.array(national.geometries, dtype=object))


def test_national_file_covers_the_hangzhou_sample(national: Districts, districts: Districts) -> None:
    for adcode, name, geometry in zip(districts.adcodes, districts.names, districts.geometries, strict=True):
        mine = national.geometries[national.position(adcode)]
        assert national.names[national.position(adcode)] == name
        # the same Amap boundary simplified at 150 m instead of 15 m: under 2 % of the area differs
        assert shapely.symmetric_difference(mine, geometry).area / geometry.area < 0.02


# --------------------------------------------------------------------------- the synthetic registry


def test_synthetic_stations_follow_their_rule(national: Districts, stations: SyntheticStations) -> None:
    assert len(stations) == 200_000
    sample = np.random.default_rng(1).choice(len(stations), 5_000, replace=False)
    located = national.locate(stations.lon[sample], stations.lat[sample])
    assert (np.array(national.adcodes)[located] == stations.adcode[sample]).all()
    provinces = np.array([province_adcode(code) for code in stations.adcode.tolist()])
    assert not np.isin(provinces, NO_STATIONS_PROVINCES).any()
    kinds = {code: district_kind(name) for code, name in zip(national.adcodes, national.names, strict=True)}
    per_kind = pd.Series([kinds[c] for c in stations.adcode.tolist()]).value_counts()
    districts_of_kind = pd.Series(list(kinds.values())).value_counts()
    mean = per_kind / districts_of_kind
    assert mean["urban"] > mean["city"] > mean["county"]  # weights 3 : 2 : 1, give or take the excluded regions
    shares = pd.Series(stations.type).value_counts(normalize=True)
    assert abs(shares["outdoor_worker"] - 0.80) < 0.01 and abs(shares["driver_home"] - 0.03) < 0.01


def test_synthetic_stations_are_deterministic_and_labelled(national: Districts) -> None:
    few = national.subset(FEW_DISTRICTS)
    first, again, other = synthetic_stations(few, 300), synthetic_stations(few, 300), synthetic_stations(few, 300, 7)
    assert np.array_equal(first.lon, again.lon) and np.array_equal(first.lat, again.lat)
    assert not np.array_equal(first.lon, other.lon)
    rows = first.rows(few)
    assert len(rows) == 300 and {r["source"] for r in rows} == {"synthetic"}
    assert all(r["id"].startswith("CN-SYN-") and "合成" in r["name"] for r in rows)


# --------------------------------------------------------------------------- nearest on 200k stations


@given(
    st.floats(73.0, 135.5),
    st.floats(17.0, 54.0),
    st.integers(1, 10),
)
def test_nearest_on_the_national_registry_equals_brute_force(
    national_index: NearestIndex, stations: SyntheticStations, lon: float, lat: float, k: int
) -> None:
    found = national_index.query(lon, lat, k=k)
    distance = haversine_m(lon, lat, stations.lon, stations.lat)
    expected = np.argsort(distance, kind="stable")[:k]
    np.testing.assert_allclose(found.distance_m, distance[expected], atol=1e-6, rtol=1e-9)
    np.testing.assert_allclose(found.distance_m, distance[found.index], atol=1e-6, rtol=1e-9)
    if distance[expected[-1]] < np.partition(distance, k)[k] - 1e-6:  # no tie at the cut-off
        assert set(found.index.tolist()) == set(expected.tolist())


@pytest.fixture(scope="module")
def national_index(stations: SyntheticStations) -> NearestIndex:
    return NearestIndex(stations.lon, stations.lat)


def test_nearest_many_on_the_national_registry(national_index: NearestIndex, stations: SyntheticStations) -> None:
    rng = np.random.default_rng(3)
    pick = rng.choice(len(stations), QUERIES, replace=False)
    lon = stations.lon[pick] + rng.normal(0, 0.01, QUERIES)
    lat = stations.lat[pick] + rng.normal(0, 0.01, QUERIES)
    _, distance_m = national_index.query_many(lon, lat, k=3)
    for i in range(QUERIES):
        brute = haversine_m(lon[i], lat[i], stations.lon, stations.lat)
        np.testing.assert_allclose(distance_m[i], np.sort(brute)[:3], atol=1e-6, rtol=1e-9)


# --------------------------------------------------------------------------- batch coverage


def single_process_table(grid: Grid, lon: np.ndarray, lat: np.ndarray) -> pd.DataFrame:
    """The reference for one province: compute_coverage on its grid with every station, stations counted by
    point-in-polygon over all of them."""
    part = grid.districts
    coverage = compute_coverage(grid, lon, lat, RADIUS_M)
    located = part.locate(lon, lat)
    return pd.DataFrame(
        {
            "province_adcode": [province_adcode(code) for code in part.adcodes],
            "adcode": [row.adcode for row in coverage.districts],
            "name": [row.name for row in coverage.districts],
            "area_km2": [row.area_km2 for row in coverage.districts],
            "stations": np.bincount(located[located >= 0], minlength=len(part)),
            "covered_share": [row.covered_share for row in coverage.districts],
            "uncovered_km2": [row.uncovered_km2 for row in coverage.districts],
            "median_distance_m": [row.median_distance_m for row in coverage.districts],
            "p90_distance_m": [row.p90_distance_m for row in coverage.districts],
        }
    )


@pytest.mark.slow
def test_dask_equals_single_process_on_a_province(
    client: Client, national: Districts, stations: SyntheticStations
) -> None:
    ningxia = partition_by_province(national)[NINGXIA]
    on_dask = national_coverage(client, ningxia, stations.lon, stations.lat, RADIUS_M, cell_m=500)
    assert list(on_dask.columns) == list(COLUMNS)
    reference = single_process_table(Grid.build(ningxia, 500), stations.lon, stations.lat)
    pd.testing.assert_frame_equal(on_dask, reference, check_exact=True)
    serial = national_coverage_serial(ningxia, stations.lon, stations.lat, RADIUS_M, cell_m=500)
    pd.testing.assert_frame_equal(on_dask, serial, check_exact=True)
    assert on_dask["stations"].sum() == np.isin(stations.adcode, ningxia.adcodes).sum()
    # stations across the border count: with Ningxia's own stations only, some cells get farther
    own = np.isin(stations.adcode, ningxia.adcodes)
    alone = national_coverage(client, ningxia, stations.lon[own], stations.lat[own], RADIUS_M, cell_m=500)
    assert (alone["p90_distance_m"] >= on_dask["p90_distance_m"]).all()
    assert (alone["p90_distance_m"] > on_dask["p90_distance_m"]).any()


@st.composite
def station_sets(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """0-30 stations around the few districts (some outside every district), seeded."""
    n = draw(st.integers(0, 30))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    centres = np.array([[113.55, 22.17], [114.16, 22.28], [116.41, 39.92]])
    around = centres[rng.integers(0, 3, n)]
    return around[:, 0] + rng.normal(0, 0.03, n), around[:, 1] + rng.normal(0, 0.03, n)


@pytest.fixture(scope="module")
def few_grids(national: Districts) -> list[Grid]:
    """The few districts' grid of each province, built once for every example."""
    return [Grid.build(part, FEW_CELL_M) for part in partition_by_province(national.subset(FEW_DISTRICTS)).values()]


@settings(max_examples=20)  # each example is a round trip through the cluster (~0.5 s on a busy machine)
@given(station_sets())
def test_dask_equals_single_process_on_random_stations(
    client: Client, national: Districts, few_grids: list[Grid], points: tuple[np.ndarray, np.ndarray]
) -> None:
    lon, lat = points
    on_dask = national_coverage(client, national.subset(FEW_DISTRICTS), lon, lat, RADIUS_M, cell_m=FEW_CELL_M)
    reference = pd.concat([single_process_table(grid, lon, lat) for grid in few_grids], ignore_index=True)
    pd.testing.assert_frame_equal(on_dask, reference, check_exact=True)


def test_a_province_too_large_for_the_grid_is_named(national: Districts) -> None:
    xinjiang = partition_by_province(national)["650000"]
    with pytest.raises(GridTooLarge, match=r"province 650000: cell_m=500 gives .* use cell_m ≥"):
        national_coverage_serial(xinjiang, [87.6], [43.8], RADIUS_M, cell_m=500, max_cells=1_000_000)


# --------------------------------------------------------------------------- the planners' command


@pytest.fixture
def small_inputs(tmp_path: Path, national: Districts) -> tuple[Path, Path]:
    few = national.subset(FEW_DISTRICTS)
    districts_path = tmp_path / "few.geojson"
    districts_path.write_text(json.dumps(few.to_feature_collection(), ensure_ascii=False), encoding="utf-8")
    stations_path = tmp_path / "stations.csv"
    synthetic_stations(few, 120).write_csv(few, stations_path)
    return districts_path, stations_path


def run_batch(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli_batch.app, list(args))
    return result.exit_code, result.output


def test_cli_writes_the_national_table(client: Client, small_inputs: tuple[Path, Path], tmp_path: Path) -> None:
    districts_path, stations_path = small_inputs
    output = tmp_path / "table.csv"
    scheduler = client.scheduler.address
    code, text = run_batch(
        "national-coverage", "--districts", str(districts_path), "--stations", str(stations_path),
        "--radius-m", "1000", "--cell-m", "200", "--scheduler", scheduler, "-o", str(output),
    )  # fmt: skip
    assert code == 0, text
    written = pd.read_csv(output, dtype={"province_adcode": str, "adcode": str}, encoding="utf-8-sig")
    few = Districts.from_geojson(districts_path)
    data = pd.read_csv(stations_path)
    expected = cli_batch.table_rows(national_coverage_serial(few, data["lon"], data["lat"], 1000, cell_m=200))
    assert written.to_dict("records") == pd.DataFrame(expected).to_dict("records")
    assert "wrote 5 districts" in text


@pytest.mark.slow
def test_cli_on_a_local_cluster_with_types(small_inputs: tuple[Path, Path], tmp_path: Path) -> None:
    districts_path, stations_path = small_inputs
    output = tmp_path / "table.xlsx"
    code, text = run_batch(
        "national-coverage", "--districts", str(districts_path), "--stations", str(stations_path),
        "--cell-m", "200", "--types", "nursing_room", "--workers", "1", "-o", str(output),
    )  # fmt: skip
    assert code == 0, text
    written = pd.read_excel(output, dtype={"province_adcode": str, "adcode": str})
    data = pd.read_csv(stations_path, dtype={"adcode": str})
    nursing = data[data["types"] == "nursing_room"]
    assert written["stations"].tolist() == [int((nursing["adcode"] == a).sum()) for a in written["adcode"]]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["-o", "table.txt"], "unsupported table format"),
        (["-o", "table.csv", "--cell-m", "2000"], "cells larger than the radius"),
        (["-o", "table.csv", "--types", "骑手"], "unknown value"),
        (["-o", "table.csv", "--districts", "missing.geojson"], "cannot read district file"),
    ],
)
def test_cli_rejects_bad_input_before_starting_a_cluster(
    small_inputs: tuple[Path, Path], tmp_path: Path, options: list[str], message: str
) -> None:
    _, stations_path = small_inputs
    options = [str(tmp_path / o) if o.endswith((".txt", ".csv", ".geojson")) else o for o in options]
    code, text = run_batch("national-coverage", "--stations", str(stations_path), *options)
    assert code == 1
    assert message in " ".join(text.split())


def test_cli_rejects_a_bad_station_file(small_inputs: tuple[Path, Path], tmp_path: Path) -> None:
    districts_path, _ = small_inputs
    bad = tmp_path / "bad.csv"
    bad.write_text("name,types,lon,lat\n驿站,outdoor_worker,not-a-number,30\n", encoding="utf-8")
    code, text = run_batch(
        "national-coverage", "--districts", str(districts_path), "--stations", str(bad), "-o", str(tmp_path / "t.csv")
    )
    assert code == 1
    assert "lon" in text
