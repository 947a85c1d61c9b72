"""Refused access: always counted, audited when the one refused is known.

A refusal of an *authenticated* caller (an API key or a console user without the scope, a real
write key used on ``/api/v1``, a signed-in form whose CSRF token is wrong) is an audit entry
with outcome ``denied``: the caller is identified and can be revoked, so nobody can grow the
audit log anonymously. A request without valid credentials (401: no key, an unknown or revoked
key, an unknown write key) is only counted in ``kizuna_auth_refusals_total``: anyone on the
internet can send those, and one row per attempt would let them fill the table at will.
"""

from __future__ import annotations

import structlog
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request

from kizuna.metrics import AUTH_REFUSALS
from kizuna.privacy import audit

log = structlog.get_logger(__name__)

DENIED = "access.denied"


def route_of(request: Request) -> str:
    """``METHOD /path/{template}`` of the matched route (ids stay out of the entry's target)."""
    path = request.url.path
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    path_format = getattr(route, "path_format", None)
    if template and path_format:
        params = {k: str(v) for k, v in request.path_params.items()}
        try:
            concrete = path_format.format(**params)
        except (KeyError, IndexError, ValueError):
            concrete = ""
        # an included router's route knows only its own part of the path: keep the prefix
        if concrete and path.endswith(concrete):
            path = path[: len(path) - len(concrete)] + template
    return f"{request.method} {path}"


def count_refusal(surface: str, code: str) -> None:
    AUTH_REFUSALS.labels(surface, code).inc()


def audit_denial(
    request: Request,
    actor: str,
    *,
    surface: str,
    code: str,
    scope: str | None = None,
    role: str | None = None,
) -> None:
    """Count the refusal and append it to the audit log in its own small transaction.

    The refusal stands whatever happens here: an audit log that cannot be written is logged
    as an error rather than turning a clear 403 into a 500.
    """
    count_refusal(surface, code)
    details = {"code": code, "scope": scope, "role": role}
    try:
        with request.app.state.db.write() as session:
            audit.record(
                session,
                actor,
                DENIED,
                "route",
                route_of(request),
                outcome="denied",
                ip=request.client.host if request.client else None,
                details={k: v for k, v in details.items() if v is not None},
            )
            session.commit()
    except SQLAlchemyError:
        log.exception("denial_not_audited", actor=actor, route=route_of(request), code=code)
