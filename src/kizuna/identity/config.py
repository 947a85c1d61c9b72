"""The identity rules: configuration as code, validated, versioned.

An operator keeps the rules in a JSON file under version control (``kizuna identity rules
show`` prints the defaults to start from) and points ``KIZUNA_IDENTITY__RULES_FILE`` at it.
Every set of rules has a ``version``; the profiles say which version resolved them, and a new
version is tried against history with a dry run before it is applied.

Defaults, and where they come from (see ``docs/identity.md``):

- priority: ``user_id`` > ``email`` > ``phone`` > ``loyalty_card`` > ``device_id`` >
  ``anonymous_id``, then declared custom types in the order listed. It is *pinned*: adding a
  type appends it, it never reshuffles the others (Segment's alphabetical order does).
- unique: ``user_id`` (a profile never holds two); any number of types may be unique.
- strong: ``user_id``, ``email``, ``phone``, ``loyalty_card``: client-side evidence may attach
  other identifiers to a profile but never bridge two profiles that each hold a strong one.
- limits: ``user_id`` 1 ever, ``email`` and ``phone`` 5 a year, ``loyalty_card`` 3 ever,
  ``device_id`` and ``anonymous_id`` 50 a month (shared family devices, cleared cookies).
- blocked values: the union of Segment's and PostHog's lists.
- caps: 100 merges and 1,000 identifiers per profile.
"""

from __future__ import annotations

import re
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BUILT_IN_TYPES = ("user_id", "email", "phone", "loyalty_card", "device_id", "anonymous_id")

BLOCKED_VALUES = (
    "-1",
    "0",
    "null",
    "none",
    "nil",
    "undefined",
    "anonymous",
    "guest",
    "distinct_id",
    "id",
    "not_authenticated",
    "email",
    "true",
    "false",
    "[object object]",
    "nan",
    "void",
    "abc123",
    "test",
)
BLOCKED_PATTERNS = (r"^[0-]*$", r"^\s*$")

Window = Literal["ever", "week", "month", "year"]
WINDOWS: dict[str, timedelta | None] = {
    "ever": None,
    "week": timedelta(days=7),
    "month": timedelta(days=30),
    "year": timedelta(days=365),
}
Survivorship = Literal["latest", "first", "source_priority", "union", "sum"]


class Limit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    values: int = Field(ge=1)
    window: Window = "ever"

    @property
    def span(self) -> timedelta | None:
        return WINDOWS[self.window]


class TraitRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    survivorship: Survivorship = "latest"
    sources: tuple[str, ...] = ()  # source ids, most trusted first (for ``source_priority``)


class IdentityRules(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = Field(default=1, ge=1)
    priority: tuple[str, ...] = BUILT_IN_TYPES
    unique: frozenset[str] = frozenset({"user_id"})
    strong: frozenset[str] = frozenset({"user_id", "email", "phone", "loyalty_card"})
    case_insensitive_types: frozenset[str] = frozenset()
    limits: dict[str, Limit] = Field(
        default_factory=lambda: {
            "user_id": Limit(values=1),
            "email": Limit(values=5, window="year"),
            "phone": Limit(values=5, window="year"),
            "loyalty_card": Limit(values=3),
            "device_id": Limit(values=50, window="month"),
            "anonymous_id": Limit(values=50, window="month"),
        }
    )
    blocked_values: frozenset[str] = frozenset(BLOCKED_VALUES)
    blocked_patterns: tuple[str, ...] = BLOCKED_PATTERNS
    default_phone_region: str = "JP"
    max_merges: int = Field(default=100, ge=1)
    max_identifiers: int = Field(default=1000, ge=1)
    # Server-trusted source kinds: their write keys are kept on servers, not shipped in apps.
    trusted_source_kinds: frozenset[str] = frozenset({"server", "import", "store", "call_center"})
    traits: dict[str, TraitRule] = Field(default_factory=dict)
    # Probabilistic matching against the profile store.
    match_link_threshold: float = Field(default=0.95, gt=0, le=1)
    match_review_threshold: float = Field(default=0.6, gt=0, le=1)

    @field_validator("priority")
    @classmethod
    def _known_types_first(cls, priority: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(priority)) != len(priority):
            raise ValueError("priority lists a type twice")
        missing = [t for t in BUILT_IN_TYPES if t not in priority]
        if missing:
            raise ValueError(f"priority must list the built-in types: missing {missing}")
        for name in priority:
            if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", name):
                raise ValueError(f"identifier type {name!r}: lowercase letters, digits and _")
        return priority

    @model_validator(mode="after")
    def _consistent(self) -> IdentityRules:
        for group, types in (
            ("unique", self.unique),
            ("strong", self.strong),
            ("limits", set(self.limits)),
        ):
            unknown = sorted(set(types) - set(self.priority))
            if unknown:
                raise ValueError(f"{group} names types not in priority: {unknown}")
        for pattern in self.blocked_patterns:
            try:
                re.compile(pattern)
            except re.error as error:
                raise ValueError(
                    f"blocked pattern {pattern!r} is not a valid regex: {error}"
                ) from None
        if self.match_review_threshold > self.match_link_threshold:
            raise ValueError("match_review_threshold must not exceed match_link_threshold")
        return self

    # --- derived, for the resolver ---------------------------------------------------------

    @cached_property
    def _rank(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.priority)}

    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], ...]:
        return tuple(re.compile(p) for p in self.blocked_patterns)

    @cached_property
    def normalised(self) -> dict[tuple[str, str | int], tuple[object, object]]:
        """``identifiers.normalise``'s answers under these rules, by (type, raw value): the
        same anonymous ids, emails and phones come back event after event."""
        return {}

    def rank(self, id_type: str) -> int:
        """Lower is stronger. Types not declared rank after every declared one."""
        return self._rank.get(id_type, len(self.priority))

    def sort_key(self, identifier: object) -> tuple[int, str, str]:
        id_type: str = identifier.type  # type: ignore[attr-defined]
        value: str = identifier.value  # type: ignore[attr-defined]
        return (self.rank(id_type), id_type, value)

    def is_blocked(self, id_type: str, value: str) -> bool:
        if value.casefold() in self.blocked_values:
            return True
        return any(p.search(value) for p in self._patterns)

    def external_type(self, name: str) -> str | None:
        """The identifier type of a ``context.externalIds`` entry (``None`` if unusable)."""
        normalised = re.sub(r"[^a-z0-9]+", "_", name.strip().casefold()).strip("_")
        aliases = {"userid": "user_id", "user": "user_id", "phone_number": "phone"}
        normalised = aliases.get(normalised, normalised)
        if not normalised or not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", normalised):
            return None
        return normalised

    def limit(self, id_type: str) -> Limit | None:
        return self.limits.get(id_type)

    def trait_rule(self, key: str) -> TraitRule:
        return self.traits.get(key, TraitRule())


def load_rules(path: str | None) -> IdentityRules:
    """The rules in ``path`` (JSON), or the defaults when no file is configured."""
    if not path:
        return IdentityRules()
    return IdentityRules.model_validate_json(Path(path).read_text(encoding="utf-8"))
