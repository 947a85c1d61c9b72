"""Segments and computed traits: definitions, the per-profile state they read, membership.

The state is a projection of the log kept by the ``segments`` consumer:

- ``segment_occurrences``: one row per (event, feature) for each event that passes a filter a
  definition uses (a *feature* is a filter plus the property it reads), with the time as epoch
  milliseconds so windows are integer comparisons on both databases;
- ``segment_trait_values``: each profile's traits, flattened to dotted paths;
- ``computed_trait_values``: each computed trait's value per profile.

Every value is kept three ways (``number``, ``text``, ``value`` as JSON), so a condition
compiles to a comparison on one plain column, in SQL and in Python alike.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.models.base import Base, BigIntPK, UtcDateTime


class SegmentDefinitionRow(Base):
    """A segment: its definition and where its computation stands."""

    __tablename__ = "segments"

    id: Mapped[str] = mapped_column(String(48), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    definition: Mapped[str] = mapped_column(Text)  # the condition tree, JSON
    version: Mapped[int] = mapped_column(Integer, default=1)
    computed_version: Mapped[int] = mapped_column(Integer, default=0)  # 0: never computed
    status: Mapped[str] = mapped_column(String(16), default="computing")  # computing | ready
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int] = mapped_column(BigInteger, default=0)
    members: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    computed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class ComputedTraitRow(Base):
    """A computed trait: its definition and where its computation stands."""

    __tablename__ = "computed_traits"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    definition: Mapped[str] = mapped_column(Text)  # ComputedTraitDefinition, JSON
    version: Mapped[int] = mapped_column(Integer, default=1)
    computed_version: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="computing")
    progress_done: Mapped[int] = mapped_column(BigInteger, default=0)
    progress_total: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    computed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class SegmentFeature(Base):
    """A feature some definition reads, and whether its history has been read from the log."""

    __tablename__ = "segment_features"

    key: Mapped[str] = mapped_column(String(24), primary_key=True)
    definition: Mapped[str] = mapped_column(Text)  # {"filter": ..., "property": ...}
    backfilled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SegmentOccurrence(Base):
    """An event that passed a feature's filter, with the value the feature reads."""

    __tablename__ = "segment_occurrences"
    __table_args__ = (
        Index("ix_segment_occurrences_profile", "profile_id", "feature"),
        Index("ix_segment_occurrences_feature_at", "feature", "at_ms", "profile_id"),
    )

    feature: Mapped[str] = mapped_column(String(24), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    profile_id: Mapped[str] = mapped_column(String(32))
    at_ms: Mapped[int] = mapped_column(BigInteger)  # event time, epoch milliseconds
    number: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    value: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON


class SegmentTraitValue(Base):
    """One trait of a profile at a dotted path (``address.prefecture``)."""

    __tablename__ = "segment_trait_values"
    __table_args__ = (Index("ix_segment_trait_values_path", "path", "profile_id"),)

    profile_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    path: Mapped[str] = mapped_column(String(260), primary_key=True)
    number: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    value: Mapped[str] = mapped_column(Text)  # JSON


class ComputedTraitValue(Base):
    """A computed trait's current value for one profile (absent: no event counted yet)."""

    __tablename__ = "computed_trait_values"
    __table_args__ = (Index("ix_computed_trait_values_profile", "profile_id"),)

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    profile_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    number: Mapped[float | None] = mapped_column(Float, nullable=True)
    text: Mapped[str | None] = mapped_column(Text, nullable=True)
    value: Mapped[str] = mapped_column(Text)  # JSON
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)


class SegmentMember(Base):
    """A profile in a segment now."""

    __tablename__ = "segment_members"
    __table_args__ = (Index("ix_segment_members_profile", "profile_id"),)

    segment_id: Mapped[str] = mapped_column(String(48), primary_key=True)
    profile_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    since: Mapped[datetime] = mapped_column(UtcDateTime)


class SegmentChange(Base):
    """Membership history: a profile entered or left a segment, when and why."""

    __tablename__ = "segment_changes"
    __table_args__ = (
        Index("ix_segment_changes_segment_at", "segment_id", "at"),
        Index("ix_segment_changes_profile_at", "profile_id", "at"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    segment_id: Mapped[str] = mapped_column(String(48))
    profile_id: Mapped[str] = mapped_column(String(32))
    entered: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    cause: Mapped[str] = mapped_column(String(16))  # event | time | merge | split | recompute...
    cause_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cause_received_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class SegmentTimer(Base):
    """When a profile's time-dependent conditions or computed traits next need a look."""

    __tablename__ = "segment_timers"
    __table_args__ = (Index("ix_segment_timers_due", "due_ms"),)

    profile_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    due_ms: Mapped[int] = mapped_column(BigInteger)


class SegmentProfile(Base):
    """A profile the engine has evaluated against every definition once; any other profile it
    meets is looked at in full (a newcomer can be in "never ordered" from its first page view)."""

    __tablename__ = "segment_profiles"

    profile_id: Mapped[str] = mapped_column(String(32), primary_key=True)


class SegmentWatermark(Base):
    """How far the engine has read a stream that is not the event log (the consent ledger)."""

    __tablename__ = "segment_watermarks"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    position: Mapped[int] = mapped_column(BigInteger, default=0)
