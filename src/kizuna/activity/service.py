"""Questions about channel activity (for the console overview and the API)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kizuna.kit.clock import utcnow
from kizuna.models import ChannelActivity


@dataclass(frozen=True)
class HourlyCount:
    hour: datetime
    channel: str
    count: int


def hourly_by_channel(
    session: Session, hours: int = 24, now: datetime | None = None
) -> list[HourlyCount]:
    now = now or utcnow()
    since = (now - timedelta(hours=hours - 1)).replace(minute=0, second=0, microsecond=0)
    stmt = (
        select(ChannelActivity.hour, ChannelActivity.channel, func.sum(ChannelActivity.count))
        .where(ChannelActivity.hour >= since)
        .group_by(ChannelActivity.hour, ChannelActivity.channel)
        .order_by(ChannelActivity.hour)
    )
    return [HourlyCount(hour=h, channel=c, count=int(n)) for h, c, n in session.execute(stmt)]
