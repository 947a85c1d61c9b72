"""Ingestion's part in data subject requests: quarantined events and dedup keys.

Quarantined events are not in the identity graph, so the whole quarantine is read and every
held or resolved event that carries one of the person's identifiers belongs to them. The dedup
keys of the person's events go too (a messageId is the client's choice and may embed an id).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from kizuna.identity.identifiers import IDENTIFIER_TRAITS, identifiers_of
from kizuna.identity.store import chunks
from kizuna.kit.sql import pairs_in
from kizuna.models import DedupKey, QuarantinedEvent
from kizuna.privacy.sealing import open_payload
from kizuna.privacy.subject import ExportFiles, Person, PersonalData, removed

SCAN_ROWS = 1000


def _quarantined(session: Session, person: Person) -> Iterator[QuarantinedEvent]:
    after = 0
    while True:
        rows = list(
            session.execute(
                select(QuarantinedEvent)
                .where(QuarantinedEvent.id > after)
                .order_by(QuarantinedEvent.id)
                .limit(SCAN_ROWS)
            ).scalars()
        )
        for row in rows:
            message = open_payload(row.payload, only=IDENTIFIER_TRAITS)
            found, _ = identifiers_of(message, person.rules)
            if person.identifiers.intersection(found):
                yield row
        if len(rows) < SCAN_ROWS:
            return
        after = rows[-1].id


def export(session: Session, person: Person) -> ExportFiles:
    items: list[dict[str, Any]] = [
        {
            "source_id": q.source_id,
            "type": q.type,
            "name": q.name,
            "received_at": q.received_at,
            "status": q.status,
            "violations": orjson.loads(q.violations),
            "message": open_payload(q.payload),
        }
        for q in _quarantined(session, person)
    ]
    return {"quarantined_events.jsonl": items}


def erase(session: Session, person: Person) -> int:
    held = list(_quarantined(session, person))
    keys = {(r.source_id, r.message_id) for r in person.events.values()}
    keys |= {(q.source_id, q.message_id) for q in held}
    count = 0
    for part in chunks([q.id for q in held]):
        count += removed(session, delete(QuarantinedEvent).where(QuarantinedEvent.id.in_(part)))
    for part in chunks(sorted(keys)):
        count += removed(
            session,
            delete(DedupKey).where(pairs_in(DedupKey.source_id, DedupKey.message_id, part)),
        )
    return count


INGESTION = PersonalData(
    name="ingestion",
    tables=("quarantined_events", "dedup_keys"),
    export=export,
    erase=erase,
)
