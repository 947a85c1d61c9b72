"""Events Kizuna itself appends to the log (source ``kizuna``, channel ``server``).

Profile merges and splits, data subject request steps: facts for later consumers. They carry
no identifiers, so identity resolution passes over them.
"""

from __future__ import annotations

from typing import Any

from kizuna.ingestion.rules import LogEntry, build_entry
from kizuna.kit.clock import utcnow
from kizuna.pipeline.log import SYSTEM_SOURCE

__all__ = ["SYSTEM_SOURCE", "system_entry"]
MAX_EVENT_BYTES = 32 * 1024


def system_entry(name: str, properties: dict[str, Any], partitions: int, domain: str) -> LogEntry:
    """A ``track`` event named ``name``, marked ``context.kizuna = domain``."""
    now = utcnow()
    message = {"event": name, "properties": properties, "context": {"kizuna": domain}}
    return build_entry(
        message,
        message_type="track",
        name=name,
        sent_at=None,
        original_timestamp=now,
        batch_context=None,
        received_at=now,
        source_id=SYSTEM_SOURCE,
        source_kind="server",
        partitions=partitions,
        max_event_bytes=MAX_EVENT_BYTES,
    )
