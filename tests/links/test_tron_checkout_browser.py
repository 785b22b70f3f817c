"""A Tron payment end to end in headless Chromium, against the Tron test node and a real
scan loop: the merchant pastes the Tron account key on the Wallets page and sees its
first T… addresses, generates a link, a signed-out customer picks USDT (or TRX) on Tron,
the test pays the exact amount shown to the address shown, 19 blocks solidify it, and the
page turns to Payment successful without a reload.

Set PAY_SCREENSHOTS=/some/dir to keep screenshots at 390 and 1280 px."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from links.models import LinkStatus, PaymentLink
from payram.lib.money import to_base_units
from tests.chain.test_tron_addresses import ABANDON, tron_xpub
from tests.links.test_checkout_browser import scan_loop, shot
from tests.support.browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST_ADDRESS = "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"  # m/44'/195'/0'/0/0 of "abandon ×11 about"


@pytest.mark.parametrize(("symbol", "shown", "units"), [("USDT", "25 USDT", 25_000_000), ("TRX", "100 TRX", 100_000_000)])
def test_customer_pays_on_tron_and_the_page_turns_successful_live(
    logged_in_page, live_server, new_context, project, member, tron_node, settings, symbol, shown, units
):
    from django.core.cache import cache

    from chain.scanner import scan_network

    settings.PAYRAM_BASE_URL = live_server.url
    settings.PAYRAM_PRICE_SOURCES = "fixed"
    settings.PAYRAM_FIXED_RATES = "TRX=0.25"
    cache.clear()

    # The merchant pastes the Tron account key and compares the first addresses.
    merchant = logged_in_page
    merchant.goto(f"{live_server.url}/chain/wallets/?project={project.pk}")
    card = merchant.locator(f"#wallet-{project.pk}-tron")
    assert "Tron" in card.locator("h3").inner_text()
    card.locator("input[name=xpub]").fill(tron_xpub(ABANDON))
    card.locator("button:has-text('Save key')").click()
    card = merchant.locator(f"#wallet-{project.pk}-tron")
    card.locator(f"text={FIRST_ADDRESS}").wait_for()
    assert "Tron account (T…, m/44'/195'/0')" in card.inner_text()
    shot(merchant, f"tron-0-wallet-1280-{symbol}")
    assert scan_network("tron").ok  # Tron is being watched before anyone is offered it

    merchant.goto(f"{live_server.url}/payments/new/")
    merchant.fill("#id_member", "alice@example.com")
    merchant.fill("#id_amount", "25.00")
    merchant.fill("#id_description", "Two coffees")
    merchant.click("button:has-text('Generate Payment Link')")
    merchant.wait_for_url(re.compile(r"/payments/[A-Za-z0-9_-]{20,}/$"))
    link = PaymentLink.objects.get()
    public = merchant.input_value("#public-url")

    with scan_loop("tron"):
        customer = new_context(viewport=PHONE).new_page()
        assert customer.goto(public).status == 200
        shot(customer, f"tron-1-picker-390-{symbol}")
        customer.get_by_label(re.compile(rf"{symbol}\s+on Tron")).check()
        customer.click("button:has-text('Continue')")
        customer.locator("#pay-address").wait_for()
        address = customer.locator("#pay-address").inner_text().strip()
        amount_text = customer.locator("#pay-amount").inner_text().strip()
        assert address == FIRST_ADDRESS and amount_text == shown
        network_line = customer.locator(".network-line").inner_text()
        assert "on the Tron network" in network_line and "chain id" not in network_line
        assert customer.locator(".qr-box svg").is_visible()
        assert "type the amount" in customer.locator("#type-amount").inner_text()
        assert customer.locator("#open-wallet").count() == 0  # no Tron URI carries an amount
        customer.locator("text=Waiting for payment").wait_for()
        shot(customer, f"tron-2-pay-390-{symbol}")
        customer.set_viewport_size({"width": 1280, "height": 900})
        shot(customer, f"tron-2-pay-1280-{symbol}")
        customer.set_viewport_size(PHONE)
        customer.evaluate("window.__noReload = true")

        # The customer's wallet sends exactly what the page shows, to the address it shows.
        paid = to_base_units(Decimal(amount_text.split()[0]), 6)
        assert paid == units
        if symbol == "USDT":
            tron_node.send_trc20(address, 1_000_000, result="REVERT")  # a failed attempt first: never counted
            tx = tron_node.send_trc20(address, paid)
        else:
            tx = tron_node.send_trx(address, paid)
        tron_node.mine()
        customer.get_by_text(re.compile(r"Confirming: \d+ of 19")).first.wait_for(timeout=20_000)
        shot(customer, f"tron-3-confirming-390-{symbol}")
        tron_node.mine(18)

        customer.locator("text=Payment successful").wait_for(timeout=20_000)
        assert customer.evaluate("window.__noReload") is True
        assert customer.locator(f"text={tx}").is_visible()
        assert shown in customer.locator(".facts").inner_text()
        shot(customer, f"tron-4-success-390-{symbol}")
        customer.set_viewport_size({"width": 1280, "height": 900})
        shot(customer, f"tron-4-success-1280-{symbol}")

    link.refresh_from_db()
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.SUCCESSFUL, "paid", units)
