"""Hostile definitions through the API: too deep, too big, injection strings in values and in
field paths. Each gets a clear 4xx (or, for values, is taken as a plain value matching nothing);
none reaches the database as SQL text, and the tables are still there afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import event

from tests.segments.shop import Shop, shop
from tests.support import error_of, scalar

__all__ = ["shop"]

INJECTION = "'; DROP TABLE events; --"
HOSTILE_VALUES = (
    INJECTION,
    "' OR '1'='1",
    'x") OR 1=1 --',
    "1; DELETE FROM profiles",
    "%' UNION SELECT id FROM api_keys --",
)
HOSTILE_PATHS = ("a; drop", "a'b", "$.x", "../x", "a.b.c.d.e", "a--", "1a", "a b", "")


def _trait(path: str, op: str, value: Any = None) -> dict[str, Any]:
    node: dict[str, Any] = {"kind": "trait", "path": path, "op": op}
    return node | ({"value": value} if value is not None else {})


def _named(condition: dict[str, Any]) -> dict[str, Any]:
    return {"name": "hostile", "condition": condition}


def _nested(depth: int) -> dict[str, Any]:
    """``not`` inside ``not`` ... around one leaf: ``depth`` levels in all."""
    node: dict[str, Any] = {"kind": "identifier", "type": "email"}
    for _ in range(depth - 1):
        node = {"kind": "not", "condition": node}
    return node


def _refused(shop: Shop, document: dict[str, Any]) -> dict[str, Any]:
    """Both the save and the preview answer 400; returns the save's error."""
    preview = shop.api("POST", "/segments/preview", json=document)
    saved = shop.api("POST", "/segments", json=document)
    assert preview.status_code == 400, preview.text
    assert saved.status_code == 400, saved.text
    error: dict[str, Any] = saved.json()["error"]
    return error


def _messages(error: dict[str, Any]) -> str:
    return " ".join(d["msg"] for d in error["details"])


@pytest.fixture
def people(shop: Shop) -> Shop:
    """A few customers with traits, orders and identifiers, so a condition has rows to read."""
    shop.customer("ann", plan="gold", city="Tokyo", email="ann@x.jp")
    shop.customer("bob", plan="free", city="Osaka")
    shop.order("ann", total=5000, category="shoes")
    shop.order("bob", total=100, category="bags")
    return shop


def _events_table_stands(shop: Shop, events_before: int) -> None:
    assert scalar(shop.platform.db, "SELECT count(*) FROM events") == events_before
    assert scalar(shop.platform.db, "SELECT count(*) FROM profiles") == 2


# --- size limits ---------------------------------------------------------------------------


def test_nesting_deeper_than_8_is_refused(people: Shop) -> None:
    error = _refused(people, _named(_nested(9)))

    assert error["code"] == "request.invalid"
    assert "conditions nest 9 deep; at most 8" in _messages(error)
    assert people.api("POST", "/segments/preview", json=_named(_nested(8))).status_code == 200
    assert _refused(people, _named(_nested(200)))["code"] == "request.invalid"


def test_json_nested_beyond_any_parser_is_a_clean_400(people: Shop) -> None:
    deep = '{"name": "x", "condition": ' + "[" * 100_000 + "]" * 100_000 + "}"

    refused = people.client.post(
        "/api/v1/segments",
        content=deep,
        headers={**people.admin, "Content-Type": "application/json"},
    )

    assert refused.status_code == 400
    assert refused.json()["error"]["code"]


def test_more_than_100_conditions_are_refused(people: Shop) -> None:
    leaf = _trait("plan", "eq", "gold")
    pairs = [{"kind": "and", "conditions": [leaf]} for _ in range(50)]
    many = {"kind": "or", "conditions": pairs}  # 1 + 50 * 2 = 101 nodes

    error = _refused(people, _named(many))

    assert "101 conditions; at most 100" in _messages(error)
    one_fewer = {"kind": "or", "conditions": [*pairs[:49], leaf]}  # 100 nodes
    assert people.api("POST", "/segments/preview", json=_named(one_fewer)).status_code == 200


def test_more_than_50_conditions_in_one_and_are_refused(people: Shop) -> None:
    error = _refused(people, _named({"kind": "and", "conditions": [_trait("plan", "exists")] * 51}))

    assert error["code"] == "request.invalid"


