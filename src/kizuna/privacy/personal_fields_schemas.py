"""What ``/api/v1/privacy/personal-fields`` answers (and the console's privacy page shows)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from kizuna.privacy.classification import PersonalCategory


class OriginOut(BaseModel):
    kind: Literal["built-in", "configuration", "plan"]
    source_id: str | None = None
    source_name: str | None = None


class PersonalFieldOut(BaseModel):
    field: str
    category: PersonalCategory
    origins: list[OriginOut]
    sealed: bool


class PersonalFieldList(BaseModel):
    sealing: bool
    encryption_keys: int
    items: list[PersonalFieldOut]
