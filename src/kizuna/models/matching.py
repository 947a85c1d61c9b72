"""Probable matches: an offline record the matcher tied to a profile, linked or awaiting review."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.models.base import Base, BigIntPK, UtcDateTime


class ProbableMatch(Base):
    """One record (an identifier of its list) and its best profile, with what became of it.

    ``status``: ``linked`` (above the link threshold: probabilistic evidence was recorded),
    ``pending`` (the grey zone, waiting for a person), ``accepted`` (a person confirmed it: admin
    evidence), ``rejected`` (never proposed again for this profile).
    """

    __tablename__ = "identity_probable_matches"
    __table_args__ = (
        UniqueConstraint("record_type", "record_value", "profile_id"),
        Index("ix_identity_probable_matches_status_probability", "status", "probability"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(String(32), index=True)
    record_type: Mapped[str] = mapped_column(String(40))
    record_value: Mapped[str] = mapped_column(String(200))
    record: Mapped[str] = mapped_column(Text)  # JSON: the row as the list had it
    profile_id: Mapped[str] = mapped_column(String(32), index=True)
    probability: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16))
    evidence_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    decided_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
