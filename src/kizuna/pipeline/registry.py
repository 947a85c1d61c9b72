"""Every consumer the platform runs. A new domain that reacts to events adds its own here."""

from __future__ import annotations

from kizuna.activity.subscribers import CONSUMER as CHANNEL_ACTIVITY
from kizuna.config import Settings
from kizuna.identity.config import load_rules
from kizuna.identity.subscribers import identity_consumer
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import SqlEventLog
from kizuna.privacy.consent_config import load_catalogue
from kizuna.privacy.requests_consumer import privacy_consumer
from kizuna.privacy.subscribers import consent_consumer
from kizuna.segments.engine import segments_consumer


def default_consumers(settings: Settings) -> list[Consumer]:
    rules = load_rules(settings.identity.rules_file)
    log = SqlEventLog(settings.pipeline.partitions)
    catalogue = load_catalogue(settings.privacy.consent_file)
    return [
        CHANNEL_ACTIVITY,
        identity_consumer(rules, log),
        consent_consumer(catalogue, rules),
        # after identity: a request waits for it anyway
        privacy_consumer(rules, log, settings.privacy.sqlite_vacuum_after_erasure),
        # reads what identity and consent made of each event (it waits for both)
        segments_consumer(rules, catalogue, log),
    ]
