"""The Bitcoin Core adapter against a regtest node: the Core-format test server, and a real
bitcoind when BITCOIND is set (tests taking `regtest`). What an operator would notice:
exact satoshi, every output paying an address, the mempool, and clear errors that never
show the RPC password."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from chain import catalogue
from chain.adapters import adapter_for
from chain.adapters.base import NodeError
from chain.adapters.bitcoin import BitcoinCoreAdapter, WrongChainError
from tests.support.bitcoin_core import RPC_PASSWORD, FakeNode, RegtestNode

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitcoin-core"  # Core 31 recordings


def regtest_adapter(**kwargs) -> BitcoinCoreAdapter:
    return BitcoinCoreAdapter(catalogue.get("bitcoin-regtest"), **kwargs)


def adapter_at(url: str, slug: str = "bitcoin-regtest", **kwargs) -> BitcoinCoreAdapter:
    return BitcoinCoreAdapter(replace(catalogue.get(slug), rpc_url=url), **kwargs)


def paid_to(transfers, address: str) -> list[int]:
    return sorted(t.value for t in transfers if t.to_address == address)


# -- against both backends -------------------------------------------------------------


def test_amounts_are_exact_satoshi(regtest: RegtestNode):
    """0.1 + 0.2 BTC is 30000000 satoshi, not 30000000.000000004."""
    address = regtest.new_address()
    regtest.send(address, Decimal("0.1"))
    regtest.send(address, Decimal("0.2"))
    regtest.send(address, Decimal("1.23456789"))
    regtest.send(address, Decimal("0.00000546"))
    (block_hash,) = regtest.mine()
    adapter = regtest_adapter()
    (block,) = adapter.blocks(regtest.height, regtest.height)
    assert block.hash == block_hash
    assert paid_to(block.transfers, address) == [546, 10_000_000, 20_000_000, 123_456_789]
    assert sum(paid_to(block.transfers, address)) == 153_457_335
    assert all(type(t.value) is int for t in block.transfers)


def test_blocks_come_in_order_linked_by_parent_hash(regtest: RegtestNode):
    regtest.mine(3)
    adapter = regtest_adapter()
    head = adapter.head()
    assert head == regtest.height
    blocks = adapter.blocks(head - 3, head)
    assert [b.height for b in blocks] == list(range(head - 3, head + 1))
    assert [b.hash for b in blocks] == [regtest.block_hash(h) for h in range(head - 3, head + 1)]
    for parent, child in zip(blocks, blocks[1:]):
        assert child.parent_hash == parent.hash
    assert adapter.block_hash(head) == blocks[-1].hash
    assert adapter.blocks(head, head - 1) == []


def test_every_output_paying_an_address_is_reported_with_its_index(regtest: RegtestNode):
    """sendmany to P2TR, P2PKH and P2SH outputs; the coinbase pays the miner; the witness
    commitment (OP_RETURN, no address) is skipped."""
    outputs = {
        regtest.new_address("p2tr"): "0.00012345",
        regtest.new_address("p2pkh"): "1.23456789",
        regtest.new_address("p2sh"): "0.1",
    }
    txid = regtest.send_many(outputs)
    regtest.mine()
    (block,) = regtest_adapter().blocks(regtest.height, regtest.height)
    ours = {t.to_address: t for t in block.transfers if t.tx_hash == txid and t.to_address in outputs}
    assert {a: t.value for a, t in ours.items()} == {a: int(Decimal(v) * 100_000_000) for a, v in outputs.items()}
    raw = regtest.node_rpc.call("getrawtransaction", txid, 1)
    by_n = {v["n"]: v["scriptPubKey"].get("address") for v in raw["vout"]}
    for address, transfer in ours.items():
        assert by_n[transfer.index] == address
    coinbase_outputs = [t for t in block.transfers if t.to_address == regtest.miner_address]
    assert len(coinbase_outputs) == 1 and coinbase_outputs[0].index == 0
    subsidy = (50 * 100_000_000) >> (regtest.height // 150)  # regtest halves every 150 blocks
    assert coinbase_outputs[0].value >= subsidy and coinbase_outputs[0].coinbase  # subsidy plus fees
    assert all(t.to_address for t in block.transfers)
    assert all(t.asset == "BTC" for t in block.transfers)


def test_a_payment_is_seen_in_the_mempool_before_its_block(regtest: RegtestNode):
    address = regtest.new_address()
    txid = regtest.send(address, "0.5")
    adapter = regtest_adapter()
    pending = [t for t in adapter.mempool() if t.to_address == address]
    assert [(t.tx_hash, t.value) for t in pending] == [(txid, 50_000_000)]
    regtest.mine()
    assert [t for t in adapter.mempool() if t.to_address == address] == []
    (block,) = adapter.blocks(regtest.height, regtest.height)
    assert [(t.tx_hash, t.index, t.value) for t in block.transfers if t.to_address == address] == [
        (txid, pending[0].index, 50_000_000)
    ]


def test_after_a_reorg_the_same_height_has_another_block(regtest: RegtestNode):
    address = regtest.new_address()
    txid = regtest.send(address, "0.25")
    regtest.mine()
    height = regtest.height
    adapter = regtest_adapter()
    old = adapter.blocks(height, height)[0]
    regtest.reorg(1, 2)
    assert adapter.head() == height + 1
    new = adapter.blocks(height, height + 1)
    assert new[0].hash != old.hash and new[0].parent_hash == old.parent_hash
    assert paid_to(new[0].transfers + new[1].transfers, address) == []
    assert txid in {t.tx_hash for t in adapter.mempool()}  # back in the mempool
    regtest.mine()
    (remined,) = adapter.blocks(height + 2, height + 2)
    assert paid_to(remined.transfers, address) == [25_000_000]


def test_a_reorg_can_re_mine_the_payments_at_once(regtest: RegtestNode):
    address = regtest.new_address()
    regtest.send(address, "0.125")
    [old] = regtest.mine()
    height = regtest.height
    new = regtest.reorg(1, 2, remine=True)
    assert len(new) == 3 and old not in new and regtest.height == height + 2
    blocks = regtest_adapter().blocks(height, height + 2)
    assert [paid_to(b.transfers, address) for b in blocks] == [[], [], [12_500_000]]


def test_the_node_on_another_chain_is_refused(regtest: RegtestNode):
    for slug, shown in [("bitcoin", "Bitcoin mainnet"), ("bitcoin-testnet4", "testnet4"), ("bitcoin-signet", "signet")]:
        adapter = adapter_at(regtest.url, slug)
        with pytest.raises(WrongChainError) as caught:
            adapter.head()
        message = str(caught.value)
        assert "regtest" in message and shown in message
        assert RPC_PASSWORD not in message
    assert regtest_adapter().check()["chain"] == "regtest"


def test_wrong_credentials_are_named_and_not_shown(regtest: RegtestNode):
    url = regtest.url.replace(RPC_PASSWORD, "not-the-password")
    with pytest.raises(NodeError, match="refused the RPC credentials") as caught:
        adapter_at(url).head()
    assert "not-the-password" not in str(caught.value)
    with pytest.raises(NodeError, match="refused the RPC credentials"):
        adapter_at(url.replace("payram:not-the-password@", "")).head()


def test_core_errors_carry_cores_message(regtest: RegtestNode):
    adapter = regtest_adapter()
    with pytest.raises(NodeError, match="Block height out of range"):
        adapter.blocks(regtest.height + 1, regtest.height + 1)
    with pytest.raises(NodeError, match="Block height out of range"):
        adapter.block_hash(regtest.height + 100)
    with pytest.raises(NodeError, match="Method not found"):
        adapter.call("nosuchmethod")
    with pytest.raises(NodeError, match="Block not found"):
        adapter.call("getblock", "00" * 32, 2)


def test_a_node_that_is_down_is_reported_then_recovers(regtest: RegtestNode):
    adapter = regtest_adapter()
    height = adapter.head()
    regtest.stop()
    try:
        with pytest.raises(NodeError, match="refused the connection") as caught:
            adapter.head()
        assert RPC_PASSWORD not in str(caught.value)
        assert "***@127.0.0.1" in str(caught.value)
    finally:
        regtest.start()
    assert adapter.head() == height


# -- the Core-format server only (faults a real node will not stage) --------------------


def test_cookie_auth_works_like_a_user(bitcoin_core: FakeNode):
    assert adapter_at(bitcoin_core.server.cookie_url).head() == bitcoin_core.height


def test_a_cookie_file_is_read_again_after_the_node_restarts(bitcoin_core: FakeNode, tmp_path, monkeypatch):
    """PAYRAM_RPC_<SLUG>_COOKIE names bitcoind's .cookie; a restarted node writes a new one."""
    cookie = tmp_path / ".cookie"
    cookie.write_text(bitcoin_core.server.cookie)
    monkeypatch.setenv("PAYRAM_RPC_BITCOIN_REGTEST_COOKIE", str(cookie))
    adapter = adapter_at(bitcoin_core.server.base_url)  # no credentials in the URL
    assert adapter.head() == bitcoin_core.height

    bitcoin_core.server.cookie = "__cookie__:" + "ab" * 32  # the node restarted
    with pytest.raises(NodeError, match="refused the RPC credentials"):
        adapter.head()
    cookie.write_text(bitcoin_core.server.cookie)
    assert adapter.head() == bitcoin_core.height

    cookie.unlink()
    with pytest.raises(NodeError, match=r"cannot read the RPC cookie file .*\.cookie"):
        adapter.head()


