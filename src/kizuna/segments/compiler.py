"""A condition over every profile at once: each leaf is one parameterised query, combined as sets.

Leaves compile to SQLAlchemy Core ``SELECT profile_id`` statements over allowlisted columns
(values are always bound parameters, paths are compared as values, never spliced into SQL);
``and`` / ``or`` / ``not`` are intersections, unions and complements against the live profiles.
A consent leaf asks ``may_contact_many`` for the live profiles, so the ledger's semantics are
the privacy domain's own. The meaning of each comparison is ``values.py``'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from kizuna.models import (
    ComputedTraitValue,
    IdentityNode,
    Profile,
    SegmentMember,
    SegmentOccurrence,
    SegmentTraitValue,
)
from kizuna.segments.definitions import (
    AndNode,
    Comparison,
    ComputedTraitNode,
    Condition,
    ConsentNode,
    Count,
    IdentifierNode,
    NotNode,
    OrNode,
    PerformedNode,
    SegmentNode,
    SequenceNode,
    TraitNode,
)
from kizuna.segments.evaluate import counts
from kizuna.segments.features import Feature
from kizuna.segments.values import iso_days_ago, json_text

ConsentAsk = Callable[[Session, list[str], str, str], set[str]]  # -> the allowed profile ids


@dataclass
class Universe:
    """The profiles a condition is evaluated over, and how to ask what SQL cannot say."""

    session: Session
    now_ms: int
    consent: ConsentAsk
    _live: set[str] | None = field(default=None, repr=False)

    @property
    def live(self) -> set[str]:
        if self._live is None:
            query = select(Profile.id).where(Profile.merged_into.is_(None))
            self._live = set(self.session.scalars(query))
        return self._live

    def ids(self, query: Select[Any]) -> set[str]:
        return set(self.session.scalars(query)) & self.live

    @property
    def postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"


def _text(column: Any, u: Universe) -> Any:
    return column.collate("C") if u.postgres else column


def _contains(column: Any, needle: str, u: Universe) -> ColumnElement[bool]:
    position = func.strpos(column, needle) if u.postgres else func.instr(column, needle)
    return and_(column.is_not(None), position > 0)


def _equals(table: Any, v: Any, u: Universe) -> ColumnElement[bool]:
    """Never NULL (a missing number or text is simply unequal), so ``~`` is ``neq``."""
    if isinstance(v, bool):
        return table.value == ("true" if v else "false")  # type: ignore[no-any-return]
    if isinstance(v, int | float):
        return and_(table.number.is_not(None), table.number == float(v))
    return and_(table.text.is_not(None), _text(table.text, u) == v)


def _ordered(table: Any, op: str, v: Any, u: Universe) -> ColumnElement[bool]:
    if isinstance(v, bool) or not isinstance(v, int | float | str):
        return false()
    column = table.number if not isinstance(v, str) else _text(table.text, u)
    bound = float(v) if not isinstance(v, str) else v
    if op == "gt":
        return and_(column.is_not(None), column > bound)
    if op == "gte":
        return and_(column.is_not(None), column >= bound)
    if op == "lt":
        return and_(column.is_not(None), column < bound)
    return and_(column.is_not(None), column <= bound)


def _matches(table: Any, c: Comparison, u: Universe) -> ColumnElement[bool]:
    """The comparison on a row that exists (``exists`` and ``not_exists`` are set questions)."""
    op, v = c.op, c.value
    if op == "eq":
        return _equals(table, v, u)
    if op == "neq":
        return ~_equals(table, v, u)
    if op in ("gt", "gte", "lt", "lte"):
        return _ordered(table, op, v, u)
    if op in ("in", "not_in"):
        hits = or_(*(_equals(table, item, u) for item in v)) if v else false()  # type: ignore[union-attr]
        return hits if op == "in" else ~hits
    if op == "contains":
        is_list = func.substr(table.value, 1, 1) == "["
        in_list = and_(is_list, _contains(table.value, json_text(v), u))
        return or_(_contains(table.text, str(v), u), in_list)
    if op == "starts_with":
        text = str(v)
        prefix = func.substr(table.text, 1, literal(len(text)))
        return and_(table.text.is_not(None), _text(prefix, u) == text)
    bound = iso_days_ago(u.now_ms, int(v))  # type: ignore[arg-type]
    column = _text(table.text, u)
    hit = column >= bound if op == "within_last_days" else column < bound
    return and_(table.text.is_not(None), hit)


def _cells(table: Any, key_column: Any, key: str, c: Comparison, u: Universe) -> set[str]:
    having = select(table.profile_id).where(key_column == key)
    if c.op in ("exists", "not_exists"):
        found = u.ids(having)
        return found if c.op == "exists" else u.live - found
    return u.ids(having.where(_matches(table, c, u)))


def _count_holds(count: Count, n: Any) -> ColumnElement[bool]:
    ops = {"eq": n == count.value, "gte": n >= count.value, "lte": n <= count.value}
    ops |= {"gt": n > count.value, "lt": n < count.value}
    return ops[count.op]  # type: ignore[no-any-return]


def _performed(node: PerformedNode, u: Universe) -> set[str]:
    o = SegmentOccurrence
    where = [o.feature == Feature.of(node.filter).key]
    if node.within is not None:
        where.append(o.at_ms >= u.now_ms - node.within.seconds * 1000)
    grouped = select(o.profile_id).where(*where).group_by(o.profile_id)
    n = func.count()
    if counts(node.count, 0):  # people without any occurrence match too
        return u.live - u.ids(grouped.having(~_count_holds(node.count, n)))
    return u.ids(grouped.having(_count_holds(node.count, n)))


def _sequence(node: SequenceNode, u: Universe) -> set[str]:
    follow = node.then or node.then_not
    assert follow is not None
    f, t = aliased(SegmentOccurrence), aliased(SegmentOccurrence)
    gap = node.within.seconds * 1000
    later = or_(t.at_ms > f.at_ms, and_(t.at_ms == f.at_ms, t.seq > f.seq))
    followed = (
        select(literal(1))
        .where(t.feature == Feature.of(follow).key, t.profile_id == f.profile_id)
        .where(later, t.at_ms <= f.at_ms + gap)
        .exists()
    )
    where: list[ColumnElement[bool]] = [f.feature == Feature.of(node.first).key]
    if node.first_within is not None:
        where.append(f.at_ms >= u.now_ms - node.first_within.seconds * 1000)
    if node.then is not None:
        where.append(followed)
    else:
        where += [f.at_ms + gap <= u.now_ms, ~followed]
    return u.ids(select(f.profile_id).where(*where).distinct())


def members(node: Condition, u: Universe) -> set[str]:
    """The live profiles that match ``node`` now."""
    if isinstance(node, AndNode):
        result = members(node.conditions[0], u)
        for child in node.conditions[1:]:
            if not result:
                break
            result &= members(child, u)
        return result
    if isinstance(node, OrNode):
        found: set[str] = set()
        for child in node.conditions:
            found |= members(child, u)
        return found
    if isinstance(node, NotNode):
        return u.live - members(node.condition, u)
    if isinstance(node, TraitNode):
        return _cells(SegmentTraitValue, SegmentTraitValue.path, node.path, node, u)
    if isinstance(node, ComputedTraitNode):
        return _cells(ComputedTraitValue, ComputedTraitValue.key, node.key, node, u)
    if isinstance(node, IdentifierNode):
        query = select(IdentityNode.profile_id).where(IdentityNode.type == node.type)
        held = u.ids(query.where(IdentityNode.profile_id.is_not(None)).distinct())
        return held if node.op == "exists" else u.live - held
    if isinstance(node, ConsentNode):
        allowed = u.consent(u.session, sorted(u.live), node.purpose, node.channel)
        return allowed & u.live if node.allowed else u.live - allowed
    if isinstance(node, SegmentNode):
        query = select(SegmentMember.profile_id).where(SegmentMember.segment_id == node.segment)
        inside = u.ids(query)
        return inside if node.member else u.live - inside
    if isinstance(node, PerformedNode):
        return _performed(node, u)
    return _sequence(node, u)
