"""A Tron test node: no java-tron can be installed here, so this in-process server answers
the FullNode HTTP API methods payram uses, shaped as java-tron answers them, over a real
in-memory chain the tests drive: TRX transfers, TRC-10 transfers, TRC-20 transfers that
succeed or fail (REVERT, OUT_OF_ENERGY), empty blocks, and reorgs.

The wire format is in one place, the `*_json` functions below, each with the page its
shape comes from, so it can be checked against a real java-tron later (point
`TronNode`'s callers at a node's URL and compare the answers field by field). Sources:

- tronprotocol documentation (java-tron's own API reference, from the servlets):
  https://tronprotocol.github.io/documentation-en/api/http/block-and-tx-query/getblockbylimitnext/
  https://tronprotocol.github.io/documentation-en/api/http/block-and-tx-query/gettransactioninfobyblocknum/
  https://tronprotocol.github.io/documentation-en/api/http/block-and-tx-query/getblock/
  https://tronprotocol.github.io/documentation-zh/api/http/block-and-tx-query/getblockbylatestnum/
- TransferContract transaction as a block lists it:
  https://trondao.medium.com/tron-developer-guide-trc10-trx-transfer-in-exchanges-a2cd89518d07
  (example reproduced at https://www.maxssl.com/article/16715/)
- TransactionInfo fields (receipt.result, log[].address without 41, result "FAILED"):
  https://developers.tron.network/reference/gettransactioninfobyid
  https://www.dwellir.com/docs/tron/wallet-gettransactioninfobyid (a USDT Transfer's info)

Conventions the format keeps, as java-tron prints protobuf JSON: int64 fields are JSON
numbers and are omitted when 0 (the genesis block has no `number` or `timestamp`; a block
without transactions has no `transactions`); addresses in transactions are "41"+40 hex
(no `visible`); log addresses and topics are bare hex without 0x or 41; block ids are
8 bytes of height followed by 24 bytes of hash; a servlet error is HTTP 200 with
{"Error": "class <exception> : <message>"}; a missing block is {}.

Computed as java-tron does: `raw_data_hex` (the protobuf bytes of raw_data), `txID`
(their sha256) and `blockID` (height + sha256 of the header's protobuf bytes), checked
against published ones. Not real: `signature`, `witness_signature` and `txTrieRoot` have
the right shape but are stand-ins; payram reads none of them.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from chain import tron

MAINNET_GENESIS_ID = "00000000000000001ebf88508a03865c71d452e25f4d51194196a1d22b6653dc"
MAINNET_CHAIN_ID = 0x2B6653DC
GENESIS_TIMESTAMP_MS = 0
FIRST_BLOCK_TIMESTAMP_MS = 1_777_445_121_000  # a 2026 timestamp, as in the documentation's examples
BLOCK_INTERVAL_MS = 3000
TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TRANSFER_SELECTOR = "a9059cbb"  # transfer(address,uint256)
USDT = "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"


def random_address() -> str:
    """A T… address of nobody's wallet."""
    return tron.from_account_bytes(secrets.token_bytes(20))


def _hex41(address: str) -> str:
    return tron.to_hex(address)


def _word(value: int) -> str:
    return f"{value:064x}"


# -- the wire format ---------------------------------------------------------------------
#
# Transaction and block-header bytes are the protobuf serializations java-tron hashes
# (protocol/src/main/protos/core/Tron.proto and contract/*.proto): a transaction's txID is
# sha256(raw_data), its raw_data_hex those bytes; a block's blockID is its height as 8
# bytes followed by sha256(header raw_data)[8:]. tests/chain/test_tron_wire_format.py
# checks both against published transactions and blocks.

