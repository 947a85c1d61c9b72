"""``/api/v1/events``, ``/api/v1/pipeline/...``: read the log, watch consumers, dead letters."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.db import ReadSessionDep, SessionDep
from kizuna.openapi import CONFLICT
from kizuna.pipeline import service
from kizuna.pipeline.schemas import (
    ConsumerList,
    DeadLetterList,
    DeadLetterOut,
    EventOut,
    EventPage,
)
from kizuna.privacy.audit import record_read
from kizuna.privacy.personal_fields import redaction_of

router = APIRouter(tags=["events"])

CanReadEvents = Annotated[Principal, Depends(RequireScope("events:read"))]
CanReadPipeline = Annotated[Principal, Depends(RequireScope("pipeline:read"))]
CanAdminPipeline = Annotated[Principal, Depends(RequireScope("pipeline:admin"))]
MessageType = Literal["identify", "track", "page", "screen", "group", "alias"]


@router.get("/events", response_model=EventPage)
def list_events(
    principal: CanReadEvents,
    request: Request,
    session: ReadSessionDep,
    source: Annotated[str | None, Query(max_length=64, description="Source id")] = None,
    type: Annotated[MessageType | None, Query(description="Call type")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    before: Annotated[int | None, Query(ge=1, description="Page: events with seq < before")] = None,
) -> EventPage:
    """Stored events, newest first, with their validation status and raw payload (personal
    fields masked as "[personal]" for callers without `profiles:read`)."""
    events = service.list_events(session, source=source, type=type, limit=limit, before=before)
    redact = redaction_of(request, principal, session)
    items = [service.event_out(e, redact) for e in events]
    next_before = items[-1].seq if len(items) == limit else None
    if items:  # raw payloads are personal data
        record_read(
            request, principal, "events.read", "events", f"{items[-1].seq}-{items[0].seq}",
            {"count": len(items)},
        )  # fmt: skip
    return EventPage(items=items, next_before=next_before)


@router.get("/events/{seq}", response_model=EventOut)
def get_event(
    seq: int, principal: CanReadEvents, request: Request, session: ReadSessionDep
) -> EventOut:
    """One stored event by its log position (personal fields masked as for the list)."""
    found = service.get_event(session, seq)
    event = service.event_out(found, redaction_of(request, principal, session))
    record_read(request, principal, "event.read", "event", str(seq))
    return event


@router.get("/pipeline/consumers", response_model=ConsumerList, tags=["pipeline"])
def list_consumers(request: Request, _: CanReadPipeline, session: ReadSessionDep) -> ConsumerList:
    """Each consumer's offset per partition and its lag (events not yet handled)."""
    state = request.app.state
    return ConsumerList(
        items=service.consumer_states(session, state.event_log, state.offsets, state.consumers)
    )


@router.get("/pipeline/dead-letters", response_model=DeadLetterList, tags=["pipeline"])
def list_dead_letters(
    _: CanReadPipeline,
    session: ReadSessionDep,
    status: Annotated[Literal["open", "replayed", "discarded"] | None, Query()] = "open",
) -> DeadLetterList:
    """Events a consumer set aside after exhausting its attempts."""
    items = [
        DeadLetterOut.model_validate(d, from_attributes=True)
        for d in service.list_dead_letters(session, status)
    ]
    return DeadLetterList(items=items)


@router.post(
    "/pipeline/dead-letters/{dead_letter_id}/replay",
    response_model=DeadLetterOut,
    tags=["pipeline"],
    responses=CONFLICT,
)
def replay_dead_letter(
    dead_letter_id: int, request: Request, _: CanAdminPipeline, session: SessionDep
) -> DeadLetterOut:
    """Hand the event to its consumer again; ``status`` says whether it went through."""
    state = request.app.state
    letter = service.replay_dead_letter(session, state.event_log, state.consumers, dead_letter_id)
    return DeadLetterOut.model_validate(letter, from_attributes=True)


@router.post(
    "/pipeline/dead-letters/{dead_letter_id}/discard",
    response_model=DeadLetterOut,
    tags=["pipeline"],
    responses=CONFLICT,
)
def discard_dead_letter(
    dead_letter_id: int, _: CanAdminPipeline, session: SessionDep
) -> DeadLetterOut:
    """Give up on a dead letter (kept for the record)."""
    letter = service.discard_dead_letter(session, dead_letter_id)
    return DeadLetterOut.model_validate(letter, from_attributes=True)
