"""Data subject requests in the API (``/api/v1/privacy/requests``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


class IdentifierIn(BaseModel):
    type: str = Field(max_length=40, examples=["email"], description="email, phone, user_id...")
    value: str = Field(
        min_length=1,
        max_length=200,
        examples=["ann@example.com"],
        description="normalised with the identity rules, like events' identifiers",
    )


class PrivacyRequestIn(BaseModel):
    kind: Literal["export", "erasure", "suppression"]
    identifier: IdentifierIn
    regulation: Literal["gdpr", "appi", "ccpa"] | None = Field(
        default=None, description="sets the deadline; default: settings.privacy"
    )


class PrivacyRequestOut(BaseModel):
    id: str
    kind: str
    regulation: str
    status: Literal["pending", "running", "completed", "failed"]
    identifier_type: str
    identifier_value: str | None = Field(description="null once erased")
    identifier_digest: str
    requested_by: str
    created_at: datetime
    deadline_at: datetime
    overdue: bool
    started_at: datetime | None
    completed_at: datetime | None
    error: str | None
    result: dict[str, Any] | None = Field(description="what was found, exported or erased")
    archive_url: str | None = Field(description="the export's zip, once completed")


class PrivacyRequestList(BaseModel):
    items: list[PrivacyRequestOut]