CONTRACT_TYPES = {"TransferContract": 1, "TransferAssetContract": 2, "TriggerSmartContract": 31}
# field numbers of each contract's parameter message, in order
_CONTRACT_FIELDS = {
    "TransferContract": (("owner_address", 1, "bytes"), ("to_address", 2, "bytes"), ("amount", 3, "int")),
    "TransferAssetContract": (
        ("asset_name", 1, "bytes"),
        ("owner_address", 2, "bytes"),
        ("to_address", 3, "bytes"),
        ("amount", 4, "int"),
    ),
    "TriggerSmartContract": (
        ("owner_address", 1, "bytes"),
        ("contract_address", 2, "bytes"),
        ("call_value", 3, "int"),
        ("data", 4, "bytes"),
    ),
}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _pb_int(number: int, value: int) -> bytes:
    return _varint(number << 3) + _varint(value) if value else b""  # proto3 omits 0


def _pb_bytes(number: int, value: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(value)) + value if value else b""


def transaction_raw_bytes(raw_data: dict) -> bytes:
    """protocol.Transaction.raw of a transaction's JSON raw_data."""
    contracts = b""
    for contract in raw_data["contract"]:
        kind, param = contract["type"], contract["parameter"]
        value = b"".join(
            _pb_bytes(number, bytes.fromhex(param["value"][name]))
            if kind_ == "bytes"
            else _pb_int(number, param["value"].get(name, 0))
            for name, number, kind_ in _CONTRACT_FIELDS[kind]
            if name in param["value"] or kind_ == "int"
        )
        any_message = _pb_bytes(1, param["type_url"].encode()) + _pb_bytes(2, value)
        contracts += _pb_bytes(11, _pb_int(1, CONTRACT_TYPES[kind]) + _pb_bytes(2, any_message))
    return (
        _pb_bytes(1, bytes.fromhex(raw_data["ref_block_bytes"]))
        + _pb_bytes(4, bytes.fromhex(raw_data["ref_block_hash"]))
        + _pb_int(8, raw_data["expiration"])
        + contracts
        + _pb_int(14, raw_data.get("timestamp", 0))
        + _pb_int(18, raw_data.get("fee_limit", 0))
    )


def header_raw_bytes(raw_data: dict) -> bytes:
    """protocol.BlockHeader.raw of a block header's JSON raw_data."""
    return (
        _pb_int(1, raw_data.get("timestamp", 0))
        + _pb_bytes(2, bytes.fromhex(raw_data["txTrieRoot"]))
        + _pb_bytes(3, bytes.fromhex(raw_data["parentHash"]))
        + _pb_int(7, raw_data.get("number", 0))
        + _pb_bytes(9, bytes.fromhex(raw_data["witness_address"]))
        + _pb_int(10, raw_data.get("version", 0))
    )


def block_id(raw_data: dict) -> str:
    return f"{raw_data.get('number', 0):016x}" + hashlib.sha256(header_raw_bytes(raw_data)).hexdigest()[16:]


@dataclass
class Tx:
    """One transaction as the test built it; its JSON comes from transaction_json."""

    kind: str  # TransferContract, TransferAssetContract, TriggerSmartContract
    owner: str
    to: str  # recipient (TRX/TRC-10) or called contract (TriggerSmartContract)
    amount: int = 0
    asset_name: str = ""  # TRC-10 id
    data: str = ""  # call data (TriggerSmartContract)
    result: str = "SUCCESS"  # contractRet: SUCCESS, REVERT, OUT_OF_ENERGY
    logs: list[dict] = field(default_factory=list)  # emitted only when result is SUCCESS
    timestamp_ms: int = 0
    ref_block: str = MAINNET_GENESIS_ID  # the block id its TaPoS reference names
    tx_id: str = ""

    def __post_init__(self) -> None:
        self.tx_id = hashlib.sha256(transaction_raw_bytes(self.raw_data())).hexdigest()

    def raw_data(self) -> dict:
        if self.kind == "TransferContract":
            value: dict[str, Any] = {"amount": self.amount, "owner_address": _hex41(self.owner), "to_address": _hex41(self.to)}
        elif self.kind == "TransferAssetContract":
            value = {
                "amount": self.amount,
                "asset_name": self.asset_name.encode().hex(),
                "owner_address": _hex41(self.owner),
                "to_address": _hex41(self.to),
            }
        elif self.kind == "TriggerSmartContract":
            value = {"data": self.data, "owner_address": _hex41(self.owner), "contract_address": _hex41(self.to)}
        else:  # pragma: no cover - a test's typo
            raise ValueError(self.kind)
        raw_data: dict[str, Any] = {
            "contract": [
                {
                    "parameter": {"value": value, "type_url": f"type.googleapis.com/protocol.{self.kind}"},
                    "type": self.kind,
                }
            ],
            "ref_block_bytes": self.ref_block[12:16],  # the reference block's height, low 2 bytes
            "ref_block_hash": self.ref_block[16:32],  # bytes 8..16 of its id
            "expiration": self.timestamp_ms + 60_000,
        }
        if self.kind == "TriggerSmartContract":
            raw_data["fee_limit"] = 100_000_000
        raw_data["timestamp"] = self.timestamp_ms
        return raw_data


