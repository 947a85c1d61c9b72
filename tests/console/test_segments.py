"""The segments console: computed traits, the builder with its live count, the list, a segment's
members and history, in English and Japanese; CSRF and roles on its endpoints; and the pure
helpers behind the pages (error sentences, the daily chart, the catalogs' coverage)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pydantic import ValidationError
from sqlalchemy import func, select

from kizuna.console.charts import daily_chart
from kizuna.console.i18n import LOCALES_DIR
from kizuna.console.segment_forms import TYPES, VALUE_ERRORS, Invalid, explain, parse_segment
from kizuna.console.views_computed_traits import AGGREGATIONS, TEMPLATES
from kizuna.console.views_computed_traits import NOTICES as TRAIT_NOTICES
from kizuna.console.views_segments import (
    BUILDER_TEXTS,
    CAUSES,
    CONDITION_KINDS,
    COUNT_OPS,
    NOTICES,
    OPS,
)
from kizuna.console.web import Viewer, templates
from kizuna.db import Database
from kizuna.models import Profile, SegmentDefinitionRow
from kizuna.segments import service
from kizuna.segments.definitions import ComputedTraitDefinition, SegmentDefinition
from tests.console.conftest import Console, wait_until
from tests.factories import make_source

SHOES = {"kind": "performed", "filter": {"event": "Order Completed"}}


def _catalog(lang: str) -> dict[str, str]:
    loaded: dict[str, str] = json.loads((LOCALES_DIR / f"{lang}.json").read_text("utf-8"))
    return loaded


# --- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "names"),
    [
        ("segments.builder", BUILDER_TEXTS),
        ("segments.kind", CONDITION_KINDS),
        ("segments.op", OPS),
        ("segments.count_op", COUNT_OPS),
        ("segments.cause", CAUSES),
        ("segments.notice", NOTICES),
        ("segments.invalid", TYPES),
        ("segments.invalid", tuple(key for _, key in VALUE_ERRORS)),
        ("computed.aggregation", AGGREGATIONS),
        ("computed.template", tuple(TEMPLATES)),
        ("computed.notice", TRAIT_NOTICES),
        ("status", ("computing", "ready")),
        ("segments.change", ("entered", "exited")),
    ],
)
def test_every_name_the_segment_pages_build_has_a_translation_in_both_languages(
    prefix: str, names: tuple[str, ...]
) -> None:
    for lang in ("en", "ja"):
        catalog = _catalog(lang)
        assert [n for n in names if f"{prefix}.{n}" not in catalog] == [], lang


def test_the_templates_are_valid_computed_traits() -> None:
    for key, template in TEMPLATES.items():
        document: dict[str, Any] = {
            "key": key,
            "name": key,
            "aggregation": template["aggregation"],
            "filter": {"event": template["event"]},
        }
        if "property" in template:
            document["property"] = template["property"]
        ComputedTraitDefinition.model_validate(document)


def _refusal(document: dict[str, Any]) -> ValidationError:
    with pytest.raises(ValidationError) as refused:
        SegmentDefinition.model_validate(document)
    return refused.value


def test_a_refused_definition_is_explained_per_row_in_the_viewers_language() -> None:
    document = {
        "name": "x",
        "condition": {
            "kind": "and",
            "conditions": [
                SHOES,
                {"kind": "performed", "filter": {"event": ""}, "within": {"days": 0}},
            ],
        },
    }
    refusal = _refusal(document)

    english = explain(Viewer(lang="en", csrf_token=""), refusal)
    japanese = explain(Viewer(lang="ja", csrf_token=""), refusal)

    assert [p.loc for p in english] == [
        ["condition", "conditions", 1, "filter", "event"],
        ["condition", "conditions", 1, "within"],
    ]
    assert [p.text for p in english] == [
        "#2 › filter › event: Enter at least 1 character(s).",
        "#2 › within: A time window needs days, hours or minutes.",
    ]
    assert [p.text for p in japanese] == [
        "#2 › filter › event: 1文字以上で入力してください。",
        "#2 › within: 期間には日・時間・分のいずれかを指定してください。",
    ]


def test_a_value_of_the_wrong_shape_gives_one_sentence_not_one_per_union_member() -> None:
    refusal = _refusal(
        {"name": "x", "condition": {"kind": "trait", "path": "a", "op": "eq", "value": "x" * 300}}
    )

    problems = explain(Viewer(lang="en", csrf_token=""), refusal)

    assert [p.text for p in problems] == ["value: At most 200 characters."]


def test_a_form_without_a_condition_or_with_broken_json_is_refused_with_a_reason() -> None:
    viewer = Viewer(lang="ja", csrf_token="")

    with pytest.raises(Invalid) as empty:
        parse_segment(viewer, "x", "", " ")
    with pytest.raises(Invalid) as broken:
        parse_segment(viewer, "x", "", '{"kind": ')

    assert [p.text for p in empty.value.problems] == ["条件を1つ以上追加してください。"]
    assert broken.value.problems[0].text.startswith("JSONとして読めません（")


def test_the_daily_chart_draws_one_bar_per_day_and_labels_every_seventh_from_the_newest() -> None:
    points = [(f"2026-11-{day:02d}", day % 5) for day in range(1, 31)]

    chart = daily_chart(points)

    assert len(chart.bars) == 30
    assert [t.label for t in chart.x_ticks] == ["11-02", "11-09", "11-16", "11-23", "11-30"]
    assert [t.label for t in chart.y_ticks] == ["0", "1", "2", "3", "4"]
    tallest = max(chart.bars, key=lambda b: b.height)
    assert (tallest.count, tallest.y) == (4, chart.top)
    assert [b.height for b in chart.bars if b.count == 0] == [0.0] * 6


def test_a_computing_segment_shows_its_progress() -> None:
    row = SimpleNamespace(
        id="seg_1",
        name="Buyers",
        status="computing",
        progress_done=40,
        progress_total=100,
        members=0,
        updated_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
    )
    page = templates.get_template("_segments_table.html").render(
        t=Viewer(lang="en", csrf_token="").t, segments=[{"row": row, "text": "has an email"}]
    )

    assert '<progress class="progress" max="100" value="40"></progress>' in page
    assert "40 of 100 profiles" in page
    assert 'class="badge status-computing">Computing<' in page


# --- in the browser ------------------------------------------------------------------------------


def _live_profiles(db: Database) -> int:
    with db.read() as session:
        query = select(func.count()).select_from(Profile).where(Profile.merged_into.is_(None))
        return int(session.scalar(query) or 0)


def _shop(console: Console) -> None:
    """Three customers: two bought shoes, one bought a bag; all resolved to profiles."""
    source = make_source(console.db, name="shop", kind="store")
    for user, category in (("user-1", "shoes"), ("user-2", "shoes"), ("user-3", "bags")):
        console.track(source, userId=user, properties={"category": category, "total": 12000})
    wait_until(lambda: _live_profiles(console.db) == 3, timeout=20)


def _segment(db: Database, name: str) -> SegmentDefinitionRow | None:
    with db.read() as session:
        return next((s for s in service.list_segments(session) if s.name == name), None)


def _ready(db: Database, name: str) -> bool:
    row = _segment(db, name)
    return row is not None and row.status == "ready"


def _create_orders_trait(page: Page) -> None:
    page.locator("[data-template=orders_90d]").click()
    expect(page.locator("#create-computed-trait input[name=key]")).to_have_value("orders_90d")
    page.locator("#create-trait").click()
    expect(page.locator("#computed-traits-table tr[data-trait=orders_90d]")).to_be_visible()


def _build_shoe_buyers(page: Page, name: str) -> None:
    """Two conditions by clicking: bought shoes (a property condition), and orders_90d ≥ 1."""
    expect(page.locator("#builder")).to_have_attribute("data-ready", "true")
    page.locator("#segment-name-input").fill(name)
    page.locator(".sb-root > .sb-foot .sb-add-condition").click()
    row = page.locator(".sb-row").nth(0)
    row.locator(".sb-event").fill("Order Completed")
    row.locator(".sb-add-where").click()
    row.locator(".sb-where-row .sb-path").fill("category")
    row.locator(".sb-where-row .sb-value").fill("shoes")


def _add_trait_condition(page: Page) -> None:
    page.locator(".sb-root > .sb-foot .sb-add-condition").click()
    row = page.locator(".sb-row").nth(1)
    row.locator(".sb-kind").select_option("computed_trait")
    row.locator(".sb-key").select_option("orders_90d")
    row.locator(".sb-value").fill("1")


@pytest.mark.slow
def test_a_marketer_builds_a_segment_by_clicking_and_follows_it_to_its_members(
    console: Console,
) -> None:
    _shop(console)
    console.user("marketer")
    console.sign_in("marketer@example.com")
    page = console.open("/console/segments")
    page.locator("#to-computed-traits").click()
    _create_orders_trait(page)

    page = console.open("/console/segments")
    page.locator("#new-segment").click()
    _build_shoe_buyers(page, "Shoe buyers")

    expect(page.locator("#live-count")).to_have_text("2")
    expect(page.locator("#live-count-text")).to_have_text("of 3 profiles match")
    expect(page.locator("#readable")).to_have_text(
        "performed “Order Completed” at least once where category = shoes"
    )
    expect(page.locator("#live-sample li")).to_have_count(2)
    _add_trait_condition(page)
    expect(page.locator("#readable")).to_have_text(
        "performed “Order Completed” at least once where category = shoes "
        "and computed trait orders_90d ≥ 1"
    )
    expect(page.locator("#live-count")).to_have_text("2")
    page.locator("#save-segment").click()

    expect(page.locator("#notice")).to_have_text(
        "The segment was saved; its members are being computed."
    )
    expect(page.locator("#segment-condition")).to_have_text(
        "performed “Order Completed” at least once where category = shoes "
        "and computed trait orders_90d ≥ 1"
    )
    wait_until(lambda: _ready(console.db, "Shoe buyers"), timeout=30)
    page.reload()
    expect(page.locator("#member-count")).to_have_text("2")
    expect(page.locator("#members-table tbody tr")).to_have_count(2)
    expect(page.locator("#history-table tr[data-change=entered]")).to_have_count(2)
    assert page.locator("#membership-chart rect.member-bar").count() == 30
    expect(page.locator("#membership-chart rect.member-bar").last).to_have_attribute(
        "data-members", "2"
    )
    member = page.locator("#members-table tbody tr a").first
    profile_id = member.inner_text()
    member.click()
    expect(page.locator("#profile-id")).to_have_text(profile_id)
    expect(page.locator("#segments tr[data-segment] a")).to_have_text("Shoe buyers")

    page = console.open("/console/segments")
    listed = page.locator("#segments-table tbody tr")
    expect(listed).to_have_count(1)
    expect(listed.locator(".segment-name")).to_have_text("Shoe buyers")
    expect(listed.locator(".segment-members")).to_have_text("2")
    expect(listed.locator(".badge")).to_have_text("Ready")
    page.screenshot(path="/tmp/console-segments.png", full_page=True)


@pytest.mark.slow
def test_the_builder_and_pages_speak_japanese(console_ja: Console) -> None:
    console = console_ja
    _shop(console)
    console.user("marketer", locale="ja")
    console.sign_in("marketer@example.com")
    page = console.open("/console/computed-traits")
    expect(page.locator("h1")).to_have_text("計算属性")
    expect(page.locator("[data-template=orders_90d]")).to_have_text("過去90日間の注文数")
    _create_orders_trait(page)
    expect(page.locator("#notice")).to_have_text("計算属性を保存しました。値を計算しています。")

    page = console.open("/console/segments/new")
    expect(page.locator("nav a[data-nav=segments]")).to_have_text("セグメント")
    expect(page.locator("h1")).to_have_text("セグメントを作成")
    expect(page.locator(".sb-root > .sb-foot .sb-add-condition")).to_have_text("＋ 条件")
    _build_shoe_buyers(page, "靴の購入者")
    expect(page.locator(".sb-row .sb-kind option:checked")).to_have_text("行動（イベント）")
    expect(page.locator("#live-count")).to_have_text("2")
    expect(page.locator("#live-count-text")).to_have_text("人が該当（全 3 人中）")
    expect(page.locator("#readable")).to_have_text(
        "「Order Completed」を1回以上（category = shoes）"
    )
    page.locator(".sb-row .sb-within-unit").select_option("days")
    expect(page.locator("#readable")).to_have_text(
        "過去30日間に「Order Completed」を1回以上（category = shoes）"
    )
    page.locator("#save-segment").click()

    expect(page.locator("#notice")).to_have_text(
        "セグメントを保存しました。メンバーを計算しています。"
    )
    expect(page.locator("h2").first).to_have_text("条件")
    wait_until(lambda: _ready(console.db, "靴の購入者"), timeout=30)
    page = console.open("/console/segments")
    expect(page.locator("#segments-table th").first).to_have_text("名前")
    expect(page.locator("#segments-table .badge")).to_have_text("利用可能")
    expect(page.locator("#segments-table .readable")).to_have_text(
        "過去30日間に「Order Completed」を1回以上（category = shoes）"
    )


@pytest.mark.slow
def test_a_refused_condition_is_explained_live_and_on_save(console: Console) -> None:
    console.user("admin")
    console.sign_in()
    page = console.open("/console/segments/new")
    expect(page.locator("#builder")).to_have_attribute("data-ready", "true")
    expect(page.locator("#live-count-text")).to_have_text(
        "Add a condition to see how many people match."
    )
    page.locator("#segment-name-input").fill("Broken")

    page.locator(".sb-root > .sb-foot .sb-add-condition").click()

    expect(page.locator("#live-errors")).to_have_text(
        "filter › event: Enter at least 1 character(s)."
    )
    expect(page.locator(".sb-row.sb-invalid")).to_have_count(1)
    with page.expect_response(console.url("/console/segments")) as answer:
        page.locator("#save-segment").click()
    assert answer.value.status == 400
    expect(page.locator("#save-errors li")).to_have_text(
        "filter › event: Enter at least 1 character(s)."
    )
    expect(page.locator("#segment-name-input")).to_have_value("Broken")
    expect(page.locator(".sb-row .sb-event")).to_have_value("")
    assert _segment(console.db, "Broken") is None


@pytest.mark.slow
def test_a_power_user_types_json_and_the_builder_follows(console: Console) -> None:
    _shop(console)
    console.user("admin")
    console.sign_in()
    page = console.open("/console/segments/new")
    expect(page.locator("#builder")).to_have_attribute("data-ready", "true")
    page.locator("#json-panel summary").click()

    page.locator("#condition-json").fill(
        json.dumps({"kind": "not", "condition": {"kind": "identifier", "type": "email"}})
    )

    row = page.locator(".sb-row[data-kind=identifier]")
    expect(row).to_have_count(1)
    expect(row.locator(".sb-negate")).to_be_checked()
    expect(page.locator("#readable")).to_have_text("not (has an email identifier)")
    expect(page.locator("#live-count")).to_have_text("3")
    page.locator("#condition-json").fill('{"kind": ')
    expect(page.locator("#json-error")).to_contain_text("This is not valid JSON")


@pytest.mark.slow
def test_a_segment_is_edited_then_deleted(console: Console) -> None:
    _shop(console)
    console.user("admin")
    console.sign_in()
    with console.db.write() as session:
        d = SegmentDefinition.model_validate({"name": "Buyers", "condition": SHOES})
        segment_id = service.create_segment(session, d).id
        session.commit()
    page = console.open(f"/console/segments/{segment_id}")

    page.locator("#edit-segment").click()
    expect(page.locator(".sb-row[data-kind=performed] .sb-event")).to_have_value("Order Completed")
    page.locator("#segment-name-input").fill("Store buyers")
    page.locator(".sb-row .sb-channel").select_option("store")
    expect(page.locator("#readable")).to_have_text(
        "performed “Order Completed” on store at least once"
    )
    page.locator("#save-segment").click()

    expect(page.locator("#segment-name")).to_have_text("Store buyers")
    expect(page.locator("#notice")).to_have_text("The segment was saved.")
    with console.db.read() as session:
        row = service.get_segment(session, segment_id)
        assert (row.version, json.loads(row.definition)) == (
            2,
            {
                "kind": "performed",
                "filter": {"event": "Order Completed", "channel": "store", "where": []},
                "count": {"op": "gte", "value": 1},
            },
        )
    page.locator("form[action$='/delete'] button").click()  # the confirmation is accepted
    expect(page.locator("#notice")).to_have_text("The segment was deleted.")
    expect(page.locator("#segments-empty")).to_be_visible()


# --- roles and CSRF on the endpoints ------------------------------------------------------------


@pytest.mark.slow
def test_posts_without_the_csrf_token_are_refused(console: Console) -> None:
    console.user("admin")
    console.sign_in()
    condition = json.dumps({"kind": "identifier", "type": "email"})

    for path, form in (
        ("/console/segments", {"name": "sneaky", "condition": condition}),
        ("/console/segments/preview", {"condition": condition}),
        ("/console/computed-traits", {"key": "sneaky", "name": "x", "aggregation": "count"}),
    ):
        response = console.page.request.post(
            console.url(path), form=form, headers={"Accept": "application/json"}
        )
        assert response.status == 403, path
        assert response.json()["error"]["code"] == "auth.csrf"
    with console.db.read() as session:
        assert service.list_segments(session) == []
        assert service.list_computed_traits(session) == []


@pytest.mark.slow
def test_a_readonly_user_reads_segments_but_cannot_build_or_save(console: Console) -> None:
    with console.db.write() as session:
        d = SegmentDefinition.model_validate({"name": "Buyers", "condition": SHOES})
        segment_id = service.create_segment(session, d).id
        session.commit()
    console.user("readonly")
    console.sign_in("readonly@example.com")

    page = console.open("/console/segments")
    expect(page.locator(".segment-name")).to_have_text("Buyers")
    assert page.locator("#new-segment").count() == 0
    page = console.open(f"/console/segments/{segment_id}")
    assert page.locator("#edit-segment, form[action$='/delete']").count() == 0
    token = console.csrf_token()
    condition = json.dumps({"kind": "identifier", "type": "email"})
    with page.expect_response(console.url("/console/segments/new")) as answer:
        console.open("/console/segments/new")
    assert answer.value.status == 403
    for path in ("/console/segments", f"/console/segments/{segment_id}"):
        response = page.request.post(
            console.url(path),
            form={"csrf_token": token, "name": "sneaky", "condition": condition},
            headers={"Accept": "application/json"},
        )
        assert response.status == 403, path
        assert response.json()["error"]["code"] == "auth.missing_scope"
    deleted = page.request.post(
        console.url(f"/console/segments/{segment_id}/delete"),
        form={"csrf_token": token},
        headers={"Accept": "application/json"},
    )
    assert deleted.status == 403
    with console.db.read() as session:
        assert [s.name for s in service.list_segments(session)] == ["Buyers"]


@pytest.mark.slow
def test_the_preview_answers_json_with_reasons_in_the_viewers_language(
    console_ja: Console,
) -> None:
    console = console_ja
    console.user("analyst", locale="ja")
    console.sign_in("analyst@example.com")
    page = console.open("/console/segments")
    token = console.csrf_token()

    counted = page.request.post(
        console.url("/console/segments/preview"),
        form={"csrf_token": token, "condition": json.dumps(SHOES)},
        headers={"Accept": "application/json"},
    )
    refused = page.request.post(
        console.url("/console/segments/preview"),
        form={
            "csrf_token": token,
            "condition": json.dumps({"kind": "computed_trait", "key": "ltv", "op": "gte"}),
        },
        headers={"Accept": "application/json"},
    )

    assert counted.status == 200
    assert counted.json() == {
        "count": 0,
        "population": 0,
        "sample": [],
        "text": "「Order Completed」を1回以上",
    }
    assert refused.status == 400
    assert [e["text"] for e in refused.json()["errors"]] == ["条件: 「gte」には値が必要です。"]
