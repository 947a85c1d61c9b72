from __future__ import annotations

import httpx

from kizuna.db import Database
from tests.conftest import LiveServer
from tests.factories import make_api_key, make_source


def test_a_tracked_event_is_listed_by_the_events_api(live_server: LiveServer, db: Database) -> None:
    source = make_source(db)
    key = make_api_key(db)

    sent = httpx.post(
        f"{live_server.url}/v1/track",
        auth=(source.write_key, ""),
        json={"userId": "u1", "event": "Order Completed", "messageId": "m-1"},
    )
    listed = httpx.get(
        f"{live_server.url}/api/v1/events", headers={"Authorization": f"Bearer {key}"}
    ).json()

    assert sent.json() == {"success": True}
    assert [(e["message_id"], e["channel"], e["source_id"]) for e in listed["items"]] == [
        ("m-1", "web", source.id)
    ]
