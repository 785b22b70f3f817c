"""A tip replaced at the same height is the most common reorg there is: the scan must see it
at once, not when the next block comes, and a node whose head fell below the cursor makes
payram walk back. A node that contradicts itself is named as a node defect, not a chain
that moved. On a real anvil, the Core-format server and (with BITCOIND) a real bitcoind."""

from __future__ import annotations

from decimal import Decimal

import pytest
import requests

from chain.adapters.base import NodeError
from chain.models import Cursor, Deposit
from chain.scanner import scan_network
from chain.wallets import address_allocate, wallet_set
from links.models import LinkStatus
from tests.chain.test_chain_time import NETWORK, VPUB, _link_for, _status
from tests.support.bitcoin_core import RegtestNode

pytestmark = pytest.mark.django_db


def _threshold(project, network: str, confirmations: int) -> None:
    project.confirmation_overrides = {network: confirmations}
    project.save(update_fields=["confirmation_overrides"])


# -- EVM ---------------------------------------------------------------------------------


@pytest.mark.anvil
def test_a_tip_replaced_at_the_same_height_unconfirms_the_payment_on_the_next_scan(devnet, project, member, evm_address):
    _threshold(project, "devnet", 2)
    to = evm_address()
    link = _link_for(project, member, to, network="devnet", asset="USDC", amount_due=25_000_000)
    before_payment = devnet.snapshot()
    devnet.send_token(to.address, 25_000_000)  # mined at once: 1 of 2
    scan_network("devnet")
    assert _status(link) == (LinkStatus.PENDING, "confirming")
    paid_in = Deposit.objects.get(address=to).block_height

    devnet.revert(before_payment)
    devnet.mine(1)  # another block at the same height, without the payment
    assert devnet.head() == paid_in

    result = scan_network("devnet")
    assert result.ok and result.reorgs == 1
    assert Deposit.objects.get(address=to).orphaned
    assert _status(link) == (LinkStatus.PENDING, "awaiting_payment")
    # ...and the link cannot turn Successful on the payment that is gone.
    devnet.mine(3)
    scan_network("devnet")
    assert _status(link) == (LinkStatus.PENDING, "awaiting_payment")


@pytest.mark.anvil
def test_a_node_whose_head_fell_below_the_cursor_makes_payram_walk_back(devnet, project, member, evm_address):
    _threshold(project, "devnet", 3)
    to = evm_address()
    link = _link_for(project, member, to, network="devnet", asset="USDC", amount_due=25_000_000)
    before_payment = devnet.snapshot()
    devnet.send_token(to.address, 25_000_000)
    devnet.mine(1)
    scan_network("devnet")
    assert Deposit.objects.get(address=to).confirmations == 2

    devnet.revert(before_payment)  # the node is now two blocks below payram's cursor
    result = scan_network("devnet")
    assert result.ok and result.reorgs == 1
    assert Cursor.objects.get(network="devnet").height == devnet.head()
    assert Deposit.objects.get(address=to).orphaned
    assert _status(link) == (LinkStatus.PENDING, "awaiting_payment")


class _DefectProxy:
    """anvil behind a proxy that answers blocks above `from_height` with parent hash
    0x00…0, as Hardhat 2.29 answers blocks mined in bulk with hardhat_mine."""

    def __init__(self, fake_node, upstream: str, from_height: int) -> None:
        self.upstream, self.from_height = upstream, from_height
        fake_node.respond = self.respond

    def respond(self, request):
        answer = requests.post(self.upstream, json=request, timeout=10).json()
        for reply in answer if isinstance(answer, list) else [answer]:
            block = reply.get("result") if isinstance(reply, dict) else None
            if isinstance(block, dict) and "parentHash" in block and int(block["number"], 16) > self.from_height:
                block["parentHash"] = "0x" + "0" * 64
        import json

        return json.dumps(answer).encode()


@pytest.mark.anvil
def test_a_node_answering_zero_parent_hashes_is_named_a_node_defect_not_a_moving_chain(
    devnet, fake_node, devnet_rpc, evm_address, client
):
    from django.contrib.auth import get_user_model

    to = evm_address()
    start = devnet.head()
    _DefectProxy(fake_node, devnet.url, start + 1)
    devnet_rpc(fake_node.url())
    devnet.send_token(to.address, 1_000_000)  # block start+1: its own parent is intact
    devnet.mine(5)  # start+2..: parent 0x00…0

    for _ in range(2):  # the same words every time: a defect does not settle like a reorg
        with pytest.raises(NodeError) as failure:
            scan_network("devnet")
        message = str(failure.value)
        assert "node defect" in message and "not a chain reorganisation" in message
        assert f"block {start + 2}" in message and "0x000000000000" in message
        assert "the chain moved" not in message
    cursor = Cursor.objects.get(network="devnet")
    assert cursor.height == start and not Deposit.objects.exists()
    assert "node defect" in cursor.last_error

    # Network health shows what the node returned.
    staff = get_user_model().objects.create_superuser("ops", "ops@example.com", "pw-ops-123456")
    client.force_login(staff)
    page = client.get("/chain/health/").content.decode()
    assert "node defect" in page and f"block {start + 2}" in page
    # ...and so does `manage.py chainhealth`, failing as a monitoring check.
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("chainhealth", stdout=out)
    assert "node defect" in out.getvalue() and f"block {start + 2}" in out.getvalue()