def test_lists_over_500_values_are_refused(people: Shop) -> None:
    values = [f"city-{n}" for n in range(501)]

    error = _refused(people, _named(_trait("city", "in", values)))

    assert error["code"] == "request.invalid"
    ok = people.ok("POST", "/segments/preview", json=_named(_trait("city", "in", values[:500])))
    assert ok["count"] == 0


def test_values_over_200_characters_are_refused(people: Shop) -> None:
    long = "x" * 201

    for condition in (
        _trait("city", "eq", long),
        _trait("city", "in", ["Tokyo", long]),
        {"kind": "performed", "filter": {"event": long}},
        {
            "kind": "performed",
            "filter": {
                "event": "Order Completed",
                "where": [{"path": "c", "op": "eq", "value": long}],
            },
        },
    ):
        assert _refused(people, _named(condition))["code"] == "request.invalid", condition
    at_most = people.api("POST", "/segments/preview", json=_named(_trait("city", "eq", "x" * 200)))
    assert at_most.status_code == 200


def test_numbers_a_database_cannot_hold_are_refused(people: Shop) -> None:
    headers = {**people.admin, "Content-Type": "application/json"}
    for number in ("1e400", "-1e400", "NaN", "Infinity", str(2**70)):
        body = '{"name": "x", "condition": {"kind": "trait", "path": "total", "op": "gt", '
        body += f'"value": {number}}}}}'
        for path in ("/api/v1/segments", "/api/v1/segments/preview"):
            refused = people.client.post(path, content=body, headers=headers)
            assert error_of(refused) == (400, "request.invalid"), (number, path)
    assert people.ok("GET", "/segments")["items"] == []


def test_a_nul_character_anywhere_is_refused(people: Shop) -> None:
    """PostgreSQL text cannot hold NUL: such a definition could never be computed there."""
    for document in (
        _named(_trait("plan", "eq", "gold\x00")),
        _named({"kind": "performed", "filter": {"event": "Order\x00Completed"}}),
        {"name": "nul\x00name", "condition": _trait("plan", "exists")},
    ):
        for path in ("/segments", "/segments/preview"):
            refused = people.api("POST", path, json=document)
            assert error_of(refused) == (400, "request.invalid"), (document, path)
    trait = {
        "key": "t",
        "name": "t",
        "aggregation": "count",
        "filter": {
            "event": "Order Completed",
            "where": [{"path": "c", "op": "eq", "value": "\x00"}],
        },
    }
    assert error_of(people.api("POST", "/computed-traits", json=trait)) == (
        400,
        "request.invalid",
    )


def test_long_windows_and_huge_counts_are_refused(people: Shop) -> None:
    for condition in (
        {"kind": "performed", "filter": {"event": "x"}, "within": {"days": 3651}},
        {"kind": "performed", "filter": {"event": "x"}, "count": {"value": 10**12}},
        _trait("joined_at", "within_last_days", 10**9),
    ):
        assert _refused(people, _named(condition))["code"] == "request.invalid"


# --- injection strings -----------------------------------------------------------------------


@pytest.mark.parametrize("value", HOSTILE_VALUES)
def test_injection_strings_in_values_are_plain_values_matching_nothing(
    people: Shop, value: str
) -> None:
    events_before = scalar(people.platform.db, "SELECT count(*) FROM events")
    conditions = [
        _trait("plan", "eq", value),
        _trait("city", "in", [value, "Nagoya"]),
        _trait("city", "contains", value),
        _trait("city", "starts_with", value),
        {"kind": "performed", "filter": {"event": value}},
        {
            "kind": "performed",
            "filter": {
                "event": "Order Completed",
                "where": [{"path": "category", "op": "eq", "value": value}],
            },
        },
        {
            "kind": "sequence",
            "first": {"event": value},
            "then": {"event": "Order Completed"},
            "within": {"hours": 1},
        },
    ]

    for condition in conditions:
        found = people.ok("POST", "/segments/preview", json=_named(condition))
        assert found["count"] == 0, condition
        assert found["population"] == 2
    saved = people.ok("POST", "/segments", json=_named({"kind": "or", "conditions": conditions}))
    people.run()

    assert people.ok("GET", f"/segments/{saved['id']}")["condition"]["conditions"][0] == {
        "kind": "trait",
        "path": "plan",
        "op": "eq",
        "value": value,
    }
    assert people.members(saved["id"]) == set()
    _events_table_stands(people, events_before)


