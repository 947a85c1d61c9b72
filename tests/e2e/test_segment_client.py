"""The official ``segment-analytics-python`` client, unchanged, pointed at a running Kizuna."""

from __future__ import annotations

from typing import Any

import pytest
from segment.analytics import Client
from segment.analytics.request import APIError

from tests.conftest import SharedServer
from tests.factories import make_source
from tests.support import events_of, unique


def _client(server: SharedServer, write_key: str, errors: list[Any], **options: Any) -> Client:
    return Client(
        write_key=write_key,
        host=server.url,
        on_error=lambda e, batch: errors.append(e),
        max_retries=2,
        **options,
    )


def _finish(client: Client) -> None:
    client.flush()
    if client.consumers:  # sync_mode clients have no sending thread to stop
        client.shutdown()


def _every_call(client: Client) -> dict[str, str]:
    """One call of each type; returns messageId -> type as the client generated them."""
    sent = [
        client.identify("user-42", {"email": "hanako@example.jp", "name": "山田花子"}),
        client.track("user-42", "Order Completed", {"total": 5280, "currency": "JPY"}),
        client.page("user-42", "Shop", "Winter Sale", {"path": "/sale"}),
        client.screen("user-42", "App", "Cart", {"items": 2}),
        client.group("user-42", "company-7", {"name": "絆商事"}),
        client.alias("device-abc", "user-42"),
    ]
    assert all(ok for ok, _ in sent)
    return {msg["messageId"]: msg["type"] for _, msg in sent}


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("web", {}),
        ("app", {"gzip": True}),
        ("server", {"sync_mode": True}),
    ],
)
def test_every_call_type_lands_exactly_once_with_its_source_and_channel(
    shared_server: SharedServer, kind: str, options: dict[str, Any]
) -> None:
    # Given a source of this kind and the official client with its write key and our host
    source = make_source(shared_server.db, name=unique(kind), kind=kind)
    errors: list[Any] = []
    client = _client(shared_server, source.write_key, errors, **options)

    # When the application makes one call of each type and flushes
    expected = _every_call(client)
    _finish(client)

    # Then each is stored once, as its type, stamped with the source and its channel
    stored = events_of(shared_server.url, shared_server.admin_key, source.id)
    assert errors == []
    assert sorted((e["message_id"], e["type"]) for e in stored) == sorted(expected.items())
    assert {(e["source_id"], e["channel"]) for e in stored} == {(source.id, kind)}


def test_a_large_flush_is_batched_and_nothing_is_lost_or_doubled(
    shared_server: SharedServer,
) -> None:
    # Given a client that sends in batches
    source = make_source(shared_server.db, name=unique("web"), kind="web")
    errors: list[Any] = []
    client = _client(shared_server, source.write_key, errors, upload_size=100)

    # When 1,000 events are tracked and flushed
    ids = [
        client.track(f"user-{i % 37}", "Product Viewed", {"sku": f"SKU-{i}"})[1]["messageId"]
        for i in range(1000)
    ]
    _finish(client)

    # Then all 1,000 are stored exactly once
    stored = [
        e["message_id"] for e in events_of(shared_server.url, shared_server.admin_key, source.id)
    ]
    assert errors == []
    assert sorted(stored) == sorted(ids)


def test_a_wrong_write_key_is_refused_with_segments_error_shape_and_nothing_is_stored(
    shared_server: SharedServer,
) -> None:
    # Given a client with a write key Kizuna never issued (sync mode raises what the API says)
    source = make_source(shared_server.db, name=unique("web"), kind="web")
    client = _client(shared_server, "not-a-write-key", [], sync_mode=True)

    # When it tracks an event
    with pytest.raises(APIError) as refused:
        client.track("user-1", "Order Completed")

    # Then the client reads the status, the code and the message, and nothing was stored
    assert (refused.value.status, refused.value.code) == (401, "auth.invalid_write_key")
    assert "write key" in refused.value.message.lower()
    assert events_of(shared_server.url, shared_server.admin_key, source.id) == []
