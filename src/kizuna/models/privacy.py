"""Privacy: the consent ledger, data subject requests, suppressions, the audit log, signing keys.

The consent ledger and the audit log are append-only: a change of mind is a new row, and no
code path updates or deletes an audit row (PostgreSQL also refuses it with a trigger).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.models.base import Base, BigIntPK, UtcDateTime


class ConsentRecord(Base):
    """One decision of a person about one purpose on one channel, attached to an identifier.

    Attaching to an identifier (not a profile) lets consent follow the identity graph: a merge
    brings both people's records together, a split takes them apart again.
    """

    __tablename__ = "consent_records"
    __table_args__ = (
        # covering: an audience's ledger rows are summarised from the index alone (may_contact)
        Index(
            "ix_consent_records_identifier",
            "identifier_type",
            "identifier_value",
            "purpose",
            "channel",
            "granted",
            "explicit",
            "effective_at",
        ),
        Index("ix_consent_records_purpose_channel", "purpose", "channel"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    identifier_type: Mapped[str] = mapped_column(String(40))
    identifier_value: Mapped[str] = mapped_column(String(200))
    profile_id: Mapped[str | None] = mapped_column(String(32), nullable=True)  # when recorded
    purpose: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))  # email | sms | push | ... | all
    address: Mapped[str | None] = mapped_column(String(200), nullable=True)  # one inbox/device
    granted: Mapped[bool] = mapped_column(Boolean)
    explicit: Mapped[bool] = mapped_column(Boolean)  # the person's own act (legal basis consent)
    legal_basis: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))  # api | event | console | preference_centre ...
    source_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    actor: Mapped[str] = mapped_column(String(200), default="")
    effective_at: Mapped[datetime] = mapped_column(UtcDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UtcDateTime)
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    note: Mapped[str | None] = mapped_column(Text, nullable=True)


class PrivacyRequest(Base):
    """An export, erasure or suppression asked for one identifier, with its deadline."""

    __tablename__ = "privacy_requests"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # export | erasure | suppression
    regulation: Mapped[str] = mapped_column(String(16))  # gdpr | appi | ccpa
    identifier_type: Mapped[str] = mapped_column(String(40))
    identifier_value: Mapped[str | None] = mapped_column(
        String(200), nullable=True
    )  # cleared on erasure
    identifier_digest: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(
        String(16), index=True
    )  # pending | running | completed | failed
    requested_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    deadline_at: Mapped[datetime] = mapped_column(UtcDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    completed_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    result: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON: what was found or done
    archive: Mapped[bytes | None] = mapped_column(nullable=True)  # the export (zip)


class Suppression(Base):
    """An identifier whose events are dropped at ingestion: only its keyed digest is kept."""

    __tablename__ = "privacy_suppressions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    identifier_type: Mapped[str] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(String(16))  # erasure | suppression
    request_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)


class AuditEntry(Base):
    """Who read personal data or changed something, when, from where. Never updated."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_actor", "actor"),
        Index("ix_audit_log_target", "target_type", "target_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime)
    actor: Mapped[str] = mapped_column(
        String(200)
    )  # api_key:key_... | console_user:usr_... | person
    action: Mapped[str] = mapped_column(String(64))  # profile.read, consent.recorded, ...
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")  # ok | denied | failed
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON


class SigningKey(Base):
    """Secrets for signed links (preference centre, one-click unsubscribe) and identifier
    digests. Generated at first use, never configured by default; the newest signs, all
    unretired keys verify (rotation: ``kizuna privacy rotate-keys``)."""

    __tablename__ = "signing_keys"

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    purpose: Mapped[str] = mapped_column(String(32), index=True)  # links | digests
    secret: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
