"""``/api/v1/privacy/personal-fields``: which trait fields are personal, and whether they are
sealed at rest."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.config import Settings
from kizuna.db import ReadSessionDep
from kizuna.privacy.personal_fields import personal_field_list, personal_fields
from kizuna.privacy.personal_fields_schemas import PersonalFieldList

router = APIRouter(prefix="/privacy", tags=["privacy"])

# The list is metadata, not personal data, but it also tells whether the database holds these
# values in clear: privacy administrators' business, like the rest of the privacy settings.
CanAdminPrivacy = Annotated[Principal, Depends(RequireScope("privacy:admin"))]


@router.get("/personal-fields", response_model=PersonalFieldList)
def list_personal_fields(
    _: CanAdminPrivacy, request: Request, session: ReadSessionDep
) -> PersonalFieldList:
    """Trait fields classified as personal (built-in, configured, or marked
    `"x-kizuna-personal"` in a source's tracking plan), with their category and origin.
    With encryption keys configured their values are sealed in stored payloads; callers
    without `profiles:read` see them masked in raw payloads."""
    settings: Settings = request.app.state.settings
    classification = personal_fields(session, settings.privacy.personal_traits)
    return personal_field_list(classification, request.app.state.platform.sealer)
