"""The identity rules, without a database: order independence, rules never broken, refusals."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kizuna.identity.config import IdentityRules, Limit
from kizuna.identity.identifiers import Identifier
from kizuna.identity.rules import Evidence, Partition, Trust, make_evidence, resolve

RULES = IdentityRules()
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def uid(v: str) -> Identifier:
    return Identifier("user_id", v)


def email(v: str) -> Identifier:
    return Identifier("email", v)


def anon(v: str) -> Identifier:
    return Identifier("anonymous_id", v)


def ev(
    *ids: Identifier,
    trust: Trust = "server",
    minute: int = 0,
    source: str = "src",
    rules: IdentityRules = RULES,
) -> Evidence:
    return make_evidence(source, trust, ids, T0 + timedelta(minutes=minute), rules)


# --- generated evidence --------------------------------------------------------------------

POOL = (
    [uid(f"u{i}") for i in range(4)]
    + [email(f"e{i}@x.jp") for i in range(4)]
    + [Identifier("phone", f"+8190000000{i}") for i in range(3)]
    + [anon(f"a{i}") for i in range(6)]
    + [Identifier("device_id", f"d{i}") for i in range(3)]
)
TIGHT = IdentityRules(
    limits={"email": Limit(values=2), "anonymous_id": Limit(values=3)},
    max_identifiers=6,
    max_merges=3,
)

evidence_strategy = st.builds(
    lambda ids, trust, minute, source, rules: ev(
        *ids, trust=trust, minute=minute, source=source, rules=rules
    ),
    st.lists(st.sampled_from(POOL), min_size=1, max_size=4, unique=True),
    st.sampled_from(["client", "server", "admin", "probabilistic"]),
    st.integers(min_value=0, max_value=5),  # few distinct times: ties are common
    st.sampled_from(["web", "pos"]),
    st.just(TIGHT),
)


def summary(p: Partition) -> tuple[object, ...]:
    return (p.as_sets(), sorted((c.evidence_key, c.reason) for c in p.conflicts), p.owner)


@settings(max_examples=300, deadline=None)
@given(st.lists(evidence_strategy, min_size=1, max_size=12), st.randoms())
def test_any_order_of_the_same_evidence_gives_the_same_partition(
    evidence: list[Evidence], rnd: random.Random
) -> None:
    first = resolve(evidence, TIGHT)
    shuffled = list(evidence)
    rnd.shuffle(shuffled)
    assert summary(resolve(shuffled, TIGHT)) == summary(first)


@settings(max_examples=300, deadline=None)
@given(st.lists(evidence_strategy, min_size=1, max_size=12))
def test_no_rule_is_ever_broken_in_the_result(evidence: list[Evidence]) -> None:
    partition = resolve(evidence, TIGHT)
    seen = [i for e in evidence for i in e.identifiers]
    assert set(partition.component_of) == set(seen)  # every identifier is someone
    for members, merges in zip(partition.components, partition.merges, strict=True):
        types = [i.type for i in members]
        assert types.count("user_id") <= 1
        assert types.count("email") <= 2
        assert types.count("anonymous_id") <= 3
        assert len(members) <= TIGHT.max_identifiers
        assert merges <= TIGHT.max_merges


@settings(max_examples=200, deadline=None)
@given(st.lists(evidence_strategy, min_size=2, max_size=10), st.data())
def test_retracting_evidence_gives_the_partition_as_if_it_never_arrived(
    evidence: list[Evidence], data: st.DataObject
) -> None:
    retracted = data.draw(st.sampled_from(evidence))
    kept = [e for e in evidence if e.key != retracted.key]
    after_merge = resolve(evidence, TIGHT)
    after_split = resolve(kept, TIGHT)
    assert summary(after_split) == summary(resolve(list(reversed(kept)), TIGHT))
    # and every applied link of the split result is supported by evidence still present
    keys = {e.key for e in kept}
    assert all(link.evidence_key in keys for link in after_split.links)
    assert after_merge.component_of.keys() >= after_split.component_of.keys()


@settings(max_examples=200, deadline=None)
@given(st.lists(evidence_strategy, min_size=1, max_size=12))
def test_every_joined_pair_is_explained_by_a_chain_of_evidence(evidence: list[Evidence]) -> None:
    partition = resolve(evidence, TIGHT)
    by_key = {e.key: e for e in evidence}
    for members in partition.components:
        first, *rest = sorted(members)
        for other in rest:
            chain = partition.explain(first, other)
            assert chain is not None and chain
            node = first
            for link in chain:  # each step is a pair the evidence really saw together
                assert {link.a, link.b} <= set(by_key[link.evidence_key].identifiers)
                node = link.b if link.a == node else link.a
            assert node == other


# --- the rules by example ------------------------------------------------------------------


def test_anonymous_browsing_joins_the_customer_at_login() -> None:
    browsing = ev(anon("web-1"), trust="client", minute=0)
    login = ev(uid("u1"), anon("web-1"), trust="client", minute=5)
    newsletter = ev(email("ann@example.com"), uid("u1"), trust="server", minute=9)

    p = resolve([browsing, login, newsletter], RULES)

    assert p.as_sets() == {frozenset({anon("web-1"), uid("u1"), email("ann@example.com")})}
    assert p.conflicts == []


def test_a_client_cannot_bridge_two_known_customers_but_a_server_can() -> None:
    ann = ev(uid("ann"), email("ann@x.jp"), minute=0)
    bob = ev(uid("bob-email"), email("bob@x.jp"), minute=0)
    phone_ann = ev(email("ann@x.jp"), Identifier("phone", "+819011112222"), minute=1)
    phone_bob = ev(email("bob@x.jp"), Identifier("phone", "+819033334444"), minute=1)
    client_bridge = ev(email("ann@x.jp"), email("bob@x.jp"), anon("a"), trust="client", minute=2)

    p = resolve([ann, bob, phone_ann, phone_bob, client_bridge], RULES)

    assert not p.same(uid("ann"), uid("bob-email"))
    assert [(c.reason, c.identifiers) for c in p.conflicts] == [
        ("identity.untrusted_bridge", (email("bob@x.jp"),))
    ]
    assert p.same(anon("a"), uid("ann"))  # a new anonymous id still attaches to the anchor


def test_a_client_may_attach_an_anonymous_profile_to_a_known_customer() -> None:
    known = ev(uid("u1"), email("u1@x.jp"), minute=0)
    device = ev(Identifier("device_id", "d1"), anon("a1"), trust="client", minute=1)
    bridge = ev(email("u1@x.jp"), anon("a1"), trust="client", minute=2)

    p = resolve([known, device, bridge], RULES)

    assert p.same(uid("u1"), Identifier("device_id", "d1"))


def test_two_user_ids_never_share_a_profile_and_the_first_evidence_wins() -> None:
    first = ev(uid("u1"), email("shared@x.jp"), minute=0)
    second = ev(uid("u2"), email("shared@x.jp"), minute=1)

    p = resolve([second, first], RULES)

    assert p.same(uid("u1"), email("shared@x.jp"))
    assert not p.same(uid("u2"), email("shared@x.jp"))
    (conflict,) = p.conflicts
    assert conflict.reason == "identity.unique_conflict"
    assert p.owner[second.key] == p.component_of[uid("u2")]  # u2's events stay u2's


def test_a_limit_keeps_extra_values_out_of_the_profile() -> None:
    rules = IdentityRules(limits={"email": Limit(values=1)})
    first = ev(uid("u1"), email("a@x.jp"), minute=0, rules=rules)
    second = ev(uid("u1"), email("b@x.jp"), minute=1, rules=rules)

    p = resolve([first, second], rules)

    assert not p.same(uid("u1"), email("b@x.jp"))
    assert [c.reason for c in p.conflicts] == ["identity.limit_exceeded"]


def test_a_windowed_limit_counts_only_values_first_seen_in_the_window() -> None:
    rules = IdentityRules(limits={"anonymous_id": Limit(values=1, window="week")})
    old = ev(uid("u1"), anon("old"), minute=0, rules=rules)
    new = ev(uid("u1"), anon("new"), minute=60 * 24 * 10, rules=rules)
    newer = ev(uid("u1"), anon("newer"), minute=60 * 24 * 11, rules=rules)

    p = resolve([old, new, newer], rules)

    assert p.same(uid("u1"), anon("new"))
    assert not p.same(uid("u1"), anon("newer"))


def test_a_cap_stops_a_junk_value_from_swallowing_everyone() -> None:
    rules = IdentityRules(max_merges=2)
    phone = [Identifier("phone", f"+8190000000{i}") for i in range(5)]
    people = [ev(email(f"p{i}@x.jp"), phone[i], minute=0, rules=rules) for i in range(5)]
    # a shared kiosk id typed in by staff for every customer, from a trusted source
    junk = [ev(email(f"p{i}@x.jp"), anon("kiosk"), minute=1 + i, rules=rules) for i in range(5)]

    p = resolve(people + junk, rules)

    assert max(p.merges) == 2
    assert [c.reason for c in p.conflicts] == ["identity.cap_merges"] * 2
    assert not p.same(email("p0@x.jp"), email("p3@x.jp"))


def test_explain_names_the_evidence_of_each_step() -> None:
    login = ev(uid("u1"), anon("a1"), trust="client", minute=0)
    crm = ev(uid("u1"), email("u1@x.jp"), minute=1)

    chain = resolve([login, crm], RULES).explain(anon("a1"), email("u1@x.jp"))

    assert chain is not None
    assert [(link.a, link.b, link.evidence_key) for link in chain] == [
        (uid("u1"), anon("a1"), login.key),
        (uid("u1"), email("u1@x.jp"), crm.key),
    ]
