"""geo.index answers exactly what brute-force haversine answers, on random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from geo.distance import haversine_m
from geo.index import NearestIndex

# distances equal up to floating error are ties: 1 µm, or 1e-9 relative for the near-antipodal distances
# where both haversine and chord-to-arc are ill-conditioned (2 cm at 20,000 km)
TIE_M = 1e-6
TIE_RELATIVE = 1e-9


def brute_force(lon, lat, qlon, qlat, k=None, radius_m=None, mask=None):
    distance = haversine_m(qlon, qlat, lon, lat)
    candidates = np.arange(len(lon)) if mask is None else np.flatnonzero(mask)
    if radius_m is not None:
        candidates = candidates[distance[candidates] <= radius_m]
    ranked = candidates[np.argsort(distance[candidates], kind="stable")]
    return ranked[:k] if k is not None else ranked, distance


def assert_same_answer(found, lon, lat, qlon, qlat, **kwargs):
    expected, distance = brute_force(lon, lat, qlon, qlat, **kwargs)
    assert len(found) == len(expected)
    # same distances rank by rank...
    np.testing.assert_allclose(found.distance_m, distance[expected], atol=TIE_M, rtol=TIE_RELATIVE)
    np.testing.assert_allclose(found.distance_m, distance[found.index], atol=TIE_M, rtol=TIE_RELATIVE)
    # ...and where no tie crosses the cut-off, the same stations
    if len(expected) and (len(expected) == len(lon) or kwargs.get("k") is None):
        assert set(found.index) == set(expected)
    assert np.all(np.diff(found.distance_m) >= -TIE_M - TIE_RELATIVE * found.distance_m[1:])


lons = st.floats(-180, 180, allow_nan=False)
lats = st.floats(-90, 90, allow_nan=False)


@st.composite
def point_sets(draw, max_size=300):
    """Random stations: world-wide, clustered near a pole or the antimeridian, with duplicates."""
    n = draw(st.integers(0, max_size))
    region = draw(st.sampled_from(["world", "north_pole", "south_pole", "antimeridian", "hangzhou"]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if region == "world":
        lon, lat = rng.uniform(-180, 180, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    elif region == "north_pole":
        lon, lat = rng.uniform(-180, 180, n), rng.uniform(89.0, 90.0, n)
    elif region == "south_pole":
        lon, lat = rng.uniform(-180, 180, n), rng.uniform(-90.0, -89.0, n)
    elif region == "antimeridian":
        lon = (rng.uniform(179.0, 181.0, n) + 180) % 360 - 180
        lat = rng.uniform(-10, 10, n)
    else:
        lon, lat = rng.uniform(119.9, 120.4, n), rng.uniform(30.1, 30.4, n)
    if n and draw(st.booleans()):  # exact duplicates and ties
        copies = rng.integers(0, n, size=n // 3)
        lon[: len(copies)], lat[: len(copies)] = lon[copies], lat[copies]
    return np.round(lon, draw(st.sampled_from([3, 7, 12]))), lat


@given(point_sets(), lons, lats, st.integers(1, 40))
def test_k_nearest_equals_brute_force(points, qlon, qlat, k):
    lon, lat = points
    found = NearestIndex(lon, lat).query(qlon, qlat, k=k)
    assert_same_answer(found, lon, lat, qlon, qlat, k=k)


@given(point_sets(), lons, lats, st.floats(1.0, 3_000_000.0))
def test_within_radius_equals_brute_force(points, qlon, qlat, radius_m):
    lon, lat = points
    found = NearestIndex(lon, lat).query(qlon, qlat, k=None, radius_m=radius_m)
    assert_same_answer(found, lon, lat, qlon, qlat, radius_m=radius_m)


@given(
    point_sets(),
    lons,
    lats,
    st.integers(1, 20),
    st.none() | st.floats(1.0, 5_000_000.0),
    st.integers(0, 2**32 - 1),
    st.sampled_from([1.0, 0.5, 0.01, 1e-9]),
)
def test_filtered_k_nearest_equals_brute_force(points, qlon, qlat, k, radius_m, seed, share):
    lon, lat = points
    mask = np.random.default_rng(seed).random(len(lon)) < 0.2  # a sparse filter forces the search to widen
    # share: the caller's guess of the filter's share, right or wrong, sizes the first batch only
    found = NearestIndex(lon, lat).query(qlon, qlat, k=k, radius_m=radius_m, accept=lambda i: mask[i], share=share)
    assert mask[found.index].all()
    assert_same_answer(found, lon, lat, qlon, qlat, k=k, radius_m=radius_m, mask=mask)


@given(
    point_sets(max_size=200),
    arrays(np.float64, 20, elements=lons),
    arrays(np.float64, 20, elements=lats),
    st.integers(1, 12),
)
def test_batch_equals_single_queries(points, qlon, qlat, k):
    lon, lat = points
    index = NearestIndex(lon, lat)
    many_index, many_distance = index.query_many(qlon, qlat, k=k)
    for row in range(len(qlon)):
        single = index.query(qlon[row], qlat[row], k=k)
        kept = many_index[row] >= 0
        assert kept.sum() == len(single)
        np.testing.assert_allclose(many_distance[row][kept], single.distance_m, atol=TIE_M, rtol=TIE_RELATIVE)
        assert np.isinf(many_distance[row][~kept]).all()


def test_distances_are_metres_and_ordered():
    index = NearestIndex([120.0, 120.01, 120.1], [30.0, 30.0, 30.0])
    found = index.query(120.0, 30.0, k=3)
    assert found.index.tolist() == [0, 1, 2]
    assert found.distance_m[1] == pytest.approx(963.0, abs=1.0)  # 0.01° of longitude at 30°N


def test_across_the_antimeridian_the_nearest_is_on_the_other_side():
    index = NearestIndex([179.99, -179.999, 170.0], [0.0, 0.0, 0.0])
    assert index.query(179.9995, 0.0, k=1).index.tolist() == [1]


def test_empty_index_and_k_zero_return_nothing():
    assert len(NearestIndex([], []).query(120, 30, k=5)) == 0
    assert len(NearestIndex([120.0], [30.0]).query(120, 30, k=0)) == 0


def test_bbox_listing_across_the_antimeridian():
    index = NearestIndex([179.5, -179.5, 0.0, 120.1], [1.0, 1.0, 1.0, 30.2])
    assert index.in_bbox(179.0, 0.0, -179.0, 2.0).tolist() == [0, 1]
    assert index.in_bbox(120.0, 30.0, 120.2, 30.3).tolist() == [3]
    assert NearestIndex([], []).in_bbox(0, 0, 1, 1).tolist() == []


def test_lengths_must_match():
    with pytest.raises(ValueError, match="differ in length"):
        NearestIndex([1.0, 2.0], [1.0])


def test_a_point_that_is_not_a_number_finds_nothing():
    index = NearestIndex([120.0, 120.01], [30.0, 30.0])
    assert len(index.query(float("nan"), 30.0, k=2)) == 0
    assert len(index.query(120.0, float("nan"), k=1, radius_m=1000)) == 0
