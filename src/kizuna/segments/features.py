"""Features: the filters definitions read, and which events pass them. Pure.

A *feature* is an event filter plus the property it reads (``None`` for counting). Definitions
that share one share its occurrences, so fifty segments over ``Order Completed`` keep one row
per order. A filter's ``event`` names a track event; ``$page``, ``$screen``, ``$identify``,
``$group`` and ``$alias`` name those calls.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from kizuna.segments.definitions import (
    ComputedTraitDefinition,
    Condition,
    EventFilter,
    PerformedNode,
    SegmentDefinition,
    SequenceNode,
    children,
)
from kizuna.segments.values import Cell, cell_of, compare


@dataclass(frozen=True)
class Feature:
    key: str
    filter: EventFilter
    property: str | None = None

    @staticmethod
    def of(event_filter: EventFilter, prop: str | None = None) -> Feature:
        # Filters of parsed definitions live as long as the process's definition cache, so the
        # digest is remembered by identity (evaluation asks for it on every node it visits).
        memo = _MEMO.get((id(event_filter), prop))
        if memo is not None and memo.filter is event_filter:
            return memo
        document = {"filter": event_filter.model_dump(mode="json"), "property": prop}
        digest = hashlib.sha256(orjson.dumps(document, option=orjson.OPT_SORT_KEYS)).hexdigest()
        feature = Feature(f"f{digest[:20]}", event_filter, prop)
        if len(_MEMO) > 100_000:
            _MEMO.clear()
        _MEMO[(id(event_filter), prop)] = feature
        return feature

    def document(self) -> dict[str, Any]:
        return {"filter": self.filter.model_dump(mode="json"), "property": self.property}


_MEMO: dict[tuple[int, str | None], Feature] = {}


def event_key(message_type: str, name: str | None) -> str:
    """What a filter's ``event`` is compared with."""
    return (name or "") if message_type == "track" else f"${message_type}"


def _at(properties: Any, path: str) -> Any:
    value = properties
    for part in path.split("."):
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def passes(
    feature: Feature, channel: str, properties: Mapping[str, Any] | None, now_ms: int
) -> bool:
    """Does an event already known to have the filter's name pass the rest of the filter?"""
    f = feature.filter
    if f.channel is not None and f.channel != channel:
        return False
    for condition in f.where:
        if not compare(cell_of(_at(properties or {}, condition.path)), condition, now_ms):
            return False
    return True


def reading(
    feature: Feature, channel: str, source_id: str, properties: Mapping[str, Any] | None
) -> Cell | None:
    """The value a feature reads from an event (None: absent, the event still counts)."""
    prop = feature.property
    if prop is None:
        return None
    if prop == "$channel":
        return cell_of(channel)
    if prop == "$source":
        return cell_of(source_id)
    return cell_of(_at(properties or {}, prop))


def needs_properties(features: Iterable[Feature]) -> bool:
    """Whether matching must open the event's payload (a ``where``, or a property to read)."""
    return any(f.filter.where or (f.property or "$")[0] != "$" for f in features)


def features_of_condition(node: Condition) -> list[Feature]:
    found: list[Feature] = []
    stack: list[Condition] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, PerformedNode):
            found.append(Feature.of(current.filter))
        elif isinstance(current, SequenceNode):
            found.append(Feature.of(current.first))
            follow = current.then or current.then_not
            assert follow is not None
            found.append(Feature.of(follow))
        stack.extend(children(current))
    return found


def features_of_segment(definition: SegmentDefinition) -> list[Feature]:
    return features_of_condition(definition.condition)


def feature_of_trait(definition: ComputedTraitDefinition) -> Feature:
    return Feature.of(definition.filter, definition.property)


class FeatureIndex:
    """Active features by the event key they listen to."""

    def __init__(self, features: Iterable[Feature]) -> None:
        self.by_event: dict[str, list[Feature]] = {}
        self.all: dict[str, Feature] = {}
        for feature in features:
            if feature.key in self.all:
                continue
            self.all[feature.key] = feature
            self.by_event.setdefault(feature.filter.event, []).append(feature)
