"""``/api/v1/segments``, ``/api/v1/computed-traits`` and ``/api/v1/profiles/{id}/segments`` on
both backends (the app in-process, the real segments engine behind it)."""

from __future__ import annotations

from typing import Any

from tests.segments.shop import ORDERS_IN_STORE, Shop, shop
from tests.support import error_of

__all__ = ["shop"]

LIFETIME_VALUE = {
    "key": "lifetime_value",
    "name": "Lifetime value",
    "aggregation": "sum",
    "property": "total",
    "filter": {"event": "Order Completed"},
}
BIG_SPENDERS = {
    "name": "Big spenders",
    "condition": {"kind": "computed_trait", "key": "lifetime_value", "op": "gte", "value": 10000},
}


def _reads(segment_id: str, name: str = "reader") -> dict[str, Any]:
    return {"name": name, "condition": {"kind": "segment", "segment": segment_id}}


# --- segments: create, read, list, update, delete -------------------------------------------


def test_a_new_segment_is_computing_then_ready_with_its_members(shop: Shop) -> None:
    ann = shop.customer("ann")
    shop.order("ann", total=5000)

    created = shop.api("POST", "/segments", json=ORDERS_IN_STORE)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("seg_")
    assert body["name"] == "Bought in store"
    assert body["description"] == "at least one store order, ever"
    assert body["condition"] == {
        "kind": "performed",
        "filter": {"event": "Order Completed", "channel": "store", "where": []},
        "count": {"op": "gte", "value": 1},
        "within": None,
    }
    assert (body["version"], body["status"], body["members"]) == (1, "computing", 0)
    assert body["progress"] == {"done": 0, "total": 0}
    assert body["computed_at"] is None
    # When the engine has run
    shop.run()
    ready = shop.ok("GET", f"/segments/{body['id']}")
    assert (ready["status"], ready["members"]) == ("ready", 1)
    assert ready["computed_at"] is not None
    assert ready["created_at"] == body["created_at"]
    assert shop.members(body["id"]) == {ann}


def test_segments_are_listed_oldest_first(shop: Shop) -> None:
    first = shop.segment(ORDERS_IN_STORE)
    second = shop.segment(_reads(first, "Store buyers too"))

    listed = shop.ok("GET", "/segments")

    assert [s["id"] for s in listed["items"]] == [first, second]
    assert listed["items"][1]["condition"] == {
        "kind": "segment",
        "segment": first,
        "member": True,
    }


def test_a_new_condition_is_a_new_version_but_a_new_name_is_not(shop: Shop) -> None:
    segment_id = shop.segment(ORDERS_IN_STORE)
    renamed = {**ORDERS_IN_STORE, "name": "Store customers", "description": "renamed"}

    same = shop.ok("PUT", f"/segments/{segment_id}", json=renamed)

    assert (same["name"], same["description"], same["version"]) == ("Store customers", "renamed", 1)
    assert same["status"] == "ready"
    # When the condition changes
    web = {"kind": "performed", "filter": {"event": "Order Completed", "channel": "web"}}
    changed = shop.ok("PUT", f"/segments/{segment_id}", json={**renamed, "condition": web})
    assert (changed["version"], changed["status"]) == (2, "computing")
    assert changed["condition"]["filter"]["channel"] == "web"
    shop.run()
    assert shop.ok("GET", f"/segments/{segment_id}")["status"] == "ready"


def test_a_deleted_segment_is_gone_with_its_members(shop: Shop) -> None:
    shop.customer("ann")
    shop.order("ann", total=5000)
    segment_id = shop.segment(ORDERS_IN_STORE)

    deleted = shop.api("DELETE", f"/segments/{segment_id}")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert error_of(shop.api("GET", f"/segments/{segment_id}")) == (404, "segment.not_found")
    assert shop.ok("GET", "/segments")["items"] == []
    assert error_of(shop.api("GET", f"/segments/{segment_id}/members")) == (
        404,
        "segment.not_found",
    )


def test_unknown_segments_are_404_everywhere(shop: Shop) -> None:
    missing = "seg_missing"
    for method, path, body in [
        ("GET", f"/segments/{missing}", None),
        ("PUT", f"/segments/{missing}", ORDERS_IN_STORE),
        ("DELETE", f"/segments/{missing}", None),
        ("GET", f"/segments/{missing}/members", None),
        ("GET", f"/segments/{missing}/history", None),
        ("GET", f"/segments/{missing}/chart", None),
        ("GET", f"/segments/{missing}/export", None),
        ("GET", f"/segments/{missing}/export?format=hashed", None),
    ]:
        assert error_of(shop.api(method, path, json=body)) == (404, "segment.not_found"), path


