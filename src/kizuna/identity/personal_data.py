"""The identity graph's part in data subject requests.

A person's graph is their profiles' nodes, every piece of evidence that names one of those
nodes (including evidence the rules refused, which may also name someone else: it records that
the person was seen, so it goes), the nodes only that evidence names (identifiers that never
joined a profile), the conflicts and retractions about that evidence, the merge and split
history, and the refusals of values found in the person's events.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from kizuna.identity.identifiers import Identifier
from kizuna.identity.store import chunks, unpairs
from kizuna.kit.sql import pairs_in
from kizuna.models import (
    EventEvidence,
    EvidenceNode,
    IdentityConflict,
    IdentityEvidence,
    IdentityNode,
    IdentityRefusal,
    Profile,
    ProfileChange,
    Retraction,
)
from kizuna.privacy.subject import ExportFiles, Person, PersonalData, removed


def _sorted(items: Iterable[Any]) -> list[Any]:
    return sorted(set(items))


def gather(session: Session, person: Person) -> None:
    profiles = _sorted(person.profile_ids)
    for part in chunks(profiles):
        for node_id, id_type, value in session.execute(
            select(IdentityNode.id, IdentityNode.type, IdentityNode.value).where(
                IdentityNode.profile_id.in_(part)
            )
        ):
            person.node_ids.add(node_id)
            person.identifiers.add(Identifier(id_type, value))
    person.identifiers.add(person.asked)
    for part in chunks(profiles):
        person.evidence_ids.update(
            session.execute(
                select(IdentityEvidence.id).where(IdentityEvidence.profile_id.in_(part))
            ).scalars()
        )
    for part in chunks(_sorted(person.node_ids)):
        person.evidence_ids.update(
            session.execute(
                select(EvidenceNode.evidence_id).where(EvidenceNode.node_id.in_(part))
            ).scalars()
        )
    for part in chunks(_sorted(person.evidence_ids)):  # identifiers that never joined a profile
        for node_id, id_type, value in session.execute(
            select(IdentityNode.id, IdentityNode.type, IdentityNode.value)
            .join(EvidenceNode, EvidenceNode.node_id == IdentityNode.id)
            .where(EvidenceNode.evidence_id.in_(part), IdentityNode.profile_id.is_(None))
        ):
            person.node_ids.add(node_id)
            person.identifiers.add(Identifier(id_type, value))


def _evidence(session: Session, person: Person) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for part in chunks(_sorted(person.evidence_ids)):
        for e in session.execute(
            select(IdentityEvidence).where(IdentityEvidence.id.in_(part))
        ).scalars():
            rows.append(
                {
                    "id": e.id,
                    "kind": e.kind,
                    "source_id": e.source_id,
                    "trust": e.trust,
                    "identifiers": [str(i) for i in unpairs(e.identifiers)],
                    "first_seen_at": e.at,
                    "last_seen_at": e.last_seen_at,
                    "events": e.events,
                    "profile_id": e.profile_id,
                    "note": e.note,
                }
            )
    return sorted(rows, key=lambda r: r["id"])


def _conflicts_query(part: Any, profiles: list[str]) -> Any:
    return or_(IdentityConflict.evidence_id.in_(part), IdentityConflict.profile_id.in_(profiles))


def _changes_where(profiles: list[str]) -> Any:
    return or_(ProfileChange.profile_id.in_(profiles), ProfileChange.other_profile_id.in_(profiles))


def _refusal_keys(person: Person) -> list[tuple[str, str]]:
    return _sorted(person.refused | {(i.type, i.value[:200]) for i in person.identifiers})


def export(session: Session, person: Person) -> ExportFiles:
    profiles = _sorted(person.profile_ids)
    conflicts: dict[int, dict[str, Any]] = {}
    for part in chunks(_sorted(person.evidence_ids) or [-1]):
        for c in session.execute(
            select(IdentityConflict).where(_conflicts_query(part, profiles))
        ).scalars():
            conflicts[c.id] = {
                "evidence_id": c.evidence_id,
                "reason": c.reason,
                "identifiers": [f"{t}:{v}" for t, v in orjson.loads(c.identifiers)],
                "profile_id": c.profile_id,
                "detected_at": c.detected_at,
            }
    changes = session.execute(
        select(ProfileChange).where(_changes_where(profiles)).order_by(ProfileChange.at)
    ).scalars()
    refusals = []
    for part in chunks(_refusal_keys(person)):
        refusals += [
            {"type": r.type, "value": r.value, "reason": r.reason, "count": r.count}
            for r in session.execute(
                select(IdentityRefusal).where(
                    pairs_in(IdentityRefusal.type, IdentityRefusal.value, part)
                )
            ).scalars()
        ]
    return {
        "identity_evidence.json": _evidence(session, person),
        "identity_conflicts.json": [conflicts[k] for k in sorted(conflicts)],
        "profile_changes.json": [
            {
                "profile_id": c.profile_id,
                "kind": c.kind,
                "other_profile_id": c.other_profile_id,
                "at": c.at,
                "cause": c.cause,
            }
            for c in changes
        ],
        "identity_refusals.json": sorted(refusals, key=lambda r: (r["type"], r["value"])),
    }


def _retractions_about(session: Session, person: Person) -> list[int]:
    evidence = {str(e) for e in person.evidence_ids}
    events = {str(s) for s in person.events}
    found = []
    for row_id, kind, target in session.execute(
        select(Retraction.id, Retraction.kind, Retraction.target).where(
            Retraction.kind.in_(("evidence", "event", "link"))
        )
    ):
        if (
            (kind == "evidence" and target in evidence)
            or (kind == "event" and target in events)
            or (kind == "link" and set(unpairs(target)) & person.identifiers)
        ):
            found.append(row_id)
    return found


def erase(session: Session, person: Person) -> int:
    """Delete the person's graph (see the module doc); returns the rows removed."""
    count = 0
    profiles = _sorted(person.profile_ids)
    evidence = _sorted(person.evidence_ids)
    nodes = _sorted(person.node_ids)

    def run(statement: Any) -> None:
        nonlocal count
        count += removed(session, statement)

    for part in chunks(evidence):
        run(delete(EventEvidence).where(EventEvidence.evidence_id.in_(part)))
        run(delete(EvidenceNode).where(EvidenceNode.evidence_id.in_(part)))
        run(delete(IdentityConflict).where(IdentityConflict.evidence_id.in_(part)))
        run(delete(IdentityEvidence).where(IdentityEvidence.id.in_(part)))
    for part in chunks(_sorted(person.events)):
        run(delete(EventEvidence).where(EventEvidence.seq.in_(part)))
    for part in chunks(nodes):
        run(delete(EvidenceNode).where(EvidenceNode.node_id.in_(part)))
        run(delete(IdentityNode).where(IdentityNode.id.in_(part)))
    for part in chunks(_retractions_about(session, person)):
        run(delete(Retraction).where(Retraction.id.in_(part)))
    for part in chunks(_refusal_keys(person)):
        run(
            delete(IdentityRefusal).where(
                pairs_in(IdentityRefusal.type, IdentityRefusal.value, part)
            )
        )
    if profiles:
        run(delete(IdentityConflict).where(IdentityConflict.profile_id.in_(profiles)))
        run(delete(ProfileChange).where(_changes_where(profiles)))
        run(delete(Profile).where(Profile.id.in_(profiles)))
    return count


IDENTITY = PersonalData(
    name="identity",
    tables=(
        "identity_nodes",
        "identity_evidence",
        "identity_evidence_nodes",
        "identity_event_evidence",
        "identity_conflicts",
        "identity_retractions",
        "identity_refusals",
        "profiles",
        "profile_changes",
    ),
    export=export,
    erase=erase,
    gather=gather,
)
