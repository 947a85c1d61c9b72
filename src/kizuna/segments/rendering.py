"""A definition as a sentence a marketer can read, in English or Japanese (no I/O).

``render(condition, "en")`` reads "performed “Order Completed” at least 2 times in the last 30
days where category = shoes"; ``render(condition, "ja")`` reads "過去30日間に「Order Completed」を
2回以上（category = shoes）". Every kind of node and every operator has a phrase; nested groups
are bracketed so "a and (b or c)" cannot be misread. Segment ids may be shown by name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kizuna.segments.definitions import (
    AndNode,
    Comparison,
    ComputedTraitDefinition,
    ComputedTraitNode,
    Condition,
    ConsentNode,
    Count,
    EventFilter,
    IdentifierNode,
    NotNode,
    OrNode,
    PerformedNode,
    SegmentNode,
    SequenceNode,
    TraitNode,
    Window,
)

LANGUAGES = ("en", "ja")

_SYMBOLS = {"eq": "=", "neq": "≠", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def render(
    condition: Condition, lang: str = "en", *, segment_names: Mapping[str, str] | None = None
) -> str:
    """The condition tree as one readable sentence (``lang``: ``en`` or ``ja``)."""
    writer = _Japanese(segment_names or {}) if lang == "ja" else _English(segment_names or {})
    return writer.node(condition, top=True)


def render_computed_trait(definition: ComputedTraitDefinition, lang: str = "en") -> str:
    """What a computed trait keeps, e.g. "sum of total over “Order Completed”, last 90 days"."""
    writer = _Japanese({}) if lang == "ja" else _English({})
    return writer.computed_trait(definition)


def _at_least_once(count: Count) -> bool:
    return count.op == "gte" and count.value == 1


def _never(count: Count) -> bool:
    """Counts that only zero satisfies read as "did not"."""
    return (count.op in ("eq", "lte") and count.value == 0) or (
        count.op == "lt" and count.value == 1
    )


def _spaced(before: str, after: str) -> str:
    """Japanese text runs on, but a Latin word (a channel key) after it gets a space."""
    if before and after and after[0].isascii() and after[0].isalnum():
        return f"{before} {after}"
    return before + after


def _value(value: Any, separator: str) -> str:
    if isinstance(value, list):
        return separator.join(_value(v, separator) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    return str(value)


class _English:
    def __init__(self, segment_names: Mapping[str, str]) -> None:
        self.segment_names = segment_names

    # --- structure -------------------------------------------------------------------------

    def node(self, node: Condition, top: bool = False) -> str:
        if isinstance(node, AndNode | OrNode):
            text = self.group(node)
            return text if top or len(node.conditions) == 1 else f"({text})"
        if isinstance(node, NotNode):
            return self.negation(node)
        return self.leaf(node)

    def group(self, node: AndNode | OrNode) -> str:
        joiner = " and " if isinstance(node, AndNode) else " or "
        return joiner.join(self.node(c) for c in node.conditions)

    def negation(self, node: NotNode) -> str:
        inner = node.condition
        if isinstance(inner, AndNode | OrNode):
            return f"not ({self.group(inner)})"
        if isinstance(inner, PerformedNode) and _at_least_once(inner.count):
            return self.performed(inner, negated=True)
        return f"not ({self.node(inner)})"

    def leaf(self, node: Condition) -> str:
        if isinstance(node, TraitNode):
            return f"trait {node.path} {self.comparison(node)}"
        if isinstance(node, ComputedTraitNode):
            return f"computed trait {node.key} {self.comparison(node)}"
        if isinstance(node, IdentifierNode):
            article = "an" if node.type[0] in "aeio" else "a"
            return f"has {article if node.op == 'exists' else 'no'} {node.type} identifier"
        if isinstance(node, ConsentNode):
            verb = "may" if node.allowed else "may not"
            return f"{verb} be contacted for {node.purpose} on {node.channel}"
        if isinstance(node, SegmentNode):
            verb = "is" if node.member else "is not"
            return f"{verb} in segment {self.segment(node.segment)}"
        if isinstance(node, PerformedNode):
            return self.performed(node)
        if isinstance(node, SequenceNode):
            return self.sequence(node)
        raise TypeError(f"no rendering for {type(node).__name__}")  # pragma: no cover

    def segment(self, segment_id: str) -> str:
        name = self.segment_names.get(segment_id)
        return f"“{name}”" if name else segment_id

    # --- pieces ----------------------------------------------------------------------------

    def comparison(self, c: Comparison) -> str:
        v, op = c.value, c.op
        if op in _SYMBOLS:
            return f"{_SYMBOLS[op]} {_value(v, ', ')}"
        if op in ("in", "not_in"):
            return f"is {'one' if op == 'in' else 'none'} of {_value(v, ', ')}"
        if op in ("contains", "starts_with"):
            return f"{'contains' if op == 'contains' else 'starts with'} “{_value(v, '')}”"
        if op in ("exists", "not_exists"):
            return "is set" if op == "exists" else "is not set"
        days = self.days(v if isinstance(v, int) else 0)
        return (
            f"is within the last {days}" if op == "within_last_days" else f"is more than {days} ago"
        )

    @staticmethod
    def days(n: int) -> str:
        return "1 day" if n == 1 else f"{n} days"

    @staticmethod
    def duration(w: Window) -> str:
        parts = [
            f"{n} {unit}{'' if n == 1 else 's'}"
            for n, unit in ((w.days, "day"), (w.hours, "hour"), (w.minutes, "minute"))
            if n
        ]
        return " ".join(parts)

    def event(self, f: EventFilter) -> str:
        text = f"“{f.event}”"
        if f.channel:
            text += f" on {f.channel}"
        return text

    def where(self, f: EventFilter) -> str:
        if not f.where:
            return ""
        return " where " + " and ".join(f"{p.path} {self.comparison(p)}" for p in f.where)

    @staticmethod
    def count(c: Count) -> str:
        n = c.value
        times = "once" if n == 1 else f"{n} times"
        return {
            "gte": f"at least {times}",
            "gt": f"more than {times}",
            "lte": f"at most {times}",
            "lt": f"fewer than {n} times",
            "eq": f"exactly {times}",
        }[c.op]

    def performed(self, node: PerformedNode, negated: bool = False) -> str:
        window = f" in the last {self.duration(node.within)}" if node.within else ""
        if negated or _never(node.count):
            return f"did not perform {self.event(node.filter)}{window}{self.where(node.filter)}"
        count = self.count(node.count)
        return f"performed {self.event(node.filter)} {count}{window}{self.where(node.filter)}"

    def sequence(self, node: SequenceNode) -> str:
        first = f"{self.event(node.first)}{self.where(node.first)}"
        if node.first_within:
            first += f" in the last {self.duration(node.first_within)}"
        gap = self.duration(node.within)
        if node.then is not None:
            then = f"{self.event(node.then)}{self.where(node.then)}"
            return f"performed {first}, then {then} within {gap}"
        assert node.then_not is not None
        then_not = f"{self.event(node.then_not)}{self.where(node.then_not)}"
        return f"performed {first}, not followed by {then_not} within {gap}"

    def computed_trait(self, d: ComputedTraitDefinition) -> str:
        events = f"{self.event(d.filter)}{self.where(d.filter)}"
        what = {
            "count": f"number of {events}",
            "days_since_last": f"days since the last {events}",
        }.get(d.aggregation)
        if what is None:
            name = {
                "sum": "sum",
                "average": "average",
                "min": "minimum",
                "max": "maximum",
                "first": "first",
                "last": "last",
                "most_frequent": "most frequent",
                "distinct": "distinct values",
                "distinct_count": "number of distinct values",
            }[d.aggregation]
            what = f"{name} of {d.property} over {events}"
        window = f", last {self.duration(d.window)}" if d.window else ", all time"
        return what + window


class _Japanese(_English):
    def group(self, node: AndNode | OrNode) -> str:
        joiner = " かつ " if isinstance(node, AndNode) else " または "
        return joiner.join(self.node(c) for c in node.conditions)

    def node(self, node: Condition, top: bool = False) -> str:
        if isinstance(node, AndNode | OrNode):
            text = self.group(node)
            return text if top or len(node.conditions) == 1 else f"（{text}）"
        if isinstance(node, NotNode):
            return self.negation(node)
        return self.leaf(node)

    def negation(self, node: NotNode) -> str:
        inner = node.condition
        if isinstance(inner, PerformedNode) and _at_least_once(inner.count):
            return self.performed(inner, negated=True)
        text = self.group(inner) if isinstance(inner, AndNode | OrNode) else self.node(inner)
        return f"（{text}）に該当しない"

    def leaf(self, node: Condition) -> str:
        if isinstance(node, TraitNode):
            return f"属性 {node.path} {self.comparison(node)}"
        if isinstance(node, ComputedTraitNode):
            return f"計算属性 {node.key} {self.comparison(node)}"
        if isinstance(node, IdentifierNode):
            return f"識別子 {node.type} {'あり' if node.op == 'exists' else 'なし'}"
        if isinstance(node, ConsentNode):
            answer = "同意あり" if node.allowed else "同意なし"
            return f"{node.purpose}（{node.channel}）の連絡に{answer}"
        if isinstance(node, SegmentNode):
            answer = "に含まれる" if node.member else "に含まれない"
            return f"セグメント{self.segment(node.segment)}{answer}"
        return super().leaf(node)

    def segment(self, segment_id: str) -> str:
        name = self.segment_names.get(segment_id)
        return f"「{name}」" if name else f" {segment_id} "

    def comparison(self, c: Comparison) -> str:
        v, op = c.value, c.op
        if op in _SYMBOLS:
            return f"{_SYMBOLS[op]} {_value(v, '、')}"
        if op in ("in", "not_in"):
            return f"が {_value(v, '、')} のいずれ{'か' if op == 'in' else 'でもない'}"
        if op == "contains":
            return f"に「{_value(v, '')}」を含む"
        if op == "starts_with":
            return f"が「{_value(v, '')}」で始まる"
        if op in ("exists", "not_exists"):
            return "あり" if op == "exists" else "なし"
        return f"が過去{v}日以内" if op == "within_last_days" else f"が{v}日より前"

    @staticmethod
    def duration(w: Window) -> str:
        parts = [
            f"{n}{unit}" for n, unit in ((w.days, "日"), (w.hours, "時間"), (w.minutes, "分")) if n
        ]
        return "".join(parts)

    def event(self, f: EventFilter) -> str:
        text = f"「{f.event}」"
        return f"{f.channel} で{text}" if f.channel else text

    def where(self, f: EventFilter) -> str:
        if not f.where:
            return ""
        return "（" + "、".join(f"{p.path} {self.comparison(p)}" for p in f.where) + "）"

    @staticmethod
    def count(c: Count) -> str:
        n = c.value
        return {
            "gte": f"{n}回以上",
            "gt": f"{n}回より多く",
            "lte": f"{n}回以下",
            "lt": f"{n}回未満",
            "eq": f"ちょうど{n}回",
        }[c.op]

    def performed(self, node: PerformedNode, negated: bool = False) -> str:
        window = f"過去{self.duration(node.within)}間に" if node.within else ""
        event = _spaced(window, self.event(node.filter))
        if negated or _never(node.count):
            return f"{event}なし{self.where(node.filter)}"
        return f"{event}を{self.count(node.count)}{self.where(node.filter)}"

    def sequence(self, node: SequenceNode) -> str:
        first = f"{self.event(node.first)}{self.where(node.first)}"
        if node.first_within:
            first = _spaced(f"過去{self.duration(node.first_within)}間に", first)
        after = f"{first}の後{self.duration(node.within)}以内に"
        if node.then is not None:
            return _spaced(after, f"{self.event(node.then)}{self.where(node.then)}")
        assert node.then_not is not None
        then_not = f"{self.event(node.then_not)}{self.where(node.then_not)}"
        return _spaced(after, then_not) + "なし"

    def computed_trait(self, d: ComputedTraitDefinition) -> str:
        events = f"{self.event(d.filter)}{self.where(d.filter)}"
        what = {
            "count": f"{events}の回数",
            "days_since_last": f"最後の{events}からの日数",
        }.get(d.aggregation)
        if what is None:
            name = {
                "sum": "合計",
                "average": "平均",
                "min": "最小値",
                "max": "最大値",
                "first": "最初の値",
                "last": "最後の値",
                "most_frequent": "最頻値",
                "distinct": "値の一覧",
                "distinct_count": "値の種類数",
            }[d.aggregation]
            what = f"{events}の {d.property} の{name}"
        window = f"（過去{self.duration(d.window)}間）" if d.window else "（全期間）"
        return what + window