def transaction_json(tx: Tx) -> dict:
    """A transaction as /wallet/getblockbynum and getblockbylimitnext list it."""
    raw_data = tx.raw_data()
    return {
        "ret": [{"contractRet": tx.result}],
        "signature": [hashlib.sha512(tx.tx_id.encode()).hexdigest() + "00"],  # 65 bytes, not a real signature
        "txID": tx.tx_id,
        "raw_data": raw_data,
        "raw_data_hex": transaction_raw_bytes(raw_data).hex(),
    }


def transaction_info_json(tx: Tx, height: int, block_timestamp_ms: int) -> dict:
    """A TransactionInfo as /wallet/gettransactioninfobyblocknum lists it: fees and a
    bandwidth receipt for system contracts; for contract calls an energy receipt with
    `result`, the contract address, and logs only when the call succeeded; a failed call
    has "result": "FAILED" and a hex resMessage."""
    info: dict[str, Any] = {"id": tx.tx_id, "fee": 267000, "blockNumber": height, "blockTimeStamp": block_timestamp_ms}
    if tx.kind != "TriggerSmartContract":
        info["contractResult"] = [""]
        info["receipt"] = {"net_fee": 267000}
        return info
    info["contractResult"] = ["0" * 63 + "1" if tx.result == "SUCCESS" else ""]
    info["contract_address"] = _hex41(tx.to)
    receipt = {"energy_fee": 6_000_000, "energy_usage_total": 64285, "net_usage": 345, "result": tx.result}
    info["receipt"] = receipt
    if tx.result == "SUCCESS":
        info["log"] = tx.logs
    else:
        info["result"] = "FAILED"
        info["resMessage"] = b"REVERT opcode executed".hex() if tx.result == "REVERT" else b"Not enough energy".hex()
    return info


def transfer_log(contract: str, sender: str, to: str, amount: int) -> dict:
    """A TRC-20 Transfer event in a TransactionInfo's `log`."""
    return {
        "address": tron.to_account_bytes(contract).hex(),
        "topics": [
            TRANSFER_TOPIC,
            _word(int.from_bytes(tron.to_account_bytes(sender), "big")),
            _word(int.from_bytes(tron.to_account_bytes(to), "big")),
        ],
        "data": _word(amount),
    }


WITNESSES = ("41b2f713d57dbcec679d93a8849fa0cd0e4db594ba", "416606973497a56dcfcedb684e60a2386f2ae39db5")


@dataclass
class TronBlock:
    header: dict  # the header's JSON raw_data
    txs: list[Tx]
    genesis_id: str = ""  # the genesis block's id is given, not computed

    def __post_init__(self) -> None:
        self.block_id = self.genesis_id or block_id(self.header)

    @property
    def height(self) -> int:
        return self.header.get("number", 0)

    @property
    def parent_id(self) -> str:
        return self.header["parentHash"]

    @property
    def timestamp_ms(self) -> int:
        return self.header.get("timestamp", 0)


