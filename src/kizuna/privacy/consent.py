"""The consent ledger: record a person's choices, and answer ``may_contact`` for other domains.

Every choice is a ledger row attached to one identifier of the person (the email address it
is about, the device for push, else the profile's anchor), so consent follows the identity
graph: a merge puts two ledgers together (``consent_rules`` says how they resolve), a split
takes them apart. Rows are never updated: a change of mind is a new row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.errors import KizunaError
from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier
from kizuna.identity.service import checked
from kizuna.kit.clock import utcnow
from kizuna.models import ConsentRecord, IdentityNode, Profile
from kizuna.privacy.consent_config import LEGAL_BASES, ConsentCatalogue, check_choice
from kizuna.privacy.consent_rules import Choice, Decision, decide
from kizuna.privacy.contact import may_contact_many, suppressed_among
from kizuna.profiles.service import MergedAway, live_profile

FUTURE_TOLERANCE = timedelta(minutes=5)  # clocks differ a little, not by years
# The identifier type an address on a channel is (an email inbox, a phone, a device).
ADDRESS_TYPES = {"email": "email", "sms": "phone", "phone": "phone", "push": "device_id"}


class InvalidConsent(KizunaError):
    status = 400
    code = "consent.invalid"


@dataclass(frozen=True)
class ConsentChoice:
    """What a caller asks to record."""

    purpose: str
    channel: str
    granted: bool
    legal_basis: str = "consent"
    source: str = "api"
    address: str | None = None
    effective_at: datetime | None = None
    note: str | None = None


def resolve_profile(session: Session, profile_id: str) -> Profile:
    """The live profile (a merged-away id leads to its survivor)."""
    try:
        return live_profile(session, profile_id)
    except MergedAway as moved:
        return live_profile(session, moved.survivor)


def record(
    session: Session,
    catalogue: ConsentCatalogue,
    identifier: Identifier,
    choice: ConsentChoice,
    *,
    profile_id: str | None = None,
    source_id: str | None = None,
    actor: str = "",
    seq: int | None = None,
    trusted: bool = True,
) -> ConsentRecord:
    """Append one decision attached to ``identifier``.

    ``trusted=False`` (consent from a client-side source, whose write key is public): a yes is
    recorded but never counts as the person's explicit act.
    """
    check_choice(catalogue, choice.purpose, choice.channel, recording=True)
    if choice.legal_basis not in LEGAL_BASES:
        raise InvalidConsent(f"legal basis must be one of {', '.join(LEGAL_BASES)}")
    now = utcnow()
    if choice.effective_at is not None and choice.effective_at > now + FUTURE_TOLERANCE:
        raise InvalidConsent("effective_at is in the future: a decision cannot outrank later ones")
    row = ConsentRecord(
        identifier_type=identifier.type,
        identifier_value=identifier.value,
        profile_id=profile_id,
        purpose=choice.purpose,
        channel=choice.channel,
        address=choice.address,
        granted=choice.granted,
        explicit=choice.granted and choice.legal_basis == "consent" and trusted,
        legal_basis=choice.legal_basis,
        source=choice.source,
        source_id=source_id,
        actor=actor[:200],
        effective_at=choice.effective_at or now,
        recorded_at=now,
        seq=seq,
        note=choice.note,
    )
    session.add(row)
    session.flush()
    return row


def record_for_profile(
    session: Session,
    catalogue: ConsentCatalogue,
    rules: IdentityRules,
    profile_id: str,
    choice: ConsentChoice,
    *,
    actor: str,
) -> ConsentRecord:
    """A decision about a profile, attached to the identifier it concerns (see module doc)."""
    profile = resolve_profile(session, profile_id)
    identifier = _anchor(session, profile)
    address = choice.address
    id_type = ADDRESS_TYPES.get(choice.channel)
    if address and id_type:
        wanted = checked(id_type, address, rules)
        held = session.scalar(
            select(IdentityNode.id).where(
                IdentityNode.type == wanted.type,
                IdentityNode.value == wanted.value,
                IdentityNode.profile_id == profile.id,
            )
        )
        if held is None:
            raise InvalidConsent(f"profile {profile.id} does not hold {wanted.type} {address!r}")
        identifier, address = wanted, wanted.value
    stored = ConsentChoice(**{**choice.__dict__, "address": address})
    return record(session, catalogue, identifier, stored, profile_id=profile.id, actor=actor)


def _anchor(session: Session, profile: Profile) -> Identifier:
    row = session.execute(
        select(IdentityNode.type, IdentityNode.value).where(
            IdentityNode.id == profile.anchor_node_id
        )
    ).one()
    return Identifier(row.type, row.value)


def _ledger(session: Session, profile_ids: Sequence[str]) -> dict[str, list[ConsentRecord]]:
    query = (
        select(IdentityNode.profile_id, ConsentRecord)
        .join(
            IdentityNode,
            (IdentityNode.type == ConsentRecord.identifier_type)
            & (IdentityNode.value == ConsentRecord.identifier_value),
        )
        .where(IdentityNode.profile_id.in_(profile_ids))
    )
    found: dict[str, list[ConsentRecord]] = {p: [] for p in profile_ids}
    for owner, row in session.execute(query):
        found[owner or ""].append(row)
    return found


def _choice(row: ConsentRecord) -> Choice:
    return Choice(
        row.purpose, row.channel, row.granted, row.explicit, row.effective_at, row.address, row.id
    )


def may_contact(
    session: Session,
    catalogue: ConsentCatalogue,
    profile_id: str,
    purpose: str,
    channel: str,
    *,
    address: str | None = None,
) -> Decision:
    """May we contact this person for ``purpose`` on ``channel``? With the reason if not."""
    profile = resolve_profile(session, profile_id)
    return may_contact_many(session, catalogue, [profile.id], purpose, channel, address=address)[
        profile.id
    ]


def current_state(
    session: Session, catalogue: ConsentCatalogue, profile_id: str
) -> list[dict[str, Any]]:
    """Every subscription group's answer for this person, with since when and why."""
    profile = resolve_profile(session, profile_id)
    rows = [_choice(r) for r in _ledger(session, [profile.id])[profile.id]]
    dialect = session.get_bind().dialect.name
    suppressed = bool(suppressed_among(session, dialect, [profile.id]))
    result = []
    for group in catalogue.groups:
        decision = decide(rows, group, suppressed=suppressed)
        result.append(
            {
                "purpose": group.purpose,
                "channel": group.channel,
                "semantics": group.semantics,
                "allowed": decision.allowed,
                "reason": decision.reason,
                "since": decision.since,
                "record_id": decision.row_id,
            }
        )
    return result


def history(session: Session, profile_id: str) -> list[dict[str, Any]]:
    """Every ledger row of this person, newest first."""
    profile = resolve_profile(session, profile_id)
    rows = sorted(
        _ledger(session, [profile.id])[profile.id],
        key=lambda r: (r.effective_at, r.id),
        reverse=True,
    )
    return [as_dict(r) for r in rows]


def as_dict(row: ConsentRecord) -> dict[str, Any]:
    return {
        "id": row.id,
        "purpose": row.purpose,
        "channel": row.channel,
        "address": row.address,
        "granted": row.granted,
        "explicit": row.explicit,
        "legal_basis": row.legal_basis,
        "source": row.source,
        "source_id": row.source_id,
        "actor": row.actor,
        "identifier": f"{row.identifier_type}:{row.identifier_value}",
        "effective_at": row.effective_at,
        "recorded_at": row.recorded_at,
        "seq": row.seq,
        "note": row.note,
    }
