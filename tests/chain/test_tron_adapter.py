"""The Tron adapter against the Tron test node (tests/support/tron_node.py), which answers
the FullNode HTTP API as java-tron documents it."""

from __future__ import annotations

import logging

import pytest

from chain import catalogue
from chain.adapters import adapter_for
from chain.adapters.base import NodeError
from chain.adapters.evm import WrongChainError
from chain.adapters.tron import TronAdapter
from tests.support.tron_node import USDT, TronNode, random_address


@pytest.fixture
def adapter(tron_node) -> TronAdapter:
    found = adapter_for(catalogue.get("tron"))
    assert isinstance(found, TronAdapter)
    return found


def transfers(adapter: TronAdapter, start: int, end: int):
    return [
        (b.height, t.tx_hash, t.index, t.to_address, t.asset, t.value) for b in adapter.blocks(start, end) for t in b.transfers
    ]


def test_trx_and_usdt_transfers_are_read_in_base_units_with_t_addresses(tron_node, adapter):
    alice, bob = random_address(), random_address()
    trx_tx = tron_node.send_trx(alice, 12_345_678)  # 12.345678 TRX
    usdt_tx = tron_node.send_trc20(bob, 25_000_000)  # 25.000000 USDT
    tron_node.mine()

    assert adapter.head() == 2
    [block] = adapter.blocks(2, 2)
    assert block.hash == tron_node.chain.blocks[2].block_id and block.parent_hash == tron_node.chain.blocks[1].block_id
    assert sorted((t.tx_hash, t.index, t.to_address, t.asset, t.value) for t in block.transfers) == sorted(
        [
            (trx_tx, 0, alice, "TRX", 12_345_678),
            (usdt_tx, 0, bob, "USDT", 25_000_000),
        ]
    )
    if hasattr(block, "timestamp"):
        assert block.timestamp == tron_node.chain.blocks[2].timestamp_ms // 1000


def test_failed_token_transfers_trc10_and_other_tokens_are_never_transfers(tron_node, adapter):
    to = random_address()
    tron_node.send_trc20(to, 5_000_000, result="REVERT")
    tron_node.send_trc20(to, 6_000_000, result="OUT_OF_ENERGY")
    tron_node.send_trc10(to, 10**12)  # a TRC-10 token is not TRX, whatever its amount
    tron_node.send_trc20(to, 7_000_000, contract=random_address())  # somebody's own "USDT"
    ok = tron_node.send_trc20(to, 1_000_000)
    tron_node.mine()

    assert [(tx, asset, value) for _, tx, _, _, asset, value in transfers(adapter, 2, 2)] == [(ok, "USDT", 1_000_000)]


def test_a_log_index_counts_every_log_of_the_block(tron_node, adapter):
    first, second = random_address(), random_address()
    tron_node.send_trc20(first, 1)
    tron_node.send_trc20(second, 2)
    tron_node.mine()
    assert [(to, index) for _, _, index, to, _, _ in transfers(adapter, 2, 2)] == [(first, 0), (second, 1)]


def test_a_range_is_read_in_one_block_call_and_only_blocks_with_contract_calls_get_infos(tron_node, adapter):
    tron_node.send_trx(random_address(), 1)
    tron_node.mine()
    tron_node.mine(3)
    tron_node.send_trc20(random_address(), 1)
    tron_node.mine()
    tron_node.mine(150)
    adapter.check_chain()
    tron_node.requests.clear()

    found = adapter.blocks(1, tron_node.height)

    assert [b.height for b in found] == list(range(1, tron_node.height + 1))
    assert tron_node.paths().count("/wallet/getblockbylimitnext") == 2  # 156 blocks: 100 + 56
    assert tron_node.paths().count("/wallet/gettransactioninfobyblocknum") == 1
    assert all(found[i].parent_hash == found[i - 1].hash for i in range(1, len(found)))


