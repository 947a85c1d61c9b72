"""Profiles: find a person by any identifier and see the 360 view."""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from kizuna.console.web import (
    ConsoleRoute,
    PostProfilesWrite,
    Viewer,
    database,
    render,
    requires,
    see_other,
)
from kizuna.errors import KizunaError
from kizuna.identity.config import BUILT_IN_TYPES, IdentityRules, load_rules
from kizuna.privacy import audit, consent
from kizuna.privacy.audit import record_read
from kizuna.privacy.consent_config import load_catalogue
from kizuna.profiles import service
from kizuna.segments.service import memberships_of

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
    consent_saved: Annotated[int, Query(ge=0, le=1)] = 0,
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
        catalogue = load_catalogue(request.app.state.settings.privacy.consent_file)
        labels = {
            g.key: g.label_ja if viewer.lang == "ja" else g.label_en for g in catalogue.groups
        }
        context["consent_state"] = [
            {**c, "label": labels[f"{c['purpose']}:{c['channel']}"]}
            for c in consent.current_state(session, catalogue, profile.id)
        ]
        context["consent_history"] = consent.history(session, profile.id)
        if viewer.may("segments:read"):
            context["segments"] = memberships_of(session, profile.id)
        context["consent_saved"] = consent_saved
    record_read(
        request, viewer.principal, "profile.read", "profile", profile.id, {"via": "console"}
    )
    return render(request, viewer, "profile.html", context)


@router.post("/profiles/{profile_id}/consent")
def record_consent(
    profile_id: str,
    request: Request,
    viewer: PostProfilesWrite,
    group: Annotated[str, Form(max_length=60)],
    granted: Annotated[str, Form(pattern="^(yes|no)$")],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """A decision the person gave an agent (on the phone, at the counter), on their behalf."""
    purpose, _, channel = group.partition(":")
    catalogue = load_catalogue(request.app.state.settings.privacy.consent_file)
    actor = audit.actor_of(viewer.principal)
    with database(request).write() as session:
        row = consent.record_for_profile(
            session,
            catalogue,
            rules_of(request),
            profile_id,
            consent.ConsentChoice(
                purpose, channel, granted == "yes", "consent", "console", note=note or None
            ),
            actor=actor,
        )
        said = {"purpose": purpose, "channel": channel, "granted": granted == "yes"}
        audit.record(
            session,
            actor,
            "consent.recorded",
            "profile",
            row.profile_id or profile_id,
            details={**said, "via": "console"},
        )
        session.commit()
    return see_other(f"/console/profiles/{row.profile_id or profile_id}", consent_saved=1)
