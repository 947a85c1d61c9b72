"""The audit log: every read of personal data and every admin action, append-only.

Entries name people by pseudonymous ids (profile ids, request ids) or identifier digests,
never by raw email or phone, so the log itself holds no personal data to erase.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import insert, select
from sqlalchemy.orm import Session
from starlette.requests import Request

from kizuna.auth.service import Principal
from kizuna.kit.clock import utcnow
from kizuna.models import AuditEntry


def actor_of(principal: Principal | None) -> str:
    if principal is None:
        return "anonymous"
    return f"{principal.kind}:{principal.id}"


def record(
    session: Session,
    actor: str,
    action: str,
    target_type: str,
    target_id: str,
    *,
    outcome: str = "ok",
    ip: str | None = None,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Append one entry (in the caller's transaction: it commits with what it describes)."""
    session.execute(
        insert(AuditEntry).values(
            at=utcnow(),
            actor=actor[:200],
            action=action,
            target_type=target_type,
            target_id=target_id[:200],
            outcome=outcome,
            ip=ip,
            details=orjson.dumps(dict(details)).decode() if details else None,
        )
    )


def record_read(
    request: Request,
    principal: Principal | None,
    action: str,
    target_type: str,
    target_id: str,
    details: Mapping[str, Any] | None = None,
) -> None:
    """Audit a read of personal data made in a read-only session: its own small transaction."""
    with request.app.state.db.write() as session:
        record(
            session,
            actor_of(principal),
            action,
            target_type,
            target_id,
            ip=request.client.host if request.client else None,
            details=details,
        )
        session.commit()


def search(
    session: Session,
    *,
    actor: str | None = None,
    action: str | None = None,
    target_type: str | None = None,
    target_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    """Newest first, filtered; page with ``before_id``."""
    query = select(AuditEntry).order_by(AuditEntry.id.desc()).limit(max(1, min(limit, 1000)))
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if action:
        query = query.where(AuditEntry.action.startswith(action))
    if target_type:
        query = query.where(AuditEntry.target_type == target_type)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id)
    if since:
        query = query.where(AuditEntry.at >= since)
    if until:
        query = query.where(AuditEntry.at < until)
    if before_id:
        query = query.where(AuditEntry.id < before_id)
    return list(session.execute(query).scalars())


def as_dict(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "at": entry.at,
        "actor": entry.actor,
        "action": entry.action,
        "target_type": entry.target_type,
        "target_id": entry.target_id,
        "outcome": entry.outcome,
        "ip": entry.ip,
        "details": orjson.loads(entry.details) if entry.details else None,
    }
