"""The batched duplicate finder (``stations.imports.likely_duplicates`` over ``NearestIndex.within_many``) equals a
brute-force haversine pair search: random stations anywhere on the globe (the antimeridian and the poles too),
rows in any order, batches cut anywhere (``DUPLICATE_CHUNK`` made tiny).
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from geo.index import NearestIndex
from stations import imports
from stations.imports import DUPLICATE_ANY_M, DUPLICATE_SIMILAR_M, likely_duplicates, similar_names
from stations.model import Station
from stations.snapshot import Snapshot

EARTH_RADIUS_M = 6_371_008.8
NAMES = [
    "武林街道工会驿站",
    "武林街道爱心驿站",
    "古荡街道工会驿站",
    "文三路骑士之家",
    "文三路司机之家",
    "母婴室",
    "驿站",
]


def haversine(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle metres, written out here as the oracle."""
    p1, p2, dp, dl = map(math.radians, (lat1, lat2, lat2 - lat1, lon2 - lon1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def moved(origin: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    """About that far north and east of ``origin``, wrapped onto the globe."""
    lon, lat = origin
    lat2 = max(-90.0, min(90.0, lat + math.degrees(north_m / EARTH_RADIUS_M)))
    lon2 = lon + math.degrees(east_m / (EARTH_RADIUS_M * max(math.cos(math.radians(lat2)), 1e-3)))
    return (lon2 + 180.0) % 360.0 - 180.0, lat2


ORIGINS = st.sampled_from([(120.16, 30.27), (179.9999, 10.0), (-179.9999, -45.0), (0.0, 89.9995), (30.0, -89.9995)])
OFFSETS = st.tuples(st.floats(-60, 60), st.floats(-60, 60), st.sampled_from(NAMES))


@settings(max_examples=200)
@given(
    origin=ORIGINS,
    existing=st.lists(OFFSETS, max_size=25),
    new=st.lists(OFFSETS, min_size=1, max_size=25),
    row_order=st.randoms(use_true_random=False),
    chunk=st.integers(1, 7),
)
def test_batched_duplicates_equal_a_brute_force_pair_search(
    origin: tuple[float, float],
    existing: list[tuple[float, float, str]],
    new: list[tuple[float, float, str]],
    row_order: object,
    chunk: int,
) -> None:
    old = [Station(id=f"E{i}", name=n, types=["outdoor_worker"], lon=moved(origin, y, x)[0], lat=moved(origin, y, x)[1])
           for i, (y, x, n) in enumerate(existing)]  # fmt: skip
    rows = list(range(2, 2 + len(new)))
    row_order.shuffle(rows)  # type: ignore[attr-defined]  # rows need not come in file order
    added = [(row, Station(id=f"N{i}", name=n, types=["nursing_room"], lon=moved(origin, y, x)[0],
                           lat=moved(origin, y, x)[1]))
             for i, ((y, x, n), row) in enumerate(zip(new, rows, strict=True))]  # fmt: skip

    def rule(a: Station, b: Station) -> tuple[str, float] | None:
        distance = haversine(a.lon, a.lat, b.lon, b.lat)
        assume(abs(distance - DUPLICATE_ANY_M) > 1e-3 and abs(distance - DUPLICATE_SIMILAR_M) > 1e-3)
        if distance <= DUPLICATE_ANY_M:
            return f"within {DUPLICATE_ANY_M:g} m", distance
        if distance <= DUPLICATE_SIMILAR_M and similar_names(a.name, b.name):
            return f"similar name within {DUPLICATE_SIMILAR_M:g} m", distance
        return None

    expected = Counter()
    distances = {}
    for row, station in added:
        for other in old + [s for r, s in added if r < row]:
            found = rule(station, other)
            if found is not None:
                expected[(row, station.id, station.name, other.id, other.name, found[0])] += 1
                distances[(station.id, other.id)] = found[1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(imports, "DUPLICATE_CHUNK", chunk)
        result = likely_duplicates(added, Snapshot(old))
    got = Counter((d.row, d.id, d.name, d.existing_id, d.existing_name, d.reason) for d in result)
    assert got == expected
    for d in result:
        assert d.distance_m == pytest.approx(distances[(d.id, d.existing_id)], abs=0.051)
    # existing stations first, then new ones; each part in row order (as given), nearest first
    order = {row: position for position, (row, _) in enumerate(added)}
    new_ids = {s.id for _, s in added}
    keys = [(d.existing_id in new_ids, order[d.row], d.distance_m) for d in result]
    assert keys == sorted(keys)


@settings(max_examples=200)
@given(
    origin=ORIGINS,
    points=st.lists(st.tuples(st.floats(-500, 500), st.floats(-500, 500)), max_size=40),
    queries=st.lists(st.tuples(st.floats(-500, 500), st.floats(-500, 500)), max_size=20),
    radius_m=st.floats(0.5, 300),
)
def test_within_many_equals_brute_force(
    origin: tuple[float, float],
    points: list[tuple[float, float]],
    queries: list[tuple[float, float]],
    radius_m: float,
) -> None:
    at = [moved(origin, y, x) for y, x in points]
    asked = [moved(origin, y, x) for y, x in queries]
    index = NearestIndex([p[0] for p in at], [p[1] for p in at])
    query, position, distance_m = index.within_many([q[0] for q in asked], [q[1] for q in asked], radius_m)
    expected = set()
    for i, (qx, qy) in enumerate(asked):
        for j, (px, py) in enumerate(at):
            d = haversine(qx, qy, px, py)
            assume(abs(d - radius_m) > 1e-6)
            if d <= radius_m:
                expected.add((i, j))
    assert set(zip(query.tolist(), position.tolist(), strict=True)) == expected
    assert len(query) == len(expected)
    for i, j, d in zip(query.tolist(), position.tolist(), distance_m.tolist(), strict=True):
        assert d == pytest.approx(haversine(*asked[i], *at[j]), abs=1e-6)
    assert np.all(np.diff(query) >= 0)


@settings(max_examples=200)
@given(
    origin=ORIGINS,
    points=st.lists(st.tuples(st.floats(-60, 60), st.floats(-60, 60)), max_size=40),
    radius_m=st.floats(0.5, 100),
    chunk=st.integers(1, 50),
)
def test_pairs_within_equals_brute_force(
    origin: tuple[float, float], points: list[tuple[float, float]], radius_m: float, chunk: int
) -> None:
    """Each pair of indexed points within the radius once (first < second), in chunks cut anywhere; poles and
    antimeridian too."""
    at = [moved(origin, y, x) for y, x in points]
    index = NearestIndex([p[0] for p in at], [p[1] for p in at])
    found = list(index.pairs_within(radius_m, chunk))
    first, second, distance_m = (np.concatenate([part[k] for part in found] or [np.empty(0)]) for k in range(3))
    expected = set()
    for j, b in enumerate(at):
        for i, a in enumerate(at[:j]):
            d = haversine(*a, *b)
            assume(abs(d - radius_m) > 1e-6)
            if d <= radius_m:
                expected.add((i, j))
    assert sorted(zip(first.tolist(), second.tolist(), strict=True)) == sorted(expected)
    for i, j, d in zip(first.tolist(), second.tolist(), distance_m.tolist(), strict=True):
        assert d == pytest.approx(haversine(*at[i], *at[j]), abs=1e-6)


NAME_PARTS = st.sampled_from(
    ["武林", "街道", "工会", "驿站", "爱心", "1", "2", "3", "号", "a", "B", " ", "\ud800", "古荡"]
)
NAME = st.one_of(st.lists(NAME_PARTS, max_size=12).map("".join), st.text(max_size=20), st.just("武林" * 100))


@settings(max_examples=100)
@given(pairs=st.lists(st.tuples(NAME, NAME), min_size=1, max_size=30))
# one core empty and the names equal (İ folds to i in the pattern, not in lower()); both empty
@example(pairs=[("STATİON", "stati\u0307on"), ("工会驿站", " 工会驿站 "), ("驿站", "爱心")])
def test_vectorised_name_comparison_equals_similar_names(pairs: list[tuple[str, str]]) -> None:
    """``_Names.similar`` (distinct pairs of cores, rapidfuzz over all of them at once) answers ``similar_names``
    of each pair: names near the threshold, one inside the other, empty cores, lone surrogates, 200 characters."""
    left = [station_named(a, i) for i, (a, _) in enumerate(pairs)]
    right = [station_named(b, i) for i, (_, b) in enumerate(pairs)]
    which = np.arange(len(pairs))
    found = imports._Names().similar(left, which, right, which)
    assert found.tolist() == [similar_names(a, b) for a, b in pairs]


@settings(max_examples=200)
@given(a=NAME, b=NAME)
def test_similar_names_equal_a_longest_common_subsequence_by_hand(a: str, b: str) -> None:
    """The rule written out: cores (names without the shared words) equal, one inside the other, or twice their
    longest common subsequence (dynamic programming here) at least 60% of both lengths; empty cores compare the
    stripped lower-case names."""
    core_a, core_b = imports._core(a), imports._core(b)
    if not core_a or not core_b:
        expected = a.strip().lower() == b.strip().lower()
    else:
        row = [0] * (len(core_b) + 1)
        for x in core_a:
            diagonal, row[0] = 0, 0
            for j, y in enumerate(core_b, start=1):
                diagonal, row[j] = row[j], diagonal + 1 if x == y else max(row[j], row[j - 1])
        common = row[-1]
        expected = core_a in core_b or core_b in core_a or 10 * common >= 3 * (len(core_a) + len(core_b))
    assert similar_names(a, b) is expected and similar_names(b, a) is expected


def station_named(name: str, i: int) -> Station:
    return Station.model_construct(id=f"S{i}", name=name)


@settings(max_examples=200)
@given(names=st.lists(st.one_of(NAME, st.text(alphabet="ΣσςİIı_ \0\u200f工会Aa1", max_size=8)), max_size=12))
def test_cores_of_names_joined_equal_each_core(names: list[str]) -> None:
    """One pass over the names joined by NUL gives each name's core: final sigmas, dotted capitals, underscores,
    and a name holding NUL itself (then one by one)."""
    assert imports._cores(names) == [imports._core(name) for name in names]


@settings(max_examples=150)
@given(
    origin=ORIGINS,
    points=st.lists(st.tuples(st.floats(-80, 80), st.floats(-80, 80)), max_size=30),
    queries=st.lists(st.tuples(st.floats(-80, 80), st.floats(-80, 80)), max_size=10),
    piles=st.integers(0, 3),
    radius_m=st.sampled_from([0.5, 15.0, 50.0, 120.0]),
)
def test_count_pairs_within_bounds_and_equals_brute_force(
    origin: tuple[float, float],
    points: list[tuple[float, float]],
    queries: list[tuple[float, float]],
    piles: int,
    radius_m: float,
) -> None:
    """The grid's count is never below the pairs within the radius, the exact count is them (points piled on one
    spot too); among the points each pair once, between queries and points every pair."""
    points = points + [(0.0, 0.0)] * piles * 4
    at = [moved(origin, y, x) for y, x in points]
    asked = [moved(origin, y, x) for y, x in queries]
    index = NearestIndex([p[0] for p in at], [p[1] for p in at])

    def within(a: tuple[float, float], b: tuple[float, float]) -> bool:
        d = haversine(*a, *b)
        assume(abs(d - radius_m) > 1e-6)
        return d <= radius_m

    among = sum(within(a, b) for j, b in enumerate(at) for a in at[:j])
    between = sum(within(q, p) for q in asked for p in at)
    assert index.count_pairs_within(radius_m, exact=True) == among
    assert index.count_pairs_within(radius_m) >= among
    q_lon, q_lat = [q[0] for q in asked], [q[1] for q in asked]
    assert index.count_pairs_within(radius_m, q_lon, q_lat, exact=True) == between
    assert index.count_pairs_within(radius_m, q_lon, q_lat) >= between
