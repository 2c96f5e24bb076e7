"""A rider reports a problem from the rider page: the report reaches the registry's keepers as sent, the
page thanks the rider, and past the hourly allowance the page says so instead of failing silently."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from e2e_support import IMG, Server
from test_rider_page import located_page

from stations.reports import Reports
from stations.store import Store

pytestmark = pytest.mark.slow


def _send(page: Any, kind: str, message: str) -> str:
    item = page.locator(".yz-item").first
    if item.locator(".yz-report").get_attribute("open") is None:
        item.locator(".yz-report summary").click()
    item.locator(".yz-report select").select_option(kind)
    item.locator(".yz-report textarea").fill(message)
    item.locator(".yz-report button").click()
    result = item.locator(".yz-report-result")
    result.filter(has_not_text="正在提交").wait_for()
    page.wait_for_function("el => !el.textContent.includes('正在提交')", arg=result.element_handle())
    return result.text_content()


def test_a_rider_reports_a_closed_station(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server)
    station_id = page.locator(".yz-item").first.get_attribute("data-id")
    assert _send(page, "closed", f"门锁着 {IMG}") == "谢谢！管理员会核实。"
    reports = Reports(Store(server.settings.database_url)).list(station_id=station_id)
    assert [(r.kind, r.message) for r in reports][:1] == [("closed", f"门锁着 {IMG}")]
    assert page.locator("img[src='x']").count() == 0


def test_past_the_hourly_allowance_the_page_says_so(new_page: Callable[..., Any], server: Server) -> None:
    page = located_page(new_page, server)
    answers = [_send(page, "other", f"第 {i} 次") for i in range(server.settings.reports_per_hour + 1)]
    assert answers[0] == "谢谢！管理员会核实。"  # the server is shared: other tests may have used part of the hour
    assert re.fullmatch(r"提交失败：请求太频繁，请约 \d+ 分钟后再试。", answers[-1])  # the page's words, not the API's
