"""``profile.merged`` and ``profile.split`` as events in the log, for later consumers.

They are appended by the transaction that changed the graph, so they exist exactly when the
change does. They come from the system source ``kizuna`` (channel ``server``) and carry no
identifiers, so identity resolution passes over them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection

from kizuna.identity.resolution import Outcome
from kizuna.ingestion.rules import LogEntry
from kizuna.pipeline.log import SqlEventLog
from kizuna.pipeline.system_events import system_entry


def _entry(name: str, properties: dict[str, Any], partitions: int) -> LogEntry:
    return system_entry(name, properties, partitions, "identity")


def emit_changes(conn: Connection, log: SqlEventLog, outcome: Outcome, cause: str) -> None:
    entries = [
        _entry(
            "profile.merged",
            {"profile_id": survivor, "merged_profile_id": merged, "cause": cause},
            log.partitions,
        )
        for survivor, merged in outcome.merged
    ] + [
        _entry(
            "profile.split",
            {"profile_id": kept, "split_profile_id": split_off, "cause": cause},
            log.partitions,
        )
        for kept, split_off in outcome.split
    ]
    if entries:
        log.lock_for_append(conn)
        log.append(conn, entries)
