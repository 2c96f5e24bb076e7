"""The keeper console in Chromium, under the pages' real Content-Security-Policy: sign in, the home page, a form
sent after the session expired kept and filled back in after signing in again, sign out; axe-core finds no
serious or critical violation on the sign-in, home and tokens pages (Chinese and English)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import test_accessibility
from e2e_support import IMG, SCRIPT, Server
from sqlalchemy import update
from test_accessibility import _violations

from stations.people import People
from stations.store import ConsoleSessionRow, Store

axe_path = test_accessibility.axe_path  # the accessibility tests' fixture: node_modules/axe-core
PASSWORD = "e2e console pass 1"
ADMIN = f"管理员 {IMG}"
VIEWER = f"查看者 {SCRIPT}"
DESKTOP = {"width": 1280, "height": 800}


@pytest.fixture(scope="module")
def store(server: Server) -> Iterator[Store]:
    store = Store(server.settings.database_url)  # the server's database, opened beside it
    people = People(store, server.settings.secret)
    for name, role in ((ADMIN, "admin"), (VIEWER, "viewer")):
        people.create(name, role, PASSWORD)
    yield store
    store.engine.dispose()


def expire_sessions(store: Store) -> None:
    """Every session last used three hours ago: idle past YIZHAN_SESSION_IDLE_MINUTES (120)."""
    long_ago = datetime.now(UTC) - timedelta(hours=3)
    with store.engine.begin() as connection:
        connection.execute(update(ConsoleSessionRow).values(last_seen_at=long_ago))


def sign_in(page: Any, name: str) -> None:
    page.fill("#yz-name", name)
    page.fill("#yz-password", PASSWORD)
    page.click("#yz-signin-form button[type=submit]")
    page.wait_for_load_state()


def test_sign_in_keep_a_draft_across_an_expired_session_and_sign_out(
    new_page: Callable[..., Any], server: Server, store: Store
) -> None:
    page = new_page(viewport=DESKTOP, locale="zh-CN")
    page.goto(server.url + "/console")
    assert page.url == server.url + "/console/login?next=/console"
    page.fill("#yz-name", ADMIN)
    page.fill("#yz-password", "not the password")
    page.click("#yz-signin-form button[type=submit]")
    assert page.locator("#yz-signin-error").inner_text() == "用户名或密码错误"
    sign_in(page, ADMIN)
    assert page.url == server.url + "/console"
    assert page.locator(".yz-console-user .yz-user-name").inner_text() == ADMIN  # markup shown as text
    assert page.locator("img[src=x]").count() == 0
    page.click("nav >> text=令牌")
    assert page.url == server.url + "/console/tokens"

    page.fill("#yz-token-name", "夜班同步 {{ 7*7 }}")
    page.select_option("#yz-token-role", "viewer")
    page.fill("#yz-token-days", "30")
    expire_sessions(store)
    page.click("#yz-token-form button[type=submit]")
    page.wait_for_load_state()
    assert page.url.startswith(server.url + "/console/login?next=/console/tokens&expired=1")
    assert "未保存的内容会自动恢复" in page.locator(".yz-note").inner_text()
    sign_in(page, ADMIN)
    assert page.url == server.url + "/console/tokens"
    assert page.locator("#yz-restored").is_visible()
    assert "已恢复您未保存的内容" in page.locator("#yz-restored").inner_text()
    assert page.input_value("#yz-token-name") == "夜班同步 {{ 7*7 }}"
    assert page.input_value("#yz-token-role") == "viewer" and page.input_value("#yz-token-days") == "30"

    page.click("#yz-token-form button[type=submit]")  # now it saves
    page.wait_for_load_state()
    assert page.locator("#yz-new-token").inner_text().startswith("yzt_")
    assert not page.locator("#yz-restored").is_visible()
    page.goto(server.url + "/console/tokens")
    assert page.input_value("#yz-token-name") == "" and not page.locator("#yz-restored").is_visible()
    assert page.locator("td", has_text="夜班同步 {{ 7*7 }}").count() == 1

    # a page's own fetch writes carry the CSRF token without asking for it (console.js)
    status = page.evaluate(
        """() => fetch("/console/tokens", {
            method: "POST", body: new URLSearchParams({name: "由脚本创建", role: "viewer", expires_days: "1"}),
        }).then((r) => r.status)"""
    )
    assert status == 200
    page.reload()
    assert page.locator("td", has_text="由脚本创建").count() == 1
    # a fetch write after the session expired: console.js keeps the page's form and goes to sign in
    page.fill("#yz-token-name", "脚本草稿")
    expire_sessions(store)
    page.evaluate("""() => { fetch("/console/tokens", {method: "POST", body: new URLSearchParams({name: "x"})}); }""")
    page.wait_for_url("**/console/login?next=/console/tokens&expired=1")
    sign_in(page, ADMIN)
    assert page.input_value("#yz-token-name") == "脚本草稿" and page.locator("#yz-restored").is_visible()
    assert page.locator('td:text-is("x")').count() == 0  # the expired write wrote nothing

    page.click(".yz-logout button")
    page.wait_for_load_state()
    assert page.url == server.url + "/console/login?signed_out=1"
    assert "您已退出" in page.locator(".yz-notice").inner_text()
    page.goto(server.url + "/console")
    assert page.url.startswith(server.url + "/console/login")


@pytest.mark.usefixtures("store")
def test_a_viewer_sees_no_write_controls_in_english(new_page: Callable[..., Any], server: Server) -> None:
    page = new_page(viewport=DESKTOP, locale="en-GB")
    page.goto(server.url + "/console?lang=en")
    sign_in(page, VIEWER)
    assert page.url == server.url + "/console?lang=en"
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator(".yz-role").inner_text() == "(viewer)"
    assert page.locator("a[href^='/console/stations/new'], a[href^='/console/tokens']").count() == 0
    page.goto(server.url + "/console/tokens?lang=en")
    assert page.locator("h1").inner_text() == "You do not have permission to do this"


@pytest.mark.parametrize(
    ("who", "path"),
    [
        (None, "/console/login"),
        (None, "/console/login?lang=en"),
        (ADMIN, "/console"),
        (ADMIN, "/console/tokens"),
        (VIEWER, "/console?lang=en"),
    ],
)
@pytest.mark.usefixtures("store")
def test_axe_finds_no_serious_violation(
    new_page: Callable[..., Any], server: Server, axe_path: Path, who: str | None, path: str
) -> None:
    for viewport in ({"width": 390, "height": 844}, DESKTOP):
        page = new_page(viewport=viewport, bypass_csp=True, locale="zh-CN")
        if who is not None:
            page.goto(server.url + "/console/login")
            sign_in(page, who)
        page.goto(server.url + path)
        assert page.url == server.url + path
        problems = _violations(page, axe_path)
        assert not problems, f"axe-core on {path} at {viewport}:\n" + "\n".join(problems)
