"""Re-seal stored payloads: key rotation, and sealing data written before sealing was on.

``kizuna privacy rotate-encryption`` walks the event log and the quarantine in primary-key
order, a batch per transaction, and rewrites each payload that holds a sealed value so every
marker is sealed with the first configured key (``MultiFernet.rotate``). With
``seal_existing`` it also seals the personal values still in clear (data written before keys
were configured) and removes those values from the rows' plan violations. Ingestion and the
consumers keep running meanwhile: every configured key still opens every marker.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, select, update

from kizuna.db import Database
from kizuna.models import Event, QuarantinedEvent
from kizuna.privacy import audit
from kizuna.privacy.classification import Classification
from kizuna.privacy.sealing import (
    SEALED_PREFIX,
    Sealer,
    rotate_payload,
    seal_payload,
    withhold_values,
)

BATCH_ROWS = 500


@dataclass
class ResealReport:
    table: str
    scanned: int = 0  # rows read (those that may hold a sealed or a personal value)
    changed: int = 0  # rows rewritten
    rotated: int = 0  # values re-sealed with the first key
    sealed_rows: int = 0  # rows whose clear personal values were sealed (seal_existing)
    unreadable: int = 0  # values no configured key opens (left as they are)

    def line(self) -> str:
        return (
            f"{self.table}: {self.scanned:,} rows read, {self.changed:,} rewritten, "
            f"{self.rotated:,} values re-sealed, {self.sealed_rows:,} rows sealed, "
            f"{self.unreadable:,} values unreadable"
        )


def _tables() -> list[tuple[str, Table, str]]:
    events: Table = Event.__table__  # type: ignore[assignment]
    held: Table = QuarantinedEvent.__table__  # type: ignore[assignment]
    return [("events", events, "seq"), ("quarantined_events", held, "id")]


def reseal(
    db: Database,
    sealer: Sealer,
    *,
    personal: Classification | None = None,
    batch: int = BATCH_ROWS,
    progress: Callable[[ResealReport], None] | None = None,
) -> list[ResealReport]:
    """Rotate every sealed value to the first key; with ``personal``, also seal clear values."""
    reports = []
    for name, table, key in _tables():
        report = ResealReport(name)
        _reseal_table(db, table, key, sealer, personal, batch, report, progress)
        reports.append(report)
    with db.write() as session:
        details: dict[str, Any] = {r.table: r.changed for r in reports}
        details["seal_existing"] = personal is not None
        audit.record(
            session, "system:cli", "privacy.resealed", "encryption", "all", details=details
        )
        session.commit()
    return reports


def _reseal_table(
    db: Database,
    table: Table,
    key: str,
    sealer: Sealer,
    personal: Classification | None,
    batch: int,
    report: ResealReport,
    progress: Callable[[ResealReport], None] | None,
) -> None:
    pk, payload, violations = table.c[key], table.c.payload, table.c.violations
    # Keys stay in clear inside sealed payloads, so these filters find every candidate row.
    candidate = payload.contains('"' + SEALED_PREFIX)
    if personal is not None:
        candidate = candidate | payload.contains('"traits"')
    rewrite = (
        update(table)
        .where(pk == bindparam("b_key"))
        .values(payload=bindparam("b_payload"), violations=bindparam("b_violations"))
    )
    after = 0
    while True:
        with db.write() as session:
            conn = session.connection()
            rows = conn.execute(
                select(pk, payload, violations)
                .where(pk > after, candidate)
                .order_by(pk)
                .limit(batch)
            ).all()
            changes = []
            for row_key, text, row_violations in rows:
                new_text, rotated, unreadable = rotate_payload(text, sealer)
                report.rotated += rotated
                report.unreadable += unreadable
                sealed: set[str] = set()
                if personal is not None:
                    before = new_text
                    new_text, sealed = seal_payload(new_text, personal, sealer, fresh=False)
                    report.sealed_rows += int(new_text != before)
                if new_text != text:
                    changes.append(
                        {
                            "b_key": row_key,
                            "b_payload": new_text,
                            "b_violations": withhold_values(row_violations, sealed),
                        }
                    )
            if changes:
                conn.execute(rewrite, changes)
            session.commit()
        report.scanned += len(rows)
        report.changed += len(changes)
        if progress is not None:
            progress(report)
        if len(rows) < batch:
            return
        after = rows[-1][0]
