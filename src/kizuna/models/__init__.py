"""ORM tables, one file per aggregate. Importing this package registers them all."""

from kizuna.models.activity import ChannelActivity
from kizuna.models.auth import ApiKey, ConsoleSession, ConsoleUser
from kizuna.models.base import Base
from kizuna.models.catalog import Location, Product
from kizuna.models.event import DedupKey, Event, IngestTally, QuarantinedEvent
from kizuna.models.identity import (
    EventEvidence,
    EvidenceNode,
    IdentityConflict,
    IdentityEvidence,
    IdentityNode,
    IdentityRefusal,
    Profile,
    ProfileChange,
    Retraction,
)
from kizuna.models.matching import ProbableMatch
from kizuna.models.pipeline import ConsumerOffset, DeadLetter
from kizuna.models.privacy import (
    AuditEntry,
    ConsentRecord,
    PrivacyRequest,
    SigningKey,
    Suppression,
)
from kizuna.models.segments import (
    ComputedTraitRow,
    ComputedTraitValue,
    SegmentChange,
    SegmentDefinitionRow,
    SegmentFeature,
    SegmentMember,
    SegmentOccurrence,
    SegmentProfile,
    SegmentTimer,
    SegmentTraitValue,
    SegmentWatermark,
)
from kizuna.models.source import Source

__all__ = [
    "ApiKey",
    "AuditEntry",
    "Base",
    "ChannelActivity",
    "ComputedTraitRow",
    "ComputedTraitValue",
    "ConsentRecord",
    "ConsoleSession",
    "ConsoleUser",
    "ConsumerOffset",
    "DeadLetter",
    "DedupKey",
    "Event",
    "EventEvidence",
    "EvidenceNode",
    "IdentityConflict",
    "IdentityEvidence",
    "IdentityNode",
    "IdentityRefusal",
    "IngestTally",
    "Location",
    "PrivacyRequest",
    "ProbableMatch",
    "Product",
    "Profile",
    "ProfileChange",
    "QuarantinedEvent",
    "Retraction",
    "SegmentChange",
    "SegmentDefinitionRow",
    "SegmentFeature",
    "SegmentMember",
    "SegmentOccurrence",
    "SegmentProfile",
    "SegmentTimer",
    "SegmentTraitValue",
    "SegmentWatermark",
    "SigningKey",
    "Source",
    "Suppression",
]