def test_an_injection_string_in_a_computed_trait_filter_counts_nothing(people: Shop) -> None:
    events_before = scalar(people.platform.db, "SELECT count(*) FROM events")
    trait = {
        "key": "hostile_total",
        "name": "hostile",
        "aggregation": "sum",
        "property": "total",
        "filter": {
            "event": INJECTION,
            "where": [{"path": "category", "op": "in", "value": [INJECTION]}],
        },
    }
    people.ok("POST", "/computed-traits", json=trait)
    spent = _named({"kind": "computed_trait", "key": "hostile_total", "op": "exists"})

    segment = people.segment(spent)

    assert people.ok("GET", "/computed-traits/hostile_total")["filter"]["event"] == INJECTION
    assert people.members(segment) == set()
    _events_table_stands(people, events_before)


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_injection_strings_in_field_paths_are_refused(people: Shop, path: str) -> None:
    events_before = scalar(people.platform.db, "SELECT count(*) FROM events")
    where = [{"path": path, "op": "eq", "value": "x"}]
    for condition in (
        _trait(path, "eq", "gold"),
        _trait(path, "exists"),
        {"kind": "performed", "filter": {"event": "Order Completed", "where": where}},
        {"kind": "computed_trait", "key": path, "op": "exists"},
        {"kind": "identifier", "type": path},
        {"kind": "consent", "purpose": path, "channel": "email"},
        {"kind": "consent", "purpose": "marketing", "channel": path},
        {"kind": "segment", "segment": path},
        {"kind": "performed", "filter": {"event": "Order Completed", "channel": path}},
    ):
        error = _refused(people, _named(condition))
        assert error["code"] == "request.invalid", (path, condition)
    trait = {
        "key": "t",
        "name": "t",
        "aggregation": "sum",
        "property": path,
        "filter": {"event": "Order Completed"},
    }
    assert error_of(people.api("POST", "/computed-traits", json=trait)) == (
        400,
        "request.invalid",
    )
    assert error_of(people.api("POST", "/computed-traits", json={**trait, "key": path})) == (
        400,
        "request.invalid",
    )
    assert people.ok("GET", "/segments")["items"] == []
    _events_table_stands(people, events_before)


def test_unknown_fields_and_kinds_are_refused(people: Shop) -> None:
    for condition in (
        {"kind": "sql", "query": "SELECT 1"},
        {"kind": "trait", "path": "plan", "op": "eq", "value": "gold", "raw": "1=1"},
        {"kind": "trait", "path": "plan", "op": "like", "value": "%"},
        {"kind": "trait", "path": "plan", "op": "eq", "value": {"$ne": None}},
    ):
        assert _refused(people, _named(condition))["code"] == "request.invalid", condition


# --- values are bound parameters -------------------------------------------------------------


@contextmanager
def statements(shop: Shop) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the app's engine sends meanwhile, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def capture(_: Any, __: Any, statement: str, parameters: Any, *___: Any) -> None:
        seen.append((statement, parameters))

    engine = shop.platform.db.engine
    event.listen(engine, "before_cursor_execute", capture)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", capture)


def test_a_preview_sends_every_value_as_a_bound_parameter(people: Shop) -> None:
    marks = [f"zq{n}{INJECTION}" for n in range(7)]
    condition = {
        "kind": "or",
        "conditions": [
            _trait("plan", "eq", marks[0]),
            _trait("city", "in", [marks[1], "Nagoya"]),
            _trait("city", "contains", marks[2]),
            _trait("city", "starts_with", marks[3]),
            {"kind": "performed", "filter": {"event": marks[4]}},
            {
                "kind": "performed",
                "filter": {
                    "event": "Order Completed",
                    "where": [{"path": "category", "op": "eq", "value": marks[5]}],
                },
            },
            {
                "kind": "sequence",
                "first": {"event": "Order Completed"},
                "then_not": {"event": marks[6]},
                "within": {"hours": 1},
            },
        ],
    }

    with statements(people) as seen:
        found = people.ok("POST", "/segments/preview", json=_named(condition))

    assert found["count"] == 0
    assert seen, "no statement captured"
    texts = "\n".join(statement for statement, _ in seen)
    for mark in marks:
        assert mark not in texts
        assert "zq" not in texts
    bound = repr([parameters for _, parameters in seen])
    for mark in marks[:4]:  # trait values go to the database as parameters
        assert mark in bound, mark
    assert "DROP TABLE" not in texts
