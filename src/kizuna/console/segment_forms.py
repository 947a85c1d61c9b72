"""Reading a segment or computed-trait form, and saying what is wrong in the viewer's language.

Pydantic's errors name a location (``condition → and → conditions → 0 → performed → filter →
event``) and a type (``string_too_short``); the console shows "#1 › filter › event: Enter at
least 1 character." in English or Japanese, and hands the location to the builder's script so it
can outline the row at fault. Errors of the service (an unknown computed trait, a cycle) are
translated by their code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from kizuna.console.web import Viewer
from kizuna.errors import KizunaError
from kizuna.segments.definitions import ComputedTraitDefinition, SegmentDefinition

KINDS = frozenset(
    {"and", "or", "not", "trait", "computed_trait", "identifier", "consent", "segment",
     "performed", "sequence"}
)  # fmt: skip
# Pydantic's labels for the members of a union (``value`` is text, a number, a list...).
_UNION_MEMBER = re.compile(r"^((constrained-)?(str|int|float)|bool|none|list\[.*\]|function-.*)$")
# Errors of one union member when another member's error says more.
_WEAK = {"int_parsing", "float_parsing", "bool_parsing", "list_type", "string_type", "int_type",
         "float_type", "bool_type", "none_required"}  # fmt: skip
# Types with a sentence of their own in the catalogs (``segments.invalid.<type>``).
TYPES = (
    "missing", "string_too_short", "string_too_long", "string_pattern_mismatch", "too_short",
    "too_long", "greater_than_equal", "less_than_equal", "int_parsing", "int_from_float",
    "float_parsing", "bool_parsing", "literal_error", "union_tag_invalid", "union_tag_not_found",
    "extra_forbidden", "json_invalid", "model_type", "list_type", "string_type", "int_type",
    "dict_type",
)  # fmt: skip
# The definitions' own validators, by the sentence they raise.
VALUE_ERRORS = (
    (re.compile(r"^(?P<op>\w+) needs a list of values$"), "needs_list"),
    (re.compile(r"^(?P<op>\w+) takes no value$"), "takes_no_value"),
    (re.compile(r"^(?P<op>\w+) needs a whole number of days"), "needs_days"),
    (re.compile(r"^(?P<op>\w+) needs a text value$"), "needs_text"),
    (re.compile(r"^(?P<op>\w+) needs one value$"), "needs_one_value"),
    (re.compile(r"^a window needs days, hours or minutes$"), "window_empty"),
    (re.compile(r"^a sequence needs exactly one of then / then_not$"), "sequence_follow_up"),
    (re.compile(r"^conditions nest (?P<depth>\d+) deep; at most (?P<most>\d+)$"), "too_deep"),
    (re.compile(r"^(?P<count>\d+) conditions; at most (?P<most>\d+)$"), "too_many"),
    (re.compile(r"^(?P<aggregation>\w+) needs the property it aggregates$"), "needs_property"),
    (re.compile(r"^(?P<aggregation>\w+) aggregates events, not a property$"), "no_property"),
)


@dataclass(frozen=True)
class Problem:
    """One reason a document was refused: where (for the builder) and why (for people)."""

    loc: list[str | int]
    where: str
    message: str

    @property
    def text(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message

    def as_json(self) -> dict[str, Any]:
        return {"loc": self.loc, "where": self.where, "message": self.message, "text": self.text}


class Invalid(Exception):
    """A form whose document does not validate; ``problems`` say why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(p.text for p in problems))
        self.problems = problems


def parse_segment(viewer: Viewer, name: str, description: str, condition: str) -> SegmentDefinition:
    """The segment a form describes (``condition`` is the JSON the builder writes)."""
    if not condition.strip():
        raise Invalid([Problem(["condition"], "", viewer.t("segments.invalid.no_condition"))])
    try:
        tree = orjson.loads(condition)
    except orjson.JSONDecodeError as exc:
        message = viewer.t("segments.invalid.json_invalid", error=str(exc))
        raise Invalid([Problem(["condition"], "", message)]) from exc
    document = {"name": name.strip(), "description": description.strip(), "condition": tree}
    try:
        return SegmentDefinition.model_validate(document)
    except ValidationError as exc:
        raise Invalid(explain(viewer, exc)) from exc


def parse_computed_trait(viewer: Viewer, document: dict[str, Any]) -> ComputedTraitDefinition:
    try:
        return ComputedTraitDefinition.model_validate(document)
    except ValidationError as exc:
        raise Invalid(explain(viewer, exc)) from exc


def explain(viewer: Viewer, exc: ValidationError) -> list[Problem]:
    """Each location's most telling error, as a sentence in the viewer's language."""
    chosen: dict[tuple[str | int, ...], dict[str, Any]] = {}
    for error in exc.errors():
        loc = tuple(_clean(error["loc"]))
        if loc not in chosen or (chosen[loc]["type"] in _WEAK and error["type"] not in _WEAK):
            chosen[loc] = dict(error)
    return [
        Problem(list(loc), _where(viewer, loc), _message(viewer, e)) for loc, e in chosen.items()
    ]


def service_problem(viewer: Viewer, exc: KizunaError) -> Problem:
    """A refusal of the service (references, cycles, consent choices) in the viewer's words."""
    details = exc.details if isinstance(exc.details, dict) else {}
    if exc.code == "segment.invalid_reference" and "key" in details:
        message = viewer.t("segments.invalid.unknown_trait", trait=details["key"])
    elif exc.code == "segment.invalid_reference" and "segment" in details:
        message = viewer.t("segments.invalid.unknown_segment", segment=details["segment"])
    else:
        fallback = viewer.error_text(exc.code, exc.message)
        message = viewer.t_or(f"segments.error.{exc.code}", fallback)
    return Problem([], "", message)


def _clean(loc: tuple[str | int, ...]) -> list[str | int]:
    """The location without discriminator tags and union member labels."""
    cleaned: list[str | int] = []
    for i, part in enumerate(loc):
        before = loc[i - 1] if i else None
        is_tag = part in KINDS and (before == "condition" or isinstance(before, int))
        if is_tag or (isinstance(part, str) and _UNION_MEMBER.match(part)):
            continue
        cleaned.append(part)
    return cleaned


def _where(viewer: Viewer, loc: tuple[str | int, ...]) -> str:
    """``#2 › filter › event``: rows counted from 1, the wrappers of the tree left out."""
    parts = [p for p in loc if p not in ("condition", "conditions")] or list(loc)
    return " › ".join(
        f"#{p + 1}" if isinstance(p, int) else viewer.t_or(f"segments.loc.{p}", p) for p in parts
    )


def _message(viewer: Viewer, error: dict[str, Any]) -> str:
    kind = error["type"]
    ctx = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    if kind == "value_error":
        said = str((error.get("ctx") or {}).get("error", error["msg"]))
        for pattern, key in VALUE_ERRORS:
            found = pattern.match(said)
            if found:
                return viewer.t(f"segments.invalid.{key}", **found.groupdict())
        return said
    if kind in TYPES:
        try:
            return viewer.t(f"segments.invalid.{kind}", **ctx)
        except (KeyError, IndexError):  # a context without what the sentence names
            pass
    return str(error["msg"])
