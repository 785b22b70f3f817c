"""The Tron test node against the answers java-tron's documentation publishes: the
examples below are copied from the pages named beside them, and the test node's answers
must have the same fields with the same JSON types; the adapter must read the published
examples themselves, not only the test node's. When a real java-tron is at hand, its
answers can be checked the same way (`same_shape`)."""

from __future__ import annotations

from typing import Any

from chain import catalogue, tron
from chain.adapters.tron import TronAdapter
from tests.support import tron_node as wire

# https://tronprotocol.github.io/documentation-en/api/http/block-and-tx-query/getblockbylimitnext/
# (Nile block 66987565; its transactions omitted on the page)
DOCUMENTED_BLOCK = {
    "blockID": "0000000003fe262d52bfa4b2814f816fd2e57af5b98a33d60d8630a03a908e0e",
    "block_header": {
        "raw_data": {
            "number": 66987565,
            "txTrieRoot": "faf8fe3858339ead25cc892461c82a59b84dca4a51c45b026676bf3f45a352a2",
            "witness_address": "41b2f713d57dbcec679d93a8849fa0cd0e4db594ba",
            "parentHash": "0000000003fe262c85cd6b02033f4c3e5c1efa35de256a17bd906dc61fb1aeed",
            "version": 34,
            "timestamp": 1777445121000,
        },
        "witness_signature": "5b3cf6cb15d52947989f7726f4907a144b39ccd667a1a0f98707b40cdfe65b96173ddf34ae8dcc5e78f136e0cf903a15c7128984aa2191f02333209d1879d3f900",
    },
}

# https://trondao.medium.com/tron-developer-guide-trc10-trx-transfer-in-exchanges-a2cd89518d07
# (a mainnet TransferContract as a block lists it)
DOCUMENTED_TRX_TRANSFER = {
    "ret": [{"contractRet": "SUCCESS"}],
    "signature": [
        "aa5f69104f70e961cacfcf6cbc7710fc5820135f1b39effd394d6690b243df30b34f389741df923f665cc20521f217aeb06914abe6776510fe0277555e10203401"
    ],
    "txID": "9aedad431ed596035eb44656a6c23bd43849c5e2a8161483c5c7426d7f246363",
    "raw_data": {
        "contract": [
            {
                "parameter": {
                    "value": {
                        "amount": 1318520000,
                        "owner_address": "41fcf62171f6837cdb078460753aec8b8353f51be9",
                        "to_address": "41ec5f9648b3ba5d70c8dfc8beca5af9ef24e16746",
                    },
                    "type_url": "type.googleapis.com/protocol.TransferContract",
                },
                "type": "TransferContract",
            }
        ],
        "ref_block_bytes": "0bc9",
        "ref_block_hash": "78471e96bbb26ab2",
        "expiration": 1653443076000,
        "timestamp": 1653443018811,
    },
    "raw_data_hex": "0a020bc9220878471e96bbb26ab240a0bf8cc78f305a69080112650a2d747970652e676f6f676c65617069732e636f6d2f70726f746f636f6c2e5472616e73666572436f6e747261637412340a1541fcf62171f6837cdb078460753aec8b8353f51be9121541ec5f9648b3ba5d70c8dfc8beca5af9ef24e1674618c089dcf40470bb8089c78f30",
}

# https://tronprotocol.github.io/documentation-en/api/http/block-and-tx-query/gettransactioninfobyblocknum/
# (the infos of two bandwidth-only transactions of Nile block 66987565)
DOCUMENTED_SYSTEM_INFO = {
    "id": "ff44a2823a870c12f12a4ca6e7647650356bc2bb5e02c5855312cf2db4c950c1",
    "fee": 267000,
    "blockNumber": 66987565,
    "blockTimeStamp": 1777445121000,
    "contractResult": [""],
    "receipt": {"net_fee": 267000},
}


