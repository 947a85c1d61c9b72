"""Consent on the profile page: an agent records what the customer said on the phone."""

from __future__ import annotations

from playwright.sync_api import expect

from kizuna.db import Database
from tests.console.conftest import Console, wait_until
from tests.factories import make_source
from tests.support import scalar


def _profile_of(db: Database, user_id: str) -> str | None:
    return scalar(
        db, "SELECT profile_id FROM identity_nodes WHERE type = 'user_id' AND value = :v", v=user_id
    )


def test_an_agent_records_an_opt_out_heard_on_the_phone(console: Console) -> None:
    crm = make_source(console.db, "crm", "server")
    console.track(
        crm, userId="u-ken", event="Signed Up", context={"traits": {"email": "ken@example.com"}}
    )
    wait_until(lambda: _profile_of(console.db, "u-ken") is not None, timeout=30)
    profile = _profile_of(console.db, "u-ken")
    console.user("support")
    console.sign_in("support@example.com")

    page = console.open(f"/console/profiles/{profile}")
    row = page.locator("#consent-state tr[data-group='marketing:post']")
    expect(row).to_have_attribute("data-allowed", "yes")  # catalogues by post: opt-out semantics
    page.locator("#consent-form select[name=group]").select_option("marketing:post")
    page.locator("#consent-form select[name=granted]").select_option("no")
    page.locator("#consent-form input[name=note]").fill("asked on the phone")
    page.locator("#consent-form button").click()

    expect(page.locator("#consent-saved")).to_be_visible()
    expect(page.locator("#consent-state tr[data-group='marketing:post']")).to_have_attribute(
        "data-allowed", "no"
    )
    source = scalar(
        console.db, "SELECT source FROM consent_records WHERE profile_id = :p", p=profile
    )
    assert source == "console"
    actions = scalar(console.db, "SELECT count(*) FROM audit_log WHERE action = 'consent.recorded'")
    assert actions == 1


def test_an_analyst_sees_consent_but_cannot_record_it(console_ja: Console) -> None:
    crm = make_source(console_ja.db, "crm", "server")
    console_ja.track(crm, userId="u-emi", event="Signed Up")
    wait_until(lambda: _profile_of(console_ja.db, "u-emi") is not None, timeout=30)
    console_ja.user("analyst", locale="ja")
    console_ja.sign_in("analyst@example.com")

    page = console_ja.open(f"/console/profiles/{_profile_of(console_ja.db, 'u-emi')}")

    expect(page.locator("#consent h2")).to_have_text("同意")
    expect(page.locator("#consent-state tr[data-group='marketing:email']")).to_contain_text(
        "未同意"
    )
    expect(page.locator("#consent-form")).to_have_count(0)
