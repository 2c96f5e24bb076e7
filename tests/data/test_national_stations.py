"""The synthetic national registry generator (data/national_stations.py) and its table (data/tables/national.toml)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from shapely.geometry import box

from data import build_national
from data.national_stations import synthetic_stations
from data.read_tables import national_tables
from geo.districts import Districts
from geo.national import province_adcode

# sha256 of `python data/build_national.py --stations FILE --n 2000 --seed 7` at commit 40282f9, before data/
# became a package: the refactored generator must keep writing the same bytes.
NATIONAL_2000_SEED_7_SHA256 = "6ccecdbb00a911aeffe2c113d5ae1927e6626d3e842298e09100d7011151b17f"


def small_districts() -> Districts:
    squares = [box(116.40, 39.90, 116.45, 39.95), box(117.20, 39.10, 117.30, 39.20), box(113.55, 22.10, 113.6, 22.2)]
    return Districts(["110101", "120221", "820001"], ["东城区", "宁河县", "花地玛堂区"], squares)


def test_national_table_shape() -> None:
    tables = national_tables()
    assert [kind for kind, _ in tables.type_shares] == ["outdoor_worker", "nursing_room", "driver_home"]
    assert abs(sum(share for _, share in tables.type_shares) - 1.0) < 1e-12
    assert set(tables.type_names) == {kind for kind, _ in tables.type_shares}
    assert set(tables.kind_weight) == set(tables.cluster_sd_km) == {"urban", "city", "county"}
    assert tables.no_stations_provinces == ("710000", "810000", "820000")


def test_generator_is_deterministic_and_follows_its_rule() -> None:
    districts = small_districts()
    first = synthetic_stations(districts, 500, seed=3)
    again = synthetic_stations(districts, 500, seed=3)
    for name in ("lon", "lat", "adcode", "type"):
        assert np.array_equal(getattr(first, name), getattr(again, name))
    assert not np.array_equal(first.lon, synthetic_stations(districts, 500, seed=4).lon)
    assert len(first) == 500 and "820001" not in set(first.adcode.tolist())  # none in Macau
    inside = districts.locate(first.lon, first.lat)
    assert [districts.adcodes[i] for i in inside.tolist()] == first.adcode.tolist()


def test_build_national_shares_province_adcode_with_geo() -> None:
    assert build_national.province_adcode is province_adcode


def test_generator_writes_the_same_bytes_as_before(tmp_path: Path) -> None:
    districts = Districts.from_file(build_national.DISTRICTS_PATH)
    path = tmp_path / "stations.csv"
    synthetic_stations(districts, 2000, seed=7).write_csv(districts, path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == NATIONAL_2000_SEED_7_SHA256
