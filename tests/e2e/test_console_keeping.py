"""The keeper console's keeping pages in Chromium, as an editor: upload a sheet with one bad row, read the reason
in Chinese, fix it, re-import and commit; resolve a rider's report with a note; axe-core finds no serious or
critical violation on the imports and reports pages. The app runs on its own registry (the imports add
stations), the pages with their Content-Security-Policy (the progress polling and the maps must run under it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import test_accessibility
from e2e_support import IMG, Server, console_serve, signed_in

pytestmark = pytest.mark.slow
axe_path = test_accessibility.axe_path  # the accessibility tests' fixture: node_modules/axe-core

EDITOR, VIEWER = "编辑甲", "只读乙"
HEADER = "编号,名称,类型,经度,纬度,开放时间,热水"
GOOD = f"E2E-1,{IMG}西湖工会驿站,户外劳动者服务站,120.1301,30.2601,周一至周日 8:00-20:00,有"
BAD = "E2E-2,北山街骑士之家,骑士之家,30.2602,120.1302,全天,无"  # lon and lat swapped
FIXED = "E2E-2,北山街骑士之家,骑士之家,120.1302,30.2602,全天,无"


@pytest.fixture(scope="module")
def console_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with console_serve(tmp_path_factory.mktemp("console-keeping"), ((EDITOR, "editor"), (VIEWER, "viewer"))) as running:
        yield running


def _signed_in(new_page: Callable[..., Any], server: Server, path: str, name: str = EDITOR, **options: Any) -> Any:
    return signed_in(new_page, server, path, name, **options)


def _check(page: Any, rows: list[str]) -> None:
    """Upload a sheet and wait for its dry run (the page polls the status, then shows the report)."""
    body = ("\n".join([HEADER, *rows]) + "\n").encode()
    page.set_input_files("#yz-file", {"name": "站点表.csv", "mimeType": "text/csv", "buffer": body})
    page.click("#yz-upload button[type=submit]")
    page.wait_for_selector('#yz-job[data-state="checked"]', timeout=30_000)


def test_a_sheet_with_a_bad_row_is_fixed_re_imported_and_committed(
    new_page: Callable[..., Any], console_server: Server
) -> None:
    page = _signed_in(new_page, console_server, "/console/imports")
    _check(page, [GOOD, BAD])
    problem = page.locator("#yz-problems tbody tr")
    assert problem.count() == 1
    assert problem.locator("td").all_inner_texts() == [
        "3", "纬度", "120.1302", "纬度必须在 -90 到 90 之间（经度和纬度似乎填反了）",
    ]  # fmt: skip
    assert page.locator("#yz-commit").count() == 0  # nothing can be committed while a row is rejected
    assert page.locator("#yz-summary td").all_inner_texts() == ["1", "0", "0", "1", "0"]

    page.click("#yz-cancel button")
    page.wait_for_selector("#yz-upload")
    assert "未写入任何内容" in page.inner_text("main")
    _check(page, [GOOD, FIXED])
    assert page.locator("#yz-problems").count() == 0
    assert page.locator("#yz-added tbody tr td:nth-child(3)").all_inner_texts() == [
        f"{IMG}西湖工会驿站",
        "北山街骑士之家",
    ]
    assert httpx.get(f"{console_server.url}/stations/E2E-1").status_code == 404  # checked, not written
    page.click("#yz-commit button")
    page.wait_for_selector("#yz-committed", timeout=30_000)
    assert "新增 2" in page.inner_text("#yz-committed")
    for station_id, hours in (("E2E-1", "Mo-Su 08:00-20:00"), ("E2E-2", "24/7")):
        station = console_server.get(f"/stations/{station_id}").json()
        assert station["properties"]["opening_hours"] == hours
    assert page.locator("img[src=x]").count() == 0  # the hostile name stayed text


def test_a_report_is_resolved_with_a_note(new_page: Callable[..., Any], console_server: Server) -> None:
    filed = httpx.post(
        f"{console_server.url}/stations/T-SPLIT/reports", json={"kind": "hours_wrong", "message": f"周末也开 {IMG}"}
    )
    assert filed.status_code == 201, filed.text
    report_id = filed.json()["id"]
    page = _signed_in(new_page, console_server, "/console/reports")
    item = page.locator(f"#report-{report_id}")
    assert IMG in item.inner_text() and page.locator("img[src=x]").count() == 0
    page.wait_for_selector("#yz-report-map .leaflet-marker-icon")
    item.locator(".yz-show").click()
    page.fill(f"#note-{report_id}", "已电话核实：周末照常开放，已改开放时间")
    item.locator("button[value=resolved]").click()
    page.wait_for_selector("#yz-notice")
    assert page.locator(f"#report-{report_id}").count() == 0  # gone from the open queue
    page.goto(f"{console_server.url}/console/reports?status=resolved")
    assert "已电话核实：周末照常开放" in page.inner_text(f"#report-{report_id}")
    assert EDITOR in page.inner_text(f"#report-{report_id}")


def test_a_viewer_sees_the_pages_without_write_controls(new_page: Callable[..., Any], console_server: Server) -> None:
    httpx.post(f"{console_server.url}/stations/T-EVE/reports", json={"kind": "closed"}).raise_for_status()
    page = _signed_in(new_page, console_server, "/console/imports", name=VIEWER)
    assert page.locator("#yz-upload").count() == 0 and "需要编辑权限" in page.inner_text("main")
    assert page.locator('a[href="/console/imports/template.xlsx"]').count() == 1
    page.goto(f"{console_server.url}/console/reports")
    page.wait_for_selector("#yz-report-map .leaflet-marker-icon")
    assert page.locator(".yz-report").count() >= 1
    assert page.locator(".yz-resolve, textarea").count() == 0


@pytest.mark.parametrize("path", ["/console/imports", "/console/reports?status=all"])
def test_axe_finds_no_serious_violation(
    new_page: Callable[..., Any],
    console_server: Server,
    axe_path: Path,
    path: str,
) -> None:
    page = _signed_in(new_page, console_server, path, bypass_csp=True)  # axe is injected
    if path == "/console/imports":
        _check(page, [GOOD.replace("E2E-1", "E2E-3"), BAD])  # the report's tables, a rejected row, a duplicate
    page.wait_for_timeout(300)
    problems = test_accessibility._violations(page, axe_path)
    assert not problems, f"axe-core on {path}:\n" + "\n".join(problems)
