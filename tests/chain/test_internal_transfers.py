"""Internal ether transfers (ether a contract sends on) on a real anvil: a Forwarder
contract (contracts/Forwarder.sol) pays deposit addresses through nested CALLs, which no
transaction names as its `to`; the devnet traces them (internal_transfers on by default)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from chain import catalogue
from chain import devnet as devnet_tools
from chain.adapters.evm import CALL_TRACER, INTERNAL_INDEX_BASE, TRACE_BLOCK, EvmAdapter
from chain.models import Deposit
from chain.scanner import scan_network
from links.models import LinkStatus
from tests.links.pay_support import make_link, make_quote
from tests.support.anvil import random_address

pytestmark = [pytest.mark.anvil, pytest.mark.django_db]


@pytest.fixture
def forwarder(devnet):
    return devnet_tools.deploy_forwarder(devnet.w3)


def pay(devnet, call, wei: int, **kw) -> str:
    return devnet_tools.call_forwarder(devnet.w3, call, wei, **kw)


def deposits_to(address) -> list[tuple[str, str, int, int]]:
    return [(d.asset, d.tx_hash, d.index, int(d.value)) for d in Deposit.objects.filter(address=address).order_by("id")]


def test_the_setting_is_on_for_the_devnet_only():
    assert catalogue.get("devnet").internal_transfers
    assert not any(n.internal_transfers for n in catalogue.networks().values() if n.slug != "devnet")


def test_ether_paid_through_a_contract_is_a_deposit_with_the_exact_wei(devnet, forwarder, evm_address):
    to = evm_address()
    wei = 123_456_789_012_345_678
    tx = pay(devnet, forwarder.functions.pay(to.address), wei)

    result = scan_network("devnet")

    assert result.ok and result.new_deposits == 1
    assert deposits_to(to) == [("ETH", tx, INTERNAL_INDEX_BASE + 1, wei)]
    [deposit] = Deposit.objects.filter(address=to)
    assert deposit.block_hash == devnet.block_hash(deposit.block_height) and not deposit.orphaned


def test_a_link_paid_through_a_contract_turns_successful_at_the_threshold(devnet, forwarder, project, member, evm_address):
    link = make_link(project, member)
    address = evm_address()
    link.deposit_addresses.add(address)
    make_quote(link, address, asset="ETH", amount_due=10**16)

    pay(devnet, forwarder.functions.pay(address.address), 10**16)
    scan_network("devnet")
    link.refresh_from_db()
    assert (link.status, link.status_detail) == (LinkStatus.PENDING, "confirming")

    devnet.mine(2)  # 3 confirmations: the devnet threshold
    scan_network("devnet")
    link.refresh_from_db()
    assert (link.status, link.status_detail) == (LinkStatus.SUCCESSFUL, "paid")


def test_a_batch_paying_two_addresses_is_two_deposits(devnet, forwarder, evm_address):
    first, second = evm_address(), evm_address()
    tx = pay(devnet, forwarder.functions.payTwo(first.address, 7 * 10**15, second.address), 10**16)

    scan_network("devnet")

    assert deposits_to(first) == [("ETH", tx, INTERNAL_INDEX_BASE + 1, 7 * 10**15)]
    assert deposits_to(second) == [("ETH", tx, INTERNAL_INDEX_BASE + 2, 3 * 10**15)]


def test_a_payment_two_calls_deep_is_seen(devnet, forwarder, evm_address):
    other = devnet_tools.deploy_forwarder(devnet.w3)
    to = evm_address()
    tx = pay(devnet, forwarder.functions.payVia(other.address, to.address), 5 * 10**15)

    scan_network("devnet")

    # position 1: forwarder -> other (not ours); position 2: other -> our address
    assert deposits_to(to) == [("ETH", tx, INTERNAL_INDEX_BASE + 2, 5 * 10**15)]


def test_a_reverted_transaction_records_nothing(devnet, forwarder, evm_address):
    to = evm_address()
    tx = pay(devnet, forwarder.functions.payThenRevert(to.address), 10**16, may_revert=True)
    assert devnet.w3.eth.get_transaction_receipt(tx)["status"] == 0

    result = scan_network("devnet")

    assert result.ok and deposits_to(to) == []
    assert devnet.w3.eth.get_balance(to.address) == 0


def test_a_payment_inside_a_failed_inner_call_records_nothing(devnet, forwarder, evm_address):
    to = evm_address()
    tx = pay(devnet, forwarder.functions.payInFailingCall(to.address), 10**16)
    assert devnet.w3.eth.get_transaction_receipt(tx)["status"] == 1  # the transaction succeeded

    scan_network("devnet")

    assert deposits_to(to) == [] and devnet.w3.eth.get_balance(to.address) == 0


def test_scanning_again_changes_nothing(devnet, forwarder, evm_address):
    first, second = evm_address(), evm_address()
    pay(devnet, forwarder.functions.payTwo(first.address, 1, second.address), 3)
    scan_network("devnet")
    before = list(Deposit.objects.order_by("id").values_list("id", "tx_hash", "index", "value", "block_hash"))

    cursor_height = devnet.head() - 1
    from chain.models import Cursor

    Cursor.objects.filter(network="devnet").update(height=cursor_height, block_hash=devnet.block_hash(cursor_height))
    result = scan_network("devnet")

    assert result.new_deposits == 0
    assert list(Deposit.objects.order_by("id").values_list("id", "tx_hash", "index", "value", "block_hash")) == before
    assert len(before) == 2


def test_a_reorg_orphans_an_internal_deposit_and_the_re_mined_one_comes_back(devnet, forwarder, evm_address):
    to = evm_address()
    snap = devnet.snapshot()
    tx = pay(devnet, forwarder.functions.pay(to.address), 4 * 10**15)
    devnet.mine(1)
    scan_network("devnet")
    [first] = Deposit.objects.filter(address=to)
    raw = devnet.raw_transaction(tx)

    devnet.revert(snap)
    devnet.mine(4)
    result = scan_network("devnet")

    assert result.reorgs == 1 and result.orphaned == 1
    [orphan] = Deposit.objects.filter(address=to)
    assert orphan.orphaned and orphan.confirmations == 0

    assert devnet.send_raw(raw) == tx
    scan_network("devnet")
    [moved] = Deposit.objects.filter(address=to)
    assert moved.id == first.id and not moved.orphaned and moved.value == Decimal(4 * 10**15)
    assert moved.block_hash == devnet.block_hash(moved.block_height) != first.block_hash


def test_with_the_setting_off_nothing_internal_is_recorded(devnet, forwarder, evm_address, monkeypatch):
    monkeypatch.setenv("PAYRAM_INTERNAL_TRANSFERS_DEVNET", "false")
    catalogue.reload()
    assert not catalogue.get("devnet").internal_transfers
    internal, direct = evm_address(), evm_address()
    pay(devnet, forwarder.functions.pay(internal.address), 10**15)
    direct_tx = devnet.send_eth(direct.address, 10**15)

    result = scan_network("devnet")

    assert result.ok and deposits_to(internal) == []
    assert deposits_to(direct) == [("ETH", direct_tx, 0, 10**15)]


@pytest.mark.parametrize(
    ("tracer", "method", "options"),
    [(CALL_TRACER, "debug_traceBlockByNumber", [{"tracer": "callTracer"}]), (TRACE_BLOCK, "trace_block", [])],
)
def test_only_blocks_with_call_data_are_traced(devnet, forwarder, monkeypatch, tracer, method, options):
    adapter = EvmAdapter(catalogue.get("devnet"), tracer=tracer)
    adapter.head()
    plain = devnet.send_eth(random_address(), 1)  # no call data
    start = devnet.w3.eth.get_transaction_receipt(plain)["blockNumber"]
    pay(devnet, forwarder.functions.pay(devnet_tools.funded_account(devnet.w3, 5)), 1)
    devnet.mine(1)
    posts = []
    real_post = adapter.session.post
    monkeypatch.setattr(adapter.session, "post", lambda *a, **kw: posts.append(kw["json"]) or real_post(*a, **kw))

    adapter.blocks(start, start + 2)

    assert len(posts) == 2  # the blocks and logs, then the traces
    assert [(c["method"], c["params"][0]) for c in posts[1]] == [(method, hex(start + 1))]
    assert posts[1][0]["params"][1:] == options


def test_an_adapter_with_the_setting_off_sends_no_trace_request(devnet, forwarder, monkeypatch):
    adapter = EvmAdapter(replace(catalogue.get("devnet"), internal_transfers=False))
    adapter.head()
    pay(devnet, forwarder.functions.pay(devnet_tools.funded_account(devnet.w3, 5)), 1)
    posts = []
    real_post = adapter.session.post
    monkeypatch.setattr(adapter.session, "post", lambda *a, **kw: posts.append(kw["json"]) or real_post(*a, **kw))
    head = devnet.head()
    adapter.blocks(head, head)
    assert len(posts) == 1


def test_both_tracers_see_the_same_transfers_at_the_same_indexes(devnet, forwarder, evm_address):
    """A node with the trace module (trace_block) and one with only geth's callTracer must
    give every internal transfer the same index, or a deposit would be recorded twice."""
    first, second, deep = evm_address(), evm_address(), evm_address()
    start = devnet.head() + 1
    pay(devnet, forwarder.functions.payTwo(first.address, 7 * 10**15, second.address), 10**16)
    other = devnet_tools.deploy_forwarder(devnet.w3)
    pay(devnet, forwarder.functions.payVia(other.address, deep.address), 10**15)
    pay(devnet, forwarder.functions.payThenRevert(first.address), 10**15, may_revert=True)
    pay(devnet, forwarder.functions.payInFailingCall(second.address), 10**15)
    end = devnet.head()

    with_module = EvmAdapter(catalogue.get("devnet"), tracer=TRACE_BLOCK).blocks(start, end)
    with_geth = EvmAdapter(catalogue.get("devnet"), tracer=CALL_TRACER).blocks(start, end)
    found = EvmAdapter(catalogue.get("devnet")).blocks(start, end)

    assert with_module == with_geth == found
    internal = [t for b in found for t in b.transfers if t.index >= INTERNAL_INDEX_BASE]
    assert [(t.to_address, t.index) for t in internal] == [
        (first.address, INTERNAL_INDEX_BASE + 1),
        (second.address, INTERNAL_INDEX_BASE + 2),
        (other.address, INTERNAL_INDEX_BASE + 1),  # forwarder -> other, then other -> deep
        (deep.address, INTERNAL_INDEX_BASE + 2),
    ]  # nothing from the reverted transaction or the failed inner call