def make_header(height: int, parent_id: str, timestamp_ms: int, txs: list[Tx], witness: str) -> dict:
    """A header's raw_data as java-tron prints it (0-valued fields omitted). txTrieRoot is
    zeros for an empty block, else a stand-in (payram does not check it)."""
    raw_data: dict[str, Any] = {}
    if height:
        raw_data["number"] = height
    raw_data["txTrieRoot"] = hashlib.sha256(b"".join(bytes.fromhex(t.tx_id) for t in txs)).hexdigest() if txs else "0" * 64
    raw_data["witness_address"] = witness
    raw_data["parentHash"] = parent_id
    if height:
        raw_data["version"] = 34
    if timestamp_ms:
        raw_data["timestamp"] = timestamp_ms
    return raw_data


def block_json(block: TronBlock) -> dict:
    """A block as /wallet/getnowblock, getblockbynum and getblockbylimitnext answer it."""
    answer: dict[str, Any] = {
        "blockID": block.block_id,
        "block_header": {
            "raw_data": dict(block.header),
            "witness_signature": hashlib.sha512(block.block_id.encode()).hexdigest() + "00",
        },
    }
    if block.txs:
        answer["transactions"] = [transaction_json(t) for t in block.txs]
    return answer


def error_json(exception: str, message: str) -> dict:
    """What a servlet answers (HTTP 200) when it cannot: {"Error": "class <exception> : <message>"}."""
    return {"Error": f"class {exception} : {message}"}


# -- the chain -----------------------------------------------------------------------------


class TronChain:
    """An in-memory chain from a genesis block whose id ends in the network's chain id."""

    def __init__(self, chain_id: int = MAINNET_CHAIN_ID) -> None:
        self.lock = threading.RLock()
        genesis_id = MAINNET_GENESIS_ID if chain_id == MAINNET_CHAIN_ID else "0" * 16 + secrets.token_hex(20) + f"{chain_id:08x}"
        genesis_header = make_header(
            0, "957dc2d350daecc7bb6a38f3938ebde0a0c1cedafe15f0edae4256a2907449f6", GENESIS_TIMESTAMP_MS, [], WITNESSES[0]
        )
        self.blocks: list[TronBlock] = [TronBlock(genesis_header, [], genesis_id)]
        self.pending: list[Tx] = []
        self.dropped: dict[str, Tx] = {}  # transactions of blocks a reorg replaced, by id
        self.forks = 0  # a fork's blocks come from another witness, so their ids differ

    @property
    def height(self) -> int:
        return len(self.blocks) - 1

    def mine(self, count: int = 1, *, include_pending: bool = True) -> list[TronBlock]:
        made = []
        with self.lock:
            for i in range(count):
                parent = self.blocks[-1]
                height = parent.height + 1
                txs = self.pending if include_pending and i == 0 else []
                if txs is self.pending:
                    self.pending = []
                timestamp = FIRST_BLOCK_TIMESTAMP_MS + (height - 1) * BLOCK_INTERVAL_MS
                witness = WITNESSES[self.forks % len(WITNESSES)]
                block = TronBlock(make_header(height, parent.block_id, timestamp, txs, witness), txs)
                self.blocks.append(block)
                made.append(block)
        return made

    def reorg(self, depth: int, length: int | None = None, *, keep_transactions: bool = False) -> list[TronBlock]:
        """Replace the top `depth` blocks by `length` (default depth + 1) new ones. The
        dropped blocks' transactions vanish (a fork that never had them), unless
        keep_transactions puts them back in the pool for the first new block."""
        with self.lock:
            dropped = self.blocks[-depth:]
            del self.blocks[-depth:]
            self.forks += 1
            self.dropped.update({t.tx_id: t for b in dropped for t in b.txs})
            if keep_transactions:
                self.pending = [t for b in dropped for t in b.txs] + self.pending
            return self.mine(depth + 1 if length is None else length)

    def block(self, height: int) -> TronBlock | None:
        with self.lock:
            return self.blocks[height] if 0 <= height < len(self.blocks) else None


