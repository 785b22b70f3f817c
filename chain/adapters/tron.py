"""The Tron adapter: java-tron's FullNode HTTP API (`/wallet/...`), the one interface every
java-tron node serves by default (port 8090) and every hosted Tron endpoint offers
(TronGrid, and the Tron endpoints of the usual RPC providers). java-tron's
Ethereum-compatible JSON-RPC is off by default on a node and, above all, cannot tell a TRX
transfer from a TRC-10 token transfer (it reports both as `value`), so it is not used.

Per batch of up to 100 blocks:
- one `/wallet/getblockbylimitnext` reads the blocks with their transactions. A TRX
  payment is a `TransferContract` whose `ret[0].contractRet` is SUCCESS (index 0, like an
  EVM native transfer). TRC-10 transfers (`TransferAssetContract`), TRX sent with a
  contract call and TRX that contracts send on (internal transactions) are not read:
  customers pay a deposit address directly from a wallet account.
- one `/wallet/gettransactioninfobyblocknum` per block that holds a successful
  `TriggerSmartContract` (only those can emit a token's Transfer event), for the
  TRC-20 Transfer logs of the catalogue's tokens. A transaction whose receipt is not
  SUCCESS (REVERT, OUT_OF_ENERGY, …) is never a deposit, whatever its logs say. A log's
  index is its position among the block's logs, as java-tron's JSON-RPC numbers them.

The head and single block hashes come from `/wallet/getblock` with "detail": false (the
header only; java-tron 4.7.2 and later), or, from a node without it, `getnowblock` and
`getblockbynum` (whole blocks: on mainnet a few hundred kB each).

Hosted endpoints that want an API key get it as the `TRON-PRO-API-KEY` header (TronGrid's
name for it) from PAYRAM_TRON_API_KEY_<SLUG>; it is never logged or shown. The network is
checked once against the catalogue: java-tron's "chain id" is the last 4 bytes of the
genesis block's hash (what its eth_chainId answers), read here from block 0.

Every answer is checked; anything off raises NodeError naming the node by its redacted
URL only. The wire format these checks expect is the one tests/support/tron_node.py
serves, with the documentation each shape comes from.
"""

from __future__ import annotations

import re
from typing import Any

import requests
from django.conf import settings

from chain import tron
from chain.adapters import base
from chain.adapters.base import Block, NodeError, Transfer
from chain.adapters.evm import TRANSFER_TOPIC, WrongChainError
from chain.adapters.http import post_json
from chain.catalogue import Network

API_KEY_HEADER = "TRON-PRO-API-KEY"
BLOCKS_PER_CALL = 100  # getblockbylimitnext answers at most 100 blocks
_TRANSFER_TOPIC = TRANSFER_TOPIC[2:]  # logs carry topics without 0x
_BLOCK_ID = re.compile(r"^[0-9a-f]{64}$")
_WORD = re.compile(r"^[0-9a-fA-F]{64}$")
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
_SUCCESS = "SUCCESS"
# Blocks carry their header's timestamp (unix seconds) where chain.adapters.base.Block
# has the field; a Block without it is built without it.
_BLOCK_HAS_TIMESTAMP = "timestamp" in getattr(Block, "__dataclass_fields__", {})
# Node URL -> whether it answers /wallet/getblock (remembered across scans: one probe each).
_HEADER_ONLY: dict[str, bool] = {}


def api_key_env_var(network: Network) -> str:
    return "PAYRAM_TRON_API_KEY_" + network.slug.upper().replace("-", "_")


def _int(value: Any, what: str, *, default: int | None = None) -> int:
    """A protobuf int64 as java-tron's JSON prints it (a number; omitted when 0)."""
    if value is None and default is not None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise NodeError(f"malformed {what} in node answer: {str(value)[:80]!r}")
    return value


