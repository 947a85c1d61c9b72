"""Which identifiers an event carries, normalised so that equal things match."""

from __future__ import annotations

from typing import Any

import pytest

from kizuna.identity.config import IdentityRules
from kizuna.identity.identifiers import Identifier, identifiers_of, normalise

RULES = IdentityRules()


def ids(message: dict[str, Any], rules: IdentityRules = RULES) -> list[str]:
    found, _ = identifiers_of(message, rules)
    return [str(i) for i in found]


def refusals(message: dict[str, Any]) -> list[tuple[str, str, str]]:
    _, refused = identifiers_of(message, RULES)
    return [(r.type, r.value, r.reason) for r in refused]


def test_an_identify_yields_its_identifiers_in_priority_order() -> None:
    message = {
        "type": "identify",
        "userId": "u-1",
        "anonymousId": "anon-1",
        "traits": {"email": " Ann@Example.COM ", "phone": "090-1234-5678", "loyalty_card": "LC9"},
        "context": {"device": {"id": "dev-1"}},
    }

    assert ids(message) == [
        "user_id:u-1",
        "email:ann@example.com",
        "phone:+819012345678",
        "loyalty_card:LC9",
        "device_id:dev-1",
        "anonymous_id:anon-1",
    ]


def test_full_width_and_half_width_forms_match() -> None:
    wide, _ = normalise("phone", "０９０－１２３４－５６７８", RULES)
    narrow, _ = normalise("phone", "09012345678", RULES)
    card_wide, _ = normalise("loyalty_card", "ＬＣ１２３", RULES)

    assert wide == narrow == Identifier("phone", "+819012345678")
    assert card_wide == Identifier("loyalty_card", "LC123")


def test_phone_numbers_use_the_configured_default_region() -> None:
    us = IdentityRules(default_phone_region="US")

    assert normalise("phone", "(415) 555-2671", us)[0] == Identifier("phone", "+14155552671")
    assert normalise("phone", "+81 3-1234-5678", us)[0] == Identifier("phone", "+81312345678")


@pytest.mark.parametrize(
    ("id_type", "raw", "reason"),
    [
        ("email", "not-an-email", "identity.invalid_email"),
        ("email", "a@b", "identity.invalid_email"),
        ("phone", "call me maybe", "identity.invalid_phone"),
        ("phone", "12", "identity.invalid_phone"),
        ("user_id", "x" * 201, "identity.too_long"),
        ("user_id", {"id": 1}, "identity.not_a_string"),
        ("user_id", True, "identity.not_a_string"),
    ],
)
def test_unusable_values_are_refused_with_a_reason(id_type: str, raw: object, reason: str) -> None:
    identifier, refusal = normalise(id_type, raw, RULES)

    assert identifier is None
    assert refusal is not None and refusal.reason == reason


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "000",
        "-1",
        "--",
        "null",
        "NULL",
        "None",
        "undefined",
        "anonymous",
        "guest",
        "[object Object]",
        "NaN",
        "",
        "   ",
        "\u3000",
    ],
)
def test_blocked_values_never_become_identifiers(value: str) -> None:
    assert ids({"userId": value, "anonymousId": "a1"}) == ["anonymous_id:a1"]
    assert refusals({"userId": value})[0][2] == "identity.blocked"


def test_external_ids_add_custom_types_and_map_known_ones() -> None:
    message = {
        "anonymousId": "a1",
        "context": {
            "externalIds": [
                {"id": "C-77", "type": "crm_id", "collection": "users", "encoding": "none"},
                {"id": "b@x.jp", "type": "Email", "collection": "users"},
                {"id": "ACME", "type": "account_code", "collection": "accounts"},
                {"id": "L-1", "type": "LINE user id", "collection": "users"},
            ]
        },
    }

    assert ids(message) == [
        "email:b@x.jp",
        "anonymous_id:a1",
        "crm_id:C-77",
        "line_user_id:L-1",
    ]


def test_alias_joins_the_previous_id() -> None:
    assert ids({"type": "alias", "userId": "u1", "previousId": "anon-9"}) == [
        "user_id:u1",
        "anonymous_id:anon-9",
    ]


def test_context_traits_count_like_identify_traits() -> None:
    message = {"type": "track", "anonymousId": "a1", "context": {"traits": {"email": "c@x.jp"}}}

    assert ids(message) == ["email:c@x.jp", "anonymous_id:a1"]


def test_an_oversized_identifier_list_is_cut_and_the_rest_refused() -> None:
    external = [{"id": f"v{i}", "type": "crm_id"} for i in range(60)]

    found, refused = identifiers_of({"context": {"externalIds": external}}, RULES)

    assert len(found) == 50
    assert len(refused) == 10
    assert {r.reason for r in refused} == {"identity.too_many_identifiers"}


def test_answers_are_remembered_per_set_of_rules() -> None:
    rules = IdentityRules()
    first = normalise("phone", "090-1234-5678", rules)
    assert first == (Identifier("phone", "+819012345678"), None)
    assert normalise("phone", "090-1234-5678", rules) is first  # from the memo
    # True is refused as not a string, though it hashes like 1 (which is a valid id)
    assert normalise("user_id", 1, rules)[0] == Identifier("user_id", "1")
    assert normalise("user_id", True, rules)[1] is not None
    # other rules, other answers: US numbers by default
    us = IdentityRules(default_phone_region="US")
    assert normalise("phone", "090-1234-5678", us)[0] != first[0]