# -- the HTTP API ----------------------------------------------------------------------------


class TronNode:
    """The FullNode HTTP API over a TronChain, on a free loopback port. A test drives the
    chain (send_trx, send_trc20, mine, reorg) and may require an API key, fail the next
    answers, or read the requests the node received."""

    def __init__(self, chain_id: int = MAINNET_CHAIN_ID) -> None:
        self.chain = TronChain(chain_id)
        self.has_getblock = True  # java-tron 4.7.2+; False: an older node, /wallet/getblock is 404
        self.api_key: str | None = None  # when set, requests without TRON-PRO-API-KEY get HTTP 401
        self.requests: list[tuple[str, dict, dict]] = []  # (path, body, headers)
        self.fail_next: list[tuple[int, bytes]] = []  # (HTTP status, body) answered before anything else
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # what a test does

    @property
    def height(self) -> int:
        return self.chain.height

    def _submit(self, kind: str, owner: str, to: str, **fields) -> str:
        """A transaction signed now: its timestamp and TaPoS reference from the head."""
        with self.chain.lock:
            head = self.chain.blocks[-1]
            tx = Tx(
                kind,
                owner,
                to,
                timestamp_ms=(head.timestamp_ms or FIRST_BLOCK_TIMESTAMP_MS) + 1500,
                ref_block=head.block_id,
                **fields,
            )
            self.chain.pending.append(tx)
        return tx.tx_id

    def send_trx(self, to: str, sun: int, *, sender: str | None = None) -> str:
        return self._submit("TransferContract", sender or random_address(), to, amount=sun)

    def send_trc10(self, to: str, amount: int, *, asset_name: str = "1002000") -> str:
        return self._submit("TransferAssetContract", random_address(), to, amount=amount, asset_name=asset_name)

    def send_trc20(self, to: str, units: int, *, contract: str = USDT, result: str = "SUCCESS", sender: str | None = None) -> str:
        """A `transfer(to, units)` call to the token contract; REVERT or OUT_OF_ENERGY makes
        it fail on chain (it is still in the block, with a failed receipt and no logs)."""
        sender = sender or random_address()
        data = TRANSFER_SELECTOR + _word(int.from_bytes(tron.to_account_bytes(to), "big")) + _word(units)
        return self._submit(
            "TriggerSmartContract", sender, contract, data=data, result=result, logs=[transfer_log(contract, sender, to, units)]
        )

    def mine(self, count: int = 1) -> list[str]:
        return [b.block_id for b in self.chain.mine(count)]

    def reorg(self, depth: int, length: int | None = None, *, keep_transactions: bool = False) -> list[str]:
        return [b.block_id for b in self.chain.reorg(depth, length, keep_transactions=keep_transactions)]

    def resend(self, tx_id: str) -> None:
        """Put a transaction a reorg dropped back in the pool (mined again by the next block)."""
        self.chain.pending.append(self.chain.dropped.pop(tx_id))

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.requests]

    # the API

    def answer(self, path: str, body: dict) -> Any:
        chain = self.chain
        with chain.lock:
            if path == "/wallet/getnowblock":
                return block_json(chain.blocks[-1])
            if path in ("/wallet/getblockbynum", "/wallet/gettransactioninfobyblocknum"):
                num = body.get("num")
                if not isinstance(num, int):
                    return error_json("com.alibaba.fastjson.JSONException", "syntax error, expect int")
                block = chain.block(num)
                if path == "/wallet/getblockbynum":
                    return block_json(block) if block is not None else {}
                if num <= 0:
                    return {}
                if block is None:
                    return []
                return [transaction_info_json(t, block.height, block.timestamp_ms) for t in block.txs]
            if path == "/wallet/getblock" and self.has_getblock:
                # https://tronprotocol.github.io/documentation-zh/api/http/block-and-tx-query/getblock/
                wanted = str(body.get("id_or_num", "") or "")
                if not wanted:
                    block = chain.blocks[-1]
                elif wanted.isdigit():
                    block = chain.block(int(wanted))
                else:
                    block = next((b for b in chain.blocks if b.block_id == wanted.lower()), None)
                if block is None:
                    return {}
                answer = block_json(block)
                if not body.get("detail"):
                    answer.pop("transactions", None)
                return answer
            if path == "/wallet/getblockbylimitnext":
                start, end = body.get("startNum"), body.get("endNum")
                if not isinstance(start, int) or not isinstance(end, int) or not 0 < end - start <= 100:
                    return {}
                blocks = [b for b in (chain.block(h) for h in range(start, end)) if b is not None]
                return {"block": [block_json(b) for b in blocks]} if blocks else {}
        return None  # unknown path: 404

    # the server

    def start(self) -> None:
        node = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _reply(self, status: int, body: bytes, content_type: str = "application/json") -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = None
                node.requests.append((self.path, body if isinstance(body, dict) else {}, dict(self.headers)))
                if node.fail_next:
                    status, payload = node.fail_next.pop(0)
                    return self._reply(status, payload)
                if node.api_key is not None and self.headers.get("TRON-PRO-API-KEY") != node.api_key:
                    return self._reply(401, json.dumps({"Error": "ApiKey not exists"}).encode())
                if not isinstance(body, dict):
                    return self._reply(
                        200, json.dumps(error_json("com.alibaba.fastjson.JSONException", "illegal input")).encode()
                    )
                answer = node.answer(self.path, body)
                if answer is None:
                    return self._reply(404, b"<html><body><h2>404 Not found</h2></body></html>", "text/html")
                self._reply(200, json.dumps(answer).encode())

            do_GET = do_POST

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def tron_node(monkeypatch: pytest.MonkeyPatch) -> Iterator[TronNode]:
    """A Tron mainnet-format test node (genesis and chain id as mainnet's, USDT at Tether's
    contract) at height 1, payram's `tron` network pointed at it."""
    from chain import catalogue
    from chain.adapters import tron as tron_adapter

    tron_adapter._HEADER_ONLY.clear()  # a port may be reused: each node is probed afresh
    node = TronNode()
    node.start()
    node.mine()
    monkeypatch.setenv("PAYRAM_RPC_TRON", node.url)
    catalogue.reload()
    try:
        yield node
    finally:
        node.stop()
        monkeypatch.delenv("PAYRAM_RPC_TRON", raising=False)
        catalogue.reload()