def test_an_invalid_definition_is_400_with_the_envelope(shop: Shop) -> None:
    no_name = {"condition": ORDERS_IN_STORE["condition"]}
    unknown_kind = {"name": "x", "condition": {"kind": "script", "code": "1"}}
    in_without_list = {
        "name": "x",
        "condition": {"kind": "trait", "path": "plan", "op": "in", "value": "gold"},
    }

    for document in (no_name, unknown_kind, in_without_list):
        refused = shop.api("POST", "/segments", json=document)
        assert error_of(refused) == (400, "request.invalid"), refused.text
        assert refused.json()["error"]["details"]
    assert shop.ok("GET", "/segments")["items"] == []


def test_references_to_unknown_traits_and_segments_are_refused(shop: Shop) -> None:
    unknown_segment = shop.api("POST", "/segments", json=_reads("seg_nowhere"))
    unknown_trait = shop.api("POST", "/segments", json=BIG_SPENDERS)

    assert error_of(unknown_segment) == (400, "segment.invalid_reference")
    assert unknown_segment.json()["error"]["details"] == {"segment": "seg_nowhere"}
    assert error_of(unknown_trait) == (400, "segment.invalid_reference")
    assert unknown_trait.json()["error"]["details"] == {"key": "lifetime_value"}


def test_segments_reading_each_other_in_a_circle_are_refused(shop: Shop) -> None:
    first = shop.segment(ORDERS_IN_STORE)
    second = shop.segment(_reads(first))

    circle = shop.api("PUT", f"/segments/{first}", json=_reads(second))
    itself = shop.api("PUT", f"/segments/{first}", json=_reads(first))

    assert error_of(circle) == (400, "segment.cycle")
    assert error_of(itself) == (400, "segment.cycle")
    assert shop.ok("GET", f"/segments/{first}")["version"] == 1


def test_a_segment_another_one_reads_cannot_be_deleted(shop: Shop) -> None:
    first = shop.segment(ORDERS_IN_STORE)
    second = shop.segment(_reads(first))

    refused = shop.api("DELETE", f"/segments/{first}")

    assert error_of(refused) == (409, "segment.in_use")
    assert refused.json()["error"]["details"] == {"by": second}
    assert shop.api("DELETE", f"/segments/{second}").status_code == 204
    assert shop.api("DELETE", f"/segments/{first}").status_code == 204


def test_consent_conditions_must_name_the_catalogue(shop: Shop) -> None:
    def consent(purpose: str, channel: str) -> dict[str, Any]:
        condition = {"kind": "consent", "purpose": purpose, "channel": channel}
        return {"name": "Reachable", "condition": condition}

    assert error_of(shop.api("POST", "/segments", json=consent("lottery", "email"))) == (
        400,
        "consent.unknown_purpose",
    )
    assert error_of(shop.api("POST", "/segments/preview", json=consent("lottery", "email"))) == (
        400,
        "consent.unknown_purpose",
    )
    assert error_of(shop.api("POST", "/segments", json=consent("marketing", "fax"))) == (
        400,
        "consent.unknown_channel",
    )
    assert shop.api("POST", "/segments", json=consent("marketing", "email")).status_code == 201


# --- computed traits -------------------------------------------------------------------------


def test_a_computed_trait_is_created_read_updated_and_deleted(shop: Shop) -> None:
    created = shop.api("POST", "/computed-traits", json=LIFETIME_VALUE)

    assert created.status_code == 201, created.text
    body = created.json()
    assert body["key"] == "lifetime_value"
    assert (body["aggregation"], body["property"], body["window"]) == ("sum", "total", None)
    assert body["filter"] == {"event": "Order Completed", "channel": None, "where": []}
    assert (body["version"], body["status"]) == (1, "computing")
    shop.run()
    assert shop.ok("GET", "/computed-traits/lifetime_value")["status"] == "ready"
    assert [t["key"] for t in shop.ok("GET", "/computed-traits")["items"]] == ["lifetime_value"]
    # When its window changes
    windowed = {**LIFETIME_VALUE, "name": "Spend, 90 days", "window": {"days": 90}}
    updated = shop.ok("PUT", "/computed-traits/lifetime_value", json=windowed)
    assert (updated["name"], updated["version"], updated["status"]) == (
        "Spend, 90 days",
        2,
        "computing",
    )
    assert updated["window"] == {"days": 90, "hours": 0, "minutes": 0}
    # Then it can be deleted, once
    assert shop.api("DELETE", "/computed-traits/lifetime_value").status_code == 204
    for method in ("GET", "DELETE"):
        assert error_of(shop.api(method, "/computed-traits/lifetime_value")) == (
            404,
            "computed_trait.not_found",
        )
    assert error_of(shop.api("PUT", "/computed-traits/lifetime_value", json=windowed)) == (
        404,
        "computed_trait.not_found",
    )


