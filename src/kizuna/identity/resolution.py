"""Resolving the graph in the database: events in, profiles, merges and splits out.

For a batch of events: record their identifiers and evidence, then, if any evidence is new (or
now has an earlier first sighting), load the *raw closure* of that evidence (every node and
piece of evidence reachable through any edge, applied or refused), resolve it with the pure
rules and write back what changed. Resolving a closure gives the same result as resolving the
whole graph, because evidence in different closures never meets; and because the rules apply
evidence in canonical order, the result does not depend on arrival order.

Profile ids are stable: a profile is *anchored* at the node that created it. After resolving,
each component takes the oldest profile anchored inside it; every other profile anchored
inside it is merged into that one (``merged_into``) and redirects; a profile whose anchor ends
up in a component of its own again is revived. So a split after a merge restores the ids.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, update

from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier
from kizuna.identity.rules import Partition, resolve
from kizuna.identity.store import (
    EVIDENCE_OWNERS,
    NODE_OWNERS,
    Closure,
    closure,
    create_profiles,
    evidence_of,
    pairs,
    profiles_anchored_at,
    replace_conflicts,
    retracted,
    unpairs,
)
from kizuna.kit.clock import utcnow
from kizuna.kit.ids import new_id
from kizuna.metrics import IDENTITY_CHANGES
from kizuna.models import Profile, ProfileChange


@dataclass
class Outcome:
    """What one resolution changed."""

    merged: list[tuple[str, str]] = field(default_factory=list)  # (survivor, merged away)
    split: list[tuple[str, str]] = field(default_factory=list)  # (kept, split off)
    created: list[str] = field(default_factory=list)
    conflicts: Counter[str] = field(default_factory=Counter)
    truncated: bool = False

    def add(self, other: Outcome) -> None:
        self.merged += other.merged
        self.split += other.split
        self.created += other.created
        self.conflicts += other.conflicts
        self.truncated = self.truncated or other.truncated


def resolve_around(
    conn: Connection,
    rules: IdentityRules,
    *,
    evidence_ids: Sequence[int] = (),
    node_ids: Sequence[int] = (),
    cause: str = "",
) -> Outcome:
    """Resolve the closure of some evidence and nodes again and write what changed."""
    found = closure(conn, evidence_ids, node_ids)
    active = evidence_of(conn, found, retracted(conn), rules)
    partition = resolve(active.values(), rules)
    outcome = _write(conn, rules, found, active, partition, cause)
    outcome.truncated = found.truncated
    return outcome


def _write(
    conn: Connection,
    rules: IdentityRules,
    found: Closure,
    active: dict[int, Any],
    partition: Partition,
    cause: str,
) -> Outcome:
    now = utcnow()
    outcome = Outcome()
    node_of: dict[Identifier, int] = {ident: node for node, (ident, _) in found.nodes.items()}
    anchored = profiles_anchored_at(conn, found.nodes)
    previous_owner = {node: profile for node, (_, profile) in found.nodes.items()}
    # Nodes named only by retracted evidence stand alone.
    components = list(partition.components)
    for ident in node_of:
        if ident not in partition.component_of:
            components.append(frozenset({ident}))
    winners: list[str] = []
    new_profiles: list[tuple[str, int, int]] = []
    changed_profiles: list[dict[str, Any]] = []
    for members in components:
        candidates = sorted(
            (anchored[node_of[i]] for i in members if node_of[i] in anchored),
            key=lambda p: (p.created_at, p.id),
        )
        if candidates:
            winner = candidates[0]
            winners.append(winner.id)
            if winner.merged_into is not None:  # its anchor stands apart again: revive it
                outcome.split.append((winner.merged_into, winner.id))
            if (winner.merged_into, winner.identifiers, winner.rules_version) != (
                None,
                len(members),
                rules.version,
            ):
                changed_profiles.append(_profile_state(winner.id, None, len(members), now, rules))
            for loser in candidates[1:]:
                if loser.merged_into != winner.id:
                    outcome.merged.append((winner.id, loser.id))
                    changed_profiles.append(_profile_state(loser.id, winner.id, 0, now, rules))
        else:
            anchor = min(members, key=rules.sort_key)
            profile_id = new_id("prof")
            new_profiles.append((profile_id, node_of[anchor], len(members)))
            winners.append(profile_id)
            outcome.created.append(profile_id)
            # A component cut off from a profile that was not anchored in it: a split.
            before = {previous_owner[node_of[i]] for i in members} - {None}
            outcome.split += [(str(p), profile_id) for p in sorted(before, key=str)]
    create_profiles(conn, new_profiles, now, rules.version)
    if changed_profiles:
        conn.execute(
            update(Profile)
            .where(Profile.id == bindparam("profile"))
            .values(
                merged_into=bindparam("into"),
                identifiers=bindparam("count"),
                updated_at=bindparam("at"),
                rules_version=bindparam("version"),
            ),
            changed_profiles,
        )
    # Nodes and evidence follow their component's profile.
    component_index = {i: n for n, members in enumerate(components) for i in members}
    NODE_OWNERS.run(
        conn,
        [
            (node, winners[component_index[ident]])
            for node, (ident, profile) in found.nodes.items()
            if winners[component_index[ident]] != profile
        ],
    )
    owners = []
    for ev_id, row in found.evidence.items():
        evidence = active.get(ev_id)
        anchor = evidence.anchor if evidence is not None else _first(row.identifiers)
        owner = winners[component_index[anchor]] if anchor in component_index else None
        if owner != row.profile_id:
            owners.append((ev_id, owner))
    EVIDENCE_OWNERS.run(conn, owners)
    _record_conflicts(conn, found, active, partition, winners, component_index, now, outcome)
    _record_changes(conn, outcome, now, cause)
    return outcome


def _first(identifiers_json: str) -> Identifier:
    return unpairs(identifiers_json)[0]


def _profile_state(
    profile_id: str,
    merged_into: str | None,
    identifiers: int,
    now: datetime,
    rules: IdentityRules,
) -> dict[str, Any]:
    return {
        "profile": profile_id,
        "into": merged_into,
        "count": identifiers,
        "at": now,
        "version": rules.version,
    }


def _record_conflicts(
    conn: Connection,
    found: Closure,
    active: dict[int, Any],
    partition: Partition,
    winners: list[str],
    component_index: dict[Identifier, int],
    now: datetime,
    outcome: Outcome,
) -> None:
    by_key = {evidence.key: ev_id for ev_id, evidence in active.items()}
    rows: list[dict[str, object]] = []
    for conflict in partition.conflicts:
        ev_id = by_key[conflict.evidence_key]
        anchor = active[ev_id].anchor
        rows.append(
            {
                "evidence_id": ev_id,
                "reason": conflict.reason,
                "identifiers": pairs(conflict.identifiers).decode(),
                "profile_id": winners[component_index[anchor]],
                "detected_at": now,
            }
        )
        outcome.conflicts[conflict.reason] += 1
    replace_conflicts(conn, sorted(found.evidence), rows)


def _record_changes(conn: Connection, outcome: Outcome, now: datetime, cause: str) -> None:
    rows = []
    for survivor, merged in outcome.merged:
        rows.append(_change(survivor, "merged", merged, now, cause))
        rows.append(_change(merged, "merged", survivor, now, cause))
    for kept, split_off in outcome.split:
        rows.append(_change(kept, "split", split_off, now, cause))
        rows.append(_change(split_off, "split", kept, now, cause))
    if rows:
        conn.execute(insert(ProfileChange), rows)
    IDENTITY_CHANGES.labels("merged").inc(len(outcome.merged))
    IDENTITY_CHANGES.labels("split").inc(len(outcome.split))
    IDENTITY_CHANGES.labels("created").inc(len(outcome.created))


def _change(profile_id: str, kind: str, other: str, at: datetime, cause: str) -> dict[str, Any]:
    return {
        "profile_id": profile_id,
        "kind": kind,
        "other_profile_id": other,
        "at": at,
        "cause": cause,
        "seq": None,
    }
