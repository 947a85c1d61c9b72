"""Every live profile's personal attributes in one pass: what the matcher compares records with.

Names, birth date and address come from identify traits and ``context.traits`` (the latest
value by event time, Segment's spec names and their snake_case forms); email and phone come
from the profile's identifiers (the most recently seen of each).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from kizuna.models import Event, EventEvidence, IdentityEvidence, IdentityNode, Profile
from kizuna.privacy.sealing import open_payload

# role -> trait keys that carry it, most specific first
_TRAITS: dict[str, tuple[str, ...]] = {
    "surname": ("lastName", "last_name", "surname", "familyName", "family_name"),
    "given_name": ("firstName", "first_name", "givenName", "given_name"),
    "full_name": ("name",),
    "surname_kana": ("lastNameKana", "last_name_kana"),
    "given_name_kana": ("firstNameKana", "first_name_kana"),
    "full_name_kana": ("nameKana", "name_kana"),
    "date_of_birth": ("birthday", "date_of_birth", "dateOfBirth", "dob"),
}
_ADDRESS: dict[str, tuple[str, ...]] = {
    "postcode": ("postalCode", "postal_code", "postcode", "zip"),
    "prefecture": ("state", "prefecture", "region"),
    "city": ("city",),
    "address_1": ("street", "address_1", "line1"),
    "address_2": ("address_2", "line2", "building"),
}
ROLES = ("profile_id", *_TRAITS, "phone", "email", *_ADDRESS)


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _read(holder: Mapping[str, Any], found: dict[str, str]) -> None:
    for role, keys in _TRAITS.items():
        for key in keys:
            if value := _text(holder.get(key)):
                found[role] = value
                break
    address = holder.get("address")
    if isinstance(address, Mapping):
        for role, keys in _ADDRESS.items():
            for key in keys:
                if value := _text(address.get(key)):
                    found[role] = value
                    break


def person_attributes(session: Session) -> Iterator[dict[str, str]]:
    """One row per live profile (``ROLES`` as keys, "" where unknown)."""
    live = select(Profile.id).where(Profile.merged_into.is_(None))
    found = _gather(session, {profile_id: {} for (profile_id,) in session.execute(live)}, None)
    for profile_id, row in found.items():
        yield {role: row.get(role, "") for role in ROLES} | {"profile_id": profile_id}


def person_attributes_of(session: Session, profile_ids: set[str]) -> dict[str, dict[str, str]]:
    """The same rows for a few profiles (a page of the review queue), by profile id."""
    found = _gather(session, {p: {} for p in profile_ids}, profile_ids)
    return {
        p: {role: row.get(role, "") for role in ROLES} | {"profile_id": p}
        for p, row in found.items()
    }


def _gather(
    session: Session, found: dict[str, dict[str, str]], only: set[str] | None
) -> dict[str, dict[str, str]]:
    if only is not None and not only:
        return found
    events = (
        select(IdentityEvidence.profile_id, Event.payload)
        .join(EventEvidence, EventEvidence.seq == Event.seq)
        .join(IdentityEvidence, IdentityEvidence.id == EventEvidence.evidence_id)
        .where(or_(Event.type == "identify", Event.payload.contains('"traits"')))
        .order_by(Event.timestamp, Event.seq)
    )
    if only is not None:
        events = events.where(IdentityEvidence.profile_id.in_(sorted(only)))
    for owner, payload in session.execute(events):
        row = found.get(owner or "")
        if row is None:
            continue
        message = open_payload(payload)
        for holder in (message.get("traits"), (message.get("context") or {}).get("traits")):
            if isinstance(holder, Mapping):
                _read(holder, row)
    nodes = (
        select(IdentityNode.profile_id, IdentityNode.type, IdentityNode.value)
        .where(IdentityNode.type.in_(("email", "phone")), IdentityNode.profile_id.is_not(None))
        .order_by(IdentityNode.last_seen_at)
    )
    if only is not None:
        nodes = nodes.where(IdentityNode.profile_id.in_(sorted(only)))
    for holder, id_type, value in session.execute(nodes):
        if holder in found:
            found[holder or ""][id_type] = value
    return found
