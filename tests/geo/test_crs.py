"""geo.crs against independent implementations (eviltransform, prcoords) and round trips."""

from __future__ import annotations

import eviltransform
import numpy as np
import prcoords
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.crs import CRS_NAMES, gcj02_to_bd09, in_china, point_to_gcj02_bd09, transform, wgs84_to_gcj02
from geo.distance import haversine_m

china_lon = st.floats(73.0, 135.0)
china_lat = st.floats(18.0, 53.5)
any_lon = st.floats(-180.0, 180.0)
any_lat = st.floats(-89.9, 89.9)

# prcoords uses the same published constants (Krasovsky a = 6378245 m): it must agree to 1e-9 degrees.
REFERENCE = {
    ("wgs84", "gcj02"): prcoords.wgs_gcj,
    ("gcj02", "bd09"): prcoords.gcj_bd,
    ("wgs84", "bd09"): prcoords.wgs_bd,
}
INVERSE = {  # reference forward shift that our inverse must undo
    ("gcj02", "wgs84"): prcoords.wgs_gcj,
    ("bd09", "gcj02"): prcoords.gcj_bd,
    ("bd09", "wgs84"): prcoords.wgs_bd,
}


@given(china_lon, china_lat, st.sampled_from(sorted(REFERENCE)))
def test_forward_shifts_match_prcoords(lon: float, lat: float, pair: tuple[str, str]) -> None:
    ref = REFERENCE[pair](prcoords.Coords(lat, lon))
    got_lon, got_lat = transform(lon, lat, *pair)
    assert float(got_lon) == pytest.approx(ref.lon, abs=1e-9)
    assert float(got_lat) == pytest.approx(ref.lat, abs=1e-9)


@given(china_lon, china_lat, st.sampled_from(sorted(INVERSE)))
def test_reference_forward_undoes_our_inverse(lon: float, lat: float, pair: tuple[str, str]) -> None:
    got_lon, got_lat = transform(lon, lat, *pair)
    again = INVERSE[pair](prcoords.Coords(float(got_lat), float(got_lon)))
    assert float(haversine_m(lon, lat, again.lon, again.lat)) <= 0.001


@given(china_lon, china_lat)
def test_inverse_matches_prcoords_exact_inverse(lon: float, lat: float) -> None:
    # prcoords stops iterating at its own PRC_EPS, so it is only good to a few millimetres
    ref = prcoords.gcj_wgs_bored(prcoords.Coords(lat, lon))
    got_lon, got_lat = transform(lon, lat, "gcj02", "wgs84")
    assert float(haversine_m(got_lon, got_lat, ref.lon, ref.lat)) <= 0.005


@given(china_lon, china_lat)
def test_agrees_with_eviltransform_within_two_centimetres(lon: float, lat: float) -> None:
    # eviltransform is the other published variant (WGS84 a = 6378137 m): about a centimetre apart
    ref_lat, ref_lon = eviltransform.wgs2bd(lat, lon)
    got_lon, got_lat = transform(lon, lat, "wgs84", "bd09")
    assert float(haversine_m(got_lon, got_lat, ref_lon, ref_lat)) < 0.02


@given(china_lon, china_lat, st.sampled_from(CRS_NAMES), st.sampled_from(CRS_NAMES))
def test_round_trip_within_a_millimetre(lon: float, lat: float, source: str, target: str) -> None:
    there = transform(lon, lat, source, target)
    back_lon, back_lat = transform(*there, target, source)
    assert float(haversine_m(lon, lat, back_lon, back_lat)) <= 0.001


def test_round_trip_vectorised_over_many_points() -> None:
    rng = np.random.default_rng(7)
    lon, lat = rng.uniform(73, 135, 100_000), rng.uniform(18, 53.5, 100_000)
    for target in ("gcj02", "bd09"):
        back = transform(*transform(lon, lat, "wgs84", target), target, "wgs84")
        assert haversine_m(lon, lat, *back).max() <= 0.001


@given(any_lon, any_lat, st.sampled_from(CRS_NAMES), st.sampled_from(CRS_NAMES))
def test_outside_china_passes_through_unchanged(lon: float, lat: float, source: str, target: str) -> None:
    if in_china(lon, lat):
        return
    got_lon, got_lat = transform(lon, lat, source, target)
    assert (float(got_lon), float(got_lat)) == (lon, lat)


def test_shift_in_hangzhou_is_hundreds_of_metres() -> None:
    lon, lat = transform(120.16, 30.25, "wgs84", "gcj02")
    assert 300 < float(haversine_m(120.16, 30.25, lon, lat)) < 700


def test_shapes_are_kept_and_scalars_are_arrays() -> None:
    lon, lat = transform(np.full((2, 3), 120.0), np.full((2, 3), 30.0), "wgs84", "bd09")
    assert lon.shape == lat.shape == (2, 3)
    scalar_lon, _ = transform(120.0, 30.0, "bd09", "wgs84")
    assert scalar_lon.shape == ()


def test_unknown_crs_names_the_valid_ones() -> None:
    with pytest.raises(ValueError, match="wgs84, gcj02, bd09"):
        transform(120, 30, "wgs84", "epsg:3857")


@settings(max_examples=300)
@given(
    st.floats(-180, 180, allow_nan=False) | st.floats(72, 138),
    st.floats(-90, 90, allow_nan=False) | st.floats(0.8, 56),
)
def test_one_point_in_scalar_arithmetic_equals_the_arrays(lon: float, lat: float) -> None:
    g_lon, g_lat = wgs84_to_gcj02([lon], [lat])
    b_lon, b_lat = gcj02_to_bd09(g_lon, g_lat)
    expected = [float(v[0]) for v in (g_lon, g_lat, b_lon, b_lat)]
    assert point_to_gcj02_bd09(lon, lat) == pytest.approx(expected, rel=0, abs=1e-12)  # last places of a sine
