"""``/api/v1/quarantine`` and ``/api/v1/ingestion/tallies``: nothing is dropped silently."""

from __future__ import annotations

from typing import Annotated

import orjson
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

router = APIRouter(tags=["ingestion"])

CanRead = Annotated[Principal, Depends(RequireScope("sources:read"))]
CanWrite = Annotated[Principal, Depends(RequireScope("sources:write"))]


def _out(row: QuarantinedEvent) -> QuarantinedOut:
    return QuarantinedOut(
        id=row.id,
        source_id=row.source_id,
        message_id=row.message_id,
        type=row.type,
        name=row.name,
        received_at=row.received_at,
        plan_version=row.plan_version,
        violations=orjson.loads(row.violations),
        payload=orjson.loads(row.payload),
        status=row.status,
    )


@router.get("/quarantine", response_model=QuarantinedList)
def list_quarantined(
    _: CanRead,
    session: ReadSessionDep,
    source: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[str, Query(pattern="^(held|replayed|discarded)$")] = "held",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> QuarantinedList:
    """Events held aside by a tracking plan, with the reasons."""
    rows = quarantine.list_quarantined(session, source_id=source, status=status, limit=limit)
    return QuarantinedList(items=[_out(r) for r in rows])


@router.post("/quarantine/replay", response_model=ReplayOut)
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
def discard_quarantined(quarantined_id: int, _: CanWrite, session: SessionDep) -> QuarantinedOut:
    """Give up on a held event; it stays listed as discarded."""
    return _out(quarantine.discard(session, quarantined_id))


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