def test_the_factory_gives_the_bitcoin_adapter(bitcoin_core: FakeNode):
    adapter = adapter_for(catalogue.get("bitcoin-regtest"))
    assert isinstance(adapter, BitcoinCoreAdapter)
    assert adapter.head() == bitcoin_core.height


def test_a_network_without_rpc_url_says_which_variable_to_set(monkeypatch):
    monkeypatch.delenv("PAYRAM_RPC_BITCOIN_SIGNET", raising=False)
    catalogue.reload()
    try:
        with pytest.raises(NodeError, match="PAYRAM_RPC_BITCOIN_SIGNET"):
            BitcoinCoreAdapter(catalogue.get("bitcoin-signet"))
    finally:
        monkeypatch.undo()
        catalogue.reload()


def test_block_ranges_are_fetched_in_batches(bitcoin_core: FakeNode):
    bitcoin_core.mine(30)
    bitcoin_core.server.http_requests.clear()
    adapter = regtest_adapter()
    adapter.check()
    bitcoin_core.server.http_requests.clear()
    blocks = adapter.blocks(100, 129)
    assert len(blocks) == 30
    requests = bitcoin_core.server.http_requests
    assert requests[0] == ["getblockhash"] * 30  # one round trip for all the hashes
    assert all(set(r) == {"getblock"} for r in requests[1:])
    # the first getblock learns how big this chain's blocks are; small ones go many at a time
    assert [len(r) for r in requests[1:]] == [1, 16, 13]


