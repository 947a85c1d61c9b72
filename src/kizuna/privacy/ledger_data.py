"""The privacy domain's own part in data subject requests: the consent ledger and the earlier
requests about the same person.

Consent rows are attached to identifiers (see ``kizuna.privacy.consent``): the person's are
those on one of their identifiers, recorded for one of their profiles, or naming one of their
addresses. Their history is exported whole and erased whole (the suppression that erasure
adds is what keeps the person from being contacted again).

Earlier requests keep their row (the audit trail of the person's rights) but lose the
identifier value and any export archive they held.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from kizuna.identity.store import chunks
from kizuna.kit.sql import pairs_in
from kizuna.models import ConsentRecord, PrivacyRequest
from kizuna.privacy.subject import ExportFiles, Person, PersonalData, removed


def _consent_where(person: Person, part: Any) -> Any:
    return or_(
        pairs_in(ConsentRecord.identifier_type, ConsentRecord.identifier_value, part),
        ConsentRecord.profile_id.in_(sorted(person.profile_ids)),
        ConsentRecord.address.in_(sorted(person.values)),
    )


def _keys(person: Person) -> list[tuple[str, str]]:
    return sorted((i.type, i.value) for i in person.identifiers)


def export_consent(session: Session, person: Person) -> ExportFiles:
    rows: dict[int, dict[str, Any]] = {}
    for part in chunks(_keys(person)):
        for r in session.execute(
            select(ConsentRecord).where(_consent_where(person, part))
        ).scalars():
            rows[r.id] = {
                "identifier": f"{r.identifier_type}:{r.identifier_value}",
                "purpose": r.purpose,
                "channel": r.channel,
                "address": r.address,
                "granted": r.granted,
                "explicit": r.explicit,
                "legal_basis": r.legal_basis,
                "source": r.source,
                "effective_at": r.effective_at,
                "recorded_at": r.recorded_at,
                "note": r.note,
            }
    ordered = sorted(rows.items(), key=lambda kv: (kv[1]["effective_at"], kv[0]))
    return {"consent_history.json": [row for _, row in ordered]}


def erase_consent(session: Session, person: Person) -> int:
    return sum(
        removed(session, delete(ConsentRecord).where(_consent_where(person, part)))
        for part in chunks(_keys(person))
    )


def _requests_where(person: Person) -> Any:
    return PrivacyRequest.identifier_digest.in_(sorted(person.digests.values()))


def export_requests(session: Session, person: Person) -> ExportFiles:
    rows = session.execute(
        select(PrivacyRequest).where(_requests_where(person)).order_by(PrivacyRequest.created_at)
    ).scalars()
    return {
        "privacy_requests.json": [
            {
                "id": r.id,
                "kind": r.kind,
                "regulation": r.regulation,
                "identifier_type": r.identifier_type,
                "status": r.status,
                "created_at": r.created_at,
                "deadline_at": r.deadline_at,
                "completed_at": r.completed_at,
            }
            for r in rows
        ]
    }


def erase_requests(session: Session, person: Person) -> int:
    return removed(
        session,
        update(PrivacyRequest)
        .where(_requests_where(person))
        .values(identifier_value=None, archive=None),
    )


CONSENT = PersonalData(
    name="consent",
    tables=("consent_records",),
    export=export_consent,
    erase=erase_consent,
)
REQUESTS = PersonalData(
    name="privacy_requests",
    tables=("privacy_requests",),
    export=export_requests,
    erase=erase_requests,
)
