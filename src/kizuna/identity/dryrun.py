"""Try new identity rules against history before applying them.

Every piece of evidence is resolved twice in memory, under the rules in force and under the
proposed ones, and the two partitions are compared: how many profiles would merge into others,
how many would split, and how the conflicts would change. Nothing is written.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, select

from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier
from kizuna.identity.rules import Partition, resolve
from kizuna.identity.store import Closure, evidence_of, retracted
from kizuna.models import IdentityEvidence


@dataclass
class DryRun:
    evidence: int
    identifiers: int
    profiles_before: int
    profiles_after: int
    would_merge: int  # profiles that would be merged into another
    would_split: int  # profiles that would be split off an existing one
    conflicts_before: dict[str, int]
    conflicts_after: dict[str, int]
    examples: list[dict[str, Any]]


def _spread(a: Partition, b: Partition) -> tuple[int, list[frozenset[Identifier]]]:
    """How many extra ``b`` components the components of ``a`` fall into, with examples."""
    extra = 0
    examples: list[frozenset[Identifier]] = []
    for members in a.components:
        parts = {b.component_of[i] for i in members if i in b.component_of}
        if len(parts) > 1:
            extra += len(parts) - 1
            if len(examples) < 5:
                examples.append(members)
    return extra, examples


def dry_run(conn: Connection, current: IdentityRules, proposed: IdentityRules) -> DryRun:
    rows = {r.id: r for r in conn.execute(select(IdentityEvidence))}
    gone = retracted(conn)
    whole = Closure(evidence=rows, nodes={}, truncated=False)
    before = resolve(evidence_of(conn, whole, gone, current).values(), current)
    after = resolve(evidence_of(conn, whole, gone, proposed).values(), proposed)
    merged, merge_examples = _spread(after, before)
    split, split_examples = _spread(before, after)
    examples = [
        {"change": "merge", "identifiers": sorted(str(i) for i in m)} for m in merge_examples
    ] + [{"change": "split", "identifiers": sorted(str(i) for i in m)} for m in split_examples]
    return DryRun(
        evidence=len(rows),
        identifiers=len(before.component_of),
        profiles_before=len(before.components),
        profiles_after=len(after.components),
        would_merge=merged,
        would_split=split,
        conflicts_before=dict(Counter(c.reason for c in before.conflicts)),
        conflicts_after=dict(Counter(c.reason for c in after.conflicts)),
        examples=examples,
    )
