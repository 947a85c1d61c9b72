"""Identity resolution through the pipeline, on both backends: profiles, merges, splits."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kizuna.config import Settings
from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier
from kizuna.identity.service import link, retract
from kizuna.ingestion.rules import LogEntry, build_entry
from kizuna.kit.ids import new_message_id
from kizuna.runtime import Platform
from tests.factories import make_source
from tests.support import append, rows, scalar

RULES = IdentityRules()
T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    platform = Platform(settings)
    yield platform
    platform.stop()


def entry(source: Any, minute: int, **message: Any) -> LogEntry:
    message.setdefault("messageId", new_message_id())
    message.setdefault("type", "track")
    if message["type"] == "track":
        message.setdefault("event", "Viewed")
    at = T0 + timedelta(minutes=minute)
    return build_entry(
        message,
        message_type=message["type"],
        name=message.get("event"),
        sent_at=None,
        original_timestamp=at,
        batch_context=None,
        received_at=at,
        source_id=source.id,
        source_kind=source.kind,
        partitions=4,
        max_event_bytes=32 * 1024,
    )


def send(platform: Platform, *entries: LogEntry) -> None:
    append(platform.db, platform.event_log, list(entries))
    platform.runner.run_until_idle()


def profile_of(platform: Platform, id_type: str, value: str) -> str | None:
    return scalar(
        platform.db,
        "SELECT profile_id FROM identity_nodes WHERE type = :t AND value = :v",
        t=id_type,
        v=value,
    )


def live_profiles(platform: Platform) -> int:
    return scalar(platform.db, "SELECT count(*) FROM profiles WHERE merged_into IS NULL")


def test_a_person_across_channels_becomes_one_profile(platform: Platform) -> None:
    web = make_source(platform.db, "web", "web")
    app = make_source(platform.db, "app", "app")
    pos = make_source(platform.db, "pos", "store")
    calls = make_source(platform.db, "calls", "call_center")
    # Given anonymous browsing, an app login, a store purchase and a phone call
    send(
        platform,
        entry(web, 0, anonymousId="web-anon-1", event="Product Viewed"),
        entry(web, 1, anonymousId="web-anon-1", event="Product Added"),
    )
    send(
        platform,
        entry(
            app,
            5,
            type="identify",
            userId="u-ann",
            anonymousId="app-anon-1",
            context={"device": {"id": "dev-1"}},
            traits={"email": "Ann@X.jp"},
        ),
    )
    send(platform, entry(web, 6, type="identify", userId="u-ann", anonymousId="web-anon-1"))
    send(
        platform,
        entry(
            pos,
            30,
            userId=None,
            anonymousId="pos-till-7",
            event="Order Completed",
            context={"traits": {"loyalty_card": "LC-1", "email": "ann@x.jp"}},
        ),
    )
    send(
        platform,
        entry(
            calls,
            60,
            anonymousId="call-99",
            event="Call Ended",
            context={"traits": {"phone": "090-1111-2222", "loyalty_card": "LC-1"}},
        ),
    )

    # Then every identifier resolves to one profile, whose id is the oldest (the web visitor's)
    ann = profile_of(platform, "anonymous_id", "web-anon-1")
    for id_type, value in [
        ("user_id", "u-ann"),
        ("email", "ann@x.jp"),
        ("device_id", "dev-1"),
        ("loyalty_card", "LC-1"),
        ("phone", "+819011112222"),
        ("anonymous_id", "app-anon-1"),
        ("anonymous_id", "call-99"),
    ]:
        assert profile_of(platform, id_type, value) == ann, (id_type, value)
    assert live_profiles(platform) == 1
    # and all six events are on its timeline
    assert (
        scalar(
            platform.db,
            "SELECT count(*) FROM identity_event_evidence ee JOIN identity_evidence ev "
            "ON ev.id = ee.evidence_id WHERE ev.profile_id = :p",
            p=ann,
        )
        == 6
    )
    merged = rows(
        platform.db,
        "SELECT profile_id, kind, other_profile_id FROM profile_changes "
        "WHERE profile_id = :p ORDER BY id",
        p=ann,
    )
    assert merged and {kind for _, kind, _ in merged} == {"merged"}
    # and each merge is also an event in the log, from the system source, for later consumers
    emitted = rows(
        platform.db,
        "SELECT source_id, name, payload FROM events WHERE name = 'profile.merged' ORDER BY seq",
    )
    survivors_and_merged = {(s, m) for s, kind, m in merged if s == ann}
    assert {
        (
            __import__("json").loads(p)["properties"]["profile_id"],
            __import__("json").loads(p)["properties"]["merged_profile_id"],
        )
        for _, _, p in emitted
    } == survivors_and_merged
    assert {source for source, _, _ in emitted} == {"kizuna"}


def test_a_client_cannot_merge_two_known_customers(platform: Platform) -> None:
    crm = make_source(platform.db, "crm", "server")
    web = make_source(platform.db, "web", "web")
    send(
        platform,
        entry(crm, 0, type="identify", userId="u1", traits={"email": "one@x.jp"}),
        entry(crm, 0, type="identify", userId="u2", traits={"email": "two@x.jp"}),
    )
    # When a browser claims both emails belong to one visitor
    send(
        platform,
        entry(web, 5, anonymousId="a1", context={"traits": {"email": "one@x.jp"}}),
        entry(web, 6, anonymousId="a1", context={"traits": {"email": "two@x.jp"}}),
    )

    # Then the two customers stay apart and the refusal is recorded
    assert profile_of(platform, "user_id", "u1") != profile_of(platform, "user_id", "u2")
    assert rows(platform.db, "SELECT reason FROM identity_conflicts") == [
        ("identity.untrusted_bridge",)
    ]


def test_retracting_the_evidence_splits_and_restores_the_profiles(platform: Platform) -> None:
    crm = make_source(platform.db, "crm", "server")
    send(platform, entry(crm, 0, type="identify", userId="u1", traits={"email": "one@x.jp"}))
    send(
        platform,
        entry(crm, 1, type="identify", anonymousId="kiosk", traits={"phone": "0311112222"}),
    )
    before = {
        v: profile_of(platform, t, v) for t, v in [("user_id", "u1"), ("phone", "+81311112222")]
    }
    # Given a wrong link from the store's kiosk: the phone joins u1's profile
    wrong = entry(crm, 2, type="identify", userId="u1", traits={"phone": "0311112222"})
    send(platform, wrong)
    assert profile_of(platform, "phone", "+81311112222") == before["u1"]
    assert live_profiles(platform) == 1

    # When that event is retracted
    with platform.db.write() as session:
        seq = scalar(platform.db, "SELECT max(seq) FROM events WHERE source_id <> 'kizuna'")
        outcome = retract(
            session, RULES, kind="event", target=str(seq), reason="kiosk error", actor="test"
        )
        session.commit()

    # Then both profiles are back with their own ids, and a replay cannot undo the split
    assert {
        v: profile_of(platform, t, v) for t, v in [("user_id", "u1"), ("phone", "+81311112222")]
    } == before
    assert live_profiles(platform) == 2
    assert outcome.split
    send(platform, entry(crm, 3, type="identify", userId="u1", traits={"email": "one@x.jp"}))
    assert live_profiles(platform) == 2


def test_an_admin_link_merges_and_retracting_the_source_splits(platform: Platform) -> None:
    web = make_source(platform.db, "web", "web")
    send(platform, entry(web, 0, anonymousId="a1"), entry(web, 1, anonymousId="a2"))
    with platform.db.write() as session:
        link(
            session,
            RULES,
            [Identifier("anonymous_id", "a1"), Identifier("anonymous_id", "a2")],
            note="same person",
        )
        session.commit()
    assert profile_of(platform, "anonymous_id", "a1") == profile_of(platform, "anonymous_id", "a2")

    with platform.db.write() as session:
        retract(session, RULES, kind="source", target="admin", reason="undo", actor="test")
        session.commit()
    assert profile_of(platform, "anonymous_id", "a1") != profile_of(platform, "anonymous_id", "a2")


def test_blocked_and_unparseable_values_are_counted_not_linked(platform: Platform) -> None:
    web = make_source(platform.db, "web", "web")
    send(
        platform,
        entry(web, 0, anonymousId="a1", context={"traits": {"email": "null"}}),
        entry(web, 1, anonymousId="a2", context={"traits": {"email": "null"}}),
        entry(web, 2, anonymousId="a3", context={"traits": {"phone": "call me"}}),
    )

    assert live_profiles(platform) == 3
    assert rows(
        platform.db, "SELECT type, value, reason, count FROM identity_refusals ORDER BY type"
    ) == [
        ("email", "null", "identity.blocked", 2),
        ("phone", "call me", "identity.invalid_phone", 1),
    ]


def test_late_evidence_gives_the_same_profiles_as_in_order(platform: Platform) -> None:
    crm = make_source(platform.db, "crm", "server")

    def run(order: list[int], tag: str) -> set[frozenset[str]]:
        evidence = [
            entry(crm, 0, type="identify", userId=f"u1{tag}", traits={"email": f"s@{tag}.jp"}),
            entry(crm, 1, type="identify", userId=f"u2{tag}", traits={"email": f"s@{tag}.jp"}),
            entry(crm, 2, type="identify", userId=f"u2{tag}", traits={"phone": "0312345678"}),
        ]
        for i in order:  # each event in its own batch, in this order
            send(platform, evidence[i])
        groups: dict[str, set[str]] = {}
        for t, v, p in rows(platform.db, "SELECT type, value, profile_id FROM identity_nodes"):
            if tag in v or t == "phone":
                groups.setdefault(p, set()).add(f"{t}:{v.replace(tag, '')}")
        return {frozenset(g) for g in groups.values()}

    in_order = run([0, 1, 2], "a")
    platform.db.dispose()
    with platform.db.write() as session:  # the phone is shared by both runs: forget run "a"
        for table in (
            "identity_nodes",
            "identity_evidence",
            "identity_evidence_nodes",
            "identity_event_evidence",
            "profiles",
            "identity_conflicts",
        ):
            session.execute(__import__("sqlalchemy").text(f"DELETE FROM {table}"))
        session.commit()
    late = run([2, 1, 0], "b")

    assert (
        in_order
        == late
        == {
            frozenset({"user_id:u1", "email:s@.jp"}),
            frozenset({"user_id:u2", "phone:+81312345678"}),
        }
    )
