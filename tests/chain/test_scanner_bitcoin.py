"""The generic scanner over the Bitcoin Core adapter: a payment to a derived bcrt1 address
from the mempool to its block and on through confirmations, reorgs, a node that goes
down, and replays. Each scenario runs against the Core-format test server and, with
BITCOIND set, against a real bitcoind -regtest."""

from __future__ import annotations

from decimal import Decimal

import pytest

from chain.adapters.base import NodeError
from chain.adapters.bitcoin import BitcoinCoreAdapter
from chain.catalogue import get
from chain.models import Cursor, Deposit, DepositAddress
from chain.scanner import scan_network
from chain.wallets import address_allocate, wallet_set
from tests.support.bitcoin_core import FakeNode, RegtestNode, decode_segwit_address, segwit_address

pytestmark = pytest.mark.django_db

NETWORK = "bitcoin-regtest"
# m/84'/1'/0' of the BIP84 test mnemonic "abandon ×11 about" (checked against bitcoinlib);
# its first receive address is tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl on testnet.
VPUB = "vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc"
FIRST_TESTNET_ADDRESS = "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl"


@pytest.fixture
def deposit_address(project):
    """Factory: the project's next derived regtest address."""
    wallet_set(project=project, family=NETWORK, xpub=VPUB)

    def allocate() -> DepositAddress:
        return address_allocate(project=project, family=NETWORK, purpose="test")

    return allocate


def deposits_to(address: DepositAddress) -> list[Deposit]:
    return list(Deposit.objects.filter(address=address).order_by("id"))


def cursor() -> Cursor:
    return Cursor.objects.get(network=NETWORK)


def test_derived_regtest_addresses_are_the_bip84_vector(regtest: RegtestNode, deposit_address):
    first = deposit_address()
    version, program = decode_segwit_address(FIRST_TESTNET_ADDRESS, hrp="tb")
    assert first.index == 0 and first.address == segwit_address(version, program, "bcrt")


def test_a_payment_goes_from_the_mempool_to_its_block_and_counts_confirmations(regtest: RegtestNode, deposit_address):
    to = deposit_address()
    scan_network(NETWORK)  # the network is watched before the customer pays

    txid = regtest.send(to.address, Decimal("0.00150000"))
    result = scan_network(NETWORK)
    assert result.ok and result.new_deposits == 1
    [pending] = deposits_to(to)
    assert (pending.tx_hash, pending.asset, pending.value) == (txid, "BTC", Decimal(150_000))
    assert pending.block_height is None and pending.block_hash == "" and pending.confirmations == 0

    [block_hash] = regtest.mine()
    scan_network(NETWORK)
    [mined] = deposits_to(to)
    assert mined.id == pending.id
    assert (mined.block_height, mined.block_hash, mined.confirmations) == (regtest.height, block_hash, 1)
    assert not mined.orphaned

    regtest.mine(2)
    scan_network(NETWORK)
    [counted] = deposits_to(to)
    assert counted.confirmations == 3 == regtest.height - counted.block_height + 1
    state = cursor()
    assert (state.height, state.block_hash, state.node_head, state.last_error) == (
        regtest.height,
        regtest.block_hash(regtest.height),
        regtest.height,
        "",
    )


def test_values_are_recorded_to_the_satoshi(regtest: RegtestNode, deposit_address):
    to = deposit_address()
    scan_network(NETWORK)
    regtest.send(to.address, Decimal("0.1"))
    regtest.send(to.address, Decimal("0.2"))
    regtest.mine()
    scan_network(NETWORK)
    values = [d.value for d in deposits_to(to)]
    assert sorted(values) == [Decimal(10_000_000), Decimal(20_000_000)]
    assert sum(values) == Decimal(30_000_000)


def test_one_transaction_paying_two_of_our_addresses_gives_two_deposits(regtest: RegtestNode, deposit_address):
    first, second = deposit_address(), deposit_address()
    scan_network(NETWORK)
    txid = regtest.send_many({first.address: "0.01", second.address: "0.02"})
    regtest.mine()
    scan_network(NETWORK)
    [a], [b] = deposits_to(first), deposits_to(second)
    assert a.tx_hash == b.tx_hash == txid and a.index != b.index
    assert (a.value, b.value) == (Decimal(1_000_000), Decimal(2_000_000))


