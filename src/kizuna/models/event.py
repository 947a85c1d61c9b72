"""The event log and what ingestion keeps beside it (dedup keys, quarantine, tallies)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.models.base import Base, BigIntPK, UtcDateTime


class Event(Base):
    """One accepted event. ``seq`` is the log position; ``payload`` is the raw message."""

    __tablename__ = "events"

    seq: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    partition: Mapped[int] = mapped_column(SmallInteger)
    source_id: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    anonymous_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    timestamp: Mapped[datetime] = mapped_column(UtcDateTime)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))
    violations: Mapped[str | None] = mapped_column(Text, nullable=True)
    payload: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_events_partition_seq", "partition", "seq"),
        Index("ix_events_source_seq", "source_id", "seq"),
    )


class DedupKey(Base):
    """(source, messageId) seen within the dedup window."""

    __tablename__ = "dedup_keys"

    source_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UtcDateTime, index=True)


class QuarantinedEvent(Base):
    """An event held aside by its source's tracking plan, replayable once the plan is fixed."""

    __tablename__ = "quarantined_events"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    source_id: Mapped[str] = mapped_column(String(32), index=True)
    message_id: Mapped[str] = mapped_column(String(128))
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime)
    plan_version: Mapped[int] = mapped_column(Integer)
    violations: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="held")
    resolved_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)


class IngestTally(Base):
    """Durable per-source, per-day counts of every outcome (accepted, duplicate, quarantined...)."""

    __tablename__ = "ingest_tallies"

    source_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    outcome: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
