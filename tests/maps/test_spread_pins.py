"""``spreadPins`` (maps/static/app.js), run by node: the map markers' 44 px tap boxes it places never overlap, the
first (nearest) marker never moves, a marker clear of those before it stays, and a moved one takes the nearest
clear spot of its grid, as a brute-force search over the whole grid finds."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

APP = Path(__file__).resolve().parents[2] / "maps" / "static" / "app.js"
SIZE = 44
REACH = 16  # app.js: candidates within 16 half-boxes each way

# Reads app.js as the page does (a classic script: its functions become globals), then answers one JSON line
# [points, size] per line with spreadPins' offsets.
RUNNER = """
const vm = require("vm"), fs = require("fs"), readline = require("readline");
vm.runInThisContext(fs.readFileSync(process.argv[1], "utf8"));
readline.createInterface({input: process.stdin}).on("line", (line) => {
  const [points, size] = JSON.parse(line);
  process.stdout.write(JSON.stringify(spreadPins(points, size)) + "\\n");
});
"""


@pytest.fixture(scope="module")
def spread() -> Iterator[subprocess.Popen[str]]:
    node = shutil.which("node")
    if node is None:
        pytest.skip("needs node (make lint-js needs it too)")
    process = subprocess.Popen(
        [node, "-e", RUNNER, str(APP)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    yield process
    process.stdin.close()  # type: ignore[union-attr]
    process.wait(timeout=30)


def spread_pins(process: subprocess.Popen[str], points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    process.stdin.write(json.dumps([points, SIZE]) + "\n")  # type: ignore[union-attr]
    process.stdin.flush()  # type: ignore[union-attr]
    return [tuple(offset) for offset in json.loads(process.stdout.readline())]  # type: ignore[union-attr]


def clear(x: float, y: float, placed: list[tuple[float, float]]) -> bool:
    return all(abs(px - x) >= SIZE or abs(py - y) >= SIZE for px, py in placed)


coordinate = st.floats(min_value=0, max_value=400, allow_nan=False).map(lambda v: round(v, 2))
crowds = st.lists(st.tuples(coordinate, coordinate), min_size=1, max_size=40)


@settings(max_examples=150, deadline=None)
@given(points=crowds)
def test_boxes_never_overlap_and_each_takes_the_nearest_clear_spot(
    spread: subprocess.Popen[str], points: list[tuple[float, float]]
) -> None:
    offsets = spread_pins(spread, points)
    assert len(offsets) == len(points)
    assert offsets[0] == (0, 0)
    placed: list[tuple[float, float]] = []
    step = SIZE / 2
    grid = [(i * step, j * step) for i in range(-REACH, REACH + 1) for j in range(-REACH, REACH + 1)]
    for (x, y), (dx, dy) in zip(points, offsets, strict=True):
        if clear(x, y, placed):
            assert (dx, dy) == (0, 0)  # clear of the nearer stations' markers: it keeps its true place
        free = [(gx, gy) for gx, gy in grid if clear(x + gx, y + gy, placed)]
        assert free, "40 markers always leave a clear spot within the grid"
        assert (dx, dy) in free
        assert dx * dx + dy * dy == min(gx * gx + gy * gy for gx, gy in free)
        placed.append((x + dx, y + dy))
    for i, (ax, ay) in enumerate(placed):  # brute force: every pair of boxes apart
        for bx, by in placed[i + 1 :]:
            assert abs(ax - bx) >= SIZE or abs(ay - by) >= SIZE


def test_the_example_in_the_comment(spread: subprocess.Popen[str]) -> None:
    assert spread_pins(spread, [(0, 0), (10, 0)]) == [(0, 0), (0, -44)]
    assert spread_pins(spread, [(0, 0), (44, 0), (300, 300)]) == [(0, 0), (0, 0), (0, 0)]
