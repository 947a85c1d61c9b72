"""How long each class of data is kept (configuration; enforced by ``retention.py``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RetentionPolicy(BaseModel):
    """Days each data class is kept (``None``: kept until a person asks for erasure)."""

    model_config = ConfigDict(extra="forbid")

    events: int | None = Field(default=None, ge=1)
    quarantined_events: int | None = Field(default=30, ge=1)
    dead_letters: int | None = Field(default=90, ge=1)
    identity_refusals: int | None = Field(default=90, ge=1)
    rejected_matches: int | None = Field(default=365, ge=1)
    export_archives: int | None = Field(default=30, ge=1)
    audit_log: int | None = Field(default=1825, ge=1)
