"""The EVM adapter: raw JSON-RPC over HTTP, batched so one round trip fetches a whole
range of blocks (full transactions) plus the ERC-20 Transfer logs of the catalogue's
tokens for that range.

Seen: native-coin transfers (a transaction's `to` with value > 0, index 0) and token
Transfer logs (index = logIndex). A transfer to a plain account cannot revert, so no
receipts are needed.

Internal transfers (ether a contract sends on: smart-contract wallets, ERC-4337 accounts,
batch withdrawals) are seen only where the network's `internal_transfers` is on
(PAYRAM_INTERNAL_TRANSFERS_<SLUG>; the devnet by default): the blocks of a batch holding a
transaction with call data are traced, and every nested CALL with value > 0 whose frame and
ancestors all succeeded is a native Transfer with index INTERNAL_INDEX_BASE + its
depth-first position in the transaction's call tree (the top-level call is position 0 and
is already the index-0 native transfer). Where the setting is off, customers must pay
deposit addresses directly.

How blocks are traced: with the trace module's `trace_block` where the node answers it
(Erigon, Nethermind, Reth, anvil: flat traces it keeps or replays cheaply; on anvil a block
of 150 transactions costs ~10 ms there against 5-8 s with callTracer), else with geth's
debug_traceBlockByNumber callTracer. Both list a transaction's frames depth-first, so a
frame's index is the same whichever the node offers. Traces are asked for in requests of a
few blocks each, sized from the time the node took per block so far so one request takes
about a quarter of PAYRAM_NODE_TIMEOUT_SECONDS: a slow tracer never gets a request it
cannot answer in time (a 50-block trace request used to time out on every try while the
node went on tracing for minutes), and `trace_cost` says what tracing cost.

Everything the node says is checked; anything off raises NodeError with a message that
names the node by its redacted URL only.
"""

from __future__ import annotations

import itertools
import logging
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

import requests
from eth_hash.auto import keccak
from eth_utils import to_checksum_address

from chain.adapters import base
from chain.adapters.base import Block, NodeError, NodeUnreachable, Transfer
from chain.adapters.http import post_json
from chain.catalogue import Network
from payram.lib.jsonguard import NODE_ANSWER_MAX_DEPTH

# keccak256("Transfer(address,address,uint256)")
TRANSFER_TOPIC = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"

logger = logging.getLogger(__name__)

_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
_WORD = re.compile(r"0x[0-9a-fA-F]{64}")
_HIGH_NIBBLES = frozenset("89abcdef")

# Internal transfers are indexed from here: above any log index (a block holds far fewer
# than 10**9 logs: each costs at least 375 gas) and below 2**31 (Deposit.index).
INTERNAL_INDEX_BASE = 1_000_000_000
# A call trace nests two JSON levels per call (frame, `calls`): 512 allows ~250 nested
# calls; json's C scanner stays far from the stack's end (payram/lib/jsonguard.py).
TRACE_ANSWER_MAX_DEPTH = 512
# Frame types whose value lands at `to`. DELEGATECALL/STATICCALL move nothing, CALLCODE
# pays the caller itself, CREATE/CREATE2 land at a new contract (never a deposit address).
_PAYING_FRAMES = frozenset({"CALL", "SELFDESTRUCT"})
# Trace requests are sized so one takes about this share of the node timeout, between one
# block and MAX_TRACE_BLOCKS_PER_REQUEST (the first request: one block).
TRACE_REQUEST_SHARE = 0.25
MAX_TRACE_BLOCKS_PER_REQUEST = 50
TRACE_BLOCK = "trace_block"  # the trace module (Erigon, Nethermind, Reth, anvil)
CALL_TRACER = "callTracer"  # geth's debug_traceBlockByNumber


