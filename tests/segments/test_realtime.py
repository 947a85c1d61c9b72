"""Real-time membership on both backends: events in, segment.entered / exited out, time passing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kizuna.config import Settings
from tests.segments.world import T0, World
from tests.support import rows, scalar


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    w = World(settings)
    yield w
    w.stop()


STORE_REGULARS = {
    "name": "Store regulars",
    "condition": {
        "kind": "performed",
        "filter": {"event": "Order Completed", "channel": "store"},
        "count": {"op": "gte", "value": 2},
        "within": {"days": 30},
    },
}
ABANDONED = {
    "name": "Cart abandoned",
    "condition": {
        "kind": "sequence",
        "first": {"event": "Cart Updated"},
        "then_not": {"event": "Order Completed"},
        "within": {"hours": 1},
    },
}


def test_two_store_orders_enter_and_the_window_sliding_out_exits(world: World) -> None:
    segment = world.segment(STORE_REGULARS)
    order = {"event": "Order Completed", "userId": "u1", "properties": {"total": 5000}}
    # Given one store order: not yet a regular
    world.send(world.entry(channel="store", **order))
    assert world.members(segment) == set()
    # When a second arrives ten days later
    world.clock.advance(days=10)
    world.send(world.entry(channel="store", **order))
    # Then the person enters, with history and an event in the log
    person = world.profile("u1")
    assert world.members(segment) == {person}
    assert rows(world.db, "SELECT entered, cause FROM segment_changes") == [(True, "event")]
    assert scalar(world.db, "SELECT count(*) FROM events WHERE name = 'segment.entered'") == 1
    # And when the first order is 30 days old, time alone takes them out
    world.clock.advance(days=20, seconds=1)
    world.run()
    assert world.members(segment) == set()
    changes = rows(world.db, "SELECT entered, cause FROM segment_changes ORDER BY id")
    assert changes == [(True, "event"), (False, "time")]


def test_a_cart_not_followed_by_an_order_within_the_hour(world: World) -> None:
    segment = world.segment(ABANDONED)
    world.send(world.entry(event="Cart Updated", userId="u1"))
    world.send(world.entry(event="Cart Updated", userId="u2"))
    world.clock.advance(minutes=30)
    world.send(world.entry(event="Order Completed", userId="u2"))
    assert world.members(segment) == set()
    world.clock.advance(minutes=31)
    world.run()
    assert world.members(segment) == {world.profile("u1")}


def test_a_new_segment_counts_the_past(world: World) -> None:
    for minute in range(3):
        world.send(
            world.entry(at=T0, channel="store", event="Order Completed", userId=f"u{minute % 2}")
        )
    world.clock.advance(days=1)
    segment = world.segment(STORE_REGULARS)
    assert world.members(segment) == {world.profile("u0")}
    status = rows(world.db, "SELECT status, members FROM segments")
    assert status == [("ready", 1)]
    # the initial population is history, not a burst of segment.entered events
    assert scalar(world.db, "SELECT count(*) FROM events WHERE name = 'segment.entered'") == 0


def test_computed_traits_feed_segments(world: World) -> None:
    world.computed_trait(
        {"key": "lifetime_value", "name": "LTV", "aggregation": "sum", "property": "total",
         "filter": {"event": "Order Completed"}}
    )  # fmt: skip
    vip = world.segment(
        {"name": "VIP", "condition": {"kind": "computed_trait", "key": "lifetime_value",
                                      "op": "gte", "value": 10000}}
    )  # fmt: skip
    world.send(world.entry(event="Order Completed", userId="u1", properties={"total": 6000}))
    assert world.members(vip) == set()
    world.send(world.entry(event="Order Completed", userId="u1", properties={"total": 6000}))
    assert world.members(vip) == {world.profile("u1")}
    value = scalar(world.db, "SELECT number FROM computed_trait_values")
    assert value == 12000


def test_consent_given_or_withdrawn_outside_events_moves_people(world: World) -> None:
    from kizuna.privacy.consent import ConsentChoice, record_for_profile
    from tests.segments.world import RULES

    reachable = world.segment(
        {"name": "Reachable", "condition": {"kind": "and", "conditions": [
            {"kind": "identifier", "type": "email"},
            {"kind": "consent", "purpose": "marketing", "channel": "email"}]}}
    )  # fmt: skip
    world.send(world.entry(type="identify", userId="u1", traits={"email": "u1@example.jp"}))
    person = world.profile("u1")
    assert world.members(reachable) == set()

    def choose(granted: bool) -> None:
        with world.db.write() as session:
            choice = ConsentChoice("marketing", "email", granted, effective_at=world.clock.now)
            record_for_profile(session, world.catalogue, RULES, person, choice, actor="staff")
            session.commit()
        world.run()

    # When the person opts in through the API (no event in the log), they enter
    choose(True)
    assert world.members(reachable) == {person}
    # and an opt-out takes them out again
    world.clock.advance(minutes=1)
    choose(False)
    assert world.members(reachable) == set()
    causes = rows(world.db, "SELECT entered, cause FROM segment_changes ORDER BY id")
    assert causes == [(True, "consent"), (False, "consent")]


def test_sealed_personal_traits_are_projected_sealed(world: World) -> None:
    from cryptography.fernet import Fernet

    from kizuna.privacy import sealing

    sealer = sealing.configure([Fernet.generate_key().decode()])
    assert sealer is not None
    try:
        has_birthday = world.segment(
            {"name": "Birthday known", "condition": {"kind": "trait", "path": "birthday",
                                                     "op": "exists"}}
        )  # fmt: skip
        born_1990 = world.segment(
            {"name": "1990", "condition": {"kind": "trait", "path": "birthday",
                                           "op": "starts_with", "value": "1990"}}
        )  # fmt: skip
        entry = world.entry(type="identify", userId="u1", traits={"birthday": "1990-04-01"})
        entry.payload, _ = sealing.seal_payload(entry.payload, {"birthday"}, sealer)
        world.send(entry)
        # Then the value at rest stays sealed in the projection: its presence can be asked,
        # never its content
        stored = scalar(world.db, "SELECT value FROM segment_trait_values")
        assert "1990" not in stored and sealing.SEALED_PREFIX in stored
        assert world.members(has_birthday) == {world.profile("u1")}
        assert world.members(born_1990) == set()
    finally:
        sealing.configure([])


def test_a_definition_that_cannot_be_computed_fails_alone(world: World) -> None:
    from sqlalchemy import update

    from kizuna.models import SegmentDefinitionRow

    broken = world.segment(STORE_REGULARS)
    # Given a stored definition its computation chokes on (written behind the API's back)
    with world.db.write() as session:
        session.execute(
            update(SegmentDefinitionRow)
            .where(SegmentDefinitionRow.id == broken)
            .values(definition='{"kind": "no such kind"}', version=2, status="computing")
        )
        session.commit()
    fine = world.segment(ABANDONED)
    # Then it is marked failed, and the next one is computed and kept current all the same
    statuses = dict(rows(world.db, "SELECT id, status FROM segments"))
    assert statuses == {broken: "failed", fine: "ready"}
    world.send(world.entry(event="Cart Updated", userId="u1"))
    world.clock.advance(hours=2)
    world.run()
    assert world.members(fine) == {world.profile("u1")}


def test_a_filter_dropped_and_used_again_reads_the_past_again(world: World) -> None:
    from kizuna.segments import service
    from kizuna.segments.definitions import SegmentDefinition

    def preview() -> int:
        with world.db.write() as session:
            d = SegmentDefinition.model_validate(STORE_REGULARS)
            found = service.preview(
                session, d, service.consent_asker(world.catalogue), now=world.clock()
            )
            session.commit()
            return found.count

    order = {"event": "Order Completed", "userId": "u1"}
    world.send(world.entry(channel="store", **order), world.entry(channel="store", **order))
    # A preview counts the past but keeps nothing
    assert preview() == 1
    assert scalar(world.db, "SELECT count(*) FROM segment_features") == 0
    assert scalar(world.db, "SELECT count(*) FROM segment_occurrences") == 0
    # A segment defined, deleted while orders keep coming, then defined again, counts them all
    first = world.segment(STORE_REGULARS)
    with world.db.write() as session:
        service.delete_segment(session, first)
        session.commit()
    world.send(world.entry(channel="store", userId="u2", event="Order Completed"))
    world.send(world.entry(channel="store", userId="u2", event="Order Completed"))
    again = world.segment(STORE_REGULARS)
    assert world.members(again) == {world.profile("u1"), world.profile("u2")}
