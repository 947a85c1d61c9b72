"""Sources: write keys with ready-to-paste snippets, tracking plans, and a live view of events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from kizuna.console.snippets import Snippet, source_snippets
from kizuna.console.views_profiles import rules_of
from kizuna.console.web import (
    CanReadEvents,
    CanReadSources,
    ConsoleRoute,
    PostSourcesWrite,
    Viewer,
    database,
    render,
    see_other,
    settings_of,
)
from kizuna.errors import KizunaError
from kizuna.ingestion.plans import PLAN_MODES
from kizuna.ingestion.quarantine import totals_by_source
from kizuna.ingestion.rules import SOURCE_KINDS
from kizuna.models import Event, Source
from kizuna.pipeline.service import list_events
from kizuna.privacy.personal_fields import redaction_of
from kizuna.privacy.redaction import violations_for
from kizuna.sources import service
from kizuna.sources.rules import MANAGE_SCOPE, write_key_prefix, write_key_visible

router = APIRouter(route_class=ConsoleRoute)

LIVE_EVENTS = 25
NOTICES = ("created", "rotated", "revoked", "plan_saved")
PLACEHOLDER_KEY = "YOUR_WRITE_KEY"  # in the snippets, where the viewer may not see the key


def _base_url(request: Request) -> str:
    return settings_of(request).public_url or str(request.base_url).rstrip("/")


def _notice(notice: str | None) -> str | None:
    return notice if notice in NOTICES else None


@dataclass(frozen=True)
class ShownKey:
    """A write key as the viewer may see it: a trusted source's key only for managers."""

    value: str | None  # None: withheld (SEC-5)
    prefix: str


def _shown_key(request: Request, viewer: Viewer, source: Source) -> ShownKey:
    visible = write_key_visible(
        source.kind,
        trusted_kinds=rules_of(request).trusted_source_kinds,
        may_manage=viewer.may(MANAGE_SCOPE),
    )
    return ShownKey(source.write_key if visible else None, write_key_prefix(source.write_key))


def _snippets(key: ShownKey, request: Request) -> list[Snippet]:
    return source_snippets(key.value or PLACEHOLDER_KEY, _base_url(request))


def _forget_cached_keys(request: Request) -> None:
    """Key and plan changes apply at once in this process (other processes within seconds)."""
    request.app.state.platform.directory.forget()


