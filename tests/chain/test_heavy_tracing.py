"""Internal-transfer tracing never stalls scanning (issue 15): on blocks of 60
transactions with call data, geth's callTracer on anvil needs seconds per block, and one
trace request for a whole batch used to outlast the node timeout on every try, so the
cursor never moved while anvil went on tracing. Traces are now asked for in requests sized
to the node's speed, and where the node has the trace module (anvil does) it is used.
A fresh anvil of its own, so its slow tracing holds up no other test."""

from __future__ import annotations

import re
import time

import pytest
import requests
from django.urls import reverse

from chain import catalogue
from chain import devnet as devnet_tools
from chain.adapters.evm import CALL_TRACER, INTERNAL_INDEX_BASE, TRACE_BLOCK, EvmAdapter
from chain.catalogue import DEVNET_TOKEN_ADDRESS
from chain.models import Cursor, Deposit, ScannedBlock
from chain.scanner import scan_network
from tests.support.anvil import random_address, start_anvil, stop_process

pytestmark = [pytest.mark.anvil, pytest.mark.django_db]

HEAVY_BLOCKS = 5
PER_BLOCK = 60
TRANSFER_SELECTOR = "a9059cbb"  # transfer(address,uint256)


@pytest.fixture(scope="module")
def heavy():
    """A fresh anvil holding HEAVY_BLOCKS blocks of PER_BLOCK token transfers each (every
    one carries call data, so every block is traced), the last one also paying a watched
    address through a contract. Yields (node, first heavy height, that address, tx)."""
    node = start_anvil()
    try:
        forwarder = devnet_tools.deploy_forwarder(node.w3)
        to = random_address()
        accounts = node.w3.eth.accounts
        url = node.url
        first = node.head() + 1
        post = requests.Session().post
        post(url, json={"jsonrpc": "2.0", "id": 1, "method": "evm_setAutomine", "params": [False]}, timeout=30)
        tx = None
        for n in range(HEAVY_BLOCKS):
            calls = []
            for i in range(PER_BLOCK):
                data = "0x" + TRANSFER_SELECTOR + random_address()[2:].lower().rjust(64, "0") + hex(1 + i)[2:].rjust(64, "0")
                params = {"from": accounts[0], "to": DEVNET_TOKEN_ADDRESS, "data": data, "gas": hex(100_000)}
                calls.append({"jsonrpc": "2.0", "id": i, "method": "eth_sendTransaction", "params": [params]})
            for i in range(0, len(calls), 50):
                answers = post(url, json=calls[i : i + 50], timeout=60).json()
                assert not [a for a in answers if "error" in a]
            if n == HEAVY_BLOCKS - 1:
                tx = forwarder.functions.pay(to).transact({"from": accounts[1], "value": 10**15, "gas": 200_000})
            post(url, json={"jsonrpc": "2.0", "id": 1, "method": "anvil_mine", "params": ["0x1"]}, timeout=60)
        post(url, json={"jsonrpc": "2.0", "id": 1, "method": "evm_setAutomine", "params": [True]}, timeout=30)
        assert len(node.w3.eth.get_block(first)["transactions"]) == PER_BLOCK
        yield node, first, to, "0x" + bytes(tx).hex().removeprefix("0x")
    finally:
        stop_process(node.process)


@pytest.fixture
def on_heavy(heavy, devnet_rpc, project):
    """The devnet pointed at the heavy anvil, its cursor just below the heavy blocks, and
    the contract-paid address watched."""
    from chain.models import DepositAddress, Wallet

    node, first, to, tx = heavy
    devnet_rpc(node.url)
    below = first - 1
    below_hash = node.block_hash(below)
    Cursor.objects.update_or_create(network="devnet", defaults={"height": below, "block_hash": below_hash})
    ScannedBlock.objects.create(network="devnet", height=below, block_hash=below_hash, parent_hash="")
    wallet = Wallet.objects.create(project=project, family="evm", xpub="test-xpub-heavy", script_type="evm")
    address = DepositAddress.objects.create(project=project, wallet=wallet, family="evm", index=0, address=to)
    return node, first, address, tx


def _trace_one_block_seconds(url: str, height: int) -> float:
    started = time.perf_counter()
    answer = requests.post(
        url,
        json={"jsonrpc": "2.0", "id": 1, "method": "debug_traceBlockByNumber", "params": [hex(height), {"tracer": "callTracer"}]},
        timeout=300,
    ).json()
    assert len(answer["result"]) == PER_BLOCK
    return time.perf_counter() - started


def test_a_slow_tracer_gets_one_block_per_request_and_the_cursor_reaches_the_head(on_heavy):
    node, first, address, tx = on_heavy
    one_block = _trace_one_block_seconds(node.url, first)
    # Three blocks' worth: the whole batch (HEAVY_BLOCKS blocks) in one request would
    # outlast it, as the 50-block trace request outlasted the 10 s timeout before.
    timeout = max(3 * one_block, 2.0)
    adapter = EvmAdapter(catalogue.get("devnet"), timeout=timeout, tracer=CALL_TRACER)

    result = scan_network("devnet", adapter=adapter, batch_blocks=HEAVY_BLOCKS + 1)

    assert result.ok and result.height == node.head() and result.blocks == HEAVY_BLOCKS
    cost = adapter.trace_cost
    assert cost.method == CALL_TRACER and cost.blocks == HEAVY_BLOCKS
    assert cost.requests == HEAVY_BLOCKS  # bounded: never the whole batch in one request
    [deposit] = Deposit.objects.filter(address=address)
    assert (deposit.tx_hash, deposit.index, int(deposit.value)) == (tx, INTERNAL_INDEX_BASE + 1, 10**15)
    # The node is not left tracing: it answers at once.
    started = time.perf_counter()
    assert node.head() >= first
    assert time.perf_counter() - started < one_block


def test_a_node_with_the_trace_module_is_traced_with_it_and_health_shows_the_cost(on_heavy, merchant_client):
    node, first, address, tx = on_heavy
    adapter = EvmAdapter(catalogue.get("devnet"))

    result = scan_network("devnet", adapter=adapter, batch_blocks=50)

    assert result.ok and result.height == node.head()
    assert adapter.trace_cost.method == TRACE_BLOCK and adapter.trace_cost.blocks == HEAVY_BLOCKS
    [deposit] = Deposit.objects.filter(address=address)
    assert (deposit.tx_hash, deposit.index) == (tx, INTERNAL_INDEX_BASE + 1)
    html = merchant_client.get(reverse("chain:health")).content.decode()
    assert re.search(r"internal transfers traced with trace_block, \d+ ms per traced block, \d+% of the last scan", html)
