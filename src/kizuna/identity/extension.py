"""The fast path of resolution: new evidence that only extends one profile, or starts one.

Most new evidence is a known person's next event: an identifier seen again with the ones the
profile holds, or a new one beside them. The full resolution (``resolution``) walks the graph
around every piece of evidence to find its closure; here the closure is known in advance.

The batch's evidence is taken in *groups*: the pieces that share a node or a node's profile.
A group that names nodes of one profile (and otherwise nodes this batch created) has, as its
closure, that profile's nodes, the evidence naming them and the group, provided none of that
evidence names a node outside them (a refused piece of evidence would). Two reads load it; it
is resolved in memory with the same rules (``rules.resolve``) and written here when the
result is that profile grown by the new nodes, with nothing refused. A group that names no
stored node at all is its own closure and becomes a new profile the same way.

Anything else (two profiles meeting, a refusal, a node with no profile, a merged-away or
stale profile) goes to the full resolution. ``tests/identity/test_stream_equals_resolution``
checks that the profiles always equal a from-scratch resolution of all the evidence.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier
from kizuna.identity.resolution import Outcome
from kizuna.identity.rules import Evidence, canonical_order, extends, resolve
from kizuna.identity.store import (
    EVIDENCE_OWNERS,
    NODE_OWNERS,
    PROFILE_SIZES,
    Closure,
    Retracted,
    chunks,
    create_profiles,
    evidence_of,
    retracted,
    unpairs,
)
from kizuna.kit.clock import utcnow
from kizuna.kit.ids import new_id
from kizuna.kit.sql import among, utc_param
from kizuna.metrics import IDENTITY_CHANGES, IDENTITY_RESOLVED
from kizuna.models import EvidenceNode, IdentityEvidence, IdentityNode, Profile

Group = list[int]  # evidence ids
# What ``store.evidence_of`` reads of an evidence row, and its profile.
_ROW = (
    IdentityEvidence.id,
    IdentityEvidence.key,
    IdentityEvidence.kind,
    IdentityEvidence.source_id,
    IdentityEvidence.trust,
    IdentityEvidence.identifiers,
    IdentityEvidence.at,
    IdentityEvidence.first_seq,
    IdentityEvidence.profile_id,
)


def extend_profiles(
    conn: Connection,
    rules: IdentityRules,
    dirty: Mapping[int, Evidence],
    created: set[int],
    nodes: Mapping[Identifier, int],
    owners: Mapping[int, str | None],
) -> tuple[Outcome, list[int]]:
    """Resolve what of ``dirty`` the fast path can; return what it did and the evidence ids
    left for the full resolution. ``created``: the ids of ``dirty`` new in this batch;
    ``owners``: the profile of every node that existed before it (``store.ensure_nodes``)."""
    rest: list[int] = []
    grown: list[tuple[str | None, Group]] = []
    for group in _entangled(dirty, nodes, owners):
        touched = {owners[n] for e in group for n in _nodes_of(dirty[e], nodes) if n in owners}
        if len(touched) > 1 or None in touched:
            rest += group
        else:
            grown.append((next(iter(touched), None), group))
    usable = _usable(conn, rules, [p for p, _ in grown if p is not None])
    rest += [e for p, group in grown if p is not None and p not in usable for e in group]
    grown = [(p, group) for p, group in grown if p is None or p in usable]
    members = _members(conn, list(usable))
    latest = _latest(conn, list(usable), dirty)
    gone = retracted(conn)
    # First the groups that come after all their profile holds: they apply to it as stored.
    exact: list[tuple[str | None, Group]] = []
    results: list[tuple[str | None, Group, frozenset[Identifier]]] = []
    for profile_id, group in grown:
        ordered = sorted((dirty[e] for e in group), key=canonical_order)
        held = members.get(profile_id, []) if profile_id is not None else []
        last = latest.get(profile_id) if profile_id is not None else None
        if (
            not gone.events
            and all(e in created and not _bears_on(gone, dirty[e]) for e in group)
            and (last is None or last < ordered[0].at)
            and extends(ordered, held, rules)
        ):
            results.append((profile_id, group, _grown(held, group, dirty)))
            IDENTITY_RESOLVED.labels("extended").inc(len(group))
        else:
            exact.append((profile_id, group))
    # The others are resolved with their whole closure, loaded in two reads.
    profiles = [p for p, _ in exact if p is not None]
    rows, named = _evidence(conn, profiles, [e for _, group in exact for e in group])
    for profile_id, group in exact:
        held = members.get(profile_id, []) if profile_id is not None else []
        expected = _grown(held, group, dirty)
        ids = set(group) | named.get(profile_id, set())
        closure = {ev_id: rows[ev_id] for ev_id in ids}
        if not all(set(unpairs(row.identifiers)) <= expected for row in closure.values()):
            rest += group  # the profile touches another through a refusal: walk the graph
            continue
        active = evidence_of(conn, Closure(closure, {}, False), gone, rules)
        partition = resolve(active.values(), rules)
        if partition.conflicts or partition.as_sets() != {expected}:
            rest += group
            continue
        moved = sorted(e for e in ids if rows[e].profile_id != profile_id or profile_id is None)
        results.append((profile_id, moved, expected))
        IDENTITY_RESOLVED.labels("closure").inc(len(group))
    IDENTITY_RESOLVED.labels("graph").inc(len(rest))
    outcome = _write(conn, rules, results, dirty, nodes, owners)
    return outcome, sorted(rest)


def _grown(
    held: Sequence[Identifier], group: Group, dirty: Mapping[int, Evidence]
) -> frozenset[Identifier]:
    return frozenset([*held, *(i for e in group for i in dirty[e].identifiers)])


def _write(
    conn: Connection,
    rules: IdentityRules,
    results: Sequence[tuple[str | None, Group, frozenset[Identifier]]],
    dirty: Mapping[int, Evidence],
    nodes: Mapping[Identifier, int],
    owners: Mapping[int, str | None],
) -> Outcome:
    """Each profile grown to its members (a new one where there is none); the new nodes and
    the evidence follow it. No conflict is left to clear: a refusal always leaves some of its
    identifiers outside the anchor's profile, so a closure within one profile holds none."""
    outcome = Outcome()
    now = utcnow()
    stamp = utc_param(conn.dialect.name)
    new_profiles: list[tuple[str, int, int]] = []
    sizes: list[tuple[str, int, Any]] = []
    node_moves: list[tuple[int, str]] = []
    evidence_moves: list[tuple[int, str]] = []
    for profile_id, evidence_ids, members in results:
        added = sorted(nodes[i] for i in members if i in nodes and nodes[i] not in owners)
        if profile_id is None:
            profile_id = new_id("prof")
            anchor = nodes[min(members, key=rules.sort_key)]
            new_profiles.append((profile_id, anchor, len(members)))
            outcome.created.append(profile_id)
        elif added:
            sizes.append((profile_id, len(members), stamp(now)))
        node_moves += [(node, profile_id) for node in added]
        evidence_moves += [(e, profile_id) for e in evidence_ids]
    create_profiles(conn, new_profiles, now, rules.version)
    PROFILE_SIZES.run(conn, sizes)
    NODE_OWNERS.run(conn, node_moves)
    EVIDENCE_OWNERS.run(conn, evidence_moves)
    IDENTITY_CHANGES.labels("created").inc(len(outcome.created))
    return outcome


