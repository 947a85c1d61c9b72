"""Time in one place: always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are read as UTC (Segment's rule for timestamps without an offset)."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    """``2026-11-22T08:25:00.000Z``: Segment's form, in UTC with milliseconds."""
    if value.tzinfo is not UTC:
        value = as_utc(value)
    return value.isoformat(timespec="milliseconds")[:-6] + "Z"  # drop "+00:00"


# Every event of a request shares its receivedAt (and usually its sentAt): format those once.
iso_shared = lru_cache(maxsize=64)(iso)


def to_millis(value: datetime) -> datetime:
    """Segment's timestamps carry milliseconds; keep stored columns equal to the payload."""
    extra = value.microsecond % 1000
    return value.replace(microsecond=value.microsecond - extra) if extra else value
