"""What a segment or a computed trait is: typed JSON documents, validated, never code.

A segment's ``condition`` is a tree of nodes, each an object with a ``kind``:

- ``and`` / ``or`` (``conditions``: a list) and ``not`` (``condition``): combinators;
- ``trait``: a profile trait (``path``, ``op``, ``value``);
- ``computed_trait``: a computed trait by its key;
- ``identifier``: whether the person holds an identifier of a type (``exists``/``not_exists``);
- ``consent``: whether ``may_contact`` allows a purpose on a channel;
- ``segment``: membership of another segment;
- ``performed``: an event done ``count`` times (at least once by default) in a window, filtered
  by event name, channel and property conditions;
- ``sequence``: an event *then* another (or ``then_not``: not followed by it) within a time.

Nothing here is evaluated as code: the compiler (``compiler.py``) turns a validated tree into
parameterised SQL over allowlisted columns, and ``evaluate.py`` into Python on one profile. Limits
keep hostile documents small: depth, node count, list and string sizes, the shape of paths.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

MAX_DEPTH = 8
MAX_NODES = 100
MAX_LIST = 500
MAX_TEXT = 200
MAX_WINDOW_DAYS = 3_650

# A trait or property path: dotted names (``address.city``), nothing an interpreter could read
# as anything else.
Path = Annotated[
    str,
    StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,3}$"),
]
Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
# Text never holds NUL (PostgreSQL text cannot store it, so such a definition could never run);
# numbers are finite and exact in a double (what JSON and both databases hold alike).
_NO_NUL = r"^[^\x00]*$"
MAX_NUMBER = 2**53
EventName = Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEXT, pattern=_NO_NUL)]
Text = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=_NO_NUL)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=120, pattern=_NO_NUL)]
Description = Annotated[str, StringConstraints(max_length=1_000, pattern=_NO_NUL)]
Integer = Annotated[int, Field(ge=-MAX_NUMBER, le=MAX_NUMBER)]
Decimal = Annotated[float, Field(ge=-MAX_NUMBER, le=MAX_NUMBER, allow_inf_nan=False)]
Scalar = Text | Integer | Decimal | bool
Value = Scalar | Annotated[list[Scalar], Field(max_length=MAX_LIST)] | None

Op = Literal[
    "eq", "neq", "gt", "gte", "lt", "lte", "in", "not_in", "contains", "starts_with",
    "exists", "not_exists", "within_last_days", "before_days_ago",
]  # fmt: skip
_NEEDS_LIST = {"in", "not_in"}
_NEEDS_NOTHING = {"exists", "not_exists"}
_NEEDS_NUMBER = {"within_last_days", "before_days_ago"}
_NEEDS_TEXT = {"contains", "starts_with"}


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Comparison(_Node):
    """``op`` with the value it needs: a list for ``in``, nothing for ``exists``, days for
    ``within_last_days`` (the value is a time), text for ``contains``."""

    op: Op
    value: Value = None

    @model_validator(mode="after")
    def _value_fits_op(self) -> Comparison:
        v = self.value
        if self.op in _NEEDS_LIST and not isinstance(v, list):
            raise ValueError(f"{self.op} needs a list of values")
        if self.op in _NEEDS_NOTHING and v is not None:
            raise ValueError(f"{self.op} takes no value")
        if self.op in _NEEDS_NUMBER and not (
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_WINDOW_DAYS
        ):
            raise ValueError(f"{self.op} needs a whole number of days (0-{MAX_WINDOW_DAYS})")
        if self.op in _NEEDS_TEXT and not isinstance(v, str):
            raise ValueError(f"{self.op} needs a text value")
        if self.op not in _NEEDS_LIST | _NEEDS_NOTHING and (v is None or isinstance(v, list)):
            raise ValueError(f"{self.op} needs one value")
        return self


class PropertyCondition(Comparison):
    """A condition on an event's ``properties``, decided once as the event arrives (so never
    relative to now: ``within_last_days`` belongs on a window)."""

    path: Path  # within the event's ``properties``

    @model_validator(mode="after")
    def _not_relative_to_now(self) -> PropertyCondition:
        if self.op in _NEEDS_NUMBER:
            raise ValueError(f"{self.op} is not available on event properties; use a window")
        return self


class Window(_Node):
    """A sliding window: the last ``days`` (and/or ``hours``) before now."""

    days: int = Field(default=0, ge=0, le=MAX_WINDOW_DAYS)
    hours: int = Field(default=0, ge=0, le=23)
    minutes: int = Field(default=0, ge=0, le=59)

    @model_validator(mode="after")
    def _not_empty(self) -> Window:
        if not (self.days or self.hours or self.minutes):
            raise ValueError("a window needs days, hours or minutes")
        return self

    @property
    def seconds(self) -> int:
        return self.days * 86_400 + self.hours * 3_600 + self.minutes * 60


class EventFilter(_Node):
    event: EventName
    channel: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,20}$")] | None = None
    where: list[PropertyCondition] = Field(default_factory=list, max_length=20)


class Count(_Node):
    op: Literal["eq", "gte", "lte", "gt", "lt"] = "gte"
    value: int = Field(default=1, ge=0, le=1_000_000)


class TraitNode(Comparison):
    kind: Literal["trait"]
    path: Path


class ComputedTraitNode(Comparison):
    kind: Literal["computed_trait"]
    key: Key


class IdentifierNode(_Node):
    kind: Literal["identifier"]
    type: Key
    op: Literal["exists", "not_exists"] = "exists"


class ConsentNode(_Node):
    kind: Literal["consent"]
    purpose: Key
    channel: Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,16}$")]
    allowed: bool = True


class SegmentNode(_Node):
    kind: Literal["segment"]
    segment: Annotated[str, StringConstraints(pattern=r"^seg_[A-Za-z0-9]{1,40}$")]
    member: bool = True


class PerformedNode(_Node):
    kind: Literal["performed"]
    filter: EventFilter
    count: Count = Count()
    within: Window | None = None  # None: over all time


class SequenceNode(_Node):
    kind: Literal["sequence"]
    first: EventFilter
    then: EventFilter | None = None
    then_not: EventFilter | None = None
    within: Window  # between the first event and the next
    first_within: Window | None = None  # how recent the first event must be

    @model_validator(mode="after")
    def _one_follow_up(self) -> SequenceNode:
        if (self.then is None) == (self.then_not is None):
            raise ValueError("a sequence needs exactly one of then / then_not")
        return self


class AndNode(_Node):
    kind: Literal["and"]
    conditions: list[Condition] = Field(min_length=1, max_length=50)


class OrNode(_Node):
    kind: Literal["or"]
    conditions: list[Condition] = Field(min_length=1, max_length=50)


class NotNode(_Node):
    kind: Literal["not"]
    condition: Condition


Condition = Annotated[
    AndNode | OrNode | NotNode | TraitNode | ComputedTraitNode | IdentifierNode | ConsentNode
    | SegmentNode | PerformedNode | SequenceNode,
    Field(discriminator="kind"),
]  # fmt: skip
for _model in (AndNode, OrNode, NotNode):
    _model.model_rebuild()


def children(node: Condition) -> list[Condition]:
    if isinstance(node, AndNode | OrNode):
        return list(node.conditions)
    if isinstance(node, NotNode):
        return [node.condition]
    return []


def measure(node: Condition, depth: int = 1) -> tuple[int, int]:
    """(nodes, depth) of a tree."""
    count, deepest = 1, depth
    for child in children(node):
        n, d = measure(child, depth + 1)
        count, deepest = count + n, max(deepest, d)
    return count, deepest


class SegmentDefinition(_Node):
    """A segment: a name, a description, a condition tree within the size limits."""

    name: Name
    description: Description = ""
    condition: Condition

    @model_validator(mode="after")
    def _small_enough(self) -> SegmentDefinition:
        nodes, depth = measure(self.condition)
        if depth > MAX_DEPTH:
            raise ValueError(f"conditions nest {depth} deep; at most {MAX_DEPTH}")
        if nodes > MAX_NODES:
            raise ValueError(f"{nodes} conditions; at most {MAX_NODES}")
        return self

    def segments_used(self) -> set[str]:
        found: set[str] = set()
        stack: list[Condition] = [self.condition]
        while stack:
            node = stack.pop()
            if isinstance(node, SegmentNode):
                found.add(node.segment)
            stack.extend(children(node))
        return found


Aggregation = Literal[
    "count", "sum", "average", "min", "max", "first", "last", "most_frequent", "distinct",
    "distinct_count", "days_since_last",
]  # fmt: skip
# Besides event properties, an aggregation may read what every event has: its channel (the
# touchpoint kind of its source) and its source.
EventField = Literal["$channel", "$source"]


class ComputedTraitDefinition(_Node):
    """One value per profile kept up to date: ``aggregation`` of an event property over the
    events that pass ``filter``, over all time or the last ``window``."""

    key: Key
    name: Name
    aggregation: Aggregation
    filter: EventFilter
    property: Path | EventField | None = None  # what is aggregated; ``count`` needs none
    window: Window | None = None

    @model_validator(mode="after")
    def _property_when_needed(self) -> ComputedTraitDefinition:
        needs = self.aggregation not in ("count", "days_since_last")
        if needs and self.property is None:
            raise ValueError(f"{self.aggregation} needs the property it aggregates")
        if not needs and self.property is not None:
            raise ValueError(f"{self.aggregation} aggregates events, not a property")
        return self
