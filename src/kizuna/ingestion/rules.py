"""Pure ingestion rules: Segment's clock-skew correction, channel stamping, partitioning, size.

No I/O here: these functions turn a validated message into the row the log stores.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from kizuna.kit.clock import as_utc, iso, iso_shared, to_millis
from kizuna.kit.ids import new_message_id

# A source's kind is also the channel its events are stamped with.
SOURCE_KINDS = (
    "web",
    "app",
    "store",
    "call_center",
    "email",
    "social",
    "line",
    "server",
    "import",
)
# Server-side and import sources may speak for another channel (a POS relay, a CRM import).
CHANNEL_OVERRIDE_KINDS = frozenset({"server", "import"})


@dataclass(slots=True)
class LogEntry:
    """An accepted message, ready to be appended to the log (or held in quarantine)."""

    source_id: str
    message_id: str
    type: str
    name: str | None
    channel: str
    user_id: str | None
    anonymous_id: str | None
    timestamp: datetime
    received_at: datetime
    partition: int
    payload: str
    status: str = "ok"  # ok | warned | quarantine
    violations: str | None = None
    plan_version: int = 0


class EventTooLarge(ValueError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"event is {size} bytes; the limit is {limit}")
        self.size = size
        self.limit = limit


def corrected_timestamp(
    received_at: datetime, sent_at: datetime | None, original: datetime | None
) -> datetime:
    """Segment's rule: ``timestamp = receivedAt - (sentAt - originalTimestamp)``.

    Without ``sentAt`` the device clock cannot be corrected and the original stands; without an
    original timestamp the event happened when it was received.
    """
    if original is None:
        return received_at
    original = as_utc(original)
    if sent_at is None:
        return original
    return received_at - (as_utc(sent_at) - original)


def partition_for(routing_key: str, partitions: int) -> int:
    """Events of one device (anonymousId) or person (userId) stay in one ordered partition."""
    return zlib.crc32(routing_key.encode()) % partitions


def routing_key(user_id: str | None, anonymous_id: str | None) -> str:
    return anonymous_id or user_id or ""


def stamp_channel(kind: str, context: dict[str, Any] | None) -> str:
    if kind in CHANNEL_OVERRIDE_KINDS and context:
        claimed = context.get("channel")
        if isinstance(claimed, str) and claimed in SOURCE_KINDS:
            return claimed
    return kind


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def build_entry(
    raw: dict[str, Any],
    *,
    message_type: str,
    name: str | None,
    sent_at: datetime | None,
    original_timestamp: datetime | None,
    batch_context: dict[str, Any] | None,
    received_at: datetime,
    source_id: str,
    source_kind: str,
    partitions: int,
    max_event_bytes: int,
) -> LogEntry:
    """Normalise one raw message (already validated) into a log entry."""
    message = dict(raw)
    message.pop("writeKey", None)
    message["type"] = message_type
    if batch_context:
        own = message.get("context")
        message["context"] = {**batch_context, **own} if isinstance(own, dict) else batch_context
    message_id = message.get("messageId") or new_message_id()
    message["messageId"] = message_id
    received_at = to_millis(received_at)
    timestamp = to_millis(corrected_timestamp(received_at, sent_at, original_timestamp))
    if original_timestamp is not None:
        message["originalTimestamp"] = iso(original_timestamp)
    if sent_at is not None:
        message["sentAt"] = iso_shared(sent_at)
    message["timestamp"] = iso(timestamp)
    message["receivedAt"] = iso_shared(received_at)
    user_id = _text(message.get("userId"))
    anonymous_id = _text(message.get("anonymousId"))
    payload = orjson.dumps(message)
    if len(payload) > max_event_bytes:
        raise EventTooLarge(len(payload), max_event_bytes)
    return LogEntry(
        source_id=source_id,
        message_id=message_id,
        type=message_type,
        name=name,
        channel=stamp_channel(source_kind, message.get("context")),
        user_id=user_id,
        anonymous_id=anonymous_id,
        timestamp=timestamp,
        received_at=received_at,
        partition=partition_for(routing_key(user_id, anonymous_id), partitions),
        payload=payload.decode(),
    )
