"""``/api/v1/privacy/requests``: export, erasure and suppression of a person (``privacy:admin``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.db import DatabaseDep, ReadSessionDep
from kizuna.identity.endpoints import RulesDep
from kizuna.models import PrivacyRequest
from kizuna.privacy import audit, requests
from kizuna.privacy.requests_schemas import PrivacyRequestIn, PrivacyRequestList, PrivacyRequestOut
from kizuna.privacy.subject import PersonNotFound

router = APIRouter(prefix="/privacy/requests", tags=["privacy"])

CanAdmin = Annotated[Principal, Depends(RequireScope("privacy:admin"))]
ARCHIVE_PATH = "/api/v1/privacy/requests/{id}/archive"


def as_out(row: PrivacyRequest, has_archive: bool) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "regulation": row.regulation,
        "status": row.status,
        "identifier_type": row.identifier_type,
        "identifier_value": row.identifier_value,
        "identifier_digest": row.identifier_digest,
        "requested_by": row.requested_by,
        "created_at": row.created_at,
        "deadline_at": row.deadline_at,
        "overdue": requests.is_overdue(row),
        "started_at": row.started_at,
        "completed_at": row.completed_at,
        "error": row.error,
        "result": requests.result_of(row),
        "archive_url": ARCHIVE_PATH.format(id=row.id) if has_archive else None,
    }


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


@router.post(
    "",
    status_code=202,
    response_model=PrivacyRequestOut,
    responses={
        400: {"description": "unusable identifier (the identity rules' refusal code)"},
        404: {"description": "privacy.person_not_found: no profile holds the identifier"},
    },
)
def create_request(
    body: PrivacyRequestIn,
    principal: CanAdmin,
    db: DatabaseDep,
    rules: RulesDep,
    request: Request,
) -> dict[str, Any]:
    """Accept an export, erasure or suppression; it runs in the background (poll its status).

    Export and erasure need a person holding the identifier; a suppression does not (events
    for it are dropped from now on, even if none arrived yet).
    """
    with db.write() as session:
        try:
            row = requests.create(
                session,
                rules,
                request.app.state.settings.privacy,
                request.app.state.event_log,
                kind=body.kind,
                identifier_type=body.identifier.type,
                identifier_value=body.identifier.value,
                regulation=body.regulation,
                actor=audit.actor_of(principal),
                ip=_ip(request),
            )
        except PersonNotFound:
            session.commit()  # the refusal's audit entry
            raise
        session.commit()
    request.app.state.runner.wake()
    return as_out(row, False)


@router.get("", response_model=PrivacyRequestList)
def list_requests(
    _: CanAdmin,
    session: ReadSessionDep,
    status: Annotated[str | None, Query(pattern="^(pending|running|completed|failed)$")] = None,
    kind: Annotated[str | None, Query(pattern="^(export|erasure|suppression)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Requests newest first, with their deadline and whether they are overdue."""
    rows = requests.listing(session, status=status, kind=kind, limit=limit)
    return {"items": [as_out(row, has) for row, has in rows]}


@router.get("/{request_id}", response_model=PrivacyRequestOut)
def get_request(request_id: str, _: CanAdmin, session: ReadSessionDep) -> dict[str, Any]:
    """One request: ``status`` is pending, running, completed or failed; ``result`` says
    what was found and done."""
    return as_out(*requests.overview(session, request_id))


@router.get(
    "/{request_id}/archive",
    response_class=Response,
    responses={
        200: {"content": {"application/zip": {}}, "description": "the export"},
        404: {"description": "privacy.no_archive: not an export, or not completed"},
    },
)
def download_archive(
    request_id: str, principal: CanAdmin, db: DatabaseDep, request: Request
) -> Response:
    """The completed export as a zip of JSON and JSON Lines files (audited)."""
    with db.write() as session:
        data = requests.download(session, request_id, audit.actor_of(principal), _ip(request))
        session.commit()
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="kizuna-{request_id}.zip"'},
    )
