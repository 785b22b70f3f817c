"""The node misbehaves: it goes away mid-scan and comes back, answers too slowly, with
JSON-RPC errors or with malformed JSON, and reorganises its chain up to the network's
confirmation threshold. Real anvil, real database; what is asserted is what an operator
or a merchant would see: the deposits recorded, the cursor, the health page, link statuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from chain import catalogue
from chain import devnet as devnet_tools
from chain.adapters.base import NodeError
from chain.adapters.evm import EvmAdapter
from chain.models import Cursor, Deposit, ScannedBlock
from chain.scanner import scan_network
from chain.tasks import scan_network_task
from links.models import LinkStatus
from tests.faults.support import StatefulAnvil

pytestmark = [pytest.mark.anvil, pytest.mark.django_db]


def recorded(addresses) -> list[tuple[str, int, int]]:
    """(tx hash, index, value) of every deposit to these addresses, orphaned or not."""
    return sorted(Deposit.objects.filter(address__in=addresses).values_list("tx_hash", "index", "value"))


def assert_no_block_skipped(node_url: str, first: int, last: int) -> None:
    """Every height first..last was processed, with the node's own hash, each block
    building on the one before."""
    w3 = devnet_tools.connect(node_url)
    kept = {b.height: b for b in ScannedBlock.objects.filter(network="devnet", height__gte=first, height__lte=last)}
    assert sorted(kept) == list(range(first, last + 1))
    for height in range(first + 1, last + 1):
        assert kept[height].parent_hash == kept[height - 1].block_hash
        assert kept[height].block_hash == "0x" + bytes(w3.eth.get_block(height)["hash"]).hex()


def health_page(client) -> str:
    page = client.get(reverse("chain:health"))
    assert page.status_code == 200
    return page.content.decode()


def test_the_node_stops_mid_scan_and_comes_back_with_no_block_skipped_and_no_deposit_lost_or_doubled(
    tmp_path, devnet_rpc, evm_address, merchant_client, monkeypatch
):
    # anvil restarted from a state dump keeps the blocks but cannot trace those from before
    # the restart (like a pruned node): this test is about blocks, so no internal transfers.
    monkeypatch.setenv("PAYRAM_INTERNAL_TRANSFERS_DEVNET", "false")
    node = StatefulAnvil(tmp_path / "anvil-state.json")
    node.start()
    try:
        w3 = devnet_tools.connect(node.url)
        devnet_tools.deploy_token(w3)
        devnet_rpc(node.url)
        start = w3.eth.block_number
        start_hash = "0x" + bytes(w3.eth.get_block(start)["hash"]).hex()
        Cursor.objects.update_or_create(network="devnet", defaults={"height": start, "block_hash": start_hash})
        ScannedBlock.objects.create(network="devnet", height=start, block_hash=start_hash, parent_hash="")
        addresses = [evm_address() for _ in range(6)]
        sent = []
        for i, to in enumerate(addresses):  # ETH and tokens, spread over ~24 blocks
            if i % 2:
                tx, index, value = devnet_tools.send_eth(w3, to.address, 10**15 + i), 0, 10**15 + i
            else:
                tx = devnet_tools.send_token(w3, to.address, 1_000 + i)
                index, value = w3.eth.get_transaction_receipt(tx)["logs"][0]["logIndex"], 1_000 + i
            sent.append((tx, index, value))
            devnet_tools.mine(w3, 3)
        head = w3.eth.block_number

        # The node dies right after answering the scan's first batch of blocks.
        adapter = EvmAdapter(catalogue.get("devnet"), timeout=2)
        fetch = adapter.blocks

        answered = []  # batches the node answered; with several in flight, more than one

        def node_dies_after_first_batch(first: int, last: int):
            blocks = fetch(first, last)
            answered.append((first, last))
            if node.process is not None:
                node.stop()
            return blocks

        adapter.blocks = node_dies_after_first_batch
        with pytest.raises(NodeError, match="unreachable"):
            scan_network("devnet", adapter=adapter, batch_blocks=5)

        cursor = Cursor.objects.get(network="devnet")
        kept = start  # every batch answered, in order from the start, is recorded
        for first, last in sorted(answered):
            if first != kept + 1:
                break
            kept = last
        assert cursor.height == kept  # the batches read before the node died are kept
        assert cursor.lock_owner == "" and cursor.locked_until is None  # the failed scan let go
        assert "unreachable" in cursor.last_error
        page = health_page(merchant_client)
        assert "unreachable" in page

        node.start()  # same port, same chain
        result = scan_network("devnet", batch_blocks=5)

        assert result.ok and Cursor.objects.get(network="devnet").height == head
        assert recorded(addresses) == sorted((tx, i, v) for tx, i, v in sent)  # each exactly once
        assert not Deposit.objects.filter(address__in=addresses, orphaned=True).exists()
        assert_no_block_skipped(node.url, start, head)
        assert Cursor.objects.get(network="devnet").last_error == ""
    finally:
        node.stop()


@pytest.mark.parametrize(
    ("mode", "message"),
    [("error", "node refused eth_getBlockByNumber: header not found"), ("malformed", "answered malformed JSON")],
)
def test_a_node_answering_errors_or_garbage_is_retried_records_nothing_and_shows_on_the_health_page(
    proxy, devnet, evm_address, merchant_client, mode, message
):
    to = evm_address()
    tx = devnet.send_eth(to.address, 5 * 10**15)
    before = Cursor.objects.get(network="devnet").height
    proxy.mode, proxy.only_blocks = mode, True  # the chain id and head are answered truly
    proxy_answers = len(proxy.answered)

    with pytest.raises(NodeError, match=message):
        scan_network_task.apply(args=("devnet",)).get()

    with pytest.raises(NodeError, match=message):  # the next tick asks again
        scan_network_task.apply(args=("devnet",)).get()
    outcome = scan_network_task.apply(args=("devnet",)).get()  # then it backs off

    cursor = Cursor.objects.get(network="devnet")
    assert outcome["skipped"] and outcome["backoff_seconds"] > 0
    assert proxy.answered[proxy_answers:].count(mode) == 2  # not asked during the backoff
    assert cursor.consecutive_failures == 2
    assert cursor.height == before and recorded([to]) == []  # nothing from a bad answer
    assert cursor.lock_owner == ""  # the failing scans released the network
    assert message in health_page(merchant_client)

    proxy.mode = "pass"  # the node recovers; the backoff runs out
    Cursor.objects.filter(network="devnet").update(
        last_error_at=cursor.last_error_at - timedelta(seconds=outcome["backoff_seconds"] + 1)
    )
    outcome = scan_network_task.apply(args=("devnet",)).get()

    assert outcome["ok"] and outcome["new_deposits"] == 1
    assert recorded([to]) == [(tx, 0, 5 * 10**15)]
    cursor = Cursor.objects.get(network="devnet")
    assert (cursor.consecutive_failures, cursor.last_error) == (0, "")


def test_a_node_slower_than_the_client_timeout_records_nothing_until_it_answers_in_time(
    proxy, devnet, evm_address, merchant_client
):
    to = evm_address()
    tx = devnet.send_token(to.address, 777)
    before = Cursor.objects.get(network="devnet").height
    proxy.mode, proxy.delay, proxy.only_blocks = "slow", 2.0, True

    with pytest.raises(NodeError, match=r"did not answer within 0.5 s"):
        scan_network("devnet", adapter=EvmAdapter(catalogue.get("devnet"), timeout=0.5))

    assert Cursor.objects.get(network="devnet").height == before and recorded([to]) == []
    assert "did not answer within 0.5 s" in health_page(merchant_client)

    proxy.mode = "pass"
    result = scan_network("devnet", adapter=EvmAdapter(catalogue.get("devnet"), timeout=0.5))

    assert result.ok and result.new_deposits == 1
    assert [(t, int(v)) for t, _, v in recorded([to])] == [(tx, 777)]


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_a_reorg_up_to_the_threshold_never_leaves_a_link_successful_on_a_payment_gone_from_the_chain(devnet, pay_link, depth):
    assert catalogue.get("devnet").confirmations == 3  # the depths below go up to it
    link, address = pay_link(asset="ETH", amount_due=10**16)
    fork_point = devnet.snapshot()
    tx = devnet.send_eth(address.address, 10**16)
    devnet.mine(depth - 1)  # the payment is `depth` blocks deep
    scan_network("devnet")
    link.refresh_from_db()
    if depth >= 3:
        assert (link.status, link.status_detail) == (LinkStatus.SUCCESSFUL, "paid")
    else:
        assert (link.status, link.status_detail) == (LinkStatus.PENDING, "confirming")
    raw = devnet.raw_transaction(tx)

    # A longer fork from below the payment's block replaces all `depth` blocks.
    devnet.revert(fork_point)
    devnet.mine(depth + 1)
    result = scan_network("devnet")

    assert result.reorgs == 1 and result.orphaned == 1
    link.refresh_from_db()
    assert link.status == LinkStatus.PENDING and link.status_detail == "awaiting_payment"
    assert link.paid_at is None and not link.amount_received

    # The same payment is mined again on the new chain: counted once, Successful again.
    devnet.send_raw(raw)
    devnet.mine(2)
    scan_network("devnet")
    link.refresh_from_db()
    assert (link.status, link.status_detail) == (LinkStatus.SUCCESSFUL, "paid")
    [deposit] = Deposit.objects.filter(address=address)
    assert not deposit.orphaned and deposit.block_hash == devnet.block_hash(deposit.block_height)
