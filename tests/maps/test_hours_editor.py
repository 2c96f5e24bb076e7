"""The weekly hours editor's OSM writer and reader (``maps/static/hours_editor.js``), run by Node.js
(``hours_editor_logic.mjs``) and checked against ``stations.hours_words`` (the server's writer and reader) on random
weeks: the same text for the same week, the same week for the same text, and a text read into the editor's
controls written back unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from node_harness import Call, node_harness

from stations import hours
from stations.hours_words import DAY_MINUTES, WeeklyHours, read_osm, write_osm

HARNESS = Path(__file__).with_name("hours_editor_logic.mjs")


@pytest.fixture(scope="module")
def editor() -> Iterator[Call]:
    with node_harness(HARNESS) as call:
        yield call


def as_json(week: WeeklyHours | None) -> dict[str, Any] | None:
    if week is None:
        return None
    holidays = None if week.holidays is None else [list(s) for s in week.holidays]
    return {"days": [[list(s) for s in spans] for spans in week.days], "holidays": holidays}


MINUTES = st.integers(0, 24 * 12).map(lambda k: k * 5)


@st.composite
def spans(draw: st.DrawFn) -> tuple[tuple[int, int], ...]:
    if draw(st.integers(0, 7)) == 0:
        return ((0, DAY_MINUTES),)
    edges = sorted(set(draw(st.lists(MINUTES, max_size=6))))
    edges = edges[: len(edges) // 2 * 2]
    ranges = [(edges[i], edges[i + 1]) for i in range(0, len(edges), 2)]
    latest = max([end for _, end in ranges], default=0)
    if latest < DAY_MINUTES and draw(st.integers(0, 5)) == 0:  # sometimes a range past midnight, after the others
        start = draw(st.integers(latest // 5, 287)) * 5
        ranges.append((start, start + draw(st.integers(1, 287)) * 5))
    return tuple(ranges)


@st.composite
def weeks(draw: st.DrawFn) -> WeeklyHours:
    kinds = draw(st.lists(spans(), min_size=1, max_size=3))
    days = tuple(draw(st.sampled_from(kinds)) for _ in range(7))
    return WeeklyHours(days, draw(st.one_of(st.none(), st.just(()), spans()))).normalised()


@settings(max_examples=200, deadline=None)
@given(weeks())
def test_the_editor_writes_and_reads_osm_as_the_server_does(editor: Call, week: WeeklyHours) -> None:
    osm = write_osm(week)
    assert editor("writeOsm", as_json(week)) == osm
    assert editor("readOsm", osm) == as_json(read_osm(osm))
    state = editor("editorState", as_json(week))
    if week.holidays or not any(week.days):  # holiday hours of their own, or never open: the text field is used
        assert state is None
    else:
        written = editor("osmOf", state)
        assert written == osm
        hours.validate(written)


OUTSIDE = [
    "Jan-Mar Mo 08:00-12:00",
    "PH off; Mo 08:00-12:00",
    "Mo-Fr 08:00-12:00, We 14:00-18:00",
    "sunrise-sunset",
    "Mo[1] 10:00-12:00",
    "Mo-Fr 08:00-18:00 unknown",
    'Mo-Fr 08:00-18:00 "call first"',
    "周一至周五 9:00-17:00",
    "<img src=x onerror=alert(1)>",
    "Mo-Fr 25:00-26:00",
    "",
]


@pytest.mark.parametrize("text", OUTSIDE)
def test_text_beyond_the_family_is_left_to_the_text_field(editor: Call, text: str) -> None:
    assert editor("readOsm", text) is None and read_osm(text) is None


def test_the_editors_groups_are_applied_in_order_and_incomplete_ones_add_nothing(editor: Call) -> None:
    state = {
        "groups": [
            {"days": [0, 1, 2, 3, 4, 5, 6], "allDay": False, "spans": [[480, 1200]]},
            {"days": [5], "allDay": False, "spans": [[540, 720], [None, None]]},
            {"days": [6], "allDay": True, "spans": []},
            {"days": [], "allDay": False, "spans": [[0, 60]]},
            {"days": [2], "allDay": False, "spans": [[None, 600]]},
        ],
        "holidays": "off",
    }
    assert editor("osmOf", state) == "Mo-Fr 08:00-20:00; Sa 09:00-12:00; Su 00:00-24:00; PH off"
    overnight = {"groups": [{"days": [4, 5], "allDay": False, "spans": [[1320, 120]]}], "holidays": "same"}
    assert editor("osmOf", overnight) == "Fr,Sa 22:00-02:00"
    assert editor("osmOf", {"groups": [], "holidays": "off"}) == ""
