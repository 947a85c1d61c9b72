"""The pipeline page: consumers' offsets and lag, dead letters shown and replayed from the console.

The server runs in this process (uvicorn on a loopback port, in a thread) so that its consumer
can be a recording one whose fault the test removes before replaying.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
import uvicorn
from playwright.sync_api import Browser, expect

from kizuna.app import create_app
from kizuna.config import Settings
from kizuna.db import Database
from kizuna.runtime import Platform
from tests.conftest import free_port
from tests.console.conftest import PASSWORD, WAIT_MS
from tests.factories import make_console_user, make_source
from tests.pipeline.recording import Recorder, create_tables, message_ids, recorded
from tests.support import eventually


@dataclass
class Served:
    url: str
    platform: Platform
    recorder: Recorder


@pytest.fixture
def served(settings: Settings, db: Database) -> Iterator[Served]:
    """A server whose only consumer cannot handle ``m-2``: one dead letter after three events."""
    create_tables(db)
    pipeline = settings.pipeline.model_copy(update={"in_process": False})
    external = settings.model_copy(update={"pipeline": pipeline})
    recorder = Recorder("recorder", faults={"m-2"})
    platform = Platform(external, consumers=[recorder.consumer])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(external, platform), host="127.0.0.1", port=port, log_config=None)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    eventually(lambda: server.started, what="the in-process server to start")
    source = make_source(platform.db)
    batch = [
        {"type": "track", "userId": "u1", "event": "Viewed", "messageId": f"m-{i}"}
        for i in (1, 2, 3)
    ]
    sent = httpx.post(f"{url}/v1/batch", auth=(source.write_key, ""), json={"batch": batch})
    assert sent.status_code == 200, sent.text
    platform.runner.run_until_idle()
    yield Served(url, platform, recorder)
    server.should_exit = True
    thread.join(timeout=15)


def test_a_dead_letter_is_shown_and_replayed_from_the_console(
    served: Served, browser: Browser
) -> None:
    # Given an admin on the pipeline page, with one dead letter
    make_console_user(served.platform.db, email="admin@example.com", password=PASSWORD)
    context = browser.new_context(locale="en-US")
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(f"{served.url}/console/login?next=/console/pipeline")
    page.locator("input[name=email]").fill("admin@example.com")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form[action='/console/login'] button[type=submit]").click()
    page.goto(f"{served.url}/console/pipeline")
    letter = page.locator("#dead-letters tr.dead-letter")
    expect(letter).to_have_count(1)
    expect(letter).to_contain_text("m-2")
    expect(page.locator(".consumer[data-consumer='recorder']")).to_be_visible()

    # When the fault is gone and the operator replays it
    served.recorder.faults.clear()
    letter.locator("button.replay-letter").click()

    # Then it leaves the list and the consumer has handled every event once
    expect(page.locator("#dead-letters-empty")).to_be_visible()
    assert sorted(message_ids(recorded(served.platform.db, "recorder"))) == ["m-1", "m-2", "m-3"]
    context.close()
