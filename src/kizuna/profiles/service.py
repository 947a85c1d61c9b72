"""The 360 view of a person: identifiers, traits with provenance, timeline, channels, history.

Everything here is read from the identity graph and the event log; nothing is copied, so a
merge or a split shows at once. Traits are computed at read time from the profile's events
(identify traits and ``context.traits``), with each rule's survivorship.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from kizuna.errors import KizunaError
from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier
from kizuna.identity.rules import Link, resolve
from kizuna.identity.service import checked
from kizuna.identity.store import Closure, evidence_of, retracted
from kizuna.models import (
    Event,
    EventEvidence,
    EvidenceNode,
    IdentityConflict,
    IdentityEvidence,
    IdentityNode,
    Profile,
    ProfileChange,
)
from kizuna.privacy.sealing import open_payload
from kizuna.profiles.traits import Observation, survive

MAX_REDIRECTS = 50


class ProfileNotFound(KizunaError):
    status = 404
    code = "profile.not_found"


@dataclass(frozen=True)
class MergedAway(Exception):
    """The id asked for was merged into ``survivor``: the API answers with a redirect."""

    survivor: str


def live_profile(session: Session, profile_id: str) -> Profile:
    """The profile, or ``MergedAway`` naming the survivor, or ``ProfileNotFound``."""
    profile = session.get(Profile, profile_id)
    if profile is None:
        raise ProfileNotFound(f"no profile {profile_id}")
    if profile.merged_into is None:
        return profile
    current = profile
    for _ in range(MAX_REDIRECTS):
        if current.merged_into is None:
            raise MergedAway(current.id)
        following = session.get(Profile, current.merged_into)
        if following is None:
            break
        current = following
    raise ProfileNotFound(f"profile {profile_id} was merged into one that no longer exists")


def lookup(session: Session, rules: IdentityRules, id_type: str, value: str) -> Profile:
    identifier = checked(id_type, value, rules)
    profile_id = session.scalar(
        select(IdentityNode.profile_id).where(
            IdentityNode.type == identifier.type, IdentityNode.value == identifier.value
        )
    )
    if profile_id is None:
        raise ProfileNotFound(f"no profile has {identifier}")
    try:
        return live_profile(session, profile_id)
    except MergedAway as moved:
        return live_profile(session, moved.survivor)


def _events_of(profile_id: str) -> Select[Any]:
    return (
        select(Event)
        .join(EventEvidence, EventEvidence.seq == Event.seq)
        .join(IdentityEvidence, IdentityEvidence.id == EventEvidence.evidence_id)
        .where(IdentityEvidence.profile_id == profile_id)
    )


def identifiers(session: Session, profile_id: str) -> list[dict[str, Any]]:
    nodes = session.execute(
        select(IdentityNode).where(IdentityNode.profile_id == profile_id)
    ).scalars()
    result = []
    for node in nodes:
        sources = session.execute(
            select(IdentityEvidence.source_id, func.min(IdentityEvidence.at))
            .join(EvidenceNode, EvidenceNode.evidence_id == IdentityEvidence.id)
            .where(EvidenceNode.node_id == node.id)
            .group_by(IdentityEvidence.source_id)
            .order_by(func.min(IdentityEvidence.at))
        ).all()
        result.append(
            {
                "type": node.type,
                "value": node.value,
                "first_seen_at": node.first_seen_at,
                "last_seen_at": node.last_seen_at,
                "events": node.events,
                "sources": [{"source_id": s, "first_seen_at": at} for s, at in sources],
            }
        )
    return sorted(result, key=lambda i: (i["first_seen_at"], i["type"], i["value"]))


def channels(session: Session, profile_id: str) -> list[dict[str, Any]]:
    events = _events_of(profile_id).subquery()
    rows = session.execute(
        select(
            events.c.channel,
            func.count(),
            func.min(events.c.timestamp),
            func.max(events.c.timestamp),
        )
        .group_by(events.c.channel)
        .order_by(func.count().desc())
    ).all()
    return [
        {"channel": c, "events": n, "first_seen_at": first, "last_seen_at": last}
        for c, n, first, last in rows
    ]


def traits(
    session: Session, rules: IdentityRules, profile_id: str, *, sealed: bool = False
) -> dict[str, dict[str, Any]]:
    """The profile's traits by survivorship. ``sealed``: personal values stay as stored (sealed
    when encryption at rest is on), for projections that must not hold them in clear."""
    return traits_of(session, rules, [profile_id], sealed=sealed).get(profile_id, {})


def traits_of(
    session: Session, rules: IdentityRules, profile_ids: Sequence[str], *, sealed: bool = False
) -> dict[str, dict[str, dict[str, Any]]]:
    """``traits`` of several profiles in one read (profiles without traits are left out)."""
    query = (
        select(
            IdentityEvidence.profile_id, Event.payload, Event.source_id, Event.channel,
            Event.seq, Event.timestamp,
        )
        .join(EventEvidence, EventEvidence.seq == Event.seq)
        .join(IdentityEvidence, IdentityEvidence.id == EventEvidence.evidence_id)
        .where(
            IdentityEvidence.profile_id.in_(list(profile_ids)),
            or_(Event.type == "identify", Event.payload.contains('"traits"')),
        )
        .order_by(Event.timestamp, Event.seq)
    )  # fmt: skip
    observations: dict[str, list[Observation]] = {}
    for profile_id, payload, source_id, channel, seq, at in session.execute(query).all():
        message = orjson.loads(payload) if sealed else open_payload(payload)
        seen = observations.setdefault(str(profile_id), [])
        for holder in (message.get("traits"), (message.get("context") or {}).get("traits")):
            if isinstance(holder, dict):
                seen += [
                    Observation(key, value, source_id, channel, seq, at)
                    for key, value in holder.items()
                ]
    return {p: survive(found, rules) for p, found in observations.items()}


def timeline(
    session: Session,
    profile_id: str,
    *,
    channel: str | None = None,
    event: str | None = None,
    before: int | None = None,
    limit: int = 50,
) -> list[dict[str, Any]]:
    query = _events_of(profile_id)
    if channel:
        query = query.where(Event.channel == channel)
    if event:
        query = query.where(or_(Event.name == event, Event.type == event))
    if before is not None:
        query = query.where(Event.seq < before)
    items: list[dict[str, Any]] = [
        {
            "kind": "event",
            "seq": e.seq,
            "type": e.type,
            "name": e.name,
            "channel": e.channel,
            "source_id": e.source_id,
            "timestamp": e.timestamp,
            "message": open_payload(e.payload),
        }
        for e in session.execute(query.order_by(Event.seq.desc()).limit(limit)).scalars()
    ]
    if not channel and (event in (None, "profile.merged", "profile.split")) and before is None:
        changes = session.execute(
            select(ProfileChange)
            .where(ProfileChange.profile_id == profile_id)
            .order_by(ProfileChange.at.desc())
            .limit(limit)
        ).scalars()
        items += [
            {
                "kind": f"profile.{c.kind}",
                "other_profile_id": c.other_profile_id,
                "timestamp": c.at,
                "cause": c.cause,
            }
            for c in changes
            if event is None or event == f"profile.{c.kind}"
        ]
        items.sort(key=lambda i: i["timestamp"], reverse=True)
    return items[:limit]


def conflicts(session: Session, profile_id: str) -> list[dict[str, Any]]:
    rows = session.execute(
        select(IdentityConflict).where(IdentityConflict.profile_id == profile_id)
    ).scalars()
    return [
        {
            "evidence_id": c.evidence_id,
            "reason": c.reason,
            "identifiers": [f"{t}:{v}" for t, v in orjson.loads(c.identifiers)],
            "detected_at": c.detected_at,
        }
        for c in rows
    ]


def explain(
    session: Session, rules: IdentityRules, profile_id: str, a: Identifier, b: Identifier
) -> list[dict[str, Any]]:
    """The chain of evidence that joins ``a`` and ``b`` in this profile."""
    conn = session.connection()
    rows = {
        r.id: r
        for r in conn.execute(
            select(IdentityEvidence).where(IdentityEvidence.profile_id == profile_id)
        )
    }
    found = Closure(evidence=rows, nodes={}, truncated=False)
    active = evidence_of(conn, found, retracted(conn), rules)
    chain = resolve(active.values(), rules).explain(a, b)
    if chain is None:
        raise KizunaError(
            f"{a} and {b} are not both in profile {profile_id}",
            code="identity.not_joined",
            status=404,
        )
    by_key = {e.key: ev_id for ev_id, e in active.items()}
    return [_step(link, rows[by_key[link.evidence_key]]) for link in chain]


def _step(link: Link, row: Any) -> dict[str, Any]:
    return {
        "from": str(link.a),
        "to": str(link.b),
        "evidence": {
            "id": row.id,
            "kind": row.kind,
            "source_id": row.source_id,
            "trust": row.trust,
            "first_seen_at": row.at,
            "first_seq": row.first_seq,
            "events": row.events,
            "note": row.note,
        },
    }


def summary(profile: Profile) -> dict[str, Any]:
    return {
        "id": profile.id,
        "created_at": profile.created_at,
        "updated_at": profile.updated_at,
        "identifier_count": profile.identifiers,
        "rules_version": profile.rules_version,
    }


def first_seen(items: list[dict[str, Any]]) -> datetime | None:
    return min((c["first_seen_at"] for c in items), default=None)
