"""Every consumer the platform runs. A new domain that reacts to events adds its own here."""

from __future__ import annotations

from kizuna.activity.subscribers import CONSUMER as CHANNEL_ACTIVITY
from kizuna.pipeline.consumer import Consumer


def default_consumers() -> list[Consumer]:
    return [CHANNEL_ACTIVITY]
