"""The overview's hourly bar chart as geometry (no I/O); the template draws it as inline SVG."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from kizuna.activity.service import HourlyCount
from kizuna.kit.clock import as_utc

CHANNEL_COLOURS = {
    "web": "#4f46e5",
    "app": "#0891b2",
    "store": "#d97706",
    "call_center": "#db2777",
    "email": "#16a34a",
    "social": "#9333ea",
    "line": "#65a30d",
    "server": "#475569",
    "import": "#a16207",
}
OTHER_COLOUR = "#94a3b8"

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 12, 28


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    channel: str
    hour: datetime
    count: int


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class LegendItem:
    channel: str
    colour: str
    total: int


@dataclass(frozen=True)
class HourlyChart:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    bars: list[Bar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    legend: list[LegendItem]
    total: int


def nice_ceiling(value: int, steps: int = 4) -> int:
    """The smallest ``steps`` × (1, 2 or 5 × 10ⁿ) that is at least ``value``: round axis labels."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            candidate = step * factor
            if candidate * steps >= value:
                return candidate * steps
        step *= 10


def hourly_chart(counts: Sequence[HourlyCount], now: datetime, hours: int = 24) -> HourlyChart:
    """Stacked bars per hour (oldest left), one colour per channel, biggest channel at the base."""
    last = as_utc(now).replace(minute=0, second=0, microsecond=0)
    slots = [last - timedelta(hours=hours - 1 - i) for i in range(hours)]
    index = {hour: i for i, hour in enumerate(slots)}
    per_slot: list[dict[str, int]] = [{} for _ in slots]
    totals: dict[str, int] = {}
    for row in counts:
        i = index.get(as_utc(row.hour))
        if i is None or row.count <= 0:
            continue
        per_slot[i][row.channel] = per_slot[i].get(row.channel, 0) + row.count
        totals[row.channel] = totals.get(row.channel, 0) + row.count
    order = sorted(totals, key=lambda c: (-totals[c], c))
    top_value = nice_ceiling(max((sum(s.values()) for s in per_slot), default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot_width = plot_width / hours
    bar_width = slot_width * 0.72
    bars: list[Bar] = []
    for i, slot in enumerate(per_slot):
        base = float(HEIGHT - BOTTOM)
        x = LEFT + i * slot_width + (slot_width - bar_width) / 2
        for channel in order:
            count = slot.get(channel, 0)
            if not count:
                continue
            height = plot_height * count / top_value
            base -= height
            colour = CHANNEL_COLOURS.get(channel, OTHER_COLOUR)
            bars.append(Bar(x, base, bar_width, height, colour, channel, slots[i], count))
    y_ticks = [
        Tick(HEIGHT - BOTTOM - plot_height * k / 4, str(top_value * k // 4)) for k in range(5)
    ]
    x_ticks = [
        Tick(LEFT + (i + 0.5) * slot_width, f"{slots[i]:%H}:00")
        for i in range(hours)
        if slots[i].hour % 3 == 0
    ]
    legend = [LegendItem(c, CHANNEL_COLOURS.get(c, OTHER_COLOUR), totals[c]) for c in order]
    return HourlyChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        right=WIDTH - RIGHT,
        bottom=HEIGHT - BOTTOM,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        legend=legend,
        total=sum(totals.values()),
    )


@dataclass(frozen=True)
class DailyBar:
    x: float
    y: float
    width: float
    height: float
    day: str
    count: int


@dataclass(frozen=True)
class DailyChart:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    bars: list[DailyBar]
    y_ticks: list[Tick]
    x_ticks: list[Tick]


def daily_chart(points: Sequence[tuple[str, int]]) -> DailyChart:
    """One bar per day (``(YYYY-MM-DD, count)``, oldest first) on the same axes as the hourly
    chart; a label every seventh day, counting back from the newest."""
    top_value = nice_ceiling(max((n for _, n in points), default=0))
    plot_width = WIDTH - LEFT - RIGHT
    plot_height = HEIGHT - TOP - BOTTOM
    slot_width = plot_width / max(len(points), 1)
    bar_width = slot_width * 0.72
    bars = []
    for i, (day, count) in enumerate(points):
        height = plot_height * max(count, 0) / top_value
        x = LEFT + i * slot_width + (slot_width - bar_width) / 2
        bars.append(DailyBar(x, HEIGHT - BOTTOM - height, bar_width, height, day, count))
    y_ticks = [
        Tick(HEIGHT - BOTTOM - plot_height * k / 4, str(top_value * k // 4)) for k in range(5)
    ]
    last = len(points) - 1
    x_ticks = [
        Tick(LEFT + (i + 0.5) * slot_width, day[5:])
        for i, (day, _) in enumerate(points)
        if (last - i) % 7 == 0
    ]
    return DailyChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        top=TOP,
        right=WIDTH - RIGHT,
        bottom=HEIGHT - BOTTOM,
        bars=bars,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
    )
