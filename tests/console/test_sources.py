"""The sources pages: write keys and snippets, creating a source, roles and CSRF, plans."""

from __future__ import annotations

import subprocess
import sys

import orjson
import pytest
from playwright.sync_api import expect

from kizuna.privacy import audit
from kizuna.sources.service import find_by_name, get_source
from tests.console.conftest import Console
from tests.factories import make_source

pytestmark = pytest.mark.slow


def test_the_sources_page_shows_the_write_key_and_ready_to_paste_snippets(
    console: Console,
) -> None:
    source = make_source(console.db, name="web-shop", kind="web")
    console.user("admin")
    console.sign_in()

    page = console.open("/console/sources")
    card = page.locator(f"#source-{source.id}")

    expect(card.locator(".key")).to_have_text(source.write_key)
    expect(card.locator(".badge.status-active")).to_have_text("Active")
    expect(card.locator("[data-snippet=python] pre")).to_contain_text(
        f"analytics.write_key = '{source.write_key}'\nanalytics.host = '{console.server.url}'\n"
    )
    expect(card.locator("[data-snippet=curl]")).to_be_hidden()
    card.locator("[role=tab]", has_text="curl").click()
    expect(card.locator("[data-snippet=curl] pre")).to_contain_text(
        f"curl -X POST '{console.server.url}/v1/track' \\\n  -u '{source.write_key}:'"
    )
    expect(card.locator("[data-snippet=python]")).to_be_hidden()
    page.screenshot(path="/tmp/console-sources.png", full_page=True)


def test_the_copy_button_puts_the_write_key_on_the_clipboard(console: Console) -> None:
    source = make_source(console.db)
    console.user("admin")
    console.sign_in()
    console.context.grant_permissions(
        ["clipboard-read", "clipboard-write"], origin=console.server.url
    )
    page = console.open("/console/sources")

    button = page.locator(f"#source-{source.id} .write-key button.copy")
    button.click()

    expect(button).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == source.write_key


def test_the_python_snippet_delivers_an_event_as_pasted(console: Console) -> None:
    source = make_source(console.db)
    console.user("admin")
    console.sign_in()
    page = console.open(f"/console/sources/{source.id}")
    snippet = page.locator("[data-snippet=python] pre").inner_text()

    subprocess.run([sys.executable, "-c", snippet], check=True, timeout=60)

    row = page.locator("tr.live-event")
    expect(row.locator("td").nth(2)).to_have_text("Order Completed")
    expect(row.locator("td").nth(4)).to_have_text("user-123")


def test_an_admin_creates_a_source_through_the_form(console: Console) -> None:
    console.user("admin")
    console.sign_in()
    page = console.open("/console/sources")

    form = page.locator("#create-source")
    form.locator("input[name=name]").fill("line-official")
    form.locator("select[name=kind]").select_option("line")
    form.locator("button").click()

    expect(page.locator("h1")).to_contain_text("line-official")
    expect(page.locator("#notice")).to_have_text(
        "The source was created. Send a first event with the snippet below."
    )
    with console.db.read() as session:
        created = find_by_name(session, "line-official")
    assert created is not None
    assert (created.kind, created.channel) == ("line", "line")
    assert page.url == console.url(f"/console/sources/{created.id}?notice=created")
    expect(page.locator(f"#key-{created.id}")).to_have_text(created.write_key)


def test_a_duplicate_name_shows_the_form_again_with_the_reason(console: Console) -> None:
    make_source(console.db, name="web-shop")
    console.user("admin")
    console.sign_in()
    page = console.open("/console/sources")

    page.locator("#create-source input[name=name]").fill("web-shop")
    page.locator("#create-source button").click()

    expect(page.locator("#create-error")).to_have_text("A source with this name already exists.")
    expect(page.locator("#create-source input[name=name]")).to_have_value("web-shop")


def test_a_post_with_a_forged_csrf_token_is_refused(console: Console) -> None:
    console.user("admin")
    console.sign_in()
    page = console.open("/console/sources")
    form = page.locator("#create-source")
    form.locator("input[name=csrf_token]").evaluate("input => { input.value = 'forged'; }")

    form.locator("input[name=name]").fill("sneaky")
    with page.expect_response(console.url("/console/sources")) as answer:
        form.locator("button").click()

    assert answer.value.status == 403
    expect(page.locator(".error-code")).to_have_text("auth.csrf")
    with console.db.read() as session:
        assert find_by_name(session, "sneaky") is None