@pytest.fixture
def tron_chain(tron_node, db) -> TronNode:
    """The test node with payram's `tron` cursor at its current head (as `devnet` does for anvil)."""
    from chain.models import Cursor, ScannedBlock

    head = tron_node.chain.blocks[-1]
    Cursor.objects.update_or_create(network="tron", defaults={"height": head.height, "block_hash": head.block_id})
    ScannedBlock.objects.update_or_create(
        network="tron", height=head.height, defaults={"block_hash": head.block_id, "parent_hash": ""}
    )
    return tron_node


@pytest.fixture
def tron_address(project):
    """Factory: a watched Tron deposit address of `project` (a fresh random one unless given)."""
    from chain.models import DepositAddress, Wallet

    def make(address: str | None = None, *, of_project=None) -> DepositAddress:
        owner = of_project or project
        wallet, _ = Wallet.objects.active().get_or_create(
            project=owner, family="tron", defaults={"xpub": f"test-tron-xpub-{owner.pk}", "script_type": "tron"}
        )
        index = wallet.next_index
        wallet.next_index = index + 1
        wallet.save(update_fields=["next_index"])
        return DepositAddress.objects.create(
            project=owner, wallet=wallet, family="tron", index=index, address=address or random_address(), purpose="test"
        )

    return make
