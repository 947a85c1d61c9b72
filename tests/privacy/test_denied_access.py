"""Refused access is audited when the caller is known, and only counted when it is not.

"An agent trying an admin route: clear 4xx, audited, nothing changed" (issue #4), on both
backends.
"""

from __future__ import annotations

import orjson
from sqlalchemy import select

from kizuna.metrics import REGISTRY
from kizuna.models import ApiKey
from kizuna.privacy import audit
from tests.factories import make_api_key
from tests.privacy.dsr import Desk
from tests.support import bearer, error_of


def _denials(desk: Desk) -> list[tuple[str, str, str, str, dict[str, str]]]:
    with desk.platform.db.read() as session:
        entries = audit.search(session, action="access.denied")
        return [
            (e.actor, e.target_type, e.target_id, e.outcome, orjson.loads(e.details or "{}"))
            for e in reversed(entries)
        ]


def _refusals(code: str) -> float:
    labels = {"surface": "api", "code": code}
    return REGISTRY.get_sample_value("kizuna_auth_refusals_total", labels) or 0.0


def _key_id(desk: Desk, name: str) -> str:
    with desk.platform.db.read() as session:
        return session.scalars(select(ApiKey.id).where(ApiKey.name == name)).one()


def test_a_support_agent_trying_an_admin_privacy_route_is_refused_audited_and_changes_nothing(
    desk: Desk,
) -> None:
    # Given a support agent's API key
    support = bearer(make_api_key(desk.platform.db, "support"))
    body = {"kind": "erasure", "identifier": {"type": "email", "value": "ann@example.com"}}

    # When it asks for an erasure (privacy:admin)
    refused = desk.api("POST", "/privacy/requests", key=support, json=body)

    # Then a clear 403 with the stable code and the scope it lacks
    assert error_of(refused) == (403, "auth.missing_scope")
    assert refused.json()["error"]["details"] == {"scope": "privacy:admin", "role": "support"}
    # and one audit entry naming the key, the route, the scope and the outcome
    [(actor, target_type, target_id, outcome, details)] = _denials(desk)
    assert actor == f"api_key:{_key_id(desk, 'test-support')}"
    assert (target_type, target_id, outcome) == ("route", "POST /api/v1/privacy/requests", "denied")
    assert details == {"code": "auth.missing_scope", "scope": "privacy:admin", "role": "support"}
    # and nothing was asked
    assert desk.api("GET", "/privacy/requests").json()["items"] == []


def test_a_denial_names_the_route_template_not_the_id_in_the_path(desk: Desk) -> None:
    support = bearer(make_api_key(desk.platform.db, "support"))

    refused = desk.api("GET", "/privacy/requests/req_someone", key=support)

    assert error_of(refused) == (403, "auth.missing_scope")
    [(_, _, target_id, _, _)] = _denials(desk)
    assert target_id == "GET /api/v1/privacy/requests/{request_id}"


def test_a_real_write_key_on_the_api_is_audited_as_its_source(desk: Desk) -> None:
    refused = desk.client.get("/api/v1/sources", auth=(desk.crm.write_key, ""))

    assert error_of(refused) == (403, "auth.write_key_not_allowed")
    [(actor, _, target_id, outcome, details)] = _denials(desk)
    assert (actor, target_id, outcome) == (f"source:{desk.crm.id}", "GET /api/v1/sources", "denied")
    assert details == {"code": "auth.write_key_not_allowed"}


def test_requests_without_valid_credentials_are_counted_not_audited(desk: Desk) -> None:
    # Given the refusal counters as they stand
    required, invalid = _refusals("auth.required"), _refusals("auth.invalid_key")
    not_allowed = _refusals("auth.write_key_not_allowed")

    # When anyone sends no key, an unknown key, or an unknown write key, many times
    for _ in range(5):
        assert error_of(desk.client.get("/api/v1/privacy/requests")) == (401, "auth.required")
        unknown = desk.client.get("/api/v1/privacy/requests", headers=bearer("kz_nobody"))
        assert error_of(unknown) == (401, "auth.invalid_key")
        forged = desk.client.get("/api/v1/sources", auth=("wk_nobody", ""))
        assert error_of(forged) == (403, "auth.write_key_not_allowed")

    # Then each refusal is counted, and the audit log did not grow
    assert _refusals("auth.required") == required + 5
    assert _refusals("auth.invalid_key") == invalid + 5
    assert _refusals("auth.write_key_not_allowed") == not_allowed + 5
    assert _denials(desk) == []
