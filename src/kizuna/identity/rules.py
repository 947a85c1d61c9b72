"""The identity graph's resolution: evidence in, a partition of identifiers into people out.

Pure and deterministic. The same set of evidence always gives the same partition, whatever
order it arrived in, because evidence is applied in a *canonical* order (event time, then a
digest of the evidence itself), never in arrival order. A profile is therefore a function of
the evidence, and undoing a merge is "retract the evidence and resolve again".

Each piece of evidence is a set of identifiers seen together (one event, an admin's link, a
probabilistic match). Applying it joins the components of its identifiers, unless that would
break a rule; then nothing is bridged, identifiers never seen before attach to the component
of the evidence's *anchor* (its highest-priority identifier) where the rules allow, and the
refusal is recorded as a conflict with a stable reason:

- ``identity.unique_conflict``: a unique type (``user_id``) would hold two values;
- ``identity.limit_exceeded``: a type would hold more values than its limit in its window;
- ``identity.untrusted_bridge``: client-side evidence would join two components that each
  hold a strong identifier (write keys are public, so a browser must not be able to merge two
  known customers);
- ``identity.cap_identifiers`` / ``identity.cap_merges``: the component would pass a cap (the
  sign of a junk value such as a shared test email; raised as an alert).
"""

from __future__ import annotations

import hashlib
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier

Trust = Literal["client", "server", "admin", "probabilistic"]
TRUSTED: frozenset[str] = frozenset({"server", "admin"})


@dataclass(frozen=True, slots=True)
class Evidence:
    """Identifiers seen together. ``identifiers`` is in priority order: the first is the anchor."""

    key: str
    identifiers: tuple[Identifier, ...]
    trust: Trust
    at: datetime
    source_id: str = ""

    @property
    def anchor(self) -> Identifier:
        return self.identifiers[0]


def evidence_key(source_id: str, trust: str, identifiers: Iterable[Identifier]) -> str:
    """A stable digest: the same identifiers from the same source are the same evidence."""
    text = "\x1f".join([source_id, trust, *sorted(f"{i.type}\x1e{i.value}" for i in identifiers)])
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def make_evidence(
    source_id: str,
    trust: Trust,
    identifiers: Iterable[Identifier],
    at: datetime,
    rules: IdentityRules,
) -> Evidence:
    ordered = tuple(sorted(set(identifiers), key=rules.sort_key))
    return Evidence(evidence_key(source_id, trust, ordered), ordered, trust, at, source_id)


def canonical_order(evidence: Evidence) -> tuple[datetime, str]:
    return (evidence.at, evidence.key)


@dataclass(frozen=True, slots=True)
class Conflict:
    evidence_key: str
    reason: str
    identifiers: tuple[Identifier, ...]  # the identifiers that were not joined


@dataclass(frozen=True, slots=True)
class Link:
    """One edge of the graph as applied: ``a`` and ``b`` joined by a piece of evidence."""

    a: Identifier
    b: Identifier
    evidence_key: str


@dataclass(slots=True)
class _Component:
    members: dict[Identifier, datetime] = field(default_factory=dict)  # identifier -> first seen
    merges: int = 0
    strong: bool = False


@dataclass
class Partition:
    """The result: which identifiers are one person, how they were joined, what was refused."""

    components: list[frozenset[Identifier]]
    component_of: dict[Identifier, int]
    merges: list[int]
    links: list[Link]
    conflicts: list[Conflict]
    owner: dict[str, int]  # evidence key -> component of its anchor (its events' profile)

    def same(self, a: Identifier, b: Identifier) -> bool:
        return a in self.component_of and self.component_of.get(a) == self.component_of.get(b)

    def as_sets(self) -> frozenset[frozenset[Identifier]]:
        return frozenset(self.components)

    def explain(self, a: Identifier, b: Identifier) -> list[Link] | None:
        """The shortest chain of applied links from ``a`` to ``b`` (None if not joined)."""
        if not self.same(a, b):
            return None
        adjacent: dict[Identifier, list[Link]] = {}
        for link in self.links:
            adjacent.setdefault(link.a, []).append(link)
            adjacent.setdefault(link.b, []).append(link)
        came: dict[Identifier, Link | None] = {a: None}
        queue = deque([a])
        while queue:
            node = queue.popleft()
            if node == b:
                break
            for link in adjacent.get(node, []):
                other = link.b if link.a == node else link.a
                if other not in came:
                    came[other] = link
                    queue.append(other)
        chain: list[Link] = []
        node = b
        step = came.get(node)
        while step is not None:
            chain.append(step)
            node = step.b if step.a == node else step.a
            step = came.get(node)
        return list(reversed(chain))


