"""The public pay page, as a customer's browser sees it (no JavaScript needed)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from chain.models import Deposit
from links.models import PaymentLink, Quote
from tests.links.pay_support import deposit, make_link
from tests.links.test_checkout import FIRST_ADDRESS, shop, stall  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db


@pytest.fixture
def link(shop, member):  # noqa: F811
    return make_link(shop, member, amount="25.00", description="Two coffees & a croissant")


def page_url(link) -> str:
    return f"/pay/{link.code}/"


def pick(client, link, choice: str):
    return client.post(f"/pay/{link.code}/quote/", {"choice": choice})


def test_shell_shows_merchant_amount_description_without_login(client, link):
    response = client.get(page_url(link))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Corner Shop" in html
    assert "$25.00" in html
    assert "Two coffees &amp; a croissant" in html
    assert "Choose how to pay" in html
    assert "Sign out" not in html and "All Payments" not in html  # not the dashboard's layout


def test_unknown_code_is_a_friendly_404(client, db):
    response = client.get("/pay/no-such-link/")
    assert response.status_code == 404
    assert "Payment link not found" in response.content.decode()


def test_description_is_escaped(client, shop, member):  # noqa: F811
    link = make_link(shop, member, description='<script>alert("x")</script>')
    html = client.get(page_url(link)).content.decode()
    assert '<script>alert("x")</script>' not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


def test_no_inline_scripts(client, link):
    pick(client, link, "devnet:USDC")
    html = client.get(page_url(link)).content.decode()
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts and all("src=" in tag for tag in scripts)
    assert " on" + "click=" not in html
    assert "style=" not in html  # a strict CSP may forbid inline styles too


def test_cancelled_link_says_so_and_offers_no_address(client, link):
    pick(client, link, "devnet:USDC")
    PaymentLink.objects.filter(pk=link.pk).update(cancelled_at=timezone.now())
    html = client.get(page_url(link)).content.decode()
    assert "This payment link was cancelled" in html
    assert FIRST_ADDRESS not in html
    assert "Choose how to pay" not in html
    assert "hx-trigger" not in html  # final: no polling


def test_expired_quote_offers_a_refresh_with_the_same_address(client, link):
    from links.models import Quote

    pick(client, link, "devnet:USDC")
    Quote.objects.filter(link=link).update(expires_at=timezone.now() - timedelta(seconds=1))
    html = client.get(page_url(link)).content.decode()
    assert "This quote has expired" in html and "Refresh quote" in html
    assert "Open in wallet" not in html
    pick(client, link, "devnet:USDC")
    assert link.quotes.count() == 2
    html = client.get(page_url(link)).content.decode()
    assert "Open in wallet" in html and FIRST_ADDRESS in html


def test_expired_link_says_so(client, shop, member):  # noqa: F811
    link = make_link(shop, member, expires_at=timezone.now() - timedelta(minutes=1))
    html = client.get(page_url(link)).content.decode()
    assert "This payment link has expired" in html
    assert "Choose how to pay" not in html


def test_picking_a_coin_shows_amount_address_qr_and_wallet_link(client, link):
    response = pick(client, link, "devnet:USDC")
    assert response.status_code == 302 and response["Location"] == page_url(link)
    html = client.get(page_url(link)).content.decode()
    assert "25 USDC" in html
    assert FIRST_ADDRESS in html
    assert "Local devnet (anvil)" in html  # the network in words
    assert re.search(r'<figure class="qr-box">\s*<svg role="img"', html)
    uri = f"ethereum:0x5FbDB2315678afecb367f032d93F642f64180aa3@31337/transfer?address={FIRST_ADDRESS}&amp;uint256=25000000"
    assert f'href="{uri}"' in html
    assert "Quote valid until" in html and "data-countdown" in html
    assert "Waiting for payment" in html
    assert f'hx-get="/pay/{link.code}/status/?v=' in html and 'hx-trigger="every' in html
    assert f'href="/pay/{link.code}/"' in html  # the no-JavaScript refresh link


def test_reload_never_allocates_a_new_address(client, link):
    pick(client, link, "devnet:USDC")
    for _ in range(3):
        client.get(page_url(link))
    assert link.deposit_addresses.count() == 1


def test_choice_can_be_changed_before_paying(client, link):
    pick(client, link, "devnet:USDC")
    html = client.get(page_url(link) + "?change=1").content.decode()
    assert "Choose how to pay" in html
    assert 'value="devnet:USDC" checked' in html or re.search(r'value="devnet:USDC"\s+checked', html)
    pick(client, link, "devnet:ETH")
    html = client.get(page_url(link)).content.decode()
    assert "Send <strong>ETH</strong> on the <strong>Local devnet (anvil)</strong> network" in html
    assert f'href="ethereum:{FIRST_ADDRESS}@31337?value=8334000000000000"' in html  # $25 at 3000 USD/ETH, up to 0.000001 ETH
    assert "0.008334 ETH" in html
    assert FIRST_ADDRESS in html


def test_ether_buyers_are_told_to_send_directly_where_contract_payments_are_not_traced(client, link, monkeypatch):
    from chain import catalogue

    pick(client, link, "devnet:ETH")
    html = client.get(page_url(link)).content.decode()
    assert "smart-contract wallet" not in html  # the devnet reads call traces: Safe payments are seen

    monkeypatch.setenv("PAYRAM_INTERNAL_TRANSFERS_DEVNET", "false")
    catalogue.reload()
    try:
        html = client.get(page_url(link)).content.decode()
    finally:
        monkeypatch.delenv("PAYRAM_INTERNAL_TRANSFERS_DEVNET")
        catalogue.reload()
    assert "Send it directly from a wallet account" in html and "smart-contract wallet (such as Safe) is not detected" in html


def test_quote_needs_csrf(link):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(f"/pay/{link.code}/quote/", {"choice": "devnet:USDC"}).status_code == 403
    assert not link.quotes.exists()


def test_quote_is_post_only(client, link):
    assert client.get(f"/pay/{link.code}/quote/").status_code == 405


def test_bad_choice_gets_a_message(client, link):
    response = pick(client, link, "devnet:DOGE")
    assert response.status_code == 400
    assert "not offered" in response.content.decode()


def test_no_price_says_so_and_offers_stablecoins(client, link, settings):
    settings.PAYRAM_FIXED_RATES = "BTC=60000"
    response = pick(client, link, "devnet:ETH")
    html = response.content.decode()
    assert response.status_code == 503
    assert "We can&#x27;t get an exchange rate for ETH" in html
    assert "Stablecoins don't need an exchange rate: USDC on Local devnet (anvil)" in html
    assert "Open in wallet" not in html and "Quote valid until" not in html  # no made-up amount
    assert not link.quotes.exists()


def test_stalled_network_is_temporarily_unavailable(client, link, stall):  # noqa: F811
    stall("devnet")
    html = client.get(page_url(link)).content.decode()
    assert "Temporarily unavailable" in html
    assert re.search(r'value="devnet:USDC"\s+disabled', html)


def test_confirming_shows_n_of_n_with_a_progress_bar(client, link):
    pick(client, link, "devnet:USDC")
    deposit(link.quotes.get().deposit_address, 25_000_000, confirmations=1)
    html = client.get(page_url(link)).content.decode()
    assert "Confirming: 1 of 3" in html
    assert '<progress class="progress" max="3" value="1"' in html
    assert FIRST_ADDRESS not in html and "Simulate payment" not in html  # all of it is on its way


def test_underpaid_shows_received_and_remaining(client, link):
    pick(client, link, "devnet:USDC")
    deposit(link.quotes.get().deposit_address, 10_000_000)
    html = client.get(page_url(link)).content.decode()
    assert "Partly paid" in html
    assert "10 USDC" in html and "15 USDC" in html
    assert "uint256=15000000" in html  # the QR asks for the rest only


def test_successful_payment_shows_amount_tx_time_and_return_button(client, link):
    pick(client, link, "devnet:USDC")
    dep = deposit(link.quotes.get().deposit_address, 25_000_000)
    html = client.get(page_url(link)).content.decode()
    assert "Payment successful" in html
    assert dep.tx_hash in html
    assert 'href="https://shop.example.com/thanks"' in html and "Return to Corner Shop" in html
    assert "hx-trigger" not in html  # polling stops
    assert FIRST_ADDRESS not in html


def test_return_button_only_for_http_urls(client, link):
    link.project.return_url = "javascript:alert(1)"
    link.project.save()
    pick(client, link, "devnet:USDC")
    deposit(link.quotes.get().deposit_address, 25_000_000)
    html = client.get(page_url(link)).content.decode()
    assert "Payment successful" in html
    assert "Return to" not in html and "javascript:" not in html


def test_status_fragment_is_204_while_nothing_changed_and_new_when_it_did(client, link):
    pick(client, link, "devnet:USDC")
    html = client.get(page_url(link)).content.decode()
    poll = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert client.get(poll, headers={"HX-Request": "true"}).status_code == 204
    deposit(link.quotes.get().deposit_address, 25_000_000)
    response = client.get(poll, headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.content.decode()
    assert "Payment successful" in fragment and "hx-trigger" not in fragment
    assert "<html" not in fragment


def _poll_url(client, link) -> str:
    html = client.get(page_url(link)).content.decode()
    return re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")


def test_nothing_changed_costs_the_poll_one_query(client, link, monkeypatch, django_assert_num_queries):
    """Every open pay page asks every few seconds: "nothing changed" is one query, with
    no state derived and no QR drawn (issue 15; bench/ measures it under gunicorn)."""
    monkeypatch.setattr("links.pay_views.HEALTH_MEMO_SECONDS", 60.0)  # asked once, by the page
    pick(client, link, "devnet:USDC")
    poll = _poll_url(client, link)
    with django_assert_num_queries(1):
        assert client.get(poll, headers={"HX-Request": "true"}).status_code == 204


def test_a_page_asked_to_change_coin_polls_204_while_nothing_changed(client, link):
    """?change=1 draws the picker (its poll URL keeps change=1), or not once money was
    seen (its poll URL drops it): either way the poll must answer 204 while nothing changed."""
    pick(client, link, "devnet:USDC")
    html = client.get(page_url(link) + "?change=1").content.decode()
    poll = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "change=1" in poll
    assert client.get(poll, headers={"HX-Request": "true"}).status_code == 204
    deposit(link.quotes.get().deposit_address, 10_000_000)  # underpaid: no coin change any more
    html = client.get(page_url(link) + "?change=1").content.decode()
    poll = re.search(r'hx-get="([^"]+)"', html).group(1).replace("&amp;", "&")
    assert "change=1" not in poll
    assert client.get(poll, headers={"HX-Request": "true"}).status_code == 204


def test_the_poll_sees_facts_the_writer_has_not_stored_yet(client, link):
    """The poll's key is made of the facts, not the stored status: a deposit recorded
    before the status writer ran, and a quote that just ran out, both redraw the page."""
    pick(client, link, "devnet:USDC")
    poll = _poll_url(client, link)
    quote = link.quotes.get()
    Deposit.objects.create(
        network="devnet",
        asset="USDC",
        tx_hash="0x" + "aa" * 32,
        index=0,
        address=quote.deposit_address,
        value=25_000_000,
        confirmations=0,
        block_height=None,
        block_hash="",
    )  # no deposits_changed: the writer has not run
    response = client.get(poll, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "Payment seen" in response.content.decode()

    other = make_link(link.project, link.member)
    pick(client, other, "devnet:USDC")
    poll = _poll_url(client, other)
    assert client.get(poll, headers={"HX-Request": "true"}).status_code == 204
    Quote.objects.filter(link=other).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.get(poll, headers={"HX-Request": "true"}).status_code == 200


def test_simulate_payment_button_only_on_the_devnet(client, link, monkeypatch):
    from chain import catalogue

    pick(client, link, "devnet:USDC")
    assert "Simulate payment" in client.get(page_url(link)).content.decode()

    monkeypatch.setenv("PAYRAM_RPC_BASE", "http://127.0.0.1:3")
    catalogue.reload()
    other = make_link(link.project, link.member)
    pick(client, other, "base:USDC")
    html = client.get(page_url(other)).content.decode()
    assert "Base" in html and FIRST_ADDRESS not in html  # a second link: the next address
    assert "Simulate payment" not in html
    response = client.post(f"/pay/{other.code}/simulate/")
    assert response.status_code == 400
    assert "only on the local devnet" in response.content.decode()


@pytest.mark.anvil
def test_simulate_payment_pays_the_quote_on_the_devnet(client, link, devnet):
    from chain.models import Deposit
    from chain.scanner import scan_network

    pick(client, link, "devnet:USDC")
    response = client.post(f"/pay/{link.code}/simulate/")
    assert response.status_code == 302
    tx_hash = response["Location"].split("sent=")[1]
    assert (
        f'Test payment sent in transaction <span class="mono break">{tx_hash}</span>'
        in client.get(response["Location"]).content.decode()
    )
    devnet.mine(3)
    assert scan_network("devnet").ok
    deposit = Deposit.objects.get(tx_hash=tx_hash)
    assert (deposit.asset, deposit.value, deposit.address.address) == ("USDC", 25_000_000, FIRST_ADDRESS)
    html = client.get(page_url(link)).content.decode()
    assert "Payment successful" in html and tx_hash in html


def test_bitcoin_quote_shows_a_bip21_request(client, link):
    from chain.wallets import wallet_set

    zpub = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
    wallet_set(project=link.project, family="bitcoin", xpub=zpub)
    assert 'value="bitcoin:BTC"' in client.get(page_url(link)).content.decode()
    pick(client, link, "bitcoin:BTC")
    html = client.get(page_url(link)).content.decode()
    # $25 at 60,000 USD/BTC is 0.000416666… BTC: rounded up to the satoshi.
    assert "0.00041667 BTC" in html
    assert 'href="bitcoin:bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu?amount=0.00041667"' in html
    assert "Send <strong>BTC</strong> on the <strong>Bitcoin</strong> network." in html
    assert "Simulate payment" not in html


def test_payment_in_the_mempool_shows_payment_seen(client, link):
    pick(client, link, "devnet:USDC")
    deposit(link.quotes.get().deposit_address, 25_000_000, confirmations=0)
    html = client.get(page_url(link)).content.decode()
    assert "Payment seen" in html and "Waiting for the first confirmation" in html
    assert 'hx-trigger="every' in html  # still watching


def test_picking_on_a_link_cancelled_meanwhile_says_so(client, link):
    client.get(page_url(link))  # the customer has the picker open…
    PaymentLink.objects.filter(pk=link.pk).update(cancelled_at=timezone.now())  # …the merchant cancels
    response = pick(client, link, "devnet:USDC")
    assert response.status_code == 400
    assert "This payment link was cancelled" in response.content.decode()
    assert not link.deposit_addresses.exists()


def test_a_payment_dropped_by_a_reorg_stays_on_the_page_marked_dropped(client, link):
    pick(client, link, "devnet:USDC")
    deposit(link.quotes.get().deposit_address, 25_000_000, confirmations=0, orphaned=True)
    html = client.get(page_url(link)).content.decode()
    assert "dropped by a chain reorganisation" in html
    assert "Your payment was seen, then dropped from the chain" in html
    assert "25 USDC" in html and "Transactions received (1)" in html
    # Still open for payment: the address and amount are offered again.
    assert FIRST_ADDRESS in html


def test_an_open_quote_on_a_stalled_network_tells_the_customer(client, link, stall):  # noqa: F811
    pick(client, link, "devnet:USDC")
    html = client.get(page_url(link)).content.decode()
    assert FIRST_ADDRESS in html and 'id="network-stalled"' not in html
    stall("devnet")
    html = client.get(page_url(link)).content.decode()
    assert FIRST_ADDRESS in html
    assert 'id="network-stalled"' in html and "can't read the Local devnet (anvil) network right now" in html
    # The live fragment changes with it (the poll's "nothing changed" key includes it).
    status = client.get(f"/pay/{link.code}/status/").content.decode()
    assert "can't read the Local devnet (anvil) network right now" in status


def test_the_qr_code_is_drawn_once_per_quote_not_on_every_reload(client, link, monkeypatch):
    from links import qr

    drawn = []
    real = qr._qr
    monkeypatch.setattr(qr, "_qr", lambda data: drawn.append(data) or real(data))
    qr._svg.cache_clear()
    pick(client, link, "devnet:USDC")
    svg = re.compile(r"<svg.*?</svg>", re.S)
    first = svg.findall(client.get(page_url(link)).content.decode())
    for _ in range(3):
        assert svg.findall(client.get(page_url(link)).content.decode()) == first  # the same code, byte for byte
    assert len(drawn) == 1 and "uint256=25000000" in drawn[0]
