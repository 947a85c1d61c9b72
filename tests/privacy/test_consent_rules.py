"""The consent rule, DB-free: a no stands until a newer explicit yes; merges are commutative."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from kizuna.privacy.consent_config import ConsentCatalogue
from kizuna.privacy.consent_rules import Choice, decide, decide_summary, summarise

CATALOGUE = ConsentCatalogue()
EMAIL = CATALOGUE.group("marketing", "email")
POST = CATALOGUE.group("marketing", "post")
ANALYTICS = CATALOGUE.group("analytics", "all")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
assert EMAIL and POST and ANALYTICS


def choice(day: int, granted: bool, explicit: bool = True, channel: str = "email", **kw) -> Choice:  # type: ignore[no-untyped-def]
    return Choice(
        "marketing",
        channel,
        granted,
        explicit and granted,
        T0 + timedelta(days=day),
        row_id=day,
        **kw,
    )


def test_opt_in_groups_say_no_until_the_person_says_yes() -> None:
    assert decide([], EMAIL).reason == "not_opted_in"
    assert not decide([], EMAIL).allowed
    assert decide([choice(1, True)], EMAIL).allowed


def test_opt_out_groups_say_yes_until_the_person_says_no() -> None:
    assert decide([], POST).allowed and decide([], POST).reason == "default"
    assert not decide([choice(1, False, channel="post")], POST).allowed


def test_a_no_stands_against_a_later_soft_opt_in() -> None:
    decision = decide([choice(1, False), choice(5, True, explicit=False)], EMAIL)
    assert (decision.allowed, decision.reason) == (False, "opted_out")
    assert decision.since == T0 + timedelta(days=1)


def test_a_newer_explicit_yes_lifts_a_no() -> None:
    decision = decide([choice(1, False), choice(5, True)], EMAIL)
    assert (decision.allowed, decision.reason, decision.row_id) == (True, "opted_in", 5)


def test_merged_ledgers_resolve_to_the_most_restrictive_unless_a_newer_opt_in() -> None:
    ann = [choice(3, False)]  # opted out on day 3
    anna = [choice(1, True)]  # the same person, opted in on day 1 under another email
    assert not decide(ann + anna, EMAIL).allowed
    later = [choice(7, True)]  # ... and again on day 7
    assert decide(ann + later, EMAIL).allowed


def test_channel_all_counts_for_every_channel_of_its_purpose() -> None:
    everything_off = Choice("marketing", "all", False, False, T0)
    assert not decide(
        [choice(0, True, channel="sms"), everything_off], CATALOGUE.group("marketing", "sms")
    ).allowed  # type: ignore[arg-type]
    assert decide([everything_off], ANALYTICS).allowed  # another purpose: untouched


def test_an_address_question_hears_only_that_address_and_the_general_ones() -> None:
    rows = [choice(1, True, address="a@example.com"), choice(2, False, address="b@example.com")]
    assert decide(rows, EMAIL, address="a@example.com").allowed
    assert not decide(rows, EMAIL, address="b@example.com").allowed
    assert not decide(rows, EMAIL).allowed  # about the person: every no is heard


def test_suppression_wins_over_everything() -> None:
    assert decide([choice(1, True)], EMAIL, suppressed=True).reason == "suppressed"


rows = st.lists(
    st.builds(
        lambda day, granted, explicit, channel: choice(day, granted, explicit, channel),
        st.integers(0, 30),
        st.booleans(),
        st.booleans(),
        st.sampled_from(["email", "all", "sms"]),
    ),
    max_size=12,
)


@given(rows, rows, st.randoms())
def test_the_answer_depends_on_the_set_not_the_order(
    a: list[Choice], b: list[Choice], rnd: random.Random
) -> None:
    merged = a + b
    shuffled = list(merged)
    rnd.shuffle(shuffled)
    assert decide(merged, EMAIL) == decide(shuffled, EMAIL) == decide(b + a, EMAIL)


@given(rows, rows)
def test_a_merge_never_allows_what_a_standing_newer_no_forbids(
    a: list[Choice], b: list[Choice]
) -> None:
    relevant = [c for c in a + b if c.channel in ("email", "all")]
    denials = [c for c in relevant if not c.granted]
    if denials:
        last_no = max(c.at for c in denials)
        newer_yes = any(c.granted and c.explicit and c.at > last_no for c in relevant)
        assert decide(a + b, EMAIL).allowed == newer_yes


_CHANNELS = st.sampled_from(["email", "sms", "post", "all"])
_ADDRESSES = st.sampled_from([None, "a@example.jp", "b@example.jp"])
_CHOICES = st.lists(
    st.builds(
        lambda day, granted, explicit, channel, address, row: Choice(
            "marketing",
            channel,
            granted,
            explicit and granted,
            T0 + timedelta(days=day),
            address,
            row,
        ),
        st.integers(0, 6),  # few days: ties between a no and a yes are common
        st.booleans(),
        st.booleans(),
        _CHANNELS,
        _ADDRESSES,
        st.integers(1, 10_000),
    ),
    max_size=8,
)


@given(_CHOICES, st.sampled_from([EMAIL, POST]), _ADDRESSES, st.booleans())
def test_the_summary_decides_as_the_rows_do(
    choices: list[Choice], group: Any, address: str | None, suppressed: bool
) -> None:
    """An audience is decided from three times per person (``summarise`` is what the database
    computes): the answer, its reason and since when must be those of the rule on the rows."""
    by_rows = decide(choices, group, address=address, suppressed=suppressed)
    summary = summarise(choices, group, address=address)
    by_summary = decide_summary(summary, group, suppressed=suppressed)
    assert (by_summary.allowed, by_summary.reason, by_summary.since) == (
        by_rows.allowed,
        by_rows.reason,
        by_rows.since,
    )
