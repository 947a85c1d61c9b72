"""Retention: each class of data is kept for as long as its policy says, then deleted.

Policies are days per data class (``KIZUNA_PRIVACY__RETENTION__<CLASS>``; empty = kept). The
job runs every hour in the consumer process, and on demand (``kizuna privacy retention``);
each run appends its counts to the audit log (``retention.enforced``), which is where the
console shows the last runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from kizuna.kit.clock import utcnow
from kizuna.models import (
    AuditEntry,
    DeadLetter,
    Event,
    EventEvidence,
    IdentityRefusal,
    PrivacyRequest,
    ProbableMatch,
    QuarantinedEvent,
)
from kizuna.privacy import audit
from kizuna.privacy.retention_policy import RetentionPolicy


@dataclass(frozen=True)
class DataClass:
    name: str
    what: str
    purge: Callable[[Session, datetime, bool], int]  # (session, cutoff, dry_run) -> rows


def _count_or_delete(session: Session, model: Any, *conditions: Any, dry_run: bool) -> int:
    if dry_run:
        return int(session.scalar(select(func.count()).select_from(model).where(*conditions)) or 0)
    result = session.execute(delete(model).where(*conditions))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _events(session: Session, cutoff: datetime, dry_run: bool) -> int:
    old = select(Event.seq).where(Event.received_at < cutoff)
    if dry_run:
        return int(session.scalar(select(func.count()).select_from(old.subquery())) or 0)
    session.execute(delete(EventEvidence).where(EventEvidence.seq.in_(old)))
    return _count_or_delete(session, Event, Event.received_at < cutoff, dry_run=False)


def _quarantined(session: Session, cutoff: datetime, dry_run: bool) -> int:
    return _count_or_delete(
        session, QuarantinedEvent, QuarantinedEvent.received_at < cutoff, dry_run=dry_run
    )


def _dead_letters(session: Session, cutoff: datetime, dry_run: bool) -> int:
    return _count_or_delete(
        session,
        DeadLetter,
        DeadLetter.status != "open",
        DeadLetter.failed_at < cutoff,
        dry_run=dry_run,
    )


def _refusals(session: Session, cutoff: datetime, dry_run: bool) -> int:
    return _count_or_delete(
        session, IdentityRefusal, IdentityRefusal.last_seen_at < cutoff, dry_run=dry_run
    )


def _rejected(session: Session, cutoff: datetime, dry_run: bool) -> int:
    return _count_or_delete(
        session,
        ProbableMatch,
        ProbableMatch.status == "rejected",
        ProbableMatch.decided_at < cutoff,
        dry_run=dry_run,
    )


def _archives(session: Session, cutoff: datetime, dry_run: bool) -> int:
    old = (PrivacyRequest.archive.is_not(None), PrivacyRequest.completed_at < cutoff)
    if dry_run:
        return int(
            session.scalar(select(func.count()).select_from(PrivacyRequest).where(*old)) or 0
        )
    result = session.execute(update(PrivacyRequest).where(*old).values(archive=None))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _audit(session: Session, cutoff: datetime, dry_run: bool) -> int:
    return _count_or_delete(session, AuditEntry, AuditEntry.at < cutoff, dry_run=dry_run)


CLASSES = (
    DataClass("events", "raw events (timelines and traits are read from them)", _events),
    DataClass("quarantined_events", "events held by a tracking plan (raw payloads)", _quarantined),
    DataClass("dead_letters", "resolved dead letters", _dead_letters),
    DataClass("identity_refusals", "values that never became identifiers", _refusals),
    DataClass("rejected_matches", "offline records a person said are someone else", _rejected),
    DataClass("export_archives", "data subject export archives (the request row stays)", _archives),
    DataClass("audit_log", "the audit log", _audit),
)


def enforce(
    session: Session, policy: RetentionPolicy, *, now: datetime | None = None, dry_run: bool = False
) -> dict[str, int]:
    """Delete what each policy no longer allows; rows affected per class (or would be)."""
    at = now or utcnow()
    days: dict[str, int | None] = policy.model_dump()
    counts: dict[str, int] = {}
    for data_class in CLASSES:
        keep = days[data_class.name]
        if keep is None:
            continue
        counts[data_class.name] = data_class.purge(session, at - timedelta(days=keep), dry_run)
    if not dry_run:
        audit.record(session, "system:retention", "retention.enforced", "retention", "all",
                     details=counts)  # fmt: skip
    return counts


def last_runs(session: Session, limit: int = 10) -> list[dict[str, Any]]:
    entries = audit.search(session, action="retention.enforced", limit=limit)
    return [{"at": e["at"], "counts": e["details"] or {}} for e in map(audit.as_dict, entries)]