def test_big_blocks_are_fetched_one_per_request(bitcoin_core: FakeNode):
    bitcoin_core.mine(5)
    adapter = regtest_adapter()
    adapter.TARGET_RESPONSE_BYTES = 1_000  # as if each block were megabytes, like mainnet's
    adapter.check()
    bitcoin_core.server.http_requests.clear()
    assert len(adapter.blocks(100, 105)) == 6
    assert [len(r) for r in bitcoin_core.server.http_requests[1:]] == [1] * 6


def test_a_slow_node_times_out(bitcoin_core: FakeNode):
    adapter = regtest_adapter(timeout=0.3)
    adapter.check()
    bitcoin_core.server.slow_seconds = 1.5
    with pytest.raises(NodeError, match="did not answer within 0.3 s"):
        adapter.head()


def test_malformed_json_is_refused(bitcoin_core: FakeNode):
    adapter = regtest_adapter()
    adapter.check()
    bitcoin_core.server.malformed = True
    with pytest.raises(NodeError, match="malformed JSON"):
        adapter.blocks(100, 101)
    with pytest.raises(NodeError, match="malformed JSON"):
        adapter.mempool()


def _tamper_outputs(bitcoin_core: FakeNode, rewrite) -> None:
    def each_block(results):
        for tx in results["tx"]:
            for vout in tx["vout"]:
                rewrite(vout)
        return results

    bitcoin_core.server.tamper("getblock", each_block)


