"""Segment's message spec as Pydantic models: they validate input and document the API."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    model_validator,
)

Identifier = Annotated[StrictStr | StrictInt, Field(union_mode="left_to_right")]


def _object(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError("must be a JSON object")
    return value


# A JSON object checked, not copied: the stored payload is the raw message, and copying nested
# properties and context was the largest part of validation.
JsonObject = Annotated[
    dict[str, Any],
    PlainValidator(_object),
    WithJsonSchema({"type": "object", "additionalProperties": True}),
]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class Message(BaseModel):
    """Fields every Segment call may carry. Unknown fields are kept in the stored payload.

    Models validate; they are not what is stored (the raw message is), so extras are ignored
    here rather than copied.
    """

    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": True})

    userId: Identifier | None = None
    anonymousId: Identifier | None = None
    messageId: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    timestamp: datetime | None = None
    sentAt: datetime | None = None
    context: JsonObject | None = None
    integrations: JsonObject | None = None
    writeKey: str | None = None

    @model_validator(mode="after")
    def _someone(self) -> Message:
        user_id, anonymous_id = self.userId, self.anonymousId
        if _blank(user_id) and _blank(anonymous_id):
            raise ValueError("userId or anonymousId is required")
        for field, value in (("userId", user_id), ("anonymousId", anonymous_id)):
            if value is not None and len(str(value)) > 200:
                raise ValueError(f"{field} is longer than 200 characters")
        for field in _column_fields(type(self)):
            value = getattr(self, field)
            if isinstance(value, str) and "\x00" in value:  # PostgreSQL text cannot hold NUL
                raise ValueError(f"{field} contains a NUL character")
        return self


# Fields stored in their own columns (not only inside the JSON payload).
_COLUMN_FIELDS = frozenset({"userId", "anonymousId", "messageId", "event", "name"})


@cache
def _column_fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(sorted(_COLUMN_FIELDS & model.model_fields.keys()))


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class IdentifyMessage(Message):
    type: Literal["identify"] = "identify"
    traits: JsonObject | None = None


class TrackMessage(Message):
    type: Literal["track"] = "track"
    event: Name
    properties: JsonObject | None = None


class PageMessage(Message):
    type: Literal["page"] = "page"
    name: Name | None = None
    category: Name | None = None
    properties: JsonObject | None = None


class ScreenMessage(Message):
    type: Literal["screen"] = "screen"
    name: Name | None = None
    category: Name | None = None
    properties: JsonObject | None = None


class GroupMessage(Message):
    type: Literal["group"] = "group"
    groupId: Identifier
    traits: JsonObject | None = None


class AliasMessage(Message):
    type: Literal["alias"] = "alias"
    previousId: Identifier
    userId: Identifier


AnyMessage = Annotated[
    IdentifyMessage | TrackMessage | PageMessage | ScreenMessage | GroupMessage | AliasMessage,
    Field(discriminator="type"),
]

MESSAGE_TYPES: dict[str, type[Message]] = {
    "identify": IdentifyMessage,
    "track": TrackMessage,
    "page": PageMessage,
    "screen": ScreenMessage,
    "group": GroupMessage,
    "alias": AliasMessage,
}


class BatchRequest(BaseModel):
    """``/v1/batch`` and ``/v1/import``: up to 500 KB of messages sharing one request."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": True})

    batch: list[AnyMessage]
    sentAt: datetime | None = None
    context: JsonObject | None = None
    integrations: JsonObject | None = None
    writeKey: str | None = None


class Acknowledgement(BaseModel):
    """Segment's answer: sent only once every event of the request is durably committed."""

    success: bool = True
