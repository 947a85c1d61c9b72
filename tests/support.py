"""Helpers shared by the ingestion, pipeline and end-to-end tests.

Waiting is always polling a condition against a deadline, never a fixed sleep.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx
from sqlalchemy import text

from kizuna.db import Database
from kizuna.ingestion.rules import LogEntry, build_entry
from kizuna.kit.clock import utcnow
from kizuna.pipeline.log import SqlEventLog

T = TypeVar("T")


def eventually(check: Callable[[], T], *, timeout: float = 30.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {value!r})")
        time.sleep(0.05)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def scalar(db: Database, sql: str, **params: Any) -> Any:
    with db.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(db: Database, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def log_entry(
    message_id: str,
    *,
    source_id: str = "src_test",
    anonymous_id: str = "device-1",
    message_type: str = "track",
    name: str | None = "Order Completed",
    status: str = "ok",
    partitions: int = 4,
    received_at: datetime | None = None,
) -> LogEntry:
    """A log entry built by the real ingestion rules, as the collector would."""
    raw: dict[str, Any] = {"messageId": message_id, "anonymousId": anonymous_id}
    if message_type == "track":
        raw["event"] = name
    entry = build_entry(
        raw,
        message_type=message_type,
        name=name,
        sent_at=None,
        original_timestamp=None,
        batch_context=None,
        received_at=received_at or utcnow(),
        source_id=source_id,
        source_kind="web",
        partitions=partitions,
        max_event_bytes=32 * 1024,
    )
    entry.status = status
    if status == "quarantine":
        entry.violations = '[{"path": "event", "keyword": "unplanned", "message": "x"}]'
        entry.plan_version = 1
    return entry


def append(db: Database, event_log: SqlEventLog, entries: list[LogEntry]) -> None:
    """Append straight to the log (what the writer does after dedup), in one transaction."""
    with db.engine.begin() as conn:
        event_log.lock_for_append(conn)
        event_log.append(conn, entries)


# --- HTTP ------------------------------------------------------------------------------------


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def track(url: str, write_key: str, **fields: Any) -> httpx.Response:
    body = {"userId": "user-1", "event": "Order Completed", **fields}
    return httpx.post(f"{url}/v1/track", json=body, auth=(write_key, ""), timeout=30)


def api_get(url: str, key: str, path: str, **params: Any) -> Any:
    response = httpx.get(f"{url}/api/v1{path}", params=params, headers=bearer(key), timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def events_of(url: str, key: str, source_id: str, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api_get(
        url, key, "/events", source=source_id, limit=1000, **params
    )["items"]
    return items


def error_of(response: httpx.Response) -> tuple[int, str]:
    """``(status, code)`` of an error answer."""
    body: Mapping[str, Any] = response.json()
    return response.status_code, body["error"]["code"]
