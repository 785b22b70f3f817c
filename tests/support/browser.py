"""Browser fixtures: Debian's headless Chromium driven by Playwright (never a browser
download) against pytest-django's live_server.

    @pytest.mark.browser
    @pytest.mark.django_db(transaction=True)
    def test_x(logged_in_page, live_server, new_context):
        logged_in_page.goto(live_server.url + "/payments/")
        customer = new_context().new_page()  # a second, signed-out visitor
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest

CHROMIUM = os.environ.get("PAYRAM_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="session")
def playwright_driver():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    with sync_api.sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver):
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield chromium
    chromium.close()


@pytest.fixture
def new_context(browser) -> Iterator[Callable[..., object]]:
    """Factory for isolated browser contexts (own cookies): new_context(viewport=PHONE)."""
    made = []

    def make(**kwargs):
        kwargs.setdefault("viewport", DESKTOP)
        kwargs.setdefault("accept_downloads", True)
        context = browser.new_context(**kwargs)
        context.set_default_timeout(TIMEOUT_MS)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def page(new_context):
    return new_context().new_page()


def log_in(page, base_url: str, username: str, password: str) -> None:
    """Sign in through the real login form and wait for the dashboard."""
    page.goto(f"{base_url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_selector("text=Sign out")


@pytest.fixture
def logged_in_page(page, live_server, merchant, password):
    """A page signed in as the `merchant` fixture (who owns `project` if you request it)."""
    log_in(page, live_server.url, merchant.username, password)
    return page
