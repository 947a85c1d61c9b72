"""The identity graph: identifiers, the evidence that joins them, profiles and their history.

Evidence is append-only (a retraction is a row of its own, never a delete), so every profile
can be recomputed from it; nodes' ``profile_id`` and evidence's ``profile_id`` are the current
resolution, rewritten whenever a component is resolved again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.models.base import Base, BigIntPK, UtcDateTime


class IdentityNode(Base):
    """One identifier (type and normalised value) and the profile it belongs to now."""

    __tablename__ = "identity_nodes"
    __table_args__ = (
        UniqueConstraint("type", "value"),
        # covering: an audience's identifiers are read from the index alone (may_contact)
        Index("ix_identity_nodes_profile", "profile_id", "type", "value"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(200))
    profile_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # keyed digest of (type, value), as on the suppression list (kizuna.privacy.keys)
    digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    first_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    events: Mapped[int] = mapped_column(BigInteger, default=0)


class IdentityEvidence(Base):
    """Identifiers seen together by one source with one trust level (deduplicated by ``key``)."""

    __tablename__ = "identity_evidence"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # event | admin | probabilistic
    source_id: Mapped[str] = mapped_column(String(32), index=True)
    trust: Mapped[str] = mapped_column(String(16))
    identifiers: Mapped[str] = mapped_column(Text)  # JSON [[type, value], ...], anchor first
    at: Mapped[datetime] = mapped_column(UtcDateTime)  # first sighting (event time)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
    first_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    events: Mapped[int] = mapped_column(BigInteger, default=0)
    profile_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class EvidenceNode(Base):
    """Adjacency of the raw graph: which nodes a piece of evidence names."""

    __tablename__ = "identity_evidence_nodes"
    __table_args__ = (Index("ix_identity_evidence_nodes_node", "node_id"),)

    evidence_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    node_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class EventEvidence(Base):
    """Which evidence an event gave: the event belongs to that evidence's owner profile."""

    __tablename__ = "identity_event_evidence"
    __table_args__ = (Index("ix_identity_event_evidence_evidence_seq", "evidence_id", "seq"),)

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    evidence_id: Mapped[int] = mapped_column(BigInteger)


class Retraction(Base):
    """A piece of evidence withdrawn: an evidence row, an event, a whole source or one link."""

    __tablename__ = "identity_retractions"
    __table_args__ = (Index("ix_identity_retractions_target", "kind", "target"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))  # evidence | event | source | link
    target: Mapped[str] = mapped_column(String(500))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class Profile(Base):
    """A person. ``merged_into`` redirects an id whose component joined an older profile."""

    __tablename__ = "profiles"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    anchor_node_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime)
    merged_into: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    merges: Mapped[int] = mapped_column(Integer, default=0)
    identifiers: Mapped[int] = mapped_column(Integer, default=0)
    rules_version: Mapped[int] = mapped_column(Integer, default=1)


class ProfileChange(Base):
    """``profile.merged`` and ``profile.split``, as shown on both profiles' timelines."""

    __tablename__ = "profile_changes"
    __table_args__ = (Index("ix_profile_changes_profile_at", "profile_id", "at"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    profile_id: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # merged | split
    other_profile_id: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    cause: Mapped[str] = mapped_column(Text, default="")
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)  # the emitted event


class IdentityConflict(Base):
    """Evidence the rules refused, with the reason; replaced whenever its component resolves."""

    __tablename__ = "identity_conflicts"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    evidence_id: Mapped[int] = mapped_column(BigInteger, index=True)
    reason: Mapped[str] = mapped_column(String(40), index=True)
    identifiers: Mapped[str] = mapped_column(Text)  # JSON [[type, value], ...] left out
    profile_id: Mapped[str | None] = mapped_column(String(32), index=True, nullable=True)
    detected_at: Mapped[datetime] = mapped_column(UtcDateTime)


class IdentityRefusal(Base):
    """A value that never became an identifier (blocked, unparseable...), counted."""

    __tablename__ = "identity_refusals"

    type: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    reason: Mapped[str] = mapped_column(String(40), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    last_seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_seen_at: Mapped[datetime] = mapped_column(UtcDateTime)
