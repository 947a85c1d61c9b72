"""A segment that reads consent keeps its members when something else it reads changes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kizuna.config import Settings
from tests.segments.world import World


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    w = World(settings)
    yield w
    w.stop()


def test_a_trait_event_does_not_forget_consent(world: World) -> None:
    gold_reachable = world.segment(
        {"name": "Gold and reachable", "condition": {"kind": "and", "conditions": [
            {"kind": "trait", "path": "tier", "op": "neq", "value": "bronze"},
            {"kind": "consent", "purpose": "marketing", "channel": "email"}]}}
    )  # fmt: skip
    traits = {"email": "u1@example.jp", "tier": "gold"}
    world.send(world.entry(type="identify", userId="u1", traits=traits))
    person = world.profile("u1")
    world.choose_consent(person, True, at=world.clock.now)
    world.run()
    assert world.members(gold_reachable) == {person}
    world.clock.advance(minutes=1)
    # a trait the segment reads changes, consent does not: the person stays (the second
    # identify is evidence seen before, so identity gives the profile nothing new)
    world.send(world.entry(type="identify", userId="u1", traits={"name": "Ann"}))
    world.clock.advance(minutes=1)
    world.send(world.entry(type="identify", userId="u1", traits={"tier": "silver"}))
    assert world.members(gold_reachable) == {person}


def test_a_computed_trait_moving_does_not_forget_consent(world: World) -> None:
    world.computed_trait(
        {"key": "order_count", "name": "Orders", "aggregation": "count",
         "filter": {"event": "Order Completed"}}
    )  # fmt: skip
    regular = world.segment(
        {"name": "Regular", "condition": {"kind": "computed_trait", "key": "order_count",
                                          "op": "gte", "value": 1}}
    )  # fmt: skip
    reachable_regular = world.segment(
        {"name": "Reachable regular", "condition": {"kind": "and", "conditions": [
            {"kind": "segment", "segment": regular},
            {"kind": "consent", "purpose": "marketing", "channel": "email"}]}}
    )  # fmt: skip
    world.send(world.entry(type="identify", userId="u1", traits={"email": "u1@example.jp"}))
    person = world.profile("u1")
    world.choose_consent(person, True, at=world.clock.now)
    world.run()
    world.send(world.entry(event="Page Viewed", userId="u1"))  # evidence {user_id} seen first
    world.clock.advance(minutes=1)
    assert world.members(reachable_regular) == set()
    # the first order makes them a regular: the segment of regulars with consent takes them
    world.send(world.entry(event="Order Completed", userId="u1", properties={"total": 10}))
    assert world.members(regular) == {person}
    assert world.members(reachable_regular) == {person}
