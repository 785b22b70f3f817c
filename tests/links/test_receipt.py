"""The customer's receipt: offered on the pay page once a link is Successful, printable,
at an address as unguessable as the pay page's, and emailed to the member."""

from __future__ import annotations

import pytest

from links.notifications.models import EmailKind, OutboundEmail
from tests.links.pay_support import deposit, make_link, make_quote

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(project, member):
    return make_link(project, member, amount="25.00", description="Two coffees")


@pytest.fixture
def address(evm_address, link):
    a = evm_address()
    link.deposit_addresses.add(a)
    return a


def test_no_receipt_before_the_link_is_paid(client, link, address):
    make_quote(link, address, amount_due=25_000_000)
    assert client.get(f"/pay/{link.code}/receipt/").status_code == 404
    assert "Receipt" not in client.get(f"/pay/{link.code}/").content.decode()


def test_a_paid_link_offers_a_printable_receipt(client, link, address, merchant, settings):
    merchant.first_name, merchant.last_name = "Ana", "Silva"
    merchant.save()
    make_quote(link, address, amount_due=25_000_000)
    tx = "0x" + "cd" * 32
    deposit(address, 25_000_000, tx_hash=tx)
    pay = client.get(f"/pay/{link.code}/").content.decode()
    assert f'href="/pay/{link.code}/receipt/"' in pay
    html = client.get(f"/pay/{link.code}/receipt/").content.decode()
    for words in (
        "Receipt",
        "Ana Silva",
        "Corner Shop",
        "Two coffees",
        "$25.00",
        "25 USDC",
        "Local devnet (anvil)",
        tx,
        link.code,
    ):
        assert words in html, words
    assert merchant.username not in html.replace('class="merchant"', "").replace("<dt>Merchant</dt>", "")  # never the login name
    assert "@media print" in open(settings.BASE_DIR / "static/css/pay.css").read()


def test_the_receipt_address_is_the_pay_codes_and_unknown_codes_are_404(client, db):
    assert client.get("/pay/" + "A" * 22 + "/receipt/").status_code == 404


def test_the_member_gets_the_receipt_by_email_when_email_is_set_up(link, address, settings, mailoutbox):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_quote(link, address, amount_due=25_000_000)
    deposit(address, 25_000_000)
    receipt = OutboundEmail.objects.get(kind=EmailKind.RECEIPT)
    assert receipt.recipients == ["alice@example.com"]
    assert receipt.subject == "Receipt: $25.00 to Corner Shop"
    assert f"/pay/{link.code}/receipt/" in receipt.text and "25 USDC" in receipt.text


def test_no_receipt_email_without_email(link, address, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.dummy.EmailBackend"
    make_quote(link, address, amount_due=25_000_000)
    deposit(address, 25_000_000)
    assert not OutboundEmail.objects.filter(kind=EmailKind.RECEIPT).exists()
