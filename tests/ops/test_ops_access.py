"""Who may read the operational endpoints (SEC-6): liveness for all, details for operators."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from kizuna.app import create_app
from kizuna.config import OpsSettings, Settings
from kizuna.privacy import audit
from kizuna.runtime import Platform
from tests.factories import make_api_key
from tests.support import bearer, error_of

TOKEN = "scrape-me-0123456789"


class Ops:
    def __init__(self, client: TestClient, platform: Platform) -> None:
        self.client = client
        self.platform = platform
        self.admin = bearer(make_api_key(platform.db, "admin"))
        self.readonly = bearer(make_api_key(platform.db, "readonly"))

    def denials(self) -> list[tuple[str, str]]:
        with self.platform.db.read() as session:
            entries = audit.search(session, action="access.denied")
            return [(e.target_id, e.outcome) for e in entries]


@pytest.fixture
def ops(settings: Settings) -> Iterator[Ops]:
    configured = settings.model_copy(
        update={
            "ops": OpsSettings(metrics_token=SecretStr(TOKEN)),
            "pipeline": settings.pipeline.model_copy(update={"in_process": False}),
        }
    )
    platform = Platform(configured)
    with TestClient(create_app(configured, platform)) as client:
        yield Ops(client, platform)


def test_liveness_is_public_and_says_nothing_else(ops: Ops) -> None:
    answer = ops.client.get("/healthz")

    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_readiness_tells_anyone_only_whether_the_process_is_ready(ops: Ops) -> None:
    answer = ops.client.get("/readyz")

    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


@pytest.mark.parametrize("credential", ["token", "admin"])
def test_readiness_shows_its_checks_to_an_operator(ops: Ops, credential: str) -> None:
    headers = bearer(TOKEN) if credential == "token" else ops.admin

    answer = ops.client.get("/readyz", headers=headers)

    assert answer.status_code == 200
    assert answer.json()["checks"] == {
        "database": "ok",
        "migrations": "ok",
        "writer": "ok",
        "consumers": "external",
    }


def test_readiness_with_a_key_lacking_ops_read_shows_no_checks(ops: Ops) -> None:
    answer = ops.client.get("/readyz", headers=ops.readonly)

    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_metrics_need_credentials(ops: Ops) -> None:
    assert error_of(ops.client.get("/metrics")) == (401, "auth.required")
    wrong = ops.client.get("/metrics", headers=bearer("not-the-token"))
    assert error_of(wrong) == (401, "auth.invalid_key")
    assert ops.denials() == []  # anonymous refusals are counted, not audited


@pytest.mark.parametrize("credential", ["token", "admin"])
def test_metrics_answer_prometheus_text_to_an_operator(ops: Ops, credential: str) -> None:
    headers = bearer(TOKEN) if credential == "token" else ops.admin

    answer = ops.client.get("/metrics", headers=headers)

    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    assert "kizuna_pipeline_lag_events" in answer.text
    assert "# TYPE kizuna_auth_refusals_total counter" in answer.text


def test_a_key_without_ops_read_is_refused_and_audited(ops: Ops) -> None:
    refused = ops.client.get("/metrics", headers=ops.readonly)

    assert error_of(refused) == (403, "auth.missing_scope")
    assert ops.denials() == [("GET /metrics", "denied")]
