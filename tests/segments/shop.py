"""The app in-process with every default consumer (the segments engine among them), for the
segments API tests: send events through the tracking API, run the pipeline, call the API."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from kizuna.app import create_app
from kizuna.config import Settings
from kizuna.runtime import Platform
from tests.factories import make_api_key, make_source
from tests.support import bearer

ORDERS_IN_STORE = {
    "name": "Bought in store",
    "description": "at least one store order, ever",
    "condition": {
        "kind": "performed",
        "filter": {"event": "Order Completed", "channel": "store"},
    },
}


class Shop:
    def __init__(self, client: TestClient, platform: Platform) -> None:
        self.client = client
        self.platform = platform
        self.admin = bearer(make_api_key(platform.db))
        self.web = make_source(platform.db, "web", "web")
        self.store = make_source(platform.db, "store-pos", "store")
        self.crm = make_source(platform.db, "crm", "server")

    def send(self, source: Any, *batch: dict[str, Any]) -> None:
        sent = self.client.post("/v1/batch", auth=(source.write_key, ""), json={"batch": batch})
        assert sent.status_code == 200, sent.text
        self.run()

    def run(self) -> None:
        self.platform.runner.run_until_idle()

    def api(
        self, method: str, path: str, key: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return self.client.request(
            method, f"/api/v1{path}", headers=key or self.admin, follow_redirects=False, **kw
        )

    def ok(self, method: str, path: str, **kw: Any) -> Any:
        response = self.api(method, path, **kw)
        assert response.status_code in (200, 201), response.text
        return response.json()

    def key(self, role: str) -> dict[str, str]:
        return bearer(make_api_key(self.platform.db, role))

    def customer(self, user_id: str, **traits: Any) -> str:
        """A customer known by ``user_id`` (and the traits given); returns the profile id."""
        self.send(self.crm, {"type": "identify", "userId": user_id, "traits": traits})
        return self.profile(user_id)

    def order(self, user_id: str, source: Any = None, **properties: Any) -> None:
        event = {"type": "track", "userId": user_id, "event": "Order Completed"}
        self.send(source or self.store, event | {"properties": properties})

    def profile(self, user_id: str) -> str:
        found = self.ok("GET", "/profiles/lookup", params={"type": "user_id", "value": user_id})
        return str(found["id"])

    def segment(self, document: dict[str, Any]) -> str:
        """Save a segment and let the engine compute it."""
        created = self.ok("POST", "/segments", json=document)
        self.run()
        return str(created["id"])

    def members(self, segment_id: str) -> set[str]:
        page = self.ok("GET", f"/segments/{segment_id}/members", params={"limit": 1000})
        return {m["profile_id"] for m in page["items"]}


@pytest.fixture
def shop(settings: Settings) -> Iterator[Shop]:
    pipeline = settings.pipeline.model_copy(update={"in_process": False})
    external = settings.model_copy(update={"pipeline": pipeline})
    platform = Platform(external)
    with TestClient(create_app(external, platform)) as client:
        yield Shop(client, platform)
