"""Who may read operational details: an API key holding ``ops:read``, or the metrics token.

``/healthz`` is public (liveness, no details). ``/readyz`` answers anyone whether the process
is ready, and its checks only to an operations reader. ``/metrics`` needs one (SEC-6):
consumer names, lag and refusal counts by code tell an attacker how the platform is doing.
"""

from __future__ import annotations

import hmac

from fastapi import Request
from fastapi.security import HTTPAuthorizationCredentials

from kizuna.auth.dependencies import BearerCredentials, authorise, principal_from
from kizuna.auth.service import principal_for_api_key
from kizuna.config import Settings
from kizuna.db import get_database

SCOPE = "ops:read"


def _is_metrics_token(request: Request, credentials: HTTPAuthorizationCredentials | None) -> bool:
    settings: Settings = request.app.state.settings
    expected = settings.ops.metrics_token.get_secret_value()
    if not expected or credentials is None:
        return False
    return hmac.compare_digest(credentials.credentials.encode(), expected.encode())


def require_ops_reader(request: Request, credentials: BearerCredentials) -> None:
    """The metrics token, or an API key whose role holds ``ops:read`` (else 401/403)."""
    if _is_metrics_token(request, credentials):
        return
    principal = principal_from(request, credentials, surface="ops")
    authorise(request, principal, SCOPE, surface="ops")


def is_ops_reader(request: Request, credentials: BearerCredentials) -> bool:
    """Whether the caller may see details; never refuses (probes send no credentials)."""
    if _is_metrics_token(request, credentials):
        return True
    if credentials is None or credentials.credentials.startswith("wk_"):
        return False
    try:
        with get_database(request).read() as session:
            principal = principal_for_api_key(session, credentials.credentials)
    except Exception:  # the database is what may be unready: no details, not an error
        return False
    return principal is not None and principal.may(SCOPE)
