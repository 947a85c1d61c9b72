"""``/api/v1/profiles`` and ``/api/v1/identity`` on both backends (app in-process)."""

from __future__ import annotations

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

    def get(self, path: str, **params: Any) -> Any:
        return self.client.get(
            f"/api/v1{path}", params=params, headers=self.admin, follow_redirects=False
        )


@pytest.fixture
def shop(settings: Settings) -> Iterator[Shop]:
    pipeline = settings.pipeline.model_copy(update={"in_process": False})
    external = settings.model_copy(update={"pipeline": pipeline})
    platform = Platform(external)
    with TestClient(create_app(external, platform)) as client:
        yield Shop(client, platform)


def test_lookup_by_any_identifier_shows_the_whole_person(shop: Shop) -> None:
    shop.send(
        shop.web,
        {"type": "page", "anonymousId": "a-1", "name": "Home", "timestamp": "2026-11-01T09:00:00Z"},
        {
            "type": "identify",
            "anonymousId": "a-1",
            "userId": "u-ann",
            "traits": {"email": "Ann@Example.com", "name": "Ann", "plan": "free"},
            "timestamp": "2026-11-01T09:05:00Z",
        },
    )
    shop.send(
        shop.crm,
        {
            "type": "identify",
            "userId": "u-ann",
            "traits": {"plan": "gold"},
            "timestamp": "2026-11-02T10:00:00Z",
        },
    )

    found = shop.get("/profiles/lookup", type="email", value=" ann@EXAMPLE.com ")
    assert found.status_code == 200, found.text
    profile = found.json()
    assert {(i["type"], i["value"]) for i in profile["identifiers"]} == {
        ("anonymous_id", "a-1"),
        ("user_id", "u-ann"),
        ("email", "ann@example.com"),
    }
    assert profile["traits"]["plan"]["value"] == "gold"
    assert profile["traits"]["plan"]["from"][0]["source_id"] == shop.crm.id
    assert [h["value"] for h in profile["traits"]["plan"]["history"]] == ["free", "gold"]
    assert profile["channels_used"] == ["server", "web"]
    assert sum(c["events"] for c in profile["channels"]) == 3
    assert profile["first_seen_at"].startswith("2026-11-01T09:00:00")

    timeline = shop.get(f"/profiles/{profile['id']}/timeline", channel="web").json()
    assert [i["type"] for i in timeline["items"]] == ["identify", "page"]


def test_unknown_and_unusable_lookups_are_clear_4xx(shop: Shop) -> None:
    assert error_of(shop.get("/profiles/lookup", type="email", value="nobody@x.jp")) == (
        404,
        "profile.not_found",
    )
    assert error_of(shop.get("/profiles/lookup", type="email", value="not-an-email")) == (
        400,
        "identity.invalid_email",
    )
    assert error_of(shop.get("/profiles/lookup", type="phone", value="call me")) == (
        400,
        "identity.invalid_phone",
    )
    assert error_of(shop.get("/profiles/prof_missing")) == (404, "profile.not_found")
    assert (
        shop.client.get(
            "/api/v1/profiles/lookup", params={"type": "email", "value": "a@b.jp"}
        ).status_code
        == 401
    )


