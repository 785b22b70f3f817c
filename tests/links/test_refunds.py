"""Refunds without holding keys: the merchant asks, the customer gives an address (checked
for the network), the merchant's page shows a payment request for their own wallet, and
the scanner's record of a transfer to that address marks the refund Sent."""

from __future__ import annotations

import csv
import io
import re

import pytest

from chain import catalogue
from chain.addresses import AddressRefused, address_check
from chain.models import DepositAddress
from links.checkout import quote_create
from links.models import PaymentLink, Refund, RefundState
from links.notifications.models import WebhookEvent
from links.refunds import refund_create
from tests.links.pay_support import deposit, make_link, make_quote, make_shop
from tests.support.anvil import random_address

pytestmark = pytest.mark.django_db

DUE = 25_000_000


@pytest.fixture(autouse=True)
def hooks(project, settings):
    from links.notifications.webhooks import endpoint_create

    settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE = True
    settings.PAYRAM_BASE_URL = "https://pay.example.com"
    endpoint_create(
        project=project,
        url="https://hooks.example.com/payram",
        events=["refund.requested", "refund.address_given", "refund.sent"],
    )


# -- addresses, as a customer types them -------------------------------------------------


@pytest.mark.parametrize(
    "slug, text, canonical",
    [
        ("bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", None),  # BIP173 v0
        ("bitcoin", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"),
        ("bitcoin", "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0", None),  # BIP350 taproot
        ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", None),
        ("bitcoin", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", None),
        ("bitcoin-testnet4", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", None),
        ("ethereum", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        ("ethereum", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", None),
        ("tron", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t", None),  # Tether's USDT contract, a valid address
    ],
)
def test_valid_addresses_are_taken_in_canonical_form(slug, text, canonical):
    assert address_check(catalogue.get(slug), f"  {text} ") == (canonical or text)


@pytest.mark.parametrize(
    "slug, text, words",
    [
        ("bitcoin", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5", "checksum does not match"),
        ("bitcoin", "bc1zw508d6qejxtdg4y5r3zarvaryvqyzf3du", "checksum"),  # v16 in bech32, not bech32m (BIP350)
        ("bitcoin", "bc1Qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "mixes capital"),
        ("bitcoin", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", "another network"),
        ("bitcoin", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3", "checksum"),
        ("bitcoin-testnet4", "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", "another network"),
        ("ethereum", "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "EIP-55"),
        ("ethereum", "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beae", "40 hexadecimal"),
        ("ethereum", "", "Enter the address"),
        ("tron", "TR7NHqjeKQxGTCi8q8ZvbVSzBFcCHR1n9Kt", "not a valid"),  # checksum fails
        ("tron", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "starts with T"),
    ],
)
def test_bad_addresses_are_refused_with_the_reason(slug, text, words):
    with pytest.raises(AddressRefused, match=words):
        address_check(catalogue.get(slug), text)


# -- the flow, recorded deposits standing in for the chain ---------------------------------


@pytest.fixture
def link(project, member):
    return make_link(project, member)


@pytest.fixture
def address(evm_address, link):
    a = evm_address()
    link.deposit_addresses.add(a)
    return a


@pytest.fixture
def overpaid(link, address):
    make_quote(link, address, amount_due=DUE)
    deposit(address, 30_000_000)
    assert PaymentLink.objects.get(pk=link.pk).status_detail == "overpaid"
    return link


def test_merchant_refunds_the_excess_and_the_customer_gives_an_address(merchant_client, client, overpaid, merchant):
    page = merchant_client.get(f"/payments/{overpaid.code}/").content.decode()
    assert 'id="refund-link"' in page
    form = merchant_client.get(f"/payments/{overpaid.code}/refund/").content.decode()
    assert "The excess: 5 USDC" in form and "All that was received: 30 USDC" in form
    assert merchant_client.post(f"/payments/{overpaid.code}/refund/", {"option": "excess"}).status_code == 302
    refund = Refund.objects.get()
    assert (refund.state, refund.amount, refund.asset, refund.network, refund.reason) == (
        "requested",
        5_000_000,
        "USDC",
        "devnet",
        "overpaid",
    )
    url = f"https://pay.example.com/pay/{overpaid.code}/refund/{refund.code}/"
    page = merchant_client.get(f"/payments/{overpaid.code}/").content.decode()
    assert url in page and "Waiting for the customer to enter their address" in page
    assert 'id="refund-link"' not in page  # one refund at a time
    assert WebhookEvent.objects.get(type="refund.requested").payload["refund"]["url"] == url

    customer = client.get(f"/pay/{overpaid.code}/refund/{refund.code}/").content.decode()
    assert "5 USDC" in customer and "Where should we send your refund?" in customer and "private key" in customer
    bad = client.post(f"/pay/{overpaid.code}/refund/{refund.code}/", {"address": "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed"})
    assert bad.status_code == 400 and "EIP-55" in bad.content.decode()
    assert Refund.objects.get().state == "requested"
    given = client.post(f"/pay/{overpaid.code}/refund/{refund.code}/", {"address": "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"})
    assert given.status_code == 302
    refund.refresh_from_db()
    assert (refund.state, refund.address) == ("address_given", "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    watch = DepositAddress.objects.get(address=refund.address)
    assert (watch.purpose, watch.family) == ("refund", "evm")
    assert not watch.payment_links.exists()  # a watched row of no link
    assert WebhookEvent.objects.filter(type="refund.address_given").count() == 1

    page = merchant_client.get(f"/payments/{overpaid.code}/").content.decode()
    token = catalogue.DEVNET_TOKEN_ADDRESS
    assert f"ethereum:{token}@31337/transfer?address={refund.address}&amp;uint256=5000000" in page
    assert 'Send <strong class="amount">5 USDC</strong> on Local devnet (anvil) from your own wallet' in page


def test_a_transfer_to_the_refund_address_marks_it_sent(overpaid, merchant, client, merchant_client, evm_address):
    refund = refund_create(link=overpaid, option="excess", user=merchant)
    client.post(f"/pay/{overpaid.code}/refund/{refund.code}/", {"address": random_address()})
    refund.refresh_from_db()
    watch = refund.watch
    deposit(watch, 4_999_999)  # short: not the refund
    deposit(watch, 5_000_000, asset="ETH")  # another asset: not the refund
    refund.refresh_from_db()
    assert refund.state == RefundState.ADDRESS_GIVEN
    sent = deposit(watch, 5_000_000, confirmations=0)  # in the mempool: not yet
    assert Refund.objects.get().state == RefundState.ADDRESS_GIVEN
    from tests.links.pay_support import set_confirmations

    set_confirmations(sent, 1)
    refund.refresh_from_db()
    assert (refund.state, refund.sent_tx) == (RefundState.SENT, sent.tx_hash)
    assert WebhookEvent.objects.get(type="refund.sent").payload["refund"]["sent_tx"] == sent.tx_hash
    assert PaymentLink.objects.get(pk=overpaid.pk).status_detail == "overpaid"  # the link's own money is untouched

    listing = merchant_client.get("/payments/").content.decode()
    assert "Refund sent: 5 USDC" in listing
    rows = list(csv.reader(io.StringIO(b"".join(merchant_client.get("/payments/export.csv").streaming_content).decode())))
    assert rows[1][rows[0].index("Refund")] == f"Refund sent: 5 USDC ({sent.tx_hash})"


def test_refund_states_in_the_api(overpaid, merchant, project, client):
    from members.services import api_key_create
    from tests.api.conftest import documented

    refund = refund_create(link=overpaid, option="received", user=merchant)
    _, key = api_key_create(project=project, name="Shop")
    response = client.get(f"/api/v1/links/{overpaid.code}", HTTP_AUTHORIZATION=f"Bearer {key}")
    [shown] = documented(response, "/api/v1/links/{code}", "get")["refunds"]
    assert (shown["state"], shown["amount"], shown["amount_base_units"], shown["code"]) == (
        "requested",
        "30",
        "30000000",
        refund.code,
    )
    listed = client.get("/api/v1/links", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert documented(listed, "/api/v1/links", "get")["data"][0]["refunds"][0]["state"] == "requested"


def test_a_fiat_amount_is_converted_at_the_current_rate(project, member, monkeypatch, settings, merchant, merchant_client):
    for shop in make_shop(project, monkeypatch, settings):
        link = make_link(shop, member, amount="30.00")
        quote = quote_create(link=link, network="devnet", asset="ETH")  # 0.01 ETH at 3000
        deposit(quote.deposit_address, int(quote.amount_due), asset="ETH")
        merchant_client.post(f"/payments/{link.code}/cancel/")  # refused: already paid
        link = make_link(shop, member, amount="30.00")
        quote = quote_create(link=link, network="devnet", asset="ETH")
        merchant_client.post(f"/payments/{link.code}/cancel/")
        deposit(quote.deposit_address, int(quote.amount_due), asset="ETH")
        assert PaymentLink.objects.get(pk=link.pk).status_detail == "refund_due"
        too_much = merchant_client.post(f"/payments/{link.code}/refund/", {"option": "fiat", "fiat_amount": "31"})
        assert too_much.status_code == 400 and "more than the 0.01 ETH received" in too_much.content.decode()
        bad = merchant_client.post(f"/payments/{link.code}/refund/", {"option": "fiat", "fiat_amount": "1e1"})
        assert bad.status_code == 400 and "such as 5 or 2.50" in bad.content.decode()
        assert not Refund.objects.exists()
        assert merchant_client.post(f"/payments/{link.code}/refund/", {"option": "fiat", "fiat_amount": "15"}).status_code == 302
        assert Refund.objects.get().amount == 5_000_000_000_000_000  # $15 at 3000 USD/ETH
        assert Refund.objects.get().reason == "refund_due"


def test_only_refundable_links_and_only_their_merchant(client, other_merchant, merchant_client, link, address, overpaid):
    fresh = make_link(link.project, link.member)
    nothing = merchant_client.post(f"/payments/{fresh.code}/refund/", {"option": "received"})
    assert nothing.status_code == 400 and "Only a refund-due, overpaid or underpaid link" in nothing.content.decode()
    assert not Refund.objects.exists()
    client.force_login(other_merchant)
    assert client.get(f"/payments/{overpaid.code}/refund/").status_code == 404
    assert client.post(f"/payments/{overpaid.code}/refund/", {"option": "excess"}).status_code == 404
    assert not Refund.objects.exists()


def test_unknown_or_mismatched_refund_codes_are_404(client, overpaid, merchant, link):
    refund = refund_create(link=overpaid, option="excess", user=merchant)
    other = make_link(link.project, link.member)
    assert client.get(f"/pay/{other.code}/refund/{refund.code}/").status_code == 404
    assert client.get(f"/pay/{overpaid.code}/refund/{'x' * 22}/").status_code == 404


def test_a_payment_address_of_the_shop_is_not_a_refund_address(client, overpaid, merchant, address):
    refund = refund_create(link=overpaid, option="excess", user=merchant)
    response = client.post(f"/pay/{overpaid.code}/refund/{refund.code}/", {"address": address.address})
    assert response.status_code == 400 and "payment address of this shop" in response.content.decode()


def test_the_member_is_emailed_the_refund_link(overpaid, merchant, settings):
    from links.notifications.models import EmailKind, OutboundEmail

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    refund = refund_create(link=overpaid, option="excess", user=merchant)
    email = OutboundEmail.objects.get(kind=EmailKind.REFUND_REQUEST)
    assert email.recipients == ["alice@example.com"]
    assert f"/pay/{overpaid.code}/refund/{refund.code}/" in email.text and "5 USDC" in email.text


@pytest.fixture
def shop(project, monkeypatch, settings):
    yield from make_shop(project, monkeypatch, settings)


@pytest.mark.anvil
def test_refund_on_anvil_from_any_sender(shop, member, devnet, merchant, client):
    """Underpaid on a real chain; the merchant gives up and refunds what came; the
    customer's address is watched and the merchant's transfer (any sender) marks it Sent."""
    from chain.scanner import scan_network

    link = make_link(shop, member, amount="25.00")
    quote = quote_create(link=link, network="devnet", asset="USDC")
    devnet.send_token(quote.deposit_address.address, 10_000_000)
    devnet.mine(3)
    assert scan_network("devnet").ok
    assert PaymentLink.objects.get(pk=link.pk).status_detail == "underpaid"
    refund = refund_create(link=link, option="received", user=merchant)
    customer_address = random_address()
    assert client.post(f"/pay/{link.code}/refund/{refund.code}/", {"address": customer_address.lower()}).status_code == 302
    devnet.send_token(customer_address, 10_000_000)
    devnet.mine(1)
    assert scan_network("devnet").ok
    refund.refresh_from_db()
    assert refund.state == RefundState.SENT and re.fullmatch(r"0x[0-9a-f]{64}", refund.sent_tx)
    assert "Refund sent" in client.get(f"/pay/{link.code}/refund/{refund.code}/").content.decode()


def test_a_refunded_link_cannot_be_refunded_twice(overpaid, merchant, merchant_client):
    from links.resolution import ResolutionRefused

    refund = refund_create(link=overpaid, option="excess", user=merchant)
    Refund.objects.filter(pk=refund.pk).update(state=RefundState.SENT, sent_tx="0x" + "ee" * 32)
    with pytest.raises(ResolutionRefused, match="already been refunded"):
        refund_create(link=overpaid, option="excess", user=merchant)
    assert 'id="refund-link"' not in merchant_client.get(f"/payments/{overpaid.code}/").content.decode()
