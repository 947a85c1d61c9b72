"""Erasure keeps only a tombstone; suppression deletes nothing; both drop later events at
ingestion and count them. On both backends."""

from __future__ import annotations

from kizuna.ingestion.rules import build_entry
from kizuna.kit.clock import utcnow
from kizuna.privacy import audit
from kizuna.privacy.suppression import SuppressionList
from tests.privacy.dsr import Desk
from tests.support import append, scalar

ANN = {"type": "identify", "userId": "u-ann", "traits": {"email": "ann@example.com"}}
BOB = {"type": "identify", "userId": "u-bob", "traits": {"email": "bob@example.com"}}


def _count(desk: Desk, table: str) -> int:
    return int(scalar(desk.platform.db, f"SELECT count(*) FROM {table}"))


def test_erasure_leaves_a_tombstone_and_clears_earlier_requests(desk: Desk) -> None:
    # Given Ann, whose data was exported once, and Bob
    desk.send(desk.crm, ANN, BOB)
    export = desk.done("export", "email", "ann@example.com")
    assert export["archive_url"] is not None

    # When Ann is erased
    erased = desk.done("erasure", "user_id", "u-ann")

    # Then the request keeps the digests of what was erased, and no value
    assert erased["status"] == "completed", erased
    assert erased["identifier_value"] is None
    assert sorted(i["type"] for i in erased["result"]["identifiers"]) == ["email", "user_id"]
    assert erased["result"]["erased"]["events"] == 1
    assert erased["result"]["erased"]["consent"] == 0
    assert erased["result"]["suppressed"] == 2
    # the earlier export lost its value and its archive, not its place in the trail
    before = desk.request(export["id"])
    assert (before["status"], before["identifier_value"], before["archive_url"]) == (
        "completed",
        None,
        None,
    )
    assert desk.api("GET", f"/privacy/requests/{export['id']}/archive").status_code == 404
    assert _count(desk, "privacy_suppressions") == 2
    assert _count(desk, "identity_nodes") == 2  # Bob's
    assert desk.profile_of("user_id", "u-bob").status_code == 200
    with desk.platform.db.read() as session:
        trail = audit.search(session, target_id=erased["id"])
    assert [e.action for e in reversed(trail)] == [
        "privacy.request.created",
        "privacy.request.started",
        "privacy.request.completed",
    ]
    assert all("ann" not in (e.details or "") for e in trail)


def test_events_of_an_erased_person_are_dropped_and_counted(desk: Desk) -> None:
    desk.send(desk.web, {**ANN, "anonymousId": "a-ann"})
    desk.done("erasure", "email", "ann@example.com")

    # When her events come again, alone and in a batch with Bob's
    desk.send(desk.web, {"type": "page", "anonymousId": "a-ann", "name": "Home"})
    desk.send(desk.web, {"type": "track", "userId": "u-ann", "event": "Viewed"}, BOB)
    desk.send(
        desk.app,
        {
            "type": "track",
            "userId": "someone",
            "context": {"traits": ANN["traits"]},
            "event": "Opened",
        },
    )

    # Then they are acknowledged, dropped and counted; Bob's is kept
    assert desk.profile_of("user_id", "u-ann").status_code == 404
    assert desk.profile_of("user_id", "u-bob").status_code == 200
    assert desk.profile_of("user_id", "someone").status_code == 404
    assert desk.tallies(desk.web) == {"accepted": 2, "suppressed": 2}
    assert desk.tallies(desk.app) == {"suppressed": 1}


def test_a_suppression_deletes_nothing_and_stops_new_events(desk: Desk) -> None:
    desk.send(desk.crm, ANN)
    events = _count(desk, "events")

    done = desk.done("suppression", "email", "ann@example.com", regulation="ccpa")

    assert done["status"] == "completed", done
    assert done["identifier_value"] == "ann@example.com"
    assert done["result"]["suppressed"] == 2  # every identifier the person holds
    assert "erased" not in done["result"]
    assert desk.profile_of("email", "ann@example.com").status_code == 200
    assert _count(desk, "events") == events + 2  # the request's own two log events
    desk.send(desk.crm, {"type": "track", "userId": "u-ann", "event": "Viewed"})
    assert desk.tallies(desk.crm) == {"accepted": 1, "suppressed": 1}


def test_an_identifier_can_be_suppressed_before_any_data_arrives(desk: Desk) -> None:
    done = desk.done("suppression", "phone", "090-1111-2222")

    assert done["status"] == "completed", done
    assert (done["result"]["profiles"], done["result"]["suppressed"]) == (0, 1)
    desk.send(
        desk.store, {"type": "identify", "userId": "u-new", "traits": {"phone": "+81 90 1111 2222"}}
    )
    assert desk.profile_of("user_id", "u-new").status_code == 404
    assert desk.tallies(desk.store) == {"suppressed": 1}


def test_a_request_whose_person_vanished_meanwhile_fails_with_the_reason(desk: Desk) -> None:
    desk.send(desk.crm, ANN)
    first = desk.ask("erasure", "user_id", "u-ann").json()["id"]
    second = desk.ask("export", "email", "ann@example.com").json()["id"]

    desk.platform.runner.run_until_idle()

    assert desk.request(first)["status"] == "completed"
    failed = desk.request(second)
    assert failed["status"] == "failed"
    assert failed["error"].startswith("privacy.person_not_found")
    assert failed["archive_url"] is None


def test_the_suppression_list_costs_nothing_while_empty(desk: Desk) -> None:
    listed = SuppressionList(desk.platform.db, desk.platform.suppressions.rules, 60.0)
    listed.refresh()
    assert len(listed) == 0
    assert listed.suppressed({"userId": "u-ann"}) is False
    assert listed.stale() is False

    desk.done("suppression", "user_id", "u-ann")

    assert listed.stale() is True  # this process added entries: reload at once
    listed.refresh()
    assert len(listed) == 1
    assert listed.suppressed({"type": "track", "userId": " u-ann "}) is True
    assert listed.suppressed({"type": "track", "userId": "u-bob"}) is False


def test_an_identifier_seen_first_after_its_suppression_still_counts(desk: Desk) -> None:
    # Given a phone suppressed before anyone held it
    done = desk.done("suppression", "phone", "090-3333-4444")
    assert done["status"] == "completed", done
    # When an event acknowledged before the list reached the collector (appended to the log as
    # the writer does) brings that phone to a person who also has a user id
    entry = build_entry(
        {"messageId": "late-1", "userId": "u-late", "traits": {"phone": "+81 90 3333 4444"}},
        message_type="identify", name=None, sent_at=None, original_timestamp=None,
        batch_context=None, received_at=utcnow(), source_id=desk.crm.id, source_kind="server",
        partitions=4, max_event_bytes=32 * 1024,
    )  # fmt: skip
    append(desk.platform.db, desk.platform.event_log, [entry])
    desk.platform.runner.run_until_idle()
    profile = desk.profile_of("user_id", "u-late")
    assert profile.status_code == 200, profile.text
    # Then the new identity node carries the digest and nobody may contact the person
    answer = desk.api(
        "GET", "/consent/check",
        params={"profile_id": profile.json()["id"], "purpose": "marketing", "channel": "sms"},
    ).json()  # fmt: skip
    assert answer["allowed"] is False and answer["reason"] == "suppressed", answer
