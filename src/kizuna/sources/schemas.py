from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

SourceKind = Literal[
    "web", "app", "store", "call_center", "email", "social", "line", "server", "import"
]
PlanMode = Literal["allow", "warn", "quarantine", "reject"]


class SourceCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    kind: SourceKind


class TrackingPlanIn(BaseModel):
    mode: PlanMode
    plan: dict[str, Any] | None = Field(
        default=None,
        description="`{events: {name: JSON Schema of properties}, traits: JSON Schema, "
        "unplanned: allow|violation}`",
    )


class SourceOut(BaseModel):
    id: str
    name: str
    kind: str
    channel: str
    write_key: str | None = Field(
        description="null when withheld: a trusted source's key (kinds server, import, store, "
        "call_center by default) is shown only to API keys holding `sources:write`; a client "
        "source's key (web, app, ...) is public by design and always shown"
    )
    write_key_prefix: str = Field(description="The key's first characters, to tell keys apart")
    created_at: datetime
    revoked_at: datetime | None
    plan_mode: str
    plan: dict[str, Any] | None
    plan_version: int


class SourceList(BaseModel):
    items: list[SourceOut]
