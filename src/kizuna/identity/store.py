"""Every query of the identity graph (nodes, evidence, retractions, profiles)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, delete, insert, select

from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier
from kizuna.identity.rules import Evidence, Trust
from kizuna.kit.sql import BulkInsert, BulkUpdate, among, utc_param
from kizuna.kit.sql import chunks as _chunks
from kizuna.models import (
    Event,
    EventEvidence,
    EvidenceNode,
    IdentityConflict,
    IdentityEvidence,
    IdentityNode,
    Profile,
    Retraction,
)
from kizuna.privacy.keys import digest_secret, identifier_digester

CHUNK = 500  # keys per lookup: bounds each statement's result (``among`` binds one parameter)
# The consumer's per-event writes, through the driver (see kizuna.kit.sql.BulkInsert).
_NODE_SIGHTINGS = BulkUpdate(
    IdentityNode, "id", {"first_seen_at": "earliest", "last_seen_at": "latest", "events": "add"}
)
_EVIDENCE_SIGHTINGS = BulkUpdate(
    IdentityEvidence, "id", {"at": "new", "last_seen_at": "new", "events": "add"}
)
_NEW_NODES = BulkInsert(
    IdentityNode, ("type", "value", "digest", "first_seen_at", "last_seen_at", "events")
)
_NEW_EVIDENCE = BulkInsert(
    IdentityEvidence,
    ("key", "kind", "source_id", "trust", "identifiers", "at", "last_seen_at", "first_seq",
     "events", "note"),
)  # fmt: skip
_EVENT_EVIDENCE = BulkInsert(EventEvidence, ("seq", "evidence_id"))
_EVIDENCE_NODES = BulkInsert(EvidenceNode, ("evidence_id", "node_id"))
# Where a resolution moves nodes, evidence and profile sizes to.
NODE_OWNERS = BulkUpdate(IdentityNode, "id", {"profile_id": "new"})
EVIDENCE_OWNERS = BulkUpdate(IdentityEvidence, "id", {"profile_id": "new"})
PROFILE_SIZES = BulkUpdate(Profile, "id", {"identifiers": "new", "updated_at": "new"})
MAX_CLOSURE_NODES = 20_000


def chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return _chunks(items, CHUNK)


def pairs(identifiers: Iterable[Identifier]) -> bytes:
    return orjson.dumps([[i.type, i.value] for i in identifiers])


def unpairs(text: str) -> tuple[Identifier, ...]:
    return tuple(Identifier(t, v) for t, v in orjson.loads(text))


# --- nodes -----------------------------------------------------------------------------------


def node_ids(conn: Connection, identifiers: Iterable[Identifier]) -> dict[Identifier, int]:
    return {i: node for i, (node, _) in _nodes(conn, identifiers).items()}


def _nodes(
    conn: Connection, identifiers: Iterable[Identifier]
) -> dict[Identifier, tuple[int, str | None]]:
    """Each stored identifier's node id and profile."""
    found: dict[Identifier, tuple[int, str | None]] = {}
    by_type: dict[str, list[str]] = {}
    for i in sorted(set(identifiers)):
        by_type.setdefault(i.type, []).append(i.value)
    for id_type, values in by_type.items():
        for part in chunks(values):
            for node_id, value, profile_id in conn.execute(
                select(IdentityNode.id, IdentityNode.value, IdentityNode.profile_id).where(
                    IdentityNode.type == id_type, among(conn.dialect.name, IdentityNode.value, part)
                )
            ):
                found[Identifier(id_type, value)] = (node_id, profile_id)
    return found


def ensure_nodes(
    conn: Connection, seen: dict[Identifier, tuple[datetime, datetime, int]]
) -> tuple[dict[Identifier, int], dict[int, str | None]]:
    """Node ids for every identifier (created if new), with first/last seen and counts kept;
    and the profile of each node that existed before (a created node is not in it).

    A new node carries the keyed digest of its identifier (``privacy.keys``), the form the
    suppression list holds: who is suppressed is then a join, not a digest per identifier."""
    stored = _nodes(conn, seen)
    owners = dict(stored.values())
    existing = {i: node for i, (node, _) in stored.items()}
    missing = [i for i in seen if i not in existing]
    at = utc_param(conn.dialect.name)
    if missing:
        digest = identifier_digester(digest_secret(conn))
        created = _NEW_NODES.run(
            conn,
            [
                (i.type, i.value, digest(i.type, i.value), at(first), at(last), n)
                for i in missing
                for first, last, n in [seen[i]]
            ],
            returning=("id", "type", "value"),
        )
        existing.update({Identifier(t, v): node_id for node_id, t, v in created})
    absent = set(missing)
    _NODE_SIGHTINGS.run(
        conn,
        [
            (existing[i], at(seen[i][0]), at(seen[i][1]), seen[i][2])
            for i in seen
            if i not in absent
        ],
    )
    return existing, owners