def test_the_head_is_read_without_transactions_and_an_older_node_still_answers(tron_node):
    from chain.adapters import tron as tron_adapter

    tron_node.send_trx(random_address(), 1)
    tron_node.mine()
    adapter_for(catalogue.get("tron")).check_chain()
    tron_node.requests.clear()
    adapter = adapter_for(catalogue.get("tron"))
    assert adapter.head() == 2 and adapter.block_hash(2) == tron_node.chain.blocks[2].block_id
    assert tron_node.paths() == ["/wallet/getblock"] * 3  # genesis check, head, hash: headers only

    tron_node.has_getblock = False  # java-tron before 4.7.2
    tron_adapter._HEADER_ONLY.clear()
    tron_node.requests.clear()
    adapter = adapter_for(catalogue.get("tron"))
    adapter._chain_checked = True
    assert adapter.head() == 2 and adapter.block_hash(2) == tron_node.chain.blocks[2].block_id
    assert tron_node.paths() == ["/wallet/getblock", "/wallet/getnowblock", "/wallet/getblockbynum"]
    tron_adapter._HEADER_ONLY.clear()


def test_the_node_of_another_network_is_refused_before_anything_is_read(monkeypatch):
    nile = TronNode(chain_id=0xCD8690DC)
    nile.start()
    try:
        monkeypatch.setenv("PAYRAM_RPC_TRON", nile.url)
        catalogue.reload()
        with pytest.raises(WrongChainError, match="0xcd8690dc.*0x2b6653dc"):
            adapter_for(catalogue.get("tron")).head()
        monkeypatch.setenv("PAYRAM_RPC_TRON_NILE", nile.url)
        catalogue.reload()
        assert adapter_for(catalogue.get("tron-nile")).head() == 0
    finally:
        nile.stop()
        catalogue.reload()


def test_the_api_key_is_sent_as_tron_pro_api_key_and_never_logged(tron_node, monkeypatch, caplog):
    tron_node.api_key = "s3cret-key-123"
    with pytest.raises(NodeError, match="HTTP 401") as refused:
        adapter_for(catalogue.get("tron")).head()
    assert "s3cret" not in str(refused.value)

    monkeypatch.setenv("PAYRAM_TRON_API_KEY_TRON", "s3cret-key-123")
    caplog.set_level(logging.DEBUG)
    assert adapter_for(catalogue.get("tron")).head() == tron_node.height
    assert all(headers.get("TRON-PRO-API-KEY") == "s3cret-key-123" for _, _, headers in tron_node.requests[1:])
    assert "s3cret" not in caplog.text


def test_blocks_past_the_head_and_servlet_errors_raise_node_errors(tron_node, adapter):
    tron_node.mine(2)
    with pytest.raises(NodeError, match="no block 4"):
        adapter.blocks(2, 5)
    with pytest.raises(NodeError, match="no block 9"):
        adapter.block_hash(9)
    tron_node.fail_next.append((200, b'{"Error": "class java.lang.Exception : body size is too big, the limit is 4194304"}'))
    with pytest.raises(NodeError, match="body size is too big"):
        adapter.head()
    tron_node.fail_next.append((200, b'{"blockID": "zz"'))
    with pytest.raises(NodeError, match="malformed JSON"):
        adapter.head()
    tron_node.fail_next.append((503, b"Service Unavailable"))
    with pytest.raises(NodeError, match="HTTP 503"):
        adapter.head()


def test_a_reorg_between_the_block_and_its_infos_is_refused(tron_node, adapter, monkeypatch):
    tron_node.send_trc20(random_address(), 1)
    tron_node.mine()
    adapter.check_chain()
    real_answer = tron_node.answer

    def moved(path, body):
        if path == "/wallet/gettransactioninfobyblocknum":
            tron_node.chain.reorg(1)  # the block we read is replaced before its infos are asked for
        return real_answer(path, body)

    monkeypatch.setattr(tron_node, "answer", moved)
    with pytest.raises(NodeError, match="chain moved"):
        adapter.blocks(2, 2)


def test_the_catalogue_offers_tethers_usdt_on_mainnet_and_trx_only_on_the_test_networks():
    tron = catalogue.get("tron")
    assert (tron.native.symbol, tron.native.decimals, tron.chain_id, tron.confirmations) == ("TRX", 6, 0x2B6653DC, 19)
    assert [(t.symbol, t.contract, t.decimals, t.stable_usd) for t in tron.tokens] == [("USDT", USDT, 6, True)]
    for slug, chain_id in (("tron-nile", 0xCD8690DC), ("tron-shasta", 0x94A9059E)):
        net = catalogue.get(slug)
        assert net.testnet and net.tokens == () and net.chain_id == chain_id and net.family == "tron"
