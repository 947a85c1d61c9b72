"""A shopper across channels, told by the official Segment client, ends as one profile."""

from __future__ import annotations

from typing import Any

import httpx
from segment.analytics import Client

from tests.conftest import SharedServer
from tests.factories import make_source
from tests.support import bearer, eventually, unique


def _send(
    server: SharedServer, write_key: str, calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]]
) -> None:
    errors: list[Any] = []
    client = Client(
        write_key=write_key,
        host=server.url,
        sync_mode=True,
        on_error=lambda e, batch: errors.append(e),
    )
    for method, args, kwargs in calls:
        ok, _ = getattr(client, method)(*args, **kwargs)
        assert ok
    client.flush()
    assert errors == []


def _profile(server: SharedServer, id_type: str, value: str) -> dict[str, Any] | None:
    response = httpx.get(
        f"{server.url}/api/v1/profiles/lookup",
        params={"type": id_type, "value": value},
        headers=bearer(server.admin_key),
        timeout=30,
    )
    return response.json() if response.status_code == 200 else None


def test_browse_login_store_purchase_and_call_become_one_profile(
    shared_server: SharedServer,
) -> None:
    tag = unique("story")
    web = make_source(shared_server.db, f"web-{tag}", "web")
    app = make_source(shared_server.db, f"app-{tag}", "app")
    pos = make_source(shared_server.db, f"pos-{tag}", "store")
    calls = make_source(shared_server.db, f"calls-{tag}", "call_center")
    anon, user = f"anon-{tag}", f"user-{tag}"
    email, card = f"{tag}@example.jp", f"LC-{tag}"

    # Anonymous web browsing, with a cart
    _send(
        shared_server,
        web.write_key,
        [
            ("page", (), {"anonymous_id": anon, "category": "Shop", "name": "Home"}),
            (
                "track",
                (),
                {"anonymous_id": anon, "event": "Product Added", "properties": {"sku": "TEA-01"}},
            ),
        ],
    )
    # Logging in on the app (the web visitor's id is joined by the web login)
    _send(
        shared_server,
        app.write_key,
        [
            (
                "identify",
                (),
                {
                    "user_id": user,
                    "traits": {"email": email, "name": "山田花子"},
                    "context": {"device": {"id": f"dev-{tag}"}},
                },
            ),
        ],
    )
    _send(
        shared_server,
        web.write_key,
        [
            ("identify", (), {"user_id": user, "anonymous_id": anon}),
        ],
    )
    # A purchase in store with the loyalty card, recorded by the POS
    _send(
        shared_server,
        pos.write_key,
        [
            (
                "track",
                (),
                {
                    "user_id": user,
                    "event": "Order Completed",
                    "properties": {"total": 5280},
                    "context": {"traits": {"loyalty_card": card}},
                },
            ),
        ],
    )
    # A call to the call centre, known only by the phone number and the card
    _send(
        shared_server,
        calls.write_key,
        [
            (
                "track",
                (),
                {
                    "anonymous_id": f"call-{tag}",
                    "event": "Call Ended",
                    "context": {"traits": {"phone": "03-5555-0101", "loyalty_card": card}},
                },
            ),
        ],
    )

    # Then every identifier leads to one profile holding the whole timeline
    profile = eventually(
        lambda: (
            (p := _profile(shared_server, "phone", "+81355550101"))
            and len(p["identifiers"]) == 7
            and p
        ),
        timeout=60,
        what="the call to join the shopper's profile",
    )
    for id_type, value in [
        ("anonymous_id", anon),
        ("user_id", user),
        ("email", email),
        ("loyalty_card", card),
        ("device_id", f"dev-{tag}"),
    ]:
        found = _profile(shared_server, id_type, value)
        assert found is not None and found["id"] == profile["id"], (id_type, value)
    assert profile["channels_used"] == ["app", "call_center", "store", "web"]
    timeline = httpx.get(
        f"{shared_server.url}/api/v1/profiles/{profile['id']}/timeline",
        headers=bearer(shared_server.admin_key),
        timeout=30,
    ).json()["items"]
    events = [i.get("name") for i in timeline if i["kind"] == "event"]
    assert sorted(e or "" for e in events) == sorted(
        ["", "", "Call Ended", "Home", "Order Completed", "Product Added"]
    )
    assert profile["traits"]["name"]["value"] == "山田花子"
