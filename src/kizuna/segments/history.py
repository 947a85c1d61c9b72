"""Occurrences: which events pass which features, from the live stream and from the log's past.

The consumer records an event's occurrences as it passes; a feature no definition used before
is *backfilled* once by reading the log's past events with its name. Both insert with the same
key (feature, seq) and ignore what is there, so they can overlap without counting twice.

An event's owner is the profile its identity evidence resolves to now; ``reassign`` moves
occurrences when a merge or a split changes owners.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.orm import Session

from kizuna.kit.clock import utcnow
from kizuna.kit.sql import BulkInsert, among, chunks, insert_ignore, pairs_in
from kizuna.models import (
    Event,
    EventEvidence,
    IdentityEvidence,
    SegmentFeature,
    SegmentOccurrence,
)
from kizuna.pipeline.system_events import SYSTEM_SOURCE
from kizuna.privacy.sealing import open_payload
from kizuna.segments.features import Feature, FeatureIndex, event_key, passes, reading
from kizuna.segments.state import bump_state_version

BACKFILL_CHUNK = 5_000
Progress = Callable[[int, int], None]


def millis(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def register(session: Session, features: Iterable[Feature]) -> None:
    rows = [
        {
            "key": f.key,
            "definition": orjson.dumps(f.document()).decode(),
            "backfilled": False,
            "created_at": utcnow(),
        }
        for f in {f.key: f for f in features}.values()
    ]
    if rows:
        conn = session.connection()
        conn.execute(insert_ignore(conn, SegmentFeature, ["key"]), rows)


def forget_unused(session: Session) -> None:
    """Drop the features no definition reads any more, with their occurrences: the engine
    stops recording them, so kept rows would go stale, and a later definition with the same
    filter must read the log's past again."""
    from kizuna.segments import catalogue

    used = {f.key for f in catalogue._load(session).features()}
    unused = [k for k in session.scalars(select(SegmentFeature.key)) if k not in used]
    if unused:
        bump_state_version(session.connection())
    for key in unused:
        session.execute(delete(SegmentOccurrence).where(SegmentOccurrence.feature == key))
        session.execute(delete(SegmentFeature).where(SegmentFeature.key == key))


def occurrence_rows(
    index: FeatureIndex,
    *,
    seq: int,
    message_type: str,
    name: str | None,
    channel: str,
    source_id: str,
    at_ms: int,
    payload: str | None,
    owner: str,
    now_ms: int,
    only: set[str] | None = None,
) -> list[dict[str, Any]]:
    """The occurrence rows of one event (``only``: just these feature keys)."""
    listening = index.by_event.get(event_key(message_type, name))
    if not listening:
        return []
    properties: Any = None
    rows: list[dict[str, Any]] = []
    for feature in listening:
        if only is not None and feature.key not in only:
            continue
        if properties is None and payload is not None:
            properties = open_payload(payload).get("properties") or {}
        if not passes(feature, channel, properties, now_ms):
            continue
        cell = reading(feature, channel, source_id, properties)
        rows.append(
            {
                "feature": feature.key,
                "seq": seq,
                "profile_id": owner,
                "at_ms": at_ms,
                "number": cell.number if cell else None,
                "text": cell.text if cell else None,
                "value": cell.value if cell else None,
            }
        )
    return rows


_OCCURRENCES = BulkInsert(
    SegmentOccurrence,
    ("feature", "seq", "profile_id", "at_ms", "number", "text", "value"),
    conflict=("feature", "seq"),
)


