"""Whatever the order and batching of events, the stored profiles are a from-scratch resolution.

The identity consumer takes shortcuts (``identity.extension``: a group of new evidence that
only grows one profile is resolved against that profile alone) and otherwise resolves the
graph around the new evidence (``identity.resolution``). Both must leave the database exactly
where resolving all the stored evidence at once with the pure rules would: the same people,
each piece of evidence owned by its anchor's person, the same refusals. Events come from a
small pool of identifiers, from a browser and from a trusted server, late and early, in random
batches, with tight windowed limits so that refusals happen, and now and then a retraction.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from kizuna.config import Settings
from kizuna.identity.config import IdentityRules, Limit
from kizuna.identity.identifiers import Identifier
from kizuna.identity.personal_data import IDENTITY
from kizuna.identity.rules import resolve
from kizuna.identity.service import retract
from kizuna.identity.store import closure, evidence_of, retracted, unpairs
from kizuna.identity.subscribers import identity_consumer
from kizuna.kit.ids import new_message_id
from kizuna.metrics import REGISTRY
from kizuna.models import IdentityEvidence, IdentityNode
from kizuna.runtime import Platform
from tests.factories import make_source
from tests.identity.test_resolution import entry
from tests.support import append, unique

RULES = IdentityRules(
    max_merges=1,
    limits={
        "user_id": Limit(values=1),
        "email": Limit(values=2, window="year"),
        "device_id": Limit(values=2, window="week"),
        "anonymous_id": Limit(values=3, window="week"),
    },
)
T0 = datetime(2026, 11, 1, tzinfo=UTC)

event = st.fixed_dictionaries(
    {
        "server": st.booleans(),
        "hour": st.integers(0, 24 * 30),
        "anon": st.none() | st.sampled_from(["a0", "a1", "a2", "a3"]),
        "user": st.none() | st.sampled_from(["u0", "u1", "u2"]),
        "email": st.none() | st.sampled_from(["e0@x.jp", "e1@x.jp", "e2@x.jp"]),
        "device": st.none() | st.sampled_from(["d0", "d1", "d2", "d3"]),
    }
)


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    platform = Platform(settings, consumers=[identity_consumer(RULES)])
    yield platform
    platform.stop()


def message(spec: dict[str, Any]) -> dict[str, Any]:
    traits = {"email": spec["email"]} if spec["email"] else {}
    found: dict[str, Any] = {
        "type": "identify",
        "messageId": new_message_id(),
        "traits": traits,
        "anonymousId": spec["anon"] or f"solo-{new_message_id()}",
    }
    if spec["user"]:
        found["userId"] = spec["user"]
    if spec["device"]:
        found["context"] = {"device": {"id": spec["device"]}}
    return found


def send(platform: Platform, sources: dict[bool, Any], specs: list[dict[str, Any]]) -> None:
    entries = [entry(sources[spec["server"]], spec["hour"] * 60, **message(spec)) for spec in specs]
    append(platform.db, platform.event_log, entries)
    platform.runner.run_until_idle()


def stored_people(conn: Any) -> dict[str, frozenset[Identifier]]:
    people: dict[str, set[Identifier]] = {}
    for id_type, value, profile_id in conn.execute(
        select(IdentityNode.type, IdentityNode.value, IdentityNode.profile_id)
    ):
        people.setdefault(profile_id, set()).add(Identifier(id_type, value))
    return {p: frozenset(members) for p, members in people.items()}


def check_against_scratch(platform: Platform) -> None:
    with platform.db.engine.connect() as conn:
        everything = [row.id for row in conn.execute(select(IdentityEvidence.id))]
        found = closure(conn, everything, [])
        active = evidence_of(conn, found, retracted(conn), RULES)
        expected = resolve(active.values(), RULES)
        people = stored_people(conn)
        alone = {ident for ident, _ in found.nodes.values()} - set(expected.component_of)
        assert None not in people, "every node belongs to a profile"
        assert set(people.values()) == set(expected.components) | {frozenset({i}) for i in alone}
        live = {
            p: n
            for p, n in conn.execute(
                text("SELECT id, identifiers FROM profiles WHERE merged_into IS NULL")
            )
        }
        assert set(live) == set(people), "nodes belong to live profiles, and each has nodes"
        assert all(live[p] == len(members) for p, members in people.items())
        for ev_id, row in found.evidence.items():
            evidence = active.get(ev_id)
            anchor = evidence.anchor if evidence is not None else unpairs(row.identifiers)[0]
            assert anchor in people[row.profile_id], "evidence is owned by its anchor's person"
        conflicts = set(
            conn.execute(
                text(
                    "SELECT e.key, c.reason FROM identity_conflicts c"
                    " JOIN identity_evidence e ON e.id = c.evidence_id"
                )
            )
        )
        assert conflicts == {(c.evidence_key, c.reason) for c in expected.conflicts}


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.lists(event, min_size=1, max_size=8), min_size=1, max_size=5),
    retraction=st.none() | st.tuples(st.integers(0, 4), st.integers(0, 40)),
)
def test_profiles_equal_a_resolution_from_scratch(
    platform: Platform,
    batches: list[list[dict[str, Any]]],
    retraction: tuple[int, int] | None,
) -> None:
    with platform.db.write() as session:
        for table in IDENTITY.tables:
            session.execute(text(f"DELETE FROM {table}"))
        session.commit()
    sources = {
        False: make_source(platform.db, unique("web"), "web"),
        True: make_source(platform.db, unique("crm"), "server"),
    }
    for n, batch in enumerate(batches):
        send(platform, sources, batch)
        if retraction is not None and retraction[0] == n:
            with platform.db.write() as session:
                seqs = [
                    seq
                    for (seq,) in session.execute(
                        text("SELECT seq FROM identity_event_evidence ORDER BY seq")
                    )
                ]
                if seqs:
                    target = seqs[retraction[1] % len(seqs)]
                    retract(
                        session, RULES, kind="event", target=str(target), reason="test", actor="t"
                    )
                session.commit()
    check_against_scratch(platform)


def test_a_merge_that_would_pass_the_cap_is_refused_on_the_fast_path_too(
    platform: Platform,
) -> None:
    sources = {
        False: make_source(platform.db, unique("web"), "web"),
        True: make_source(platform.db, unique("crm"), "server"),
    }
    person = {"server": True, "user": None, "email": None, "device": None}
    # Given a profile that took its one allowed merge (a user id and an email joined)
    send(
        platform,
        sources,
        [
            {**person, "hour": 1, "anon": "a0", "user": "u0"},
            {**person, "hour": 2, "anon": "a1", "email": "e0@x.jp"},
            {**person, "hour": 3, "anon": "a0", "user": "u0", "email": "e0@x.jp"},
        ],
    )
    # When one batch brings a new browser, then that browser with the profile's email
    send(
        platform,
        sources,
        [
            {**person, "server": False, "hour": 10, "anon": "x"},
            {**person, "server": False, "hour": 11, "anon": "x", "email": "e0@x.jp"},
        ],
    )
    # Then joining them would be a second merge: refused, as resolving from scratch has it
    check_against_scratch(platform)
    with platform.db.engine.connect() as conn:
        reasons = [r for (r,) in conn.execute(text("SELECT reason FROM identity_conflicts"))]
    assert reasons == ["identity.cap_merges"]


def resolved(path: str) -> float:
    return (
        REGISTRY.get_sample_value("kizuna_identity_evidence_resolved_total", {"path": path}) or 0.0
    )


def test_the_metric_counts_evidence_by_the_path_it_took(platform: Platform) -> None:
    sources = {
        False: make_source(platform.db, unique("web"), "web"),
        True: make_source(platform.db, unique("crm"), "server"),
    }
    person = {"server": True, "anon": None, "user": None, "email": None, "device": None}
    before = {path: resolved(path) for path in ("extended", "closure", "graph")}
    # A new person; then the next event, in order; then one from before it (late); then
    # evidence joining two profiles
    send(platform, sources, [{**person, "hour": 10, "anon": "m0", "user": "u0"}])
    send(platform, sources, [{**person, "hour": 20, "anon": "m0", "email": "e0@x.jp"}])
    send(platform, sources, [{**person, "hour": 15, "anon": "m1", "user": "u0"}])
    send(platform, sources, [{**person, "hour": 30, "anon": "m2", "user": "u1"}])
    send(platform, sources, [{**person, "hour": 40, "anon": "m2", "email": "e0@x.jp"}])
    moved = {path: resolved(path) - before[path] for path in before}
    assert moved == {"extended": 3, "closure": 1, "graph": 1}
    check_against_scratch(platform)
