"""Token buckets per write key, driven with an explicit clock."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from kizuna.ingestion.ratelimit import RateLimiter


def test_a_burst_is_allowed_then_the_next_request_waits() -> None:
    limiter = RateLimiter(rate_per_second=1, burst=2)

    waits = [limiter.take("wk", now=100.0) for _ in range(3)]

    assert waits == [0.0, 0.0, 1.0]


def test_tokens_refill_at_the_rate() -> None:
    limiter = RateLimiter(rate_per_second=2, burst=1)
    limiter.take("wk", now=0.0)

    assert limiter.take("wk", now=0.25) == 0.25
    assert limiter.take("wk", now=0.5) == 0.0


def test_a_long_idle_spell_refills_only_up_to_the_burst() -> None:
    limiter = RateLimiter(rate_per_second=10, burst=3)
    limiter.take("wk", now=0.0)

    waits = [limiter.take("wk", now=1000.0) for _ in range(4)]

    assert waits == [0.0, 0.0, 0.0, 0.1]


def test_keys_have_their_own_buckets() -> None:
    limiter = RateLimiter(rate_per_second=1, burst=1)
    limiter.take("flood", now=0.0)

    assert limiter.take("flood", now=0.0) == 1.0
    assert limiter.take("quiet", now=0.0) == 0.0


def test_a_burst_below_one_still_lets_one_request_through() -> None:
    limiter = RateLimiter(rate_per_second=1, burst=0)

    assert limiter.take("wk", now=0.0) == 0.0


def test_a_zero_rate_never_refills() -> None:
    limiter = RateLimiter(rate_per_second=0, burst=1)
    limiter.take("wk", now=0.0)

    assert limiter.take("wk", now=10_000.0) == math.inf


@given(
    rate=st.floats(min_value=0.1, max_value=100),
    burst=st.integers(min_value=1, max_value=50),
    gaps=st.lists(st.floats(min_value=0, max_value=2), min_size=1, max_size=200),
)
def test_never_more_than_burst_plus_rate_times_elapsed(
    rate: float, burst: int, gaps: list[float]
) -> None:
    limiter = RateLimiter(rate_per_second=rate, burst=burst)
    now, allowed = 0.0, 0
    for gap in gaps:
        now += gap
        allowed += limiter.take("wk", now=now) == 0.0

    assert allowed <= burst + rate * now + 1e-9