class _Resolver:
    def __init__(self, rules: IdentityRules) -> None:
        self.rules = rules
        self.parent: dict[Identifier, Identifier] = {}
        self.state: dict[Identifier, _Component] = {}  # root -> component
        self.links: list[Link] = []
        self.conflicts: list[Conflict] = []

    def find(self, node: Identifier) -> Identifier:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:  # path compression
            self.parent[node], node = root, self.parent[node]
        return root

    def _add(self, node: Identifier, at: datetime) -> None:
        self.parent[node] = node
        self.state[node] = _Component(members={node: at}, strong=node.type in self.rules.strong)

    def apply(self, evidence: Evidence) -> None:
        known = [i for i in evidence.identifiers if i in self.parent]
        fresh = [i for i in evidence.identifiers if i not in self.parent]
        roots = list(dict.fromkeys(self.find(i) for i in known))
        joined = [self.state[r] for r in roots]
        reason = self._refusal(evidence, joined, fresh)
        if reason is None:
            self._join(evidence, roots, fresh, linked=evidence.identifiers[1:])
            return
        # Refused as a whole: bridge nothing; new identifiers attach to the anchor if they may.
        anchor = evidence.anchor
        if anchor not in self.parent:
            self._add(anchor, evidence.at)
            fresh = [i for i in fresh if i != anchor]
        root = self.find(anchor)
        left_out = [i for i in known if self.find(i) != root]
        for identifier in fresh:
            if self._refusal(evidence, [self.state[root]], [identifier]) is None:
                self._join(evidence, [root], [identifier], linked=(identifier,))
            else:
                self._add(identifier, evidence.at)
                left_out.append(identifier)
        self.conflicts.append(Conflict(evidence.key, reason, tuple(left_out)))

    def _refusal(
        self, evidence: Evidence, joined: Sequence[_Component], fresh: Sequence[Identifier]
    ) -> str | None:
        rules = self.rules
        # Client-side and probabilistic evidence may add to a customer, never fuse two.
        if evidence.trust not in TRUSTED and sum(c.strong for c in joined) >= 2:
            return "identity.untrusted_bridge"
        members: dict[Identifier, datetime] = {}
        for component in joined:
            members.update(component.members)
        for identifier in fresh:
            members.setdefault(identifier, evidence.at)
        if len(members) > rules.max_identifiers:
            return "identity.cap_identifiers"
        if sum(c.merges for c in joined) + max(len(joined) - 1, 0) > rules.max_merges:
            return "identity.cap_merges"
        by_type: dict[str, list[datetime]] = {}
        for identifier, first_seen in members.items():
            by_type.setdefault(identifier.type, []).append(first_seen)
        for id_type, seen in by_type.items():
            if id_type in rules.unique and len(seen) > 1:
                return "identity.unique_conflict"
            limit = rules.limit(id_type)
            if limit is None:
                continue
            span = limit.span
            count = len(seen) if span is None else sum(evidence.at - t <= span for t in seen)
            if count > limit.values:
                return "identity.limit_exceeded"
        return None

    def _join(
        self,
        evidence: Evidence,
        roots: list[Identifier],
        fresh: list[Identifier],
        linked: Sequence[Identifier],
    ) -> None:
        anchor = evidence.anchor
        for identifier in fresh:
            self._add(identifier, evidence.at)
        all_roots = list(dict.fromkeys([*roots, *(self.find(i) for i in fresh)]))
        target = all_roots[0]
        component = self.state[target]
        component.merges += max(len(roots) - 1, 0)
        for other in all_roots[1:]:
            absorbed = self.state.pop(other)
            self.parent[other] = target
            component.members.update(absorbed.members)
            component.merges += absorbed.merges
            component.strong = component.strong or absorbed.strong
        self.links.extend(Link(anchor, i, evidence.key) for i in linked)

    def partition(self, evidence: Sequence[Evidence]) -> Partition:
        roots = sorted(
            self.state, key=lambda r: min(self.state[r].members, key=self.rules.sort_key)
        )
        index = {root: n for n, root in enumerate(roots)}
        components = [frozenset(self.state[r].members) for r in roots]
        component_of = {i: n for n, members in enumerate(components) for i in members}
        return Partition(
            components=components,
            component_of=component_of,
            merges=[self.state[r].merges for r in roots],
            links=self.links,
            conflicts=self.conflicts,
            owner={e.key: index[self.find(e.anchor)] for e in evidence},
        )


def resolve(evidence: Iterable[Evidence], rules: IdentityRules) -> Partition:
    """Apply every piece of evidence in canonical order; the partition depends on the set only."""
    earliest: dict[str, Evidence] = {}
    for item in evidence:  # the same evidence seen again counts from its first sighting
        if item.key not in earliest or item.at < earliest[item.key].at:
            earliest[item.key] = item
    ordered = sorted(earliest.values(), key=canonical_order)
    resolver = _Resolver(rules)
    for item in ordered:
        resolver.apply(item)
    return resolver.partition(ordered)


def extends(evidence: Sequence[Evidence], held: Sequence[Identifier], rules: IdentityRules) -> bool:
    """Whether ``evidence`` (canonically ordered), applied after everything else to the one
    component holding ``held`` (nothing: none yet), joins whole: no rule refuses any of it and
    no two components meet (a merge count is not stored, so ``max_merges`` could pass unseen).

    Each held identifier counts as first seen when the first of the evidence was, later than
    the full resolution has it, so a windowed limit counts at least as many values as there:
    a yes is exact (the joins do not depend on times), a no only means "resolve it all"."""
    resolver = _Resolver(rules)
    if held and evidence:
        root = held[0]
        resolver.parent.update(dict.fromkeys(held, root))
        resolver.state[root] = _Component(
            members=dict.fromkeys(held, evidence[0].at),
            strong=any(i.type in rules.strong for i in held),
        )
    for item in evidence:
        resolver.apply(item)
    return not resolver.conflicts and not any(c.merges for c in resolver.state.values())
