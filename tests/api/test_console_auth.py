"""The keeper console's sign-in, sessions, CSRF, roles and tokens page, through the real app on a SQLite file.

One app for the module; each test signs in its own people from its own client address (the per-client limit
counts by address) with its own cookie jar. The session clock is ``app.state.people.clock``, which the tests
move; argon2 runs with cheap parameters here (the production defaults cost ~0.1-0.5 s a hash).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import escape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.app import create_app
from api.sessions import safe_next
from stations.errors import InvalidValue, Unauthorized
from stations.people import People
from stations.settings import Settings
from stations.store import ConsoleSessionRow, TokenRow
from tests.hostile import MARKUP, TEMPLATES, evaluated_in

FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
START = datetime(2026, 12, 4, 8, 0, tzinfo=UTC)
PASSWORD = "correct horse 马"
_numbers = itertools.count(1)


class Clock:
    """A clock the tests move."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    database = tmp_path_factory.mktemp("console") / "console.sqlite3"
    settings = Settings(
        database_url=f"sqlite:///{database}", demand_path=None, login_attempts_per_account=5,
        login_attempts_per_client=8, login_window_minutes=15, session_idle_minutes=120, session_max_hours=12,
    )  # fmt: skip
    application = create_app(settings)
    with TestClient(application):  # runs the lifespan: app.state is built
        application.state.people.hasher = FAST_HASHER
        yield application


@pytest.fixture
def clock(app: FastAPI) -> Iterator[Clock]:
    people: People = app.state.people
    clock = Clock()
    people.clock = clock
    yield clock
    people.clock = lambda: datetime.now(UTC)


@pytest.fixture
def people(app: FastAPI, clock: Clock) -> People:
    assert app.state.people.clock is clock  # every test that signs in runs on the clock it can move
    return app.state.people  # type: ignore[no-any-return]


def browser(app: FastAPI, https: bool = False) -> TestClient:
    """A new browser (own cookies) from its own address."""
    base = "https://testserver" if https else "http://testserver"
    return TestClient(app, base_url=base, follow_redirects=False, client=(f"10.0.0.{next(_numbers)}", 50000))


def person(people: People, role: str = "editor", name: str | None = None) -> str:
    name = name or f"keeper-{next(_numbers)}"
    people.create(name, role, PASSWORD)
    return name


def sign_in(client: TestClient, name: str, password: str = PASSWORD, next_path: str = "/console", **params: str) -> Any:
    return client.post("/console/login", params=params, data={"name": name, "password": password, "next": next_path})


def signed_in(app: FastAPI, people: People, role: str = "editor", **kwargs: Any) -> tuple[TestClient, str]:
    client = browser(app, **kwargs)
    name = person(people, role)
    answer = sign_in(client, name)
    assert answer.status_code == 303, answer.text
    return client, name


