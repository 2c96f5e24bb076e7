"""The keeper console's sessions in the web door: the session cookie, who is signed in, roles and CSRF.

Routes of the console take the signed-in person as ``ConsoleViewer``, ``ConsoleEditor`` or ``ConsoleAdmin`` (an
``Account``: its name is what the edit history records) and, on every POST, ``CsrfChecked``:

- no live session (none, expired, signed out, person disabled): a ``303`` to ``/console/login?next=<page>``
  (for a POST, ``next`` is the page the form was on, from ``Referer``; ``console.js`` kept the form's draft);
- a role too low: a ``403`` page "没有权限", before the route runs (nothing is written);
- a POST whose ``csrf_token`` form field (or ``X-CSRF-Token`` header, for ``fetch``) is missing or is not the
  session's token (compared in constant time): a ``403`` page, before the route runs.

The cookie ``yizhan_session`` holds a random session id (``stations.people`` stores only its SHA-256); it is
``HttpOnly``, ``SameSite=Lax``, ``Path=/console``, and ``Secure`` when the request came over https or
``YIZHAN_PUBLIC_URL`` is https. It is a browser-session cookie (no ``Max-Age``); the server ends sessions idle
for ``YIZHAN_SESSION_IDLE_MINUTES`` and ``YIZHAN_SESSION_MAX_HOURS`` after sign-in. Console pages are sent
with ``Cache-Control: no-store`` (``console_page``). Bearer tokens stay for machines (``api.auth``); these
dependencies carry no ``role`` attribute, so ``api.auth.TokenFirst`` leaves console routes alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from maps.console.layout import ConsoleShell, language, render_page
from stations.accounts import Account
from stations.people import ConsoleSession, People, csrf_matches
from stations.vocabulary import ROLES, Role

COOKIE_NAME = "yizhan_session"
COOKIE_PATH = "/console"
CONSOLE_HOME = "/console"
LOGIN_PATH = "/console/login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_SESSION_KEY = "yizhan_console_session"
_MISSING = object()


class SignInNeeded(Exception):
    """No live session: the browser is sent to the sign-in page, to come back to ``next_path``."""

    def __init__(self, next_path: str, lang: str) -> None:
        super().__init__(next_path)
        self.next_path, self.lang = next_path, lang


class ConsoleRefused(Exception):
    """A console request refused with ``status`` and a message in both languages (a page, not JSON)."""

    def __init__(self, status: int, zh: str, en: str) -> None:
        super().__init__(en)
        self.status, self.zh, self.en = status, zh, en


NO_PERMISSION = ("没有权限", "You do not have permission to do this")
CSRF_REFUSED = (
    "表单已过期或来源不明，请刷新后重试",
    "This form has expired or did not come from this site; reload and try again",
)


def get_people(request: Request) -> People:
    """The people the lifespan built (a dependency)."""
    people: People = request.app.state.people
    return people


def session_secret(request: Request) -> str | None:
    """The session id the browser sent in its cookie, if any."""
    return request.cookies.get(COOKIE_NAME) or None


def console_session(request: Request) -> ConsoleSession | None:
    """The request's live session (looked up once per request), or None."""
    found = getattr(request.state, _SESSION_KEY, _MISSING)
    if found is _MISSING:
        found = get_people(request).session(session_secret(request))
        setattr(request.state, _SESSION_KEY, found)
    return found  # type: ignore[return-value]  # what People.session returned


def lang_of(request: Request) -> str:
    """The console language the request asks for (``?lang=en``; Chinese by default)."""
    return language(request.query_params.get("lang"))


def safe_next(target: str | None) -> str:
    r"""Where to go after signing in: ``target`` when it is a console path on this site, else the console home.

    >>> safe_next("/console/stations?q=1"), safe_next("//evil.example/console"), safe_next("/console\\x")
    ('/console/stations?q=1', '/console', '/console')
    >>> safe_next("https://evil.example/console"), safe_next("/consoleX"), safe_next(None)
    ('/console', '/console', '/console')
    """
    if not target or any(c in target for c in "\\\r\n\t") or target.startswith("//"):
        return CONSOLE_HOME
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not (parts.path == CONSOLE_HOME or parts.path.startswith(CONSOLE_HOME + "/")):
        return CONSOLE_HOME
    if parts.path == LOGIN_PATH:
        return CONSOLE_HOME
    return target


def _here(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def _return_to(request: Request) -> str:
    """The page to come back to after signing in: this page for a GET; for a write, the page it was sent from."""
    if request.method in ("GET", "HEAD"):
        return _here(request)
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc and referer.netloc != request.headers.get("host"):
        return CONSOLE_HOME
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else "")) if referer.path else CONSOLE_HOME


