"""Who sees a source's write key (SEC-5): client keys are public, trusted keys are secrets."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kizuna.app import create_app
from kizuna.config import Settings
from kizuna.identity.config import IdentityRules
from kizuna.runtime import Platform
from kizuna.sources.rules import write_key_prefix, write_key_visible
from tests.factories import make_api_key, make_source
from tests.support import bearer

TRUSTED = IdentityRules().trusted_source_kinds
ROLES = ("marketer", "analyst")  # sources:write and sources:read; sources:read only


@pytest.mark.parametrize("kind", ["web", "app", "email", "line", "social"])
def test_a_client_sources_key_is_visible_to_every_reader(kind: str) -> None:
    assert write_key_visible(kind, trusted_kinds=TRUSTED, may_manage=False) is True


@pytest.mark.parametrize("kind", ["server", "import", "store", "call_center"])
def test_a_trusted_sources_key_is_visible_only_to_managers(kind: str) -> None:
    assert write_key_visible(kind, trusted_kinds=TRUSTED, may_manage=False) is False
    assert write_key_visible(kind, trusted_kinds=TRUSTED, may_manage=True) is True


def test_the_trusted_kinds_come_from_the_identity_rules() -> None:
    assert write_key_visible("app", trusted_kinds={"app"}, may_manage=False) is False
    assert write_key_visible("server", trusted_kinds=set(), may_manage=False) is True


def test_the_prefix_tells_keys_apart_without_being_one() -> None:
    assert write_key_prefix("wk_AbCdEfGhIjKlMnOp") == "wk_AbCd"


class Shop:
    def __init__(self, client: TestClient, platform: Platform) -> None:
        self.client = client
        self.web = make_source(platform.db, "web", "web")
        self.crm = make_source(platform.db, "crm", "server")
        self.keys = {role: bearer(make_api_key(platform.db, role)) for role in ROLES}

    def sources(self, role: str) -> dict[str, dict[str, Any]]:
        listed = self.client.get("/api/v1/sources", headers=self.keys[role])
        assert listed.status_code == 200, listed.text
        return {s["name"]: s for s in listed.json()["items"]}


@pytest.fixture
def shop(settings: Settings) -> Iterator[Shop]:
    external = settings.model_copy(
        update={"pipeline": settings.pipeline.model_copy(update={"in_process": False})}
    )
    platform = Platform(external)
    with TestClient(create_app(external, platform)) as client:
        yield Shop(client, platform)


def test_a_reader_gets_the_web_key_and_only_the_prefix_of_the_server_key(shop: Shop) -> None:
    # When an analyst (sources:read, not sources:write) lists and reads the sources
    listed = shop.sources("analyst")
    one = shop.client.get(f"/api/v1/sources/{shop.crm.id}", headers=shop.keys["analyst"])

    # Then the web key is there, the server key is withheld but recognisable by its prefix
    assert listed["web"]["write_key"] == shop.web.write_key
    assert listed["crm"]["write_key"] is None
    assert listed["crm"]["write_key_prefix"] == shop.crm.write_key[:7]
    assert one.json()["write_key"] is None
    assert shop.crm.write_key not in one.text


def test_a_manager_gets_every_key(shop: Shop) -> None:
    listed = shop.sources("marketer")

    assert listed["web"]["write_key"] == shop.web.write_key
    assert listed["crm"]["write_key"] == shop.crm.write_key


def test_creating_or_rotating_a_trusted_source_returns_its_key_to_the_manager(shop: Shop) -> None:
    created = shop.client.post(
        "/api/v1/sources", json={"name": "pos", "kind": "store"}, headers=shop.keys["marketer"]
    )
    assert created.status_code == 201, created.text
    key = created.json()["write_key"]
    assert key.startswith("wk_")

    rotated = shop.client.post(
        f"/api/v1/sources/{created.json()['id']}/rotate-write-key", headers=shop.keys["marketer"]
    )

    assert rotated.status_code == 200, rotated.text
    assert rotated.json()["write_key"] not in (None, key)
    assert shop.sources("analyst")["pos"]["write_key"] is None