@pytest.mark.parametrize(
    "rewrite, shown",
    [
        (lambda v: v.update(value="0.5"), "not a BTC amount"),
        (lambda v: v.update(value=None), "not a BTC amount"),
        (lambda v: v.update(value=True), "not a BTC amount"),
        (lambda v: v.update(value=Decimal("0.123456789")), "more than 8 decimals"),
        (lambda v: v.update(value=Decimal("-1.00000000")), "outside 0..21,000,000 BTC"),
        (lambda v: v.pop("n"), "without the fields"),
        (lambda v: v.pop("scriptPubKey"), "without the fields"),
        (lambda v: v.update(n="0"), "without the fields"),
    ],
    ids=["string", "null", "bool", "nine-decimals", "negative", "no-n", "no-scriptPubKey", "string-n"],
)
def test_outputs_missing_or_malformed_fields_are_refused(bitcoin_core: FakeNode, rewrite, shown):
    _tamper_outputs(bitcoin_core, rewrite)
    with pytest.raises(NodeError, match=shown):
        regtest_adapter().blocks(100, 100)


def test_a_block_without_transactions_is_refused(bitcoin_core: FakeNode):
    bitcoin_core.server.tamper("getblock", lambda block: {k: v for k, v in block.items() if k != "tx"})
    with pytest.raises(NodeError, match="without its transactions"):
        regtest_adapter().blocks(100, 100)


def test_a_block_read_while_the_chain_switches_is_refused(bitcoin_core: FakeNode):
    """A hash that left the chain between getblockhash and getblock: Core answers the stale
    block with confirmations -1; nothing from it may be recorded."""
    stale = bitcoin_core.block_hash(bitcoin_core.height)
    bitcoin_core.reorg(1, 2)
    bitcoin_core.server.tamper("getblockhash", lambda _: stale)
    with pytest.raises(NodeError, match="switched chains"):
        regtest_adapter().blocks(bitcoin_core.height - 1, bitcoin_core.height - 1)


def test_a_transaction_gone_from_the_mempool_meanwhile_is_skipped(bitcoin_core: FakeNode):
    address = bitcoin_core.new_address()
    txid = bitcoin_core.send(address, "0.3")
    bitcoin_core.server.tamper("getrawmempool", lambda txids: ["11" * 32, *txids])
    pending = regtest_adapter().mempool()
    assert [(t.tx_hash, t.value) for t in pending if t.to_address == address] == [(txid, 30_000_000)]


def test_a_huge_mempool_is_covered_over_several_polls_and_then_stays_complete(bitcoin_core: FakeNode):
    addresses = [bitcoin_core.new_address() for _ in range(5)]
    for address in addresses:
        bitcoin_core.send(address, "0.01")
    server = bitcoin_core.server
    server.http_requests.clear()
    first = regtest_adapter(mempool_limit=3).mempool()
    assert len({t.tx_hash for t in first}) == 3
    assert server.http_requests[-1] == ["getrawtransaction"] * 3  # one batch, capped

    server.http_requests.clear()
    second = regtest_adapter(mempool_limit=3).mempool()  # a new scan, a new adapter
    assert {t.to_address for t in second} >= set(addresses)
    assert server.http_requests[-1] == ["getrawtransaction"] * 2  # only the ones not seen yet

    server.http_requests.clear()
    assert regtest_adapter(mempool_limit=3).mempool() == second
    assert server.http_requests[-1] == ["getrawmempool"]  # nothing new to decode

    bitcoin_core.mine()
    assert regtest_adapter(mempool_limit=3).mempool() == []


