"""Signing in and out, login safeguards, and the language switch."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.console.conftest import PASSWORD, Console

pytestmark = pytest.mark.slow


def test_a_wrong_password_is_refused_then_the_right_one_signs_in(console: Console) -> None:
    email = console.user("admin")
    page = console.open("/console/login")

    page.locator("input[name=email]").fill(email)
    page.locator("input[name=password]").fill("not the password at all")
    page.locator("button[type=submit]").click()

    expect(page.locator("#login-error")).to_have_text("The email address or password is incorrect.")
    expect(page.locator("input[name=email]")).to_have_value(email)
    assert page.locator("#logout").count() == 0

    console.sign_in(email)

    assert page.url == console.url("/console/")
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator(".whoami")).to_have_text(re.compile(r"admin@example\.com\s+Administrator"))


def test_a_console_page_sends_a_visitor_to_login_and_back(console: Console) -> None:
    console.user("admin")

    page = console.open("/console/events?type=track")

    assert page.url == console.url("/console/login?next=%2Fconsole%2Fevents%3Ftype%3Dtrack")
    console.sign_in()
    assert page.url == console.url("/console/events?type=track")


def test_login_never_redirects_to_another_site(console: Console) -> None:
    console.user("admin")

    console.open("/console/login?next=https://evil.example/console/")
    console.sign_in()

    assert console.page.url == console.url("/console/")


def test_signing_out_ends_the_session(console: Console) -> None:
    console.user("admin")
    page = console.sign_in()

    page.locator("#logout").click()
    expect(page.locator("input[name=password]")).to_be_visible()
    console.open("/console/sources")

    assert page.url == console.url("/console/login?next=%2Fconsole%2Fsources")


def test_the_session_cookie_is_http_only_and_same_site_lax(console: Console) -> None:
    console.user("admin")
    console.sign_in()

    cookie = next(c for c in console.context.cookies() if c["name"] == "kizuna_session")

    assert (cookie["httpOnly"], cookie["sameSite"], cookie["secure"], cookie["path"]) == (
        True,
        "Lax",
        False,
        "/console",
    )


def test_the_language_switch_changes_the_text_and_the_page_language(
    console_ja: Console,
) -> None:
    console_ja.user("admin", locale="ja")
    page = console_ja.open("/console/login")
    expect(page.locator("h1")).to_have_text("Kizuna にログイン")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    console_ja.sign_in()

    page.locator(".lang-switch button[value=en]").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("nav a[data-nav=sources]")).to_have_text("Sources")
    expect(page.locator("#logout")).to_have_text("Sign out")

    page.locator(".lang-switch button[value=ja]").click()

    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.locator("h1")).to_have_text("概要")
    expect(page.locator("nav a[data-nav=sources]")).to_have_text("ソース")
    expect(page.locator("#logout")).to_have_text("ログアウト")
    assert page.url == console_ja.url("/console/")


def test_the_language_switch_works_on_the_login_page(console_ja: Console) -> None:
    page = console_ja.open("/console/login?next=%2Fconsole%2Fsources")

    page.locator(".lang-switch button[value=en]").click()

    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Sign in to Kizuna")
    assert page.url == console_ja.url("/console/login?next=%2Fconsole%2Fsources")


def test_the_login_form_needs_its_double_submit_token(console: Console) -> None:
    email = console.user("admin")

    response = httpx.post(
        console.url("/console/login"),
        data={"email": email, "password": PASSWORD, "csrf_token": "forged"},
        cookies={"kizuna_csrf": "another"},
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "auth.csrf"
    assert "kizuna_session" not in response.cookies


def test_five_failed_logins_lock_the_account_out_for_this_address(console: Console) -> None:
    email = console.user("admin")
    client = httpx.Client(base_url=console.server.url, cookies={"kizuna_csrf": "t0k3n"})
    form = {"email": email, "password": "wrong password!!", "csrf_token": "t0k3n"}

    failures = [client.post("/console/login", data=form).status_code for _ in range(5)]
    locked = client.post("/console/login", data={**form, "password": PASSWORD})

    assert failures == [401] * 5
    assert locked.status_code == 429
    assert 0 < int(locked.headers["retry-after"]) <= 61
    assert "kizuna_session" not in locked.cookies
