"""Probable matches: the grey zone of the matcher, for a person to accept or reject."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import Response

from kizuna.console.views_profiles import rules_of
from kizuna.console.web import (
    ConsoleRoute,
    PostIdentityAdmin,
    Viewer,
    database,
    render,
    requires,
    see_other,
)
from kizuna.matching import service
from kizuna.privacy.audit import record_read
from kizuna.profiles.attributes import person_attributes_of

router = APIRouter(route_class=ConsoleRoute)

CanReadProfiles = Annotated[Viewer, Depends(requires("profiles:read"))]
PAGE = 50


@router.get("/matches")
def matches_page(
    request: Request,
    viewer: CanReadProfiles,
    status: Annotated[str, Query(pattern="^(pending|linked|accepted|rejected)$")] = "pending",
    decided: Annotated[int | None, Query(ge=0)] = None,
    verdict: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """Each record beside the profile it probably is, most probable first."""
    with database(request).read() as session:
        rows = (
            service.pending(session, limit=PAGE)
            if status == "pending"
            else service.recent(session, status=status, limit=PAGE)
        )
        profiles = person_attributes_of(session, {r.profile_id for r in rows})
        items: list[dict[str, Any]] = [
            {
                "match": r,
                "record": orjson.loads(r.record),
                "profile": profiles.get(r.profile_id, {}),
            }
            for r in rows
        ]
    context = {
        "nav": "matches",
        "matches": items,
        "status": status,
        "statuses": ["pending", "linked", "accepted", "rejected"],
        "decided": decided,
        "verdict": verdict,
    }
    if items:
        record_read(
            request, viewer.principal, "matches.read", "probable_matches", status,
            {"via": "console", "count": len(items)},
        )  # fmt: skip
    return render(request, viewer, "matches.html", context)


def _decide(request: Request, viewer: Viewer, match_id: int, accept: bool) -> Response:
    assert viewer.principal is not None
    principal = viewer.principal
    with database(request).write() as session:
        service.decide(
            session,
            rules_of(request),
            match_id,
            accept=accept,
            actor=f"{principal.name} ({principal.kind}:{principal.id})",
            log=request.app.state.event_log,
        )
        session.commit()
    request.app.state.runner.wake()
    return see_other(
        "/console/matches", decided=match_id, verdict="accepted" if accept else "rejected"
    )


@router.post("/matches/{match_id}/accept")
def accept(match_id: int, request: Request, viewer: PostIdentityAdmin) -> Response:
    """The record is this person: it joins the profile (admin evidence)."""
    return _decide(request, viewer, match_id, True)


@router.post("/matches/{match_id}/reject")
def reject(match_id: int, request: Request, viewer: PostIdentityAdmin) -> Response:
    """The record is someone else: never proposed again for this profile."""
    return _decide(request, viewer, match_id, False)