def test_a_payment_to_an_address_that_is_not_ours_is_ignored(regtest: RegtestNode, deposit_address):
    ours = deposit_address()
    scan_network(NETWORK)
    regtest.send(regtest.new_address(), "0.7")
    regtest.send(regtest.new_address("p2tr"), "0.3")
    scan_network(NETWORK)
    regtest.mine()
    result = scan_network(NETWORK)
    assert result.ok and result.blocks == 1
    assert Deposit.objects.count() == 0 and deposits_to(ours) == []


def test_a_reorg_unconfirms_the_payment_and_the_re_mined_one_moves_to_its_new_block(regtest: RegtestNode, deposit_address):
    to = deposit_address()
    scan_network(NETWORK)
    txid = regtest.send(to.address, "0.25")
    [old_hash] = regtest.mine()
    scan_network(NETWORK)
    [first] = deposits_to(to)
    old_height = first.block_height
    assert first.block_hash == old_hash

    # The block holding the payment is replaced by a longer branch of two empty blocks;
    # the payment is back in the node's mempool.
    regtest.reorg(1, 2)
    result = scan_network(NETWORK)
    assert result.reorgs == 1 and result.orphaned == 1
    [unconfirmed] = deposits_to(to)
    assert unconfirmed.id == first.id
    assert unconfirmed.block_height is None and unconfirmed.block_hash == "" and unconfirmed.confirmations == 0
    assert not unconfirmed.orphaned  # seen again, pending, in the mempool
    assert cursor().block_hash == regtest.block_hash(regtest.height)

    [new_hash] = regtest.mine()
    scan_network(NETWORK)
    [moved] = deposits_to(to)
    assert moved.id == first.id and moved.tx_hash == txid and not moved.orphaned
    assert (moved.block_height, moved.block_hash, moved.confirmations) == (old_height + 2, new_hash, 1)
    regtest.mine(1)
    scan_network(NETWORK)
    assert deposits_to(to)[0].confirmations == 2


def test_a_payment_dropped_by_a_reorg_and_never_re_mined_stays_orphaned(bitcoin_core: FakeNode, deposit_address):
    to = deposit_address()
    scan_network(NETWORK)
    txid = bitcoin_core.send(to.address, "0.4")
    bitcoin_core.mine()
    scan_network(NETWORK)

    bitcoin_core.reorg(1, 2)
    bitcoin_core.server.evict(txid)  # double-spent on the winning branch
    scan_network(NETWORK)
    [orphan] = deposits_to(to)
    assert orphan.orphaned and orphan.confirmations == 0 and orphan.value == Decimal(40_000_000)
    bitcoin_core.mine(3)
    scan_network(NETWORK)
    assert deposits_to(to)[0].orphaned  # kept for the audit trail, never counted


def test_a_node_that_is_down_is_reported_nothing_is_skipped_and_it_recovers(regtest: RegtestNode, deposit_address):
    to = deposit_address()
    scan_network(NETWORK)
    before = cursor().height
    regtest.send(to.address, "0.05")
    [paid_in] = regtest.mine()
    regtest.mine(3)

    regtest.stop()
    try:
        with pytest.raises(NodeError, match="refused the connection"):
            scan_network(NETWORK)
        state = cursor()
        assert "refused the connection" in state.last_error and state.consecutive_failures == 1
        assert state.height == before  # nothing skipped, nothing recorded
        assert deposits_to(to) == []
    finally:
        regtest.start()

    result = scan_network(NETWORK)
    assert result.ok
    [deposit] = deposits_to(to)
    assert (deposit.block_height, deposit.block_hash, deposit.confirmations) == (before + 1, paid_in, 4)
    state = cursor()
    assert (state.height, state.last_error, state.consecutive_failures) == (regtest.height, "", 0)