@pytest.mark.anvil
def test_a_node_whose_next_block_names_another_parent_than_its_own_block_is_a_defect(devnet, fake_node, devnet_rpc, evm_address):
    start = devnet.head()
    _DefectProxy(fake_node, devnet.url, start)  # block start+1 names parent 0x00…0
    devnet_rpc(fake_node.url())
    devnet.mine(1)
    with pytest.raises(NodeError, match="node defect"):
        scan_network("devnet")
    # The node's own block at the cursor is still ours: nothing was rewound or orphaned.
    assert Cursor.objects.get(network="devnet").height == start


# -- Bitcoin -----------------------------------------------------------------------------


@pytest.fixture
def btc_link(project, member):
    wallet_set(project=project, family=NETWORK, xpub=VPUB)
    _threshold(project, NETWORK, 2)

    def make(amount_due: int = 150_000):
        to = address_allocate(project=project, family=NETWORK, purpose="test")
        return to, _link_for(project, member, to, network=NETWORK, asset="BTC", amount_due=amount_due)

    return make


def test_a_bitcoin_tip_replaced_at_the_same_height_is_seen_on_the_next_scan(regtest: RegtestNode, btc_link):
    to, link = btc_link()
    scan_network(NETWORK)
    regtest.send(to.address, Decimal("0.0015"))
    [tip] = regtest.mine()
    scan_network(NETWORK)
    assert _status(link) == (LinkStatus.PENDING, "confirming")
    height = regtest.height

    regtest.node_rpc.call("invalidateblock", tip)
    [replaced] = regtest.mine_empty()  # same height, without the payment (back in the mempool)
    assert regtest.height == height and replaced != tip

    result = scan_network(NETWORK)  # no new block: only the tip's hash tells
    assert result.ok and result.reorgs == 1
    deposit = Deposit.objects.get(address=to)
    assert deposit.block_height is None and not deposit.orphaned  # seen again, unconfirmed
    assert _status(link) == (LinkStatus.PENDING, "payment_seen")


@pytest.mark.bitcoind
def test_a_bitcoin_tip_replaced_by_a_block_with_a_conflicting_spend_drops_the_payment(bitcoind: RegtestNode, btc_link):
    regtest = bitcoind
    to, link = btc_link()
    scan_network(NETWORK)
    txid = regtest.send(to.address, Decimal("0.0015"))
    [tip] = regtest.mine()
    scan_network(NETWORK)
    assert _status(link) == (LinkStatus.PENDING, "confirming")
    height = regtest.height

    # The exact repro: invalidate the tip, then mine at the same height a block holding a
    # transaction that spends the payment's inputs elsewhere.
    decoded = regtest.wallet_rpc.call("gettransaction", txid, True, True)["decoded"]
    spent = [{"txid": i["txid"], "vout": i["vout"]} for i in decoded["vin"]]
    regtest.node_rpc.call("invalidateblock", tip)
    conflict = regtest.wallet_rpc.call("createrawtransaction", spent, [{regtest.miner_address: _spendable(regtest, spent)}])
    signed = regtest.wallet_rpc.call("signrawtransactionwithwallet", conflict)["hex"]
    replaced = regtest.node_rpc.call("generateblock", regtest.miner_address, [signed])["hash"]
    assert regtest.height == height and replaced != tip
    assert txid not in regtest.mempool()  # the customer's wallet shows it conflicted

    result = scan_network(NETWORK)
    assert result.ok and result.reorgs == 1
    deposit = Deposit.objects.get(address=to)
    assert deposit.orphaned and deposit.tx_hash == txid
    assert _status(link) == (LinkStatus.PENDING, "awaiting_payment")
    regtest.mine(3)
    scan_network(NETWORK)
    assert _status(link) == (LinkStatus.PENDING, "awaiting_payment")


def _spendable(regtest: RegtestNode, spent: list[dict]) -> str:
    """What the inputs hold, less a fee, as Core's amount text."""
    total = Decimal(0)
    for s in spent:
        tx = regtest.wallet_rpc.call("gettransaction", s["txid"], True, True)["decoded"]
        total += Decimal(str(tx["vout"][s["vout"]]["value"]))
    return str((total - Decimal("0.0001")).quantize(Decimal("0.00000001")))


def test_right_after_invalidateblock_the_node_one_block_behind_unconfirms_the_payment(regtest: RegtestNode, btc_link):
    to, link = btc_link()
    scan_network(NETWORK)
    regtest.send(to.address, Decimal("0.0015"))
    [tip] = regtest.mine()
    scan_network(NETWORK)
    assert _status(link) == (LinkStatus.PENDING, "confirming")

    regtest.node_rpc.call("invalidateblock", tip)  # the node is one block behind payram
    try:
        result = scan_network(NETWORK)
        assert result.ok and result.reorgs == 1
        assert Cursor.objects.get(network=NETWORK).height == regtest.height
        # The payment went back to the node's mempool: seen, no longer confirming.
        deposit = Deposit.objects.get(address=to)
        assert deposit.block_height is None and not deposit.orphaned
        assert _status(link) == (LinkStatus.PENDING, "payment_seen")
    finally:
        # The session's node shares its chain with later tests: a block mined now could
        # be the very block just invalidated (same template, same second) and be refused.
        if regtest.kind == "bitcoind":
            regtest.node_rpc.call("reconsiderblock", tip)