def test_a_readonly_user_sees_no_write_controls_and_a_post_is_refused(console: Console) -> None:
    make_source(console.db)
    console.user("readonly")
    console.sign_in("readonly@example.com")
    page = console.open("/console/sources")
    expect(page.locator(".source .key")).to_be_visible()

    forms = page.locator("#create-source, form[action$='/rotate'], form[action$='/revoke']")
    assert forms.count() == 0
    response = page.request.post(
        console.url("/console/sources"),
        form={"csrf_token": console.csrf_token(), "name": "sneaky", "kind": "web"},
        headers={"Accept": "application/json"},
    )

    assert response.status == 403
    assert response.json()["error"]["code"] == "auth.missing_scope"
    with console.db.read() as session:
        assert find_by_name(session, "sneaky") is None
        denied = audit.search(session, action="access.denied")
        assert [(e.target_id, e.outcome) for e in denied] == [("POST /console/sources", "denied")]
        assert denied[0].actor.startswith("console_user:")
        assert orjson.loads(denied[0].details or "{}") == {
            "code": "auth.missing_scope",
            "scope": "sources:write",
            "role": "readonly",
        }


def test_a_trusted_sources_key_is_shown_only_to_those_who_manage_sources(
    console: Console,
) -> None:
    web = make_source(console.db, name="web-shop", kind="web")
    crm = make_source(console.db, name="crm", kind="server")
    console.user("readonly")
    console.sign_in("readonly@example.com")

    page = console.open("/console/sources")

    expect(page.locator(f"#key-{web.id}")).to_have_text(web.write_key)
    expect(page.locator(f"#key-{crm.id}")).to_have_text(crm.write_key[:7] + "…")
    expect(page.locator(f"#key-hint-{crm.id}")).to_contain_text("trusted source")
    assert page.locator(f"#source-{crm.id} .write-key button.copy").count() == 0
    assert crm.write_key not in page.content()
    detail = console.open(f"/console/sources/{crm.id}")
    expect(detail.locator("[data-snippet=python] pre")).to_contain_text(
        "analytics.write_key = 'YOUR_WRITE_KEY'"
    )
    assert crm.write_key not in detail.content()


def test_a_support_user_gets_a_403_page_for_sources(console: Console) -> None:
    console.user("support")
    console.sign_in("support@example.com")

    page = console.page
    with page.expect_response(console.url("/console/sources")) as answer:
        console.open("/console/sources")

    assert answer.value.status == 403
    expect(page.locator("h1")).to_have_text("Access denied")
    expect(page.locator(".error-code")).to_have_text("auth.missing_scope")
    assert page.locator("nav a[data-nav=sources]").count() == 0


def test_rotating_a_key_replaces_it_on_the_page(console: Console) -> None:
    source = make_source(console.db)
    console.user("admin")
    console.sign_in()
    page = console.open("/console/sources")

    page.locator(f"form[action='/console/sources/{source.id}/rotate'] button").click()

    expect(page.locator("#notice")).to_have_text("A new write key was issued.")
    with console.db.read() as session:
        rotated = get_source(session, source.id).write_key
    assert rotated != source.write_key
    expect(page.locator(f"#key-{source.id}")).to_have_text(rotated)


def test_an_invalid_plan_is_shown_back_with_the_reason(console: Console) -> None:
    source = make_source(console.db)
    console.user("admin")
    console.sign_in()
    page = console.open(f"/console/sources/{source.id}")
    plan = '{"events": {"Order Completed": {"type": 5}}}'

    page.locator("#plan-form select[name=mode]").select_option("warn")
    page.locator("#plan-form textarea[name=plan]").fill(plan)
    page.locator("#plan-form button").click()

    expect(page.locator("#plan-error")).to_have_text(
        "The plan was not saved: events.Order Completed: 5 is not valid under any of the "
        "given schemas"
    )
    expect(page.locator("#plan-form textarea[name=plan]")).to_have_value(plan)
    with console.db.read() as session:
        assert get_source(session, source.id).plan_mode == "allow"