def insert_occurrences(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Rows already there (the live stream and a backfill overlap) are left as they are."""
    unique = {(r["feature"], r["seq"]): r for r in rows}
    _OCCURRENCES.run(conn, [tuple(r[c] for c in _OCCURRENCES.columns) for r in unique.values()])


def owners_of(conn: Connection, seqs: Sequence[int]) -> dict[int, str]:
    """The profile each event belongs to now (events without identifiers have none)."""
    return owners_and_sightings(conn, seqs)[0]


def owners_and_sightings(conn: Connection, seqs: Sequence[int]) -> tuple[dict[int, str], set[int]]:
    """``owners_of``, and the events whose evidence (the identifiers seen together) was seen
    first with them or moved earlier by them: the only events after which identity may have
    given their profile another identifier (merges and splits are events of their own)."""
    found: dict[int, str] = {}
    sightings: set[int] = set()
    for part in chunks(list(seqs), 900):
        query = (
            select(
                EventEvidence.seq, IdentityEvidence.profile_id, IdentityEvidence.first_seq,
                IdentityEvidence.at, Event.timestamp,
            )
            .join(IdentityEvidence, IdentityEvidence.id == EventEvidence.evidence_id)
            .join(Event, Event.seq == EventEvidence.seq)
            .where(among(conn.dialect.name, EventEvidence.seq, part),
                   IdentityEvidence.profile_id.is_not(None))
        )  # fmt: skip
        for seq, profile_id, first_seq, first_at, at in conn.execute(query):
            found[int(seq)] = str(profile_id)
            if first_seq == seq or first_at == at:
                sightings.add(int(seq))
    return found, sightings


def pending(session: Session) -> list[Feature]:
    """Registered features whose past has not been read yet."""
    from kizuna.segments.definitions import EventFilter

    found = []
    for key, document in session.execute(
        select(SegmentFeature.key, SegmentFeature.definition).where(
            SegmentFeature.backfilled.is_(False)
        )
    ):
        d = orjson.loads(document)
        feature = Feature.of(EventFilter.model_validate(d["filter"]), d["property"])
        if feature.key == key:
            found.append(feature)
    return found


def backfill(
    session: Session, features: Sequence[Feature], progress: Progress | None = None
) -> int:
    """Read the log's past for features not backfilled yet; returns the occurrences found."""
    conn = session.connection()
    done = set(
        session.scalars(
            select(SegmentFeature.key).where(
                SegmentFeature.key.in_([f.key for f in features]),
                SegmentFeature.backfilled.is_(True),
            )
        )
    )
    todo = [f for f in features if f.key not in done]
    if not todo:
        return 0
    index = FeatureIndex(todo)
    names = [k for k in index.by_event if not k.startswith("$")]
    types = [k[1:] for k in index.by_event if k.startswith("$")]
    wanted: Any = (Event.type == "track") & Event.name.in_(names) if names else None
    if types:
        others = Event.type.in_(types)
        wanted = others if wanted is None else (wanted | others)
    assert wanted is not None
    base = select(
        Event.seq, Event.type, Event.name, Event.channel, Event.source_id, Event.timestamp,
        Event.payload, IdentityEvidence.profile_id,
    ).join(EventEvidence, EventEvidence.seq == Event.seq).join(
        IdentityEvidence, IdentityEvidence.id == EventEvidence.evidence_id
    ).where(wanted, Event.source_id != SYSTEM_SOURCE)  # fmt: skip
    base = base.where(IdentityEvidence.profile_id.is_not(None))
    total = 0
    if progress is not None:
        total = int(conn.execute(select(func.count()).select_from(base.subquery())).scalar() or 0)
    now_ms = millis(utcnow())
    after, seen, found = 0, 0, 0
    while True:
        page = base.where(Event.seq > after).order_by(Event.seq).limit(BACKFILL_CHUNK)
        rows = session.connection().execute(page).all()
        if not rows:
            break
        batch: list[dict[str, Any]] = []
        for seq, kind, name, channel, source_id, at, payload, owner in rows:
            batch += occurrence_rows(
                index, seq=seq, message_type=kind, name=name, channel=channel,
                source_id=source_id, at_ms=millis(at), payload=payload, owner=str(owner),
                now_ms=now_ms,
            )  # fmt: skip
        insert_occurrences(session.connection(), batch)
        bump_state_version(session.connection())  # the engine's kept states lack these
        found += len(batch)
        seen += len(rows)
        after = rows[-1][0]
        if progress is not None:
            progress(seen, total)
    session.connection().execute(
        update(SegmentFeature)
        .where(SegmentFeature.key.in_([f.key for f in todo]))
        .values(backfilled=True)
    )
    return found


def reassign(conn: Connection, profile_ids: Sequence[str]) -> set[str]:
    """Move the occurrences of these profiles to their events' owners now; returns every
    profile that gained or lost one."""
    o = SegmentOccurrence
    rows = conn.execute(
        select(o.feature, o.seq, o.profile_id).where(o.profile_id.in_(list(profile_ids)))
    ).all()
    owners = owners_of(conn, sorted({r.seq for r in rows}))
    touched = set(profile_ids)
    gone = [(r.feature, r.seq) for r in rows if r.seq not in owners]
    for part in chunks(gone, 400):
        conn.execute(delete(o).where(pairs_in(o.feature, o.seq, part)))
    for r in rows:
        owner = owners.get(r.seq)
        if owner is not None and owner != r.profile_id:
            touched.add(owner)
            conn.execute(
                update(o).where(o.feature == r.feature, o.seq == r.seq).values(profile_id=owner)
            )
    return touched