# --- evidence --------------------------------------------------------------------------------


@dataclass(slots=True)
class Observed:
    """One piece of evidence as a batch of events saw it."""

    evidence: Evidence
    kind: str
    first_seq: int | None
    last_at: datetime
    events: int
    note: str | None = None


def record_evidence(
    conn: Connection, observed: Sequence[Observed], nodes: dict[Identifier, int]
) -> tuple[dict[str, int], set[int], set[int]]:
    """Evidence ids by key; the ids whose place in the canonical order is new or earlier; and,
    among them, the ids created now."""
    keys = [o.evidence.key for o in observed]
    known: dict[str, tuple[int, datetime]] = {}
    for part in chunks(keys):
        for ev_id, key, at in conn.execute(
            select(IdentityEvidence.id, IdentityEvidence.key, IdentityEvidence.at).where(
                among(conn.dialect.name, IdentityEvidence.key, part)
            )
        ):
            known[key] = (ev_id, at)
    fresh = [o for o in observed if o.evidence.key not in known]
    stamp = utc_param(conn.dialect.name)
    if fresh:
        created = _NEW_EVIDENCE.run(
            conn,
            [
                (o.evidence.key, o.kind, o.evidence.source_id, o.evidence.trust,
                 pairs(o.evidence.identifiers).decode(), stamp(o.evidence.at), stamp(o.last_at),
                 o.first_seq, o.events, o.note)
                for o in fresh
            ],
            returning=("id", "key"),
        )  # fmt: skip
        first = {o.evidence.key: o.evidence.at for o in fresh}
        for ev_id, key in created:
            known[key] = (ev_id, first[key])
        _EVIDENCE_NODES.run(
            conn,
            [(known[o.evidence.key][0], nodes[i]) for o in fresh for i in o.evidence.identifiers],
        )
    new_ids = {known[o.evidence.key][0] for o in fresh}
    dirty = set(new_ids)
    fresh_keys = {o.evidence.key for o in fresh}
    again = [o for o in observed if o.evidence.key not in fresh_keys]
    for o in again:
        if o.evidence.at < known[o.evidence.key][1]:
            dirty.add(known[o.evidence.key][0])
    _EVIDENCE_SIGHTINGS.run(
        conn,
        [
            (known[o.evidence.key][0], stamp(min(o.evidence.at, known[o.evidence.key][1])),
             stamp(o.last_at), o.events)
            for o in again
        ],
    )  # fmt: skip
    return {k: v[0] for k, v in known.items()}, dirty, new_ids


def link_events(conn: Connection, rows: list[tuple[int, int]]) -> None:
    """(event seq, evidence id) for each event with identifiers."""
    _EVENT_EVIDENCE.run(conn, rows)


# --- the raw graph around some evidence ------------------------------------------------------


@dataclass
class Closure:
    evidence: dict[int, Any]  # id -> identity_evidence row
    nodes: dict[int, tuple[Identifier, str | None]]  # node id -> (identifier, profile id)
    truncated: bool


def closure(conn: Connection, evidence_ids: Iterable[int], node_ids_: Iterable[int]) -> Closure:
    """Everything joined to the given evidence and nodes through any active or refused edge."""
    todo_nodes = set(node_ids_)
    todo_evidence = set(evidence_ids)
    nodes: set[int] = set()
    evidence: set[int] = set()
    truncated = False
    while todo_nodes or todo_evidence:
        if todo_evidence:
            evidence |= todo_evidence
            for part in chunks(sorted(todo_evidence)):
                for (node,) in conn.execute(
                    select(EvidenceNode.node_id).where(
                        among(conn.dialect.name, EvidenceNode.evidence_id, part)
                    )
                ):
                    if node not in nodes:
                        todo_nodes.add(node)
            todo_evidence = set()
        if todo_nodes:
            nodes |= todo_nodes
            if len(nodes) > MAX_CLOSURE_NODES:
                truncated = True
                break
            for part in chunks(sorted(todo_nodes)):
                for (ev,) in conn.execute(
                    select(EvidenceNode.evidence_id).where(
                        among(conn.dialect.name, EvidenceNode.node_id, part)
                    )
                ):
                    if ev not in evidence:
                        todo_evidence.add(ev)
            todo_nodes = set()
    rows: dict[int, Any] = {}
    for part in chunks(sorted(evidence)):
        for row in conn.execute(
            select(IdentityEvidence).where(among(conn.dialect.name, IdentityEvidence.id, part))
        ):
            rows[row.id] = row
    found: dict[int, tuple[Identifier, str | None]] = {}
    for part in chunks(sorted(nodes)):
        for node_id, id_type, value, profile_id in conn.execute(
            select(
                IdentityNode.id, IdentityNode.type, IdentityNode.value, IdentityNode.profile_id
            ).where(among(conn.dialect.name, IdentityNode.id, part))
        ):
            found[node_id] = (Identifier(id_type, value), profile_id)
    return Closure(rows, found, truncated)


