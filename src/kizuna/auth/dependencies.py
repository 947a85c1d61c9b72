"""FastAPI dependencies: ``CurrentPrincipal`` and ``RequireScope("...")`` for ``/api/v1``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kizuna.auth.service import Principal, principal_for_api_key
from kizuna.db import get_database
from kizuna.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer kz_...`")


def current_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        raise Forbidden(
            "Write keys can only send events to /v1; use an API key as a Bearer token.",
            code="auth.write_key_not_allowed",
        )
    if credentials is None:
        raise Unauthorized(
            "An API key is required (Authorization: Bearer <key>).",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = credentials.credentials
    if token.startswith("wk_"):
        raise Forbidden(
            "Write keys can only send events to /v1; use an API key as a Bearer token.",
            code="auth.write_key_not_allowed",
        )
    db = get_database(request)
    with db.read() as session:
        principal = principal_for_api_key(session, token)
    if principal is None:
        raise Unauthorized(
            "Unknown or revoked API key.",
            code="auth.invalid_key",
            headers={"WWW-Authenticate": "Bearer"},
        )
    request.state.principal = principal
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def RequireScope(scope: str) -> Callable[[Principal], Principal]:
    def _check(principal: CurrentPrincipal) -> Principal:
        if not principal.may(scope):
            raise Forbidden(
                f"This needs the '{scope}' scope.",
                code="auth.missing_scope",
                details={"scope": scope, "role": principal.role},
            )
        return principal

    _check.__name__ = f"require_{scope.replace(':', '_')}"
    return _check