def test_a_merged_away_id_redirects_and_a_split_restores_it(shop: Shop) -> None:
    shop.send(
        shop.web,
        {
            "type": "track",
            "anonymousId": "a-1",
            "event": "Viewed",
            "timestamp": "2026-11-01T09:00:00Z",
        },
    )
    shop.send(
        shop.crm,
        {
            "type": "identify",
            "userId": "u-1",
            "traits": {"email": "u1@x.jp"},
            "timestamp": "2026-11-01T10:00:00Z",
        },
    )
    anon = shop.get("/profiles/lookup", type="anonymous_id", value="a-1").json()["id"]
    known = shop.get("/profiles/lookup", type="user_id", value="u-1").json()["id"]
    assert anon != known
    # When the web visitor logs in
    shop.send(
        shop.web,
        {
            "type": "identify",
            "anonymousId": "a-1",
            "userId": "u-1",
            "timestamp": "2026-11-01T11:00:00Z",
        },
    )

    # Then the newer profile redirects to the older one, which explains the link
    moved = shop.get(f"/profiles/{known}")
    assert moved.status_code == 308
    assert moved.headers["location"] == f"/api/v1/profiles/{anon}"
    steps = shop.get(f"/profiles/{anon}/explain", a="anonymous_id:a-1", b="email:u1@x.jp").json()
    assert [(s["from"], s["to"], s["evidence"]["source_id"]) for s in steps["steps"]] == [
        ("user_id:u-1", "anonymous_id:a-1", shop.web.id),
        ("user_id:u-1", "email:u1@x.jp", shop.crm.id),
    ]
    kinds = [i["kind"] for i in shop.get(f"/profiles/{anon}/timeline").json()["items"]]
    assert "profile.merged" in kinds

    # When the login link is retracted, both profiles come back with their own ids
    retracted = shop.client.post(
        "/api/v1/identity/retractions",
        headers=shop.admin,
        json={"kind": "link", "target": "user_id:u-1 anonymous_id:a-1", "reason": "shared tablet"},
    )
    assert retracted.status_code == 201, retracted.text
    assert retracted.json()["split"] == [[anon, known]]
    shop.platform.runner.run_until_idle()  # the split event passes through the pipeline too
    split_events = [
        e
        for e in shop.get("/events", source="kizuna").json()["items"]
        if e["name"] == "profile.split"
    ]
    assert len(split_events) == 1
    assert shop.get("/profiles/lookup", type="user_id", value="u-1").json()["id"] == known
    assert shop.get(f"/profiles/{known}").status_code == 200


def test_bad_retractions_and_links_are_clear_4xx(shop: Shop) -> None:
    def post(path: str, body: dict[str, Any]) -> Any:
        return shop.client.post(f"/api/v1/identity/{path}", headers=shop.admin, json=body)

    assert error_of(post("retractions", {"kind": "event", "target": "999"})) == (
        404,
        "identity.not_found",
    )
    assert error_of(post("retractions", {"kind": "event", "target": "x"})) == (
        400,
        "identity.invalid_retraction",
    )
    assert error_of(post("retractions", {"kind": "profile", "target": "p"})) == (
        400,
        "request.invalid",
    )
    assert error_of(post("links", {"identifiers": ["email:a@x.jp", "email:A@x.jp"]})) == (
        400,
        "identity.bad_link",
    )
    assert error_of(post("links", {"identifiers": ["email:a@x.jp", "nonsense"]})) == (
        400,
        "identity.bad_identifier",
    )


def test_a_rules_dry_run_says_what_would_merge_and_split_and_changes_nothing(shop: Shop) -> None:
    # Given two customers kept apart by the unique user_id rule, and one with two browsers
    shop.send(
        shop.crm,
        {
            "type": "identify",
            "userId": "u1",
            "traits": {"email": "shared@x.jp"},
            "timestamp": "2026-11-01T09:00:00Z",
        },
        {
            "type": "identify",
            "userId": "u2",
            "traits": {"email": "shared@x.jp"},
            "timestamp": "2026-11-01T10:00:00Z",
        },
    )
    shop.send(
        shop.web,
        {
            "type": "identify",
            "userId": "u3",
            "anonymousId": "laptop",
            "timestamp": "2026-11-01T09:00:00Z",
        },
        {
            "type": "identify",
            "userId": "u3",
            "anonymousId": "phone",
            "timestamp": "2026-11-01T10:00:00Z",
        },
    )
    before = shop.get("/identity/conflicts").json()["items"]

    # When rules without unique types and with one anonymous id per profile are tried
    tried = shop.client.post(
        "/api/v1/identity/rules/dry-run",
        headers=shop.admin,
        json={"version": 2, "unique": [], "limits": {"anonymous_id": {"values": 1}}},
    )

    # Then u1 and u2 would merge, u3's second browser would split off, and nothing changed
    assert tried.status_code == 200, tried.text
    result = tried.json()
    assert (result["would_merge"], result["would_split"]) == (1, 1)
    assert result["conflicts_before"] == {"identity.unique_conflict": 1}
    assert result["conflicts_after"] == {"identity.limit_exceeded": 1}
    assert shop.get("/identity/conflicts").json()["items"] == before
    bad = shop.client.post(
        "/api/v1/identity/rules/dry-run", headers=shop.admin, json={"unique": ["passport"]}
    )
    assert error_of(bad) == (400, "request.invalid")
