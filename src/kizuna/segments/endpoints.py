"""``/api/v1/segments``, ``/api/v1/computed-traits`` and ``/api/v1/profiles/{id}/segments``.

Definitions are the typed documents of ``definitions.py`` (invalid ones answer 400 with the
reason); saving one starts a full recompute (``status: computing`` with progress) that the
``segments`` consumer runs. Reads need ``segments:read``, definitions ``segments:write``; a CSV
export of emails and phones is personal data and also needs ``profiles:read`` (audited).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from kizuna.auth.dependencies import RequireScope, authorise
from kizuna.auth.service import Principal
from kizuna.db import DatabaseDep, ReadSessionDep, SessionDep
from kizuna.identity.endpoints import RulesDep
from kizuna.models import ComputedTraitRow, SegmentDefinitionRow
from kizuna.openapi import CONFLICT, NOT_FOUND
from kizuna.privacy.ad_hashing import Platform
from kizuna.privacy.audit import record_read
from kizuna.privacy.consent_config import ConsentCatalogue
from kizuna.privacy.consent_endpoints import CatalogueDep
from kizuna.profiles.service import MergedAway, live_profile
from kizuna.segments import export, service
from kizuna.segments.definitions import ComputedTraitDefinition, SegmentDefinition
from kizuna.segments.schemas import (
    ChartOut,
    ComputedTraitList,
    ComputedTraitOut,
    HistoryOut,
    MembersPage,
    PreviewOut,
    ProfileSegmentsOut,
    SegmentList,
    SegmentOut,
)

router = APIRouter(tags=["segments"])

CanRead = Annotated[Principal, Depends(RequireScope("segments:read"))]
CanWrite = Annotated[Principal, Depends(RequireScope("segments:write"))]

# The largest number a definition may hold: stored as JSON with 64-bit integers.


def _checked(d: SegmentDefinition, catalogue: ConsentCatalogue) -> SegmentDefinition:
    service.check_consent_choices(d, catalogue)
    return d


def _progress(row: SegmentDefinitionRow | ComputedTraitRow) -> dict[str, int]:
    return {"done": row.progress_done, "total": row.progress_total}


def segment_out(row: SegmentDefinitionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "name": row.name,
        "description": row.description,
        "condition": service.definition_of(row).condition,
        "version": row.version,
        "status": row.status,
        "progress": _progress(row),
        "members": row.members,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "computed_at": row.computed_at,
    }


def computed_trait_out(row: ComputedTraitRow) -> dict[str, Any]:
    d = ComputedTraitDefinition.model_validate_json(row.definition)
    return {
        **d.model_dump(),
        "version": row.version,
        "status": row.status,
        "progress": _progress(row),
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "computed_at": row.computed_at,
    }


# --- segments --------------------------------------------------------------------------------


@router.get("/segments", response_model=SegmentList)
def list_segments(_: CanRead, session: ReadSessionDep) -> dict[str, Any]:
    """Every segment, oldest first, with its member count and computing status."""
    return {"items": [segment_out(row) for row in service.list_segments(session)]}


@router.post("/segments", response_model=SegmentOut, status_code=201)
def create_segment(
    body: SegmentDefinition, _: CanWrite, session: SessionDep, catalogue: CatalogueDep
) -> dict[str, Any]:
    """Save a segment; its members are computed in the background (`status: computing`, with
    `progress`), then kept current as events arrive. 400 `segment.invalid_reference` for an
    unknown computed trait or segment, `segment.cycle` for segments reading each other in a
    circle, `consent.unknown_purpose` / `consent.unknown_channel` for a consent condition."""
    row = service.create_segment(session, _checked(body, catalogue))
    return segment_out(row)


@router.post("/segments/preview", response_model=PreviewOut)
def preview_segment(
    body: SegmentDefinition,
    _: CanRead,
    session: SessionDep,
    catalogue: CatalogueDep,
    sample: Annotated[int, Query(ge=0, le=100, description="profile ids to return")] = 10,
) -> dict[str, Any]:
    """How many profiles match a definition now, and a sample of them; nothing is saved but
    the history of an event filter no definition used before (read from the log once)."""
    found = service.preview(
        session, _checked(body, catalogue), service.consent_asker(catalogue), sample=sample
    )
    return {"count": found.count, "population": found.population, "sample": found.sample}


@router.get("/segments/{segment_id}", response_model=SegmentOut, responses=NOT_FOUND)
def get_segment(segment_id: str, _: CanRead, session: ReadSessionDep) -> dict[str, Any]:
    """One segment (404 `segment.not_found`)."""
    return segment_out(service.get_segment(session, segment_id))


@router.put("/segments/{segment_id}", response_model=SegmentOut, responses=NOT_FOUND)
def update_segment(
    segment_id: str,
    body: SegmentDefinition,
    _: CanWrite,
    session: SessionDep,
    catalogue: CatalogueDep,
) -> dict[str, Any]:
    """Replace a segment's definition; a new condition is a new version, computed afresh."""
    row = service.update_segment(session, segment_id, _checked(body, catalogue))
    return segment_out(row)


