"""The choices of the rider page's service worker (``maps/static/sw.js``), run by Node.js (``sw_logic.mjs``) and
checked against brute-force references on random inputs: which saved answer stands in for an answer asked offline
(same filters, whatever their order; the nearest position within 1 km; ties to the newest, then the first URL), which
answers go when more than ten are kept, and its distances against ``geo.distance.haversine_m``."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from node_harness import Call, node_harness

from geo.distance import haversine_m

HARNESS = Path(__file__).with_name("sw_logic.mjs")
ORIGIN = "https://yizhan.test"
NEAR_M = 1000.0
KEEP = 10
CENTRE = (120.16, 30.25)


@pytest.fixture(scope="module")
def worker() -> Iterator[Call]:
    with node_harness(HARNESS) as call:
        yield call


FILTERS = {
    "k": st.sampled_from(["20"]),
    "crs": st.sampled_from(["wgs84", "gcj02"]),
    "types": st.sampled_from([None, "outdoor_worker", "driver_home,nursing_room"]),
    "open_at": st.sampled_from([None, "now"]),
}
offsets = st.sampled_from([0.0, 0.001, -0.001, 0.004, 0.0085, -0.009, 0.02]) | st.floats(-0.02, 0.02)


@st.composite
def asked(draw: st.DrawFn) -> tuple[float, float, dict[str, str]]:
    lon = round(CENTRE[0] + draw(offsets), 7)
    lat = round(CENTRE[1] + draw(offsets), 7)
    filters = {name: value for name, strategy in FILTERS.items() if (value := draw(strategy)) is not None}
    return lon, lat, filters


def url_of(draw: st.DrawFn, lon: float, lat: float, filters: dict[str, str]) -> str:
    """The URL of an answer, its parameters in a drawn order (the page and the worker may order them differently)."""
    params = [("lon", f"{lon:.7f}"), ("lat", f"{lat:.7f}"), *filters.items()]
    return f"{ORIGIN}/stations/nearby?{urlencode(draw(st.permutations(params)))}"


def position_and_filters(url: str) -> tuple[float, float, dict[str, str]]:
    params = dict(parse_qsl(urlsplit(url).query))
    return float(params.pop("lon")), float(params.pop("lat")), params


@st.composite
def offline_question(draw: st.DrawFn) -> tuple[str, list[dict[str, Any]]]:
    asks = [draw(asked())]
    wanted = url_of(draw, *asks[0])
    saved: dict[str, dict[str, Any]] = {}
    for _ in range(draw(st.integers(0, 14))):
        # often the very question of an earlier answer (or the one asked now), in another parameter order
        asks.append(draw(st.sampled_from(asks) | asked()))
        url = url_of(draw, *asks[-1])
        saved[url] = {"url": url, "savedAt": draw(st.integers(1_700_000_000_000, 1_700_000_000_004))}
    return wanted, list(saved.values())  # a cache holds one answer a URL


def reference_pick(wanted: str, saved: list[dict[str, Any]]) -> tuple[int, float | None]:
    lon, lat, filters = position_and_filters(wanted)
    candidates = []
    for index, entry in enumerate(saved):
        then_lon, then_lat, then_filters = position_and_filters(entry["url"])
        if then_filters != filters:
            continue
        metres = float(haversine_m(lon, lat, then_lon, then_lat))
        assume(abs(metres - NEAR_M) > 1e-6)  # two floating-point haversines may round apart at the very edge
        if metres <= NEAR_M:
            candidates.append((metres, -entry["savedAt"], entry["url"], index))
    if not candidates:
        return -1, None
    candidates.sort()
    for a, b in itertools.pairwise(candidates):
        assume(a[0] == b[0] or b[0] - a[0] > 1e-6)  # exact ties (the same position) are decided by time, then URL
    return candidates[0][3], candidates[0][0]


@settings(max_examples=300, deadline=None)
@given(offline_question())
def test_the_stand_in_is_the_nearest_saved_answer_with_the_same_filters(
    worker: Call, question: tuple[str, list[dict[str, Any]]]
) -> None:
    wanted, saved = question
    index, metres = reference_pick(wanted, saved)
    pick = worker("pickSaved", wanted, saved, NEAR_M)
    assert pick["index"] == index, (pick, index)
    if metres is not None:
        assert pick["distanceM"] == pytest.approx(metres, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.integers(0, 30), max_size=25, unique=True),
    st.lists(st.integers(1_700_000_000_000, 1_700_000_000_006), min_size=25, max_size=25),
    st.integers(0, 12),
)
def test_only_the_newest_answers_are_kept(worker: Call, numbers: list[int], times: list[int], keep: int) -> None:
    pairs = zip(numbers, times[: len(numbers)], strict=True)
    saved = [{"url": f"{ORIGIN}/stations/nearby?lon=120&lat=30&n={n}", "savedAt": t} for n, t in pairs]
    newest_first = sorted(saved, key=lambda entry: (-entry["savedAt"], entry["url"]))
    assert worker("surplus", saved, keep) == [entry["url"] for entry in newest_first[keep:]]
    assert len(worker("surplus", saved, KEEP)) == max(0, len(saved) - KEEP)


@settings(max_examples=200, deadline=None)
@given(st.floats(-180, 180), st.floats(-89.9, 89.9), st.floats(-180, 180), st.floats(-89.9, 89.9))
def test_distances_are_haversine_metres(worker: Call, lon1: float, lat1: float, lon2: float, lat2: float) -> None:
    expected = float(haversine_m(lon1, lat1, lon2, lat2))
    assert worker("distanceM", lon1, lat1, lon2, lat2) == pytest.approx(expected, rel=1e-9, abs=1e-6)


@pytest.mark.parametrize(
    "query",
    ["lat=30.25&k=20", "lon=120.16&k=20", "lon=&lat=30.25", "lon=east&lat=30.25", "lon=120.16&lat=Infinity"],
)
def test_a_url_without_a_numeric_position_is_never_matched(worker: Call, query: str) -> None:
    url = f"{ORIGIN}/stations/nearby?{query}"
    assert worker("parseAnswerUrl", url) is None
    assert worker("pickSaved", url, [{"url": url, "savedAt": 1}], NEAR_M)["index"] == -1
    good = f"{ORIGIN}/stations/nearby?lon=120.16&lat=30.25&k=20"
    assert worker("pickSaved", good, [{"url": url, "savedAt": 1}], NEAR_M)["index"] == -1
