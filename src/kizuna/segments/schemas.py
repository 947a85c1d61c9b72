"""The segments API's shapes. Requests are the definition documents themselves
(``SegmentDefinition``, ``ComputedTraitDefinition``); responses add where computing stands."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from kizuna.segments.definitions import Aggregation, Condition, EventFilter, Window

Status = Literal["computing", "ready"]


class ProgressOut(BaseModel):
    done: int = Field(description="profiles computed so far by the running full recompute")
    total: int = Field(description="profiles to compute (0 until the recompute has counted)")


class SegmentOut(BaseModel):
    id: str
    name: str
    description: str
    condition: Condition
    version: int = Field(description="1, plus one for each change of the condition")
    status: Status = Field(
        description="`computing` while a full recompute of this version runs, then `ready` "
        "(kept current event by event from then on)"
    )
    progress: ProgressOut
    members: int = Field(description="profiles in the segment now")
    created_at: datetime
    updated_at: datetime
    computed_at: datetime | None = Field(description="when the last full recompute finished")


class SegmentList(BaseModel):
    items: list[SegmentOut]


class ComputedTraitOut(BaseModel):
    key: str
    name: str
    aggregation: Aggregation
    filter: EventFilter
    property: str | None
    window: Window | None
    version: int
    status: Status
    progress: ProgressOut
    created_at: datetime
    updated_at: datetime
    computed_at: datetime | None


class ComputedTraitList(BaseModel):
    items: list[ComputedTraitOut]


class PreviewOut(BaseModel):
    count: int = Field(description="profiles matching the condition now")
    population: int = Field(description="live profiles the condition was evaluated over")
    sample: list[str] = Field(description="a few matching profile ids (smallest ids first)")


class MemberOut(BaseModel):
    profile_id: str
    since: datetime = Field(description="when the profile entered the segment")


class MembersPage(BaseModel):
    items: list[MemberOut]
    next: str | None = Field(description="pass as `after` for the next page; null on the last page")


class MembershipOut(BaseModel):
    segment_id: str
    name: str
    since: datetime


class ProfileSegmentsOut(BaseModel):
    profile_id: str
    segments: list[MembershipOut]


class ChangeOut(BaseModel):
    segment_id: str
    profile_id: str
    change: Literal["entered", "exited"]
    at: datetime
    cause: str = Field(description="event, time, merge, split, recompute, ...")
    cause_seq: int | None = Field(description="the log position of the event that caused it")


class HistoryOut(BaseModel):
    items: list[ChangeOut] = Field(description="newest first")


class ChartPoint(BaseModel):
    day: str = Field(description="YYYY-MM-DD (UTC)")
    members: int = Field(description="members at the end of the day")


class ChartOut(BaseModel):
    segment_id: str
    points: list[ChartPoint] = Field(description="oldest first; the last point is today")
