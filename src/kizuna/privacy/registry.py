"""Every domain that holds personal data joins data subject requests here.

A new table is either covered by a ``PersonalData`` handler (its domain's ``personal_data``
module, listed in ``HANDLERS``) or named in ``NOT_PERSONAL`` with the reason. The test
``tests/privacy/test_registry.py`` fails for a table in neither, so a new domain cannot forget
export and erasure.

Order matters only for ``gather``: the profile first (who the person is), then the graph
(identifiers, evidence), then the log (events found through that evidence); the rest read what
those gathered.
"""

from __future__ import annotations

from kizuna.identity.personal_data import IDENTITY
from kizuna.ingestion.personal_data import INGESTION
from kizuna.matching.personal_data import MATCHING
from kizuna.pipeline.personal_data import EVENT_LOG
from kizuna.privacy.ledger_data import CONSENT, REQUESTS
from kizuna.privacy.subject import PersonalData
from kizuna.profiles.personal_data import PROFILES
from kizuna.segments.personal_data import SEGMENTS

HANDLERS: tuple[PersonalData, ...] = (
    PROFILES,
    IDENTITY,
    EVENT_LOG,
    INGESTION,
    MATCHING,
    SEGMENTS,
    CONSENT,
    REQUESTS,
)

NOT_PERSONAL: dict[str, str] = {
    "api_keys": "integration keys: a name chosen by staff and a hash of the secret",
    "console_users": "the operator's staff accounts, not customers; managed by users:admin",
    "console_sessions": "staff sign-in sessions (hashed tokens), expire by themselves",
    "sources": "touchpoint configuration (names, write keys, tracking plans)",
    "products": "the product catalogue",
    "locations": "stores and warehouses",
    "channel_activity": "hourly event counts per source and channel: no person in them",
    "ingest_tallies": "daily counts per source and outcome: no person in them",
    "consumer_offsets": "log positions of the consumers",
    "audit_log": "names people only by profile ids, request ids and identifier digests "
    "(kizuna.privacy.audit), append-only: the trail of the request itself",
    "privacy_suppressions": "keyed digests only, kept so the erased person stays suppressed",
    "signing_keys": "secrets for links and digests",
    "segments": "segment definitions: conditions written by staff, member counts",
    "computed_traits": "computed trait definitions written by staff",
    "segment_features": "the event filters definitions read (no person in them)",
    "segment_watermarks": "how far the segments engine has read the consent ledger",
}


def covered_tables() -> dict[str, str]:
    """Table name → the handler (or ``not personal``) that accounts for it."""
    covered = {table: handler.name for handler in HANDLERS for table in handler.tables}
    return covered | {table: "not personal" for table in NOT_PERSONAL}