def test_a_computed_trait_key_is_taken_once_and_never_changes(shop: Shop) -> None:
    shop.ok("POST", "/computed-traits", json=LIFETIME_VALUE)

    again = shop.api("POST", "/computed-traits", json=LIFETIME_VALUE)
    renamed = shop.api(
        "PUT", "/computed-traits/lifetime_value", json={**LIFETIME_VALUE, "key": "ltv"}
    )

    assert error_of(again) == (409, "computed_trait.exists")
    assert error_of(renamed) == (400, "computed_trait.key_fixed")


def test_a_computed_trait_a_segment_reads_cannot_be_deleted(shop: Shop) -> None:
    shop.ok("POST", "/computed-traits", json=LIFETIME_VALUE)
    segment_id = shop.segment(BIG_SPENDERS)

    refused = shop.api("DELETE", "/computed-traits/lifetime_value")

    assert error_of(refused) == (409, "segment.in_use")
    assert refused.json()["error"]["details"] == {"by": segment_id}


def test_a_segment_on_a_computed_trait_follows_spending(shop: Shop) -> None:
    shop.ok("POST", "/computed-traits", json=LIFETIME_VALUE)
    segment_id = shop.segment(BIG_SPENDERS)
    ann = shop.customer("ann")

    shop.order("ann", total=6000)
    assert shop.members(segment_id) == set()
    shop.order("ann", shop.web, total=4000)

    assert shop.members(segment_id) == {ann}
    assert shop.ok("GET", f"/segments/{segment_id}")["members"] == 1


def test_an_invalid_computed_trait_is_400(shop: Shop) -> None:
    no_property = {**LIFETIME_VALUE, "property": None}
    bad_key = {**LIFETIME_VALUE, "key": "Lifetime Value"}

    for document in (no_property, bad_key):
        assert error_of(shop.api("POST", "/computed-traits", json=document)) == (
            400,
            "request.invalid",
        )


# --- preview ---------------------------------------------------------------------------------


def test_a_preview_counts_and_samples_without_saving(shop: Shop) -> None:
    ann, bob, cho = (shop.customer(u) for u in ("ann", "bob", "cho"))
    shop.order("ann", total=5000)
    shop.order("ann", total=3000)
    shop.order("bob", total=1000)
    shop.order("cho", shop.web, total=2000)
    twice = {
        "name": "Two store orders",
        "condition": {
            "kind": "performed",
            "filter": {"event": "Order Completed", "channel": "store"},
            "count": {"op": "gte", "value": 2},
        },
    }

    once = shop.ok("POST", "/segments/preview", json=ORDERS_IN_STORE)
    again = shop.ok("POST", "/segments/preview", json=twice)
    never = shop.ok(
        "POST",
        "/segments/preview",
        json={
            "name": "Not in store",
            "condition": {"kind": "not", "condition": twice["condition"]},
        },
        params={"sample": 1},
    )

    assert once == {"count": 2, "population": 3, "sample": sorted([ann, bob])}
    assert again == {"count": 1, "population": 3, "sample": [ann]}
    assert never == {"count": 2, "population": 3, "sample": sorted([bob, cho])[:1]}
    assert shop.ok("GET", "/segments")["items"] == []


def test_a_preview_of_an_empty_shop_is_zero(shop: Shop) -> None:
    found = shop.ok("POST", "/segments/preview", json=ORDERS_IN_STORE)

    assert found == {"count": 0, "population": 0, "sample": []}


# --- members, memberships, history, chart ----------------------------------------------------


def test_members_come_a_page_at_a_time(shop: Shop) -> None:
    people = []
    for n in range(5):
        people.append(shop.customer(f"u{n}"))
        shop.order(f"u{n}", total=1000)
    segment_id = shop.segment(ORDERS_IN_STORE)

    pages, after = [], None
    while True:
        params: dict[str, Any] = {"limit": 2} | ({"after": after} if after else {})
        page = shop.ok("GET", f"/segments/{segment_id}/members", params=params)
        pages.append([m["profile_id"] for m in page["items"]])
        after = page["next"]
        if after is None:
            break

    assert pages == [sorted(people)[0:2], sorted(people)[2:4], sorted(people)[4:]]
    assert all(m["since"] for m in page["items"])
    too_many = shop.api("GET", f"/segments/{segment_id}/members", params={"limit": 1001})
    assert error_of(too_many) == (400, "request.invalid")


