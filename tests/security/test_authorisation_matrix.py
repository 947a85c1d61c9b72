"""Every route × every kind of caller, against the rules in ``route_rules.py``.

The routes come from the app itself, so a new route without a rule fails
``test_every_route_has_a_rule``. Which roles hold a scope comes from
``kizuna.auth.rules.ROLE_SCOPES``, so the matrix follows role changes.

Path parameters get a dummy value: a 404, 400 or 422 after authorisation counts as *allowed*
(the caller got past the check), while 401, 403 and the console's redirect to its login page
count as *refused*. Requests carry no valid body, so an allowed call changes nothing.
Console POSTs are sent twice per caller: without the CSRF token (always refused) and with it.
Every 403 to a known caller (an API key, a console session, a real write key) must leave one
``access.denied`` audit entry naming it; nothing else may (401s are only counted).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient

from kizuna.app import create_app
from kizuna.auth import service as auth_service
from kizuna.auth.rules import ROLE_SCOPES, ROLES, SCOPES
from kizuna.auth.service import create_console_user, open_session, revoke_api_key
from kizuna.config import Settings
from kizuna.console.web import LOGIN_CSRF_COOKIE, SESSION_COOKIE
from kizuna.db import Database
from kizuna.models import ApiKey, AuditEntry
from kizuna.privacy import audit
from kizuna.runtime import Platform
from tests.factories import make_api_key, make_source
from tests.security.route_rules import (
    KINDS,
    PUBLIC,
    RULES,
    SIGNED_IN,
    SIGNED_LINK,
    WRITE_KEY,
    RouteKey,
    app_routes,
    takes_api_keys,
)
from tests.support import bearer

PASSWORD = "correct horse battery staple"
DUMMY = "987654"  # fits int and str path parameters; no object has this id
LOGIN_USER = "login-probe@example.com"


# --- callers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Caller:
    """One kind of caller: what it sends with every request."""

    name: str
    kind: str  # anonymous | write_key | api_key | console
    role: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    session: str | None = None  # console session cookie
    csrf: str = "anonymous-double-submit-token"


def _console_session(db: Database, role: str, email: str) -> tuple[str, str]:
    with db.write() as session:
        user = create_console_user(session, email=email, password=PASSWORD, role=role)
        opened = open_session(session, user, hours=1)
        session.commit()
    return opened.token, opened.csrf_token


def _revoked_key(db: Database) -> str:
    secret = make_api_key(db, "admin")
    with db.write() as session:
        key = session.query(ApiKey).filter(ApiKey.name == "test-admin").one()
        revoke_api_key(session, key.id)
        session.commit()
    return secret


def _callers(db: Database, write_key: str) -> list[Caller]:
    basic = httpx.BasicAuth(write_key, "")
    write_key_header = next(basic.auth_flow(httpx.Request("GET", "/"))).headers["authorization"]
    callers = [
        Caller("anonymous", "anonymous"),
        Caller("write_key", "write_key", headers={"Authorization": write_key_header}),
        Caller("revoked_api_key", "api_key", headers=bearer(_revoked_key(db))),
    ]
    callers += [
        Caller(f"api_key:{role}", "api_key", role, headers=bearer(make_api_key(db, role)))
        for role in ROLES
    ]
    for role in ROLES:
        token, csrf = _console_session(db, role, f"{role}@example.com")
        callers.append(Caller(f"console:{role}", "console", role, session=token, csrf=csrf))
    return callers


# --- the app under test ---------------------------------------------------------------------


@dataclass
class World:
    app: FastAPI
    client: TestClient
    platform: Platform
    callers: list[Caller]
    write_key: str
    admin: dict[str, str]
    extra_sessions: int = 0

    def fresh_session(self, caller: Caller) -> Caller:
        """A new session for the caller's role (for logout, which ends the session it uses)."""
        assert caller.role is not None
        self.extra_sessions += 1
        email = f"{caller.role}-{self.extra_sessions}@example.com"
        token, csrf = _console_session(self.platform.db, caller.role, email)
        return Caller(caller.name, "console", caller.role, session=token, csrf=csrf)


@pytest.fixture(scope="module")
def world(sqlite_settings: Settings) -> Iterator[World]:
    platform = Platform(sqlite_settings)
    app = create_app(sqlite_settings, platform)
    # Passwords are not what this module tests: a cheap argon2 keeps ~20 logins fast.
    with pytest.MonkeyPatch.context() as patch, TestClient(app) as client:
        patch.setattr(auth_service, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))
        db = platform.db
        source = make_source(db, "matrix-web", "web")
        with db.write() as session:
            create_console_user(session, email=LOGIN_USER, password=PASSWORD, role="readonly")
            session.commit()
        callers = _callers(db, source.write_key)
        admin = bearer(make_api_key(db, "admin"))
        yield World(app, client, platform, callers, source.write_key, admin)


