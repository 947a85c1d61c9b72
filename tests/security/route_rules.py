"""Who may call each route: the table the authorisation matrix checks the app against.

Every route the app serves has exactly one rule here, keyed by ``(method, path template)``.
A new route without a rule fails ``test_every_route_has_a_rule``: decide who may call it,
write the rule, and the matrix checks every principal against it.

A rule is one of:

- a scope from ``kizuna.auth.rules.SCOPES``: under ``/api/v1`` and on the bearer-token
  operations routes (``BEARER_ROUTES``) an API key (Bearer) whose role holds it; under
  ``/console`` a console session whose role holds it (POSTs also need the session's CSRF
  token). Which roles hold a scope comes from ``ROLE_SCOPES``, never from here.
- ``SIGNED_IN``: any console session (POSTs also need the CSRF token).
- ``WRITE_KEY``: a source's write key (HTTP Basic user name, or ``writeKey`` in the body).
- ``SIGNED_LINK``: the signed token in the path is the credential (a person's link).
- ``PUBLIC``: nothing (console POSTs still need a double-submit CSRF token).
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI
from starlette.routing import BaseRoute, Mount

PUBLIC = "public"
WRITE_KEY = "write_key"
SIGNED_LINK = "signed_link"
SIGNED_IN = "signed_in"

RouteKey = tuple[str, str]

_TRACKING_CALLS = ("identify", "track", "page", "screen", "group", "alias", "batch", "import")

RULES: dict[RouteKey, str] = {
    # FastAPI's own documentation routes and the operations probes.
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/docs/oauth2-redirect"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/"): PUBLIC,
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,  # details only for ops:read (tested in test_findings.py)
    ("GET", "/metrics"): "ops:read",  # or the configured metrics token (SEC-6)
    # The Segment-compatible tracking API.
    **{("POST", f"/v1/{call}"): WRITE_KEY for call in _TRACKING_CALLS},
    # Sources, quarantine, tallies.
    ("GET", "/api/v1/sources"): "sources:read",
    ("POST", "/api/v1/sources"): "sources:write",
    ("GET", "/api/v1/sources/{source_id}"): "sources:read",
    ("PUT", "/api/v1/sources/{source_id}/tracking-plan"): "sources:write",
    ("POST", "/api/v1/sources/{source_id}/rotate-write-key"): "sources:write",
    ("POST", "/api/v1/sources/{source_id}/revoke"): "sources:write",
    ("GET", "/api/v1/quarantine"): "sources:read",
    ("POST", "/api/v1/quarantine/replay"): "sources:write",
    ("POST", "/api/v1/quarantine/{quarantined_id}/discard"): "sources:write",
    ("GET", "/api/v1/ingestion/tallies"): "sources:read",
    # The event log and the pipeline.
    ("GET", "/api/v1/events"): "events:read",
    ("GET", "/api/v1/events/{seq}"): "events:read",
    ("GET", "/api/v1/pipeline/consumers"): "pipeline:read",
    ("GET", "/api/v1/pipeline/dead-letters"): "pipeline:read",
    ("POST", "/api/v1/pipeline/dead-letters/{dead_letter_id}/replay"): "pipeline:admin",
    ("POST", "/api/v1/pipeline/dead-letters/{dead_letter_id}/discard"): "pipeline:admin",
    # Catalogue.
    ("GET", "/api/v1/catalog/products"): "catalog:read",
    ("GET", "/api/v1/catalog/locations"): "catalog:read",
    # Profiles and consent.
    ("GET", "/api/v1/profiles/lookup"): "profiles:read",
    ("GET", "/api/v1/profiles/{profile_id}"): "profiles:read",
    ("GET", "/api/v1/profiles/{profile_id}/timeline"): "profiles:read",
    ("GET", "/api/v1/profiles/{profile_id}/explain"): "profiles:read",
    ("GET", "/api/v1/profiles/{profile_id}/consent"): "profiles:read",
    ("POST", "/api/v1/profiles/{profile_id}/consent"): "profiles:write",
    ("POST", "/api/v1/profiles/{profile_id}/preference-link"): "profiles:write",
    ("POST", "/api/v1/profiles/{profile_id}/unsubscribe-link"): "profiles:write",
    ("GET", "/api/v1/consent/check"): "profiles:read",
    ("GET", "/api/v1/consent/catalogue"): "profiles:read",
    # Audit log and data subject requests.
    ("GET", "/api/v1/audit"): "audit:read",
    ("GET", "/api/v1/privacy/requests"): "privacy:admin",
    ("POST", "/api/v1/privacy/requests"): "privacy:admin",
    ("GET", "/api/v1/privacy/requests/{request_id}"): "privacy:admin",
    ("GET", "/api/v1/privacy/requests/{request_id}/archive"): "privacy:admin",
    ("GET", "/api/v1/privacy/personal-fields"): "privacy:admin",
    # Identity: matching, retractions, manual links, conflicts, rules.
    ("GET", "/api/v1/identity/matches"): "profiles:read",
    ("POST", "/api/v1/identity/matches"): "identity:admin",
    ("POST", "/api/v1/identity/matches/{match_id}/accept"): "identity:admin",
    ("POST", "/api/v1/identity/matches/{match_id}/reject"): "identity:admin",
    ("POST", "/api/v1/identity/retractions"): "identity:admin",
    ("POST", "/api/v1/identity/links"): "identity:admin",
    ("GET", "/api/v1/identity/conflicts"): "profiles:read",
    ("GET", "/api/v1/identity/refusals"): "profiles:read",
    ("POST", "/api/v1/identity/rules/dry-run"): "identity:admin",
    # Segments and computed traits.
    ("GET", "/api/v1/segments"): "segments:read",
    ("POST", "/api/v1/segments"): "segments:write",
    ("POST", "/api/v1/segments/preview"): "segments:read",
    ("GET", "/api/v1/segments/{segment_id}"): "segments:read",
    ("PUT", "/api/v1/segments/{segment_id}"): "segments:write",
    ("DELETE", "/api/v1/segments/{segment_id}"): "segments:write",
    ("GET", "/api/v1/segments/{segment_id}/members"): "segments:read",
    ("GET", "/api/v1/segments/{segment_id}/history"): "segments:read",
    ("GET", "/api/v1/segments/{segment_id}/chart"): "segments:read",
    # csv also needs profiles:read, checked once the segment is found (test_segments_api.py)
    ("GET", "/api/v1/segments/{segment_id}/export"): "segments:read",
    ("GET", "/api/v1/profiles/{profile_id}/segments"): "segments:read",
    ("GET", "/api/v1/computed-traits"): "segments:read",
    ("POST", "/api/v1/computed-traits"): "segments:write",
    ("GET", "/api/v1/computed-traits/{key}"): "segments:read",
    ("PUT", "/api/v1/computed-traits/{key}"): "segments:write",
    ("DELETE", "/api/v1/computed-traits/{key}"): "segments:write",
    # The pages a person opens from a message.
    ("GET", "/preferences/{token}"): SIGNED_LINK,
    ("POST", "/preferences/{token}"): SIGNED_LINK,
    ("GET", "/unsubscribe/{token}"): SIGNED_LINK,
    ("POST", "/unsubscribe/{token}"): SIGNED_LINK,
    # The console.
    ("GET", "/console/static/{path:path}"): PUBLIC,
    ("GET", "/console/login"): PUBLIC,
    ("POST", "/console/login"): PUBLIC,
    ("POST", "/console/lang"): PUBLIC,
    ("POST", "/console/logout"): SIGNED_IN,
    ("GET", "/console/"): SIGNED_IN,
    ("GET", "/console/{path:path}"): PUBLIC,  # the console's own 404 page
    ("GET", "/console/sources"): "sources:read",
    ("POST", "/console/sources"): "sources:write",
    ("GET", "/console/sources/{source_id}"): "sources:read",
    ("POST", "/console/sources/{source_id}/rotate"): "sources:write",
    ("POST", "/console/sources/{source_id}/revoke"): "sources:write",
    ("POST", "/console/sources/{source_id}/plan"): "sources:write",
    ("GET", "/console/sources/{source_id}/events/live"): "events:read",
    ("GET", "/console/events"): "events:read",
    ("GET", "/console/events/{seq}"): "events:read",
    ("GET", "/console/quarantine"): "sources:read",
    ("POST", "/console/quarantine/replay"): "sources:write",
    ("POST", "/console/quarantine/{quarantined_id}/replay"): "sources:write",
    ("POST", "/console/quarantine/{quarantined_id}/discard"): "sources:write",
    ("GET", "/console/pipeline"): "pipeline:read",
    ("POST", "/console/pipeline/dead-letters/{dead_letter_id}/replay"): "pipeline:admin",
    ("POST", "/console/pipeline/dead-letters/{dead_letter_id}/discard"): "pipeline:admin",
    ("GET", "/console/segments"): "segments:read",
    ("GET", "/console/segments/live"): "segments:read",
    ("GET", "/console/segments/new"): "segments:write",
    ("POST", "/console/segments"): "segments:write",
    ("POST", "/console/segments/preview"): "segments:read",
    ("GET", "/console/segments/{segment_id}"): "segments:read",
    ("GET", "/console/segments/{segment_id}/live"): "segments:read",
    ("GET", "/console/segments/{segment_id}/edit"): "segments:write",
    ("POST", "/console/segments/{segment_id}"): "segments:write",
    ("POST", "/console/segments/{segment_id}/delete"): "segments:write",
    ("GET", "/console/computed-traits"): "segments:read",
    ("POST", "/console/computed-traits"): "segments:write",
    ("POST", "/console/computed-traits/{key}/delete"): "segments:write",
    ("GET", "/console/profiles"): "profiles:read",
    ("GET", "/console/profiles/{profile_id}"): "profiles:read",
    ("POST", "/console/profiles/{profile_id}/consent"): "profiles:write",
    ("GET", "/console/matches"): "profiles:read",
    ("POST", "/console/matches/{match_id}/accept"): "identity:admin",
    ("POST", "/console/matches/{match_id}/reject"): "identity:admin",
    ("GET", "/console/privacy"): "privacy:admin",
    ("POST", "/console/privacy/requests"): "privacy:admin",
    ("GET", "/console/privacy/requests/{request_id}/archive"): "privacy:admin",
}

KINDS = (PUBLIC, WRITE_KEY, SIGNED_LINK, SIGNED_IN)

# Outside /api/v1, routes that take an API key as a Bearer token, like the API.
BEARER_ROUTES = frozenset({"/metrics"})


def takes_api_keys(path: str) -> bool:
    return path.startswith("/api/") or path in BEARER_ROUTES


def _flat_routes(app: FastAPI) -> Iterator[tuple[BaseRoute, str, set[str] | None]]:
    """``(route, full path, methods)`` for every route, through included routers.

    FastAPI >= 0.165 keeps included routers as lazy ``_IncludedRouter`` entries in
    ``app.routes``; ``iter_route_contexts`` resolves them with their full paths. Older FastAPI
    copies the routes into ``app.routes`` with their prefixes already applied.
    """
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # FastAPI < 0.165
        for route in app.routes:
            yield route, str(getattr(route, "path", "")), getattr(route, "methods", None)
        return
    for context in iter_route_contexts(app.routes):
        yield context.original_route, str(context.path), context.methods


def app_routes(app: FastAPI) -> set[RouteKey]:
    """Every ``(method, path template)`` the app answers (HEAD is implied by GET)."""
    keys: set[RouteKey] = set()
    for route, path, methods in _flat_routes(app):
        if isinstance(route, Mount):
            keys.add(("GET", f"{path}/{{path:path}}"))
            continue
        keys.update((method, path) for method in (methods or set()) if method != "HEAD")
    return keys