def _block_id(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _BLOCK_ID.match(value.lower()):
        raise NodeError(f"malformed {what} in node answer: {str(value)[:80]!r}")
    return value.lower()


def _field(obj: Any, key: str, what: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise NodeError(f"node answer lacks {what}.{key}")
    return obj[key]


def _address(value: Any, what: str) -> str:
    try:
        if not isinstance(value, str):
            raise tron.AddressError("not a string")
        return tron.from_hex(value)
    except tron.AddressError:
        raise NodeError(f"malformed {what} in node answer: {str(value)[:80]!r}") from None


class TronAdapter:
    """ChainAdapter for one Tron network over the FullNode HTTP API."""

    def __init__(self, network: Network, *, timeout: float | None = None, session: requests.Session | None = None) -> None:
        if not network.rpc_url:
            raise NodeError(f"network {network.slug} has no node URL (set {network.rpc_env_var})")
        self.network = network
        self.base_url = network.rpc_url.rstrip("/")
        self.timeout = base.NODE_TIMEOUT_SECONDS if timeout is None else timeout
        self.session = session or requests.Session()
        self._headers = {"Accept": "application/json"}
        api_key = settings.PAYRAM_NETWORK_ENV.get(api_key_env_var(network), "").strip()
        if api_key:
            self._headers[API_KEY_HEADER] = api_key
        self._chain_checked = False
        self._header_only = _HEADER_ONLY.get(self.base_url, True)  # does the node answer /wallet/getblock?
        # token contract, 40 hex digits as logs name it -> asset symbol
        self.tokens: dict[str, str] = {tron.to_account_bytes(t.contract).hex(): t.symbol for t in network.tokens if t.contract}

    # -- transport -------------------------------------------------------------------

    def _post(self, path: str, body: dict) -> Any:
        answer = post_json(
            self.session,
            self.base_url + path,
            body,
            where=self.network.display_rpc_url,
            timeout=self.timeout,
            headers=self._headers,
            what=path,
        )
        if isinstance(answer, dict) and "Error" in answer:
            # java-tron's servlets answer HTTP 200 with {"Error": "class …Exception : message"}.
            raise NodeError(f"node refused {path}: {str(answer['Error'])[:200]}")
        return answer

    def _block_by_num(self, height: int) -> dict:
        raw = self._post("/wallet/getblockbynum", {"num": height})
        if not isinstance(raw, dict):
            raise NodeError("node answered /wallet/getblockbynum with something that is not a block")
        if not raw:  # {}: no such block
            raise NodeError(f"node has no block {height}")
        return raw

    # -- checks ------------------------------------------------------------------------

    def chain_id(self) -> int:
        """The last 4 bytes of the genesis block's hash, as java-tron's eth_chainId reports them."""
        genesis = self._block_header(0)
        return int(_block_id(_field(genesis, "blockID", "block"), "genesis block id")[-8:], 16)

    def check_chain(self) -> None:
        if self._chain_checked:
            return
        expected = self.network.chain_id
        if expected is not None:
            got = self.chain_id()
            if got != expected:
                raise WrongChainError(
                    f"node {self.network.display_rpc_url} serves chain id {got:#010x}, but {self.network.name} is chain id "
                    f"{expected:#010x}: check {self.network.rpc_env_var}"
                )
        self._chain_checked = True

    # -- the ChainAdapter protocol -------------------------------------------------------

    def _block_header(self, height: int | None) -> dict:
        """A block without its transactions where the node can (`getblock`, detail false),
        else the whole block; `height` None is the head."""
        if self._header_only:
            body: dict = {"detail": False} if height is None else {"id_or_num": str(height), "detail": False}
            try:
                raw = self._post("/wallet/getblock", body)
            except NodeError as exc:
                # Only "no such method" falls back; a refused key or a node in trouble is an error.
                if not any(f"HTTP {code} " in str(exc) for code in (400, 404, 405)):
                    raise
                self._header_only = _HEADER_ONLY[self.base_url] = False  # an older java-tron
            else:
                _HEADER_ONLY[self.base_url] = True
                if not isinstance(raw, dict):
                    raise NodeError("node answered /wallet/getblock with something that is not a block")
                if not raw:
                    raise NodeError(f"node has no block {height}")
                return raw
        if height is None:
            return self._post("/wallet/getnowblock", {})
        return self._block_by_num(height)

    def head(self) -> int:
        self.check_chain()
        return self._header(self._block_header(None))[0]

    def block_hash(self, height: int) -> str:
        self.check_chain()
        return self._header(self._block_header(height))[1]

    def blocks(self, start: int, end: int) -> list[Block]:
        if end < start:
            return []
        self.check_chain()
        raws: list[dict] = []
        for first in range(start, end + 1, BLOCKS_PER_CALL):
            last = min(end, first + BLOCKS_PER_CALL - 1)
            raws.extend(self._block_range(first, last))
        found: list[Block] = []
        for expected_height, raw in zip(range(start, end + 1), raws):
            height, block_id, parent, timestamp_ms = self._header(raw)
            if height != expected_height:
                raise NodeError(f"node answered block {height} when asked for {expected_height}")
            if found and parent != found[-1].hash:
                raise NodeError(f"the chain moved while reading blocks {start}-{end}; will retry")
            txs = raw.get("transactions", [])  # omitted for a block without transactions
            if not isinstance(txs, list):
                raise NodeError(f"node answered block {height} with transactions that are not a list")
            native, calls = self._scan_transactions(txs)
            tokens = self._token_transfers(height, calls) if calls and self.tokens else []
            extra = {"timestamp": timestamp_ms // 1000} if _BLOCK_HAS_TIMESTAMP else {}
            found.append(Block(height=height, hash=block_id, parent_hash=parent, transfers=tuple(native + tokens), **extra))
        return found

    def mempool(self) -> list[Transfer]:
        # Blocks come every 3 s; the HTTP API's pending pool is not worth the calls.
        return []

    # -- parsing -------------------------------------------------------------------------

    def _block_range(self, first: int, last: int) -> list[dict]:
        answer = self._post("/wallet/getblockbylimitnext", {"startNum": first, "endNum": last + 1})
        if not isinstance(answer, dict):
            raise NodeError("node answered /wallet/getblockbylimitnext with something that is not an object")
        blocks = answer.get("block", [])  # {} when none of the range exists
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            raise NodeError("node answered /wallet/getblockbylimitnext with blocks that are not a list of objects")
        if len(blocks) != last - first + 1:
            missing = first + len(blocks)
            raise NodeError(f"node has no block {missing} (head moved back?)")
        return blocks

    @staticmethod
    def _header(raw: Any) -> tuple[int, str, str, int]:
        """(height, block id, parent id, timestamp in ms) of a block answer."""
        block_id = _block_id(_field(raw, "blockID", "block"), "block id")
        header = _field(_field(raw, "block_header", "block"), "raw_data", "block header")
        if not isinstance(header, dict):
            raise NodeError("node answered a block header that is not an object")
        height = _int(header.get("number"), "block number", default=0)  # protobuf JSON omits 0
        parent = _block_id(_field(header, "parentHash", "block header"), "parent hash")
        timestamp_ms = _int(header.get("timestamp"), "block timestamp", default=0)
        if int(block_id[:16], 16) != height:
            raise NodeError(f"node answered block id {block_id} for block {height}")
        return height, block_id, parent, timestamp_ms

    def _scan_transactions(self, txs: list) -> tuple[list[Transfer], set[str]]:
        """The block's successful TRX transfers, and the ids of its successful contract
        calls (the only transactions that can move a TRC-20 token)."""
        native: list[Transfer] = []
        calls: set[str] = set()
        for tx in txs:
            tx_id = _block_id(_field(tx, "txID", "transaction"), "transaction id")
            contracts = _field(_field(tx, "raw_data", "transaction"), "contract", "transaction raw_data")
            if not isinstance(contracts, list) or not contracts or not isinstance(contracts[0], dict):
                raise NodeError(f"node answered transaction {tx_id} without a contract")
            results = tx.get("ret") or [{}]
            if not isinstance(results, list) or not isinstance(results[0], dict):
                raise NodeError(f"node answered transaction {tx_id} with a malformed ret")
            if results[0].get("contractRet") != _SUCCESS:
                continue
            contract = contracts[0]  # java-tron executes one contract per transaction
            kind = contract.get("type")
            if kind == "TriggerSmartContract":
                calls.add(tx_id)
            elif kind == "TransferContract":
                value = _field(_field(contract, "parameter", "contract"), "value", "contract parameter")
                amount = _int(value.get("amount") if isinstance(value, dict) else None, "TRX amount", default=0)
                if amount > 0:
                    native.append(
                        Transfer(
                            tx_hash=tx_id,
                            index=0,
                            to_address=_address(_field(value, "to_address", "TransferContract"), "TRX recipient"),
                            asset=self.network.native.symbol,
                            value=amount,
                        )
                    )
        return native, calls

    def _token_transfers(self, height: int, calls: set[str]) -> list[Transfer]:
        infos = self._post("/wallet/gettransactioninfobyblocknum", {"num": height})
        if not isinstance(infos, list):
            raise NodeError(
                f"node answered /wallet/gettransactioninfobyblocknum for block {height} with something that is not a list"
            )
        found: list[Transfer] = []
        seen: set[str] = set()
        log_index = 0
        for info in infos:
            tx_id = _block_id(_field(info, "id", "transaction info"), "transaction info id")
            if _int(_field(info, "blockNumber", "transaction info"), "transaction info block number") != height:
                raise NodeError(f"the chain moved while reading block {height} (info of another block); will retry")
            seen.add(tx_id)
            logs = info.get("log", [])
            if not isinstance(logs, list):
                raise NodeError(f"node answered transaction info {tx_id} with logs that are not a list")
            receipt = info.get("receipt") or {}
            succeeded = isinstance(receipt, dict) and receipt.get("result") == _SUCCESS and info.get("result") != "FAILED"
            for log in logs:
                position, log_index = log_index, log_index + 1
                if not succeeded or tx_id not in calls:
                    continue  # a failed transaction moved nothing
                transfer = self._token_transfer(tx_id, position, log)
                if transfer is not None:
                    found.append(transfer)
        if not calls <= seen:
            raise NodeError(f"the chain moved while reading block {height} (its transaction infos differ); will retry")
        return found

    def _token_transfer(self, tx_id: str, index: int, log: Any) -> Transfer | None:
        if not isinstance(log, dict):
            raise NodeError(f"node answered a log that is not an object in transaction {tx_id}")
        contract = log.get("address")
        if not isinstance(contract, str) or not _HEX40.match(contract):
            raise NodeError(f"malformed log address in node answer: {str(contract)[:80]!r}")
        symbol = self.tokens.get(contract.lower())
        topics = log.get("topics")
        # ERC-721-style Transfer has a third indexed topic: not money.
        if symbol is None or not isinstance(topics, list) or len(topics) != 3 or str(topics[0]).lower() != _TRANSFER_TOPIC:
            return None
        to_topic, data = topics[2], log.get("data")
        if not isinstance(to_topic, str) or not _WORD.match(to_topic):
            raise NodeError(f"malformed Transfer recipient topic in node answer: {str(to_topic)[:80]!r}")
        if not isinstance(data, str) or not _WORD.match(data):
            raise NodeError(f"malformed Transfer value in node answer: {str(data)[:80]!r}")
        return Transfer(
            tx_hash=tx_id,
            index=index,
            to_address=tron.from_hex(to_topic[-40:]),
            asset=symbol,
            value=int(data, 16),
        )