@dataclass(frozen=True)
class TraceCost:
    """What tracing internal transfers cost an adapter so far."""

    method: str  # TRACE_BLOCK or CALL_TRACER ("" before the first trace)
    blocks: int  # blocks traced
    requests: int
    seconds: float  # waiting for the node's traces

    @property
    def ms_per_block(self) -> float:
        return 1000 * self.seconds / self.blocks if self.blocks else 0.0


class WrongChainError(NodeError):
    """The node serves another chain than the catalogue says this network is."""


def _hex_int(value: Any, what: str) -> int:
    if not isinstance(value, str) or not _HEX.match(value):
        raise NodeError(f"malformed {what} in node answer: {str(value)[:80]!r}")
    return int(value, 16)


def _hash(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _HASH.match(value):
        raise NodeError(f"malformed {what} in node answer: {str(value)[:80]!r}")
    return value.lower()


def _checksummed(hex40: str) -> str:
    """EIP-55 of 40 hex digits already checked: what eth_utils.to_checksum_address returns,
    without its re-validation, which made it the scan's costliest step (every transfer's
    recipient is checksummed to match DepositAddress; bench/README.md)."""
    lower = hex40.lower()
    digest = keccak(lower.encode("ascii")).hex()
    return "0x" + "".join([c.upper() if d in _HIGH_NIBBLES else c for c, d in zip(lower, digest)])


def _address(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _ADDRESS.match(value):
        raise NodeError(f"malformed {what} in node answer: {str(value)[:80]!r}")
    return _checksummed(value[2:])


def _field(obj: Any, key: str, what: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise NodeError(f"node answer lacks {what}.{key}")
    return obj[key]


class EvmAdapter:
    """ChainAdapter for one EVM network. Checks the node's chain id once, before the
    first answer it relies on."""

    # Several batches may be read at once from several threads (chain/scanner.py): each
    # thread has its own keep-alive session; the rest of the state tolerates the race.
    thread_safe = True

    def __init__(
        self,
        network: Network,
        *,
        timeout: float | None = None,
        session: requests.Session | None = None,
        tracer: str | None = None,
    ) -> None:
        if not network.rpc_url:
            raise NodeError(f"network {network.slug} has no RPC URL (set {network.rpc_env_var})")
        self.network = network
        self.timeout = base.NODE_TIMEOUT_SECONDS if timeout is None else timeout
        self._given_session = session
        self._local = threading.local()
        self._ids = itertools.count(1)
        self._chain_checked = False
        # TRACE_BLOCK, CALL_TRACER, or None: find out (trace_block first) on the first trace.
        self.tracer = tracer
        self._trace_seconds_per_block: float | None = None
        self._trace_lock = threading.Lock()
        self._trace_totals = [0, 0, 0.0]  # blocks, requests, seconds
        # contract (lower-case) -> asset symbol
        self.tokens: dict[str, str] = {t.contract.lower(): t.symbol for t in network.tokens if t.contract}

    # -- transport -------------------------------------------------------------------

    @property
    def session(self) -> requests.Session:
        """This thread's keep-alive session (the one given to the adapter, if any, is the
        first thread's)."""
        session = getattr(self._local, "session", None)
        if session is None:
            session, self._given_session = self._given_session or requests.Session(), None
            self._local.session = session
        return session

    def _post(self, payload: Any, *, max_depth: int = NODE_ANSWER_MAX_DEPTH) -> Any:
        return post_json(
            self.session,
            self.network.rpc_url,
            payload,
            where=self.network.display_rpc_url,
            timeout=self.timeout,
            max_depth=max_depth,
        )

    def _result(self, answer: Any, method: str) -> Any:
        if not isinstance(answer, dict):
            raise NodeError(f"node answered {method} with something that is not a JSON-RPC response")
        if answer.get("error") is not None:
            err = answer["error"]
            message = err.get("message") if isinstance(err, dict) else err
            raise NodeError(f"node refused {method}: {str(message)[:200]}")
        if "result" not in answer:
            raise NodeError(f"node answered {method} without a result")
        return answer["result"]

    def call(self, method: str, params: list | None = None) -> Any:
        answer = self._post({"jsonrpc": "2.0", "id": next(self._ids), "method": method, "params": params or []})
        return self._result(answer, method)

    def batch(self, calls: list[tuple[str, list]], *, max_depth: int = NODE_ANSWER_MAX_DEPTH) -> list[Any]:
        """Several calls in one HTTP request; results in the order of `calls`."""
        ids = [next(self._ids) for _ in calls]
        payload = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in zip(ids, calls)]
        answer = self._post(payload, max_depth=max_depth)
        if not isinstance(answer, list):
            # Some nodes answer a whole batch with one error object (e.g. batches disabled).
            self._result(answer, "a batch")
            raise NodeError("node answered a batch with a single response")
        by_id = {a.get("id"): a for a in answer if isinstance(a, dict)}
        results = []
        for i, (method, _params) in zip(ids, calls):
            if i not in by_id:
                raise NodeError(f"node's batch answer lacks the reply to {method}")
            results.append(self._result(by_id[i], method))
        return results

    # -- checks ------------------------------------------------------------------------

    def chain_id(self) -> int:
        return _hex_int(self.call("eth_chainId"), "chain id")

    def check_chain(self) -> None:
        if self._chain_checked:
            return
        expected = self.network.chain_id
        if expected is not None:
            got = self.chain_id()
            if got != expected:
                raise WrongChainError(
                    f"node {self.network.display_rpc_url} serves chain id {got}, but {self.network.name} is chain id {expected}: "
                    f"check {self.network.rpc_env_var}"
                )
        self._chain_checked = True

    # -- the ChainAdapter protocol -------------------------------------------------------

    def head(self) -> int:
        self.check_chain()
        return _hex_int(self.call("eth_blockNumber"), "block number")

    def block_hash(self, height: int) -> str:
        self.check_chain()
        block = self.call("eth_getBlockByNumber", [hex(height), False])
        if block is None:
            raise NodeError(f"node has no block {height}")
        return _hash(_field(block, "hash", "block"), "block hash")

    def blocks(self, start: int, end: int) -> list[Block]:
        if end < start:
            return []
        self.check_chain()
        calls: list[tuple[str, list]] = [("eth_getBlockByNumber", [hex(h), True]) for h in range(start, end + 1)]
        if self.tokens:
            calls.append(
                (
                    "eth_getLogs",
                    [
                        {
                            "fromBlock": hex(start),
                            "toBlock": hex(end),
                            "address": [to_checksum_address(c) for c in self.tokens],
                            "topics": [TRANSFER_TOPIC],
                        }
                    ],
                )
            )
        results = self.batch(calls)
        raw_blocks = results[: end - start + 1]
        raw_logs = results[end - start + 1] if self.tokens else []

        parsed: list[tuple[int, str, str, int, list[Transfer]]] = []
        to_trace: dict[int, list[str]] = {}  # height -> its transactions' hashes, in order
        for expected_height, raw in zip(range(start, end + 1), raw_blocks):
            if raw is None:
                raise NodeError(f"node has no block {expected_height} (head moved back?)")
            height = _hex_int(_field(raw, "number", "block"), "block number")
            if height != expected_height:
                raise NodeError(f"node answered block {height} when asked for {expected_height}")
            block_hash = _hash(_field(raw, "hash", "block"), "block hash")
            parent = _hash(_field(raw, "parentHash", "block"), "parent hash")
            if parsed and parent != parsed[-1][1]:
                raise base.parent_mismatch(height, parent, parsed[-1][1], what=f"node {self.network.display_rpc_url}")
            timestamp = _hex_int(_field(raw, "timestamp", "block"), "block timestamp")
            parsed.append((height, block_hash, parent, timestamp, self._native_transfers(raw)))
            if self.network.internal_transfers:
                tx_hashes, with_data = self._calls_data(raw)
                if with_data:
                    to_trace[height] = tx_hashes

        hashes = {h: bh for h, bh, _, _, _ in parsed}
        token_transfers = self._token_transfers(raw_logs, hashes)
        internal = self._internal_transfers(to_trace, hashes) if to_trace else {}
        return [
            Block(
                height=h,
                hash=bh,
                parent_hash=ph,
                timestamp=ts,
                transfers=tuple(native + token_transfers.get(h, []) + internal.get(h, [])),
            )
            for h, bh, ph, ts, native in parsed
        ]

    def mempool(self) -> list[Transfer]:
        # EVM nodes rarely expose a useful pending view and blocks come every few seconds.
        return []

    # -- parsing -------------------------------------------------------------------------

    def _native_transfers(self, raw_block: dict) -> list[Transfer]:
        txs = _field(raw_block, "transactions", "block")
        if not isinstance(txs, list):
            raise NodeError("node answered a block whose transactions are not a list")
        found = []
        for tx in txs:
            if not isinstance(tx, dict):
                raise NodeError("node answered a block without full transactions")
            to = tx.get("to")
            if to is None:  # contract creation
                continue
            value = _hex_int(_field(tx, "value", "transaction"), "transaction value")
            if value <= 0:
                continue
            found.append(
                Transfer(
                    tx_hash=_hash(_field(tx, "hash", "transaction"), "transaction hash"),
                    index=0,
                    to_address=_address(to, "transaction recipient"),
                    asset=self.network.native.symbol,
                    value=value,
                )
            )
        return found

    @staticmethod
    def _calls_data(raw_block: dict) -> tuple[list[str], bool]:
        """The block's transaction hashes, and whether any carries call data (only those
        can make internal calls: a pure value transfer has input "0x")."""
        hashes, with_data = [], False
        for tx in raw_block["transactions"]:  # checked by _native_transfers
            hashes.append(_hash(_field(tx, "hash", "transaction"), "transaction hash"))
            data = _field(tx, "input", "transaction")
            if not isinstance(data, str) or not (data == "0x" or _HEX.match(data)):
                raise NodeError(f"malformed transaction input in node answer: {str(data)[:80]!r}")
            with_data = with_data or data != "0x"
        return hashes, with_data

    @property
    def trace_cost(self) -> TraceCost:
        blocks, requests_made, seconds = self._trace_totals
        return TraceCost(method=self.tracer or "", blocks=blocks, requests=requests_made, seconds=seconds)

    def _trace_chunk_size(self) -> int:
        per_block = self._trace_seconds_per_block
        if per_block is None:
            return 1  # the node's speed is not known yet: the smallest request first
        budget = self.timeout * TRACE_REQUEST_SHARE
        return max(1, min(MAX_TRACE_BLOCKS_PER_REQUEST, int(budget / max(per_block, 1e-6))))

    def _internal_transfers(self, to_trace: dict[int, list[str]], hashes: dict[int, str]) -> dict[int, list[Transfer]]:
        """Internal ether transfers of the blocks in `to_trace`, in bounded trace requests
        (see the module's docstring)."""
        heights = list(to_trace)
        found: dict[int, list[Transfer]] = {}
        offset = 0
        while offset < len(heights):
            chunk = heights[offset : offset + self._trace_chunk_size()]
            started = time.perf_counter()
            try:
                traced = self._trace_blocks({h: to_trace[h] for h in chunk}, hashes)
            except NodeUnreachable as exc:
                if "did not answer within" in str(exc) and len(chunk) == 1:
                    raise NodeUnreachable(
                        f"{exc} while tracing block {chunk[0]} alone: tracing one block takes this node longer than "
                        f"PAYRAM_NODE_TIMEOUT_SECONDS; raise it, use a node with the trace module (trace_block), "
                        f"or set {self.network.internal_transfers_env_var}=false"
                    ) from None
                if "did not answer within" in str(exc):
                    # Sized from faster blocks: the next try asks for one block at a time.
                    self._trace_seconds_per_block = self.timeout
                raise
            elapsed = time.perf_counter() - started
            per_block = elapsed / len(chunk)
            previous = self._trace_seconds_per_block
            # Follow a slowing node at once, a quickening one gently.
            self._trace_seconds_per_block = per_block if previous is None or per_block > previous else (previous + per_block) / 2
            with self._trace_lock:
                self._trace_totals[0] += len(chunk)
                self._trace_totals[1] += 1
                self._trace_totals[2] += elapsed
            for height, transfers in traced.items():
                found.setdefault(height, []).extend(transfers)
            offset += len(chunk)
        return found

    def _trace_blocks(self, to_trace: dict[int, list[str]], hashes: dict[int, str]) -> dict[int, list[Transfer]]:
        if self.tracer is None:
            try:
                found = self._trace_module(to_trace, hashes)
            except NodeError as exc:
                if not str(exc).startswith("node refused"):
                    raise
                logger.info("%s: the node has no trace_block (%s); tracing with debug_traceBlockByNumber", self.network.slug, exc)
                self.tracer = CALL_TRACER
            else:
                self.tracer = TRACE_BLOCK
                return found
        if self.tracer == TRACE_BLOCK:
            return self._trace_module(to_trace, hashes)
        return self._call_tracer(to_trace)

    def _trace_module(self, to_trace: dict[int, list[str]], hashes: dict[int, str]) -> dict[int, list[Transfer]]:
        """Parity-style flat traces (trace_block): each transaction's frames in depth-first
        order, each naming its path in the call tree (traceAddress), so positions and failed
        ancestors are those of a callTracer tree."""
        results = self.batch([(TRACE_BLOCK, [hex(h)]) for h in to_trace])
        found: dict[int, list[Transfer]] = {}
        for (height, tx_hashes), traces in zip(to_trace.items(), results):
            if not isinstance(traces, list):
                raise NodeError(f"node answered trace_block for block {height} with something that is not a list")
            in_block = set(tx_hashes)
            position: dict[str, int] = {}
            failed_paths: dict[str, set[tuple[int, ...]]] = {}
            for trace in traces:
                if not isinstance(trace, dict):
                    raise NodeError(f"node answered a trace of block {height} that is not an object")
                kind = trace.get("type")
                if kind == "reward":
                    continue  # a block reward (pre-merge chains), not a transaction's frame
                tx_hash = _hash(_field(trace, "transactionHash", "trace"), "trace transaction hash")
                if tx_hash not in in_block:
                    raise NodeError(f"the chain moved while reading block {height} (trace of another transaction); will retry")
                if _hash(_field(trace, "blockHash", "trace"), "trace block hash") != hashes[height]:
                    raise NodeError(f"the chain moved while reading block {height} (trace from another block); will retry")
                path = _field(trace, "traceAddress", "trace")
                if not isinstance(path, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in path):
                    raise NodeError(f"malformed traceAddress in the trace of {tx_hash}: {str(path)[:80]!r}")
                here = position.get(tx_hash, 0)
                position[tx_hash] = here + 1
                if (here == 0) != (path == []):
                    raise NodeError(f"node answered the traces of {tx_hash} out of depth-first order")
                failed = failed_paths.setdefault(tx_hash, set())
                key = tuple(path)
                if trace.get("error") not in (None, "") or any(key[:n] in failed for n in range(len(key))):
                    failed.add(key)
                    continue
                if here == 0:
                    continue  # the top-level call: the transaction's own value, index 0
                action = _field(trace, "action", "trace")
                if kind == "call":
                    call_type = str(_field(action, "callType", "trace action")).upper()
                    if call_type != "CALL":
                        continue
                    to_key, value_key = "to", "value"
                elif kind in ("suicide", "selfdestruct"):
                    to_key, value_key = "refundAddress", "balance"
                else:
                    continue  # create: lands at a new contract, never a deposit address
                value = _hex_int(_field(action, value_key, "trace action"), "call value")
                if value > 0:
                    found.setdefault(height, []).append(
                        Transfer(
                            tx_hash=tx_hash,
                            index=INTERNAL_INDEX_BASE + here,
                            to_address=_address(_field(action, to_key, "trace action"), "call recipient"),
                            asset=self.network.native.symbol,
                            value=value,
                        )
                    )
                if here >= 2**31 - 1 - INTERNAL_INDEX_BASE:
                    raise NodeError(f"node answered an implausibly large trace for {tx_hash}")
        return found

    def _call_tracer(self, to_trace: dict[int, list[str]]) -> dict[int, list[Transfer]]:
        """Internal ether transfers of the blocks in `to_trace`, from one batch of
        debug_traceBlockByNumber (callTracer) calls."""
        method = "debug_traceBlockByNumber"
        calls = [(method, [hex(h), {"tracer": "callTracer"}]) for h in to_trace]
        try:
            results = self.batch(calls, max_depth=TRACE_ANSWER_MAX_DEPTH)
        except NodeError as exc:
            if str(exc).startswith("node refused"):
                raise NodeError(
                    f"{exc} (internal transfers need a node that answers {method}: use one, "
                    f"or set {self.network.internal_transfers_env_var}=false)"
                ) from None
            if "nested deeper than" in str(exc):
                return self._internal_transfers_one_by_one(to_trace)
            raise
        found: dict[int, list[Transfer]] = {}
        for (height, tx_hashes), traces in zip(to_trace.items(), results):
            if not isinstance(traces, list) or len(traces) != len(tx_hashes):
                raise NodeError(f"node answered {method} for block {height} with something that is not one trace per transaction")
            for tx_hash, entry in zip(tx_hashes, traces):
                if isinstance(entry, dict) and entry.get("error") is not None and "result" not in entry:
                    raise NodeError(
                        f"node could not trace transaction {tx_hash} in block {height}: {str(entry['error'])[:200]} "
                        f"(a node without that block's state, e.g. pruned, cannot: use one that keeps it, "
                        f"or set {self.network.internal_transfers_env_var}=false)"
                    )
                if _hash(_field(entry, "txHash", "trace"), "trace transaction hash") != tx_hash:
                    raise NodeError(f"the chain moved while reading block {height} (trace of another transaction); will retry")
                found.setdefault(height, []).extend(self._paid_by_calls(tx_hash, _field(entry, "result", "trace")))
        return found

    def _internal_transfers_one_by_one(self, to_trace: dict[int, list[str]]) -> dict[int, list[Transfer]]:
        """The blocks' traces were too deep to parse as one answer: somebody's transaction
        nests hundreds of calls (anyone can send one cheaply). Trace the transactions on
        their own instead, and skip, with a warning, only those too deep to parse: one such
        transaction must not stop the network's scanning. Positions are the same as in a
        block trace, so indexes do not depend on which way a transaction was traced."""
        found: dict[int, list[Transfer]] = {}
        for height, tx_hashes in to_trace.items():
            for tx_hash, top in self._trace_transactions(height, tx_hashes).items():
                if top is not None:
                    found.setdefault(height, []).extend(self._paid_by_calls(tx_hash, top))
        return found

    def _trace_transactions(self, height: int, tx_hashes: list[str]) -> dict[str, Any]:
        """tx hash -> its call trace (None: too deep to parse), halving the batch until a
        deep transaction stands alone."""
        method = "debug_traceTransaction"
        try:
            results = self.batch([(method, [t, {"tracer": "callTracer"}]) for t in tx_hashes], max_depth=TRACE_ANSWER_MAX_DEPTH)
        except NodeError as exc:
            if "nested deeper than" not in str(exc):
                raise
            if len(tx_hashes) == 1:
                logger.warning(
                    "%s: transaction %s in block %s calls more than ~%s levels deep; its internal transfers are not read",
                    self.network.slug,
                    tx_hashes[0],
                    height,
                    TRACE_ANSWER_MAX_DEPTH // 2 - 6,
                )
                return {tx_hashes[0]: None}
            middle = len(tx_hashes) // 2
            return {
                **self._trace_transactions(height, tx_hashes[:middle]),
                **self._trace_transactions(height, tx_hashes[middle:]),
            }
        return dict(zip(tx_hashes, results))

    def _paid_by_calls(self, tx_hash: str, top: Any) -> list[Transfer]:
        """Walk one transaction's call tree depth-first (pre-order; the top frame is
        position 0 and is not a transfer here). A failed frame (`error`) undoes itself and
        everything under it: its subtree is skipped, though its positions still count, so
        every frame keeps the same index whatever succeeded."""
        found = []
        position = 0
        stack: list[tuple[Any, bool]] = [(top, False)]  # (frame, an ancestor failed)
        while stack:
            frame, failed_above = stack.pop()
            if not isinstance(frame, dict):
                raise NodeError(f"node answered a call frame that is not an object in the trace of {tx_hash}")
            kind = _field(frame, "type", "call frame")
            if not isinstance(kind, str):
                raise NodeError(f"malformed call frame type in node answer: {str(kind)[:80]!r}")
            failed = failed_above or frame.get("error") not in (None, "")
            if position > 0 and not failed and kind.upper() in _PAYING_FRAMES:
                value = _hex_int(frame.get("value", "0x0"), "call value")
                if value > 0:
                    found.append(
                        Transfer(
                            tx_hash=tx_hash,
                            index=INTERNAL_INDEX_BASE + position,
                            to_address=_address(_field(frame, "to", "call frame"), "call recipient"),
                            asset=self.network.native.symbol,
                            value=value,
                        )
                    )
            children = frame.get("calls", [])
            if not isinstance(children, list):
                raise NodeError(f"node answered call frames that are not a list in the trace of {tx_hash}")
            stack.extend((child, failed) for child in reversed(children))
            position += 1
            if position >= 2**31 - 1 - INTERNAL_INDEX_BASE:
                raise NodeError(f"node answered an implausibly large trace for {tx_hash}")
        return found

    def _token_transfers(self, raw_logs: Any, hashes: dict[int, str]) -> dict[int, list[Transfer]]:
        if not isinstance(raw_logs, list):
            raise NodeError("node answered eth_getLogs with something that is not a list")
        found: dict[int, list[Transfer]] = {}
        for log in raw_logs:
            if not isinstance(log, dict):
                raise NodeError("node answered a log that is not an object")
            if log.get("removed"):
                continue
            topics = _field(log, "topics", "log")
            # ERC-721 Transfer has the same signature with a third indexed topic: not money.
            if not isinstance(topics, list) or len(topics) != 3 or str(topics[0]).lower() != TRANSFER_TOPIC:
                continue
            symbol = self.tokens.get(str(_field(log, "address", "log")).lower())
            if symbol is None:
                continue
            height = _hex_int(_field(log, "blockNumber", "log"), "log block number")
            if height not in hashes:
                raise NodeError(f"node answered a log from block {height}, outside the range asked for")
            if _hash(_field(log, "blockHash", "log"), "log block hash") != hashes[height]:
                raise NodeError(f"the chain moved while reading block {height} (log from another block); will retry")
            data = _field(log, "data", "log")
            if not isinstance(data, str) or not _WORD.fullmatch(data):
                raise NodeError(f"malformed Transfer value in node answer: {str(data)[:80]!r}")
            to_topic = _hash(topics[2], "Transfer recipient topic")
            found.setdefault(height, []).append(
                Transfer(
                    tx_hash=_hash(_field(log, "transactionHash", "log"), "log transaction hash"),
                    index=_hex_int(_field(log, "logIndex", "log"), "log index"),
                    to_address=_checksummed(to_topic[-40:]),
                    asset=symbol,
                    value=int(data, 16),
                )
            )
        return found
