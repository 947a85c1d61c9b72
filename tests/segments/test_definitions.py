"""Segment and computed-trait definitions: typed documents, and what they refuse."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from kizuna.segments.definitions import (
    MAX_DEPTH,
    ComputedTraitDefinition,
    SegmentDefinition,
)

STORE_BUYERS = {
    "name": "Bought in store, never online",
    "condition": {
        "kind": "and",
        "conditions": [
            {
                "kind": "performed",
                "filter": {"event": "Order Completed", "channel": "store"},
                "within": {"days": 30},
            },
            {
                "kind": "not",
                "condition": {
                    "kind": "performed",
                    "filter": {"event": "Order Completed", "channel": "web"},
                },
            },
            {"kind": "consent", "purpose": "marketing", "channel": "email"},
            {"kind": "trait", "path": "address.prefecture", "op": "in", "value": ["東京都"]},
            {"kind": "computed_trait", "key": "lifetime_value", "op": "gte", "value": 50000},
            {"kind": "identifier", "type": "email"},
            {"kind": "segment", "segment": "seg_vip", "member": False},
            {
                "kind": "sequence",
                "first": {"event": "Cart Updated"},
                "then_not": {"event": "Order Completed"},
                "within": {"hours": 1},
            },
        ],
    },
}


def test_every_kind_of_condition_is_accepted() -> None:
    definition = SegmentDefinition.model_validate(STORE_BUYERS)
    assert definition.segments_used() == {"seg_vip"}


def _nested(depth: int) -> dict[str, Any]:
    node: dict[str, Any] = {"kind": "identifier", "type": "email"}
    for _ in range(depth - 1):
        node = {"kind": "not", "condition": node}
    return node


@pytest.mark.parametrize(
    ("condition", "fragment"),
    [
        (_nested(MAX_DEPTH + 1), "nest"),
        (
            {
                "kind": "or",
                "conditions": [{"kind": "identifier", "type": "email"}] * 50
                + [{"kind": "or", "conditions": [{"kind": "identifier", "type": "phone"}] * 50}],
            },
            "at most",
        ),
        ({"kind": "trait", "path": "email'; DROP TABLE profiles;--", "op": "exists"}, "pattern"),
        ({"kind": "trait", "path": "email", "op": "in", "value": "a"}, "list"),
        ({"kind": "trait", "path": "email", "op": "exists", "value": "a"}, "no value"),
        ({"kind": "trait", "path": "email", "op": "eq"}, "one value"),
        ({"kind": "trait", "path": "n", "op": "in", "value": list(range(501))}, "500"),
        ({"kind": "trait", "path": "n", "op": "eq", "value": "x" * 201}, "200"),
        ({"kind": "trait", "path": "n", "op": "eval", "value": "1"}, None),
        ({"kind": "python", "code": "__import__('os')"}, None),
        ({"kind": "performed", "filter": {"event": "A"}, "within": {}}, "window"),
        (
            {"kind": "sequence", "first": {"event": "A"}, "within": {"hours": 1}},
            "exactly one",
        ),
        ({"kind": "segment", "segment": "../../etc"}, "pattern"),
    ],
)
def test_hostile_or_broken_definitions_are_refused(
    condition: dict[str, Any], fragment: str | None
) -> None:
    with pytest.raises(ValidationError) as refused:
        SegmentDefinition.model_validate({"name": "x", "condition": condition})
    if fragment:
        assert fragment in str(refused.value)


def test_dunder_paths_are_just_names_and_never_reach_python_attributes() -> None:
    """A path is a dotted name: ``__class__`` passes the shape check, and compilers read it
    as a JSON key (so the definition is refused only if the shape is wrong)."""
    ok = SegmentDefinition.model_validate(
        {"name": "x", "condition": {"kind": "trait", "path": "__class__", "op": "exists"}}
    )
    assert ok.condition.path == "__class__"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({"aggregation": "sum", "filter": {"event": "Order Completed"}}, "needs the property"),
        (
            {"aggregation": "count", "filter": {"event": "A"}, "property": "total"},
            "aggregates events",
        ),
        ({"aggregation": "median", "filter": {"event": "A"}, "property": "x"}, None),
    ],
)
def test_computed_traits_say_what_they_aggregate(
    body: dict[str, Any], fragment: str | None
) -> None:
    with pytest.raises(ValidationError) as refused:
        ComputedTraitDefinition.model_validate({"key": "k", "name": "K", **body})
    if fragment:
        assert fragment in str(refused.value)


def test_the_demo_computed_traits_are_expressible() -> None:
    for body in (
        {"key": "lifetime_value", "aggregation": "sum", "property": "total",
         "filter": {"event": "Order Completed"}},
        {"key": "orders_90d", "aggregation": "count", "filter": {"event": "Order Completed"},
         "window": {"days": 90}},
        {"key": "preferred_channel", "aggregation": "most_frequent", "property": "$channel",
         "filter": {"event": "Order Completed"}},
        {"key": "favourite_category", "aggregation": "most_frequent", "property": "category",
         "filter": {"event": "Product Viewed"}},
        {"key": "last_store", "aggregation": "last", "property": "store_id",
         "filter": {"event": "Order Completed", "channel": "store"}},
        {"key": "days_since_last_purchase", "aggregation": "days_since_last",
         "filter": {"event": "Order Completed"}},
    ):  # fmt: skip
        ComputedTraitDefinition.model_validate({"name": body["key"], **body})
