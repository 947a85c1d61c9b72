"""A computed trait's value from its feature's occurrences, and when it next changes. Pure.

Only occurrences in the window count (all of them without a window). No occurrence in the
window: the trait is absent. Values that are null count for ``count`` and ``days_since_last``
only; ``sum``, ``average``, ``min`` and ``max`` read numbers; ``first`` / ``last`` /
``most_frequent`` / ``distinct`` read any value (ties of ``most_frequent`` go to the value seen
last). ``distinct`` keeps the first 100 values in order of first sighting.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson

from kizuna.segments.definitions import ComputedTraitDefinition
from kizuna.segments.values import DAY_MS, Cell, cell_of

MAX_DISTINCT = 100
FAR = 2**62  # "never": no time-dependent change ahead


class Occurrence(NamedTuple):
    at_ms: int
    seq: int
    number: float | None
    text: str | None
    value: str | None  # JSON


def window_start(seconds: int | None, now_ms: int) -> int | None:
    return None if seconds is None else now_ms - seconds * 1000


def in_window(rows: Sequence[Occurrence], seconds: int | None, now_ms: int) -> list[Occurrence]:
    start = window_start(seconds, now_ms)
    return list(rows) if start is None else [r for r in rows if r.at_ms >= start]


def slides_out(rows: Sequence[Occurrence], seconds: int | None, now_ms: int) -> int:
    """The first instant the oldest counted occurrence is out of the window (FAR without one):
    counted while ``at >= now - window``, so out one millisecond after ``at + window``."""
    if seconds is None or not rows:
        return FAR
    return min(r.at_ms for r in rows) + seconds * 1000 + 1


def _most_frequent(rows: list[Occurrence]) -> Any:
    counts: dict[str, tuple[int, int, int]] = {}  # value -> (count, at, seq) of the last sighting
    for r in rows:
        if r.value is None:
            continue
        n = counts.get(r.value, (0, 0, 0))[0]
        counts[r.value] = (n + 1, r.at_ms, r.seq)
    if not counts:
        return None
    best = max(counts.items(), key=lambda item: item[1])
    return orjson.loads(best[0])


def _distinct(rows: list[Occurrence]) -> list[Any]:
    seen: dict[str, None] = {}
    for r in rows:
        if r.value is not None and r.value not in seen:
            seen[r.value] = None
    return [orjson.loads(v) for v in list(seen)[:MAX_DISTINCT]]


def compute(
    definition: ComputedTraitDefinition, rows: Sequence[Occurrence], now_ms: int
) -> tuple[Cell | None, int]:
    """(the value, when it next changes with time alone)."""
    seconds = definition.window.seconds if definition.window else None
    counted = sorted(in_window(rows, seconds, now_ms), key=lambda r: (r.at_ms, r.seq))
    if not counted:
        return None, FAR
    due = slides_out(counted, seconds, now_ms)
    how = definition.aggregation
    numbers = [r.number for r in counted if r.number is not None]
    valued = [r for r in counted if r.value is not None]
    result: Any
    if how == "count":
        result = len(counted)
    elif how == "sum":
        result = sum(numbers)
    elif how == "average":
        result = sum(numbers) / len(numbers) if numbers else None
    elif how == "min":
        result = min(numbers) if numbers else None
    elif how == "max":
        result = max(numbers) if numbers else None
    elif how == "first":
        result = orjson.loads(valued[0].value) if valued else None  # type: ignore[arg-type]
    elif how == "last":
        result = orjson.loads(valued[-1].value) if valued else None  # type: ignore[arg-type]
    elif how == "most_frequent":
        result = _most_frequent(counted)
    elif how == "distinct":
        result = _distinct(counted) or None
    elif how == "distinct_count":
        result = len({r.value for r in valued})
    else:  # days_since_last
        last = counted[-1].at_ms
        days = max(0, (now_ms - last) // DAY_MS)
        result = days
        due = min(due, last + (days + 1) * DAY_MS)
    return cell_of(result), due
