"""A customer switching the checkout's language in headless Chromium: the browser's own
language first (French), the switcher to Spanish, a coin picked and copied in Spanish,
Turkish on a phone, the payment turning the page to "Pago recibido" live, and the
dashboard in English all along.

Set PAYRAM_SHOTS=/some/dir to keep screenshots at 390 and 1280 px."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.links.pay_support import deposit, make_link
from tests.links.test_checkout import FIRST_ADDRESS, shop  # noqa: F401 - fixtures
from tests.support.browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("PAYRAM_SHOTS", "")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SHOTS) / f"{name}.png"), full_page=True)


def test_customer_switches_language_and_pays(live_server, new_context, logged_in_page, shop, member):  # noqa: F811
    link = make_link(shop, member, amount="1234.50", description="Order #1")
    url = f"{live_server.url}/pay/{link.code}/"

    context = new_context(locale="fr-FR")
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    page.goto(url)
    assert page.locator("html").get_attribute("lang") == "fr"
    assert page.locator("legend").inner_text() == "Choisissez comment payer"
    assert page.locator("#pay-title").inner_text().endswith("1\u202f234,50\xa0$US")
    assert page.locator(".languages [aria-current]").inner_text() == "Français"
    shot(page, "lang-fr-desktop")

    page.click(".languages a[data-lang=es]")
    page.wait_for_selector("html[lang=es]")
    assert page.locator("legend").inner_text() == "Elige cómo pagar"
    assert page.locator("#pay-title").inner_text().endswith("1234,50\xa0US$")

    page.check("input[value='devnet:USDC']")
    page.click("button[type=submit]")
    page.wait_for_selector("#pay-amount")
    assert page.locator("html").get_attribute("lang") == "es"  # the cookie carried the choice
    assert page.locator("#pay-amount").inner_text() == "1234.5 USDC"  # the wallet's form, not 1234,5
    assert page.locator("#pay-address").inner_text() == FIRST_ADDRESS
    assert "uint256=1234500000" in page.locator("#open-wallet").get_attribute("href")
    copy = page.locator("button[data-copy='1234.5']")
    copy.click()
    # The word changes once the clipboard has it (a promise), for 1.5 s: wait for it, don't sample.
    expect(copy).to_have_text("Copiado", timeout=5000)  # polled by selector: no eval under the page's CSP
    assert page.evaluate("navigator.clipboard.readText()") == "1234.5"
    page.wait_for_function("document.querySelector('[data-countdown-display]').textContent.includes('quedan')")
    shot(page, "lang-es-quote-desktop")

    page.set_viewport_size(PHONE)
    page.click(".languages a[data-lang=tr]")
    page.wait_for_selector("html[lang=tr]")
    assert page.locator(".status-title").inner_text() == "Ödeme bekleniyor"
    assert page.locator("#pay-amount").inner_text() == "1234.5 USDC"
    # On a phone the switcher sits on one or two lines above the amount, not over it.
    switcher, amount = page.locator(".languages").bounding_box(), page.locator("#pay-title").bounding_box()
    assert switcher["y"] + switcher["height"] <= amount["y"] and switcher["width"] <= PHONE["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(page, "lang-tr-quote-phone")

    page.click(".languages a[data-lang=es]")
    page.wait_for_selector("html[lang=es]")
    deposit(link.quotes.get().deposit_address, 1_234_500_000)
    page.wait_for_selector("text=Pago recibido", timeout=15_000)  # htmx polled it in, in Spanish
    shot(page, "lang-es-successful-phone")
    page.click("#receipt-link")
    page.wait_for_selector("h1:has-text('Recibo')")
    assert "Importe solicitado" in page.inner_text("body")
    shot(page, "lang-es-receipt-phone")

    # The merchant's dashboard, on its own browser, stays English.
    logged_in_page.goto(f"{live_server.url}/payments/{link.code}/")
    assert "$1,234.50" in logged_in_page.inner_text("body")
    assert logged_in_page.locator("html").get_attribute("lang") in ("en", "en-us")
