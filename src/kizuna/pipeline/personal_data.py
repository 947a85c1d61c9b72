"""The event log's part in data subject requests: the person's events, raw payloads included.

A person's events are those the identity graph gave to their evidence, plus two kinds it
cannot know about yet:

- events appended after the request that carry one of the person's identifiers (the identity
  consumer may not have resolved them when the request runs);
- Kizuna's own ``profile.merged`` / ``profile.split`` events naming one of their profile ids.

Dead letters of those events go with them (their error text may quote the payload).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kizuna.identity.identifiers import IDENTIFIER_TRAITS, identifiers_of
from kizuna.identity.store import chunks
from kizuna.models import DeadLetter, Event, EventEvidence
from kizuna.pipeline.system_events import SYSTEM_SOURCE
from kizuna.privacy.sealing import open_payload
from kizuna.privacy.subject import ExportFiles, LoggedRef, Person, PersonalData, removed

SCAN_ROWS = 1000
GRAPH_EVENTS = ("profile.merged", "profile.split")


def _identifying(payload: str) -> dict[str, Any]:
    """The message with only its identifier traits opened (what ``identifiers_of`` reads)."""
    return open_payload(payload, only=IDENTIFIER_TRAITS)


def gather(session: Session, person: Person) -> None:
    for part in chunks(sorted(person.evidence_ids)):
        for seq, source_id, message_id in session.execute(
            select(Event.seq, Event.source_id, Event.message_id)
            .join(EventEvidence, EventEvidence.seq == Event.seq)
            .where(EventEvidence.evidence_id.in_(part))
        ):
            person.events[seq] = LoggedRef(seq, source_id, message_id)
    if person.after_seq is not None:
        _gather_after(session, person, person.after_seq)
    for profile_id in sorted(person.profile_ids):
        for seq, source_id, message_id in session.execute(
            select(Event.seq, Event.source_id, Event.message_id).where(
                Event.source_id == SYSTEM_SOURCE,
                Event.name.in_(GRAPH_EVENTS),
                Event.payload.contains(f'"{profile_id}"'),
            )
        ):
            person.events[seq] = LoggedRef(seq, source_id, message_id)
    for message in _messages(session, person):
        _, refused = identifiers_of(message, person.rules)
        person.refused.update((r.type, r.value[:200]) for r in refused)


def _gather_after(session: Session, person: Person, after: int) -> None:
    """Events newer than the request that carry the person's identifiers (and what they add)."""
    while True:
        rows = session.execute(
            select(Event.seq, Event.source_id, Event.message_id, Event.payload)
            .where(Event.seq > after, Event.source_id != SYSTEM_SOURCE)
            .order_by(Event.seq)
            .limit(SCAN_ROWS)
        ).all()
        for seq, source_id, message_id, payload in rows:
            found, _ = identifiers_of(_identifying(payload), person.rules)
            if person.identifiers.intersection(found):
                person.identifiers.update(found)
                person.events[seq] = LoggedRef(seq, source_id, message_id)
        if len(rows) < SCAN_ROWS:
            return
        after = rows[-1][0]


def _rows(session: Session, person: Person) -> Iterator[Event]:
    for part in chunks(sorted(person.events)):
        yield from session.execute(
            select(Event).where(Event.seq.in_(part)).order_by(Event.seq)
        ).scalars()


def _messages(session: Session, person: Person) -> Iterator[dict[str, Any]]:
    for part in chunks(sorted(person.events)):
        for (payload,) in session.execute(
            select(Event.payload).where(Event.seq.in_(part), Event.source_id != SYSTEM_SOURCE)
        ):
            yield _identifying(payload)


def export(session: Session, person: Person) -> ExportFiles:
    return {
        "events.jsonl": [
            {
                "seq": e.seq,
                "source_id": e.source_id,
                "type": e.type,
                "name": e.name,
                "channel": e.channel,
                "timestamp": e.timestamp,
                "received_at": e.received_at,
                "message": open_payload(e.payload),
            }
            for e in _rows(session, person)
        ]
    }


def erase(session: Session, person: Person) -> int:
    count = 0
    for part in chunks(sorted(person.events)):
        count += removed(session, delete(DeadLetter).where(DeadLetter.seq.in_(part)))
        count += removed(session, delete(Event).where(Event.seq.in_(part)))
    return count


EVENT_LOG = PersonalData(
    name="events",
    tables=("events", "dead_letters"),
    export=export,
    erase=erase,
    gather=gather,
)
