"""The 360 view's API shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SourceSeen(BaseModel):
    source_id: str
    first_seen_at: datetime


class IdentifierOut(BaseModel):
    type: str
    value: str
    first_seen_at: datetime
    last_seen_at: datetime
    events: int
    sources: list[SourceSeen]


class ChannelOut(BaseModel):
    channel: str
    events: int
    first_seen_at: datetime
    last_seen_at: datetime


class Provenance(BaseModel):
    source_id: str
    channel: str
    seq: int
    at: datetime


class TraitValue(BaseModel):
    value: Any
    first: Provenance
    last: Provenance


class TraitOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    value: Any
    survivorship: str
    from_: list[Provenance] = Field(alias="from", description="the observations chosen")
    history: list[TraitValue]


class ConflictOut(BaseModel):
    evidence_id: int
    reason: str
    identifiers: list[str]
    detected_at: datetime


class ProfileOut(BaseModel):
    id: str
    created_at: datetime
    updated_at: datetime
    rules_version: int
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    channels_used: list[str]
    identifiers: list[IdentifierOut]
    channels: list[ChannelOut]
    traits: dict[str, TraitOut]
    conflicts: list[ConflictOut]


class TimelineOut(BaseModel):
    items: list[dict[str, Any]]
    next_before: int | None


class EvidenceOut(BaseModel):
    id: int
    kind: str
    source_id: str
    trust: str
    first_seen_at: datetime
    first_seq: int | None
    events: int
    note: str | None


class ExplainStep(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: str = Field(alias="from")
    to: str
    evidence: EvidenceOut


class ExplainOut(BaseModel):
    profile_id: str
    a: str
    b: str
    steps: list[ExplainStep]
