"""Dead letters through ``/api/v1/pipeline/dead-letters``, on both backends.

The app runs in-process (the replay endpoint hands the event to a consumer of the serving
process, here a recording consumer defined by the test); consumers are driven with
``run_until_idle()`` rather than background threads, so every step is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from kizuna.app import create_app
from kizuna.config import Settings
from kizuna.db import Database
from kizuna.runtime import Platform
from tests.factories import make_api_key, make_source
from tests.pipeline.recording import Recorder, create_tables, message_ids, recorded
from tests.support import bearer, error_of


@dataclass
class Scenario:
    client: TestClient
    platform: Platform
    recorder: Recorder
    admin_key: str
    letter_id: int
    seq: int

    def replay(self, key: str | None = None) -> dict[str, object]:
        response = self.client.post(
            f"/api/v1/pipeline/dead-letters/{self.letter_id}/replay",
            headers=bearer(key or self.admin_key),
        )
        return {"status_code": response.status_code, **response.json()}


@pytest.fixture
def scenario(settings: Settings, db: Database) -> Iterator[Scenario]:
    """Given three events of which the consumer cannot handle the second: a dead letter."""
    create_tables(db)
    pipeline = settings.pipeline.model_copy(update={"in_process": False})
    external = settings.model_copy(update={"pipeline": pipeline})
    recorder = Recorder("recorder", faults={"m-2"})
    platform = Platform(external, consumers=[recorder.consumer])
    with TestClient(create_app(external, platform)) as client:
        source = make_source(platform.db)
        admin_key = make_api_key(platform.db)
        batch = [
            {"type": "track", "userId": "u1", "event": "Viewed", "messageId": f"m-{i}"}
            for i in (1, 2, 3)
        ]
        sent = client.post("/v1/batch", auth=(source.write_key, ""), json={"batch": batch})
        assert sent.status_code == 200, sent.text
        platform.runner.run_until_idle()
        letters = client.get("/api/v1/pipeline/dead-letters", headers=bearer(admin_key)).json()
        (letter,) = letters["items"]
        yield Scenario(client, platform, recorder, admin_key, letter["id"], letter["seq"])


def test_the_dead_letter_is_listed_open_with_its_error(scenario: Scenario) -> None:
    listed = scenario.client.get(
        "/api/v1/pipeline/dead-letters", headers=bearer(scenario.admin_key)
    ).json()["items"]

    assert [
        (d["consumer"], d["seq"], d["attempts"], d["status"], d["error"], d["resolved_at"])
        for d in listed
    ] == [("recorder", scenario.seq, 3, "open", "RuntimeError: cannot handle m-2", None)]


def test_later_events_were_handled_past_the_dead_letter(scenario: Scenario) -> None:
    assert message_ids(recorded(scenario.platform.db, "recorder")) == ["m-1", "m-3"]


def test_a_replay_after_the_fault_is_removed_handles_the_event(scenario: Scenario) -> None:
    scenario.recorder.faults.clear()

    replayed = scenario.replay()

    assert (replayed["status_code"], replayed["status"]) == (200, "replayed")
    assert replayed["resolved_at"] is not None
    assert message_ids(recorded(scenario.platform.db, "recorder")) == ["m-1", "m-3", "m-2"]


def test_a_replayed_dead_letter_leaves_the_open_list(scenario: Scenario) -> None:
    scenario.recorder.faults.clear()
    scenario.replay()

    open_letters = scenario.client.get(
        "/api/v1/pipeline/dead-letters", headers=bearer(scenario.admin_key)
    ).json()["items"]
    replayed = scenario.client.get(
        "/api/v1/pipeline/dead-letters?status=replayed", headers=bearer(scenario.admin_key)
    ).json()["items"]

    assert (open_letters, [d["id"] for d in replayed]) == ([], [scenario.letter_id])


def test_a_dead_letter_cannot_be_replayed_twice(scenario: Scenario) -> None:
    scenario.recorder.faults.clear()
    scenario.replay()

    again = scenario.client.post(
        f"/api/v1/pipeline/dead-letters/{scenario.letter_id}/replay",
        headers=bearer(scenario.admin_key),
    )

    assert error_of(again) == (409, "dead_letter.resolved")
    assert message_ids(recorded(scenario.platform.db, "recorder")) == ["m-1", "m-3", "m-2"]


def test_a_replay_that_fails_again_stays_open_and_counts_the_attempt(scenario: Scenario) -> None:
    replayed = scenario.replay()

    assert (
        replayed["status_code"],
        replayed["status"],
        replayed["attempts"],
        replayed["error"],
    ) == (200, "open", 4, "RuntimeError: cannot handle m-2")
    assert message_ids(recorded(scenario.platform.db, "recorder")) == ["m-1", "m-3"]


def test_a_discarded_dead_letter_cannot_be_replayed(scenario: Scenario) -> None:
    discarded = scenario.client.post(
        f"/api/v1/pipeline/dead-letters/{scenario.letter_id}/discard",
        headers=bearer(scenario.admin_key),
    )
    scenario.recorder.faults.clear()

    assert (discarded.status_code, discarded.json()["status"]) == (200, "discarded")
    replay = scenario.client.post(
        f"/api/v1/pipeline/dead-letters/{scenario.letter_id}/replay",
        headers=bearer(scenario.admin_key),
    )
    assert error_of(replay) == (409, "dead_letter.resolved")


def test_replaying_an_unknown_dead_letter_is_not_found(scenario: Scenario) -> None:
    response = scenario.client.post(
        f"/api/v1/pipeline/dead-letters/{scenario.letter_id + 1000}/replay",
        headers=bearer(scenario.admin_key),
    )

    assert error_of(response) == (404, "dead_letter.not_found")


def test_replaying_needs_the_pipeline_admin_scope(scenario: Scenario) -> None:
    analyst = make_api_key(scenario.platform.db, role="analyst")
    scenario.recorder.faults.clear()

    refused = scenario.replay(analyst)

    assert (refused["status_code"], refused["error"]["code"]) == (403, "auth.missing_scope")  # type: ignore[index]
    assert message_ids(recorded(scenario.platform.db, "recorder")) == ["m-1", "m-3"]
