"""The privacy page: an administrator asks for a customer's data and downloads it, sees late
requests stand out, and is told clearly when nobody holds an identifier; in English and Japanese."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect

from kizuna.db import Database
from kizuna.models import PrivacyRequest
from tests.console.conftest import Console, wait_until
from tests.factories import make_source
from tests.support import scalar


def _profile_of(db: Database, user_id: str) -> str | None:
    return scalar(
        db, "SELECT profile_id FROM identity_nodes WHERE type = 'user_id' AND value = :v", v=user_id
    )


def _status(db: Database, request_id: str) -> str | None:
    return scalar(db, "SELECT status FROM privacy_requests WHERE id = :i", i=request_id)


def _late_request(db: Database) -> str:
    """A request received 40 days ago and still open (as a stuck one would be)."""
    received = datetime.now(UTC) - timedelta(days=40)
    with db.write() as session:
        session.add(
            PrivacyRequest(
                id="dsr_late",
                kind="erasure",
                regulation="gdpr",
                identifier_type="email",
                identifier_value="late@example.com",
                identifier_digest="0" * 64,
                status="pending",
                requested_by="api_key:key_test",
                created_at=received,
                deadline_at=received + timedelta(days=30),
            )
        )
        session.commit()
    return "dsr_late"


def test_an_administrator_exports_a_customer_and_downloads_the_archive(console: Console) -> None:
    # Given a customer and an administrator
    crm = make_source(console.db, "crm", "server")
    console.track(
        crm, userId="u-mei", event="Signed Up", context={"traits": {"email": "mei@example.com"}}
    )
    wait_until(lambda: _profile_of(console.db, "u-mei") is not None, timeout=30)
    late = _late_request(console.db)
    console.user("admin")
    console.sign_in()

    # When the administrator asks for the customer's data by email
    page = console.open("/console/")
    page.locator("nav a[data-nav='privacy']").click()
    expect(page.locator("h1")).to_have_text("Data subject requests")
    form = page.locator("#new-request")
    form.locator("select[name=kind]").select_option("export")
    form.locator("select[name=identifier_type]").select_option("email")
    form.locator("input[name=value]").fill("Mei@Example.com")
    form.locator("select[name=regulation]").select_option("gdpr")
    form.locator("button").click()

    # Then it is accepted, runs in the background, and its archive can be downloaded
    expect(page.locator("#notice")).to_contain_text("accepted")
    row = page.locator("tr.privacy-request").first
    request_id = row.get_attribute("data-request")
    assert request_id and request_id != late
    wait_until(lambda: _status(console.db, request_id) == "completed", timeout=30)
    page = console.open("/console/privacy")
    row = page.locator(f"tr.privacy-request[data-request='{request_id}']")
    expect(row).to_have_attribute("data-status", "completed")
    expect(row).to_contain_text("mei@example.com")
    expect(row).to_contain_text("1 profile(s), 2 identifier(s), 1 event(s)")
    with page.expect_download() as download:
        row.locator("a.archive").click()
    path = download.value.path()
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as archive:
        assert "manifest.json" in archive.namelist()
        assert b"mei@example.com" in archive.read("identifiers.json")

    # And the late request stands out
    late_row = page.locator(f"tr.privacy-request[data-request='{late}']")
    expect(late_row).to_have_class("privacy-request overdue")
    expect(late_row.locator(".badge.status-overdue")).to_have_text("Overdue")
    expect(row.locator(".badge.status-overdue")).to_have_count(0)


def test_nobody_holding_the_identifier_is_said_plainly_in_japanese(console_ja: Console) -> None:
    console_ja.user("admin", locale="ja")
    console_ja.sign_in()

    page = console_ja.open("/console/privacy")
    expect(page.locator("h1")).to_have_text("本人からの請求")
    expect(page.locator("#privacy-empty")).to_have_text("請求はまだありません。")
    form = page.locator("#new-request")
    form.locator("select[name=kind]").select_option("erasure")
    form.locator("input[name=value]").fill("nobody@example.com")
    form.locator("button").click()

    expect(page.locator("#request-error")).to_have_text(
        "この識別子を持つプロファイルはありません。登録できるのは追跡停止のみです。"
    )
    expect(page.locator("#new-request input[name=value]")).to_have_value("nobody@example.com")
    assert scalar(console_ja.db, "SELECT count(*) FROM privacy_requests") == 0
    refused = "SELECT count(*) FROM audit_log WHERE action = 'privacy.request.person_not_found'"
    assert scalar(console_ja.db, refused) == 1

    # A suppression needs nobody: it is accepted
    form = page.locator("#new-request")
    form.locator("select[name=kind]").select_option("suppression")
    form.locator("button").click()
    expect(page.locator("#notice")).to_contain_text("受け付けました")


def test_the_page_is_for_privacy_administrators_only(console: Console) -> None:
    console.user("marketer")
    console.sign_in("marketer@example.com")

    page = console.open("/console/")
    expect(page.locator("nav a[data-nav='privacy']")).to_have_count(0)
    response = page.goto(console.url("/console/privacy"))

    assert response is not None and response.status == 403
