"""Identifiers: what an event says about who sent it, normalised so that equal things match.

Pure functions, no I/O. ``identifiers_of`` reads a Segment message and returns the identifiers
it carries plus the values it refused (blocked, unparseable, oversized), each with a reason, so
that nothing is dropped silently: the caller records the refusals where an operator sees them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, TypeGuard

import phonenumbers

from kizuna.identity.config import IdentityRules

MAX_VALUE_LENGTH = 200
MAX_IDENTIFIERS_PER_EVENT = 50

# Trait keys that carry identifiers, per type (camelCase and snake_case as SDKs send them).
TRAIT_KEYS: dict[str, tuple[str, ...]] = {
    "email": ("email",),
    "phone": ("phone", "phone_number", "phoneNumber"),
    "loyalty_card": ("loyalty_card", "loyaltyCard", "loyalty_card_number", "loyaltyCardNumber"),
}

# Every trait key ``candidates`` reads (readers of sealed payloads open only these).
IDENTIFIER_TRAITS = frozenset(key for keys in TRAIT_KEYS.values() for key in keys)

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class Identifier(NamedTuple):
    """A normalised identifier. A named tuple, not a dataclass: resolution hashes and compares
    millions of them per batch, and a tuple does that in C."""

    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(frozen=True, slots=True)
class Refusal:
    """A value that did not become an identifier, and why (a stable machine code)."""

    type: str
    value: str
    reason: str  # identity.blocked | identity.invalid_email | identity.invalid_phone | ...


def text(value: str) -> str:
    """NFKC (full-width and half-width forms match) and trimmed."""
    return unicodedata.normalize("NFKC", value).strip()


MEMO_SIZE = 200_000  # answers kept per set of rules (then forgotten all at once)


def normalise(
    id_type: str, raw: object, rules: IdentityRules
) -> tuple[Identifier | None, Refusal | None]:
    """One value of a type, normalised, or the reason it cannot be an identifier."""
    if type(raw) is str or type(raw) is int:  # not bool, whose True would be the key of 1
        memo = rules.normalised
        key = (id_type, raw)
        found = memo.get(key)
        if found is None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            found = memo[key] = _normalise(id_type, raw, rules)
        return found  # type: ignore[return-value]
    return _normalise(id_type, raw, rules)


def _normalise(
    id_type: str, raw: object, rules: IdentityRules
) -> tuple[Identifier | None, Refusal | None]:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        shown = str(raw)[:MAX_VALUE_LENGTH]
        return None, Refusal(id_type, shown, "identity.not_a_string")
    value = text(str(raw))
    if len(value) > MAX_VALUE_LENGTH:
        return None, Refusal(id_type, value[:MAX_VALUE_LENGTH], "identity.too_long")
    if rules.is_blocked(id_type, value):
        return None, Refusal(id_type, value, "identity.blocked")
    normal = canonical(id_type, value, rules)
    if normal is None:
        return None, Refusal(id_type, value, "identity.invalid_phone")
    if id_type == "email" and not _EMAIL.match(normal):
        return None, Refusal(id_type, normal, "identity.invalid_email")
    return Identifier(id_type, normal), None


def canonical(id_type: str, value: str, rules: IdentityRules) -> str | None:
    """The normalised form of a ``text``-ed value, without the checks ``normalise`` adds
    (None: a phone number that does not parse). Ingestion's suppression check uses it alone:
    a value the checks would refuse never became an identifier, so it cannot be suppressed."""
    if id_type == "email":
        return value.casefold()
    if id_type == "phone":
        try:
            number = phonenumbers.parse(value, rules.default_phone_region)
        except phonenumbers.NumberParseException:
            return None
        if not phonenumbers.is_possible_number(number):
            return None
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if id_type in rules.case_insensitive_types:
        return value.casefold()
    return value


def _is_map(value: object) -> TypeGuard[Mapping[str, Any]]:
    # Events are parsed JSON: a plain dict, checked first (the ABC check costs ten times more
    # and this runs for every event ingestion screens for suppressed identifiers).
    return type(value) is dict or isinstance(value, Mapping)


def _traits(message: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = []
    for holder in (message, message.get("context")):
        if _is_map(holder) and _is_map(holder.get("traits")):
            found.append(holder["traits"])
    return found


def candidates(message: Mapping[str, Any], rules: IdentityRules) -> list[tuple[str, object]]:
    """Every ``(type, raw value)`` an event offers as an identifier, before normalisation."""
    candidates: list[tuple[str, object]] = []
    if message.get("userId") is not None:
        candidates.append(("user_id", message["userId"]))
    if message.get("anonymousId") is not None:
        candidates.append(("anonymous_id", message["anonymousId"]))
    if message.get("type") == "alias" and message.get("previousId") is not None:
        # Segment's alias joins a previous id (usually the anonymous one) to a userId.
        candidates.append(("anonymous_id", message["previousId"]))
    for traits in _traits(message):
        for id_type, keys in TRAIT_KEYS.items():
            for key in keys:
                if traits.get(key) is not None:
                    candidates.append((id_type, traits[key]))
    context = message.get("context")
    if _is_map(context):
        device = context.get("device")
        if _is_map(device) and device.get("id") is not None:
            candidates.append(("device_id", device["id"]))
        external_ids = context.get("externalIds")
        if isinstance(external_ids, list):
            for item in external_ids:
                if _is_map(item) and item.get("collection", "users") == "users":
                    external = rules.external_type(str(item.get("type", "")))
                    if external is not None:
                        candidates.append((external, item.get("id")))
    return candidates


def identifiers_of(
    message: Mapping[str, Any], rules: IdentityRules
) -> tuple[list[Identifier], list[Refusal]]:
    """Every identifier an event carries (deduplicated, in priority order) and every refusal."""
    found: set[Identifier] = set()
    refused: list[Refusal] = []
    for id_type, raw in candidates(message, rules):
        identifier, refusal = normalise(id_type, raw, rules)
        if refusal is not None:
            refused.append(refusal)
        elif identifier is not None:
            found.add(identifier)
    ordered = sorted(found, key=rules.sort_key)
    if len(ordered) > MAX_IDENTIFIERS_PER_EVENT:
        refused += [
            Refusal(i.type, i.value, "identity.too_many_identifiers")
            for i in ordered[MAX_IDENTIFIERS_PER_EVENT:]
        ]
        ordered = ordered[:MAX_IDENTIFIERS_PER_EVENT]
    return ordered, refused
