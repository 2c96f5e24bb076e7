"""Who may write: bearer tokens checked against the registry's accounts, one dependency per role.

A write (any method but GET, HEAD and OPTIONS) to a route that needs a token is checked before its body is
read (``TokenFirst``): a request without a valid token gets 401 (a too-low role 403) whatever its body holds,
never a 422 that tells an anonymous client how the body was wrong — and no body is parsed for it. The route's
dependency then reuses that account instead of asking the database again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.dependencies.models import Dependant
from fastapi.routing import RouteContext, iter_route_contexts
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from api.asgi import header
from api.errors import send_domain_error
from stations.accounts import Account, Accounts
from stations.errors import Forbidden, Unauthorized
from stations.vocabulary import Role

_bearer = HTTPBearer(auto_error=False, description="a token from `yizhan token create`")
ACCOUNT_KEY = "yizhan_account"
"""Where ``TokenFirst`` leaves the request's checked account (in the ASGI scope's ``state``)."""
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_accounts(request: Request) -> Accounts:
    """The accounts the lifespan built (a dependency)."""
    accounts: Accounts = request.app.state.accounts  # built in the lifespan
    return accounts


def _role(role: Role) -> Callable[..., Account]:
    def dependency(
        request: Request,
        accounts: Annotated[Accounts, Depends(get_accounts)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Account:
        checked = request.scope.get("state", {}).get(ACCOUNT_KEY)
        if isinstance(checked, Account):
            return checked.require(role)
        return accounts.authenticate(credentials.credentials if credentials else None).require(role)

    dependency.role = role  # type: ignore[attr-defined]  # what TokenFirst looks for
    return dependency


Viewer = Annotated[Account, Depends(_role("viewer"))]
Editor = Annotated[Account, Depends(_role("editor"))]
Admin = Annotated[Account, Depends(_role("admin"))]


def bearer_token(scope: Scope) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` request header, as ``HTTPBearer`` reads it; or None.

    >>> bearer_token({"headers": [(b"authorization", b"Bearer s3cr3t")]}), bearer_token({"headers": []})
    ('s3cr3t', None)
    """
    scheme, token = get_authorization_scheme_param(header(scope, b"authorization"))
    return token if scheme.lower() == "bearer" and token else None


def role_dependency(dependant: Dependant) -> Callable[..., Any] | None:
    """The first ``Viewer``/``Editor``/``Admin`` dependency among a route's dependencies (breadth first), or None."""
    stack = list(dependant.dependencies)
    while stack:
        dependency = stack.pop(0)
        if getattr(dependency.call, "role", None) is not None:
            return dependency.call
        stack.extend(dependency.dependencies)
    return None


class TokenFirst:
    """ASGI middleware: writes to routes that need a token are authenticated, and their role checked, before
    the route reads the body; the account is left in the scope's ``state`` for the route's dependency."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._routes: list[tuple[RouteContext, Callable[..., Any] | None]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token and role of a write before the route runs; reads and other scopes pass through."""
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        app: FastAPI = scope["app"]
        accounts = getattr(app.state, "accounts", None)
        role = self.role_for(app, scope)
        if role is not None and accounts is not None:
            try:
                account = (await run_in_threadpool(accounts.authenticate, bearer_token(scope))).require(role)
            except (Unauthorized, Forbidden) as refused:
                await send_domain_error(send, refused)
                return
            scope.setdefault("state", {})[ACCOUNT_KEY] = account
        await self.app(scope, receive, send)

    def role_for(self, app: FastAPI, scope: Scope) -> Role | None:
        """The role the route that will take this request needs (None: no token needed, no such route, or a
        test overrides the route's role dependency)."""
        if self._routes is None:  # every route with its full path (FastAPI keeps included routers nested)
            self._routes = [
                (
                    route,
                    role_dependency(dependant)
                    if (dependant := getattr(route.original_route, "dependant", None))
                    else None,
                )
                for route in iter_route_contexts(app.router.routes)
            ]
        for route, check in self._routes:
            if route.matches(scope)[0] == Match.FULL:
                # check: a dependency _role made, which carries its role as an attribute
                return None if check is None or check in app.dependency_overrides else check.role  # type: ignore[attr-defined]
        return None
