"""``/api/v1/sources``: touchpoints, their write keys and tracking plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.db import ReadSessionDep, SessionDep
from kizuna.sources import service
from kizuna.sources.schemas import SourceCreate, SourceList, SourceOut, TrackingPlanIn

router = APIRouter(prefix="/sources", tags=["sources"])

CanRead = Annotated[Principal, Depends(RequireScope("sources:read"))]
CanWrite = Annotated[Principal, Depends(RequireScope("sources:write"))]


@router.get("", response_model=SourceList)
def list_sources(_: CanRead, session: ReadSessionDep) -> SourceList:
    """Every source with its write key (write keys are public: they can only send events)."""
    items = [
        SourceOut.model_validate(s, from_attributes=True) for s in service.list_sources(session)
    ]
    return SourceList(items=items)


@router.post("", response_model=SourceOut, status_code=201)
def create_source(body: SourceCreate, _: CanWrite, session: SessionDep) -> SourceOut:
    """Create a source for a touchpoint; its channel is its kind."""
    source = service.create_source(session, name=body.name, kind=body.kind)
    return SourceOut.model_validate(source, from_attributes=True)


@router.get("/{source_id}", response_model=SourceOut)
def get_source(source_id: str, _: CanRead, session: ReadSessionDep) -> SourceOut:
    """One source."""
    return SourceOut.model_validate(service.get_source(session, source_id), from_attributes=True)


@router.put("/{source_id}/tracking-plan", response_model=SourceOut)
def set_tracking_plan(
    source_id: str, body: TrackingPlanIn, _: CanWrite, session: SessionDep
) -> SourceOut:
    """Replace the source's tracking plan and mode; the plan version increases."""
    source = service.set_tracking_plan(session, source_id, mode=body.mode, plan=body.plan)
    return SourceOut.model_validate(source, from_attributes=True)


@router.post("/{source_id}/rotate-write-key", response_model=SourceOut)
def rotate_write_key(source_id: str, _: CanWrite, session: SessionDep) -> SourceOut:
    """Issue a new write key; the previous one is refused from now on."""
    source = service.rotate_write_key(session, source_id)
    return SourceOut.model_validate(source, from_attributes=True)


@router.post("/{source_id}/revoke", response_model=SourceOut)
def revoke_source(source_id: str, _: CanWrite, session: SessionDep) -> SourceOut:
    """Stop accepting events from this source's write key."""
    source = service.revoke_write_key(session, source_id)
    return SourceOut.model_validate(source, from_attributes=True)
