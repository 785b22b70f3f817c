"""The merchant resolving links by hand, in headless Chromium at phone and desktop width:
Mark as paid with a note, and a refund from request to Sent with the customer giving
their address on their own phone.

Set PAY_SCREENSHOTS=/some/dir to keep screenshots of each step."""

from __future__ import annotations

import pytest

from links.models import LinkSettlement, PaymentLink, Refund, RefundState
from tests.links.pay_support import deposit, make_link, make_quote
from tests.links.test_checkout_browser import shot
from tests.support.anvil import random_address
from tests.support.browser import DESKTOP, PHONE, log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

DUE = 25_000_000


def _paid(project, member, evm_address, value: int):
    link = make_link(project, member, description="Guitar lessons")
    address = evm_address()
    link.deposit_addresses.add(address)
    make_quote(link, address, amount_due=DUE)
    deposit(address, value)
    return PaymentLink.objects.get(pk=link.pk)


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_mark_an_underpaid_link_as_paid(new_context, live_server, merchant, password, project, member, evm_address, viewport):
    link = _paid(project, member, evm_address, 20_000_000)
    assert link.status_detail == "underpaid"
    page = new_context(viewport=viewport).new_page()
    log_in(page, live_server.url, merchant.username, password)
    page.goto(f"{live_server.url}/payments/{link.code}/")
    page.locator("#payment-summary", has_text="Underpaid").wait_for()
    width = viewport["width"]
    shot(page, f"settle-1-underpaid-{width}")

    page.click("#settle-link")
    dialog = page.locator("dialog#modal")
    dialog.wait_for(state="visible")
    dialog.locator("#settle-submit").click()
    dialog.locator("text=Write a note").wait_for()  # the note is required
    assert not LinkSettlement.objects.exists()
    dialog.locator("#settle-note").fill("The rest came by bank transfer, ref 88")
    shot(page, f"settle-2-note-{width}")
    dialog.locator("#settle-submit").click()
    page.locator("#settlement", has_text="The rest came by bank transfer, ref 88").wait_for()
    assert page.locator("#link-status .badge").inner_text() == "Successful"
    assert "Before: Pending (Underpaid)" in page.locator("#settlement").inner_text()
    assert page.locator("#settle-link").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scroll
    shot(page, f"settle-3-settled-{width}")
    assert PaymentLink.objects.get(pk=link.pk).status_detail == "settled"


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_refund_the_excess_from_request_to_sent(
    new_context, live_server, merchant, password, project, member, evm_address, settings, viewport
):
    settings.PAYRAM_BASE_URL = live_server.url
    link = _paid(project, member, evm_address, 30_000_000)
    assert link.status_detail == "overpaid"
    width = viewport["width"]
    page = new_context(viewport=viewport).new_page()
    log_in(page, live_server.url, merchant.username, password)
    page.goto(f"{live_server.url}/payments/{link.code}/")

    page.click("#refund-link")
    dialog = page.locator("dialog#modal")
    dialog.wait_for(state="visible")
    assert dialog.locator("input[name=option][value=excess]").is_checked()
    shot(page, f"refund-1-choose-{width}")
    dialog.locator("#refund-submit").click()
    card = page.locator(".refund-card")
    card.locator("text=Waiting for the customer to enter their address").wait_for()
    refund = Refund.objects.get()
    refund_url = card.locator("input[readonly]").input_value()
    assert refund_url == f"{live_server.url}/pay/{link.code}/refund/{refund.code}/"
    shot(page, f"refund-2-requested-{width}")

    # The customer, signed out on their phone, gives an address; a typo is caught first.
    customer = new_context(viewport=PHONE).new_page()
    customer.goto(refund_url)
    customer.locator("text=Where should we send your refund?").wait_for()
    good = random_address()
    typo = good[:-1] + ("0" if good[-1] != "0" else "1")
    customer.fill("#refund-address", typo if any(c.isalpha() for c in good[2:]) else "0x123")
    customer.click("#give-address")
    customer.locator("#address-error").wait_for()
    shot(customer, f"refund-3-customer-typo-{width}")
    customer.fill("#refund-address", good)
    customer.click("#give-address")
    customer.locator("text=Thank you").wait_for()
    shot(customer, f"refund-4-customer-given-{width}")

    # The merchant's page turns into a payment request by itself.
    page.locator("#refund-request").wait_for(timeout=15_000)
    assert good in page.locator("#refund-address").inner_text()
    assert page.locator(".refund-card .qr-small svg").is_visible()
    href = page.get_attribute("#refund-open-wallet", "href")
    assert href.endswith(f"/transfer?address={good}&uint256=5000000")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(page, f"refund-5-pay-request-{width}")

    # The merchant's wallet sends it; the scanner records it; the refund is Sent.
    refund.refresh_from_db()
    sent = deposit(refund.watch, 5_000_000)
    page.locator(".refund-card .refund-state", has_text="Sent").wait_for(timeout=15_000)
    assert sent.tx_hash in page.locator(".refund-card").inner_text()
    shot(page, f"refund-6-sent-{width}")
    customer.reload()
    customer.locator("text=Refund sent").wait_for()
    shot(customer, f"refund-7-customer-sent-{width}")
    assert Refund.objects.get().state == RefundState.SENT
