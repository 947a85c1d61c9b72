"""Profiles: find a person by any identifier and see the 360 view."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.responses import RedirectResponse, Response

from kizuna.console.web import ConsoleRoute, Viewer, database, render, requires
from kizuna.errors import KizunaError
from kizuna.identity.config import BUILT_IN_TYPES, IdentityRules, load_rules
from kizuna.privacy.audit import record_read
from kizuna.profiles import service

router = APIRouter(route_class=ConsoleRoute)

CanReadProfiles = Annotated[Viewer, Depends(requires("profiles:read"))]
TIMELINE_SIZE = 50


@lru_cache(maxsize=4)
def _rules(path: str) -> IdentityRules:
    return load_rules(path)


def rules_of(request: Request) -> IdentityRules:
    return _rules(request.app.state.settings.identity.rules_file)


@router.get("/profiles")
def profiles_page(
    request: Request,
    viewer: CanReadProfiles,
    type: Annotated[str, Query(max_length=40)] = "email",
    value: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """Look a person up by an identifier; a hit opens the profile."""
    error = ""
    if value:
        with database(request).read() as session:
            try:
                profile = service.lookup(session, rules_of(request), type, value)
            except KizunaError as exc:
                error = exc.code
            else:
                return RedirectResponse(f"/console/profiles/{profile.id}", status_code=303)
    context = {
        "nav": "profiles",
        "types": list(BUILT_IN_TYPES),
        "selected": {"type": type, "value": value},
        "error": error,
    }
    return render(request, viewer, "profiles.html", context, status_code=404 if error else 200)


@router.get("/profiles/{profile_id}")
def profile_page(
    profile_id: str,
    request: Request,
    viewer: CanReadProfiles,
    channel: Annotated[str, Query(max_length=32)] = "",
    event: Annotated[str, Query(max_length=200)] = "",
) -> Response:
    """The 360 view: identifiers, traits with provenance, channels, timeline, conflicts."""
    rules = rules_of(request)
    with database(request).read() as session:
        try:
            profile = service.live_profile(session, profile_id)
        except service.MergedAway as moved:
            return RedirectResponse(f"/console/profiles/{moved.survivor}", status_code=303)
        channels = service.channels(session, profile.id)
        context = {
            "nav": "profiles",
            "profile": profile,
            "identifiers": service.identifiers(session, profile.id),
            "traits": service.traits(session, rules, profile.id),
            "channels": channels,
            "max_events": max((c["events"] for c in channels), default=0),
            "timeline": service.timeline(
                session,
                profile.id,
                channel=channel or None,
                event=event or None,
                limit=TIMELINE_SIZE,
            ),
            "conflicts": service.conflicts(session, profile.id),
            "selected": {"channel": channel, "event": event},
            "first_seen": min((c["first_seen_at"] for c in channels), default=None),
            "last_seen": max((c["last_seen_at"] for c in channels), default=None),
        }
    record_read(
        request, viewer.principal, "profile.read", "profile", profile.id, {"via": "console"}
    )
    return render(request, viewer, "profile.html", context)
