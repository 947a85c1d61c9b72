"""The profile pages: find a person by any identifier and read the 360 view."""

from __future__ import annotations

from playwright.sync_api import expect

from kizuna.db import Database
from tests.console.conftest import Console, wait_until
from tests.factories import make_source
from tests.support import scalar


def _resolved(db: Database, id_type: str, value: str) -> bool:
    return (
        scalar(
            db,
            "SELECT count(*) FROM identity_nodes WHERE type = :t AND value = :v "
            "AND profile_id IS NOT NULL",
            t=id_type,
            v=value,
        )
        == 1
    )


def test_a_person_is_found_by_phone_and_shows_every_channel(console: Console) -> None:
    # Given a visitor who browsed the web shop, then bought in store with a loyalty card
    web = make_source(console.db, "web-shop", "web")
    pos = make_source(console.db, "tokyo-pos", "store")
    console.track(web, userId=None, anonymousId="anon-1", event="Product Viewed")
    console.track(
        web,
        userId="u-ann",
        anonymousId="anon-1",
        event="Signed In",
        context={"traits": {"email": "ann@example.com"}},
    )
    console.track(
        pos,
        userId="u-ann",
        event="Order Completed",
        context={"traits": {"phone": "090-1234-5678", "loyalty_card": "LC-7"}},
    )
    wait_until(lambda: _resolved(console.db, "phone", "+819012345678"), timeout=30)
    console.user("support")
    console.sign_in("support@example.com")

    # When the support agent looks the caller up by the number they gave, written full-width
    page = console.open("/console/profiles")
    page.locator("#profile-search select[name=type]").select_option("phone")
    page.locator("#profile-search input[name=value]").fill("０９０－１２３４－５６７８")
    page.locator("#profile-search button").click()

    # Then the whole person opens: every identifier, both channels, the whole timeline
    expect(page.locator("#profile-id")).to_be_visible()
    for identifier in (
        "anonymous_id:anon-1",
        "user_id:u-ann",
        "email:ann@example.com",
        "phone:+819012345678",
        "loyalty_card:LC-7",
    ):
        expect(
            page.locator(f"#identifiers-table tr[data-identifier='{identifier}']")
        ).to_be_visible()
    expect(page.locator("#channel-bars .bar-row[data-channel='web']")).to_have_attribute(
        "data-events", "2"
    )
    expect(page.locator("#channel-bars .bar-row[data-channel='store']")).to_have_attribute(
        "data-events", "1"
    )
    expect(page.locator("#timeline tr.timeline-event")).to_have_count(3)
    expect(page.locator("#traits-table tr[data-trait='loyalty_card'] .trait-value")).to_have_text(
        '"LC-7"'
    )

    # And the timeline filters by channel
    page.locator("#timeline-filters select[name=channel]").select_option("store")
    page.locator("#timeline-filters button").click()
    expect(page.locator("#timeline tr.timeline-event")).to_have_count(1)


def test_an_unknown_identifier_says_so_in_japanese(console_ja: Console) -> None:
    console_ja.user("admin", locale="ja")
    console_ja.sign_in()
    page = console_ja.open("/console/profiles?type=email&value=nobody%40example.com")

    expect(page.locator("#lookup-error")).to_have_attribute("data-code", "profile.not_found")
    expect(page.locator("#lookup-error")).to_have_text("この識別子を持つ顧客はまだいません。")
    expect(page.locator("nav a[data-nav='profiles']")).to_have_text("プロファイル")
