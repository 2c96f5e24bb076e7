"""A JavaScript module's functions called from Python tests: a Node.js harness script (``*.mjs`` next to the test)
reads one JSON line ``{"fn", "args"}`` at a time and answers ``{"result"}`` or ``{"error"}``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

Call = Callable[..., Any]


@contextmanager
def node_harness(script: Path) -> Iterator[Call]:
    """``call(fn, *args)`` answered by ``script`` under Node.js; skipped without Node.js, failed in CI."""
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Node.js (it runs eslint too)")
        pytest.skip("needs Node.js")
    process = subprocess.Popen([node, str(script)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def call(fn: str, *args: Any) -> Any:
        stdin.write(json.dumps({"fn": fn, "args": list(args)}) + "\n")
        stdin.flush()
        answer = json.loads(stdout.readline())
        assert "error" not in answer, answer["error"]
        return answer["result"]

    try:
        yield call
    finally:
        stdin.close()
        process.wait(timeout=10)
