"""A help desk for data subject request tests: the app in-process, sources, and request helpers."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from fastapi.testclient import TestClient

from kizuna.app import create_app
from kizuna.config import Settings
from kizuna.models import Source
from kizuna.runtime import Platform
from tests.factories import make_api_key, make_source
from tests.support import bearer


class Desk:
    def __init__(self, client: TestClient, platform: Platform) -> None:
        self.client = client
        self.platform = platform
        self.admin = bearer(make_api_key(platform.db))
        self.web = make_source(platform.db, "web", "web")
        self.app = make_source(platform.db, "app", "app")
        self.crm = make_source(platform.db, "crm", "server")
        self.store = make_source(platform.db, "store-pos", "store")

    def send(self, source: Source, *batch: dict[str, Any]) -> httpx.Response:
        sent = self.client.post("/v1/batch", auth=(source.write_key, ""), json={"batch": batch})
        assert sent.status_code == 200, sent.text
        self.platform.runner.run_until_idle()
        return sent

    def api(self, method: str, path: str, key: dict[str, str] | None = None, **kw: Any) -> Any:
        return self.client.request(method, f"/api/v1{path}", headers=key or self.admin, **kw)

    def ask(self, kind: str, id_type: str, value: str, **extra: Any) -> httpx.Response:
        body = {"kind": kind, "identifier": {"type": id_type, "value": value}, **extra}
        response: httpx.Response = self.api("POST", "/privacy/requests", json=body)
        return response

    def request(self, request_id: str) -> dict[str, Any]:
        found = self.api("GET", f"/privacy/requests/{request_id}")
        assert found.status_code == 200, found.text
        body: dict[str, Any] = found.json()
        return body

    def done(self, kind: str, id_type: str, value: str, **extra: Any) -> dict[str, Any]:
        """Ask, let the pipeline run it, and return the finished request."""
        asked = self.ask(kind, id_type, value, **extra)
        assert asked.status_code == 202, asked.text
        self.platform.runner.run_until_idle()
        return self.request(asked.json()["id"])

    def archive(self, request_id: str) -> dict[str, Any]:
        """The export's files: parsed JSON, or a list of records for ``.jsonl``."""
        response = self.api("GET", f"/privacy/requests/{request_id}/archive")
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/zip"
        files: dict[str, Any] = {}
        with zipfile.ZipFile(io.BytesIO(response.content)) as zipped:
            for name in zipped.namelist():
                data = zipped.read(name)
                if name.endswith(".jsonl"):
                    files[name] = [orjson.loads(line) for line in data.splitlines()]
                else:
                    files[name] = orjson.loads(data)
        return files

    def profile_of(self, id_type: str, value: str) -> httpx.Response:
        response: httpx.Response = self.api(
            "GET", "/profiles/lookup", params={"type": id_type, "value": value}
        )
        return response

    def tallies(self, source: Source) -> dict[str, int]:
        self.platform.writer.stop()  # flushes the pending tallies
        self.platform.writer.start()
        rows = self.api("GET", "/ingestion/tallies", params={"source": source.id}).json()
        return {r["outcome"]: r["count"] for r in rows["items"]}


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    pipeline = settings.pipeline.model_copy(update={"in_process": False})
    external = settings.model_copy(update={"pipeline": pipeline})
    platform = Platform(external)
    with TestClient(create_app(external, platform)) as client:
        yield Desk(client, platform)
