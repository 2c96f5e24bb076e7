"""Weight and speed of the rider page (issue 14 item 5) in Chromium on slow 3G with a 4x slower CPU
(tests/e2e/throttled.py): the first load of ``/`` (tiles blocked) stays within 120 KB on the wire, counted by a
proxy in front of the server (so a service worker's own fetches count too); the drop-down asks for the light
district list; a repeat load costs only revalidations (``304``) and still draws the page (a ``304``'s headers must
not replace the kept page's Content-Security-Policy).

The time from the position to the list is measured and written to tests/artifacts/page_weight.json, not
asserted: tests here never assert wall-clock times (the machines are shared); bench/page_weight.py prints it
against the 2 s budget with the uncompressed, uncached load of the same run as its baseline.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from e2e_support import ARTIFACTS, Server
from throttled import CountingProxy, throttled_page, visit

pytestmark = pytest.mark.slow

BUDGET_BYTES = 120_000
"""The first load of ``/`` without tiles, on the wire (issue 14: ≤ 120 KB)."""


def by_path(load: Any) -> dict[str, int]:
    return {urlsplit(url)._replace(scheme="", netloc="").geturl(): size for url, size in load.bytes_by_url.items()}


def test_first_and_repeat_loads_of_the_rider_page_fit_the_budget(browser: Any, server: Server) -> None:
    port = int(server.url.rsplit(":", 1)[1])
    with CountingProxy(port) as proxy:
        context, page, load = throttled_page(browser)
        try:
            first = by_path(visit(page, proxy.url + "/", load))
            first_bytes, marks = proxy.received, (load.position_ms, load.list_ms, load.list_after_position_ms)
            assert "/districts?geometry=false" in first and "/districts" not in first
            assert any(path.startswith("/stations/nearby?") for path in first)
            assert first_bytes <= BUDGET_BYTES, (first_bytes, first)
            assert first["/"] < 100_000  # the page itself, compressed (about 250 KB as text)
            assert load.list_after_position_ms is not None and load.list_after_position_ms > 0

            proxy.reset()
            again = by_path(visit(page, proxy.url + "/", load))  # the same phone again: its cache revalidates
            repeat_bytes = proxy.received
            assert repeat_bytes < first_bytes / 5, (repeat_bytes, again)
            assert page.locator(".leaflet-container").count() == 1  # the kept page still runs under its own policy
        finally:
            context.close()
    ARTIFACTS.mkdir(exist_ok=True)
    figures = {
        "first_load_bytes": first_bytes,
        "first_load_by_path_page_only": first,
        "position_ms": marks[0],
        "list_ms": marks[1],
        "list_after_position_ms": marks[2],
        "repeat_load_bytes": repeat_bytes,
    }
    (ARTIFACTS / "page_weight.json").write_text(json.dumps(figures, indent=2), encoding="utf-8")
