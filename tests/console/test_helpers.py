"""The console's pure helpers: redirect targets, login throttling, the chart, the snippets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kizuna.activity.service import HourlyCount
from kizuna.console.charts import hourly_chart, nice_ceiling
from kizuna.console.security import LoginThrottle, safe_next, tokens_match
from kizuna.console.snippets import source_snippets

NOW = datetime(2026, 11, 22, 9, 41, tzinfo=UTC)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console/sources?x=1", "/console/sources?x=1"),
        ("/console/", "/console/"),
        ("https://evil.example/console/", "/console/"),
        ("//evil.example/console/", "/console/"),
        ("/\\evil.example", "/console/"),
        ("/api/v1/sources", "/console/"),
        ("javascript:alert(1)", "/console/"),
        ("", "/console/"),
        (None, "/console/"),
    ],
)
def test_only_console_paths_are_followed_after_login(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_tokens_match_only_when_both_are_present_and_equal() -> None:
    assert tokens_match("abc", "abc") is True
    assert tokens_match("abc", "abd") is False
    assert tokens_match("", "") is False
    assert tokens_match(None, "abc") is False


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_lock_the_pair_out_for_a_minute() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    key = throttle.key("Admin@Example.com ", "10.0.0.1")

    for _ in range(4):
        throttle.failed(key)
    before = throttle.retry_after(key)
    throttle.failed(key)
    locked = throttle.retry_after(key)
    clock.now += 60.5
    after = throttle.retry_after(key)

    assert (before, locked, after) == (0.0, 60.0, 0.0)


def test_failures_older_than_the_window_do_not_count() -> None:
    clock = FakeClock()
    throttle = LoginThrottle(clock=clock)
    key = throttle.key("a@example.com", "10.0.0.1")

    for _ in range(4):
        throttle.failed(key)
    clock.now += 61
    throttle.failed(key)

    assert throttle.retry_after(key) == 0.0


def test_a_lockout_is_per_email_and_address() -> None:
    throttle = LoginThrottle(clock=FakeClock())
    for _ in range(5):
        throttle.failed(throttle.key("a@example.com", "10.0.0.1"))

    assert throttle.retry_after(throttle.key("a@example.com", "10.0.0.2")) == 0.0
    assert throttle.retry_after(throttle.key("b@example.com", "10.0.0.1")) == 0.0


def test_a_success_clears_earlier_failures() -> None:
    throttle = LoginThrottle(clock=FakeClock())
    key = throttle.key("a@example.com", "10.0.0.1")
    for _ in range(4):
        throttle.failed(key)

    throttle.succeeded(key)
    throttle.failed(key)

    assert throttle.retry_after(key) == 0.0


@pytest.mark.parametrize(
    ("value", "expected"), [(0, 4), (3, 4), (5, 8), (9, 20), (41, 80), (180, 200), (2001, 4000)]
)
def test_the_axis_top_is_a_round_number(value: int, expected: int) -> None:
    assert nice_ceiling(value) == expected


def test_the_chart_stacks_channels_per_hour_biggest_first_and_drops_older_hours() -> None:
    this_hour = NOW.replace(minute=0)
    counts = [
        HourlyCount(this_hour, "web", 6),
        HourlyCount(this_hour, "store", 2),
        HourlyCount(this_hour - timedelta(hours=1), "web", 4),
        HourlyCount(this_hour - timedelta(hours=24), "web", 99),
    ]

    chart = hourly_chart(counts, NOW)

    assert [(b.channel, b.hour.hour, b.count) for b in chart.bars] == [
        ("web", 8, 4),
        ("web", 9, 6),
        ("store", 9, 2),
    ]
    assert [(i.channel, i.total) for i in chart.legend] == [("web", 10), ("store", 2)]
    assert [t.label for t in chart.y_ticks] == ["0", "2", "4", "6", "8"]
    assert chart.total == 12
    web_now, store_now = chart.bars[1], chart.bars[2]
    assert store_now.y + store_now.height == pytest.approx(web_now.y)
    assert web_now.y + web_now.height == chart.bottom


def test_the_chart_labels_every_third_hour_oldest_first() -> None:
    chart = hourly_chart([], NOW)

    assert [t.label for t in chart.x_ticks] == [
        "12:00",
        "15:00",
        "18:00",
        "21:00",
        "00:00",
        "03:00",
        "06:00",
        "09:00",
    ]
    assert chart.bars == []


def test_snippets_carry_the_write_key_and_the_host() -> None:
    snippets = {s.id: s.code for s in source_snippets("wk_abc", "https://kizuna.example/")}

    assert snippets["python"].splitlines()[:4] == [
        "import segment.analytics as analytics",
        "",
        "analytics.write_key = 'wk_abc'",
        "analytics.host = 'https://kizuna.example'",
    ]
    assert snippets["curl"].splitlines()[:2] == [
        "curl -X POST 'https://kizuna.example/v1/track' \\",
        "  -u 'wk_abc:' \\",
    ]
    assert "Authorization: 'Basic ' + btoa('wk_abc:')" in snippets["fetch"]
