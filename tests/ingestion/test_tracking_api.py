"""The Segment-compatible ``/v1`` API against a real server: every call type is stored right."""

from __future__ import annotations

import gzip
from datetime import datetime
from typing import Any

import httpx
import orjson
import pytest

from tests.conftest import SharedServer
from tests.factories import make_source
from tests.support import events_of, unique

CALLS: dict[str, tuple[dict[str, Any], str | None]] = {
    "identify": ({"userId": "u1", "traits": {"email": "hanako@example.jp"}}, None),
    "track": (
        {"userId": "u1", "event": "Order Completed", "properties": {"total": 5400}},
        "Order Completed",
    ),
    "page": ({"anonymousId": "d1", "name": "Home", "properties": {"path": "/"}}, "Home"),
    "screen": ({"userId": "u1", "name": "Cart"}, "Cart"),
    "group": ({"userId": "u1", "groupId": "g1", "traits": {"name": "ACME"}}, None),
    "alias": ({"userId": "u1", "previousId": "d1"}, None),
}


def stored(shared: SharedServer, source_id: str) -> list[tuple[Any, ...]]:
    """``(message_id, type, name, channel, source_id)`` oldest first."""
    items = events_of(shared.url, shared.admin_key, source_id)
    return [
        (e["message_id"], e["type"], e["name"], e["channel"], e["source_id"])
        for e in reversed(items)
    ]


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_call_with_basic_auth_is_stored_with_its_type_and_channel(
    shared_server: SharedServer, call: str
) -> None:
    source = make_source(shared_server.db, name=unique("app"), kind="app")
    body, name = CALLS[call]

    response = httpx.post(
        f"{shared_server.url}/v1/{call}",
        json={**body, "messageId": f"{call}-1"},
        auth=(source.write_key, ""),
    )

    assert (response.status_code, response.json()) == (200, {"success": True})
    assert stored(shared_server, source.id) == [(f"{call}-1", call, name, "app", source.id)]


@pytest.mark.parametrize("call", sorted(CALLS))
def test_a_call_with_the_write_key_in_the_body_is_stored_without_it(
    shared_server: SharedServer, call: str
) -> None:
    source = make_source(shared_server.db, name=unique("web"))
    body, _ = CALLS[call]

    response = httpx.post(
        f"{shared_server.url}/v1/{call}",
        json={**body, "messageId": f"{call}-1", "writeKey": source.write_key},
    )

    assert response.status_code == 200
    (event,) = events_of(shared_server.url, shared_server.admin_key, source.id)
    assert (event["type"], event["channel"]) == (call, "web")
    assert "writeKey" not in event["payload"]


@pytest.mark.parametrize("path", ["batch", "import"])
def test_a_batch_of_every_call_type_is_stored_in_order(
    shared_server: SharedServer, path: str
) -> None:
    source = make_source(shared_server.db, name=unique("web"))
    batch = [{**body, "type": call, "messageId": f"{call}-1"} for call, (body, _) in CALLS.items()]

    response = httpx.post(
        f"{shared_server.url}/v1/{path}", json={"batch": batch}, auth=(source.write_key, "")
    )

    assert response.status_code == 200
    assert stored(shared_server, source.id) == [
        (f"{call}-1", call, name, "web", source.id) for call, (_, name) in CALLS.items()
    ]


def test_a_server_source_may_stamp_another_channel(shared_server: SharedServer) -> None:
    source = make_source(shared_server.db, name=unique("pos-relay"), kind="server")
    batch = [
        {"type": "track", "userId": "u1", "event": "Bought", "messageId": "m-1"},
        {
            "type": "track",
            "userId": "u1",
            "event": "Bought",
            "messageId": "m-2",
            "context": {"channel": "call_center"},
        },
    ]

    httpx.post(
        f"{shared_server.url}/v1/import",
        json={"batch": batch, "context": {"channel": "store"}},
        auth=(source.write_key, ""),
    )

    assert [(m, c) for m, _, _, c, _ in stored(shared_server, source.id)] == [
        ("m-1", "store"),
        ("m-2", "call_center"),
    ]


def test_a_web_source_cannot_stamp_another_channel(shared_server: SharedServer) -> None:
    source = make_source(shared_server.db, name=unique("web"))

    httpx.post(
        f"{shared_server.url}/v1/track",
        json={"userId": "u1", "event": "Viewed", "context": {"channel": "store"}},
        auth=(source.write_key, ""),
    )

    assert [c for _, _, _, c, _ in stored(shared_server, source.id)] == ["web"]


def test_a_repeated_message_id_is_acknowledged_and_stored_once(
    shared_server: SharedServer,
) -> None:
    source = make_source(shared_server.db, name=unique("web"))
    body = {"userId": "u1", "event": "Viewed", "messageId": "m-1"}

    answers = [
        httpx.post(f"{shared_server.url}/v1/track", json=body, auth=(source.write_key, ""))
        for _ in range(3)
    ]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [m for m, *_ in stored(shared_server, source.id)] == ["m-1"]


def test_a_gzip_body_is_accepted(shared_server: SharedServer) -> None:
    source = make_source(shared_server.db, name=unique("web"))
    body = orjson.dumps(
        {
            "batch": [
                {"type": "track", "userId": "u1", "event": "Viewed", "messageId": f"m-{i}"}
                for i in range(50)
            ]
        }
    )

    response = httpx.post(
        f"{shared_server.url}/v1/batch",
        content=gzip.compress(body),
        headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
        auth=(source.write_key, ""),
    )

    assert response.status_code == 200
    assert len(stored(shared_server, source.id)) == 50


def test_numeric_ids_are_stored_as_text(shared_server: SharedServer) -> None:
    source = make_source(shared_server.db, name=unique("web"))

    httpx.post(
        f"{shared_server.url}/v1/identify",
        json={"userId": 42, "anonymousId": 7},
        auth=(source.write_key, ""),
    )

    (event,) = events_of(shared_server.url, shared_server.admin_key, source.id)
    assert (event["user_id"], event["anonymous_id"]) == ("42", "7")


def test_a_skewed_device_clock_is_corrected_on_arrival(shared_server: SharedServer) -> None:
    # Given a device whose clock is years behind: it stamped the event 3 s before sending it
    source = make_source(shared_server.db, name=unique("app"), kind="app")

    httpx.post(
        f"{shared_server.url}/v1/track",
        json={
            "userId": "u1",
            "event": "Viewed",
            "timestamp": "2001-01-01T00:00:00Z",
            "sentAt": "2001-01-01T00:00:03Z",
        },
        auth=(source.write_key, ""),
    )

    (event,) = events_of(shared_server.url, shared_server.admin_key, source.id)
    payload = event["payload"]
    received = datetime.fromisoformat(payload["receivedAt"])
    assert (received - datetime.fromisoformat(event["timestamp"])).total_seconds() == 3
    assert payload["originalTimestamp"] == "2001-01-01T00:00:00.000Z"


def test_extra_fields_of_other_calls_do_not_become_the_stored_name(
    shared_server: SharedServer,
) -> None:
    source = make_source(shared_server.db, name=unique("web"))

    response = httpx.post(
        f"{shared_server.url}/v1/identify",
        json={"userId": "u1", "name": {"first": "Hanako"}, "event": "x" * 300},
        auth=(source.write_key, ""),
    )

    assert response.status_code == 200
    (event,) = events_of(shared_server.url, shared_server.admin_key, source.id)
    assert (event["name"], event["payload"]["name"]) == (None, {"first": "Hanako"})
