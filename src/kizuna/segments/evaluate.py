"""A condition on one profile, in Python: the real-time path. Pure.

``evaluate`` answers whether the profile matches now and the earliest later instant at which
the answer could change with time alone (``FAR``: never). The compiler (``compiler.py``) gives
the same answer in SQL over every profile; ``tests/segments`` hold the two equal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from kizuna.segments.aggregate import FAR, Occurrence, in_window, slides_out
from kizuna.segments.definitions import (
    AndNode,
    ComputedTraitNode,
    Condition,
    ConsentNode,
    Count,
    IdentifierNode,
    NotNode,
    OrNode,
    PerformedNode,
    SegmentNode,
    SequenceNode,
    TraitNode,
)
from kizuna.segments.features import Feature
from kizuna.segments.values import Cell, compare, time_dependent


@dataclass
class ProfileState:
    """What conditions read about one profile."""

    profile_id: str
    occurrences: dict[str, list[Occurrence]] = field(default_factory=dict)  # by feature key
    traits: dict[str, Cell] = field(default_factory=dict)  # by dotted path
    computed: dict[str, Cell] = field(default_factory=dict)  # by computed trait key
    identifier_types: set[str] = field(default_factory=set)
    consent: dict[tuple[str, str], bool] = field(default_factory=dict)  # (purpose, channel)
    segments: set[str] = field(default_factory=set)  # segment ids the profile is in


def counts(count: Count, n: int) -> bool:
    if count.op == "eq":
        return n == count.value
    if count.op == "gte":
        return n >= count.value
    if count.op == "lte":
        return n <= count.value
    if count.op == "gt":
        return n > count.value
    return n < count.value


def _trait_due(cell: Cell | None, node: TraitNode) -> int:
    """When a time comparison on a trait flips: the text compares as UTC ISO text, so its first
    19 characters are read as a UTC time (FAR when they are not a time)."""
    if cell is None or cell.text is None:
        return FAR
    try:
        at = datetime.fromisoformat(cell.text[:19]).replace(tzinfo=UTC)
    except ValueError:
        return FAR
    flip = at + timedelta(days=int(node.value))  # type: ignore[arg-type]
    return int(flip.timestamp() * 1000) + 1_000


def _performed(node: PerformedNode, state: ProfileState, now_ms: int) -> tuple[bool, int]:
    rows = state.occurrences.get(Feature.of(node.filter).key, [])
    seconds = node.within.seconds if node.within else None
    counted = in_window(rows, seconds, now_ms)
    return counts(node.count, len(counted)), slides_out(counted, seconds, now_ms)


def _after(t: Occurrence, f: Occurrence) -> bool:
    return t.at_ms > f.at_ms or (t.at_ms == f.at_ms and t.seq > f.seq)


def _sequence(node: SequenceNode, state: ProfileState, now_ms: int) -> tuple[bool, int]:
    follow = node.then or node.then_not
    assert follow is not None
    firsts = state.occurrences.get(Feature.of(node.first).key, [])
    nexts = state.occurrences.get(Feature.of(follow).key, [])
    gap = node.within.seconds * 1000
    recent = node.first_within.seconds * 1000 if node.first_within else None
    matched, due = False, FAR
    for f in firsts:
        if recent is not None:
            if f.at_ms < now_ms - recent:
                continue
            leaves = f.at_ms + recent + 1  # counted while at >= now - recent
        else:
            leaves = FAR
        followed = any(_after(t, f) and t.at_ms <= f.at_ms + gap for t in nexts)
        if node.then is not None:
            if followed:
                matched, due = True, min(due, leaves)
        elif not followed:
            if f.at_ms + gap <= now_ms:
                matched, due = True, min(due, leaves)
            else:  # still waiting for the follow-up: matches once the time is up
                due = min(due, f.at_ms + gap)
    return matched, due


def evaluate(node: Condition, state: ProfileState, now_ms: int) -> tuple[bool, int]:
    if isinstance(node, AndNode | OrNode):
        results = [evaluate(c, state, now_ms) for c in node.conditions]
        hits = [r for r, _ in results]
        hit = all(hits) if isinstance(node, AndNode) else any(hits)
        return hit, min(d for _, d in results)
    if isinstance(node, NotNode):
        hit, due = evaluate(node.condition, state, now_ms)
        return not hit, due
    if isinstance(node, TraitNode):
        cell = state.traits.get(node.path)
        due = _trait_due(cell, node) if time_dependent(node) else FAR
        return compare(cell, node, now_ms), due
    if isinstance(node, ComputedTraitNode):
        return compare(state.computed.get(node.key), node, now_ms), FAR
    if isinstance(node, IdentifierNode):
        held = node.type in state.identifier_types
        return held == (node.op == "exists"), FAR
    if isinstance(node, ConsentNode):
        allowed = state.consent.get((node.purpose, node.channel), False)
        return allowed == node.allowed, FAR
    if isinstance(node, SegmentNode):
        return (node.segment in state.segments) == node.member, FAR
    if isinstance(node, PerformedNode):
        return _performed(node, state, now_ms)
    return _sequence(node, state, now_ms)