def login_url(next_path: str, lang: str = "zh", expired: bool = False) -> str:
    """The sign-in page that comes back to ``next_path`` (``expired``: saying the session had ended).

    >>> login_url("/console/stations?page=2", "en")
    '/console/login?next=/console/stations%3Fpage%3D2&lang=en'
    >>> login_url("/console", expired=True)
    '/console/login?next=/console&expired=1'
    """
    url = f"{LOGIN_PATH}?next={quote(safe_next(next_path), safe='/')}"
    return url + ("&expired=1" if expired else "") + ("&lang=en" if lang == "en" else "")


def _requires(role: Role) -> Callable[[Request], Account]:
    def dependency(request: Request) -> Account:
        session = console_session(request)
        if session is None:
            raise SignInNeeded(_return_to(request), lang_of(request))
        if ROLES.index(session.person.role) < ROLES.index(role):
            raise ConsoleRefused(403, *NO_PERMISSION)
        return session.person.account

    dependency.console_role = role  # type: ignore[attr-defined]  # not "role": api.auth's TokenFirst looks for that
    dependency.__name__ = f"console_{role}"
    return dependency


ConsoleViewer = Annotated[Account, Depends(_requires("viewer"))]
ConsoleEditor = Annotated[Account, Depends(_requires("editor"))]
ConsoleAdmin = Annotated[Account, Depends(_requires("admin"))]


async def check_csrf(request: Request) -> None:
    """Refuse (403 page) a console write whose CSRF token is missing or not the session's; sign-in first when
    there is no session."""
    session = console_session(request)
    if session is None:
        raise SignInNeeded(_return_to(request), lang_of(request))
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            value = (await request.form()).get(CSRF_FIELD)
            given = value if isinstance(value, str) else None
    if not csrf_matches(session.csrf_token, given):
        raise ConsoleRefused(403, *CSRF_REFUSED)


CsrfChecked = Annotated[None, Depends(check_csrf)]


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's session, for the page shell and forms ("" when signed out)."""
    session = console_session(request)
    return session.csrf_token if session is not None else ""


def console_shell(request: Request) -> ConsoleShell:
    """The page shell for this request: its language, who is signed in, the CSRF token, the current path."""
    session = console_session(request)
    return ConsoleShell(
        lang=lang_of(request),  # type: ignore[arg-type]  # language() returns a Lang
        user_name=session.person.name if session is not None else None,
        role=session.person.role if session is not None else None,
        csrf_token=session.csrf_token if session is not None else "",
        path=_here(request),
    )


def console_page(html: str, status_code: int = 200, headers: dict[str, str] | None = None) -> HTMLResponse:
    """A console page: HTML, never stored by the browser or a proxy (it shows what only the signed-in may see)."""
    return HTMLResponse(html, status_code=status_code, headers={**NO_STORE, **(headers or {})})


def secure_cookie(request: Request) -> bool:
    """Whether the session cookie is ``Secure``: the request came over https, or the public URL is https."""
    public = getattr(request.app.state.settings, "public_url", None) or ""
    return request.url.scheme == "https" or public.startswith("https://")


def set_session_cookie(response: Response, request: Request, secret: str) -> None:
    """Give the browser its session id (HttpOnly, SameSite=Lax, Path=/console, Secure on https)."""
    response.set_cookie(
        COOKIE_NAME, secret, path=COOKIE_PATH, httponly=True, samesite="lax", secure=secure_cookie(request)
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Tell the browser to drop its session cookie."""
    response.delete_cookie(COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="lax", secure=secure_cookie(request))


def message_page(request: Request, status: int, zh: str, en: str) -> HTMLResponse:
    """A console page that says one thing (``zh`` or ``en``), e.g. "没有权限", with ``status``."""
    shell = console_shell(request)
    html = render_page(shell, shell.t(zh, en), "message.html", message=shell.t(zh, en))
    return console_page(html, status)


def install(app: FastAPI) -> None:
    """Answer ``SignInNeeded`` with a 303 to the sign-in page and ``ConsoleRefused`` with its page."""

    @app.exception_handler(SignInNeeded)
    async def sign_in_needed(request: Request, exc: SignInNeeded) -> Response:
        expired = session_secret(request) is not None  # a session that ended (or one unknown here)
        url = login_url(exc.next_path, exc.lang, expired=expired)
        response = RedirectResponse(url, status_code=303, headers=NO_STORE)
        if expired:  # the browser may forget it
            clear_session_cookie(response, request)
        return response

    @app.exception_handler(ConsoleRefused)
    async def refused(request: Request, exc: ConsoleRefused) -> Response:
        return message_page(request, exc.status, exc.zh, exc.en)
