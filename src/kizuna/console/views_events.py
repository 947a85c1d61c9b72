"""Events: the newest events across sources, filterable, each with its raw payload."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from kizuna.console.web import CanReadEvents, ConsoleRoute, database, render
from kizuna.ingestion.schemas import MESSAGE_TYPES
from kizuna.pipeline.service import get_event, list_events
from kizuna.privacy.audit import record_read
from kizuna.privacy.personal_fields import redaction_of
from kizuna.privacy.redaction import payload_for, violations_for
from kizuna.sources.service import list_sources

router = APIRouter(route_class=ConsoleRoute)

PAGE_SIZE = 50


@router.get("/events")
def events_page(
    request: Request,
    viewer: CanReadEvents,
    source: Annotated[str, Query(max_length=64)] = "",
    type: Annotated[str, Query(max_length=16)] = "",
    before: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    """Stored events, newest first; ``before`` pages back by log position."""
    message_type = type if type in MESSAGE_TYPES else ""
    with database(request).read() as session:
        sources = list_sources(session)
        events = list_events(
            session,
            source=source or None,
            type=message_type or None,
            limit=PAGE_SIZE,
            before=before,
        )
    context = {
        "nav": "events",
        "events": events,
        "sources": sources,
        "names": {s.id: s.name for s in sources},
        "types": list(MESSAGE_TYPES),
        "selected": {"source": source, "type": message_type},
        "older": events[-1].seq if len(events) == PAGE_SIZE else None,
    }
    return render(request, viewer, "events.html", context)


@router.get("/events/{seq}")
def event_detail(seq: int, request: Request, viewer: CanReadEvents) -> Response:
    """One event as stored: where it came from, its validation, and the raw message."""
    with database(request).read() as session:
        event = get_event(session, seq)
        names = {s.id: s.name for s in list_sources(session)}
        redact = redaction_of(request, viewer.principal, session)  # SEC-2
    context = {
        "nav": "events",
        "event": event,
        "source_name": names.get(event.source_id, event.source_id),
        "violations": violations_for(event.violations, redact) or [],
        "payload": payload_for(event.payload, redact),
    }
    record_read(request, viewer.principal, "event.read", "event", str(seq), {"via": "console"})
    return render(request, viewer, "event_detail.html", context)
