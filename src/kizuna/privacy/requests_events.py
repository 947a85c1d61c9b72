"""The log events that carry data subject requests to the ``privacy`` consumer.

They come from the system source ``kizuna`` like the identity graph's own events and carry only
the request id (and, for the second step, the log position the first step saw), so identity
resolution passes over them and they hold no personal data.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from kizuna.pipeline.log import LoggedEvent, SqlEventLog
from kizuna.pipeline.system_events import SYSTEM_SOURCE, system_entry

REQUESTED = "privacy.request"
RUN = "privacy.request.run"


def append_request_event(
    conn: Connection, event_log: SqlEventLog, request_id: str, *, after_seq: int | None = None
) -> None:
    """``privacy.request`` (new request) or, with ``after_seq``, ``privacy.request.run``."""
    name = REQUESTED if after_seq is None else RUN
    properties: dict[str, Any] = {"request_id": request_id}
    if after_seq is not None:
        properties["after_seq"] = after_seq
    entry = system_entry(name, properties, event_log.partitions, "privacy")
    event_log.lock_for_append(conn)
    event_log.append(conn, [entry])


def is_request_event(event: LoggedEvent) -> bool:
    return event.source_id == SYSTEM_SOURCE and event.name in (REQUESTED, RUN)
