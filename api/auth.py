"""Who may write: bearer tokens checked against the registry's accounts, one dependency per role."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from stations.accounts import Account, Accounts, Role

_bearer = HTTPBearer(auto_error=False, description="a token from `yizhan token create`")


def get_accounts(request: Request) -> Accounts:
    return request.app.state.accounts


def _role(role: Role):
    def dependency(
        accounts: Annotated[Accounts, Depends(get_accounts)],
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Account:
        return accounts.authenticate(credentials.credentials if credentials else None).require(role)

    return dependency


Viewer = Annotated[Account, Depends(_role("viewer"))]
Editor = Annotated[Account, Depends(_role("editor"))]
Admin = Annotated[Account, Depends(_role("admin"))]
