"""Which trait fields are personal: built-in defaults, configuration and tracking-plan marks.

Pure: no I/O. A trait key is personal when it is one of Segment's reserved personal traits (or
a spelling SDKs and Japanese forms use for them), when the operator lists it in
``KIZUNA_PRIVACY__PERSONAL_TRAITS``, or when a source's tracking plan marks the property in its
``traits`` JSON Schema with ``"x-kizuna-personal": "<category>"`` (or ``true``).

Keys are top-level trait keys (``traits.<key>`` and ``context.traits.<key>``); a personal key
holding an object (``address``) is personal as a whole. What Kizuna does with the list:
sealing at rest (``kizuna.privacy.sealing``) and redaction for readers without
``profiles:read`` (``kizuna.privacy.redaction``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

PersonalCategory = Literal["contact", "name", "demographic", "location", "identifier", "other"]
CATEGORIES: tuple[PersonalCategory, ...] = (
    "contact",
    "name",
    "demographic",
    "location",
    "identifier",
    "other",
)
PERSONAL_MARK = "x-kizuna-personal"

_BY_CATEGORY: dict[PersonalCategory, tuple[str, ...]] = {
    # Contact points; email and phone are also identity identifiers (kizuna.identity).
    "contact": ("email", "phone", "phone_number", "phoneNumber"),
    # Names in every spelling the matcher reads (kizuna.profiles.attributes), kana included.
    "name": (
        "name",
        "firstName",
        "first_name",
        "givenName",
        "given_name",
        "lastName",
        "last_name",
        "surname",
        "familyName",
        "family_name",
        "nameKana",
        "name_kana",
        "firstNameKana",
        "first_name_kana",
        "lastNameKana",
        "last_name_kana",
        "username",
    ),
    # Age is personal too: with a postcode and a gender it narrows a person down.
    "demographic": ("birthday", "date_of_birth", "dateOfBirth", "dob", "age", "gender"),
    # Segment's ``address`` is an object (street, city, postalCode...): sealed as a whole.
    "location": ("address",),
}

BUILT_IN: dict[str, PersonalCategory] = {
    key: category for category, keys in _BY_CATEGORY.items() for key in keys
}


@dataclass(frozen=True, slots=True)
class Origin:
    """Why a key is personal: ``built-in``, ``configuration``, or a source's ``plan``."""

    kind: Literal["built-in", "configuration", "plan"]
    source_id: str | None = None
    source_name: str | None = None

    def __str__(self) -> str:
        return f"plan of {self.source_name}" if self.kind == "plan" else self.kind


@dataclass(frozen=True, slots=True)
class PlanMarks:
    """The keys one source's tracking plan marks personal, with their categories."""

    source_id: str
    source_name: str
    marks: Mapping[str, PersonalCategory]


@dataclass(frozen=True, slots=True)
class PersonalField:
    key: str
    category: PersonalCategory
    origins: tuple[Origin, ...]


@dataclass(frozen=True, slots=True)
class Classification:
    """The personal trait keys in force, each with its category and origins."""

    fields: Mapping[str, PersonalField]

    def __contains__(self, key: object) -> bool:
        return key in self.fields

    def listing(self) -> list[PersonalField]:
        """Every personal field, by category then key (what the API and the console show)."""
        order = {c: i for i, c in enumerate(CATEGORIES)}
        return sorted(self.fields.values(), key=lambda f: (order[f.category], f.key))


def mark_category(value: object) -> PersonalCategory | None:
    """The category an ``x-kizuna-personal`` value names (``true``: "other"; ``false``: none).

    Raises ``ValueError`` for anything else, so a typo in a plan is refused, not ignored.
    """
    if value is True:
        return "other"
    if value is False:
        return None
    if isinstance(value, str) and value in CATEGORIES:
        return value
    raise ValueError(
        f"{PERSONAL_MARK} is true, false or one of {', '.join(CATEGORIES)}; got {value!r}"
    )


def plan_marks(traits_schema: Any) -> dict[str, PersonalCategory]:
    """The top-level properties a plan's ``traits`` JSON Schema marks personal.

    Raises ``ValueError`` for a mark that names no category (``compile_plan`` reports it).
    """
    if not isinstance(traits_schema, Mapping):
        return {}
    properties = traits_schema.get("properties")
    if not isinstance(properties, Mapping):
        return {}
    marks: dict[str, PersonalCategory] = {}
    for key, schema in properties.items():
        if isinstance(schema, Mapping) and PERSONAL_MARK in schema:
            category = mark_category(schema[PERSONAL_MARK])
            if category is not None:
                marks[str(key)] = category
    return marks


def classify(
    configured: Mapping[str, PersonalCategory] | None = None,
    plans: Iterable[PlanMarks] = (),
) -> Classification:
    """Built-in defaults, then configuration, then plans.

    A key named by several keeps every origin; its category is the configuration's when the
    operator set one (their explicit choice), else the built-in one, else the first plan's (by
    source name).
    """
    categories: dict[str, PersonalCategory] = dict(BUILT_IN)
    origins: dict[str, list[Origin]] = {key: [Origin("built-in")] for key in BUILT_IN}
    for key, category in (configured or {}).items():
        categories[key] = category
        origins.setdefault(key, []).append(Origin("configuration"))
    for plan in sorted(plans, key=lambda p: (p.source_name, p.source_id)):
        for key, category in plan.marks.items():
            categories.setdefault(key, category)
            origins.setdefault(key, []).append(Origin("plan", plan.source_id, plan.source_name))
    return Classification(
        {key: PersonalField(key, categories[key], tuple(origins[key])) for key in categories}
    )


DEFAULT = classify()
