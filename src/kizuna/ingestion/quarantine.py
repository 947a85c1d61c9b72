"""Quarantine: events held aside by a tracking plan, released once the plan accepts them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.errors import NotFound
from kizuna.ingestion.plans import compile_plan
from kizuna.ingestion.rules import LogEntry, partition_for, routing_key, stamp_channel
from kizuna.kit.clock import utcnow
from kizuna.kit.sql import upsert_add
from kizuna.models import IngestTally, QuarantinedEvent, Source
from kizuna.pipeline.log import SqlEventLog
from kizuna.privacy.sealing import open_message, sealed_trait_keys, withhold


@dataclass(frozen=True)
class ReplayReport:
    replayed: int
    still_violating: int


def list_quarantined(
    session: Session, *, source_id: str | None = None, status: str = "held", limit: int = 100
) -> list[QuarantinedEvent]:
    stmt = (
        select(QuarantinedEvent)
        .where(QuarantinedEvent.status == status)
        .order_by(QuarantinedEvent.id.desc())
        .limit(limit)
    )
    if source_id:
        stmt = stmt.where(QuarantinedEvent.source_id == source_id)
    return list(session.scalars(stmt))


def replay(
    session: Session,
    log: SqlEventLog,
    *,
    source_id: str | None = None,
    ids: list[int] | None = None,
) -> ReplayReport:
    """Re-check held events against their source's current plan; release those it accepts."""
    stmt = select(QuarantinedEvent).where(QuarantinedEvent.status == "held")
    if source_id:
        stmt = stmt.where(QuarantinedEvent.source_id == source_id)
    if ids is not None:
        stmt = stmt.where(QuarantinedEvent.id.in_(ids))
    conn = session.connection()
    log.lock_for_append(conn)
    held = list(session.scalars(stmt.order_by(QuarantinedEvent.id).with_for_update()))
    if ids is not None and len(ids) == 1 and not held:
        raise NotFound(f"no held event {ids[0]}", code="quarantine.not_found")
    sources = {
        s.id: s
        for s in session.scalars(select(Source).where(Source.id.in_({h.source_id for h in held})))
    }
    released: list[LogEntry] = []
    still = 0
    now = utcnow()
    for row in held:
        source = sources[row.source_id]
        plan = compile_plan(source.plan, source.plan_mode, source.plan_version)
        stored = orjson.loads(row.payload)
        sealed = sealed_trait_keys(stored)  # their values stay out of the violations' text
        message = open_message(stored)
        violations = withhold(plan.violations(message) if plan.enforced else [], sealed)
        if violations and plan.mode != "warn":
            row.violations = orjson.dumps(violations).decode()
            row.plan_version = plan.version
            still += 1
            continue
        released.append(_entry(row, source, message, violations, log.partitions))
        row.status = "replayed"
        row.resolved_at = now
    log.append(conn, released)
    _count(session, released, "replayed")
    return ReplayReport(replayed=len(released), still_violating=still)


def discard(session: Session, quarantined_id: int) -> QuarantinedEvent:
    row = session.get(QuarantinedEvent, quarantined_id)
    if row is None or row.status != "held":
        raise NotFound(f"no held event {quarantined_id}", code="quarantine.not_found")
    row.status = "discarded"
    row.resolved_at = utcnow()
    return row


def tallies(session: Session, days: int = 7, source_id: str | None = None) -> list[IngestTally]:
    since: date = (utcnow() - timedelta(days=days - 1)).date()
    stmt = (
        select(IngestTally)
        .where(IngestTally.day >= since)
        .order_by(IngestTally.day, IngestTally.source_id, IngestTally.outcome)
    )
    if source_id:
        stmt = stmt.where(IngestTally.source_id == source_id)
    return list(session.scalars(stmt))


def totals_by_source(session: Session, days: int = 7) -> dict[str, dict[str, int]]:
    since: date = (utcnow() - timedelta(days=days - 1)).date()
    stmt = (
        select(IngestTally.source_id, IngestTally.outcome, func.sum(IngestTally.count))
        .where(IngestTally.day >= since)
        .group_by(IngestTally.source_id, IngestTally.outcome)
    )
    totals: dict[str, dict[str, int]] = {}
    for source_id, outcome, count in session.execute(stmt):
        totals.setdefault(source_id, {})[outcome] = int(count)
    return totals


def _entry(
    row: QuarantinedEvent,
    source: Source,
    message: dict[str, object],
    violations: list[dict[str, str]],
    partitions: int,
) -> LogEntry:
    user_id = message.get("userId")
    anonymous_id = message.get("anonymousId")
    user = str(user_id) if user_id not in (None, "") else None
    anon = str(anonymous_id) if anonymous_id not in (None, "") else None
    context = message.get("context")
    return LogEntry(
        source_id=row.source_id,
        message_id=row.message_id,
        type=row.type,
        name=row.name,
        channel=stamp_channel(source.kind, context if isinstance(context, dict) else None),
        user_id=user,
        anonymous_id=anon,
        timestamp=datetime.fromisoformat(str(message["timestamp"])),
        received_at=row.received_at,
        partition=partition_for(routing_key(user, anon), partitions),
        payload=row.payload,
        status="warned" if violations else "ok",
        violations=orjson.dumps(violations).decode() if violations else None,
    )


def _count(session: Session, entries: list[LogEntry], outcome: str) -> None:
    counts: dict[str, int] = {}
    for entry in entries:
        counts[entry.source_id] = counts.get(entry.source_id, 0) + 1
    day = utcnow().date()
    upsert_add(
        session.connection(),
        IngestTally,
        ["source_id", "day", "outcome"],
        [
            {"source_id": s, "day": day, "outcome": outcome, "count": n}
            for s, n in sorted(counts.items())
        ],
    )
