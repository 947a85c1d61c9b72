"""Data subject requests: the list with deadlines, a form to ask one, the export's download."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from kizuna.console.views_profiles import rules_of
from kizuna.console.web import ConsoleRoute, Viewer, database, posts, render, requires, see_other
from kizuna.errors import KizunaError
from kizuna.kit.clock import utcnow
from kizuna.privacy import audit, requests
from kizuna.privacy.personal_fields import personal_field_list, personal_fields
from kizuna.privacy.requests_rules import KINDS, REGULATIONS

router = APIRouter(route_class=ConsoleRoute)

CanAdminPrivacy = Annotated[Viewer, Depends(requires("privacy:admin"))]
PostPrivacyAdmin = Annotated[Viewer, Depends(posts("privacy:admin"))]
IDENTIFIER_TYPES = ("email", "phone", "user_id", "anonymous_id", "device_id", "loyalty_card")
PAGE = 100


def _page(
    request: Request,
    viewer: Viewer,
    *,
    created: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    now = utcnow()
    settings = request.app.state.settings.privacy
    with database(request).read() as session:
        rows = requests.listing(session, limit=PAGE)
        classification = personal_fields(session, settings.personal_traits)
    items: list[dict[str, Any]] = [
        {
            "request": row,
            "has_archive": has_archive,
            "overdue": requests.is_overdue(row, now),
            "result": requests.result_of(row),
        }
        for row, has_archive in rows
    ]
    context = {
        "nav": "privacy",
        "requests": items,
        "kinds": KINDS,
        "regulations": REGULATIONS,
        "identifier_types": IDENTIFIER_TYPES,
        "default_regulation": settings.default_regulation,
        "created": created,
        "error": error,
        "form": form or {"kind": "export", "identifier_type": "email", "value": ""},
        "personal_fields": personal_field_list(classification, request.app.state.platform.sealer),
    }
    return render(request, viewer, "privacy.html", context, status_code=status_code)


@router.get("/privacy")
def privacy_page(request: Request, viewer: CanAdminPrivacy, created: str | None = None) -> Response:
    """Every request with its status and deadline (late ones stand out), newest first."""
    return _page(request, viewer, created=created if created else None)


@router.post("/privacy/requests")
def create_request(
    request: Request,
    viewer: PostPrivacyAdmin,
    kind: Annotated[str, Form(max_length=16)] = "",
    identifier_type: Annotated[str, Form(max_length=40)] = "",
    value: Annotated[str, Form(max_length=200)] = "",
    regulation: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Ask an export, erasure or suppression; it runs in the background."""
    form = {"kind": kind, "identifier_type": identifier_type, "value": value}
    state = request.app.state
    ip = request.client.host if request.client else None
    with database(request).write() as session:
        try:
            row = requests.create(
                session,
                rules_of(request),
                state.settings.privacy,
                state.event_log,
                kind=kind,
                identifier_type=identifier_type,
                identifier_value=value,
                regulation=regulation or None,
                actor=audit.actor_of(viewer.principal),
                ip=ip,
            )
        except KizunaError as exc:
            session.commit()  # a refusal's audit entry stays
            error = viewer.t_or(
                f"privacy.requests.error.{exc.code}", viewer.error_text(exc.code, exc.message)
            )
            return _page(request, viewer, error=error, form=form, status_code=exc.status)
        session.commit()
    state.runner.wake()
    return see_other("/console/privacy", created=row.id)


@router.get("/privacy/requests/{request_id}/archive")
def download_archive(request_id: str, request: Request, viewer: CanAdminPrivacy) -> Response:
    """The export's zip (the download is audited)."""
    ip = request.client.host if request.client else None
    with database(request).write() as session:
        data = requests.download(session, request_id, audit.actor_of(viewer.principal), ip)
        session.commit()
    return Response(
        data,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="kizuna-{request_id}.zip"'},
    )