def _cookie_header(caller: Caller) -> str:
    cookies = {LOGIN_CSRF_COOKIE: caller.csrf}
    if caller.session:
        cookies[SESSION_COOKIE] = caller.session
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def _fill(path: str, value: str = DUMMY) -> str:
    return re.sub(r"\{[^}]+\}", value, path)


def send(
    world: World, method: str, path: str, caller: Caller, *, csrf: bool, url: str | None = None
) -> httpx.Response:
    """One request from ``caller``; console POSTs carry its CSRF token when ``csrf``."""
    headers = {"Accept": "application/json", "Cookie": _cookie_header(caller), **caller.headers}
    kwargs: dict[str, Any] = {}
    if path.startswith("/v1/"):
        kwargs["json"] = {}  # a body to read; without a write key it is refused before parsing
    elif method == "POST" and path.startswith("/console/"):
        form = {"csrf_token": caller.csrf} if csrf else {}
        if path == "/console/login":
            form |= {"email": LOGIN_USER, "password": PASSWORD}
        kwargs["data"] = form
    world.client.cookies.clear()  # every request carries exactly the caller's credentials
    return world.client.request(
        method, url or _fill(path), headers=headers, follow_redirects=False, **kwargs
    )


# --- what each caller should get ------------------------------------------------------------

ALLOWED = "allowed"
LOGIN = "redirect to login"


@dataclass(frozen=True)
class Expected:
    outcome: str  # ALLOWED | LOGIN | "401" | "403"
    code: str | None = None  # the error code, where the answer is JSON


def _holds(caller: Caller, rule: str) -> bool:
    return caller.role is not None and rule in ROLE_SCOPES[caller.role]


def expected(key: RouteKey, caller: Caller, *, csrf: bool) -> Expected:
    method, path = key
    rule = RULES[key]
    if rule == PUBLIC and not (method == "POST" and path.startswith("/console/")):
        return Expected(ALLOWED)
    if rule == SIGNED_LINK:
        return Expected("403")  # the dummy token; valid links are checked separately
    if rule == WRITE_KEY:
        if caller.kind == "write_key":
            return Expected(ALLOWED)
        return Expected("401", "auth.write_key_required")
    if takes_api_keys(path):
        if caller.kind == "write_key":
            return Expected("403", "auth.write_key_not_allowed")
        if caller.name == "revoked_api_key":
            return Expected("401", "auth.invalid_key")
        if caller.kind != "api_key":
            return Expected("401", "auth.required")  # console sessions do not open the API
        return Expected(ALLOWED) if _holds(caller, rule) else Expected("403", "auth.missing_scope")
    assert path.startswith("/console/"), key
    if rule == PUBLIC:  # login and language forms: a double-submit token, no session needed
        return Expected(ALLOWED) if csrf else Expected("403", "auth.csrf")
    if caller.kind != "console":
        return Expected(LOGIN)  # API keys and write keys do not open the console
    if method == "POST" and not csrf:
        return Expected("403", "auth.csrf")
    if rule == SIGNED_IN or _holds(caller, rule):
        return Expected(ALLOWED)
    return Expected("403", "auth.missing_scope")


def observed(response: httpx.Response) -> Expected:
    status = response.status_code
    if status in (301, 302, 303, 307, 308):
        if response.headers.get("location", "").startswith("/console/login?next="):
            return Expected(LOGIN)
        return Expected(ALLOWED)
    if status in (401, 403):
        code = None
        if response.headers.get("content-type", "").startswith("application/json"):
            body = response.json()
            code = (body.get("error") or {}).get("code")
        return Expected(str(status), code)
    return Expected(ALLOWED)


def _matches(want: Expected, got: Expected) -> bool:
    return want.outcome == got.outcome and (want.code is None or want.code == got.code)


# --- refusals of a known caller are audited (401s only counted) ------------------------------

_ACTOR_PREFIX = {"api_key": "api_key:", "console": "console_user:", "write_key": "source:"}


def _last_denial(world: World) -> AuditEntry | None:
    with world.platform.db.read() as session:
        found = audit.search(session, action="access.denied", limit=1)
        return found[0] if found else None


def audit_problem(
    rule: str, caller: Caller, got: Expected, before: AuditEntry | None, after: AuditEntry | None
) -> str | None:
    """Why the audit log does not show what this answer should have left there, or None.

    Signed links and the public console forms refuse a token, not the caller: not audited.
    """
    new = after if after is not None and (before is None or after.id > before.id) else None
    known = caller.kind in _ACTOR_PREFIX and caller.name != "revoked_api_key"
    if got.outcome == "403" and known and rule not in (PUBLIC, SIGNED_LINK):
        if new is None:
            return "a refusal of a known caller left no audit entry"
        if not new.actor.startswith(_ACTOR_PREFIX[caller.kind]) or new.outcome != "denied":
            return f"wrong audit entry: {new.actor} {new.outcome}"
        return None
    return None if new is None else f"unexpected audit entry {new.actor} {new.target_id}"


