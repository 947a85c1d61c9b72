"""The readable text of a definition: every kind of node and every operator, in both languages."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from kizuna.segments.definitions import (
    ComputedTraitDefinition,
    Condition,
    SegmentDefinition,
)
from kizuna.segments.rendering import render, render_computed_trait

CONDITION: TypeAdapter[Condition] = TypeAdapter(Condition)


def _text(node: dict[str, Any], lang: str, **names: str) -> str:
    return render(CONDITION.validate_python(node), lang, segment_names=names)


def _trait(op: str, value: Any = None) -> dict[str, Any]:
    node: dict[str, Any] = {"kind": "trait", "path": "address.prefecture", "op": op}
    if value is not None:
        node["value"] = value
    return node


@pytest.mark.parametrize(
    ("op", "value", "english", "japanese"),
    [
        ("eq", "東京都", "= 東京都", "= 東京都"),
        ("neq", "東京都", "≠ 東京都", "≠ 東京都"),
        ("gt", 3, "> 3", "> 3"),
        ("gte", 3.5, "≥ 3.5", "≥ 3.5"),
        ("lt", 3, "< 3", "< 3"),
        ("lte", 3, "≤ 3", "≤ 3"),
        ("eq", True, "= true", "= true"),
        ("in", ["東京都", "大阪府"], "is one of 東京都, 大阪府", "が 東京都、大阪府 のいずれか"),
        ("not_in", ["東京都"], "is none of 東京都", "が 東京都 のいずれでもない"),
        ("contains", "京", "contains “京”", "に「京」を含む"),
        ("starts_with", "東", "starts with “東”", "が「東」で始まる"),
        ("exists", None, "is set", "あり"),
        ("not_exists", None, "is not set", "なし"),
        ("within_last_days", 7, "is within the last 7 days", "が過去7日以内"),
        ("within_last_days", 1, "is within the last 1 day", "が過去1日以内"),
        ("before_days_ago", 30, "is more than 30 days ago", "が30日より前"),
    ],
)
def test_every_operator_reads_in_both_languages(
    op: str, value: Any, english: str, japanese: str
) -> None:
    node = _trait(op, value)

    assert _text(node, "en") == f"trait address.prefecture {english}"
    assert _text(node, "ja") == f"属性 address.prefecture {japanese}"


def test_the_issue_example_reads_as_a_sentence() -> None:
    node = {
        "kind": "performed",
        "filter": {
            "event": "Order Completed",
            "where": [{"path": "category", "op": "eq", "value": "shoes"}],
        },
        "count": {"op": "gte", "value": 2},
        "within": {"days": 30},
    }

    assert _text(node, "en") == (
        "performed “Order Completed” at least 2 times in the last 30 days where category = shoes"
    )
    assert _text(node, "ja") == "過去30日間に「Order Completed」を2回以上（category = shoes）"


@pytest.mark.parametrize(
    ("node", "english", "japanese"),
    [
        (
            {"kind": "computed_trait", "key": "lifetime_value", "op": "gte", "value": 50000},
            "computed trait lifetime_value ≥ 50000",
            "計算属性 lifetime_value ≥ 50000",
        ),
        ({"kind": "identifier", "type": "email"}, "has an email identifier", "識別子 email あり"),
        (
            {"kind": "identifier", "type": "phone", "op": "not_exists"},
            "has no phone identifier",
            "識別子 phone なし",
        ),
        (
            {"kind": "consent", "purpose": "marketing", "channel": "email"},
            "may be contacted for marketing on email",
            "marketing（email）の連絡に同意あり",
        ),
        (
            {"kind": "consent", "purpose": "marketing", "channel": "sms", "allowed": False},
            "may not be contacted for marketing on sms",
            "marketing（sms）の連絡に同意なし",
        ),
        (
            {"kind": "segment", "segment": "seg_other"},
            "is in segment seg_other",
            "セグメント seg_other に含まれる",
        ),
        (
            {"kind": "segment", "segment": "seg_vip", "member": False},
            "is not in segment “VIP”",
            "セグメント「VIP」に含まれない",
        ),
        (
            {"kind": "performed", "filter": {"event": "Store Visited", "channel": "store"}},
            "performed “Store Visited” on store at least once",
            "store で「Store Visited」を1回以上",
        ),
        (
            {
                "kind": "performed",
                "filter": {"event": "Order Completed", "channel": "store"},
                "within": {"days": 30},
            },
            "performed “Order Completed” on store at least once in the last 30 days",
            "過去30日間に store で「Order Completed」を1回以上",
        ),
        (
            {
                "kind": "performed",
                "filter": {"event": "Email Opened"},
                "count": {"op": "eq", "value": 0},
                "within": {"days": 1, "hours": 12},
            },
            "did not perform “Email Opened” in the last 1 day 12 hours",
            "過去1日12時間間に「Email Opened」なし",
        ),
        (
            {
                "kind": "sequence",
                "first": {"event": "Cart Updated"},
                "then_not": {"event": "Order Completed"},
                "within": {"hours": 1},
            },
            "performed “Cart Updated”, not followed by “Order Completed” within 1 hour",
            "「Cart Updated」の後1時間以内に「Order Completed」なし",
        ),
        (
            {
                "kind": "sequence",
                "first": {"event": "Email Opened", "channel": "email"},
                "then": {
                    "event": "Order Completed",
                    "channel": "web",
                    "where": [{"path": "total", "op": "gte", "value": 5000}],
                },
                "within": {"minutes": 30},
                "first_within": {"days": 7},
            },
            "performed “Email Opened” on email in the last 7 days, then “Order Completed” on "
            "web where total ≥ 5000 within 30 minutes",
            "過去7日間に email で「Email Opened」の後30分以内に web で「Order Completed」"
            "（total ≥ 5000）",
        ),
    ],
)
def test_every_kind_of_leaf_reads_in_both_languages(
    node: dict[str, Any], english: str, japanese: str
) -> None:
    assert _text(node, "en", seg_vip="VIP") == english
    assert _text(node, "ja", seg_vip="VIP") == japanese


@pytest.mark.parametrize(
    ("op", "value", "english", "japanese"),
    [
        ("gte", 3, "at least 3 times", "3回以上"),
        ("gt", 1, "more than once", "1回より多く"),
        ("lte", 5, "at most 5 times", "5回以下"),
        ("lt", 4, "fewer than 4 times", "4回未満"),
        ("eq", 2, "exactly 2 times", "ちょうど2回"),
    ],
)
def test_every_count_operator_reads(op: str, value: int, english: str, japanese: str) -> None:
    node = {
        "kind": "performed",
        "filter": {"event": "Order Completed"},
        "count": {"op": op, "value": value},
    }

    assert _text(node, "en") == f"performed “Order Completed” {english}"
    assert _text(node, "ja") == f"「Order Completed」を{japanese}"


@pytest.mark.parametrize(("op", "value"), [("eq", 0), ("lte", 0), ("lt", 1)])
def test_a_count_only_zero_meets_reads_as_did_not(op: str, value: int) -> None:
    node = {
        "kind": "performed",
        "filter": {"event": "Order Completed"},
        "count": {"op": op, "value": value},
    }

    assert _text(node, "en") == "did not perform “Order Completed”"
    assert _text(node, "ja") == "「Order Completed」なし"


def test_groups_nest_in_brackets_and_negations_read_naturally() -> None:
    node = {
        "kind": "and",
        "conditions": [
            {"kind": "identifier", "type": "email"},
            {
                "kind": "or",
                "conditions": [
                    {"kind": "trait", "path": "tier", "op": "eq", "value": "gold"},
                    {"kind": "computed_trait", "key": "orders_90d", "op": "gte", "value": 3},
                ],
            },
            {"kind": "not", "condition": {"kind": "performed", "filter": {"event": "Refund"}}},
            {
                "kind": "not",
                "condition": {
                    "kind": "or",
                    "conditions": [
                        {"kind": "identifier", "type": "phone"},
                        {"kind": "trait", "path": "vip", "op": "eq", "value": True},
                    ],
                },
            },
            {"kind": "not", "condition": {"kind": "identifier", "type": "user_id"}},
        ],
    }

    assert _text(node, "en") == (
        "has an email identifier and (trait tier = gold or computed trait orders_90d ≥ 3) "
        "and did not perform “Refund” and not (has a phone identifier or trait vip = true) "
        "and not (has a user_id identifier)"
    )
    assert _text(node, "ja") == (
        "識別子 email あり かつ （属性 tier = gold または 計算属性 orders_90d ≥ 3） "
        "かつ 「Refund」なし かつ （識別子 phone あり または 属性 vip = true）に該当しない "
        "かつ （識別子 user_id あり）に該当しない"
    )


def test_a_group_of_one_needs_no_brackets() -> None:
    node = {
        "kind": "or",
        "conditions": [
            {"kind": "and", "conditions": [{"kind": "identifier", "type": "email"}]},
            {"kind": "identifier", "type": "phone"},
        ],
    }

    assert _text(node, "en") == "has an email identifier or has a phone identifier"


def test_the_rendering_of_a_whole_definition_is_its_condition() -> None:
    d = SegmentDefinition.model_validate(
        {"name": "Emailable", "condition": {"kind": "identifier", "type": "email"}}
    )

    assert render(d.condition) == "has an email identifier"


@pytest.mark.parametrize(
    ("definition", "english", "japanese"),
    [
        (
            {"aggregation": "sum", "property": "total", "filter": {"event": "Order Completed"}},
            "sum of total over “Order Completed”, all time",
            "「Order Completed」の total の合計（全期間）",
        ),
        (
            {
                "aggregation": "count",
                "filter": {"event": "Order Completed"},
                "window": {"days": 90},
            },
            "number of “Order Completed”, last 90 days",
            "「Order Completed」の回数（過去90日間）",
        ),
        (
            {"aggregation": "days_since_last", "filter": {"event": "Order Completed"}},
            "days since the last “Order Completed”, all time",
            "最後の「Order Completed」からの日数（全期間）",
        ),
        (
            {
                "aggregation": "most_frequent",
                "property": "$channel",
                "filter": {"event": "Order Completed", "channel": "store"},
            },
            "most frequent of $channel over “Order Completed” on store, all time",
            "store で「Order Completed」の $channel の最頻値（全期間）",
        ),
        *[
            (
                {"aggregation": a, "property": "price", "filter": {"event": "Product Viewed"}},
                f"{en} of price over “Product Viewed”, all time",
                f"「Product Viewed」の price の{ja}（全期間）",
            )
            for a, en, ja in [
                ("average", "average", "平均"),
                ("min", "minimum", "最小値"),
                ("max", "maximum", "最大値"),
                ("first", "first", "最初の値"),
                ("last", "last", "最後の値"),
                ("distinct", "distinct values", "値の一覧"),
                ("distinct_count", "number of distinct values", "値の種類数"),
            ]
        ],
    ],
)
def test_every_aggregation_of_a_computed_trait_reads(
    definition: dict[str, Any], english: str, japanese: str
) -> None:
    d = ComputedTraitDefinition.model_validate({"key": "k", "name": "K", **definition})

    assert render_computed_trait(d, "en") == english
    assert render_computed_trait(d, "ja") == japanese