def _sources_page(
    request: Request,
    viewer: Viewer,
    *,
    notice: str | None = None,
    error: str | None = None,
    form: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    with database(request).read() as session:
        sources = service.list_sources(session)
    shown = [(s, _shown_key(request, viewer, s)) for s in sources]
    context = {
        "nav": "sources",
        "sources": [(s, key, _snippets(key, request)) for s, key in shown],
        "kinds": SOURCE_KINDS,
        "notice": notice,
        "error": error,
        "form": form or {"name": "", "kind": "web"},
    }
    return render(request, viewer, "sources.html", context, status_code)


@router.get("/sources")
def sources_page(request: Request, viewer: CanReadSources, notice: str | None = None) -> Response:
    """Every source with its write key and how to send a first event."""
    return _sources_page(request, viewer, notice=_notice(notice))


@router.post("/sources")
def create_source(
    request: Request,
    viewer: PostSourcesWrite,
    name: Annotated[str, Form(max_length=200)] = "",
    kind: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Create a source; a refused name or kind shows the form again with the reason."""
    name = name.strip()
    form = {"name": name, "kind": kind}
    if not name:
        error = viewer.t("sources.error.name_required")
        return _sources_page(request, viewer, error=error, form=form, status_code=400)
    try:
        with database(request).write() as session:
            source = service.create_source(session, name=name, kind=kind)
            session.commit()
    except KizunaError as exc:
        error = viewer.error_text(exc.code, exc.message)
        return _sources_page(request, viewer, error=error, form=form, status_code=exc.status)
    return see_other(f"/console/sources/{source.id}", notice="created")


@router.post("/sources/{source_id}/rotate")
def rotate_write_key(source_id: str, request: Request, _: PostSourcesWrite) -> Response:
    """A new write key; the old one is refused from now on."""
    with database(request).write() as session:
        service.rotate_write_key(session, source_id)
        session.commit()
    _forget_cached_keys(request)
    return see_other("/console/sources", notice="rotated")


@router.post("/sources/{source_id}/revoke")
def revoke_source(source_id: str, request: Request, _: PostSourcesWrite) -> Response:
    """Stop accepting this source's events (rotating the key starts it again)."""
    with database(request).write() as session:
        service.revoke_write_key(session, source_id)
        session.commit()
    _forget_cached_keys(request)
    return see_other("/console/sources", notice="revoked")


def _detail_page(
    request: Request,
    viewer: Viewer,
    source_id: str,
    *,
    notice: str | None = None,
    plan_form: dict[str, str] | None = None,
    plan_error: str | None = None,
    status_code: int = 200,
) -> Response:
    with database(request).read() as session:
        source = service.get_source(session, source_id)
        totals = totals_by_source(session, days=7).get(source.id, {})
        events = list_events(session, source=source.id, limit=LIVE_EVENTS)
        violations = _violations(request, viewer, session, events)
    key = _shown_key(request, viewer, source)
    context: dict[str, Any] = {
        "nav": "sources",
        "source": source,
        "totals": totals,
        "events": events if viewer.may("events:read") else None,
        "violations": violations,
        "modes": PLAN_MODES,
        "notice": notice,
        "plan_form": plan_form or _plan_form(source),
        "plan_error": plan_error,
        "key": key,
        "snippets": _snippets(key, request),
    }
    return render(request, viewer, "source_detail.html", context, status_code)


def _plan_form(source: Source) -> dict[str, str]:
    text = json.dumps(source.plan, indent=2, ensure_ascii=False) if source.plan else ""
    return {"mode": source.plan_mode, "plan": text}


@router.get("/sources/{source_id}")
def source_detail(
    source_id: str, request: Request, viewer: CanReadSources, notice: str | None = None
) -> Response:
    """One source: this week's outcomes, its tracking plan, and its events as they arrive."""
    return _detail_page(request, viewer, source_id, notice=_notice(notice))


@router.post("/sources/{source_id}/plan")
def set_tracking_plan(
    source_id: str,
    request: Request,
    viewer: PostSourcesWrite,
    mode: Annotated[str, Form(max_length=16)] = "",
    plan: Annotated[str, Form(max_length=200_000)] = "",
) -> Response:
    """Replace the tracking plan; an unreadable or invalid plan is shown back with the reason."""
    form = {"mode": mode, "plan": plan}
    try:
        document = json.loads(plan) if plan.strip() else None
    except json.JSONDecodeError as exc:
        error = viewer.t("plan.error.json", detail=f"{exc.msg} ({exc.lineno}:{exc.colno})")
        return _detail_page(
            request, viewer, source_id, plan_form=form, plan_error=error, status_code=400
        )
    try:
        with database(request).write() as session:
            service.set_tracking_plan(session, source_id, mode=mode, plan=document)
            session.commit()
    except KizunaError as exc:
        if exc.status != 400:
            raise
        error = viewer.t("plan.error.invalid", detail=exc.message)
        return _detail_page(
            request, viewer, source_id, plan_form=form, plan_error=error, status_code=400
        )
    _forget_cached_keys(request)
    return see_other(f"/console/sources/{source_id}", notice="plan_saved")


def _violations(
    request: Request, viewer: Viewer, session: Session, events: list[Event]
) -> dict[int, Any]:
    """Each event's plan violations by seq; they quote the failing value, so personal ones
    are masked for viewers without profiles:read (SEC-2)."""
    if not any(e.violations for e in events):
        return {}
    redact = redaction_of(request, viewer.principal, session)
    return {e.seq: violations_for(e.violations, redact) for e in events if e.violations}


@router.get("/sources/{source_id}/events/live")
def live_events(source_id: str, request: Request, viewer: CanReadEvents) -> Response:
    """The newest events of one source as an HTML fragment (the detail page polls it)."""
    with database(request).read() as session:
        source = service.get_source(session, source_id)
        events = list_events(session, source=source.id, limit=LIVE_EVENTS)
        violations = _violations(request, viewer, session, events)
    return render(
        request, viewer, "_live_events.html", {"events": events, "violations": violations}
    )
