"""``may_contact`` for whole audiences, on both backends: the database's summaries against the
pure rule on the same ledger, for randomised ledgers with several identifiers per person,
per-address rows, rows for every channel, ties, other purposes, and suppressed identifiers."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert

from kizuna.config import Settings
from kizuna.identity.identifiers import Identifier
from kizuna.models import ConsentRecord, IdentityNode, Profile, Suppression
from kizuna.privacy import contact
from kizuna.privacy.consent import may_contact
from kizuna.privacy.consent_config import ConsentCatalogue
from kizuna.privacy.consent_rules import Choice, decide
from kizuna.privacy.contact import may_contact_many
from kizuna.privacy.keys import digest_secret, identifier_digest, identifier_digester
from kizuna.runtime import Platform

CATALOGUE = ConsentCatalogue()
T0 = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
QUESTIONS = [  # purpose, channel, address
    ("marketing", "email", None),
    ("marketing", "email", "p7@example.jp"),
    ("marketing", "sms", None),
    ("marketing", "post", None),  # opt-out semantics
    ("analytics", "all", None),
]


@dataclass
class Person:
    profile_id: str
    identifiers: list[tuple[str, str]]
    rows: list[Choice] = field(default_factory=list)
    suppressed: bool = False


@pytest.fixture
def platform(settings: Settings) -> Iterator[Platform]:
    platform = Platform(settings, consumers=[])
    yield platform
    platform.stop()


def _people(platform: Platform, count: int, seed: int) -> list[Person]:
    """``count`` people written straight to the tables, and what the rule should see."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    people = []
    for i in range(count):
        identifiers = [("user_id", f"u{i}"), ("email", f"p{i}@example.jp")]
        if rng.random() < 0.3:
            identifiers.append(("email", f"p{i}.work@example.jp"))
        if rng.random() < 0.5:
            identifiers.append(("phone", f"+8190{i:08d}"))
        people.append(Person(f"prof_{i:06d}", identifiers))
    ledger, nodes = [], []
    for person in people:
        for id_type, value in person.identifiers:
            nodes.append(
                {"type": id_type, "value": value, "profile_id": person.profile_id,
                 "first_seen_at": now, "last_seen_at": now, "events": 1}
            )  # fmt: skip
        for _ in range(rng.choice((0, 0, 1, 2, 3, 5))):
            id_type, value = rng.choice(person.identifiers)
            purpose, channel = rng.choice(
                [("marketing", "email"), ("marketing", "sms"), ("marketing", "post"),
                 ("marketing", "all"), ("analytics", "all"), ("profiling", "all")]
            )  # fmt: skip
            granted = rng.random() < 0.55
            explicit = granted and rng.random() < 0.7
            address = value if id_type in ("email", "phone") and rng.random() < 0.6 else None
            # whole seconds, microseconds, and ties between rows of one person
            at = T0 + timedelta(days=rng.randrange(4), microseconds=rng.choice((0, 0, 250_000)))
            ledger.append(
                {"identifier_type": id_type, "identifier_value": value,
                 "profile_id": person.profile_id, "purpose": purpose, "channel": channel,
                 "address": address, "granted": granted, "explicit": explicit,
                 "legal_basis": "consent", "source": "test", "actor": "",
                 "effective_at": at, "recorded_at": now}
            )  # fmt: skip
            person.rows.append(Choice(purpose, channel, granted, explicit, at, address))
    with platform.db.engine.begin() as conn:
        digest = identifier_digester(digest_secret(conn))  # as the identity consumer stores it
        for node in nodes:
            node["digest"] = digest(node["type"], node["value"])
        conn.execute(
            insert(Profile),
            [{"id": p.profile_id, "anchor_node_id": -n, "created_at": now, "updated_at": now,
              "merged_into": None, "merges": 0, "identifiers": len(p.identifiers),
              "rules_version": 1} for n, p in enumerate(people)],
        )  # fmt: skip
        conn.execute(insert(IdentityNode), nodes)
        if ledger:
            conn.execute(insert(ConsentRecord), ledger)
    with platform.db.write() as session:
        secret = digest_secret(session)
        suppressed = rng.sample(people, max(1, count // 20))
        for person in suppressed:
            person.suppressed = True
        rows = [
            {"digest": identifier_digest(secret, Identifier(*rng.choice(p.identifiers))),
             "identifier_type": "x", "reason": "suppression", "request_id": None,
             "created_at": now} for p in suppressed
        ]  # fmt: skip
        for row, person in zip(rows, suppressed, strict=True):  # the type the digest is of
            row["identifier_type"] = next(
                t for t, v in person.identifiers
                if identifier_digest(secret, Identifier(t, v)) == row["digest"]
            )  # fmt: skip
        # and digests of identifiers nobody holds (an erased person's)
        rows += [
            {"digest": identifier_digest(secret, Identifier("email", f"gone{i}@example.jp")),
             "identifier_type": "email", "reason": "erasure", "request_id": None,
             "created_at": now} for i in range(30)
        ]  # fmt: skip
        session.execute(insert(Suppression), rows)
        session.commit()
    return people


def _expected(person: Person, purpose: str, channel: str, address: str | None) -> tuple:  # type: ignore[type-arg]
    group = CATALOGUE.group(purpose, channel)
    assert group is not None
    d = decide(person.rows, group, address=address, suppressed=person.suppressed)
    return d.allowed, d.reason, d.since


@pytest.mark.parametrize("seed", [3, 11])
def test_an_audience_is_decided_as_the_rule_decides_each_person(
    platform: Platform, seed: int
) -> None:
    people = _people(platform, 260, seed)  # 260: the large-audience path (list read once)
    ids = [p.profile_id for p in people]
    reasons = set()
    with platform.db.read() as session:
        for purpose, channel, address in QUESTIONS:
            answers = may_contact_many(session, CATALOGUE, ids, purpose, channel, address=address)
            for person in people:
                got = answers[person.profile_id]
                assert (got.allowed, got.reason, got.since) == _expected(
                    person, purpose, channel, address
                ), (person, purpose, channel, address)
                reasons.add(got.reason)
    # the ledgers were varied enough to reach every answer
    assert reasons == {"opted_in", "opted_out", "not_opted_in", "default", "suppressed"}


def test_one_person_at_a_time_answers_the_same(platform: Platform) -> None:
    """Small audiences ask the suppression table for their own digests instead."""
    people = _people(platform, 80, 5)
    with platform.db.read() as session:
        for purpose, channel, address in QUESTIONS[:3]:
            for person in people[:40] + [p for p in people if p.suppressed]:
                got = may_contact(
                    session, CATALOGUE, person.profile_id, purpose, channel, address=address
                )
                expected = _expected(person, purpose, channel, address)
                assert (got.allowed, got.reason, got.since) == expected


def test_large_audiences_are_read_in_parts(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = _people(platform, 230, 8)
    monkeypatch.setattr(contact, "PARTS", {"sqlite": 70, "postgresql": 70})
    ids = [p.profile_id for p in people] + [people[0].profile_id]  # a repeat is harmless
    with platform.db.read() as session:
        answers = may_contact_many(session, CATALOGUE, ids, "marketing", "email")
    assert len(answers) == len(people)
    for person in people:
        got = answers[person.profile_id]
        assert (got.allowed, got.reason, got.since) == _expected(person, "marketing", "email", None)
