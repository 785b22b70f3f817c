"""Bitcoin amounts against a real Bitcoin Core wallet (skipped without BITCOIND): payram
never asks for an amount Core refuses to send, and a customer who sends the amount asked
with the fee subtracted is not left owing a remainder nobody can send."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chain.scanner import scan_network
from chain.wallets import wallet_set
from links.checkout import CheckoutError, quote_create
from links.models import LinkStatus, PaymentLink
from tests.chain.test_scanner_bitcoin import NETWORK, VPUB
from tests.links.pay_support import make_link
from tests.support.bitcoin_core import BitcoindNode, random_address

pytestmark = [pytest.mark.django_db, pytest.mark.bitcoind]


@pytest.fixture
def shop(bitcoind: BitcoindNode, project, settings):
    from django.core.cache import cache

    settings.PAYRAM_PRICE_SOURCES = "fixed"
    settings.PAYRAM_FIXED_RATES = "BTC=60000"
    cache.clear()
    wallet_set(project=project, family=NETWORK, xpub=VPUB)
    assert scan_network(NETWORK).ok  # watched and healthy before anyone pays
    return project


@pytest.mark.parametrize("kind", ["p2pkh", "p2sh", "p2wpkh", "p2tr"])
def test_core_sends_the_least_payram_asks_to_any_address_type(bitcoind: BitcoindNode, kind):
    from chain.catalogue import get

    least = Decimal(get(NETWORK).min_amount).scaleb(-8)
    assert bitcoind.send(random_address(kind), least)


def test_core_refuses_less_than_payram_ever_asks(bitcoind: BitcoindNode):
    from chain.catalogue import get

    with pytest.raises(Exception, match="Transaction amount too small"):
        bitcoind.send(random_address("p2pkh"), Decimal(get(NETWORK).min_amount - 1).scaleb(-8))


def test_a_quote_below_dust_is_refused(shop, member):
    link = make_link(shop, member, amount="0.10")  # 167 sat
    with pytest.raises(CheckoutError, match="too small to send in BTC on Bitcoin Regtest"):
        quote_create(link=link, network=NETWORK, asset="BTC")
    assert not link.quotes.exists()


def test_the_amount_asked_sent_with_the_fee_subtracted_counts_as_paid(bitcoind: BitcoindNode, shop, member):
    link = make_link(shop, member, amount="25.00")
    quote = quote_create(link=link, network=NETWORK, asset="BTC")
    assert quote.amount_due == 41_667
    # sendtoaddress address amount comment comment_to subtractfeefromamount … fee_rate (sat/vB)
    txid = bitcoind.wallet_rpc.call(
        "sendtoaddress", quote.deposit_address.address, "0.00041667", "", "", True, True, None, "unset", False, 1
    )
    bitcoind.mine(2)
    assert scan_network(NETWORK).ok
    link = PaymentLink.objects.get(pk=link.pk)
    fee = bitcoind.wallet_rpc.call("gettransaction", txid)["fee"]
    short = int(-Decimal(str(fee)).scaleb(8))
    assert 0 < short < 546
    assert (link.status, link.status_detail, link.amount_short, link.amount_received) == (
        LinkStatus.SUCCESSFUL,
        "paid_short",
        short,
        41_667 - short,
    )
