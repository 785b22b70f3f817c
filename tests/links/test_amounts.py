"""Amounts a wallet can send: quotes rounded up to a step a wallet types and an exchange
withdraws, never below what the network carries."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chain import catalogue
from links.checkout import CheckoutError, quote_create
from payram.lib.money import fiat_to_payable_units, format_units, payable_step
from tests.links.pay_support import make_link, make_shop

pytestmark = pytest.mark.django_db


ZPUB = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"


@pytest.fixture
def shop(project, monkeypatch, settings):
    from chain.wallets import wallet_set

    for shop in make_shop(project, monkeypatch, settings, networks=("devnet", "bitcoin")):
        wallet_set(project=shop, family="bitcoin", xpub=ZPUB)
        yield shop


def test_ether_is_asked_to_a_millionth_not_to_the_wei(shop, member, client):
    link = make_link(shop, member, amount="7.00")
    quote = quote_create(link=link, network="devnet", asset="ETH")
    # $7 at 3000 USD/ETH is 0.0023333… ETH: asked as 0.002334, which any wallet can type.
    assert quote.amount_due == 2_334_000_000_000_000
    html = client.get(f"/pay/{link.code}/").content.decode()
    assert "0.002334 ETH" in html
    assert "0.0023333" not in html


def test_stablecoins_are_asked_in_cents(shop, member):
    link = make_link(shop, member, amount="19.99")
    assert quote_create(link=link, network="devnet", asset="USDC").amount_due == 19_990_000


def test_bitcoin_is_asked_to_the_whole_satoshi(shop, member):
    link = make_link(shop, member, amount="25.00")
    assert quote_create(link=link, network="bitcoin", asset="BTC").amount_due == 41_667


@pytest.mark.parametrize("fiat", ["0.01", "7.00", "25.00", "999.99", "1000000000"])
@pytest.mark.parametrize(
    "asset, rate",
    [(catalogue.ETH, r) for r in ("0.5", "3000", "60000", "250000")]
    + [(catalogue.BTC, r) for r in ("3000", "60000", "250000")]
    + [(catalogue._usdc("0x" + "1" * 40), r) for r in ("1", "0.92", "1.27")],
)
def test_rounding_up_costs_less_than_a_cent_or_a_tenth_of_a_percent(fiat, asset, rate):
    fiat, rate = Decimal(fiat), Decimal(rate)
    if True:
        exact = fiat / rate
        asked = Decimal(fiat_to_payable_units(fiat, rate, asset.decimals, asset.step_units)).scaleb(-asset.decimals)
        assert asked >= exact  # never short
        assert (asked - exact) * rate < max(Decimal("0.01"), fiat * Decimal("0.001"))


def test_a_step_too_coarse_for_the_amount_is_made_finer():
    # 0.000001 of a coin worth $100,000 is 10 cents: too much for a $5 payment, so 0.0000001 (1 cent).
    assert payable_step(10**12, rate=Decimal(100_000), fiat=Decimal(5), decimals=18) == 10**11
    assert payable_step(10**12, rate=Decimal(3000), fiat=Decimal(5), decimals=18) == 10**12


def test_a_custom_token_can_set_its_step(tmp_path, settings):
    path = tmp_path / "chains.toml"
    path.write_text(
        '[[token]]\nnetwork = "base"\nsymbol = "EURC"\ndecimals = 6\ncontract = "0x' + "2" * 40 + '"\nstep = "0.01"\n'
    )
    settings.PAYRAM_CHAINS_FILE = str(path)
    try:
        assert catalogue.reload()["base"].asset("EURC").step_units == 10_000
    finally:
        settings.PAYRAM_CHAINS_FILE = ""
        catalogue.reload()


def test_a_bitcoin_amount_below_dust_is_refused_with_a_reason(shop, member, client):
    link = make_link(shop, member, amount="0.10")  # 167 sat at 60,000 USD/BTC: Bitcoin Core won't send it
    with pytest.raises(CheckoutError) as refused:
        quote_create(link=link, network="bitcoin", asset="BTC")
    assert str(refused.value) == (
        "$0.10 is too small to send in BTC on Bitcoin: the network does not carry payments under "
        "0.00000546 BTC. Please pick another coin or network."
    )
    assert not link.quotes.exists()
    response = client.post(f"/pay/{link.code}/quote/", {"choice": "bitcoin:BTC"})
    assert response.status_code == 400
    assert "too small to send in BTC on Bitcoin" in response.content.decode()
    # Another coin still works for the same link.
    assert quote_create(link=link, network="devnet", asset="USDC").amount_due == 100_000


def test_the_smallest_bitcoin_amount_asked_is_the_dust_limit(shop, member):
    # $0.33 at 60,000 is 550 sat: just above the limit, so it is asked.
    link = make_link(shop, member, amount="0.33")
    assert quote_create(link=link, network="bitcoin", asset="BTC").amount_due == 550
    assert format_units(catalogue.get("bitcoin").min_amount, 8) == "0.00000546"
