"""Time in one place: always timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime) -> datetime:
    """Naive datetimes are read as UTC (Segment's rule for timestamps without an offset)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_millis(value: datetime) -> datetime:
    """Segment's timestamps carry milliseconds; keep stored columns equal to the payload."""
    return value.replace(microsecond=value.microsecond // 1000 * 1000)
