"""Use-cases on the log: read events back, watch consumers, replay or discard dead letters."""

from __future__ import annotations

from collections.abc import Container, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.errors import Conflict, NotFound
from kizuna.kit.clock import utcnow
from kizuna.models import DeadLetter, Event
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import SqlEventLog, SqlOffsetStore
from kizuna.pipeline.schemas import ConsumerState, EventOut, PartitionState
from kizuna.privacy.redaction import payload_for, violations_for


def list_events(
    session: Session,
    *,
    source: str | None = None,
    type: str | None = None,
    limit: int = 50,
    before: int | None = None,
) -> list[Event]:
    """Stored events, newest first; ``before`` pages backwards by ``seq``."""
    stmt = select(Event).order_by(Event.seq.desc()).limit(limit)
    if source:
        stmt = stmt.where(Event.source_id == source)
    if type:
        stmt = stmt.where(Event.type == type)
    if before is not None:
        stmt = stmt.where(Event.seq < before)
    return list(session.scalars(stmt))


def get_event(session: Session, seq: int) -> Event:
    event = session.get(Event, seq)
    if event is None:
        raise NotFound(f"no event {seq}", code="event.not_found")
    return event


def event_out(event: Event, redact: Container[str] | None = None) -> EventOut:
    """The event as its reader may see it: ``redact`` names the personal fields to mask for a
    reader without ``profiles:read`` (``kizuna.privacy.personal_fields.redaction_for``)."""
    return EventOut(
        seq=event.seq,
        source_id=event.source_id,
        message_id=event.message_id,
        type=event.type,
        name=event.name,
        channel=event.channel,
        user_id=event.user_id,
        anonymous_id=event.anonymous_id,
        timestamp=event.timestamp,
        received_at=event.received_at,
        status=event.status,
        violations=violations_for(event.violations, redact),
        payload=payload_for(event.payload, redact),
    )


def consumer_states(
    session: Session, log: SqlEventLog, offsets: SqlOffsetStore, consumers: Sequence[Consumer]
) -> list[ConsumerState]:
    conn = session.connection()
    heads = log.heads(conn)
    positions = offsets.positions(conn)
    states = []
    for consumer in consumers:
        parts = []
        for p in range(log.partitions):
            head = heads.get(p, 0)
            position = positions.get((consumer.name, p), 0)
            lag = _lag(session, p, position) if head > position else 0
            parts.append(PartitionState(partition=p, position=position, head=head, lag=lag))
        states.append(
            ConsumerState(
                name=consumer.name,
                description=consumer.description,
                lag=sum(x.lag for x in parts),
                partitions=parts,
            )
        )
    return states


def _lag(session: Session, partition: int, position: int) -> int:
    """Events of one partition not yet handled (seqs interleave across partitions)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.partition == partition, Event.seq > position)
        )
        or 0
    )


def list_dead_letters(
    session: Session, status: str | None = "open", limit: int = 100
) -> list[DeadLetter]:
    stmt = select(DeadLetter).order_by(DeadLetter.id.desc()).limit(limit)
    if status:
        stmt = stmt.where(DeadLetter.status == status)
    return list(session.scalars(stmt))


def count_dead_letters(session: Session, status: str = "open") -> int:
    """How many dead letters are in ``status`` (the console overview shows the open ones)."""
    stmt = select(func.count()).select_from(DeadLetter).where(DeadLetter.status == status)
    return int(session.scalar(stmt) or 0)


def _open_dead_letter(session: Session, dead_letter_id: int) -> DeadLetter:
    stmt = select(DeadLetter).where(DeadLetter.id == dead_letter_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    letter = session.scalar(stmt)
    if letter is None:
        raise NotFound(f"no dead letter {dead_letter_id}", code="dead_letter.not_found")
    if letter.status != "open":
        raise Conflict(
            f"dead letter {dead_letter_id} is already {letter.status}", code="dead_letter.resolved"
        )
    return letter


def replay_dead_letter(
    session: Session, log: SqlEventLog, consumers: Sequence[Consumer], dead_letter_id: int
) -> DeadLetter:
    """Run the consumer on the event again. Success resolves it; failure records the error."""
    letter = _open_dead_letter(session, dead_letter_id)
    consumer = next((c for c in consumers if c.name == letter.consumer), None)
    if consumer is None:
        raise Conflict(
            f"consumer {letter.consumer} is not running here", code="dead_letter.unknown_consumer"
        )
    event = log.get(session.connection(), letter.seq)
    if event is None:
        raise Conflict(f"event {letter.seq} is no longer in the log", code="dead_letter.event_gone")
    try:
        with session.begin_nested():
            consumer.handle(session, [event])
    except Exception as exc:
        letter.attempts += 1
        letter.error = f"{type(exc).__name__}: {exc}"[:4000]
        letter.failed_at = utcnow()
        return letter
    letter.status = "replayed"
    letter.resolved_at = utcnow()
    return letter


def discard_dead_letter(session: Session, dead_letter_id: int) -> DeadLetter:
    letter = _open_dead_letter(session, dead_letter_id)
    letter.status = "discarded"
    letter.resolved_at = utcnow()
    return letter
