"""A source is one touchpoint that sends events (a web shop, an app, a store's POS...)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from kizuna.models.base import Base, UtcDateTime


class Source(Base):
    __tablename__ = "sources"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    write_key: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime, nullable=True)
    plan_mode: Mapped[str] = mapped_column(String(16), default="allow")
    plan: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    plan_version: Mapped[int] = mapped_column(Integer, default=0)