@pytest.mark.parametrize("fault", ["slow", "malformed"])
def test_a_slow_or_garbled_node_records_nothing_until_it_answers_well(bitcoin_core: FakeNode, deposit_address, fault):
    to = deposit_address()
    scan_network(NETWORK)
    before = cursor().height
    bitcoin_core.send(to.address, "0.02")
    bitcoin_core.mine(2)
    if fault == "slow":
        bitcoin_core.server.slow_seconds = 1.0
    else:
        bitcoin_core.server.malformed = True

    with pytest.raises(NodeError, match="did not answer within" if fault == "slow" else "malformed JSON"):
        scan_network(NETWORK, adapter=BitcoinCoreAdapter(get(NETWORK), timeout=0.3))
    assert deposits_to(to) == [] and cursor().height == before and cursor().last_error

    bitcoin_core.server.slow_seconds, bitcoin_core.server.malformed = 0, False
    scan_network(NETWORK)
    [deposit] = deposits_to(to)
    assert deposit.block_height == before + 1 and deposit.confirmations == 2
    assert cursor().last_error == ""


def test_rescanning_records_each_output_exactly_once(regtest: RegtestNode, deposit_address):
    first, second = deposit_address(), deposit_address()
    scan_network(NETWORK)
    start = cursor().height
    regtest.send(first.address, "0.011")
    scan_network(NETWORK)  # seen in the mempool
    regtest.send_many({first.address: "0.012", second.address: "0.013"})
    regtest.mine()
    regtest.send(second.address, "0.014")
    regtest.mine(2)
    scan_network(NETWORK)
    scan_network(NETWORK)  # nothing new

    def snapshot():
        return sorted((d.tx_hash, d.index, d.value, d.block_hash, d.address_id) for d in Deposit.objects.all())

    recorded = snapshot()
    assert len(recorded) == 4
    # Rewind the cursor as a replayed task or the reset script would, and scan it all again.
    Cursor.objects.filter(network=NETWORK).update(height=start, block_hash=regtest.block_hash(start))
    result = scan_network(NETWORK)
    assert result.ok and result.blocks == regtest.height - start and result.new_deposits == 0
    assert snapshot() == recorded
    assert sum(d.value for d in Deposit.objects.all()) == Decimal(5_000_000)


def test_a_pending_payment_stays_pending_while_a_huge_mempool_is_read_over_several_polls(bitcoin_core: FakeNode, deposit_address):
    to = deposit_address()
    scan_network(NETWORK)
    for _ in range(4):
        bitcoin_core.send(bitcoin_core.new_address(), "0.001")
    txid = bitcoin_core.send(to.address, "0.06")

    def scan_capped():
        return scan_network(NETWORK, adapter=BitcoinCoreAdapter(get(NETWORK), mempool_limit=2))

    scan_capped()
    scan_capped()
    assert deposits_to(to) == []  # not decoded yet: 2 transactions per poll
    scan_capped()
    [pending] = deposits_to(to)
    assert pending.tx_hash == txid and pending.block_height is None

    for _ in range(6):  # the mempool keeps growing
        bitcoin_core.send(bitcoin_core.new_address(), "0.001")
    scan_capped()
    [still] = deposits_to(to)
    assert not still.orphaned and still.block_height is None

    bitcoin_core.mine()
    scan_capped()
    [mined] = deposits_to(to)
    assert not mined.orphaned and mined.confirmations == 1


def test_a_payment_mined_while_the_mempool_is_read_is_never_shown_orphaned(bitcoin_core: FakeNode, deposit_address):
    to = deposit_address()
    scan_network(NETWORK)
    bitcoin_core.send(to.address, "0.08")
    scan_network(NETWORK)
    assert deposits_to(to)[0].block_height is None

    chain = bitcoin_core.server.chain
    miner = bitcoin_core.miner_address

    def block_arrives_first(txids):
        # the block is found after the scanner read the chain, before it reads the mempool
        bitcoin_core.server.tampers.clear()
        chain.mine(miner)
        return list(chain.mempool)

    bitcoin_core.server.tamper("getrawmempool", block_arrives_first)
    scan_network(NETWORK)
    [deposit] = deposits_to(to)
    assert not deposit.orphaned
    assert (deposit.block_height, deposit.confirmations) == (bitcoin_core.height, 1)