# -- Core's recorded bytes, served as they were ------------------------------------------


class _Recorded(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    replies: list[tuple[int, str]] = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        status, text = self.replies.pop(0)
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def recorded():
    """A server that answers with fixture recordings, byte for byte, in the order given."""
    handler = type("Handler", (_Recorded,), {"replies": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def serve(*names: str | tuple[int, str]) -> BitcoinCoreAdapter:
        for name in names:
            if isinstance(name, tuple):
                handler.replies.append(name)
                continue
            fixture = json.loads((FIXTURES / f"{name}.json").read_text())
            handler.replies.append((fixture["status"], fixture["response_text"]))
        adapter = adapter_at(f"http://u:p@127.0.0.1:{server.server_address[1]}")
        adapter._chain_checked = True  # these replies are not getblockchaininfo
        return adapter

    yield serve
    server.shutdown()
    server.server_close()


def test_cores_recorded_answers_are_understood(recorded):
    assert recorded("11-getblockcount").head() == 112
    assert recorded("26-jsonrpc2-getblockcount").head() == 112  # JSON-RPC 2.0 shape
    with pytest.raises(NodeError, match="refused the RPC credentials"):
        recorded("27-error-bad-auth").head()
    with pytest.raises(NodeError, match="-8: Block height out of range"):
        recorded("21-error-getblockhash-out-of-range").block_hash(212)
    with pytest.raises(NodeError, match="-8: Block height out of range"):
        recorded("25-jsonrpc2-error-getblockhash-out-of-range").block_hash(212)
    with pytest.raises(NodeError, match="Method not found"):
        recorded("24-error-method-not-found").call("nosuchmethod")
    adapter = recorded("01-getblockchaininfo")
    adapter._chain_checked = False
    assert adapter.check()["chain"] == "regtest"


def test_a_busy_node_and_json_that_is_not_json_are_named(recorded):
    with pytest.raises(NodeError, match="answered getblockcount with HTTP 503"):
        recorded((503, "Work queue depth exceeded")).head()
    with pytest.raises(NodeError, match="malformed JSON"):
        recorded((200, '{"result":NaN,"error":null,"id":1}\n')).head()
    with pytest.raises(NodeError, match="malformed JSON"):
        recorded((200, "<html>proxy error</html>")).head()


DEEP = "[" * 100_000 + "]" * 100_000  # json's C scanner segfaults on this


def test_json_nested_too_deep_is_refused_before_parsing(recorded):
    with pytest.raises(NodeError, match="answered getblockcount with JSON nested deeper than 64"):
        recorded((200, '{"result":' + DEEP + ',"error":null,"id":1}')).head()
    with pytest.raises(NodeError, match="answered getblockcount with JSON nested deeper than 64 \\(HTTP 500\\)"):
        recorded((500, DEEP)).head()
    with pytest.raises(NodeError, match="nested deeper than 64"):
        recorded((200, "[" * 65)).head()
    # brackets and escaped quotes inside strings are no nesting
    tricky = json.dumps({"result": 112, "error": None, "id": 1, "warnings": '["\\' * 500 + '{\\"}' * 500})
    assert recorded((200, tricky)).head() == 112


def test_an_answer_bigger_than_the_cap_is_refused(recorded, monkeypatch):
    from chain.adapters import base

    monkeypatch.setattr(base, "NODE_ANSWER_MAX_BYTES", 1024 * 1024)
    with pytest.raises(NodeError, match="answered more than 1 MB; refused"):
        recorded((200, '{"result":112,"error":null,"id":1,"pad":"' + "x" * (2 * 1024 * 1024) + '"}')).head()
    assert recorded((200, '{"result":112,"error":null,"id":1}')).head() == 112


def test_cores_recorded_block_gives_exact_transfers(recorded):
    adapter = recorded("28-batch-getblockhash")
    adapter._next_id = -1  # the recording's batch ids are 0, 1, 2
    # the batch recording answers 112, 111, 110; ask for exactly those hashes in one batch
    hashes = adapter.batch_results("getblockhash", [[112], [111], [110]])
    assert hashes[0] == "57db44e93ed6500c186f831fecc00559e690c3249191eac946861635ef09de10"
    fixture = json.loads((FIXTURES / "17-getblock-verbosity2.json").read_text())
    raw = json.loads(fixture["response_text"], parse_float=Decimal)["result"]
    block = adapter._block(raw, hashes[0], 112)
    assert block.parent_hash == hashes[1]
    got = {(t.tx_hash[:8], t.index): (t.to_address, t.value) for t in block.transfers}
    assert got == {
        ("e5b5ab5f", 0): ("bcrt1qzj7h9xh7t3ltzndlnndrzyafyw8esr2am75uc5", 5_000_007_440),
        ("02b91a39", 0): ("bcrt1q4zh8h72eykpl6zg643fsd4hhgch9ah926wq52f", 1_949_997_180),
        ("02b91a39", 1): ("bcrt1qkn79gcnzml5lpgl8u2d9q9sc4xlprztz7jk0vl", 50_000_000),
        ("84435d37", 0): ("bcrt1pcty7a84vdmkldxm33ru5t50d3a9x3xduzyyvg0ys0y5w6hunmxwqcwsstd", 12_345),
        ("84435d37", 1): ("bcrt1pl6976hf7kaxdlrmv8vyuzyyuv0guuk5tzp0f3t495u9hyswpedvqqjzdh6", 1_816_523_426),
        ("84435d37", 2): ("mwEaAFMMv9FDHw6Yc9WwksyMGUJmDziP1Z", 123_456_789),
        ("84435d37", 3): ("2Mwmr1APdtwHR1jxyHMT1c1nogYUANsmMJR", 10_000_000),
    }


def test_the_health_probe_names_the_wrong_chain(bitcoin_core: FakeNode, monkeypatch):
    from chain.health import probe

    monkeypatch.setenv("PAYRAM_RPC_BITCOIN", bitcoin_core.url)
    catalogue.reload()
    try:
        problem = probe(catalogue.get("bitcoin"))
        assert "regtest" in problem and "Bitcoin mainnet" in problem and "PAYRAM_RPC_BITCOIN" in problem
        assert RPC_PASSWORD not in problem
        assert probe(catalogue.get("bitcoin-regtest")) == ""
    finally:
        monkeypatch.delenv("PAYRAM_RPC_BITCOIN")
        catalogue.reload()


def test_the_bitcoind_tier_starts_restarts_and_stops_a_node_process(tmp_path):
    """BitcoindNode's process handling, against a stand-in process that speaks the fake's
    RPC (the real thing runs when BITCOIND names a bitcoind)."""
    import stat
    import sys

    from tests.support.bitcoin_core import BitcoindNode

    binary = tmp_path / "bitcoind"
    repo = Path(__file__).resolve().parents[2]
    binary.write_text(f'#!/bin/sh\nPYTHONPATH="{repo}" exec "{sys.executable}" -m tests.support.bitcoin_core "$@"\n')
    binary.chmod(binary.stat().st_mode | stat.S_IEXEC)
    node = BitcoindNode(str(binary), str(tmp_path / "datadir"))
    try:
        node.start()
        node.mine(101)
        address = node.new_address()
        txid = node.send(address, "0.3")
        node.mine()
        height = node.height
        node.stop()
        with pytest.raises(NodeError, match="refused the connection"):
            adapter_at(node.url).head()
        node.start()  # same datadir: same chain, wallet loaded again
        assert node.height == height == 102
        (block,) = adapter_at(node.url).blocks(height, height)
        assert [(t.tx_hash, t.value) for t in block.transfers if t.to_address == address] == [(txid, 30_000_000)]
    finally:
        node.stop()
    assert node.process is None


# -- answers nested too deep, through the scanner ----------------------------------------


def test_strings_full_of_brackets_and_quotes_in_a_block_are_parsed(bitcoin_core: FakeNode):
    address = bitcoin_core.new_address()
    txid = bitcoin_core.send(address, "0.25")
    bitcoin_core.mine()

    def scribble(vout):
        vout["scriptPubKey"]["asm"] = '[[{"' * 300 + "\\" + '"}]]' * 10

    _tamper_outputs(bitcoin_core, scribble)
    [block] = regtest_adapter().blocks(bitcoin_core.height, bitcoin_core.height)
    assert [(t.tx_hash, t.value) for t in block.transfers if t.to_address == address] == [(txid, 25_000_000)]


@pytest.mark.django_db
def test_a_node_answering_too_deep_json_records_nothing_and_the_cursor_shows_it(bitcoin_core: FakeNode, project, monkeypatch):
    from chain.health import network_health
    from chain.models import Cursor, Deposit
    from chain.scanner import scan_network
    from chain.wallets import address_allocate, wallet_set
    from tests.chain.test_scanner_bitcoin import NETWORK, VPUB

    wallet_set(project=project, family=NETWORK, xpub=VPUB)
    to = address_allocate(project=project, family=NETWORK, purpose="test")
    scan_network(NETWORK)
    before = Cursor.objects.get(network=NETWORK).height
    txid = bitcoin_core.send(to.address, "0.02")
    bitcoin_core.mine(2)

    server = bitcoin_core.server
    honest = server.answer

    def deep_blocks(body: bytes, wallet):
        status, text = honest(body, wallet)
        if b'"getblock"' in body:  # the blocks themselves; the head and hashes are answered truly
            assert '"tx":[' in text
            return status, text.replace('"tx":[', '"tx":' + "[" * 100_000, 1)
        return status, text

    monkeypatch.setattr(server, "answer", deep_blocks)
    with pytest.raises(NodeError, match="getblock with JSON nested deeper than 64"):
        scan_network(NETWORK)

    cursor = Cursor.objects.get(network=NETWORK)
    assert cursor.height == before and cursor.consecutive_failures == 1
    assert "answered a batch of getblock with JSON nested deeper than 64" in cursor.last_error
    assert Deposit.objects.count() == 0
    [health] = [row for row in network_health() if row.slug == NETWORK]
    assert "nested deeper than" in health.last_error and health.status != "ok"

    monkeypatch.setattr(server, "answer", honest)  # the node answers sanely again
    scan_network(NETWORK)
    assert [(d.tx_hash, int(d.value)) for d in Deposit.objects.filter(address=to)] == [(txid, 2_000_000)]
    assert Cursor.objects.get(network=NETWORK).last_error == ""


def test_one_scan_talks_to_the_node_over_one_keep_alive_connection(bitcoin_core: FakeNode):
    for _ in range(3):
        bitcoin_core.send(bitcoin_core.new_address(), "0.01")
        bitcoin_core.mine()
    height = bitcoin_core.height
    server = bitcoin_core.server
    server.client_connections.clear()
    server.http_requests.clear()
    adapter = regtest_adapter()
    adapter.blocks(height - 2, height)
    adapter.mempool()
    assert len(server.http_requests) >= 3 and len(server.client_connections) == 1


def test_a_keep_alive_connection_the_node_closed_is_reopened_once(bitcoin_core: FakeNode):
    adapter = regtest_adapter()
    assert adapter.head() == bitcoin_core.height
    bitcoin_core.stop()  # the node closes the idle connection (as after -rpcservertimeout)...
    bitcoin_core.start()  # ...and still answers new ones
    assert adapter.head() == bitcoin_core.height
