"""The engine keeps the states it decided between batches (``segments.cache``): the next batch
starts from them, and anything else writing segment state makes it read the database again."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kizuna.config import Settings
from kizuna.segments import service
from kizuna.segments.engine import SegmentsEngine
from tests.segments.world import World

TWO_ORDERS = {
    "name": "Two orders",
    "condition": {
        "kind": "performed",
        "filter": {"event": "Order Completed"},
        "count": {"op": "gte", "value": 2},
    },
}
HAS_EMAIL = {"name": "Has an email", "condition": {"kind": "identifier", "type": "email"}}


def engine(world: World) -> SegmentsEngine:
    prepare = world.segments.prepare
    assert prepare is not None
    owner = prepare.__self__  # type: ignore[attr-defined]
    assert isinstance(owner, SegmentsEngine)
    return owner


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    w = World(settings)
    yield w
    w.stop()


def order(world: World, user: str = "u1") -> None:
    world.send(world.entry(event="Order Completed", userId=user, properties={"total": 10}))
    world.clock.advance(minutes=1)


def test_the_next_batch_starts_from_the_states_kept(world: World) -> None:
    segment = world.segment(TWO_ORDERS)
    order(world)
    cache = engine(world).cache
    hits = cache.hits
    assert world.members(segment) == set()
    # The second order is decided on the state kept from the first batch (one occurrence)
    order(world)
    assert cache.hits > hits
    assert world.members(segment) == {world.profile("u1")}


def test_an_identifier_identity_adds_between_batches_is_read_again(world: World) -> None:
    segment = world.segment(HAS_EMAIL)
    order(world)
    assert world.members(segment) == set()
    world.send(world.entry(type="identify", userId="u1", traits={"email": "u1@example.jp"}))
    assert world.members(segment) == {world.profile("u1")}


def test_another_writer_of_segment_state_empties_the_cache(world: World) -> None:
    # Given a person in "two orders", their state kept by the engine
    segment = world.segment(TWO_ORDERS)
    order(world)
    order(world)
    order(world, "u2")
    person = world.profile("u1")
    assert world.members(segment) == {person}
    cache = engine(world).cache
    assert len(cache) == 2
    # When the segment is deleted and defined again by the API (another transaction)
    with world.db.write() as session:
        service.delete_segment(session, segment)
        session.commit()
    again = world.segment(TWO_ORDERS)
    # Then the next event is decided on what the database holds, not on the kept state
    order(world)
    assert world.members(again) == {person}
    assert len(cache) == 1  # only the state the last batch decided: u2's was dropped


def test_a_state_another_transaction_changed_is_read_again(world: World) -> None:
    from sqlalchemy import delete, select

    from kizuna.models import SegmentOccurrence
    from kizuna.segments.state import bump_state_version
    from tests.support import scalar

    world.computed_trait(
        {"key": "orders", "name": "Orders", "aggregation": "count",
         "filter": {"event": "Order Completed"}}
    )  # fmt: skip
    order(world)
    order(world)
    assert scalar(world.db, "SELECT number FROM computed_trait_values") == 2
    # Another writer (an erasure of one event, another worker) removes one order's occurrence,
    # counting itself as every writer of segment state does
    with world.db.write() as session:
        first = session.scalar(select(SegmentOccurrence.seq).order_by(SegmentOccurrence.seq))
        session.execute(delete(SegmentOccurrence).where(SegmentOccurrence.seq == first))
        bump_state_version(session.connection())
        session.commit()
    # The next order is counted on what the database holds (1 + 1), not on the kept state (3)
    order(world)
    assert scalar(world.db, "SELECT number FROM computed_trait_values") == 2