@router.delete(
    "/segments/{segment_id}",
    status_code=204,
    response_class=Response,
    responses={**NOT_FOUND, **CONFLICT},
)
def delete_segment(segment_id: str, _: CanWrite, session: SessionDep) -> Response:
    """Delete a segment with its members and history (409 `segment.in_use` while another
    segment reads it)."""
    service.delete_segment(session, segment_id)
    return Response(status_code=204)


@router.get("/segments/{segment_id}/members", response_model=MembersPage, responses=NOT_FOUND)
def list_members(
    segment_id: str,
    _: CanRead,
    session: ReadSessionDep,
    after: Annotated[
        str | None, Query(max_length=64, description="the `next` of the previous page")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """The members, by profile id, a page at a time."""
    page, following = service.members_page(session, segment_id, after=after, limit=limit)
    return {"items": [{"profile_id": p, "since": s} for p, s in page], "next": following}


@router.get("/segments/{segment_id}/history", response_model=HistoryOut, responses=NOT_FOUND)
def segment_history(
    segment_id: str,
    _: CanRead,
    session: ReadSessionDep,
    profile_id: Annotated[str | None, Query(max_length=64, description="one person")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    """Who entered and left the segment, when and why, newest first."""
    service.get_segment(session, segment_id)
    items = service.history(session, segment_id=segment_id, profile_id=profile_id, limit=limit)
    return {"items": items}


@router.get("/segments/{segment_id}/chart", response_model=ChartOut, responses=NOT_FOUND)
def segment_chart(
    segment_id: str,
    _: CanRead,
    session: ReadSessionDep,
    days: Annotated[int, Query(ge=1, le=366)] = 30,
) -> dict[str, Any]:
    """Members at the end of each of the last `days` days (UTC), from the history."""
    points = service.membership_over_time(session, segment_id, days)
    return {"segment_id": segment_id, "points": points}


_EXPORT_HEADERS = {
    "X-Kizuna-Members": "hashed: members of the segment when the export ran",
    "X-Kizuna-Exported": "hashed: members with at least one row in the file",
    "X-Kizuna-Left-Out": "hashed: members left out because the purpose's consent is missing",
    "X-Kizuna-Without-Identifiers": "hashed: allowed members with no usable email or phone",
}


@router.get(
    "/segments/{segment_id}/export",
    response_class=Response,
    responses={
        200: {
            "description": "CSV (UTF-8). `csv`: `profile_id,email,phone,since`; `hashed`: "
            "`email,phone` as the platform's SHA-256 hex",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {
                name: {"description": text, "schema": {"type": "integer"}}
                for name, text in _EXPORT_HEADERS.items()
            },
        },
        **NOT_FOUND,
    },
)
def export_segment(
    segment_id: str,
    request: Request,
    principal: CanRead,
    session: ReadSessionDep,
    db: DatabaseDep,
    catalogue: CatalogueDep,
    rules: RulesDep,
    format: Annotated[
        Literal["csv", "hashed"],
        Query(description="`csv`: emails and phones (needs `profiles:read`); `hashed`: SHA-256"),
    ] = "csv",
    platform: Annotated[Platform, Query(description="hashed: whose normalisation")] = "google",
    purpose: Annotated[
        str, Query(pattern=r"^[a-z][a-z0-9_]{0,39}$", description="hashed: consent purpose")
    ] = "third_party_sharing",
    channel: Annotated[
        str, Query(pattern=r"^[a-z_]{1,16}$", description="hashed: consent channel")
    ] = "all",
) -> Response:
    """The members as a file. `csv` holds each member's most recent email and phone (personal
    data: also needs `profiles:read`, and every export is audited). `hashed` is for customer
    match on advertising platforms: only members whose consent allows `purpose` on `channel`
    go out, and the `X-Kizuna-*` headers say how many were left out."""
    service.get_segment(session, segment_id)
    disposition = {"Content-Disposition": f'attachment; filename="{segment_id}-{format}.csv"'}
    if format == "csv":
        authorise(request, principal, "profiles:read")
        record_read(request, principal, "segment.export", "segment", segment_id, {"format": "csv"})
        return StreamingResponse(
            export.csv_stream(db, segment_id), media_type="text/csv", headers=disposition
        )
    done = export.hashed_export(
        session,
        segment_id,
        catalogue=catalogue,
        rules=rules,
        platform=platform,
        purpose=purpose,
        channel=channel,
    )
    details: dict[str, Any] = {"format": "hashed", "platform": platform, "purpose": purpose}
    details |= {"channel": channel}
    details |= {"exported": done.exported, "left_out": done.left_out}
    record_read(request, principal, "segment.export", "segment", segment_id, details)
    return StreamingResponse(
        done.stream(), media_type="text/csv", headers=disposition | done.headers()
    )


# --- one profile's memberships ---------------------------------------------------------------


@router.get(
    "/profiles/{profile_id}/segments",
    response_model=ProfileSegmentsOut,
    responses={308: {"description": "merged into another profile: follow Location"}},
)
def profile_segments(profile_id: str, request: Request, _: CanRead, session: ReadSessionDep) -> Any:
    """The segments a profile is in now (404 `profile.not_found`; a merged-away id answers
    308 to the surviving profile)."""
    try:
        profile = live_profile(session, profile_id)
    except MergedAway as moved:
        path = request.url.path.replace(profile_id, moved.survivor, 1)
        return RedirectResponse(path, status_code=308)
    return {"profile_id": profile.id, "segments": service.memberships_of(session, profile.id)}


# --- computed traits -------------------------------------------------------------------------


@router.get("/computed-traits", response_model=ComputedTraitList)
def list_computed_traits(_: CanRead, session: ReadSessionDep) -> dict[str, Any]:
    """Every computed trait, by key."""
    return {"items": [computed_trait_out(r) for r in service.list_computed_traits(session)]}


@router.post(
    "/computed-traits", response_model=ComputedTraitOut, status_code=201, responses=CONFLICT
)
def create_computed_trait(
    body: ComputedTraitDefinition, _: CanWrite, session: SessionDep
) -> dict[str, Any]:
    """Define a computed trait; its values are computed in the background, then kept current
    (409 `computed_trait.exists` when the key is taken)."""
    return computed_trait_out(service.create_computed_trait(session, body))


@router.get("/computed-traits/{key}", response_model=ComputedTraitOut, responses=NOT_FOUND)
def get_computed_trait(key: str, _: CanRead, session: ReadSessionDep) -> dict[str, Any]:
    """One computed trait (404 `computed_trait.not_found`)."""
    return computed_trait_out(service.get_computed_trait(session, key))


@router.put("/computed-traits/{key}", response_model=ComputedTraitOut, responses=NOT_FOUND)
def update_computed_trait(
    key: str, body: ComputedTraitDefinition, _: CanWrite, session: SessionDep
) -> dict[str, Any]:
    """Replace a computed trait's definition (the key stays: 400 `computed_trait.key_fixed`)."""
    return computed_trait_out(service.update_computed_trait(session, key, body))


@router.delete(
    "/computed-traits/{key}",
    status_code=204,
    response_class=Response,
    responses={**NOT_FOUND, **CONFLICT},
)
def delete_computed_trait(key: str, _: CanWrite, session: SessionDep) -> Response:
    """Delete a computed trait and its values (409 `segment.in_use` while a segment reads it)."""
    service.delete_computed_trait(session, key)
    return Response(status_code=204)