def _nodes_of(evidence: Evidence, nodes: Mapping[Identifier, int]) -> list[int]:
    return [nodes[i] for i in evidence.identifiers]


def _entangled(
    dirty: Mapping[int, Evidence],
    nodes: Mapping[Identifier, int],
    owners: Mapping[int, str | None],
) -> list[Group]:
    """The evidence in groups that share a node, or a node's profile (union-find)."""
    parent: dict[object, object] = {}

    def find(key: object) -> object:
        parent.setdefault(key, key)
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    for ev_id, evidence in dirty.items():
        mine = find(("evidence", ev_id))
        for node in _nodes_of(evidence, nodes):
            owner = owners.get(node)
            parent[find(("profile", owner) if owner is not None else ("node", node))] = mine
    groups: dict[object, Group] = {}
    for ev_id in dirty:
        groups.setdefault(find(("evidence", ev_id)), []).append(ev_id)
    return list(groups.values())


def _usable(conn: Connection, rules: IdentityRules, profile_ids: Sequence[str]) -> set[str]:
    """The profiles that stand (not merged away) and were resolved under these rules."""
    found: set[str] = set()
    for part in chunks(sorted(profile_ids)):
        for profile_id, merged_into, version in conn.execute(
            select(Profile.id, Profile.merged_into, Profile.rules_version).where(
                among(conn.dialect.name, Profile.id, part)
            )
        ):
            if merged_into is None and version == rules.version:
                found.add(profile_id)
    return found


