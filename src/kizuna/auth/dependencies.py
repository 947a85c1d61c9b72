"""FastAPI dependencies: ``CurrentPrincipal`` and ``RequireScope("...")`` for ``/api/v1``.

Every refusal is counted; refusals of a known caller are also audited (``auth.denials``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from kizuna.auth.denials import audit_denial, count_refusal
from kizuna.auth.service import Principal, principal_for_api_key
from kizuna.db import get_database
from kizuna.errors import Forbidden, Unauthorized
from kizuna.privacy.audit import actor_of
from kizuna.sources.service import find_by_write_key

_bearer = HTTPBearer(auto_error=False, description="An API key: `Authorization: Bearer kz_...`")

BearerCredentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _basic_user(header: str) -> str:
    """The user name of an HTTP Basic header (a write key, for Segment clients), or ''."""
    try:
        decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode()
    except (IndexError, ValueError, binascii.Error):
        return ""
    return decoded.split(":", 1)[0]


def _write_key_refused(request: Request, write_key: str, surface: str) -> Forbidden:
    """A write key on the API: audited when it is a real source's key, else only counted."""
    code = "auth.write_key_not_allowed"
    source = None
    if write_key:
        with get_database(request).read() as session:
            source = find_by_write_key(session, write_key)
    if source is not None:
        audit_denial(request, f"source:{source.id}", surface=surface, code=code)
    else:
        count_refusal(surface, code)
    return Forbidden(
        "Write keys can only send events to /v1; use an API key as a Bearer token.", code=code
    )


def _unauthorized(surface: str, message: str, code: str = "auth.required") -> Unauthorized:
    count_refusal(surface, code)
    return Unauthorized(message, code=code, headers={"WWW-Authenticate": "Bearer"})


def principal_from(
    request: Request, credentials: HTTPAuthorizationCredentials | None, surface: str = "api"
) -> Principal:
    """The API key's principal; 401 without a valid key, 403 for a write key."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        raise _write_key_refused(request, _basic_user(header), surface)
    if credentials is None:
        raise _unauthorized(surface, "An API key is required (Authorization: Bearer <key>).")
    token = credentials.credentials
    if token.startswith("wk_"):
        raise _write_key_refused(request, token, surface)
    db = get_database(request)
    with db.read() as session:
        principal = principal_for_api_key(session, token)
    if principal is None:
        raise _unauthorized(surface, "Unknown or revoked API key.", code="auth.invalid_key")
    request.state.principal = principal
    return principal


def current_principal(request: Request, credentials: BearerCredentials) -> Principal:
    return principal_from(request, credentials)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def authorise(request: Request, principal: Principal, scope: str, surface: str = "api") -> None:
    """Refuse (403 ``auth.missing_scope``, audited) unless the principal holds ``scope``."""
    if principal.may(scope):
        return
    code = "auth.missing_scope"
    audit_denial(
        request, actor_of(principal), surface=surface, code=code, scope=scope, role=principal.role
    )
    raise Forbidden(
        f"This needs the '{scope}' scope.",
        code=code,
        details={"scope": scope, "role": principal.role},
    )


def RequireScope(scope: str) -> Callable[[Request, Principal], Principal]:
    def _check(request: Request, principal: CurrentPrincipal) -> Principal:
        authorise(request, principal, scope)
        return principal

    _check.__name__ = f"require_{scope.replace(':', '_')}"
    return _check
