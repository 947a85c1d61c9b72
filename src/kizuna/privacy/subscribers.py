"""The ``consent`` consumer: consent that arrives in events joins the ledger.

Two documented forms (``docs/privacy.md``):

- Segment's consent context, ``context.consent.categoryPreferences`` (``{"Advertising": true,
  "Analytics": false}``), on any event: each category maps to a purpose
  (``category_aliases`` in the consent catalogue) on channel ``all``. SDKs send it on every
  event, so a row is added only when the answer changes.
- Kizuna's ``Consent Updated`` track event: ``properties`` ``{"purpose": "marketing",
  "channel": "email", "granted": false, "legal_basis": "consent", "address": "..."}``, or a
  list of those under ``properties.choices``.

The row is attached to the event's strongest identifier (user id before email before
anonymous id...), dated by the event but never later than its arrival. Write keys of
client-side sources are public, so their yes is recorded but is not *explicit*: it cannot
lift an opt-out nor satisfy an opt-in group (their no counts in full: refusing is the safe
direction). Unknown purposes or channels are skipped and counted
(``kizuna_consent_skipped_total``): the event itself was already accepted.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kizuna.errors import KizunaError
from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import IDENTIFIER_TRAITS, Identifier, identifiers_of
from kizuna.metrics import CONSENT_SKIPPED
from kizuna.models import ConsentRecord, Source
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import LoggedEvent
from kizuna.privacy import consent
from kizuna.privacy.consent_config import LEGAL_BASES, ConsentCatalogue
from kizuna.privacy.sealing import open_payload

CONSENT_EVENTS = {"consent updated", "segment consent preference updated"}


def choices_in(message: dict[str, Any], catalogue: ConsentCatalogue) -> Iterator[dict[str, Any]]:
    """The consent a Segment-style message carries, as ``ConsentChoice`` fields."""
    context = message.get("context") if isinstance(message.get("context"), dict) else {}
    preferences = (context.get("consent") or {}) if isinstance(context, dict) else {}
    categories = preferences.get("categoryPreferences") if isinstance(preferences, dict) else None
    if isinstance(categories, dict):
        for category, granted in categories.items():
            if not isinstance(granted, bool):
                continue
            purpose = catalogue.purpose_of_category(str(category))
            yield {"purpose": purpose or str(category), "channel": "all", "granted": granted}
    name = message.get("event")
    if message.get("type") == "track" and isinstance(name, str) and name.lower() in CONSENT_EVENTS:
        properties = (
            message.get("properties") if isinstance(message.get("properties"), dict) else {}
        )
        listed = properties.get("choices") if isinstance(properties, dict) else None
        for item in listed if isinstance(listed, list) else [properties]:
            if isinstance(item, dict) and isinstance(item.get("granted"), bool):
                yield {
                    "purpose": str(item.get("purpose", "")),
                    "channel": str(item.get("channel") or "all"),
                    "granted": item["granted"],
                    "legal_basis": str(item.get("legal_basis") or "consent"),
                    "address": item.get("address")
                    if isinstance(item.get("address"), str)
                    else None,
                }


def _last_answer(session: Session, who: Identifier, purpose: str, channel: str) -> bool | None:
    return session.scalar(
        select(ConsentRecord.granted)
        .where(
            ConsentRecord.identifier_type == who.type,
            ConsentRecord.identifier_value == who.value,
            ConsentRecord.purpose == purpose,
            ConsentRecord.channel == channel,
        )
        .order_by(ConsentRecord.effective_at.desc(), ConsentRecord.id.desc())
        .limit(1)
    )


def record_from_events(
    session: Session,
    events: Sequence[LoggedEvent],
    catalogue: ConsentCatalogue,
    rules: IdentityRules,
) -> int:
    recorded = 0
    trusted = _trusted_sources(session, {e.source_id for e in events}, rules)
    for event in events:
        if "onsent" not in event.payload:  # cheap: most events carry no consent
            continue
        message = open_payload(event.payload, only=IDENTIFIER_TRAITS)
        choices = list(choices_in(message, catalogue))
        if not choices:
            continue
        found, _ = identifiers_of(message, rules)
        if not found:
            CONSENT_SKIPPED.labels("no_identifier").inc(len(choices))
            continue
        who = min(found, key=rules.sort_key)
        for fields in choices:
            basis = fields.get("legal_basis", "consent")
            if basis not in LEGAL_BASES:
                CONSENT_SKIPPED.labels("consent.invalid").inc()
                continue
            repeated = "legal_basis" not in fields  # the context comes again with every event
            if (
                repeated
                and _last_answer(session, who, fields["purpose"], "all") is fields["granted"]
            ):
                continue
            at = min(event.timestamp, event.received_at)  # never dated after its arrival
            choice = consent.ConsentChoice(**fields, source="event", effective_at=at)
            try:
                consent.record(
                    session,
                    catalogue,
                    who,
                    choice,
                    source_id=event.source_id,
                    seq=event.seq,
                    trusted=event.source_id in trusted,
                )
            except KizunaError as error:
                CONSENT_SKIPPED.labels(error.code).inc()
                continue
            recorded += 1
    return recorded


def _trusted_sources(session: Session, source_ids: set[str], rules: IdentityRules) -> set[str]:
    """Sources whose write keys live on servers (the identity rules' trusted kinds)."""
    query = select(Source.id).where(
        Source.id.in_(source_ids), Source.kind.in_(rules.trusted_source_kinds)
    )
    return set(session.execute(query).scalars())


def consent_consumer(catalogue: ConsentCatalogue, rules: IdentityRules) -> Consumer:
    def handle(session: Session, events: Sequence[LoggedEvent]) -> None:
        record_from_events(session, events, catalogue, rules)

    return Consumer(
        name="consent",
        handle=handle,
        description="Consent carried by events (Segment's consent context, Consent Updated) "
        "into the ledger.",
        system_events=frozenset(),
    )
