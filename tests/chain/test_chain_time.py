"""A payment's time is the chain's, not payram's: an outage of the scanner or its node must
never turn a payment made within its quote into "Paid late" or "refund due". Tried as it
happens: scanning stopped, the customer pays in time, blocks go on past the quote's expiry
(and past the late window), scanning restarts. On a real anvil, and on the Core-format
server and (with BITCOIND) a real bitcoind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import timezone

from chain.adapters.base import Block, Transfer
from chain.models import Deposit, ScannedBlock
from chain.scanner import block_time, chain_time, scan_network
from chain.wallets import address_allocate, wallet_set
from links.models import LinkStatus, PaymentLink
from tests.links.pay_support import make_link, make_quote
from tests.support.bitcoin_core import RegtestNode

pytestmark = pytest.mark.django_db

NETWORK = "bitcoin-regtest"
VPUB = "vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc"


def _link_for(project, member, address, *, network: str, asset: str, amount_due: int, created_at=None) -> PaymentLink:
    link = make_link(project, member)
    link.deposit_addresses.add(address)
    make_quote(link, address, network=network, asset=asset, amount_due=amount_due, created_at=created_at)
    return link


def _status(link: PaymentLink) -> tuple[str, str]:
    link.refresh_from_db()
    return link.status, link.status_detail


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


# -- the rule itself -------------------------------------------------------------------


def test_the_time_is_the_blocks_and_never_later_than_payram_first_saw_it():
    now = timezone.now()
    paid = Transfer("t", 0, "a", "BTC", 1)
    mined = Block(1, "h", "p", timestamp=int((now - timedelta(hours=3)).timestamp()))
    assert chain_time(paid, mined, now) == _utc(mined.timestamp)
    # A producer's clock ahead of ours cannot date a payment after we saw it.
    ahead = Block(1, "h", "p", timestamp=int((now + timedelta(hours=1)).timestamp()))
    assert chain_time(paid, ahead, now) == now
    # Seen unconfirmed: the node's own mempool entry time wins over a later block's.
    pending = Transfer("t", 0, "a", "BTC", 1, seen_at=int((now - timedelta(hours=5)).timestamp()))
    assert chain_time(pending, mined, now) == _utc(pending.seen_at)


def test_a_bitcoin_block_time_far_ahead_of_its_median_time_past_is_not_believed():
    median = 1_800_000_000
    honest = Block(1, "h", "p", timestamp=median + 3600, median_time=median)
    assert block_time(honest) == _utc(median + 3600)
    lying = Block(1, "h", "p", timestamp=median + 9 * 3600, median_time=median)
    assert block_time(lying) == _utc(median + 2 * 3600)


# -- EVM, on a real anvil -----------------------------------------------------------------


def _mined_at(devnet, tx_hash: str) -> int:
    receipt = devnet.w3.eth.get_transaction_receipt(tx_hash)
    return int(devnet.w3.eth.get_block(receipt["blockNumber"])["timestamp"])


@pytest.mark.anvil
@pytest.mark.parametrize("outage", [timedelta(minutes=40), timedelta(hours=30)], ids=["past-quote", "past-late-window"])
def test_a_payment_within_the_quote_is_paid_on_time_though_scanning_resumed_after_expiry(
    devnet, project, member, evm_address, outage
):
    to = evm_address()
    link = _link_for(project, member, to, network="devnet", asset="USDC", amount_due=25_000_000)
    tx = devnet.send_token(to.address, 25_000_000)  # within the quote; nobody is scanning
    devnet.mine(3)
    mined_at = _mined_at(devnet, tx)

    with time_machine.travel(timezone.now() + outage, tick=True):
        assert scan_network("devnet").ok  # scanning restarts long after the quote expired
        deposit = Deposit.objects.get(address=to)
        assert deposit.first_seen_at > link.quotes.get().expires_at  # payram saw it late...
        assert deposit.chain_time == _utc(mined_at)  # ...the chain had it in time
        assert _status(link) == (LinkStatus.SUCCESSFUL, "paid")
        assert link.paid_at == _utc(mined_at)
    scanned = ScannedBlock.objects.get(network="devnet", height=deposit.block_height)
    assert scanned.block_time == _utc(mined_at)


@pytest.mark.anvil
def test_a_payment_really_made_after_the_quote_expired_is_still_paid_late(devnet, project, member, evm_address):
    to = evm_address()
    link = _link_for(
        project,
        member,
        to,
        network="devnet",
        asset="USDC",
        amount_due=25_000_000,
        created_at=timezone.now() - timedelta(minutes=30),  # its quote expired 15 minutes ago
    )
    tx = devnet.send_token(to.address, 25_000_000)
    devnet.mine(3)
    scan_network("devnet")
    assert _status(link) == (LinkStatus.SUCCESSFUL, "paid_late")
    assert link.paid_at == _utc(_mined_at(devnet, tx))


@pytest.mark.anvil
def test_the_link_page_and_the_api_show_when_the_chain_had_the_payment(devnet, project, member, evm_address, merchant_client):
    from members.services import api_key_create

    to = evm_address()
    link = _link_for(project, member, to, network="devnet", asset="USDC", amount_due=25_000_000)
    tx = devnet.send_token(to.address, 25_000_000)
    devnet.mine(3)
    mined_at = _utc(_mined_at(devnet, tx))
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=True):
        scan_network("devnet")

    page = merchant_client.get(f"/payments/{link.code}/").content.decode()
    assert timezone.localtime(mined_at).strftime("%Y-%m-%d %H:%M:%S") in page

    _, secret = api_key_create(project=project, name="test")
    answer = merchant_client.get(f"/api/v1/links/{link.code}", HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    assert answer["paid_at"].startswith(mined_at.strftime("%Y-%m-%dT%H:%M:%S"))
    [deposit] = answer["deposits"]
    assert deposit["sent_at"].startswith(mined_at.strftime("%Y-%m-%dT%H:%M:%S"))


# -- Bitcoin: the Core-format server and a real bitcoind ---------------------------------


@pytest.fixture
def btc_address(project):
    wallet_set(project=project, family=NETWORK, xpub=VPUB)
    return lambda: address_allocate(project=project, family=NETWORK, purpose="test")


def _mempool_time(regtest: RegtestNode, txid: str) -> int:
    return regtest.node_rpc.call("getmempoolentry", txid)["time"]


def _header_time(regtest: RegtestNode, block_hash: str) -> int:
    return regtest.node_rpc.call("getblockheader", block_hash)["time"]


def test_a_bitcoin_payment_seen_in_the_mempool_is_dated_by_the_nodes_own_entry_time(
    regtest: RegtestNode, btc_address, project, member
):
    to = btc_address()
    link = _link_for(project, member, to, network=NETWORK, asset="BTC", amount_due=150_000)
    scan_network(NETWORK)
    txid = regtest.send(to.address, Decimal("0.0015"))
    entered = _mempool_time(regtest, txid)
    scan_network(NETWORK)  # seen unconfirmed; then the scanner stops
    regtest.mine(3)

    with time_machine.travel(timezone.now() + timedelta(hours=26), tick=True):
        scan_network(NETWORK)
        deposit = Deposit.objects.get(address=to)
        assert deposit.block_height is not None and deposit.chain_time == _utc(entered)
        assert _status(link) == (LinkStatus.SUCCESSFUL, "paid")
        assert link.paid_at == _utc(entered)


def test_a_bitcoin_payment_first_seen_in_a_block_is_dated_by_that_block(regtest: RegtestNode, btc_address, project, member):
    to = btc_address()
    link = _link_for(project, member, to, network=NETWORK, asset="BTC", amount_due=150_000)
    scan_network(NETWORK)
    regtest.send(to.address, Decimal("0.0015"))
    [block_hash, *_] = regtest.mine(3)  # never seen unconfirmed: scanning is stopped

    with time_machine.travel(timezone.now() + timedelta(minutes=45), tick=True):
        scan_network(NETWORK)
        deposit = Deposit.objects.get(address=to)
        assert deposit.block_hash == block_hash
        assert deposit.chain_time == _utc(_header_time(regtest, block_hash))
        assert _status(link) == (LinkStatus.SUCCESSFUL, "paid")


def test_a_bitcoin_payment_sent_after_the_late_window_is_refund_due(regtest: RegtestNode, btc_address, project, member):
    to = btc_address()
    link = _link_for(
        project,
        member,
        to,
        network=NETWORK,
        asset="BTC",
        amount_due=150_000,
        created_at=timezone.now() - timedelta(hours=30),  # quote expired 29h45 ago: past the 24 h window
    )
    scan_network(NETWORK)
    regtest.send(to.address, Decimal("0.0015"))
    regtest.mine(3)
    scan_network(NETWORK)
    assert _status(link) == (LinkStatus.PENDING, "refund_due")