def test_a_profile_lists_the_segments_it_is_in(shop: Shop) -> None:
    ann = shop.customer("ann")
    bob = shop.customer("bob")
    shop.order("ann", total=1000)
    in_store = shop.segment(ORDERS_IN_STORE)
    also = shop.segment(_reads(in_store, "Also in store"))

    found = shop.ok("GET", f"/profiles/{ann}/segments")

    assert found["profile_id"] == ann
    assert [(s["segment_id"], s["name"]) for s in found["segments"]] == [
        (also, "Also in store"),
        (in_store, "Bought in store"),
    ]
    assert shop.ok("GET", f"/profiles/{bob}/segments") == {"profile_id": bob, "segments": []}
    assert error_of(shop.api("GET", "/profiles/prof_missing/segments")) == (
        404,
        "profile.not_found",
    )


def test_a_merged_away_profile_redirects_to_the_survivors_segments(shop: Shop) -> None:
    shop.send(shop.web, {"type": "track", "anonymousId": "a-1", "event": "Viewed"})
    shop.send(shop.crm, {"type": "identify", "userId": "u-1", "traits": {"email": "u1@x.jp"}})
    anon = shop.ok("GET", "/profiles/lookup", params={"type": "anonymous_id", "value": "a-1"})
    known = shop.profile("u-1")
    # When the visitor logs in, the newer profile merges into the older one
    shop.send(shop.web, {"type": "identify", "anonymousId": "a-1", "userId": "u-1"})

    moved = shop.api("GET", f"/profiles/{known}/segments")

    assert moved.status_code == 308
    assert moved.headers["location"] == f"/api/v1/profiles/{anon['id']}/segments"
    assert shop.ok("GET", f"/profiles/{anon['id']}/segments")["segments"] == []


def test_history_and_chart_show_who_entered_and_left(shop: Shop) -> None:
    shop.ok("POST", "/computed-traits", json=LIFETIME_VALUE)
    segment_id = shop.segment(BIG_SPENDERS)
    ann = shop.customer("ann")
    shop.order("ann", total=12000)
    # When a refund takes her under the threshold
    shop.order("ann", total=-5000)

    history = shop.ok("GET", f"/segments/{segment_id}/history")["items"]
    chart = shop.ok("GET", f"/segments/{segment_id}/chart", params={"days": 7})

    assert [(h["profile_id"], h["change"], h["cause"]) for h in history] == [
        (ann, "exited", "event"),
        (ann, "entered", "event"),
    ]
    assert all(h["cause_seq"] for h in history)
    assert chart["segment_id"] == segment_id
    assert len(chart["points"]) == 7
    assert [p["members"] for p in chart["points"]] == [0] * 7
    only_ann = shop.ok("GET", f"/segments/{segment_id}/history", params={"profile_id": "p_x"})
    assert only_ann["items"] == []


# --- who may do what -------------------------------------------------------------------------


def test_readonly_reads_segments_but_cannot_define_them(shop: Shop) -> None:
    readonly = shop.key("readonly")
    segment_id = shop.segment(ORDERS_IN_STORE)

    assert shop.api("GET", "/segments", key=readonly).status_code == 200
    assert shop.api("GET", f"/segments/{segment_id}/members", key=readonly).status_code == 200
    assert shop.api("POST", "/segments/preview", key=readonly, json=ORDERS_IN_STORE).is_success
    for method, path, body in [
        ("POST", "/segments", ORDERS_IN_STORE),
        ("PUT", f"/segments/{segment_id}", ORDERS_IN_STORE),
        ("DELETE", f"/segments/{segment_id}", None),
        ("POST", "/computed-traits", LIFETIME_VALUE),
    ]:
        refused = shop.api(method, path, key=readonly, json=body)
        assert error_of(refused) == (403, "auth.missing_scope"), path
        assert refused.json()["error"]["details"] == {"scope": "segments:write", "role": "readonly"}
    assert shop.ok("GET", f"/segments/{segment_id}")["version"] == 1


def test_marketers_define_segments_and_analysts_do_not(shop: Shop) -> None:
    marketer, analyst = shop.key("marketer"), shop.key("analyst")

    made = shop.api("POST", "/segments", key=marketer, json=ORDERS_IN_STORE)
    refused = shop.api("POST", "/segments", key=analyst, json=ORDERS_IN_STORE)

    assert made.status_code == 201
    assert error_of(refused) == (403, "auth.missing_scope")


def test_write_keys_and_anonymous_callers_are_refused(shop: Shop) -> None:
    with_write_key = shop.client.get("/api/v1/segments", auth=(shop.web.write_key, ""))
    anonymous = shop.client.get("/api/v1/segments")

    assert error_of(with_write_key) == (403, "auth.write_key_not_allowed")
    assert error_of(anonymous) == (401, "auth.required")
