"""Underpayment tolerance: a project setting (BTCPay's "consider the invoice paid if the
amount is at most X% short"); a link short by no more than it is Successful, detail
paid_short, and says by how much everywhere the merchant looks. A remainder smaller than
the network can carry is always covered."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from links.checkout import quote_create
from links.models import LinkStatus, PaymentLink
from links.notifications.models import WebhookEvent
from tests.links.pay_support import deposit, make_link, make_quote, make_shop

pytestmark = pytest.mark.django_db

DUE = 25_000_000  # 25 USDC


@pytest.fixture
def link(project, member):
    return make_link(project, member)


@pytest.fixture
def address(evm_address, link):
    a = evm_address()
    link.deposit_addresses.add(a)
    return a


def stored(link) -> PaymentLink:
    return PaymentLink.objects.get(pk=link.pk)


def tolerate(project, percent: str) -> None:
    project.underpayment_tolerance = Decimal(percent)
    project.save(update_fields=["underpayment_tolerance"])


def test_by_default_any_shortfall_is_underpaid(link, address):
    make_quote(link, address, amount_due=DUE)
    deposit(address, DUE - 10_000)  # a cent short
    link = stored(link)
    assert (link.status, link.status_detail, link.amount_short) == (LinkStatus.PENDING, "underpaid", None)


def test_short_within_the_tolerance_is_paid_short(project, link, address, merchant_client):
    tolerate(project, "1")
    make_quote(link, address, amount_due=DUE)
    deposit(address, DUE - 250_000)  # 0.25 USDC short: exactly 1%
    link = stored(link)
    assert (link.status, link.status_detail, link.amount_short) == (LinkStatus.SUCCESSFUL, "paid_short", 250_000)
    assert link.paid_at is not None

    page = merchant_client.get(f"/payments/{link.code}/").content.decode()
    assert 'Paid, short by <strong class="amount">0.25 USDC</strong>' in page
    assert "underpayment tolerance (1%)" in page
    listing = merchant_client.get("/payments/").content.decode()
    assert "Paid, short by 0.25 USDC" in listing
    rows = list(csv.reader(io.StringIO(b"".join(merchant_client.get("/payments/export.csv").streaming_content).decode())))
    assert rows[1][rows[0].index("Status detail")] == "Paid, short by 0.25 USDC"


def test_short_past_the_tolerance_stays_underpaid(project, link, address):
    tolerate(project, "1")
    make_quote(link, address, amount_due=DUE)
    deposit(address, DUE - 250_001)
    assert stored(link).status_detail == "underpaid"


def test_a_tolerance_change_applies_at_once(project, link, address, merchant_client):
    """members.signals.project_policy_changed: the project's pending links are updated by
    the settings POST itself, not by whoever next looks (reads never write)."""
    make_quote(link, address, amount_due=DUE)
    deposit(address, DUE - 100_000)
    assert stored(link).status_detail == "underpaid"
    response = merchant_client.post(
        f"/members/projects/{project.pk}/",
        {"name": project.name, "return_url": project.return_url, "underpayment_tolerance": "0.5"},
    )
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.underpayment_tolerance == Decimal("0.5")
    assert stored(link).status_detail == "paid_short"  # stored before anyone looks


@pytest.mark.parametrize(
    "value, message", [("11", "from 0 to 10"), ("-1", "from 0 to 10"), ("1e1", "such as 0 or 0.5"), ("0.001", "2 decimal places")]
)
def test_the_tolerance_setting_refuses_bad_input(project, merchant_client, value, message):
    response = merchant_client.post(
        f"/members/projects/{project.pk}/", {"name": project.name, "return_url": "", "underpayment_tolerance": value}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    project.refresh_from_db()
    assert project.underpayment_tolerance == 0


def test_api_and_webhooks_say_how_short(project, link, address, client, settings):
    from links.notifications.webhooks import endpoint_create
    from members.services import api_key_create

    settings.PAYRAM_WEBHOOK_ALLOW_PRIVATE = True
    _, api_key = api_key_create(project=project, name="Shop")

    endpoint_create(project=project, url="https://hooks.example.com/payram", events=["payment.confirmed"])
    tolerate(project, "2")
    make_quote(link, address, amount_due=DUE)
    deposit(address, DUE - 400_000)
    body = client.get(f"/api/v1/links/{link.code}", HTTP_AUTHORIZATION=f"Bearer {api_key}").json()
    assert (body["status"], body["detail"], body["detail_label"]) == ("successful", "paid_short", "Paid, short by 0.4 USDC")
    assert (body["received"]["short_by"], body["received"]["short_by_base_units"]) == ("0.4", "400000")
    confirmed = WebhookEvent.objects.get(type="payment.confirmed")
    payload = confirmed.payload["link"]
    assert (payload["detail"], payload["amount_short"], payload["amount_short_base_units"]) == ("paid_short", "0.4", "400000")


def test_a_bitcoin_remainder_below_dust_is_covered_even_at_zero_tolerance(link, address):
    # The customer sent the amount asked with the fee subtracted: 219 sat short, an amount no
    # wallet can send. Asking for it would leave overpaying as the only way out.
    make_quote(link, address, network="bitcoin", asset="BTC", amount_due=41_667)
    deposit(address, 41_667 - 219, network="bitcoin", asset="BTC")
    link = stored(link)
    assert (link.status, link.status_detail, link.amount_short) == (LinkStatus.SUCCESSFUL, "paid_short", 219)


def test_a_bitcoin_remainder_at_dust_is_still_asked(link, address):
    make_quote(link, address, network="bitcoin", asset="BTC", amount_due=41_667)
    deposit(address, 41_667 - 546, network="bitcoin", asset="BTC")
    assert stored(link).status_detail == "underpaid"


def test_nothing_received_is_never_covered(link, address):
    make_quote(link, address, network="bitcoin", asset="BTC", amount_due=300)  # an old quote below dust
    assert stored(link).status_detail == "awaiting_payment"
    deposit(address, 1, network="bitcoin", asset="BTC", confirmations=0)
    assert stored(link).status == LinkStatus.PENDING


@pytest.fixture
def shop(project, monkeypatch, settings):
    yield from make_shop(project, monkeypatch, settings)


@pytest.mark.anvil
@pytest.mark.parametrize("percent, detail", [("0", "underpaid"), ("0.1", "paid_short")])
def test_ether_rounded_down_by_a_wallet_on_anvil(shop, member, devnet, client, percent, detail):
    """$7.00 asks 0.002334 ETH; a wallet that sends 0.002333 leaves the link underpaid by
    0.000001 ETH, or paid short of it within a 0.1% tolerance."""
    from chain.scanner import scan_network

    tolerate(shop, percent)
    link = make_link(shop, member, amount="7.00")
    quote = quote_create(link=link, network="devnet", asset="ETH")
    assert quote.amount_due == 2_334_000_000_000_000
    devnet.send_eth(quote.deposit_address.address, 2_333_000_000_000_000)
    devnet.mine(3)
    assert scan_network("devnet").ok
    link = stored(link)
    assert link.status_detail == detail
    html = client.get(f"/pay/{link.code}/").content.decode()
    if detail == "underpaid":
        assert "<strong>0.000001 ETH</strong> still to pay" in html
    else:
        assert "Payment successful" in html
        assert link.amount_short == 1_000_000_000_000
