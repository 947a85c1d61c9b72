"""Hourly event counts per source and channel, projected from the log by a consumer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.models.base import Base, UtcDateTime


class ChannelActivity(Base):
    __tablename__ = "channel_activity"

    hour: Mapped[datetime] = mapped_column(UtcDateTime, primary_key=True)
    source_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
