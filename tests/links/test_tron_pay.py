"""Tron on the pay page, in the API and in pricing: the QR and amount a customer gets,
underpaid and overpaid payments read by the scanner from the Tron test node, the link's
JSON, and TRX's exchange rate from the configured sources with their fallback."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chain import catalogue
from chain.scanner import scan_network
from links.pricing import Coinbase, FallbackChain, Kraken
from links.uris import payment_uri, uri_carries_amount
from tests.chain.test_tron_addresses import ABANDON, tron_xpub
from tests.links.pay_support import make_link
from tests.links.test_pricing import answer, ticker  # noqa: F401 - the local ticker fixture
from tests.support.tron_node import USDT

ADDRESS = "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"


def test_the_tron_qr_holds_the_plain_address_and_says_it_carries_no_amount():
    tron = catalogue.get("tron")
    assert payment_uri(tron, tron.asset("USDT"), ADDRESS, 25_000_000) == ADDRESS
    assert payment_uri(tron, tron.native, ADDRESS, 1) == ADDRESS
    assert not uri_carries_amount(tron)
    assert uri_carries_amount(catalogue.get("base")) and uri_carries_amount(catalogue.get("bitcoin"))


def test_trx_is_priced_by_the_next_source_when_the_first_has_no_trx(ticker):  # noqa: F811
    url, handler = ticker
    answer(handler, "/v2/prices/TRX-USD/spot", {"errors": [{"id": "not_found", "message": "Invalid currency"}]}, 404)
    answer(handler, "/0/public/Ticker?pair=TRXUSD", {"error": [], "result": {"TRXUSD": {"c": ["0.2871230", "15000"]}}})
    price = FallbackChain([Coinbase(url), Kraken(url)]).price("TRX", "USD")
    assert (price.rate, price.source) == (Decimal("0.2871230"), "kraken")


@pytest.fixture
def tron_shop(tron_node, project, settings, db):
    from django.core.cache import cache

    from chain.wallets import wallet_set

    settings.PAYRAM_PRICE_SOURCES = "fixed"
    settings.PAYRAM_FIXED_RATES = "TRX=0.25"
    cache.clear()
    wallet_set(project=project, family="tron", xpub=tron_xpub(ABANDON))
    assert scan_network("tron").ok
    yield project
    cache.clear()


def pick(client, link, choice: str):
    return client.post(f"/pay/{link.code}/quote/", {"choice": choice})


def page(client, link) -> str:
    return client.get(f"/pay/{link.code}/").content.decode()


def test_the_picker_offers_usdt_and_trx_on_tron(client, tron_shop, member):
    link = make_link(tron_shop, member)
    html = page(client, link)
    assert 'value="tron:USDT"' in html and 'value="tron:TRX"' in html
    assert "tron-nile" not in html  # a network without a node is not offered


def test_an_underpaid_usdt_link_asks_for_the_rest_and_a_top_up_pays_it(client, tron_shop, tron_node, member):
    link = make_link(tron_shop, member)
    pick(client, link, "tron:USDT")
    html = page(client, link)
    assert ADDRESS in html and "25 USDT" in html and "type the amount" in html

    tron_node.send_trc20(ADDRESS, 10_000_000)
    tron_node.mine(19)
    scan_network("tron")
    html = page(client, link)
    assert "Partly paid" in html and "10 USDT" in html and "15 USDT" in html

    tron_node.send_trc20(ADDRESS, 15_000_000)
    tron_node.mine(19)
    scan_network("tron")
    link.refresh_from_db()
    assert (link.status, link.status_detail, int(link.amount_received)) == ("successful", "paid", 25_000_000)
    assert "Payment successful" in page(client, link)


def test_an_overpaid_trx_link_is_successful_and_the_api_shows_the_deposit(client, tron_shop, tron_node, member):
    from django.test import Client

    from members.services import api_key_create

    link = make_link(tron_shop, member)
    pick(client, link, "tron:TRX")
    assert "100 TRX" in page(client, link)  # $25.00 at 0.25 USD per TRX
    tx = tron_node.send_trx(ADDRESS, 150_000_000)
    tron_node.mine(19)
    scan_network("tron")

    link.refresh_from_db()
    assert (link.status, link.status_detail) == ("successful", "overpaid")
    _, key = api_key_create(project=tron_shop, name="Shop")
    body = Client().get(f"/api/v1/links/{link.code}", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert body["status"] == "successful" and body["received"]["network"] == "tron"
    assert body["received"]["amount"] == "150" and body["received"]["asset"] == "TRX"
    [deposit] = body["deposits"]
    assert (deposit["network"], deposit["asset"], deposit["tx_hash"], deposit["value_base_units"]) == (
        "tron",
        "TRX",
        tx,
        "150000000",
    )
    assert body["quotes"][0]["address"] == ADDRESS


def test_a_chains_file_can_add_a_labelled_test_token_on_a_tron_test_network(tmp_path, settings):
    path = tmp_path / "chains.toml"
    path.write_text(
        '[[token]]\nnetwork = "tron-nile"\nsymbol = "TUSDT"\nname = "Nile test USDT (not Tether)"\n'
        f'decimals = 6\ncontract = "{USDT}"\n'
    )
    settings.PAYRAM_CHAINS_FILE = str(path)
    try:
        nile = catalogue.reload()["tron-nile"]
        assert [(t.symbol, t.name, t.contract) for t in nile.tokens] == [("TUSDT", "Nile test USDT (not Tether)", USDT)]
        path.write_text(
            '[[token]]\nnetwork = "tron-nile"\nsymbol = "X"\ndecimals = 6\ncontract = "0xdAC17F958D2ee523a2206206994597C13D831ec7"\n'
        )
        catalogue.reload()
        assert "T… address" in catalogue.config_errors()["*"]
    finally:
        settings.PAYRAM_CHAINS_FILE = ""
        catalogue.reload()