def shape(value: Any) -> Any:
    """The JSON types of a value, recursively (lists by the shape of their first item)."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def same_shape(documented: Any, ours: Any, where: str = "") -> None:
    """Every field the documentation shows is in our answer with the same JSON type, and
    hex strings have the documented length."""
    if isinstance(documented, dict):
        assert isinstance(ours, dict), where
        for key, value in documented.items():
            assert key in ours, f"{where}.{key} missing"
            same_shape(value, ours[key], f"{where}.{key}")
    elif isinstance(documented, list):
        assert isinstance(ours, list) and ours, where
        same_shape(documented[0], ours[0], f"{where}[0]")
    else:
        assert type(ours) is type(documented), f"{where}: {type(ours).__name__} vs {type(documented).__name__}"
        if isinstance(documented, str) and key_is_hex(documented):
            assert len(ours) == len(documented), f"{where}: {len(ours)} hex digits vs {len(documented)}"


def key_is_hex(text: str) -> bool:
    return len(text) >= 8 and all(c in "0123456789abcdef" for c in text)


def test_transaction_ids_and_block_ids_are_computed_as_java_tron_computes_them():
    import hashlib

    raw = wire.transaction_raw_bytes(DOCUMENTED_TRX_TRANSFER["raw_data"])
    assert raw.hex() == DOCUMENTED_TRX_TRANSFER["raw_data_hex"]
    assert hashlib.sha256(raw).hexdigest() == DOCUMENTED_TRX_TRANSFER["txID"]
    assert wire.block_id(DOCUMENTED_BLOCK["block_header"]["raw_data"]) == DOCUMENTED_BLOCK["blockID"]


def test_the_test_nodes_blocks_have_the_documented_fields_and_types():
    node = wire.TronNode()
    node.send_trx(wire.random_address(), 1_318_520_000)
    node.mine()
    block = wire.block_json(node.chain.blocks[1])
    same_shape(DOCUMENTED_BLOCK, block, "block")
    same_shape(DOCUMENTED_TRX_TRANSFER, block["transactions"][0], "transaction")


def test_the_test_nodes_transaction_infos_have_the_documented_fields_and_types():
    node = wire.TronNode()
    node.send_trx(wire.random_address(), 1)
    node.mine()
    [info] = node.answer("/wallet/gettransactioninfobyblocknum", {"num": 1})
    same_shape(DOCUMENTED_SYSTEM_INFO, info, "info")


def test_the_adapter_reads_the_documented_answers_themselves():
    adapter = TronAdapter(
        catalogue.Network("tron-doc", "doc", catalogue.TRON, "tron", catalogue.TRX, rpc_url="http://127.0.0.1:1")
    )
    assert adapter._header(DOCUMENTED_BLOCK) == (
        66987565,
        "0000000003fe262d52bfa4b2814f816fd2e57af5b98a33d60d8630a03a908e0e",
        "0000000003fe262c85cd6b02033f4c3e5c1efa35de256a17bd906dc61fb1aeed",
        1777445121000,
    )
    [transfer], calls = adapter._scan_transactions([DOCUMENTED_TRX_TRANSFER])
    assert calls == set()
    assert (transfer.tx_hash, transfer.index, transfer.asset, transfer.value) == (
        "9aedad431ed596035eb44656a6c23bd43849c5e2a8161483c5c7426d7f246363",
        0,
        "TRX",
        1_318_520_000,
    )
    assert transfer.to_address == tron.from_hex("41ec5f9648b3ba5d70c8dfc8beca5af9ef24e16746")


def test_the_documented_genesis_form_has_no_number_and_reads_as_block_zero():
    node = wire.TronNode()
    genesis = wire.block_json(node.chain.blocks[0])
    assert "number" not in genesis["block_header"]["raw_data"] and "transactions" not in genesis
    assert genesis["blockID"] == wire.MAINNET_GENESIS_ID
    assert TronAdapter._header(genesis)[0] == 0
    assert int(wire.MAINNET_GENESIS_ID[-8:], 16) == catalogue.get("tron").chain_id
