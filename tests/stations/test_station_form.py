"""The console's station form as data (``stations.station_form``): a station's form read back is the station (every
sample station, every field), an unchanged form changes nothing, and a position survives GCJ-02 only when moved
(the list's order and paging: tests/stations/test_station_list.py)."""

from __future__ import annotations

import math
from functools import cache

from hypothesis import given, settings
from hypothesis import strategies as st

from stations.edits import merge_patch, payload
from stations.importers import parse_file
from stations.model import Station, station_from
from stations.settings import SAMPLE_DIR
from stations.station_form import FORM_FIELDS, changed_fields, form_values, patch_for


@cache
def sample() -> tuple[Station, ...]:
    parsed = parse_file((SAMPLE_DIR / "stations.csv").read_bytes(), "stations.csv")
    return tuple(parsed.stations)


def test_every_sample_station_read_back_from_its_form_is_itself() -> None:
    for station in sample():
        shown = form_values(station, "wgs84")
        patch, problems = patch_for(shown, FORM_FIELDS, "wgs84")
        assert problems == [], station.id
        rebuilt = station_from(merge_patch({"id": station.id, "external_ids": station.external_ids}, patch))
        got, expected = payload(rebuilt), payload(station)
        for axis in ("lon", "lat"):  # six decimals shown: within half a millionth of a degree
            assert math.isclose(got.pop(axis), expected.pop(axis), abs_tol=5e-7), station.id
        assert got == expected, station.id
        assert changed_fields(shown, form_values(rebuilt, "wgs84")) == []


@settings(max_examples=60, deadline=None)
@given(
    index=st.integers(0, 1000),
    lon=st.floats(73.5, 134.7),
    lat=st.floats(18.2, 53.5),
)
def test_a_position_typed_in_gcj02_is_stored_in_wgs84_and_shown_again_as_typed(
    index: int, lon: float, lat: float
) -> None:
    station = sample()[index % len(sample())]
    shown = {**form_values(station, "gcj02"), "lon": f"{lon:.6f}", "lat": f"{lat:.6f}"}
    patch, problems = patch_for(shown, ["lon"], "gcj02")
    assert problems == [] and set(patch) == {"lon", "lat"}
    moved = station.model_copy(update=patch)
    again = form_values(moved, "gcj02")
    assert abs(float(again["lon"]) - lon) <= 2e-6 and abs(float(again["lat"]) - lat) <= 2e-6
