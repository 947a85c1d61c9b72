"""The ``channel_activity`` consumer."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from kizuna.kit.sql import upsert_add
from kizuna.models import ChannelActivity
from kizuna.pipeline.consumer import Consumer
from kizuna.pipeline.log import LoggedEvent


def count_activity(session: Session, events: Sequence[LoggedEvent]) -> None:
    buckets: Counter[tuple[int, int, int, int, str, str, str]] = Counter()
    for event in events:
        at = event.timestamp  # bucketed by its parts: datetime.replace is slow in bulk
        hour = (at.year, at.month, at.day, at.hour)
        buckets[(*hour, event.source_id, event.channel, event.type)] += 1
    rows = [
        {
            "hour": datetime(year, month, day, hour, tzinfo=UTC),
            "source_id": source,
            "channel": channel,
            "type": kind,
            "count": n,
        }
        for (year, month, day, hour, source, channel, kind), n in buckets.items()
    ]
    upsert_add(
        session.connection(),
        ChannelActivity,
        ["hour", "source_id", "channel", "type"],
        rows,
    )


CONSUMER = Consumer(
    name="channel_activity",
    handle=count_activity,
    description="Hourly event counts per source, channel and call type.",
    system_events=frozenset(),  # people's events only: Kizuna's own are no channel activity
)
