"""``/api/v1/quarantine`` and ``/api/v1/ingestion/tallies``: nothing is dropped silently."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.db import ReadSessionDep, SessionDep
from kizuna.ingestion import quarantine
from kizuna.ingestion.admin_schemas import (
    QuarantinedList,
    QuarantinedOut,
    ReplayOut,
    ReplayRequest,
    TallyList,
    TallyOut,
)
from kizuna.models import QuarantinedEvent
from kizuna.openapi import NOT_FOUND
from kizuna.privacy.classification import Classification
from kizuna.privacy.personal_fields import redaction_of
from kizuna.privacy.redaction import payload_for, violations_for

router = APIRouter(tags=["ingestion"])

CanRead = Annotated[Principal, Depends(RequireScope("sources:read"))]
CanWrite = Annotated[Principal, Depends(RequireScope("sources:write"))]


def _out(row: QuarantinedEvent, redact: Classification | None) -> QuarantinedOut:
    """The held event as its reader may see it (personal fields masked without
    `profiles:read`, SEC-2)."""
    return QuarantinedOut(
        id=row.id,
        source_id=row.source_id,
        message_id=row.message_id,
        type=row.type,
        name=row.name,
        received_at=row.received_at,
        plan_version=row.plan_version,
        violations=violations_for(row.violations, redact) or [],
        payload=payload_for(row.payload, redact),
        status=row.status,
    )


@router.get("/quarantine", response_model=QuarantinedList)
def list_quarantined(
    principal: CanRead,
    request: Request,
    session: ReadSessionDep,
    source: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str, Query(pattern="^(held|replayed|discarded)$")] = "held",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> QuarantinedList:
    """Events held aside by a tracking plan, with the reasons (personal fields masked as
    "[personal]" for callers without `profiles:read`)."""
    rows = quarantine.list_quarantined(session, source_id=source, status=status, limit=limit)
    redact = redaction_of(request, principal, session)
    return QuarantinedList(items=[_out(r, redact) for r in rows])


@router.post("/quarantine/replay", response_model=ReplayOut, responses=NOT_FOUND)
def replay_quarantined(
    body: ReplayRequest, request: Request, _: CanWrite, session: SessionDep
) -> ReplayOut:
    """Re-check held events (all, one source's, or the given ids) against the current plan and
    release into the log those it now accepts."""
    report = quarantine.replay(
        session, request.app.state.event_log, source_id=body.source_id, ids=body.ids
    )
    return ReplayOut(replayed=report.replayed, still_violating=report.still_violating)


@router.post("/quarantine/{quarantined_id}/discard", response_model=QuarantinedOut)
def discard_quarantined(
    quarantined_id: int, principal: CanWrite, request: Request, session: SessionDep
) -> QuarantinedOut:
    """Give up on a held event; it stays listed as discarded."""
    row = quarantine.discard(session, quarantined_id)
    return _out(row, redaction_of(request, principal, session))


@router.get("/ingestion/tallies", response_model=TallyList)
def list_tallies(
    _: CanRead,
    session: ReadSessionDep,
    days: Annotated[int, Query(ge=1, le=366)] = 7,
    source: Annotated[str | None, Query(max_length=64)] = None,
) -> TallyList:
    """Per source and day: accepted, warned, duplicate, quarantined, suppressed, rejected,
    rate-limited."""
    rows = quarantine.tallies(session, days=days, source_id=source)
    return TallyList(items=[TallyOut.model_validate(r, from_attributes=True) for r in rows])
