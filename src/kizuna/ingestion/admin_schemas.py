from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, Field


class QuarantinedOut(BaseModel):
    id: int
    source_id: str
    message_id: str
    type: str
    name: str | None
    received_at: datetime
    plan_version: int
    violations: list[dict[str, Any]]
    payload: dict[str, Any]
    status: str


class QuarantinedList(BaseModel):
    items: list[QuarantinedOut]


class ReplayRequest(BaseModel):
    source_id: str | None = Field(default=None, max_length=64)
    ids: list[int] | None = Field(default=None, max_length=10_000)


class ReplayOut(BaseModel):
    replayed: int
    still_violating: int


class TallyOut(BaseModel):
    source_id: str
    day: date
    outcome: str
    count: int


class TallyList(BaseModel):
    items: list[TallyOut]
