"""Tracking plans: which documents compile, and which messages break them."""

from __future__ import annotations

from typing import Any

import pytest

from kizuna.ingestion.plans import MAX_VIOLATIONS, PLAN_MODES, PlanInvalid, compile_plan

ORDER_PLAN: dict[str, Any] = {
    "events": {
        "Order Completed": {
            "type": "object",
            "properties": {"total": {"type": "integer"}, "currency": {"enum": ["JPY", "USD"]}},
            "required": ["total"],
        }
    },
    "traits": {"type": "object", "properties": {"email": {"type": "string", "format": "email"}}},
}


def order(**properties: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "properties": properties}


# --- compiling -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", PLAN_MODES)
def test_every_mode_compiles(mode: str) -> None:
    plan = compile_plan(ORDER_PLAN, mode, 3)

    assert (plan.mode, plan.version, sorted(plan.events)) == (mode, 3, ["Order Completed"])
    assert plan.enforced is (mode != "allow")


def test_an_unknown_mode_is_refused() -> None:
    with pytest.raises(PlanInvalid, match="mode must be one of allow, warn, quarantine, reject"):
        compile_plan(ORDER_PLAN, "strict", 1)


def test_an_empty_plan_has_no_validators() -> None:
    plan = compile_plan(None, "warn", 1)

    assert (plan.events, plan.traits, plan.unplanned_is_violation) == ({}, None, False)


def test_unknown_plan_keys_are_refused() -> None:
    with pytest.raises(PlanInvalid, match="unknown plan keys: identify, properties"):
        compile_plan({"events": {}, "properties": {}, "identify": {}}, "warn", 1)


def test_a_plan_must_be_an_object() -> None:
    with pytest.raises(PlanInvalid, match="a plan is a JSON object"):
        compile_plan(["Order Completed"], "warn", 1)  # type: ignore[arg-type]


def test_events_must_map_names_to_schemas() -> None:
    with pytest.raises(PlanInvalid, match="'events' maps event names to JSON Schemas"):
        compile_plan({"events": ["Order Completed"]}, "warn", 1)


def test_an_event_schema_must_be_an_object() -> None:
    with pytest.raises(PlanInvalid, match=r"events\.Order Completed: a JSON Schema is an object"):
        compile_plan({"events": {"Order Completed": "integer"}}, "warn", 1)


def test_an_invalid_json_schema_is_refused_with_where_it_is() -> None:
    with pytest.raises(PlanInvalid, match=r"^events\.Viewed: 'nonsense' is not valid"):
        compile_plan({"events": {"Viewed": {"type": "nonsense"}}}, "warn", 1)


def test_invalid_traits_are_refused() -> None:
    with pytest.raises(PlanInvalid, match=r"^traits: "):
        compile_plan({"traits": {"required": "email"}}, "warn", 1)


def test_unplanned_is_allow_or_violation() -> None:
    with pytest.raises(PlanInvalid, match="'unplanned' is 'allow' or 'violation'"):
        compile_plan({"unplanned": "reject"}, "warn", 1)


# --- violations ------------------------------------------------------------------------------


def test_a_conforming_track_has_no_violations() -> None:
    plan = compile_plan(ORDER_PLAN, "warn", 1)

    assert plan.violations(order(total=5400, currency="JPY")) == []


def test_a_track_property_of_the_wrong_type_is_a_violation() -> None:
    plan = compile_plan(ORDER_PLAN, "warn", 1)

    assert plan.violations(order(total="5400")) == [
        {
            "path": "properties.total",
            "keyword": "type",
            "message": "'5400' is not of type 'integer'",
        }
    ]


def test_a_missing_required_property_is_a_violation() -> None:
    plan = compile_plan(ORDER_PLAN, "warn", 1)

    assert plan.violations(order(currency="JPY")) == [
        {"path": "properties", "keyword": "required", "message": "'total' is a required property"}
    ]


def test_a_track_without_properties_is_checked_as_empty() -> None:
    plan = compile_plan(ORDER_PLAN, "warn", 1)

    violations = plan.violations({"type": "track", "event": "Order Completed"})

    assert [v["keyword"] for v in violations] == ["required"]


def test_identify_traits_are_checked() -> None:
    plan = compile_plan(ORDER_PLAN, "warn", 1)

    violations = plan.violations({"type": "identify", "traits": {"email": 12}})

    assert violations == [
        {"path": "traits.email", "keyword": "type", "message": "12 is not of type 'string'"}
    ]


def test_an_unplanned_event_is_allowed_by_default() -> None:
    plan = compile_plan(ORDER_PLAN, "warn", 1)

    assert plan.violations({"type": "track", "event": "Coupon Applied"}) == []


def test_an_unplanned_event_is_a_violation_when_the_plan_says_so() -> None:
    plan = compile_plan({**ORDER_PLAN, "unplanned": "violation"}, "warn", 1)

    assert plan.violations({"type": "track", "event": "Coupon Applied"}) == [
        {
            "path": "event",
            "keyword": "unplanned",
            "message": "event 'Coupon Applied' is not in the tracking plan",
        }
    ]


@pytest.mark.parametrize("kind", ["page", "screen", "group", "alias"])
def test_other_calls_are_not_checked(kind: str) -> None:
    plan = compile_plan({**ORDER_PLAN, "unplanned": "violation"}, "warn", 1)

    assert (
        plan.violations({"type": kind, "properties": {"total": "x"}, "traits": {"email": 1}}) == []
    )


def test_violations_are_capped() -> None:
    many = {f"p{i}": {"type": "integer"} for i in range(MAX_VIOLATIONS + 5)}
    plan = compile_plan({"events": {"E": {"properties": many}}}, "warn", 1)

    violations = plan.violations(
        {"type": "track", "event": "E", "properties": dict.fromkeys(many, "x")}
    )

    assert len(violations) == MAX_VIOLATIONS
