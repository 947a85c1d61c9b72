"""The consent ledger through the API and events, on both backends (app in-process)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizuna.app import create_app
from kizuna.config import Settings
from kizuna.runtime import Platform
from tests.factories import make_api_key, make_source
from tests.support import bearer, error_of


class Shop:
    def __init__(self, client: TestClient, platform: Platform) -> None:
        self.client = client
        self.platform = platform
        self.admin = bearer(make_api_key(platform.db))
        self.web = make_source(platform.db, "web", "web")
        self.crm = make_source(platform.db, "crm", "server")

    def send(self, source: Any, *batch: dict[str, Any]) -> None:
        sent = self.client.post("/v1/batch", auth=(source.write_key, ""), json={"batch": batch})
        assert sent.status_code == 200, sent.text
        self.platform.runner.run_until_idle()

    def api(self, method: str, path: str, key: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.request(method, f"/api/v1{path}", headers=key or self.admin, **kw)

    def person(self, user_id: str, email: str, at: str = "2026-11-01T09:00:00Z") -> str:
        self.send(
            self.crm,
            {"type": "identify", "userId": user_id, "traits": {"email": email}, "timestamp": at},
        )
        return str(
            self.api(
                "GET", "/profiles/lookup", params={"type": "user_id", "value": user_id}
            ).json()["id"]
        )

    def consent(self, profile_id: str, **body: Any) -> Any:
        return self.api("POST", f"/profiles/{profile_id}/consent", json=body)

    def check(self, profile_id: str, purpose: str = "marketing", channel: str = "email") -> Any:
        params = {"profile_id": profile_id, "purpose": purpose, "channel": channel}
        return self.api("GET", "/consent/check", params=params).json()


@pytest.fixture
def shop(settings: Settings) -> Iterator[Shop]:
    pipeline = settings.pipeline.model_copy(update={"in_process": False})
    external = settings.model_copy(update={"pipeline": pipeline})
    platform = Platform(external)
    with TestClient(create_app(external, platform)) as client:
        yield Shop(client, platform)


def test_recording_and_asking(shop: Shop) -> None:
    ann = shop.person("u-ann", "ann@example.com")
    assert shop.check(ann) == {
        "allowed": False,
        "reason": "not_opted_in",
        "since": None,
        "profile_id": ann,
    }

    made = shop.consent(
        ann, purpose="marketing", channel="email", granted=True, source="signup_form"
    )

    assert made.status_code == 201, made.text
    assert made.json()["record"]["identifier"] == "user_id:u-ann"
    assert shop.check(ann)["allowed"] is True
    assert shop.check(ann, "analytics", "all")["reason"] == "default"
    body = shop.api("GET", f"/profiles/{ann}/consent").json()
    email = next(s for s in body["state"] if (s["purpose"], s["channel"]) == ("marketing", "email"))
    assert (email["allowed"], email["reason"]) == (True, "opted_in")
    assert [(h["granted"], h["source"], h["legal_basis"]) for h in body["history"]] == [
        (True, "signup_form", "consent")
    ]
    trail = shop.api("GET", "/audit", params={"target_id": ann}).json()["items"]
    assert [a["action"] for a in trail] == ["consent.read", "consent.recorded", "profile.read"]
    assert trail[1]["details"] == {"purpose": "marketing", "channel": "email", "granted": True}


def test_consent_about_one_address_follows_that_address(shop: Shop) -> None:
    ann = shop.person("u-ann", "ann@example.com")
    made = shop.consent(
        ann, purpose="marketing", channel="email", granted=True, address="ANN@example.com"
    )
    assert made.json()["record"]["identifier"] == "email:ann@example.com"
    assert error_of(
        shop.consent(
            ann, purpose="marketing", channel="email", granted=True, address="eve@example.com"
        )
    ) == (400, "consent.invalid")


def test_merged_profiles_keep_the_most_restrictive_answer_until_a_newer_opt_in(shop: Shop) -> None:
    # Given one person known twice: opted in as Anna (web), opted out later as Ann (crm)
    shop.send(
        shop.web,
        {
            "type": "identify",
            "anonymousId": "a-9",
            "traits": {"email": "anna@example.com"},
            "timestamp": "2026-11-01T08:00:00Z",
        },
    )
    anna = shop.api(
        "GET", "/profiles/lookup", params={"type": "email", "value": "anna@example.com"}
    ).json()["id"]
    ann = shop.person("u-ann", "ann@example.com")
    shop.consent(
        anna,
        purpose="marketing",
        channel="email",
        granted=True,
        effective_at="2026-11-02T00:00:00Z",
    )
    shop.consent(
        ann,
        purpose="marketing",
        channel="email",
        granted=False,
        effective_at="2026-11-03T00:00:00Z",
    )
    assert shop.check(anna)["allowed"] is True

    # When the CRM learns both emails are one customer
    shop.send(
        shop.crm,
        {
            "type": "identify",
            "userId": "u-ann",
            "traits": {"email": "anna@example.com"},
            "timestamp": "2026-11-04T00:00:00Z",
        },
    )

    # Then the merged person may not be emailed (the opt-out is the newer word) ...
    merged = shop.check(anna)
    assert (merged["allowed"], merged["reason"]) == (False, "opted_out")
    assert merged["profile_id"] == shop.check(ann)["profile_id"]
    # ... until they opt in again, explicitly
    shop.consent(
        ann, purpose="marketing", channel="email", granted=True, effective_at="2026-11-05T00:00:00Z"
    )
    assert shop.check(ann)["allowed"] is True


def test_consent_arrives_in_events(shop: Shop) -> None:
    ann = shop.person("u-ann", "ann@example.com")
    context = {
        "consent": {
            "categoryPreferences": {"Advertising": False, "Analytics": True, "Astrology": True}
        }
    }
    for minute in ("10", "11"):  # SDKs repeat the context on every event
        shop.send(
            shop.web,
            {
                "type": "track",
                "userId": "u-ann",
                "event": "Viewed",
                "context": context,
                "timestamp": f"2026-11-02T10:{minute}:00Z",
            },
        )
    shop.send(
        shop.crm,
        {
            "type": "track",
            "userId": "u-ann",
            "event": "Consent Updated",
            "timestamp": "2026-11-02T12:00:00Z",
            "properties": {
                "purpose": "marketing",
                "channel": "sms",
                "granted": True,
                "legal_basis": "consent",
            },
        },
    )

    history = shop.api("GET", f"/profiles/{ann}/consent").json()["history"]

    assert sorted((h["purpose"], h["channel"], h["granted"], h["source"]) for h in history) == [
        ("analytics", "all", True, "event"),
        ("marketing", "all", False, "event"),
        ("marketing", "sms", True, "event"),
    ]
    # the newer SMS opt-in is explicit, so it lifts the general "no advertising" for SMS only
    assert shop.check(ann, "marketing", "sms")["allowed"] is True
    assert shop.check(ann, "marketing", "email")["reason"] == "opted_out"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"purpose": "astrology", "channel": "email", "granted": True}, "consent.unknown_purpose"),
        ({"purpose": "marketing", "channel": "pigeon", "granted": True}, "consent.unknown_channel"),
        ({"purpose": "analytics", "channel": "email", "granted": True}, "consent.unknown_channel"),
        (
            {"purpose": "marketing", "channel": "email", "granted": True, "legal_basis": "whim"},
            "consent.invalid",
        ),
        (
            {
                "purpose": "marketing",
                "channel": "email",
                "granted": True,
                "effective_at": "2099-01-01T00:00:00Z",
            },
            "consent.invalid",
        ),
    ],
)
def test_unusable_consent_is_refused_and_nothing_is_recorded(
    shop: Shop, body: dict[str, Any], code: str
) -> None:
    ann = shop.person("u-ann", "ann@example.com")
    assert error_of(shop.consent(ann, **body)) == (400, code)
    assert shop.api("GET", f"/profiles/{ann}/consent").json()["history"] == []


def test_roles_and_unknown_people(shop: Shop) -> None:
    ann = shop.person("u-ann", "ann@example.com")
    analyst = bearer(make_api_key(shop.platform.db, "analyst"))
    support = bearer(make_api_key(shop.platform.db, "support"))
    body = {"purpose": "marketing", "channel": "email", "granted": False}
    assert shop.api("POST", f"/profiles/{ann}/consent", analyst, json=body).status_code == 403
    assert shop.api("POST", f"/profiles/{ann}/consent", support, json=body).status_code == 201
    assert error_of(shop.consent("prof_nobody", **body)) == (404, "profile.not_found")
    missing = shop.api(
        "GET",
        "/consent/check",
        params={"profile_id": "prof_nobody", "purpose": "marketing", "channel": "email"},
    )
    assert error_of(missing) == (404, "profile.not_found")


def test_the_preference_centre_link_lets_the_person_choose(shop: Shop) -> None:
    ann = shop.person("u-ann", "ann@example.com")
    link = shop.api("POST", f"/profiles/{ann}/preference-link").json()["url"]
    path = link.split("://", 1)[1].split("/", 1)[1]

    page = shop.client.get(f"/{path}", params={"lang": "en"})
    assert page.status_code == 200
    assert 'data-group="marketing:email"' in page.text and "News and offers by email" in page.text
    saved = shop.client.post(
        f"/{path}", data={"allow": ["marketing:email", "analytics:all"], "lang": "ja"}
    )

    assert saved.status_code == 200 and "設定を保存しました" in saved.text
    assert shop.check(ann)["allowed"] is True
    assert shop.check(ann, "personalisation", "all")["reason"] == "opted_out"  # unticked
    history = shop.api("GET", f"/profiles/{ann}/consent").json()["history"]
    assert {h["source"] for h in history} == {"preference_centre"}


def test_forged_links_change_nothing(shop: Shop) -> None:
    ann = shop.person("u-ann", "ann@example.com")
    link = shop.api("POST", f"/profiles/{ann}/preference-link").json()["url"]
    token = link.rsplit("/", 1)[1]
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    assert shop.client.get(f"/preferences/{forged}").status_code == 403
    refused = shop.client.post(f"/preferences/{forged}", data={"allow": ["marketing:email"]})
    assert refused.status_code == 403 and 'data-code="consent.link_invalid"' in refused.text
    assert (
        shop.client.post(
            f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"}
        ).status_code
        == 403
    )
    assert shop.api("GET", f"/profiles/{ann}/consent").json()["history"] == []


def test_one_click_unsubscribe_follows_rfc_8058(shop: Shop) -> None:
    ann = shop.person("u-ann", "ann@example.com")
    shop.consent(
        ann, purpose="marketing", channel="email", granted=True, effective_at="2026-11-01T00:00:00Z"
    )
    made = shop.api(
        "POST",
        f"/profiles/{ann}/unsubscribe-link",
        json={"purpose": "marketing", "channel": "email", "address": "ann@example.com"},
    ).json()
    assert made["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    path = "/" + made["url"].split("://", 1)[1].split("/", 1)[1]

    # A mail scanner following the link (GET) only sees a question
    asked = shop.client.get(path, params={"lang": "en"})
    assert asked.status_code == 200 and "Stop receiving" in asked.text
    assert shop.check(ann)["allowed"] is True

    # The mail client's one-click POST unsubscribes
    done = shop.client.post(path, data={"List-Unsubscribe": "One-Click"})

    assert (done.status_code, done.text) == (200, "unsubscribed")
    assert (shop.check(ann)["allowed"], shop.check(ann)["reason"]) == (False, "opted_out")
    last = shop.api("GET", f"/profiles/{ann}/consent").json()["history"][0]
    assert (last["source"], last["address"], last["identifier"]) == (
        "unsubscribe",
        "ann@example.com",
        "email:ann@example.com",
    )


def test_expired_preference_links_are_refused(settings: Settings) -> None:
    privacy = settings.privacy.model_copy(update={"link_days": 0})
    pipeline = settings.pipeline.model_copy(update={"in_process": False})
    expiring = settings.model_copy(update={"privacy": privacy, "pipeline": pipeline})
    platform = Platform(expiring)
    with TestClient(create_app(expiring, platform)) as client:
        shop = Shop(client, platform)
        ann = shop.person("u-ann", "ann@example.com")
        url = shop.api("POST", f"/profiles/{ann}/preference-link").json()["url"]
        time.sleep(1.1)  # itsdangerous counts whole seconds
        page = client.get("/" + url.split("://", 1)[1].split("/", 1)[1], params={"lang": "ja"})
        assert page.status_code == 410
        assert 'data-code="consent.link_expired"' in page.text and "有効期限" in page.text
