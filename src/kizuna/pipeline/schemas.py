from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel


class EventOut(BaseModel):
    seq: int
    source_id: str
    message_id: str
    type: str
    name: str | None
    channel: str
    user_id: str | None
    anonymous_id: str | None
    timestamp: datetime
    received_at: datetime
    status: str
    violations: list[dict[str, Any]] | None
    payload: dict[str, Any]


class EventPage(BaseModel):
    items: list[EventOut]
    next_before: int | None


class PartitionState(BaseModel):
    partition: int
    position: int
    head: int
    lag: int


class ConsumerState(BaseModel):
    name: str
    description: str
    lag: int
    partitions: list[PartitionState]


class ConsumerList(BaseModel):
    items: list[ConsumerState]


class DeadLetterOut(BaseModel):
    id: int
    consumer: str
    seq: int
    partition: int
    attempts: int
    error: str
    failed_at: datetime
    status: str
    resolved_at: datetime | None


class DeadLetterList(BaseModel):
    items: list[DeadLetterOut]
