"""``/api/v1/audit``: search the audit log (who read or changed what, when, from where)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.db import ReadSessionDep
from kizuna.privacy import audit

router = APIRouter(prefix="/audit", tags=["audit"])

CanReadAudit = Annotated[Principal, Depends(RequireScope("audit:read"))]


@router.get("")
def search_audit(
    _: CanReadAudit,
    session: ReadSessionDep,
    actor: Annotated[str | None, Query(max_length=200)] = None,
    action: Annotated[str | None, Query(max_length=64, description="prefix: consent. ...")] = None,
    target_type: Annotated[str | None, Query(max_length=32)] = None,
    target_id: Annotated[str | None, Query(max_length=200)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, list[dict[str, Any]]]:
    """Entries newest first; page with ``before_id`` (the last id of the previous page)."""
    entries = audit.search(
        session,
        actor=actor,
        action=action,
        target_type=target_type,
        target_id=target_id,
        since=since,
        until=until,
        before_id=before_id,
        limit=limit,
    )
    return {"items": [audit.as_dict(e) for e in entries]}