def csrf_of(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', page)
    assert found is not None, page[:500]
    return found.group(1)


def token_count(app: FastAPI) -> int:
    with Session(app.state.registry.store.engine) as session:
        return session.scalar(select(func.count()).select_from(TokenRow)) or 0


def session_count(app: FastAPI) -> int:
    with Session(app.state.registry.store.engine) as session:
        return session.scalar(select(func.count()).select_from(ConsoleSessionRow)) or 0


def test_signing_in_leads_to_the_page_asked_for(app: FastAPI, people: People) -> None:
    client = browser(app)
    name = person(people)
    first = client.get("/console")
    assert first.status_code == 303 and first.headers["location"] == "/console/login?next=/console"
    form = client.get(first.headers["location"])
    assert form.status_code == 200 and '<html lang="zh-CN">' in form.text and "登录" in form.text
    assert 'name="next" value="/console"' in form.text
    answer = sign_in(client, name)
    assert answer.status_code == 303 and answer.headers["location"] == "/console"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith("yizhan_session=") and "HttpOnly" in cookie and "Path=/console" in cookie
    assert "samesite=lax" in cookie.lower() and "Secure" not in cookie
    home = client.get("/console")
    assert home.status_code == 200 and name in home.text and "（编辑）" in home.text
    assert home.headers["cache-control"] == "no-store"
    assert "script-src 'sha256-" in home.headers["content-security-policy"]


def test_the_cookie_is_secure_over_https_and_the_page_english_on_request(app: FastAPI, people: People) -> None:
    client = browser(app, https=True)
    name = person(people, "admin")
    answer = sign_in(client, name, next_path="/console/tokens", lang="en")
    assert "Secure" in answer.headers["set-cookie"]
    assert answer.headers["location"] == "/console/tokens?lang=en"
    page = client.get(answer.headers["location"])
    assert '<html lang="en">' in page.text and "API tokens" in page.text and "Sign out" in page.text
    assert 'href="/console/stations?lang=en"' in page.text  # the language is kept in links


def test_a_wrong_password_and_an_unknown_name_get_the_same_answer(app: FastAPI, people: People) -> None:
    name = person(people)
    calls: list[str] = []
    real = people.hasher

    class Spy(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # argon2's names
            calls.append("verify")
            return real.verify(hash, password)

    people.hasher = Spy(time_cost=1, memory_cost=1024, parallelism=1)
    try:
        wrong = sign_in(browser(app), name, "not the password")
        unknown = sign_in(browser(app), "nobody-" + name, PASSWORD)
    finally:
        people.hasher = real
    assert wrong.status_code == unknown.status_code == 401
    assert "用户名或密码错误" in wrong.text and "用户名或密码错误" in unknown.text
    assert calls == ["verify", "verify"]  # the unknown name is checked against a dummy hash: same cost
    strip = re.compile(r'content="[^"]*"|value="[^"]*"')
    assert strip.sub("", wrong.text) == strip.sub("", unknown.text)
    english = sign_in(browser(app), name, "not the password", lang="en")
    assert "Wrong name or password" in english.text and "yizhan_session" not in english.headers.get("set-cookie", "")


def test_an_account_is_locked_after_five_failures_until_the_window_passes(
    app: FastAPI, people: People, clock: Clock
) -> None:
    name = person(people)
    client = browser(app)
    for _ in range(5):
        assert sign_in(client, name, "wrong password").status_code == 401
    locked = sign_in(browser(app), name)  # the right password, from elsewhere: the account is locked
    assert locked.status_code == 429 and "登录失败次数过多，请 15 分钟后再试" in locked.text
    assert 899 <= int(locked.headers["retry-after"]) <= 901
    assert sign_in(browser(app), person(people)).status_code == 303  # other accounts are not
    clock.advance(minutes=15, seconds=1)
    assert sign_in(browser(app), name).status_code == 303


def test_a_success_starts_the_account_count_again(app: FastAPI, people: People) -> None:
    name = person(people)
    for round_ in range(2):
        client = browser(app)  # a new address each round: this tests the account's count, not the client's
        for _ in range(4):
            assert sign_in(client, name, "wrong password").status_code == 401, round_
        assert sign_in(client, name).status_code == 303


def test_a_client_is_limited_across_accounts(app: FastAPI, people: People, clock: Clock) -> None:
    client = browser(app)
    names = [person(people) for _ in range(3)]
    for number in range(8):  # login_attempts_per_client=8 in this module
        assert sign_in(client, names[number % 3], "wrong password").status_code == 401
    valid = person(people)
    assert sign_in(client, valid).status_code == 429
    assert sign_in(browser(app), valid).status_code == 303  # another address may
    clock.advance(minutes=16)
    assert sign_in(client, valid).status_code == 303


def test_csrf_missing_or_wrong_is_refused_before_anything_is_written(app: FastAPI, people: People) -> None:
    client, _ = signed_in(app, people, "admin")
    token = csrf_of(client.get("/console/tokens").text)
    other, _ = signed_in(app, people, "admin")
    others_token = csrf_of(other.get("/console/tokens").text)
    before = token_count(app)
    form = {"name": "robot", "role": "viewer", "expires_days": "30"}
    for sent in (None, "", "x" * 43, others_token):
        data = form if sent is None else {**form, "csrf_token": sent}
        refused = client.post("/console/tokens", data=data)
        assert refused.status_code == 403 and "表单已过期或来源不明，请刷新后重试" in refused.text, sent
    assert client.post("/console/tokens", data=form, headers={"X-CSRF-Token": others_token}).status_code == 403
    assert token_count(app) == before
    made = client.post("/console/tokens", data={**form, "csrf_token": token})
    assert made.status_code == 200 and token_count(app) == before + 1
    by_header = client.post("/console/tokens", data=form, headers={"X-CSRF-Token": token})
    assert by_header.status_code == 200 and token_count(app) == before + 2


def test_an_idle_session_ends_and_sign_in_returns_to_the_page(app: FastAPI, people: People, clock: Clock) -> None:
    client, name = signed_in(app, people, "admin")
    token = csrf_of(client.get("/console/tokens").text)
    clock.advance(minutes=119)
    assert client.get("/console/tokens").status_code == 200  # used: the idle time starts again
    clock.advance(minutes=120)
    # a form sent after expiry: back to sign-in (next: the page it came from), nothing written
    before = token_count(app)
    posted = client.post(
        "/console/tokens", data={"name": "late", "role": "viewer", "csrf_token": token},
        headers={"Referer": "http://testserver/console/tokens"},
    )  # fmt: skip
    assert posted.status_code == 303 and posted.headers["location"] == "/console/login?next=/console/tokens&expired=1"
    assert token_count(app) == before
    assert 'yizhan_session=""' in posted.headers["set-cookie"]  # the browser forgets the dead id
    again = sign_in(client, name, next_path="/console/tokens")
    assert again.headers["location"] == "/console/tokens"
    assert client.get("/console/tokens").status_code == 200
    clock.advance(minutes=121)
    expired = client.get("/console/tokens?lang=en")
    assert expired.headers["location"] == "/console/login?next=/console/tokens%3Flang%3Den&expired=1&lang=en"
    page = client.get(expired.headers["location"])
    assert "unsaved changes restored" in page.text  # the sign-in page says the draft comes back
    assert 'name="next" value="/console/tokens?lang=en"' in page.text


def test_a_session_ends_at_its_absolute_limit_however_busy(app: FastAPI, people: People, clock: Clock) -> None:
    client, _ = signed_in(app, people)
    for _ in range(11):
        clock.advance(hours=1)
        assert client.get("/console").status_code == 200
    clock.advance(hours=1)
    assert client.get("/console").status_code == 303


def test_signing_out_deletes_the_session(app: FastAPI, people: People) -> None:
    client, _ = signed_in(app, people)
    cookie = client.cookies.get("yizhan_session")
    token = csrf_of(client.get("/console").text)
    before = session_count(app)
    answer = client.post("/console/logout", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["location"] == "/console/login?signed_out=1"
    assert 'yizhan_session=""' in answer.headers["set-cookie"] and "Max-Age=0" in answer.headers["set-cookie"]
    assert session_count(app) == before - 1
    replay = browser(app)
    replay.cookies.set("yizhan_session", cookie or "", path="/console")
    assert replay.get("/console").status_code == 303  # the old id opens nothing


def test_a_disabled_person_is_out_at_once(app: FastAPI, people: People) -> None:
    client, name = signed_in(app, people)
    assert client.get("/console").status_code == 200
    people.disable(name)
    assert client.get("/console").status_code == 303
    refused = sign_in(browser(app), name)
    assert refused.status_code == 401 and "此账户已停用" in refused.text
    assert "此账户已停用" not in sign_in(browser(app), name, "wrong password").text  # no hint without the password
    people.enable(name)
    assert sign_in(browser(app), name).status_code == 303


def test_a_new_password_ends_the_sessions(app: FastAPI, people: People) -> None:
    client, name = signed_in(app, people)
    people.reset_password(name, "a brand new password")
    assert client.get("/console").status_code == 303
    assert sign_in(browser(app), name).status_code == 401
    assert sign_in(browser(app), name, "a brand new password").status_code == 303


def test_roles_viewers_see_no_write_controls_and_cannot_post(app: FastAPI, people: People) -> None:
    viewer, _ = signed_in(app, people, "viewer")
    home = viewer.get("/console")
    assert home.status_code == 200 and "查看者" in home.text
    assert "/console/stations/new" not in home.text and "/console/tokens" not in home.text
    token = csrf_of(home.text)
    refused = viewer.get("/console/tokens")
    assert refused.status_code == 403 and "没有权限" in refused.text
    before = token_count(app)
    posted = viewer.post("/console/tokens", data={"name": "sneaky", "role": "admin", "csrf_token": token})
    assert posted.status_code == 403 and token_count(app) == before
    editor, _ = signed_in(app, people, "editor")
    page = editor.get("/console")
    assert "/console/stations/new" in page.text and "/console/tokens" not in page.text
    assert editor.get("/console/tokens").status_code == 403
    admin, _ = signed_in(app, people, "admin")
    assert "/console/tokens" in admin.get("/console").text


def test_tokens_are_created_shown_once_listed_and_revoked(app: FastAPI, people: People) -> None:
    client, _ = signed_in(app, people, "admin")
    token = csrf_of(client.get("/console/tokens").text)
    made = client.post(
        "/console/tokens", data={"name": "同步脚本", "role": "editor", "expires_days": "", "csrf_token": token}
    )
    secret = re.search(r'<code id="yz-new-token">(yzt_[^<]+)</code>', made.text)
    assert made.status_code == 200 and secret is not None
    account = app.state.accounts.authenticate(secret.group(1))
    assert (account.name, account.role) == ("同步脚本", "editor")
    listed = client.get("/console/tokens").text
    assert "同步脚本" in listed and secret.group(1) not in listed  # never shown again
    token_id = next(info.id for info in app.state.accounts.list() if info.name == "同步脚本")
    revoked = client.post(f"/console/tokens/{token_id}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303 and revoked.headers["location"] == f"/console/tokens?revoked={token_id}"
    assert "已吊销" in client.get(revoked.headers["location"]).text
    with pytest.raises(Unauthorized):
        app.state.accounts.authenticate(secret.group(1))
    bad = client.post("/console/tokens", data={"name": " ", "role": "editor", "csrf_token": token})
    assert bad.status_code == 422 and "令牌名称须为 1 到 200 个字符" in bad.text


@pytest.mark.parametrize("hostile", TEMPLATES + MARKUP)
def test_hostile_names_show_as_text(app: FastAPI, people: People, hostile: str) -> None:
    client = browser(app)
    name = person(people, "admin", name=f"{hostile} {next(_numbers)}")
    assert sign_in(client, name).status_code == 303
    token = csrf_of(client.get("/console").text)
    client.post("/console/tokens", data={"name": hostile, "role": "viewer", "csrf_token": token})
    for path in ("/console", "/console/tokens"):
        page = client.get(path).text
        assert evaluated_in(page) == [], path
        assert str(escape(name)) in page and (path == "/console" or str(escape(hostile)) in page), path
        assert "<img src=x" not in page and "<script>alert" not in page, path
        assert page.count("<script") == 1 + page.count('<script type="application/json"'), path  # console.js only


def test_names_with_control_characters_are_refused(people: People) -> None:
    for name in ("\u202eRTL-override 站", "tab\there", "", " " * 3, "x" * 101):
        with pytest.raises(InvalidValue) as refused:
            people.create(name, "editor", PASSWORD)
        assert refused.value.field == "name"


def test_next_never_leaves_the_console(app: FastAPI, people: People) -> None:
    name = person(people)
    for target in ("//evil.example/console", "https://evil.example/console", "/consoleX", "/\\evil.example"):
        answer = sign_in(browser(app), name, next_path=target)
        assert answer.headers["location"] == "/console", target


@settings(max_examples=300, deadline=None)
@given(target=st.text() | st.builds(lambda tail: "/console" + tail, st.text()))
def test_next_is_always_a_console_path_of_this_site(target: str) -> None:
    chosen = safe_next(target)
    parts = urlsplit(chosen)
    assert chosen == target or chosen == "/console"
    assert not parts.scheme and not parts.netloc and not chosen.startswith("//")
    assert parts.path == "/console" or parts.path.startswith("/console/")
    assert not any(c in chosen for c in "\\\r\n\t")


def test_the_login_form_refuses_another_sites_post(app: FastAPI, people: People) -> None:
    name = person(people)
    answer = browser(app).post(
        "/console/login", data={"name": name, "password": PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert answer.status_code == 403 and "set-cookie" not in answer.headers
