"""Retention: each data class is deleted after its policy's days, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, text

from kizuna.db import Database
from kizuna.models import (
    AuditEntry,
    DeadLetter,
    IdentityRefusal,
    PrivacyRequest,
    ProbableMatch,
    QuarantinedEvent,
)
from kizuna.privacy.retention import enforce, last_runs
from kizuna.privacy.retention_policy import RetentionPolicy

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _seed(db: Database) -> None:
    """One row of each class 10 days old and one 400 days old."""
    with db.write() as session:
        for age in (10, 400):
            at = NOW - timedelta(days=age)
            session.execute(insert(QuarantinedEvent).values(
                source_id="src", message_id=f"m{age}", type="track", name=None, received_at=at,
                plan_version=1, violations="[]", payload="{}", status="held",
            ))  # fmt: skip
            session.execute(insert(DeadLetter).values(
                consumer="identity", seq=age, partition=0, attempts=5, error="x", failed_at=at,
                status="discarded", resolved_at=at,
            ))  # fmt: skip
            session.execute(insert(IdentityRefusal).values(
                type="email", value=f"bad{age}", reason="identity.invalid_email", count=1,
                last_seen_at=at,
            ))  # fmt: skip
            session.execute(insert(ProbableMatch).values(
                run_id="r", record_type="paper", record_value=f"P{age}", record="{}",
                profile_id="prof_x", probability=0.7, status="rejected", decided_at=at,
                created_at=at,
            ))  # fmt: skip
            session.execute(insert(PrivacyRequest).values(
                id=f"req_{age}", kind="export", regulation="appi", identifier_type="email",
                identifier_value=None, identifier_digest="d", status="completed",
                requested_by="t", created_at=at, deadline_at=at, completed_at=at, archive=b"zip",
            ))  # fmt: skip
            session.execute(insert(AuditEntry).values(
                at=at, actor="t", action="profile.read", target_type="profile", target_id="p",
                outcome="ok",
            ))  # fmt: skip
        session.commit()


def _count(db: Database, table: str) -> int:
    with db.read() as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_old_rows_go_and_recent_rows_stay(db: Database) -> None:
    _seed(db)
    policy = RetentionPolicy(quarantined_events=30, dead_letters=90, identity_refusals=90,
                             rejected_matches=365, export_archives=30, audit_log=365)  # fmt: skip

    with db.write() as session:
        counts = enforce(session, policy, now=NOW)
        session.commit()

    assert counts == {
        "quarantined_events": 1, "dead_letters": 1, "identity_refusals": 1,
        "rejected_matches": 1, "export_archives": 1, "audit_log": 1,
    }  # fmt: skip
    for table in ("quarantined_events", "dead_letters", "identity_refusals",
                  "identity_probable_matches"):  # fmt: skip
        assert _count(db, table) == 1, table
    with db.read() as session:
        archives = dict(session.execute(select(PrivacyRequest.id, PrivacyRequest.archive)).all())
        assert archives == {"req_10": b"zip", "req_400": None}  # the request row itself stays
        runs = last_runs(session)
    assert runs[0]["counts"] == counts  # the run is on the audit log
    assert _count(db, "audit_log") == 2  # the recent entry and the run's own


def test_a_dry_run_counts_and_deletes_nothing(db: Database) -> None:
    _seed(db)
    with db.write() as session:
        counts = enforce(session, RetentionPolicy(), now=NOW, dry_run=True)
        session.commit()
    assert counts["quarantined_events"] == 1 and counts["audit_log"] == 0
    assert "events" not in counts  # raw events are kept unless a policy is set
    assert _count(db, "quarantined_events") == 2
    with db.read() as session:
        assert last_runs(session) == []