# --- the tests ------------------------------------------------------------------------------

LINK_ROUTES = sorted(k for k, r in RULES.items() if r == SIGNED_LINK)


def _route_id(key: RouteKey) -> str:
    return f"{key[0]} {key[1]}"


def test_every_route_has_a_rule(world: World) -> None:
    routes = app_routes(world.app)
    missing = sorted(routes - RULES.keys())
    stale = sorted(RULES.keys() - routes)
    assert not missing, f"routes without a rule in tests/security/route_rules.py: {missing}"
    assert not stale, f"rules for routes the app no longer has: {stale}"


def test_every_rule_names_a_known_scope_or_kind() -> None:
    unknown = {k: r for k, r in RULES.items() if r not in SCOPES and r not in KINDS}
    assert not unknown


def test_every_role_is_in_the_matrix(world: World) -> None:
    assert set(ROLE_SCOPES) == set(ROLES)
    for kind in ("api_key", "console"):
        assert {c.role for c in world.callers if c.kind == kind and c.role} >= set(ROLES)


def _cases(key: RouteKey) -> list[bool]:
    method, path = key
    return [False, True] if method == "POST" and path.startswith("/console/") else [False]


@pytest.mark.parametrize("key", sorted(RULES), ids=_route_id)
def test_route_answers_each_caller_as_its_rule_says(world: World, key: RouteKey) -> None:
    method, path = key
    wrong = []
    for caller in world.callers:
        for csrf in _cases(key):
            who = caller
            if path == "/console/logout" and caller.kind == "console":
                who = world.fresh_session(caller)
            before = _last_denial(world)
            response = send(world, method, path, who, csrf=csrf)
            assert response.status_code < 500, (caller.name, response.text)
            want, got = expected(key, caller, csrf=csrf), observed(response)
            if not _matches(want, got):
                wrong.append(
                    f"{caller.name} (csrf={csrf}): expected {want}, got {got} "
                    f"[{response.status_code}] {response.text[:200]}"
                )
            elif problem := audit_problem(RULES[key], caller, got, before, _last_denial(world)):
                wrong.append(f"{caller.name} (csrf={csrf}): {problem}")
    assert not wrong, f"{method} {path}:\n  " + "\n  ".join(wrong)


# --- signed links: the token is the credential ----------------------------------------------


@pytest.fixture(scope="module")
def links(world: World) -> dict[str, str]:
    """A real person's preference-centre and unsubscribe paths."""
    sent = world.client.post(
        "/v1/identify",
        auth=(world.write_key, ""),
        json={"userId": "u-matrix", "traits": {"email": "matrix@example.com"}},
    )
    assert sent.status_code == 200, sent.text
    world.platform.runner.run_until_idle()
    found = world.client.get(
        "/api/v1/profiles/lookup",
        params={"type": "user_id", "value": "u-matrix"},
        headers=world.admin,
    )
    assert found.status_code == 200, found.text
    profile_id = found.json()["id"]
    base = f"/api/v1/profiles/{profile_id}"
    prefs = world.client.post(f"{base}/preference-link", headers=world.admin)
    unsub = world.client.post(
        f"{base}/unsubscribe-link",
        json={"purpose": "marketing", "channel": "email"},
        headers=world.admin,
    )
    assert prefs.status_code == 201, prefs.text
    assert unsub.status_code == 201, unsub.text
    return {
        "/preferences/{token}": httpx.URL(prefs.json()["url"]).path,
        "/unsubscribe/{token}": httpx.URL(unsub.json()["url"]).path,
    }


@pytest.mark.parametrize("key", LINK_ROUTES, ids=_route_id)
def test_a_valid_signed_link_opens_its_page_for_anyone(
    world: World, links: dict[str, str], key: RouteKey
) -> None:
    method, path = key
    for caller in world.callers:
        response = send(world, method, path, caller, csrf=False, url=links[path])
        assert response.status_code == 200, (caller.name, response.status_code, response.text)


@pytest.mark.parametrize("key", LINK_ROUTES, ids=_route_id)
def test_a_tampered_signed_link_is_refused(
    world: World, links: dict[str, str], key: RouteKey
) -> None:
    method, path = key
    prefix, token = links[path].rsplit("/", 1)
    swapped = "B" if token[0] == "A" else "A"  # the payload's first character: its profile id
    response = send(
        world, method, path, world.callers[0], csrf=False, url=f"{prefix}/{swapped}{token[1:]}"
    )
    assert response.status_code == 403, response.text


def test_a_console_form_with_another_sessions_token_is_refused(world: World) -> None:
    admin = next(c for c in world.callers if c.name == "console:admin")
    marketer = next(c for c in world.callers if c.name == "console:marketer")
    borrowed = Caller(admin.name, "console", "admin", session=admin.session, csrf=marketer.csrf)

    response = send(world, "POST", "/console/quarantine/replay", borrowed, csrf=True)

    assert observed(response) == Expected("403", "auth.csrf")