# --- retractions -----------------------------------------------------------------------------


@dataclass
class Retracted:
    evidence: set[int]
    events: set[int]
    sources: set[str]
    links: set[frozenset[Identifier]]


def retracted(conn: Connection) -> Retracted:
    result = Retracted(set(), set(), set(), set())
    for kind, target in conn.execute(select(Retraction.kind, Retraction.target)):
        if kind == "evidence":
            result.evidence.add(int(target))
        elif kind == "event":
            result.events.add(int(target))
        elif kind == "source":
            result.sources.add(target)
        elif kind == "link":
            a, b = unpairs(target)
            result.links.add(frozenset((a, b)))
    return result


def supported_since(
    conn: Connection, evidence_ids: Sequence[int], retracted_events: set[int]
) -> dict[int, datetime | None]:
    """For evidence some of whose events were retracted: the earliest event still standing."""
    result: dict[int, datetime | None] = {}
    for ev_id in evidence_ids:
        times = [
            at
            for seq, at in conn.execute(
                select(EventEvidence.seq, Event.timestamp)
                .join(Event, Event.seq == EventEvidence.seq)
                .where(EventEvidence.evidence_id == ev_id)
            )
            if seq not in retracted_events
        ]
        result[ev_id] = min(times) if times else None
    return result


def evidence_of(
    conn: Connection, closure_: Closure, gone: Retracted, rules: IdentityRules
) -> dict[int, Evidence]:
    """The closure's evidence as the resolver takes it: retractions applied."""
    touched = [
        ev_id
        for ev_id, row in closure_.evidence.items()
        if row.first_seq is not None and gone.events
    ]
    standing = supported_since(conn, touched, gone.events) if touched else {}
    result: dict[int, Evidence] = {}
    for ev_id, row in closure_.evidence.items():
        if ev_id in gone.evidence or row.source_id in gone.sources:
            continue
        at = row.at
        if ev_id in standing:
            since = standing[ev_id]
            if since is None and row.kind == "event":
                continue
            at = since or at
        identifiers = list(unpairs(row.identifiers))
        for link in gone.links:
            if link <= set(identifiers):
                weaker = max(link, key=rules.sort_key)
                identifiers.remove(weaker)
        if not identifiers:
            continue
        trust: Trust = row.trust
        result[ev_id] = Evidence(row.key, tuple(identifiers), trust, at, row.source_id)
    return result


# --- profiles --------------------------------------------------------------------------------


_NEW_PROFILES = BulkInsert(
    Profile,
    ("id", "anchor_node_id", "created_at", "updated_at", "merged_into", "merges", "identifiers",
     "rules_version"),
)  # fmt: skip


def create_profiles(
    conn: Connection, rows: Sequence[tuple[str, int, int]], now: datetime, rules_version: int
) -> None:
    """New profiles, each (id, anchor node, identifiers held)."""
    at = utc_param(conn.dialect.name)(now)
    _NEW_PROFILES.run(
        conn, [(pid, anchor, at, at, None, 0, count, rules_version) for pid, anchor, count in rows]
    )


def profiles_anchored_at(conn: Connection, node_ids_: Iterable[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for part in chunks(sorted(set(node_ids_))):
        for row in conn.execute(
            select(Profile).where(among(conn.dialect.name, Profile.anchor_node_id, part))
        ):
            found[row.anchor_node_id] = row
    return found


def replace_conflicts(
    conn: Connection, evidence_ids: Sequence[int], rows: list[dict[str, object]]
) -> None:
    for part in chunks(evidence_ids):
        conn.execute(
            delete(IdentityConflict).where(
                among(conn.dialect.name, IdentityConflict.evidence_id, part)
            )
        )
    if rows:
        conn.execute(insert(IdentityConflict), rows)
