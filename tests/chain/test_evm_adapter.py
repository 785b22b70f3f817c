"""The EVM adapter against a real anvil, and against a tiny local HTTP server answering
garbage: every bad answer is a NodeError with a message safe to show, and the scanner
records nothing from it."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import replace

import pytest

from chain import catalogue
from chain.adapters.base import NodeError
from chain.adapters.evm import INTERNAL_INDEX_BASE, TRANSFER_TOPIC, EvmAdapter, WrongChainError
from chain.catalogue import DEVNET_TOKEN_ADDRESS
from chain.models import Cursor, Deposit
from chain.scanner import scan_network
from payram.lib.jsonguard import NODE_ANSWER_MAX_DEPTH, json_depth
from tests.support.anvil import random_address


def rpc_ok(result) -> Callable:
    """Answer every call (single or batched) with `result(method, params)`."""

    def respond(req):
        if isinstance(req, list):
            return json.dumps(
                [{"jsonrpc": "2.0", "id": r["id"], "result": result(r["method"], r["params"])} for r in req]
            ).encode()
        return json.dumps({"jsonrpc": "2.0", "id": req["id"], "result": result(req["method"], req["params"])}).encode()

    return respond


def devnet_at(url: str, *, internal_transfers: bool = False):
    """The devnet at `url`; the fake blocks here carry no traces, so internal transfers are
    off unless a test asks (test_internal_transfers.py covers them on anvil)."""
    return replace(catalogue.get("devnet"), rpc_url=url, internal_transfers=internal_transfers)


def h(n: int) -> str:
    return "0x" + f"{n:064x}"


def block(height: int, *, txs=(), parent: int | None = None) -> dict:
    return {
        "number": hex(height),
        "hash": h(1000 + height),
        "parentHash": h(1000 + (height - 1 if parent is None else parent)),
        "timestamp": hex(1_764_000_000 + 12 * height),
        "transactions": list(txs),
    }


# -- against anvil --------------------------------------------------------------------


@pytest.mark.anvil
def test_blocks_carry_native_and_token_transfers_with_checksummed_recipients(anvil):
    adapter = EvmAdapter(catalogue.get("devnet"))
    to = random_address()
    eth_tx = anvil.send_eth(to.lower(), 10**18 + 1)
    usdc_tx = anvil.send_token(to, 2_500_000)
    head = adapter.head()

    blocks = adapter.blocks(head - 1, head)

    assert [b.height for b in blocks] == [head - 1, head]
    assert blocks[1].parent_hash == blocks[0].hash == adapter.block_hash(head - 1)
    transfers = {t.tx_hash: t for b in blocks for t in b.transfers}
    assert transfers[eth_tx].to_address == to and transfers[eth_tx].value == 10**18 + 1
    assert (transfers[eth_tx].asset, transfers[eth_tx].index) == ("ETH", 0)
    assert (transfers[usdc_tx].asset, transfers[usdc_tx].to_address, transfers[usdc_tx].value) == ("USDC", to, 2_500_000)
    assert adapter.mempool() == []


@pytest.mark.anvil
def test_a_range_is_fetched_in_one_http_request(anvil, monkeypatch):
    adapter = EvmAdapter(catalogue.get("devnet"))
    adapter.head()
    posts = []
    real_post = adapter.session.post
    monkeypatch.setattr(adapter.session, "post", lambda *a, **kw: posts.append(kw["json"]) or real_post(*a, **kw))
    head = anvil.mine(10)

    adapter.blocks(head - 9, head)

    assert len(posts) == 1 and len(posts[0]) == 11  # ten blocks and one eth_getLogs
    logs_call = posts[0][-1]
    assert logs_call["method"] == "eth_getLogs"
    assert logs_call["params"][0]["address"] == [DEVNET_TOKEN_ADDRESS] and logs_call["params"][0]["topics"] == [TRANSFER_TOPIC]


@pytest.mark.anvil
def test_wrong_chain_id_is_a_clear_error(anvil):
    adapter = EvmAdapter(replace(catalogue.get("devnet"), chain_id=8453, name="Base"))
    with pytest.raises(WrongChainError, match="serves chain id 31337, but Base is chain id 8453"):
        adapter.head()


# -- against a node that answers badly ---------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (b"<html>502 Bad Gateway</html>", "malformed JSON"),
        (b'{"jsonrpc": "2.0", "id": 1, "result": "0xZZ"}', "malformed"),
        (b'{"jsonrpc": "2.0", "id": 1, "error": {"code": -32000, "message": "rate limited"}}', "rate limited"),
        (b'{"jsonrpc": "2.0", "id": 1}', "without a result"),
        (b'"just a string"', "not a JSON-RPC response"),
        ((503, b"busy"), "HTTP 503"),
        # json's C scanner segfaults on this: refused before parsing, the worker lives on
        (b"[" * 100_000, "answered JSON nested deeper than 64"),
        (b'{"jsonrpc": "2.0", "id": 1, "result": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested deeper than 64"),
        (("[" * 65 + "]" * 65).encode("utf-16"), "nested deeper than 64"),  # json.loads reads UTF-16 too
    ],
)
def test_garbage_answers_are_node_errors(fake_node, answer, message):
    fake_node.respond = lambda req: answer
    adapter = EvmAdapter(devnet_at(fake_node.url()))
    with pytest.raises(NodeError, match=message):
        adapter.chain_id()


def test_messages_never_carry_the_rpc_credentials(fake_node):
    fake_node.respond = lambda req: (500, b"oops")
    adapter = EvmAdapter(devnet_at(fake_node.url("alice:s3cret")))
    with pytest.raises(NodeError) as caught:
        adapter.chain_id()
    assert "s3cret" not in str(caught.value) and "***@127.0.0.1" in str(caught.value)


def test_a_slow_node_times_out(fake_node):
    release = threading.Event()
    fake_node.respond = lambda req: release.wait(5) and b"{}" or b"{}"
    adapter = EvmAdapter(devnet_at(fake_node.url()), timeout=0.2)
    try:
        with pytest.raises(NodeError, match="did not answer within 0.2 s"):
            adapter.chain_id()
    finally:
        release.set()


def chain_answers(blocks: dict[int, dict], logs: list[dict] | None = None, head: int = 12) -> Callable:
    def result(method, params):
        return {
            "eth_chainId": hex(31337),
            "eth_blockNumber": hex(head),
            "eth_getBlockByNumber": blocks.get(int(params[0], 16)) if method == "eth_getBlockByNumber" else None,
            "eth_getLogs": logs or [],
        }[method]

    return rpc_ok(result)


def transfer_log(
    height: int, to: str, value: int, *, block_hash: str | None = None, removed: bool = False, index: int = 0
) -> dict:
    return {
        "address": DEVNET_TOKEN_ADDRESS.lower(),
        "blockNumber": hex(height),
        "blockHash": block_hash or h(1000 + height),
        "transactionHash": h(5000 + index),
        "logIndex": hex(index),
        "removed": removed,
        "topics": [TRANSFER_TOPIC, "0x" + "0" * 64, "0x" + "0" * 24 + to[2:].lower()],
        "data": "0x" + f"{value:064x}",
    }


def test_removed_logs_are_skipped(fake_node):
    to = random_address()
    fake_node.respond = chain_answers({10: block(10)}, [transfer_log(10, to, 5, removed=True), transfer_log(10, to, 7, index=1)])
    [b] = EvmAdapter(devnet_at(fake_node.url())).blocks(10, 10)
    assert [(t.to_address, t.value, t.index) for t in b.transfers] == [(to, 7, 1)]


@pytest.mark.parametrize(
    ("blocks", "logs", "message"),
    [
        ({10: block(10), 11: block(11)}, [transfer_log(11, "0x" + "ab" * 20, 1, block_hash=h(77))], "chain moved"),
        ({10: block(10), 11: block(11, parent=3)}, [], "chain moved"),
        ({10: block(10)}, [], "has no block 11"),
        ({10: block(10), 11: {"number": "0xb", "hash": h(1011)}}, [], "lacks block.parentHash"),
        (
            {10: block(10), 11: block(11, txs=[{"to": "0x" + "ab" * 20, "value": "12", "hash": h(1)}])},
            [],
            "malformed transaction value",
        ),
        ({10: block(10), 11: block(11, txs=["0x" + "ab" * 32])}, [], "without full transactions"),
        ({10: block(10), 11: block(11)}, [dict(transfer_log(11, "0x" + "ab" * 20, 1), data="0x12")], "malformed Transfer value"),
    ],
)
def test_inconsistent_or_malformed_blocks_are_node_errors(fake_node, blocks, logs, message):
    fake_node.respond = chain_answers(blocks, logs)
    with pytest.raises(NodeError, match=message):
        EvmAdapter(devnet_at(fake_node.url())).blocks(10, 11)


@pytest.mark.django_db
def test_the_scanner_records_nothing_from_a_malformed_answer(fake_node, evm_address, devnet_rpc, monkeypatch):
    monkeypatch.setenv("PAYRAM_INTERNAL_TRANSFERS_DEVNET", "false")  # no traces in these fake blocks
    to = evm_address()
    good = {h_: block(h_) for h_ in range(0, 13)}
    good[11] = block(11, txs=[{"to": to.address, "value": hex(5), "hash": h(42)}])
    broken = dict(good)
    broken[12] = {"number": "0xc", "hash": "not-a-hash", "parentHash": h(1011), "transactions": []}
    fake_node.respond = chain_answers(broken)
    devnet_rpc(fake_node.url())
    Cursor.objects.create(network="devnet", height=9, block_hash=h(1009))

    with pytest.raises(NodeError, match="malformed block hash"):
        scan_network("devnet")

    cursor = Cursor.objects.get(network="devnet")
    assert cursor.height == 9 and "malformed block hash" in cursor.last_error
    assert Deposit.objects.count() == 0  # block 11 came in the same bad answer

    fake_node.respond = chain_answers(good)
    scan_network("devnet")
    assert [(d.tx_hash, int(d.value)) for d in Deposit.objects.all()] == [(h(42), 5)]


@pytest.mark.django_db
def test_the_scanner_reports_a_wrong_chain_on_the_cursor(fake_node, devnet_rpc):
    fake_node.respond = rpc_ok(lambda method, params: hex(1) if method == "eth_chainId" else hex(5))
    devnet_rpc(fake_node.url())
    with pytest.raises(WrongChainError):
        scan_network("devnet")
    assert "serves chain id 1, but Local devnet (anvil) is chain id 31337" in Cursor.objects.get(network="devnet").last_error


# -- answers nested too deep ------------------------------------------------------------


def test_brackets_and_escaped_quotes_in_strings_do_not_count_as_nesting(fake_node):
    """A block as deep as real ones get (accessList, authorizationList) whose strings hold
    hundreds of brackets and escaped quotes: parsed as usual."""
    to = random_address()
    tricky = '"[{' * 200 + "\\" + '}]"' * 3
    tx = {
        "to": to.lower(),
        "value": hex(9),
        "hash": h(77),
        "input": tricky,
        "type": "0x4",
        "accessList": [{"address": to.lower(), "storageKeys": [h(1), h(2)]}],
        "authorizationList": [
            {"chainId": "0x7a69", "address": "0x" + "11" * 20, "nonce": "0x0", "yParity": "0x1", "r": h(3), "s": h(4)}
        ],
    }
    fake_node.respond = chain_answers({10: block(10), 11: dict(block(11, txs=[tx]), extraData=tricky[::-1])})
    adapter = EvmAdapter(devnet_at(fake_node.url()))

    blocks = adapter.blocks(10, 11)

    assert [(t.to_address, t.value) for t in blocks[1].transfers] == [(to, 9)]
    answer = json.dumps([{"jsonrpc": "2.0", "id": 1, "result": block(11, txs=[tx])}])
    assert json_depth(answer) == 8 and json.dumps(tricky).count("[") == 200


def deep_blocks(answers: Callable) -> Callable:
    """`answers`, except that block fetches (batches) get a reply whose first block nests
    100,000 levels deep in its transactions."""

    def respond(req):
        if not isinstance(req, list):
            return answers(req)
        good = json.loads(answers(req))
        good[0]["result"]["transactions"] = "DEEP"
        return json.dumps(good).encode().replace(b'"DEEP"', b"[" * 100_000 + b"]" * 100_000)

    return respond


@pytest.mark.django_db
def test_a_node_answering_too_deep_json_records_nothing_and_the_cursor_and_health_show_it(
    fake_node, evm_address, devnet_rpc, monkeypatch
):
    monkeypatch.setenv("PAYRAM_INTERNAL_TRANSFERS_DEVNET", "false")  # no traces in these fake blocks
    from chain.health import network_health

    to = evm_address()
    good = {h_: block(h_) for h_ in range(0, 13)}
    good[11] = block(11, txs=[{"to": to.address, "value": hex(5), "hash": h(42)}])
    fake_node.respond = deep_blocks(chain_answers(good))
    devnet_rpc(fake_node.url())
    Cursor.objects.create(network="devnet", height=9, block_hash=h(1009))

    with pytest.raises(NodeError, match=f"answered JSON nested deeper than {NODE_ANSWER_MAX_DEPTH}"):
        scan_network("devnet")

    cursor = Cursor.objects.get(network="devnet")
    assert cursor.height == 9 and cursor.consecutive_failures == 1
    assert f"answered JSON nested deeper than {NODE_ANSWER_MAX_DEPTH}" in cursor.last_error
    assert Deposit.objects.count() == 0
    [health] = [row for row in network_health() if row.slug == "devnet"]
    assert "nested deeper than" in health.last_error and health.status != "ok"

    fake_node.respond = chain_answers(good)  # the node answers sanely again
    scan_network("devnet")
    assert [(d.tx_hash, int(d.value)) for d in Deposit.objects.all()] == [(h(42), 5)]
    assert Cursor.objects.get(network="devnet").last_error == ""


@pytest.mark.anvil
def test_a_real_block_with_access_and_authorization_lists_parses(anvil):
    """anvil's own answer for a block holding an EIP-7702 transaction (accessList and
    authorizationList, the deepest an EVM block answer gets): well under the limit."""
    import requests
    from eth_account import Account

    sender, authority, to = Account.create(), Account.create(), random_address()
    anvil.send_eth(sender.address, 10**17)
    authorization = authority.sign_authorization({"chainId": 31337, "address": "0x" + "11" * 20, "nonce": 0})
    signed = sender.sign_transaction(
        {
            "type": 4,
            "chainId": 31337,
            "nonce": 0,
            "to": to,
            "value": 7,
            "gas": 100_000,
            "maxFeePerGas": 10**10,
            "maxPriorityFeePerGas": 10**9,
            "accessList": [{"address": to, "storageKeys": ["0x" + "00" * 32]}],
            "authorizationList": [authorization],
        }
    )
    tx_hash = anvil.send_raw("0x" + signed.raw_transaction.hex().removeprefix("0x"))
    height = anvil.w3.eth.get_transaction_receipt(tx_hash)["blockNumber"]

    raw = requests.post(
        anvil.url, json=[{"jsonrpc": "2.0", "id": 1, "method": "eth_getBlockByNumber", "params": [hex(height), True]}], timeout=10
    ).content
    [reply] = json.loads(raw)
    [tx] = reply["result"]["transactions"]
    assert tx["accessList"] and tx["authorizationList"]
    assert json_depth(raw) == 8 < NODE_ANSWER_MAX_DEPTH

    [got] = EvmAdapter(catalogue.get("devnet")).blocks(height, height)
    assert [(t.tx_hash, t.to_address, t.value) for t in got.transfers] == [(tx_hash, to, 7)]


def test_an_answer_bigger_than_the_cap_is_refused_and_a_gzip_bomb_counts_unpacked(fake_node, monkeypatch):
    import gzip

    from chain.adapters import base

    monkeypatch.setattr(base, "NODE_ANSWER_MAX_BYTES", 1024 * 1024)
    adapter = EvmAdapter(devnet_at(fake_node.url()))
    fake_node.respond = lambda req: b'{"jsonrpc": "2.0", "id": 1, "result": "0x' + b"0" * (2 * 1024 * 1024) + b'1"}'
    with pytest.raises(NodeError, match="answered more than 1 MB; refused"):
        adapter.chain_id()

    bomb = gzip.compress(b'{"jsonrpc": "2.0", "id": 1, "result": "0x' + b"0" * (8 * 1024 * 1024) + b'1"}')
    assert len(bomb) < 64 * 1024  # small on the wire
    fake_node.respond = lambda req: (200, bomb, {"Content-Encoding": "gzip"})
    with pytest.raises(NodeError, match="answered more than 1 MB; refused"):
        adapter.chain_id()

    small = b'{"jsonrpc": "2.0", "id": 1, "result": "0x7a69"}'
    fake_node.respond = lambda req: small  # under the cap: read as before
    assert adapter.chain_id() == 31337


# -- internal transfers (call traces) against a fake node --------------------------------


def call_tx(n: int, to: str = "0x" + "cc" * 20, value: int = 0, data: str = "0xabcdef01") -> dict:
    return {"to": to, "value": hex(value), "hash": h(n), "input": data}


def frame(to: str, value: int = 0, kind: str = "CALL", calls=(), **extra) -> dict:
    return {"type": kind, "from": "0x" + "cc" * 20, "to": to, "value": hex(value), "input": "0x", "calls": list(calls), **extra}


def traced_answers(blocks: dict[int, dict], traces: dict[int, object]) -> Callable:
    """chain_answers plus debug_traceBlockByNumber answered from `traces` (height -> result),
    as geth does: without the trace module (trace_block is refused, as geth refuses it)."""

    def respond(req):
        if isinstance(req, list) and req and req[0]["method"] == "trace_block":
            refused = {"code": -32601, "message": "the method trace_block does not exist/is not available"}
            return json.dumps([{"jsonrpc": "2.0", "id": r["id"], "error": refused} for r in req]).encode()
        return rpc_ok(result)(req)

    def result(method, params):
        if method == "debug_traceBlockByNumber":
            assert params[1] == {"tracer": "callTracer"}
            return traces[int(params[0], 16)]
        return {
            "eth_chainId": hex(31337),
            "eth_blockNumber": hex(12),
            "eth_getBlockByNumber": blocks.get(int(params[0], 16)) if method == "eth_getBlockByNumber" else None,
            "eth_getLogs": [],
        }[method]

    return respond


def call_tree(a: str, b: str, c: str, d: str, e: str) -> dict:
    """One transaction's calls: paid, failed (with a paid child), nested, DELEGATECALL,
    STATICCALL, SELFDESTRUCT and CREATE frames."""
    return frame(
        "0x" + "cc" * 20,
        10**18,
        calls=[
            frame(a, 5),  # 1: paid
            frame(
                b,
                6,
                error="execution reverted",
                calls=[  # 2: failed, and so is all below
                    frame(c, 7),  # 3
                ],
            ),
            frame(
                c,
                0,
                calls=[  # 4: no value
                    frame(d, 8, kind="DELEGATECALL"),  # 5: moves nothing
                    frame(d, 0, kind="STATICCALL"),  # 6
                    frame(e, 9),  # 7: paid, two deep
                ],
            ),
            frame(a, 10, kind="SELFDESTRUCT"),  # 8: the balance goes to `a`
            frame("0x" + "dd" * 20, 11, kind="CREATE"),  # 9: a new contract, never ours
        ],
    )


def as_trace_module(tx_hash: str, block_hash: str, top: dict) -> list[dict]:
    """The same call tree as the trace module (trace_block) lists it: flat, depth-first,
    each frame with its path (traceAddress)."""
    flat = []

    def walk(f: dict, path: list[int]) -> None:
        kind = f["type"]
        if kind == "SELFDESTRUCT":
            entry = {"type": "suicide", "action": {"address": f["from"], "refundAddress": f["to"], "balance": f["value"]}}
        elif kind == "CREATE":
            entry = {"type": "create", "action": {"from": f["from"], "value": f["value"], "init": "0x"}}
        else:
            entry = {"type": "call", "action": {"callType": kind.lower(), "from": f["from"], "to": f["to"], "value": f["value"]}}
        if f.get("error"):
            entry["error"] = "Reverted"
        calls = f.get("calls", [])
        entry |= {"traceAddress": path, "subtraces": len(calls), "transactionHash": tx_hash, "blockHash": block_hash}
        flat.append(entry)
        for i, child in enumerate(calls):
            walk(child, [*path, i])

    walk(top, [])
    return flat


def test_internal_transfers_walk_the_call_tree_depth_first_skipping_failed_subtrees(fake_node):
    a, b, c, d, e = (random_address() for _ in range(5))
    top = call_tree(a, b, c, d, e)
    tx = call_tx(1, value=10**18)
    pure = {"to": random_address(), "value": hex(3), "hash": h(2), "input": "0x"}
    fake_node.respond = traced_answers(
        {10: block(10, txs=[pure]), 11: block(11, txs=[tx, pure | {"hash": h(3)}])},
        {11: [{"txHash": h(1), "result": top}, {"txHash": h(3), "result": frame(pure["to"], 3)}]},
    )

    blocks = EvmAdapter(devnet_at(fake_node.url(), internal_transfers=True)).blocks(10, 11)

    internal = [
        (t.index - INTERNAL_INDEX_BASE, t.to_address, t.value) for t in blocks[1].transfers if t.index >= INTERNAL_INDEX_BASE
    ]
    assert internal == [(1, a, 5), (7, e, 9), (8, a, 10)]
    assert all(t.tx_hash == h(1) and t.asset == "ETH" for t in blocks[1].transfers if t.index >= INTERNAL_INDEX_BASE)
    assert [(t.index, t.value) for t in blocks[0].transfers] == [(0, 3)]  # block 10: pure transfers, not traced
    traced = [
        r["params"][0]
        for req in fake_node.requests
        if isinstance(req, list)
        for r in req
        if r["method"] == "debug_traceBlockByNumber"
    ]
    assert traced == [hex(11)]


def test_the_trace_module_gives_the_same_transfers_at_the_same_indexes(fake_node):
    a, b, c, d, e = (random_address() for _ in range(5))
    tx = call_tx(1, value=10**18)
    pure = {"to": random_address(), "value": hex(3), "hash": h(3), "input": "0x"}
    blocks = {11: block(11, txs=[tx, pure])}
    traces = as_trace_module(h(1), h(1011), call_tree(a, b, c, d, e)) + as_trace_module(h(3), h(1011), frame(pure["to"], 3))
    traces.append({"type": "reward", "action": {"author": a, "value": "0x1"}, "traceAddress": []})  # not a frame

    def respond(req):
        if isinstance(req, list) and req[0]["method"] == "trace_block":
            assert [r["params"] for r in req] == [[hex(11)]]
            return json.dumps([{"jsonrpc": "2.0", "id": r["id"], "result": traces} for r in req]).encode()
        return traced_answers(blocks, {})(req)

    fake_node.respond = respond
    adapter = EvmAdapter(devnet_at(fake_node.url(), internal_transfers=True))
    [found] = adapter.blocks(11, 11)

    internal = [(t.index - INTERNAL_INDEX_BASE, t.to_address, t.value) for t in found.transfers if t.index >= INTERNAL_INDEX_BASE]
    assert internal == [(1, a, 5), (7, e, 9), (8, a, 10)]  # as from callTracer (the test above)
    assert adapter.trace_cost.method == "trace_block" and adapter.trace_cost.blocks == 1


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t[0].update(transactionHash=h(99)), "trace of another transaction"),
        (lambda t: t[0].update(blockHash=h(5)), "trace from another block"),
        (lambda t: t.reverse(), "out of depth-first order"),
        (lambda t: t[1].update(traceAddress="0"), "malformed traceAddress"),
    ],
)
def test_malformed_trace_module_answers_are_node_errors(fake_node, change, message):
    traces = as_trace_module(h(1), h(1010), frame("0x" + "cc" * 20, calls=[frame(random_address(), 5)]))
    change(traces)

    def respond(req):
        if isinstance(req, list) and req[0]["method"] == "trace_block":
            return json.dumps([{"jsonrpc": "2.0", "id": r["id"], "result": traces} for r in req]).encode()
        return traced_answers({10: block(10, txs=[call_tx(1)])}, {})(req)

    fake_node.respond = respond
    with pytest.raises(NodeError, match=message):
        EvmAdapter(devnet_at(fake_node.url(), internal_transfers=True)).blocks(10, 10)


def test_a_node_refusing_debug_trace_says_how_to_go_on(fake_node):
    def respond(req):
        if isinstance(req, list) and req[0]["method"] == "debug_traceBlockByNumber":
            return json.dumps(
                [
                    {
                        "jsonrpc": "2.0",
                        "id": r["id"],
                        "error": {
                            "code": -32601,
                            "message": "the method debug_traceBlockByNumber does not exist/is not available",
                        },
                    }
                    for r in req
                ]
            ).encode()
        return traced_answers({10: block(10, txs=[call_tx(1)])}, {})(req)

    fake_node.respond = respond
    with pytest.raises(NodeError) as caught:
        EvmAdapter(devnet_at(fake_node.url(), internal_transfers=True)).blocks(10, 10)
    message = str(caught.value)
    assert "node refused debug_traceBlockByNumber" in message and "does not exist" in message
    assert "set PAYRAM_INTERNAL_TRANSFERS_DEVNET=false" in message and "a node that answers debug_traceBlockByNumber" in message


@pytest.mark.parametrize(
    ("trace", "message"),
    [
        ({"not": "a list"}, "not one trace per transaction"),
        ([], "not one trace per transaction"),
        ([{"txHash": h(9), "result": frame("0x" + "ab" * 20)}], "chain moved while reading block 10"),
        ([{"txHash": h(1), "error": "tracing failed: out of memory"}], "could not trace transaction"),
        ([{"txHash": "0x12", "result": frame("0x" + "ab" * 20)}], "malformed trace transaction hash"),
        ([{"txHash": h(1)}], "lacks trace.result"),
        ([{"txHash": h(1), "result": "0x"}], "call frame that is not an object"),
        ([{"txHash": h(1), "result": {"to": "0x" + "ab" * 20}}], "lacks call frame.type"),
        ([{"txHash": h(1), "result": frame("0x" + "ab" * 20, calls=["x"])}], "call frame that is not an object"),
        ([{"txHash": h(1), "result": dict(frame("0x" + "ab" * 20), calls={"a": 1})}], "not a list"),
        (
            [{"txHash": h(1), "result": frame("0x" + "ab" * 20, calls=[dict(frame("0x" + "ab" * 20), value="12")])}],
            "malformed call value",
        ),
        ([{"txHash": h(1), "result": frame("0x" + "ab" * 20, calls=[frame("0x1234", 5)])}], "malformed call recipient"),
        ([{"txHash": h(1), "result": frame("0x" + "ab" * 20, calls=[{"type": "CALL", "value": "0x5"}])}], "lacks call frame.to"),
        (
            [{"txHash": h(1), "result": frame("0x" + "ab" * 20, calls=[dict(frame("0x" + "ab" * 20, 1), type=5)])}],
            "malformed call frame type",
        ),
    ],
)
def test_malformed_traces_are_node_errors(fake_node, trace, message):
    fake_node.respond = traced_answers({10: block(10, txs=[call_tx(1)])}, {10: trace})
    with pytest.raises(NodeError, match=message):
        EvmAdapter(devnet_at(fake_node.url(), internal_transfers=True)).blocks(10, 10)


@pytest.mark.parametrize(("data", "message"), [(None, "lacks transaction.input"), ("zz", "malformed transaction input")])
def test_a_transaction_without_readable_input_is_a_node_error_when_tracing(fake_node, data, message):
    tx = call_tx(1) if data is None else dict(call_tx(1), input=data)
    if data is None:
        del tx["input"]
    fake_node.respond = traced_answers({10: block(10, txs=[tx])}, {10: []})
    with pytest.raises(NodeError, match=message):
        EvmAdapter(devnet_at(fake_node.url(), internal_transfers=True)).blocks(10, 10)


def test_a_transaction_too_deep_to_trace_is_skipped_with_a_warning_and_scanning_goes_on(fake_node, caplog):
    """Anyone can send a transaction nesting hundreds of calls; it must not stop scanning."""
    from chain.adapters.evm import CALL_TRACER, TRACE_ANSWER_MAX_DEPTH

    deep = frame("0x" + "ab" * 20)
    for _ in range(TRACE_ANSWER_MAX_DEPTH // 2):
        deep = frame("0x" + "ab" * 20, calls=[deep])
    paid, other = random_address(), random_address()
    shallow = {h(2): frame("0x" + "cc" * 20, calls=[frame(paid, 5)]), h(3): frame("0x" + "cc" * 20, calls=[frame(other, 6)])}
    by_tx = {h(1): deep, **shallow}
    txs = [call_tx(1), call_tx(2), call_tx(3)]

    def result(method, params):
        if method == "debug_traceBlockByNumber":
            return [{"txHash": t["hash"], "result": by_tx[t["hash"]]} for t in txs]
        if method == "debug_traceTransaction":
            assert params[1] == {"tracer": "callTracer"}
            return by_tx[params[0]]
        return {"eth_chainId": hex(31337), "eth_getBlockByNumber": block(10, txs=txs), "eth_getLogs": []}[method]

    fake_node.respond = rpc_ok(result)
    with caplog.at_level("WARNING", logger="chain.adapters.evm"):
        # A geth (callTracer): the trace module's flat traces do not nest.
        [scanned] = EvmAdapter(devnet_at(fake_node.url(), internal_transfers=True), tracer=CALL_TRACER).blocks(10, 10)

    internal = sorted(
        (t.tx_hash, t.to_address, t.value, t.index - INTERNAL_INDEX_BASE)
        for t in scanned.transfers
        if t.index >= INTERNAL_INDEX_BASE
    )
    assert internal == sorted([(h(2), paid, 5, 1), (h(3), other, 6, 1)])  # the same indexes as from a block trace
    assert f"transaction {h(1)} in block 10 calls more than" in caplog.text


@pytest.mark.django_db
def test_the_scanner_records_nothing_from_a_block_whose_trace_is_malformed(fake_node, evm_address, devnet_rpc):
    to = evm_address()
    good = {h_: block(h_) for h_ in range(0, 13)}
    good[11] = block(11, txs=[call_tx(1)])
    good[10] = block(10, txs=[{"to": to.address, "value": hex(5), "hash": h(42), "input": "0x"}])
    pays = [{"txHash": h(1), "result": frame("0x" + "cc" * 20, calls=[frame(to.address.lower(), 77)])}]
    fake_node.respond = traced_answers(good, {11: [{"txHash": h(1), "result": {"type": "CALL", "calls": "bad"}}]})
    devnet_rpc(fake_node.url())
    assert catalogue.get("devnet").internal_transfers
    Cursor.objects.create(network="devnet", height=9, block_hash=h(1009))

    with pytest.raises(NodeError, match="not a list"):
        scan_network("devnet")
    assert Deposit.objects.count() == 0 and Cursor.objects.get(network="devnet").height == 9

    fake_node.respond = traced_answers(good, {11: pays})
    scan_network("devnet")
    assert sorted((d.tx_hash, d.index, int(d.value)) for d in Deposit.objects.all()) == [
        (h(1), INTERNAL_INDEX_BASE + 1, 77),
        (h(42), 0, 5),
    ]


# -- the setting in the catalogue ---------------------------------------------------------


def test_the_setting_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("PAYRAM_INTERNAL_TRANSFERS_BASE_SEPOLIA", "true")
    monkeypatch.setenv("PAYRAM_INTERNAL_TRANSFERS_DEVNET", "off")
    try:
        catalogue.reload()
        assert catalogue.get("base-sepolia").internal_transfers and not catalogue.get("devnet").internal_transfers
        assert catalogue.get("base-sepolia").internal_transfers_env_var == "PAYRAM_INTERNAL_TRANSFERS_BASE_SEPOLIA"
        assert not catalogue.get("ethereum").internal_transfers
    finally:
        monkeypatch.undo()
        catalogue.reload()


def test_a_bad_value_is_that_networks_config_error_and_disables_it(monkeypatch):
    monkeypatch.setenv("PAYRAM_RPC_SEPOLIA", "http://127.0.0.1:1")
    monkeypatch.setenv("PAYRAM_RPC_BASE_SEPOLIA", "http://127.0.0.1:2")
    monkeypatch.setenv("PAYRAM_INTERNAL_TRANSFERS_SEPOLIA", "sometimes")
    try:
        catalogue.reload()
        errors = catalogue.config_errors()
        assert (
            "PAYRAM_INTERNAL_TRANSFERS_SEPOLIA must be one of true/false" in errors["sepolia"]
            and "'sometimes'" in errors["sepolia"]
        )
        assert not catalogue.get("sepolia").enabled and catalogue.get("base-sepolia").enabled
        assert set(errors) == {"sepolia"}
    finally:
        monkeypatch.undo()
        catalogue.reload()


def test_the_chains_file_sets_it_per_custom_network(tmp_path, settings):
    good = tmp_path / "chains.toml"
    good.write_text(
        '[[network]]\nslug = "mine"\nchain_id = 999\ninternal_transfers = true\n\n[[network]]\nslug = "theirs"\nchain_id = 998\n'
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('[[network]]\nslug = "mine"\nchain_id = 999\ninternal_transfers = "yes"\n')
    try:
        settings.PAYRAM_CHAINS_FILE = str(good)
        catalogue.reload()
        assert catalogue.get("mine").internal_transfers and not catalogue.get("theirs").internal_transfers
        settings.PAYRAM_CHAINS_FILE = str(bad)
        catalogue.reload()
        assert "internal_transfers must be true or false, not 'yes'" in catalogue.config_errors()["*"]
    finally:
        settings.PAYRAM_CHAINS_FILE = ""
        catalogue.reload()
