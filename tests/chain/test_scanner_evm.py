"""The generic scanner against a real anvil: what an operator would see in the deposits."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from chain.adapters import adapter_for
from chain.adapters.base import NodeError
from chain.catalogue import get
from chain.models import Cursor, Deposit, DepositAddress, ScannedBlock
from chain.scanner import claim_lease, release_lease, scan_network
from chain.signals import deposits_changed
from tests.support.anvil import free_port, random_address

pytestmark = [pytest.mark.anvil, pytest.mark.django_db]


def deposits_to(address) -> list[Deposit]:
    return list(Deposit.objects.filter(address=address).order_by("id"))


def test_native_and_token_deposits_are_recorded_with_exact_values(devnet, evm_address):
    eth_to, usdc_to = evm_address(), evm_address()
    wei = 123_456_789_012_345  # 0.000123456789012345 ETH: 15 significant digits
    eth_tx = devnet.send_eth(eth_to.address, wei)
    usdc_tx = devnet.send_token(usdc_to.address, 25_000_000)  # 25.000000 USDC

    result = scan_network("devnet")

    assert result.ok and result.new_deposits == 2
    [eth] = deposits_to(eth_to)
    assert (eth.asset, eth.tx_hash, eth.index, eth.value) == ("ETH", eth_tx, 0, Decimal(wei))
    assert eth.block_hash == devnet.block_hash(eth.block_height)
    [usdc] = deposits_to(usdc_to)
    assert (usdc.asset, usdc.tx_hash, usdc.value) == ("USDC", usdc_tx, Decimal(25_000_000))
    assert not usdc.orphaned and usdc.block_height == devnet.head()
    cursor = Cursor.objects.get(network="devnet")
    assert (cursor.height, cursor.node_head, cursor.last_error) == (devnet.head(), devnet.head(), "")
    assert cursor.last_success_at is not None


def test_payments_to_an_address_derived_from_the_merchants_xpub_are_recorded(devnet, project):
    from chain.wallets import address_allocate, wallet_set
    from tests.chain.test_hd import EVM_XPUB

    wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    address = address_allocate(project=project, family="evm", purpose="scanner test")
    assert address.address == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"  # m/44'/60'/0'/0/0 of "abandon ... about"
    devnet.send_eth(address.address, 10**16)
    devnet.send_token(address.address, 12_340_000)

    scan_network("devnet")

    assert sorted((d.asset, int(d.value)) for d in deposits_to(address)) == [("ETH", 10**16), ("USDC", 12_340_000)]


def test_an_18_decimal_value_above_2_to_the_64_is_recorded_to_the_last_wei(devnet, evm_address):
    to = evm_address()
    big = 2**64 + 123_456_789  # 18.446744073832... ETH: no 64-bit integer or float holds it
    devnet.send_eth(to.address, big)
    scan_network("devnet")
    assert Deposit.objects.get(address=to).value == Decimal(big)


def test_transfer_to_an_address_that_is_not_ours_is_ignored(devnet, evm_address):
    ours = evm_address()
    devnet.send_eth(random_address(), 10**18)
    devnet.send_token(random_address(), 5_000_000)

    result = scan_network("devnet")

    assert result.ok and result.blocks == 2
    assert Deposit.objects.count() == 0
    assert deposits_to(ours) == []


def test_lower_case_transfer_target_still_matches_checksummed_address(devnet, evm_address):
    ours = evm_address()
    devnet.send_eth(ours.address.lower(), 7)
    scan_network("devnet")
    assert [d.value for d in deposits_to(ours)] == [7]


def test_confirmations_count_up_as_blocks_are_mined_and_stop_past_the_threshold(devnet, evm_address):
    to = evm_address()
    devnet.send_eth(to.address, 10**15)
    scan_network("devnet")
    assert deposits_to(to)[0].confirmations == 1

    devnet.mine(2)
    scan_network("devnet")
    assert deposits_to(to)[0].confirmations == 3  # the devnet threshold

    devnet.mine(40)
    scan_network("devnet")
    deposit = deposits_to(to)[0]
    assert deposit.confirmations >= get("devnet").confirmations + 6  # counted past threshold + margin
    frozen = deposit.confirmations
    devnet.mine(5)
    scan_network("devnet")
    assert deposits_to(to)[0].confirmations == frozen  # no more writes once safely past


def test_seeing_a_deposit_twice_changes_nothing(devnet, evm_address):
    to = evm_address()
    devnet.send_token(to.address, 1_000_000)
    scan_network("devnet")
    before = deposits_to(to)

    # Rewind the cursor as an overlapping or replayed scan would, and scan again.
    cursor = Cursor.objects.get(network="devnet")
    Cursor.objects.filter(network="devnet").update(height=cursor.height - 1, block_hash=devnet.block_hash(cursor.height - 1))
    scan_network("devnet")

    after = deposits_to(to)
    assert [(d.id, d.tx_hash, d.index, d.value, d.block_hash) for d in after] == [
        (d.id, d.tx_hash, d.index, d.value, d.block_hash) for d in before
    ]


def test_a_reorg_orphans_the_deposit_and_the_re_mined_one_moves_to_its_new_block(devnet, evm_address):
    to = evm_address()
    snap = devnet.snapshot()
    tx = devnet.send_eth(to.address, 3 * 10**17)
    devnet.mine(1)
    scan_network("devnet")
    [first] = deposits_to(to)
    old_height, old_hash = first.block_height, first.block_hash
    raw = devnet.raw_transaction(tx)

    # The chain loses the deposit's block: a longer fork without the transaction.
    devnet.revert(snap)
    devnet.mine(4)
    result = scan_network("devnet")

    assert result.reorgs == 1 and result.orphaned == 1
    [orphan] = deposits_to(to)
    assert orphan.orphaned and orphan.confirmations == 0  # kept for the audit trail
    assert not ScannedBlock.objects.filter(network="devnet", block_hash=old_hash).exists()

    # The same transaction is mined again, in another block: the deposit moves there.
    assert devnet.send_raw(raw) == tx
    scan_network("devnet")
    [moved] = deposits_to(to)
    assert moved.id == first.id and not moved.orphaned
    assert moved.block_height != old_height and moved.block_hash == devnet.block_hash(moved.block_height)
    assert moved.confirmations == devnet.head() - moved.block_height + 1
    assert Cursor.objects.get(network="devnet").block_hash == devnet.block_hash(devnet.head())


def test_a_reorg_keeping_the_transaction_in_another_block_moves_it(devnet, evm_address):
    to = evm_address()
    snap = devnet.snapshot()
    tx = devnet.send_token(to.address, 42)
    scan_network("devnet")
    [first] = deposits_to(to)
    raw = devnet.raw_transaction(tx)

    devnet.revert(snap)
    devnet.mine(2)
    devnet.send_raw(raw)  # both the orphaning and the new block are seen in one scan
    scan_network("devnet")

    [moved] = deposits_to(to)
    assert not moved.orphaned and moved.block_height == first.block_height + 2
    assert moved.block_hash == devnet.block_hash(moved.block_height)


def test_a_shorter_fork_orphans_the_deposit_before_it_outgrows_us(devnet, evm_address):
    to = evm_address()
    snap = devnet.snapshot()
    devnet.send_eth(to.address, 8)
    devnet.mine(3)
    scan_network("devnet")
    ours = Cursor.objects.get(network="devnet").height

    devnet.revert(snap)
    devnet.mine(2)  # a fork without the payment, still shorter than what we processed
    assert devnet.head() < ours
    result = scan_network("devnet")

    assert result.reorgs == 1 and Deposit.objects.get(address=to).orphaned
    assert Cursor.objects.get(network="devnet").block_hash == devnet.block_hash(devnet.head())


def test_a_node_whose_head_is_below_us_walks_the_cursor_back_and_keeps_what_it_still_has(devnet, evm_address):
    to = evm_address()
    devnet.send_eth(to.address, 8)
    scan_network("devnet")
    cursor = Cursor.objects.get(network="devnet")
    Cursor.objects.filter(network="devnet").update(height=cursor.height + 5, block_hash="0x" + "ee" * 32)  # as if we were ahead

    result = scan_network("devnet")

    # Blocks the node no longer has are not confirmed: back to its head, at once.
    assert result.ok and Cursor.objects.get(network="devnet").height == devnet.head()
    assert not Deposit.objects.get(address=to).orphaned  # its block is still on the node's chain


class DiesAfter:
    """The real adapter, killed (as a worker would be) after `batches` calls to blocks()."""

    def __init__(self, inner, batches: int) -> None:
        self.inner, self.batches = inner, batches

    def head(self):
        return self.inner.head()

    def block_hash(self, height):
        return self.inner.block_hash(height)

    def mempool(self):
        return self.inner.mempool()

    def blocks(self, start, end):
        if self.batches == 0:
            raise KeyboardInterrupt("worker killed")
        self.batches -= 1
        return self.inner.blocks(start, end)


def test_a_scan_killed_midway_and_rerun_records_every_deposit_exactly_once(devnet, evm_address):
    targets = [evm_address() for _ in range(6)]
    sent = []
    for i, to in enumerate(targets):
        sent.append(devnet.send_eth(to.address, 10**9 + i) if i % 2 else devnet.send_token(to.address, 1000 + i))
        devnet.mine(1)

    with pytest.raises(KeyboardInterrupt):
        scan_network("devnet", adapter=DiesAfter(adapter_for(get("devnet")), batches=2), batch_blocks=3)
    partly = Deposit.objects.count()
    assert 0 < partly < 6
    assert Cursor.objects.get(network="devnet").lock_owner == ""  # the lease went back

    scan_network("devnet", batch_blocks=3)
    scan_network("devnet", batch_blocks=3)

    assert sorted(Deposit.objects.values_list("tx_hash", flat=True)) == sorted(sent)
    for i, to in enumerate(targets):
        assert [int(d.value) for d in deposits_to(to)] == [10**9 + i if i % 2 else 1000 + i]


def test_a_node_that_is_down_records_the_error_skips_nothing_and_recovers(devnet, evm_address, devnet_rpc):
    to = evm_address()
    before = Cursor.objects.get(network="devnet").height
    devnet.send_eth(to.address, 5)

    devnet_rpc(f"http://127.0.0.1:{free_port()}")
    for _attempt in (1, 2):
        with pytest.raises(NodeError, match="unreachable"):
            scan_network("devnet")
    cursor = Cursor.objects.get(network="devnet")
    assert cursor.height == before and cursor.consecutive_failures == 2
    assert "unreachable" in cursor.last_error and cursor.last_error_at is not None
    assert Deposit.objects.count() == 0 and cursor.lock_owner == ""

    devnet.mine(3)  # the chain moves on while the node is unreachable
    devnet_rpc(devnet.url)
    result = scan_network("devnet")

    assert result.ok and result.blocks == 4
    assert [d.value for d in deposits_to(to)] == [5]
    cursor = Cursor.objects.get(network="devnet")
    assert (cursor.last_error, cursor.consecutive_failures, cursor.height) == ("", 0, devnet.head())


def test_a_new_network_starts_its_threshold_below_the_head(devnet):
    Cursor.objects.filter(network="devnet").delete()
    ScannedBlock.objects.filter(network="devnet").delete()
    result = scan_network("devnet")
    assert result.blocks == get("devnet").confirmations + 1  # head-3 .. head
    assert Cursor.objects.get(network="devnet").height == devnet.head()


def test_start_height_from_the_environment(devnet, monkeypatch):
    Cursor.objects.filter(network="devnet").delete()
    start = max(0, devnet.head() - 10)
    monkeypatch.setenv("PAYRAM_START_HEIGHT_DEVNET", str(start))
    result = scan_network("devnet")
    assert result.blocks == devnet.head() - start + 1


def test_one_scan_per_network_and_a_dead_workers_lease_expires(devnet, evm_address):
    from datetime import timedelta

    from django.utils import timezone

    devnet.send_eth(evm_address().address, 1)
    assert claim_lease("devnet", "dead-worker")
    assert scan_network("devnet").skipped
    assert Deposit.objects.count() == 0

    # The dead worker never releases; its lease runs out.
    Cursor.objects.filter(network="devnet").update(locked_until=timezone.now() - timedelta(seconds=1))
    result = scan_network("devnet")
    assert result.ok and not result.skipped and Deposit.objects.count() == 1
    release_lease("devnet", "dead-worker")  # a late release by the dead worker is harmless


def test_deposits_changed_is_sent_with_the_touched_addresses(devnet, evm_address):
    to, other = evm_address(), evm_address()
    seen: list[set[int]] = []

    def receiver(sender, network, address_ids, **kwargs):
        assert network == "devnet"
        seen.append(set(address_ids))

    deposits_changed.connect(receiver)
    try:
        devnet.send_eth(to.address, 9)
        scan_network("devnet")
        assert seen and set().union(*seen) == {to.id}
        seen.clear()
        devnet.mine(1)
        scan_network("devnet")  # confirmations changed
        assert set().union(*seen) == {to.id}
        assert other.id not in set().union(*seen)
    finally:
        deposits_changed.disconnect(receiver)


def test_matching_issues_one_address_query_per_batch_whatever_the_number_watched(devnet, evm_address):
    to = evm_address()
    wallet = to.wallet
    DepositAddress.objects.bulk_create(
        [
            DepositAddress(project=wallet.project, wallet=wallet, family="evm", index=1000 + i, address=random_address())
            for i in range(2000)
        ]
    )
    devnet.send_eth(to.address, 11)
    devnet.mine(1)

    with CaptureQueriesContext(connection) as queries:
        scan_network("devnet")

    lookups = [q for q in queries.captured_queries if '"chain_depositaddress"."address" IN' in q["sql"]]
    assert len(lookups) == 1  # one batch, one lookup; the 2000 other addresses cost nothing
    assert [d.value for d in deposits_to(to)] == [11]


class Hooked(DiesAfter):
    """The real adapter, running `before_blocks` when blocks() is called."""

    def __init__(self, inner, before_blocks) -> None:
        super().__init__(inner, batches=10**6)
        self.before_blocks = before_blocks

    def blocks(self, start, end):
        self.before_blocks()
        return super().blocks(start, end)


def test_a_scan_whose_lease_was_taken_over_records_nothing(devnet, evm_address):
    to = evm_address()
    devnet.send_eth(to.address, 3)

    def lease_expires_and_another_worker_claims_it():
        Cursor.objects.filter(network="devnet").update(lock_owner="another-worker")

    result = scan_network("devnet", adapter=Hooked(adapter_for(get("devnet")), lease_expires_and_another_worker_claims_it))

    assert not result.ok and "lost its lease" in result.error
    assert Deposit.objects.count() == 0
    assert Cursor.objects.get(network="devnet").lock_owner == "another-worker"  # not released by the loser


@pytest.mark.django_db(transaction=True)
def test_two_workers_scanning_at_once_record_the_deposit_once(devnet, evm_address):
    if connection.vendor == "sqlite":
        pytest.skip("pytest's in-memory SQLite test database is not shared between threads; runs on PostgreSQL")
    to = evm_address()
    devnet.send_token(to.address, 999)
    inside, finish = threading.Event(), threading.Event()
    results = {}

    def first_worker():
        try:

            def hold():
                inside.set()
                finish.wait(30)

            results["first"] = scan_network("devnet", adapter=Hooked(adapter_for(get("devnet")), hold))
        finally:
            connection.close()

    thread = threading.Thread(target=first_worker)
    thread.start()
    assert inside.wait(30)
    results["second"] = scan_network("devnet")  # while the first is mid-scan
    finish.set()
    thread.join(30)

    assert results["second"].skipped and results["first"].ok
    assert [int(d.value) for d in Deposit.objects.filter(address=to)] == [999]
