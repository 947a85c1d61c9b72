"""A batch decided on a read snapshot (outside SQLite's one write slot) is written only while the
snapshot still stands; otherwise it is handled again inside the write transaction."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kizuna.config import Settings
from kizuna.metrics import PREPARED
from tests.segments.world import World
from tests.support import rows, scalar

STORE_REGULARS = {
    "name": "Store regulars",
    "condition": {
        "kind": "performed",
        "filter": {"event": "Order Completed", "channel": "store"},
        "count": {"op": "gte", "value": 2},
    },
}


def prepared(outcome: str) -> float:
    return float(PREPARED.labels("segments", outcome)._value.get())


@pytest.fixture
def world(settings: Settings) -> Iterator[World]:
    w = World(settings)
    yield w
    w.stop()


def test_a_batch_decided_on_a_snapshot_is_written_as_decided(world: World) -> None:
    segment = world.segment(STORE_REGULARS)
    written, stale = prepared("written"), prepared("stale")
    order = {"event": "Order Completed", "userId": "u1"}
    world.send(world.entry(channel="store", **order), world.entry(channel="store", **order))
    assert world.members(segment) == {world.profile("u1")}
    assert prepared("written") > written
    assert prepared("stale") == stale


def test_a_snapshot_another_writer_overtook_is_decided_again(settings: Settings) -> None:
    # Given a second writer (another worker, say) that records the person's other store order
    # after this batch was decided and before it is written
    sent: list[str] = []

    def second_worker(w: World) -> None:
        if sent:
            return
        other = w.entry(channel="store", event="Order Completed", userId="u1")
        w.append(other)
        identity = next(c for c in w.platform.consumers if c.name == "identity")
        w.platform.runner.run_once(identity)
        with w.db.read() as session:
            events = w.platform.event_log.read(session.connection(), other.partition, 0, 1000)
        with w.db.write() as session:
            w.segments.handle(session, [e for e in events if e.message_id == other.message_id])
            session.commit()
        sent.append(other.message_id)

    w = World(settings, between=second_worker)
    try:
        segment = w.segment(STORE_REGULARS)
        stale = prepared("stale")
        # When the batch with the first order is written
        w.send(w.entry(channel="store", event="Order Completed", userId="u1"))
        # Then its snapshot was refused and the batch decided again with both orders in view
        assert prepared("stale") == stale + 1
        assert w.members(segment) == {w.profile("u1")}
        assert rows(w.db, "SELECT entered, cause FROM segment_changes") == [(True, "event")]
        assert scalar(w.db, "SELECT count(*) FROM events WHERE name = 'segment.entered'") == 1
        assert scalar(w.db, "SELECT count(*) FROM segment_occurrences") == 2
    finally:
        w.stop()


def test_a_segment_deleted_meanwhile_gets_no_members_from_an_old_snapshot(
    settings: Settings,
) -> None:
    from kizuna.segments import service

    deleted: list[str] = []
    defined: list[str] = []

    def staff_delete(w: World) -> None:
        if deleted or not defined:
            return
        with w.db.write() as session:
            service.delete_segment(session, defined[0])
            session.commit()
        deleted.append(defined[0])

    w = World(settings, between=staff_delete)
    try:
        everyone = {"name": "Buyers", "condition": {
            "kind": "performed", "filter": {"event": "Order Completed"}}}  # fmt: skip
        defined.append(w.segment(everyone))
        stale = prepared("stale")
        w.send(w.entry(event="Order Completed", userId="u1"))
        assert deleted and prepared("stale") == stale + 1
        assert scalar(w.db, "SELECT count(*) FROM segment_members") == 0
        assert scalar(w.db, "SELECT count(*) FROM segment_changes") == 0
    finally:
        w.stop()