def _latest(
    conn: Connection, profile_ids: Sequence[str], dirty: Mapping[int, Evidence]
) -> dict[str, datetime]:
    """The latest time of the evidence naming each profile's nodes, leaving out ``dirty``."""
    dialect = conn.dialect.name
    found: dict[str, datetime] = {}
    for part in chunks(sorted(profile_ids)):
        for profile_id, at in conn.execute(
            select(IdentityNode.profile_id, func.max(IdentityEvidence.at))
            .join(EvidenceNode, EvidenceNode.node_id == IdentityNode.id)
            .join(IdentityEvidence, IdentityEvidence.id == EvidenceNode.evidence_id)
            .where(among(dialect, IdentityNode.profile_id, part))
            .where(~among(dialect, IdentityEvidence.id, sorted(dirty)))
            .group_by(IdentityNode.profile_id)
        ):
            if profile_id is not None:
                found[profile_id] = at
    return found


def _bears_on(gone: Retracted, evidence: Evidence) -> bool:
    """A retraction that changes how this evidence counts (its source, or a link in it)."""
    if evidence.source_id in gone.sources:
        return True
    named = set(evidence.identifiers)
    return any(link <= named for link in gone.links)


def _members(conn: Connection, profile_ids: Sequence[str]) -> dict[str | None, list[Identifier]]:
    found: dict[str | None, list[Identifier]] = {}
    for part in chunks(sorted(profile_ids)):
        for profile_id, id_type, value in conn.execute(
            select(IdentityNode.profile_id, IdentityNode.type, IdentityNode.value).where(
                among(conn.dialect.name, IdentityNode.profile_id, part)
            )
        ):
            found.setdefault(profile_id, []).append(Identifier(id_type, value))
    return found


def _evidence(
    conn: Connection, profile_ids: Sequence[str], evidence_ids: Iterable[int]
) -> tuple[dict[int, Any], dict[str | None, set[int]]]:
    """The evidence rows naming each profile's nodes, and the rows of ``evidence_ids``."""
    dialect = conn.dialect.name
    rows: dict[int, Any] = {}
    named: dict[str | None, set[int]] = {}
    row: Any
    for part in chunks(sorted(profile_ids)):
        for row in conn.execute(
            select(IdentityNode.profile_id.label("node_profile"), *_ROW)
            .join(EvidenceNode, EvidenceNode.node_id == IdentityNode.id)
            .join(IdentityEvidence, IdentityEvidence.id == EvidenceNode.evidence_id)
            .where(among(dialect, IdentityNode.profile_id, part))
        ):
            rows[row.id] = row
            named.setdefault(row.node_profile, set()).add(row.id)
    for part in chunks(sorted(set(evidence_ids) - set(rows))):
        for row in conn.execute(select(*_ROW).where(among(dialect, IdentityEvidence.id, part))):
            rows[row.id] = row
    return rows, named
