"""``/api/v1/sources``: touchpoints, their write keys and tracking plans."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.db import ReadSessionDep, SessionDep
from kizuna.identity.config import IdentityRules
from kizuna.identity.endpoints import RulesDep
from kizuna.models import Source
from kizuna.openapi import CONFLICT
from kizuna.sources import service
from kizuna.sources.rules import MANAGE_SCOPE, write_key_prefix, write_key_visible
from kizuna.sources.schemas import SourceCreate, SourceList, SourceOut, TrackingPlanIn

router = APIRouter(prefix="/sources", tags=["sources"])

CanRead = Annotated[Principal, Depends(RequireScope("sources:read"))]
CanWrite = Annotated[Principal, Depends(RequireScope(MANAGE_SCOPE))]


def _out(source: Source, principal: Principal, rules: IdentityRules) -> SourceOut:
    """The source as ``principal`` may see it: a trusted kind's key only for managers."""
    shown = write_key_visible(
        source.kind,
        trusted_kinds=rules.trusted_source_kinds,
        may_manage=principal.may(MANAGE_SCOPE),
    )
    return SourceOut(
        id=source.id,
        name=source.name,
        kind=source.kind,
        channel=source.channel,
        write_key=source.write_key if shown else None,
        write_key_prefix=write_key_prefix(source.write_key),
        created_at=source.created_at,
        revoked_at=source.revoked_at,
        plan_mode=source.plan_mode,
        plan=source.plan,
        plan_version=source.plan_version,
    )


@router.get("", response_model=SourceList)
def list_sources(principal: CanRead, session: ReadSessionDep, rules: RulesDep) -> SourceList:
    """Every source. Client sources' write keys are public (they can only send events); a
    trusted source's key is shown only to holders of `sources:write` (else `null`)."""
    return SourceList(items=[_out(s, principal, rules) for s in service.list_sources(session)])


@router.post("", response_model=SourceOut, status_code=201, responses=CONFLICT)
def create_source(
    body: SourceCreate, principal: CanWrite, session: SessionDep, rules: RulesDep
) -> SourceOut:
    """Create a source for a touchpoint; its channel is its kind (409 `source.exists`)."""
    source = service.create_source(session, name=body.name, kind=body.kind)
    return _out(source, principal, rules)


@router.get("/{source_id}", response_model=SourceOut)
def get_source(
    source_id: str, principal: CanRead, session: ReadSessionDep, rules: RulesDep
) -> SourceOut:
    """One source (its write key as in the list)."""
    return _out(service.get_source(session, source_id), principal, rules)


@router.put("/{source_id}/tracking-plan", response_model=SourceOut)
def set_tracking_plan(
    source_id: str, body: TrackingPlanIn, principal: CanWrite, session: SessionDep, rules: RulesDep
) -> SourceOut:
    """Replace the source's tracking plan and mode; the plan version increases."""
    source = service.set_tracking_plan(session, source_id, mode=body.mode, plan=body.plan)
    return _out(source, principal, rules)


@router.post("/{source_id}/rotate-write-key", response_model=SourceOut)
def rotate_write_key(
    source_id: str, principal: CanWrite, session: SessionDep, rules: RulesDep
) -> SourceOut:
    """Issue a new write key; the previous one is refused from now on."""
    source = service.rotate_write_key(session, source_id)
    return _out(source, principal, rules)


@router.post("/{source_id}/revoke", response_model=SourceOut)
def revoke_source(
    source_id: str, principal: CanWrite, session: SessionDep, rules: RulesDep
) -> SourceOut:
    """Stop accepting events from this source's write key."""
    source = service.revoke_write_key(session, source_id)
    return _out(source, principal, rules)
