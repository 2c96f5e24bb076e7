"""The keeper console's own pages: home (``/console``), sign-in and sign-out, and API tokens for admins.

Sessions, roles and CSRF are ``api.sessions``'; the pages are ``maps/console`` templates. A wrong name or
password answers "用户名或密码错误" whichever part was wrong (an unknown name costs the same as a known one:
``stations.people`` checks a dummy hash); too many failures answer 429 with the wait, in the page's language.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.deps import RegistryDep, SettingsDep
from api.sessions import (
    CONSOLE_HOME,
    LOGIN_PATH,
    NO_STORE,
    ConsoleAdmin,
    ConsoleViewer,
    CsrfChecked,
    clear_session_cookie,
    console_page,
    console_session,
    console_shell,
    get_people,
    safe_next,
    session_secret,
    set_session_cookie,
)
from maps.console.layout import ROLE_NAMES, render_page
from stations.accounts import Accounts
from stations.errors import InvalidValue, NotFound, RateLimited, SignInRefused
from stations.hours import today
from stations.reports import Reports
from stations.vocabulary import ROLES

router = APIRouter(include_in_schema=False, tags=["console"])

WRONG_CREDENTIALS = ("用户名或密码错误", "Wrong name or password")
DISABLED = ("此账户已停用，请联系管理员", "This account is disabled; ask an admin")
OPEN_REPORTS_COUNTED = 1000
"""Open reports counted for the home page; more show as "1000+"."""


@router.get(CONSOLE_HOME, response_class=HTMLResponse)
def home(request: Request, _account: ConsoleViewer, registry: RegistryDep, settings: SettingsDep) -> Response:
    """Counts to start from: stations, stations not verified for ``stale_after_days``, open rider reports."""
    shell = console_shell(request)
    snapshot = registry.snapshot()
    reports: Reports = request.app.state.reports
    open_reports = len(reports.list("open", limit=OPEN_REPORTS_COUNTED))
    html = render_page(
        shell,
        shell.t("管理台首页", "Console home"),
        "home.html",
        stations=len(snapshot),
        stale=snapshot.stale_count(today(), settings.stale_after_days),
        stale_after_days=settings.stale_after_days,
        open_reports=f"{open_reports}+" if open_reports >= OPEN_REPORTS_COUNTED else str(open_reports),
    )
    return console_page(html)


def _login_page(request: Request, status: int = 200, headers: dict[str, str] | None = None, **values: Any) -> Response:
    shell = console_shell(request)
    fields: dict[str, Any] = {
        "next": safe_next(request.query_params.get("next")),
        "name": "",
        "error": None,
        "expired": False,
        "signed_out": False,
        **values,
    }
    html = render_page(shell, shell.t("登录", "Sign in"), "login.html", **fields)
    return console_page(html, status, headers)


@router.get(LOGIN_PATH, response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """The sign-in form; already signed in: straight on to ``next``."""
    shell = console_shell(request)
    if console_session(request) is not None:
        return RedirectResponse(shell.link(safe_next(request.query_params.get("next"))), 303, headers=NO_STORE)
    return _login_page(
        request,
        expired="expired" in request.query_params,
        signed_out="signed_out" in request.query_params,
    )


@router.post(LOGIN_PATH, response_class=HTMLResponse)
def login(
    request: Request,
    name: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = CONSOLE_HOME,  # the query parameter's name
) -> Response:
    """Sign in: a new session (cookie) and on to ``next``; else the form again with why (401, 429)."""
    shell = console_shell(request)
    target = safe_next(next)
    address = request.client.host if request.client else "unknown"
    people = get_people(request)
    try:
        signed_in = people.sign_in(name[:200], password, address)
    except SignInRefused as refused:
        message = shell.t(*(DISABLED if refused.disabled else WRONG_CREDENTIALS))
        return _login_page(request, 401, next=target, name=name[:200], error=message)
    except RateLimited as limited:
        minutes = max(1, -(-limited.retry_after_s // 60))
        message = shell.t(
            f"登录失败次数过多，请 {minutes} 分钟后再试。",
            f"Too many failed sign-ins; try again in {minutes} minute(s).",
        )
        return _login_page(
            request, 429, {"Retry-After": str(limited.retry_after_s)}, next=target, name=name[:200], error=message
        )
    people.sign_out(session_secret(request))  # a new id at every sign-in: an old one is never reused
    response = RedirectResponse(shell.link(target), 303, headers=NO_STORE)
    set_session_cookie(response, request, signed_in.secret)
    return response


@router.post("/console/logout")
def logout(request: Request, _csrf: CsrfChecked) -> Response:
    """Sign out: the session row is deleted and the cookie dropped; back to the sign-in page."""
    shell = console_shell(request)
    get_people(request).sign_out(session_secret(request))
    response = RedirectResponse(shell.link(f"{LOGIN_PATH}?signed_out=1"), 303, headers=NO_STORE)
    clear_session_cookie(response, request)
    return response


# ---- API tokens (admins) ----------------------------------------------------------------------------------


def _accounts(request: Request) -> Accounts:
    accounts: Accounts = request.app.state.accounts
    return accounts


def _tokens_page(request: Request, status: int = 200, **values: Any) -> Response:
    shell = console_shell(request)
    now = datetime.now(UTC)
    tokens = [
        {
            "id": info.id,
            "name": info.name,
            "role": info.role,
            "state": info.state(now),
            "created": info.created_at.date().isoformat(),
            "expires": info.expires_at.date().isoformat() if info.expires_at else None,
        }
        for info in _accounts(request).list()
    ]
    fields: dict[str, Any] = {
        "created": None,
        "created_secret": "",
        "notice": None,
        "error": None,
        "form_name": "",
        "form_role": "editor",
        "form_days": "365",
        **values,
    }
    html = render_page(
        shell,
        shell.t("API 令牌", "API tokens"),
        "tokens.html",
        tokens=tokens,
        roles=ROLES,
        role_names={role: shell.t(*names) for role, names in ROLE_NAMES.items()},
        states={
            "active": shell.t("有效", "active"),
            "revoked": shell.t("已吊销", "revoked"),
            "expired": shell.t("已过期", "expired"),
        },
        **fields,
    )
    return console_page(html, status)


@router.get("/console/tokens", response_class=HTMLResponse)
def tokens(request: Request, _account: ConsoleAdmin) -> Response:
    """Every API token (never the secrets), a form to create one, a revoke button on each active one."""
    shell = console_shell(request)
    revoked = request.query_params.get("revoked")
    notice = shell.t(f"令牌 {revoked} 已吊销。", f"Token {revoked} was revoked.") if revoked else None
    return _tokens_page(request, notice=notice if revoked and revoked.isdigit() else None)


@router.post("/console/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    _account: ConsoleAdmin,
    _csrf: CsrfChecked,
    name: Annotated[str, Form()] = "",
    role: Annotated[str, Form()] = "editor",
    expires_days: Annotated[str, Form()] = "",
) -> Response:
    """Create a token and show its secret on this answer only (never in a URL, never again)."""
    shell = console_shell(request)
    form = {"form_name": name[:200], "form_role": role, "form_days": expires_days}
    try:
        days = float(expires_days) if expires_days.strip() else None
    except ValueError:
        return _tokens_page(request, 422, error=shell.t("有效天数须为数字", "Days must be a number"), **form)
    try:
        secret, info = _accounts(request).create(name, role, days)
    except InvalidValue as invalid:
        reasons = {
            "name": ("令牌名称须为 1 到 200 个字符", "Give the token a name of 1 to 200 characters"),
            "role": ("未知角色", "Unknown role"),
            "expires_in_days": ("有效天数须在 1 到 36500 之间", "Days must be between 1 and 36,500"),
        }
        return _tokens_page(request, 422, error=shell.t(*reasons.get(invalid.field, (str(invalid),) * 2)), **form)
    return _tokens_page(request, created=info, created_secret=secret)


@router.post("/console/tokens/{token_id}/revoke")
def revoke_token(request: Request, token_id: int, _account: ConsoleAdmin, _csrf: CsrfChecked) -> Response:
    """Revoke one token; back to the list with a notice."""
    shell = console_shell(request)
    try:
        _accounts(request).revoke(str(token_id))
    except NotFound:
        return _tokens_page(request, 404, error=shell.t(f"没有有效的令牌 {token_id}", f"No active token {token_id}"))
    return RedirectResponse(shell.link(f"/console/tokens?revoked={token_id}"), 303, headers=NO_STORE)
