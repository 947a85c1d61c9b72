"""``/api/v1/profiles``: look a person up by any identifier and see the 360 view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import RedirectResponse, Response

from kizuna.auth.dependencies import RequireScope
from kizuna.auth.service import Principal
from kizuna.db import ReadSessionDep
from kizuna.identity.endpoints import RulesDep
from kizuna.identity.service import parse_identifier
from kizuna.openapi import NOT_FOUND
from kizuna.privacy.audit import record_read
from kizuna.profiles import service
from kizuna.profiles.schemas import ExplainOut, ProfileOut, TimelineOut

router = APIRouter(prefix="/profiles", tags=["profiles"])

CanRead = Annotated[Principal, Depends(RequireScope("profiles:read"))]


def _redirect(request: Request, survivor: str) -> Response:
    """A merged-away id answers 308 to the surviving profile, same sub-path and query."""
    path = request.url.path.replace(request.path_params["profile_id"], survivor, 1)
    query = f"?{request.url.query}" if request.url.query else ""
    return RedirectResponse(path + query, status_code=308)


@router.get("/lookup", response_model=ProfileOut, responses=NOT_FOUND)
def lookup_profile(
    principal: CanRead,
    request: Request,
    session: ReadSessionDep,
    rules: RulesDep,
    type: Annotated[str, Query(description="identifier type: email, phone, user_id...")],
    value: Annotated[str, Query(description="the identifier, normalised like events' ones")],
) -> dict[str, Any]:
    """The profile holding an identifier (404 ``profile.not_found`` when nobody has it)."""
    profile = service.lookup(session, rules, type, value)
    view = _view(session, rules, profile)
    record_read(request, principal, "profile.read", "profile", profile.id, {"by": type})
    return view


@router.get(
    "/{profile_id}",
    response_model=ProfileOut,
    responses={308: {"description": "merged into another profile: follow Location"}},
)
def get_profile(
    profile_id: str,
    request: Request,
    principal: CanRead,
    session: ReadSessionDep,
    rules: RulesDep,
) -> Any:
    """The 360 view: identifiers with where and when seen, traits with provenance, channels."""
    try:
        profile = service.live_profile(session, profile_id)
    except service.MergedAway as moved:
        return _redirect(request, moved.survivor)
    view = _view(session, rules, profile)
    record_read(request, principal, "profile.read", "profile", profile.id)
    return view


def _view(session: Any, rules: Any, profile: Any) -> dict[str, Any]:
    channels = service.channels(session, profile.id)
    traits = service.traits(session, rules, profile.id)
    return {
        **service.summary(profile),
        "first_seen_at": min((c["first_seen_at"] for c in channels), default=None),
        "last_seen_at": max((c["last_seen_at"] for c in channels), default=None),
        "channels_used": sorted(c["channel"] for c in channels),
        "identifiers": service.identifiers(session, profile.id),
        "channels": channels,
        "traits": traits,
        "conflicts": service.conflicts(session, profile.id),
    }


@router.get("/{profile_id}/timeline", response_model=TimelineOut)
def get_timeline(
    profile_id: str,
    request: Request,
    principal: CanRead,
    session: ReadSessionDep,
    channel: str | None = None,
    event: Annotated[str | None, Query(description="event name or call type")] = None,
    before: Annotated[int | None, Query(description="seq to page back from")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> Any:
    """Every event of the person across channels, newest first, with merges and splits."""
    try:
        profile = service.live_profile(session, profile_id)
    except service.MergedAway as moved:
        return _redirect(request, moved.survivor)
    items = service.timeline(
        session, profile.id, channel=channel, event=event, before=before, limit=limit
    )
    seqs = [i["seq"] for i in items if i["kind"] == "event"]
    record_read(request, principal, "profile.timeline.read", "profile", profile.id)
    return {"items": items, "next_before": min(seqs) if len(items) >= limit and seqs else None}


@router.get("/{profile_id}/explain", response_model=ExplainOut)
def explain_link(
    profile_id: str,
    request: Request,
    principal: CanRead,
    session: ReadSessionDep,
    rules: RulesDep,
    a: Annotated[str, Query(description="TYPE:VALUE, e.g. email:ann@example.com")],
    b: Annotated[str, Query(description="TYPE:VALUE")],
) -> Any:
    """Why two identifiers are one person: the chain of evidence between them."""
    try:
        profile = service.live_profile(session, profile_id)
    except service.MergedAway as moved:
        return _redirect(request, moved.survivor)
    first, second = parse_identifier(a, rules), parse_identifier(b, rules)
    steps = service.explain(session, rules, profile.id, first, second)
    record_read(request, principal, "profile.explain.read", "profile", profile.id)
    return {"profile_id": profile.id, "a": str(first), "b": str(second), "steps": steps}
