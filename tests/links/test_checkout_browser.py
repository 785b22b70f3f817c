"""The customer's whole journey in headless Chromium against a live server, a real anvil
and a real scan loop: the merchant generates a link, a signed-out customer picks USDC on
the local devnet, the test pays the exact amount shown on chain, blocks are mined, the
scanner records it and the page turns to Payment successful without a reload; All
Payments then shows it Successful with amount, network and time.

Set PAY_SCREENSHOTS=/some/dir to keep screenshots of each step at 390 and 1280 px."""

from __future__ import annotations

import os
import re
import threading
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path

import pytest

from links.models import LinkStatus, PaymentLink
from payram.lib.money import to_base_units
from tests.links.test_checkout import EVM_XPUB
from tests.support.browser import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.anvil, pytest.mark.django_db(transaction=True)]

SHOTS = os.environ.get("PAY_SCREENSHOTS", "")


def shot(page, name: str) -> None:
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=f"{SHOTS}/{name}.png", full_page=True)


@contextmanager
def scan_loop(slug: str):
    """The scan loop a worker runs, in a thread: scan_network every few tenths of a second."""
    from django.db import connection

    from chain.models import Cursor
    from chain.scanner import scan_network

    stop = threading.Event()

    def loop() -> None:
        lease_to_free = False
        try:
            while not stop.is_set():
                try:
                    result = scan_network(slug)
                    if not result.ok:
                        print(f"scan of {slug} failed: {result.error}", flush=True)
                except Exception as exc:  # noqa: BLE001 - the loop carries on, like scanloop
                    print(f"scan of {slug} raised {exc!r}", flush=True)
                    lease_to_free = True
                if lease_to_free:
                    # SQLite's shared in-memory test database answers "table is locked" at once
                    # instead of waiting, and can fail the lease release too: this loop is the
                    # only scanner, so it frees its own lease rather than wait for it to lapse.
                    try:
                        Cursor.objects.filter(network=slug).update(lock_owner="", locked_until=None)
                        lease_to_free = False
                    except Exception as exc:  # noqa: BLE001 - tried again next round
                        print(f"freeing the {slug} lease raised {exc!r}", flush=True)
                stop.wait(0.5)
        finally:
            connection.close()

    thread = threading.Thread(target=loop, name=f"scan-{slug}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)


def test_customer_pays_devnet_usdc_and_the_page_turns_successful_live(
    logged_in_page, live_server, new_context, project, member, devnet, settings
):
    from chain.scanner import scan_network
    from chain.wallets import wallet_set

    settings.PAYRAM_BASE_URL = live_server.url
    wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    assert scan_network("devnet").ok  # the devnet is being watched before anyone is offered it

    # The merchant generates the link on the dashboard.
    merchant = logged_in_page
    merchant.goto(f"{live_server.url}/payments/new/")
    merchant.fill("#id_member", "alice@example.com")
    merchant.fill("#id_amount", "25.00")
    merchant.fill("#id_description", "Two coffees <b>& a croissant</b>")
    merchant.click("button:has-text('Generate Payment Link')")
    merchant.wait_for_url(re.compile(r"/payments/[A-Za-z0-9_-]{20,}/$"))
    link = PaymentLink.objects.get()
    public = merchant.input_value("#public-url")
    assert public == f"{live_server.url}/pay/{link.code}/"
    merchant.evaluate("window.__noReload = true")

    with scan_loop("devnet"):
        # A signed-out customer on a phone opens it and picks USDC on the local devnet.
        customer = new_context(viewport=PHONE).new_page()
        assert customer.goto(public).status == 200
        customer.get_by_text("Corner Shop").first.wait_for()
        assert customer.get_by_text("Two coffees <b>& a croissant</b>").is_visible()  # escaped, shown as text
        shot(customer, "1-picker-390")
        customer.get_by_label(re.compile(r"USDC\s+on Local devnet")).check()
        customer.click("button:has-text('Continue')")
        customer.locator("#pay-address").wait_for()
        assert "Local devnet (anvil)" in customer.locator(".network-line").inner_text()
        address = customer.locator("#pay-address").inner_text().strip()
        amount_text = customer.locator("#pay-amount").inner_text().strip()
        assert amount_text == "25 USDC"
        assert customer.get_attribute("#open-wallet", "href") == (
            f"ethereum:0x5FbDB2315678afecb367f032d93F642f64180aa3@31337/transfer?address={address}&uint256=25000000"
        )
        assert customer.locator(".qr-box svg").is_visible()
        customer.locator("[data-countdown-display]", has_text=re.compile(r"\d+:\d\d left")).wait_for()
        customer.locator("text=Waiting for payment").wait_for()
        shot(customer, "2-pay-390")
        customer.set_viewport_size({"width": 1280, "height": 900})
        shot(customer, "2-pay-1280")
        customer.set_viewport_size(PHONE)
        customer.evaluate("window.__noReload = true")

        # The test pays exactly what the page shows, to the address the page shows.
        units = to_base_units(Decimal(amount_text.split()[0]), 6)
        tx_hash = devnet.send_token(address, units)
        customer.get_by_text(re.compile(r"Confirming: \d of 3|Payment successful")).first.wait_for(timeout=20_000)
        shot(customer, "3-confirming-390")
        devnet.mine(3)

        # The page turns without a reload, and stops polling.
        customer.locator("text=Payment successful").wait_for(timeout=20_000)
        assert customer.evaluate("window.__noReload") is True
        assert customer.locator(f"text={tx_hash}").is_visible()
        assert "25 USDC" in customer.locator(".facts").inner_text()
        assert customer.get_attribute("a:has-text('Return to Corner Shop')", "href") == "https://shop.example.com/thanks"
        assert customer.locator("#checkout[hx-trigger]").count() == 0
        # The merchant's link page followed along by itself, and now leads with the outcome.
        merchant.locator("#payment-summary", has_text="Paid in full").wait_for(timeout=20_000)
        assert merchant.evaluate("window.__noReload") is True
        assert merchant.locator("#share-whatsapp").count() == 0 and merchant.locator("#link-live[hx-trigger]").count() == 0
        shot(merchant, "4-merchant-paid-1280")
        shot(customer, "4-success-390")
        customer.set_viewport_size({"width": 1280, "height": 900})
        shot(customer, "4-success-1280")

    link.refresh_from_db()
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.SUCCESSFUL, "paid", 25_000_000)

    # All Payments shows it Successful, with amount received, network and time paid.
    merchant.goto(f"{live_server.url}/payments/")
    row = merchant.locator("#payments tbody tr", has_text="alice@example.com")
    text = row.inner_text()
    assert "Successful" in text
    assert "25" in row.locator("td[data-label='Received']").inner_text()
    assert "USDC" in text and "Local devnet" in text
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", row.locator("td[data-label='Paid']").inner_text())
    shot(merchant, "5-all-payments-1280")


def test_without_javascript_the_pay_page_promises_nothing_it_cannot_do(
    live_server, new_context, project, member, monkeypatch, settings
):
    from links.checkout import quote_create
    from tests.links.pay_support import make_link, make_shop

    for shop in make_shop(project, monkeypatch, settings):
        link = make_link(shop, member)
        quote_create(link=link, network="devnet", asset="USDC")
        page = new_context(java_script_enabled=False, viewport=PHONE).new_page()
        page.goto(f"{live_server.url}/pay/{link.code}/")
        page.locator("#pay-address").wait_for()
        assert page.locator("button.copy").count() == 2
        assert not page.locator("button.copy").first.is_visible()  # [hidden] wins over .btn's display
        assert not page.get_by_text("this page also updates by itself").is_visible()
        assert page.locator("a:has-text('Refresh')").is_visible()
        shot(page, "nojs-pay-390")
        with_js = new_context(viewport=PHONE).new_page()
        with_js.goto(f"{live_server.url}/pay/{link.code}/")
        with_js.get_by_text("this page also updates by itself").wait_for()
