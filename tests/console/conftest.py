"""Console tests drive Debian's Chromium (never a downloaded browser) against ``kizuna serve``."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from kizuna.db import Database
from kizuna.models import Source
from tests.conftest import LiveServer
from tests.factories import make_console_user

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
PASSWORD = "correct horse battery staple"
WAIT_MS = 10_000

expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Console:
    """One browser context on a live server, with helpers that read like the steps of a test."""

    server: LiveServer
    db: Database
    context: BrowserContext
    page: Page

    def url(self, path: str) -> str:
        return self.server.url + path

    def open(self, path: str) -> Page:
        self.page.goto(self.url(path))
        return self.page

    def sign_in(self, email: str = "admin@example.com", password: str = PASSWORD) -> Page:
        """Sign in through the form (from wherever the login page sends us on)."""
        if "/console/login" not in self.page.url:
            self.open("/console/login")
        self.page.locator("input[name=email]").fill(email)
        self.page.locator("input[name=password]").fill(password)
        self.page.locator("form[action='/console/login'] button[type=submit]").click()
        expect(self.page.locator("#logout")).to_be_visible()
        return self.page

    def user(self, role: str = "admin", email: str | None = None, locale: str = "en") -> str:
        address = email or f"{role}@example.com"
        make_console_user(self.db, email=address, role=role, password=PASSWORD, locale=locale)
        return address

    def track(self, source: Source, **message: Any) -> httpx.Response:
        """Send one track call with the source's write key, as a customer's site would."""
        body = {"userId": "user-1", "event": "Order Completed", **message}
        response = httpx.post(self.url("/v1/track"), auth=(source.write_key, ""), json=body)
        assert response.status_code == 200, response.text
        return response

    def csrf_token(self) -> str:
        """The token the current page's forms carry."""
        value = self.page.locator("input[name=csrf_token]").first.input_value()
        assert value
        return value


def _console(browser: Browser, server: LiveServer, db: Database, locale: str) -> Iterator[Console]:
    context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # the "are you sure?" confirmations
    yield Console(server=server, db=db, context=context, page=page)
    context.close()


@pytest.fixture
def console(browser: Browser, live_server: LiveServer, db: Database) -> Iterator[Console]:
    """A browser whose language is English (Accept-Language: en-US)."""
    yield from _console(browser, live_server, db, "en-US")


@pytest.fixture
def console_ja(browser: Browser, live_server: LiveServer, db: Database) -> Iterator[Console]:
    """A browser whose language is Japanese (Accept-Language: ja-JP)."""
    yield from _console(browser, live_server, db, "ja-JP")


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll ``check`` (for work done by a background consumer) until it holds or time runs out."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)
