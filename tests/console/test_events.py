"""The live view of a source's events, their validation status, and quarantine replay."""

from __future__ import annotations

from playwright.sync_api import expect

from kizuna.db import Database
from kizuna.models import Source
from kizuna.sources.service import set_tracking_plan
from tests.console.conftest import Console
from tests.factories import make_source

# An order's properties must carry its total.
PLAN = {"events": {"Order Completed": {"type": "object", "required": ["total"]}}}


def _planned_source(db: Database, mode: str) -> Source:
    source = make_source(db, name=f"web-{mode}")
    with db.write() as session:
        set_tracking_plan(session, source.id, mode=mode, plan=PLAN)
        session.commit()
    return source


def test_events_appear_live_with_their_validation_status(console: Console) -> None:
    # Given a source whose plan warns, its page open in the console
    source = _planned_source(console.db, "warn")
    console.user("admin")
    console.sign_in()
    page = console.open(f"/console/sources/{source.id}")
    expect(page.locator("#live-events .empty")).to_be_visible()

    # When one conforming and one non-conforming event arrive, with no reload
    console.track(source, messageId="good-1", properties={"total": 5280})
    console.track(source, messageId="bad-1", properties={"currency": "JPY"})

    # Then both appear, marked ok and warned, the warned one with its violation
    good = page.locator("#live-events tr.live-event[data-message-id='good-1']")
    bad = page.locator("#live-events tr.live-event[data-message-id='bad-1']")
    expect(good).to_have_attribute("data-status", "ok")
    expect(bad).to_have_attribute("data-status", "warned")
    expect(good.locator(".badge")).to_have_text("OK")
    expect(bad).to_contain_text("total")


def test_the_live_view_speaks_japanese_to_a_japanese_browser(console_ja: Console) -> None:
    source = _planned_source(console_ja.db, "warn")
    console_ja.user("admin", locale="ja")
    console_ja.sign_in()
    page = console_ja.open(f"/console/sources/{source.id}")

    console_ja.track(source, messageId="bad-ja", properties={})

    row = page.locator("#live-events tr.live-event[data-message-id='bad-ja']")
    expect(row.locator(".badge")).to_have_text("警告あり")
    expect(page.locator("html")).to_have_attribute("lang", "ja")


def test_an_event_opens_with_its_raw_payload(console: Console) -> None:
    source = make_source(console.db)
    console.user("admin")
    console.sign_in()
    console.track(source, messageId="detail-1", properties={"total": 777})
    page = console.open(f"/console/events?source={source.id}")

    page.locator("tr:has-text('Order Completed') a").first.click()

    expect(page.locator("body")).to_contain_text("detail-1")
    expect(page.locator("body")).to_contain_text('"total": 777')


def test_a_quarantined_event_is_replayed_after_the_plan_is_fixed(console: Console) -> None:
    # Given an event held by a plan in quarantine mode
    source = _planned_source(console.db, "quarantine")
    console.user("admin")
    console.sign_in()
    console.track(source, messageId="held-1", properties={"currency": "JPY"})
    page = console.open("/console/quarantine")
    held = page.locator("tr.held[data-message-id='held-1']")
    expect(held).to_contain_text("total")

    # When the plan is relaxed and the event is replayed from the console
    with console.db.write() as session:
        set_tracking_plan(session, source.id, mode="quarantine", plan={"events": {}})
        session.commit()
    held.locator("button.replay-one").click()

    # Then it leaves the quarantine and is in the log
    expect(page.locator("tr.held[data-message-id='held-1']")).to_have_count(0)
    page = console.open(f"/console/sources/{source.id}")
    expect(page.locator("#live-events tr[data-message-id='held-1']")).to_be_visible()
