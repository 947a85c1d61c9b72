"""Events Kizuna itself appends to the log (source ``kizuna``, channel ``server``).

Profile merges and splits, data subject request steps: facts for later consumers. They carry
no identifiers, so identity resolution passes over them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson

from kizuna.ingestion.rules import EventTooLarge, LogEntry, partition_for, routing_key
from kizuna.kit.clock import iso_shared, to_millis, utcnow
from kizuna.kit.ids import new_message_id
from kizuna.pipeline.log import SYSTEM_SOURCE

__all__ = ["SYSTEM_SOURCE", "system_entry"]
MAX_EVENT_BYTES = 32 * 1024


def system_entry(
    name: str,
    properties: dict[str, Any],
    partitions: int,
    domain: str,
    now: datetime | None = None,
) -> LogEntry:
    """A ``track`` event named ``name``, marked ``context.kizuna = domain``, stamped ``now``.

    Built directly rather than through ``build_entry``: the segments engine appends one per
    membership change, and these messages need none of a client's normalisation.
    """
    at = to_millis(now or utcnow())
    stamp = iso_shared(at)
    message_id = new_message_id()
    message = {
        "type": "track",
        "event": name,
        "properties": properties,
        "context": {"kizuna": domain},
        "messageId": message_id,
        "originalTimestamp": stamp,
        "timestamp": stamp,
        "receivedAt": stamp,
    }
    payload = orjson.dumps(message)
    if len(payload) > MAX_EVENT_BYTES:
        raise EventTooLarge(len(payload), MAX_EVENT_BYTES)
    return LogEntry(
        source_id=SYSTEM_SOURCE,
        message_id=message_id,
        type="track",
        name=name,
        channel="server",
        user_id=None,
        anonymous_id=None,
        timestamp=at,
        received_at=at,
        partition=partition_for(routing_key(None, None), partitions),
        payload=payload.decode(),
    )
