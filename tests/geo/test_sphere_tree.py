"""geo._sphere_tree (the C k-d tree under NearestIndex) finds exactly what a brute-force pass over the same unit
vectors finds, with any leaf size, k, bound and ties; and refuses malformed arrays with a clear error."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from geo._sphere_tree import SphereTree
from geo.distance import EARTH_RADIUS_M, unit_vectors
from tests.geo.test_index import lats, lons, point_sets

SCALE = 2.0 * EARTH_RADIUS_M


def query_vector(lon: float, lat: float) -> np.ndarray:
    """The query's unit vector as the C code makes it (libm, no fused multiply-add): the same bits."""
    lon_r, lat_r = lon * (math.pi / 180.0), lat * (math.pi / 180.0)
    cos_lat = math.cos(lat_r)
    return np.array([cos_lat * math.cos(lon_r), cos_lat * math.sin(lon_r), math.sin(lat_r)])


def squared_chords(vectors: np.ndarray, q: np.ndarray) -> np.ndarray:
    delta = vectors - q
    return delta[:, 0] * delta[:, 0] + delta[:, 1] * delta[:, 1] + delta[:, 2] * delta[:, 2]


@given(
    point_sets(max_size=400),
    lons,
    lats,
    st.integers(0, 450),
    st.sampled_from([1, 2, 3, 16, 64]),
    st.none() | st.floats(0.0, 2.5),
)
def test_nearest_equals_brute_force_on_the_same_vectors(points, qlon, qlat, k, leafsize, bound):
    lon, lat = points
    vectors = unit_vectors(lon, lat) if len(lon) else np.empty((0, 3))
    tree = SphereTree(vectors, leafsize, SCALE)
    index, metres = np.full(max(k, 1), -7, dtype=np.intp), np.full(max(k, 1), -7.0)
    count = tree.nearest(qlon, qlat, k, math.inf if bound is None else bound, index, metres)

    d2 = squared_chords(vectors, query_vector(qlon, qlat))
    inside = np.flatnonzero(d2 <= (math.inf if bound is None else bound * bound))
    ranked = inside[np.argsort(d2[inside], kind="stable")][:k]
    assert count == len(ranked)
    found = index[:count]
    # the same squared chords rank by rank, to the bit...
    np.testing.assert_array_equal(d2[found], d2[ranked])
    assert len(set(found.tolist())) == count
    # ...the same points wherever no tie crosses the cut...
    if count and (count == len(inside) or d2[ranked[-1]] < np.sort(d2[inside])[count]):
        assert set(found.tolist()) == set(ranked.tolist())
    # ...and metres from the chord
    expected_m = SCALE * np.arcsin(np.minimum(np.sqrt(d2[found]), 2.0) * 0.5)
    np.testing.assert_allclose(metres[:count], expected_m, rtol=1e-12, atol=1e-9)
    assert (index[count:] == -7).all()  # nothing written past the answer


@given(point_sets(max_size=200), st.integers(1, 80))
def test_ties_come_out_in_one_fixed_order(points, k):
    lon, lat = points
    lon, lat = np.concatenate([lon, np.repeat(lon[:1], 40)]), np.concatenate([lat, np.repeat(lat[:1], 40)])
    if not len(lon):
        return
    tree = SphereTree(unit_vectors(lon, lat), 4, SCALE)
    answers = []
    for _ in range(2):
        index, metres = np.empty(k, dtype=np.intp), np.empty(k)
        count = tree.nearest(float(lon[0]), float(lat[0]), k, math.inf, index, metres)
        answers.append(index[:count].tolist())
    assert answers[0] == answers[1]


@given(point_sets(max_size=200), st.lists(st.tuples(lons, lats), min_size=0, max_size=12), st.integers(1, 70))
def test_a_batch_equals_single_queries_padded(points, queries, k):
    lon, lat = points
    vectors = unit_vectors(lon, lat) if len(lon) else np.empty((0, 3))
    tree = SphereTree(vectors, 16, SCALE)
    q = np.array([query_vector(x, y) for x, y in queries]).reshape(-1, 3)
    many_index, many_m = np.empty((len(q), k), dtype=np.intp), np.empty((len(q), k))
    tree.nearest_many(q, k, many_index, many_m)
    for row, (x, y) in enumerate(queries):
        index, metres = np.empty(k, dtype=np.intp), np.empty(k)
        count = tree.nearest(x, y, k, math.inf, index, metres)
        assert many_index[row, :count].tolist() == index[:count].tolist()
        np.testing.assert_array_equal(many_m[row, :count], metres[:count])
        assert (many_index[row, count:] == -1).all() and np.isinf(many_m[row, count:]).all()


def test_malformed_arrays_are_refused_by_name():
    with pytest.raises(ValueError, match="vectors"):
        SphereTree(np.zeros((4, 2)))
    with pytest.raises(ValueError, match="vectors"):
        SphereTree(np.zeros((6, 2)))  # 12 numbers, not 4 points
    with pytest.raises(ValueError, match="vectors"):
        SphereTree(np.zeros((4, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="leafsize"):
        SphereTree(np.zeros((4, 3)), 0)
    tree = SphereTree(unit_vectors([120.0, 121.0], [30.0, 30.0]))
    with pytest.raises(ValueError, match="index"):
        tree.nearest(120.0, 30.0, 2, math.inf, np.empty(1, dtype=np.intp), np.empty(2))
    with pytest.raises(ValueError, match="metres"):
        tree.nearest(120.0, 30.0, 2, math.inf, np.empty(2, dtype=np.intp), np.empty(2, dtype=np.float32))
    with pytest.raises(ValueError, match="index"):
        tree.nearest(120.0, 30.0, 2, math.inf, np.empty(2), np.empty(2))  # float64 where positions go
    with pytest.raises(BufferError):
        tree.nearest(120.0, 30.0, 2, math.inf, b"read-only bytes....", np.empty(2))
    with pytest.raises(TypeError):
        tree.nearest("120", 30.0, 2, math.inf, np.empty(2, dtype=np.intp), np.empty(2))


def test_nan_query_or_bound_finds_nothing():
    tree = SphereTree(unit_vectors([120.0, 121.0], [30.0, 30.0]))
    index, metres = np.empty(2, dtype=np.intp), np.empty(2)
    assert tree.nearest(math.nan, 30.0, 2, math.inf, index, metres) == 0
    assert tree.nearest(120.0, 30.0, 2, math.nan, index, metres) == 0
    assert tree.nearest(120.0, 30.0, 2, -1.0, index, metres) == 0
