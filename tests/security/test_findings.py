"""Findings of the security review (``docs/threat-model.md`` §6) that behaviour tests can pin.

Each test states the behaviour Kizuna must have. While a finding was open its test was a
strict xfail; fixed findings keep their test as a regression guard (SEC-3, SEC-5, SEC-6, SEC-7
here; SEC-1 and SEC-8 in ``test_api_fuzz.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizuna.app import create_app
from kizuna.config import Settings
from kizuna.models import Source
from kizuna.runtime import Platform
from tests.factories import make_api_key, make_source
from tests.support import bearer


class Shop:
    """A CRM (trusted server source), a web shop (its write key is public), and an admin."""

    def __init__(self, client: TestClient, platform: Platform) -> None:
        self.client = client
        self.platform = platform
        self.admin = bearer(make_api_key(platform.db))
        self.crm = make_source(platform.db, "crm", "server")
        self.web = make_source(platform.db, "web", "web")

    def send(self, source: Source, path: str, **message: Any) -> None:
        sent = self.client.post(path, auth=(source.write_key, ""), json=message)
        assert sent.status_code == 200, sent.text
        self.platform.runner.run_until_idle()

    def person(self, user_id: str, email: str) -> str:
        self.send(self.crm, "/v1/identify", userId=user_id, traits={"email": email})
        found = self.client.get(
            "/api/v1/profiles/lookup",
            params={"type": "user_id", "value": user_id},
            headers=self.admin,
        )
        assert found.status_code == 200, found.text
        return str(found.json()["id"])

    def opt_out(self, profile_id: str) -> None:
        body = {"purpose": "marketing", "channel": "email", "granted": False, "source": "form"}
        made = self.client.post(
            f"/api/v1/profiles/{profile_id}/consent", json=body, headers=self.admin
        )
        assert made.status_code == 201, made.text

    def may_email(self, profile_id: str) -> bool:
        params = {"profile_id": profile_id, "purpose": "marketing", "channel": "email"}
        answer = self.client.get("/api/v1/consent/check", params=params, headers=self.admin)
        assert answer.status_code == 200, answer.text
        return bool(answer.json()["allowed"])


@pytest.fixture(scope="module")
def shop(sqlite_settings: Settings) -> Iterator[Shop]:
    platform = Platform(sqlite_settings)
    with TestClient(create_app(sqlite_settings, platform)) as client:
        yield Shop(client, platform)


def _consent_updated(user_id: str, granted: bool, **extra: Any) -> dict[str, Any]:
    properties = {"purpose": "marketing", "channel": "email", "granted": granted}
    return {"userId": user_id, "event": "Consent Updated", "properties": properties, **extra}


def test_a_public_write_key_cannot_opt_a_person_back_in(shop: Shop) -> None:
    ann = shop.person("u-sec7-ann", "ann.sec7@example.com")
    shop.opt_out(ann)

    shop.send(shop.web, "/v1/track", **_consent_updated("u-sec7-ann", True))

    assert shop.may_email(ann) is False


def test_a_future_dated_opt_in_does_not_outrank_a_later_opt_out(shop: Shop) -> None:
    bob = shop.person("u-sec7-bob", "bob.sec7@example.com")
    future = _consent_updated("u-sec7-bob", True, timestamp="2099-01-01T00:00:00Z")
    shop.send(shop.crm, "/v1/track", **future)  # even a trusted source's clock can be wrong

    shop.opt_out(bob)  # the person says no today

    assert shop.may_email(bob) is False


# --- SEC-3: the OpenAPI document describes the errors the API answers ------------------------


def test_the_document_describes_errors_as_kizuna_answers_them(shop: Shop) -> None:
    document = shop.client.get("/openapi.json").json()
    audit_search = document["paths"]["/api/v1/audit"]["get"]["responses"]

    assert '"422"' not in json.dumps(document["paths"])
    assert "HTTPValidationError" not in document["components"]["schemas"]
    assert set(audit_search) == {"200", "400", "401", "403"}
    envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
    assert audit_search["400"]["content"]["application/json"]["schema"] == envelope
    metrics = document["paths"]["/metrics"]["get"]["responses"]["200"]
    assert list(metrics["content"]) == ["text/plain"]
    # and the API answers an invalid request the way the document says
    invalid = shop.client.get("/api/v1/audit", params={"limit": 0}, headers=shop.admin)
    assert (invalid.status_code, invalid.json()["error"]["code"]) == (400, "request.invalid")


# --- SEC-5: a trusted source's write key is not for every reader ------------------------------


def test_a_read_only_key_cannot_read_a_trusted_sources_write_key(shop: Shop) -> None:
    readonly = bearer(make_api_key(shop.platform.db, "readonly"))

    listed = shop.client.get("/api/v1/sources", headers=readonly)

    keys = {s["name"]: s["write_key"] for s in listed.json()["items"]}
    assert keys == {"crm": None, "web": shop.web.write_key}
    assert shop.crm.write_key not in listed.text


# --- SEC-6: operational endpoints are not public ----------------------------------------------


def test_metrics_and_readiness_details_are_not_public(shop: Shop) -> None:
    metrics = shop.client.get("/metrics")
    ready = shop.client.get("/readyz")

    assert (metrics.status_code, metrics.json()["error"]["code"]) == (401, "auth.required")
    assert "kizuna_" not in metrics.text
    assert (ready.status_code, ready.json()) == (200, {"status": "ok"})
