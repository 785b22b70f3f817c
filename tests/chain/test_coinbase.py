"""A block reward paid straight to a deposit address (a pool paying the merchant) cannot be
spent before 100 confirmations: it counts only then, and the customer and the merchant see
"maturing (n of 100)" meanwhile. On the Core-format server and, with BITCOIND, a real
bitcoind."""

from __future__ import annotations

import pytest

from chain.models import Deposit
from chain.scanner import scan_network
from links.models import LinkStatus
from links.status import derive_status
from tests.chain.test_chain_time import NETWORK, _status
from tests.chain.test_replaced_tip import btc_link  # noqa: F401 - fixture
from tests.support.bitcoin_core import RegtestNode

pytestmark = pytest.mark.django_db


def test_a_block_reward_to_a_deposit_address_counts_only_once_mature(regtest: RegtestNode, btc_link, client):  # noqa: F811
    to, link = btc_link(amount_due=100_000)  # 0.001 BTC; a regtest block pays far more
    scan_network(NETWORK)
    regtest.node_rpc.call("generatetoaddress", 1, to.address)
    scan_network(NETWORK)

    reward = Deposit.objects.get(address=to)
    subsidy = (50 * 10**8) >> (reward.block_height // 150)  # regtest halves every 150 blocks
    assert reward.coinbase and reward.confirmations == 1 and int(reward.value) == subsidy
    state = derive_status(link)
    assert (state.detail, state.maturing, state.confirmations, state.confirmations_required) == ("confirming", True, 1, 100)
    page = client.get(f"/pay/{link.code}/").content.decode()
    assert "Maturing: 1 of 100" in page and "block reward" in page

    regtest.mine(98)  # 99 confirmations: far past the project's threshold of 2, still not spendable
    scan_network(NETWORK)
    assert Deposit.objects.get(address=to).confirmations == 99
    assert _status(link) == (LinkStatus.PENDING, "confirming")

    regtest.mine(1)
    scan_network(NETWORK)
    assert Deposit.objects.get(address=to).confirmations == 100
    assert _status(link) == (LinkStatus.SUCCESSFUL, "overpaid")


def test_an_ordinary_payment_is_not_a_block_reward(regtest: RegtestNode, btc_link):  # noqa: F811
    to, link = btc_link()
    scan_network(NETWORK)
    regtest.send(to.address, "0.0015")
    regtest.mine(2)
    scan_network(NETWORK)
    assert not Deposit.objects.get(address=to).coinbase
    assert _status(link) == (LinkStatus.SUCCESSFUL, "paid")
