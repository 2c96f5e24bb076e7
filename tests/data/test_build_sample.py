"""The Hangzhou sample's tables (data/tables) and generators: shapes of the tables, and the seeded generators
rebuilding the committed stations.csv and demand.csv byte for byte over the committed districts."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest
from opening_hours import OpeningHours

from data.build_sample import DEMAND_PATH, DISTRICTS_PATH, SEED, STATIONS_PATH, demand_rng, station_rng
from data.hangzhou_demand import build_demand, write_demand
from data.hangzhou_districts import District, read_districts, sampling_masks
from data.hangzhou_stations import build_stations, columns, write_csv
from data.read_tables import hangzhou_places, station_attributes, station_names
from geo.districts import Districts

PLACEHOLDERS = {
    "road", "street", "place", "community", "bank", "brand", "metro", "hub", "hospital", "tower", "district",
}  # fmt: skip


@pytest.fixture(scope="module")
def districts() -> list[District]:
    return read_districts(DISTRICTS_PATH)


@pytest.fixture(scope="module")
def masks(districts: list[District]) -> dict:
    return sampling_masks(districts)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_places_cover_the_committed_districts_in_file_order() -> None:
    places = hangzhou_places()
    assert list(places.adcodes) == Districts.from_geojson(DISTRICTS_PATH).adcodes
    assert len(places.adcodes) == 13
    for table in (places.outdoor_counts, places.nursing_counts, places.demand_counts, places.demand_level):
        assert list(table) == list(places.adcodes)
    assert sum(places.outdoor_counts.values()) == 1200
    assert sum(places.nursing_counts.values()) == 400
    assert sum(places.demand_counts.values()) == 20_000
    assert list(places.centres) == list(places.adcodes)
    assert set(places.new_areas) <= set(places.adcodes)
    assert all(code in places.adcodes for pair in places.river_borders for code in pair)
    assert len(places.driver_homes) == 14
    assert {home.adcode for home in places.driver_homes} <= set(places.adcodes)


def test_centres_are_in_hangzhou_with_names() -> None:
    places = hangzhou_places()
    centres = [c for group in places.centres.values() for c in group] + [
        c for group in places.new_areas.values() for c in group
    ]
    assert len(centres) == 56 + 10
    for c in centres:
        assert 118.3 < c.lon < 120.8 and 29.1 < c.lat < 30.6, c
        assert c.sd_km > 0 and c.weight > 0, c
    for c in (c for group in places.centres.values() for c in group):
        assert c.streets and c.roads and all(c.streets) and all(c.roads), c


def test_name_templates_use_known_placeholders() -> None:
    names = station_names()
    templates = [t for t, host, _ in names.outdoor_templates] + [h for _, h, _ in names.outdoor_templates]
    templates += [t for pairs in names.nursing_kinds.values() for t, _ in pairs]
    for template in templates:
        assert set(re.findall(r"{(\w+)}", template)) <= PLACEHOLDERS, template
    assert list(names.nursing_kinds) == list(names.nursing_kind_weights)
    assert all(w > 0 for _, _, w in names.outdoor_templates)
    assert all(names.banks) and all(names.communities)


def test_attributes_have_one_entry_per_type_and_amenity() -> None:
    attributes = station_attributes()
    assert attributes.types == ("outdoor_worker", "driver_home", "nursing_room")
    assert len(attributes.amenities) == 24 == len(set(attributes.amenities))
    assert list(attributes.amenity_yes) == list(attributes.amenities)
    probabilities = np.array(list(attributes.amenity_yes.values()))
    assert probabilities.shape == (24, 3)
    assert ((probabilities >= 0) & (probabilities <= 1)).all()
    assert set(attributes.opening_hours) == set(attributes.sizes) == set(attributes.types)
    for size in attributes.sizes.values():
        assert 0 < size.capacity[0] <= size.capacity[1] and 0 < size.area_m2[0] <= size.area_m2[1]
    hours = [*attributes.opening_hours.values(), *attributes.opening_hours_by_kind.values()]
    for value, weight in (pair for pairs in hours for pair in pairs):
        assert weight > 0
        if value:
            OpeningHours(value)  # raises on invalid syntax
    assert attributes.statuses[0][0] == "normal"


def test_station_generator_rebuilds_the_committed_file(districts: list[District], masks: dict, tmp_path: Path) -> None:
    rows = build_stations(station_rng(), districts, masks)
    assert list(rows[0]) == list(columns())
    assert {row["source"] for row in rows} == {"synthetic"}
    write_csv(rows, tmp_path / "stations.csv")
    assert sha256(tmp_path / "stations.csv") == sha256(STATIONS_PATH)


def test_station_generator_is_deterministic_for_a_seed(districts: list[District], masks: dict) -> None:
    first = build_stations(station_rng(7), districts, masks)
    assert build_stations(station_rng(7), districts, masks) == first
    other = build_stations(station_rng(8), districts, masks)
    assert len(other) == len(first) and other != first


def test_demand_generator_rebuilds_the_committed_file(districts: list[District], masks: dict, tmp_path: Path) -> None:
    rows, adcodes = build_demand(demand_rng(SEED), districts, masks)
    assert len(rows) == len(adcodes) == 20_000
    write_demand(rows, tmp_path / "demand.csv")
    assert sha256(tmp_path / "demand.csv") == sha256(DEMAND_PATH)
