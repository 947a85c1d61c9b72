"""The definitions in force, parsed once per version: what the engine and the service read."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from graphlib import CycleError, TopologicalSorter
from typing import Any

import orjson
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.models import ComputedTraitRow, SegmentDefinitionRow
from kizuna.segments.definitions import (
    ComputedTraitDefinition,
    ComputedTraitNode,
    Condition,
    ConsentNode,
    IdentifierNode,
    SegmentDefinition,
    SegmentNode,
    TraitNode,
    children,
)
from kizuna.segments.features import Feature, feature_of_trait, features_of_segment

# What a segment may need re-evaluating for, besides its features: markers in ``Segment.needs``.
TRAITS, IDENTIFIERS, CONSENT = "traits", "identifiers", "consent"


def _nodes(node: Condition) -> list[Condition]:
    found, stack = [], [node]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(children(current))
    return found


@dataclass(frozen=True)
class Segment:
    id: str
    version: int
    ready: bool
    definition: SegmentDefinition
    features: tuple[Feature, ...]
    needs: frozenset[str]  # feature keys, "ct:<key>", "seg:<id>", TRAITS, IDENTIFIERS, CONSENT
    consent_pairs: frozenset[tuple[str, str]]  # (purpose, channel) its consent nodes ask


@dataclass(frozen=True)
class ComputedTrait:
    key: str
    version: int
    ready: bool
    definition: ComputedTraitDefinition
    feature: Feature


def needs_of(definition: SegmentDefinition) -> frozenset[str]:
    needs: set[str] = {f.key for f in features_of_segment(definition)}
    for node in _nodes(definition.condition):
        if isinstance(node, TraitNode):
            needs.add(TRAITS)
        elif isinstance(node, IdentifierNode):
            needs.add(IDENTIFIERS)
        elif isinstance(node, ConsentNode):
            needs.add(CONSENT)
        elif isinstance(node, ComputedTraitNode):
            needs.add(f"ct:{node.key}")
        elif isinstance(node, SegmentNode):
            needs.add(f"seg:{node.segment}")
    return frozenset(needs)


def order(segments: dict[str, SegmentDefinition]) -> list[str]:
    """Segment ids, each after the segments it reads (CycleError when they read each other)."""
    graph = {sid: d.segments_used() & segments.keys() for sid, d in segments.items()}
    return list(TopologicalSorter(graph).static_order())


@dataclass
class Definitions:
    segments: dict[str, Segment] = field(default_factory=dict)  # in evaluation order
    traits: dict[str, ComputedTrait] = field(default_factory=dict)

    def features(self) -> list[Feature]:
        found = [f for s in self.segments.values() for f in s.features]
        return found + [t.feature for t in self.traits.values()]

    @cached_property
    def consent_triggers(self) -> frozenset[str]:
        """What, changing for a profile, can have a segment that reads consent evaluated for it:
        those segments' needs, and through the segments and computed traits they read, those
        ones' needs (the engine then asks the ledger, which the profile's state does not hold)."""
        found: set[str] = set()
        stack = [n for s in self.segments.values() if s.consent_pairs for n in s.needs]
        while stack:
            need = stack.pop()
            if need in found:
                continue
            found.add(need)
            if need.startswith("seg:") and need[4:] in self.segments:
                stack.extend(self.segments[need[4:]].needs)
            elif need.startswith("ct:") and need[3:] in self.traits:
                stack.append(self.traits[need[3:]].feature.key)
        return frozenset(found)

    @property
    def stamp(self) -> tuple[object, ...]:
        return (
            tuple((s.id, s.version, s.ready) for s in self.segments.values()),
            tuple((t.key, t.version, t.ready) for t in self.traits.values()),
        )


_parsed_segments: dict[tuple[str, int], SegmentDefinition] = {}
_parsed_traits: dict[tuple[str, int], ComputedTraitDefinition] = {}


def _segment(row: SegmentDefinitionRow) -> SegmentDefinition:
    key = (row.id, row.version)
    if key not in _parsed_segments:
        document = {"name": row.name, "description": row.description}
        document["condition"] = orjson.loads(row.definition)
        _parsed_segments[key] = SegmentDefinition.model_validate(document)
    return _parsed_segments[key]


def readable_segments(session: Session) -> dict[str, SegmentDefinition]:
    """Every stored segment that parses (one stored under older, looser rules is left out: the
    engine marks it failed, and an edit gives it a new version)."""
    found: dict[str, SegmentDefinition] = {}
    for row in session.scalars(select(SegmentDefinitionRow)):
        try:
            found[row.id] = _segment(row)
        except ValidationError:
            continue
    return found


def unreadable(session: Session) -> list[tuple[str, str]]:
    """(kind, id) of definitions that no longer parse and are not marked failed yet."""
    found: list[tuple[str, str]] = []
    for row in session.scalars(select(SegmentDefinitionRow)):
        try:
            _segment(row)
        except ValidationError:
            if row.status != "failed":
                found.append(("segment", row.id))
    for trait in session.scalars(select(ComputedTraitRow)):
        try:
            _trait(trait)
        except ValidationError:
            if trait.status != "failed":
                found.append(("computed_trait", trait.key))
    return found


def _trait(row: ComputedTraitRow) -> ComputedTraitDefinition:
    key = (row.key, row.version)
    if key not in _parsed_traits:
        _parsed_traits[key] = ComputedTraitDefinition.model_validate_json(row.definition)
    return _parsed_traits[key]


_STATE = (
    SegmentDefinitionRow.id,
    SegmentDefinitionRow.version,
    SegmentDefinitionRow.status,
    SegmentDefinitionRow.computed_version,
)
_TRAIT_STATE = (
    ComputedTraitRow.key,
    ComputedTraitRow.version,
    ComputedTraitRow.status,
    ComputedTraitRow.computed_version,
    ComputedTraitRow.definition,  # keys repeat across databases; definitions tell them apart
)
_cached: tuple[tuple[Any, ...], Definitions] | None = None


def load(session: Session) -> Definitions:
    """The definitions in force (parsed again only when one is added, edited or computed)."""
    global _cached
    stamp = (
        tuple(session.execute(select(*_STATE).order_by(SegmentDefinitionRow.id))),
        tuple(session.execute(select(*_TRAIT_STATE).order_by(ComputedTraitRow.key))),
    )
    if _cached is not None and _cached[0] == stamp:
        return _cached[1]
    found = _load(session)
    _cached = (stamp, found)
    return found


def _load(session: Session) -> Definitions:
    found = Definitions()
    for trait_row in session.scalars(select(ComputedTraitRow).order_by(ComputedTraitRow.key)):
        try:
            t = _trait(trait_row)
        except ValidationError:
            continue
        ready = trait_row.status == "ready" and trait_row.computed_version == trait_row.version
        found.traits[t.key] = ComputedTrait(t.key, trait_row.version, ready, t, feature_of_trait(t))
    rows = {r.id: r for r in session.scalars(select(SegmentDefinitionRow))}
    parsed = readable_segments(session)
    try:
        ids = order(parsed)
    except CycleError:  # refused on write; never expected here
        ids = sorted(parsed)
    for sid in ids:
        r, d = rows[sid], parsed[sid]
        ready = r.status == "ready" and r.computed_version == r.version
        pairs = frozenset(
            (n.purpose, n.channel) for n in _nodes(d.condition) if isinstance(n, ConsentNode)
        )
        found.segments[sid] = Segment(
            sid, r.version, ready, d, tuple(features_of_segment(d)), needs_of(d), pairs
        )
    return found
