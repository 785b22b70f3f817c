"""Bitcoin Core JSON-RPC adapter: reads blocks and the mempool of a `bitcoind` and reports
every output paying an address, in satoshi. It only reads; matching outputs against our
deposit addresses is the scanner's job.

Authentication is HTTP basic auth from the RPC URL's user:password. That covers both an
`rpcauth`/`rpcuser` account and Core's cookie file (user `__cookie__`, password the part
of `<datadir>/.cookie` after the colon). A wallet path (`/wallet/<name>`) is not needed:
only node RPCs are used.

Anything unexpected raises NodeError with a message safe to show: it names the node by
its redacted URL and never carries the credentials.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import unquote, urlparse

from django.conf import settings

from chain.adapters import base
from chain.adapters.base import Block, NodeError, NodeUnreachable, Transfer
from chain.catalogue import Network
from payram.lib.jsonguard import NODE_ANSWER_MAX_DEPTH, json_too_deep
from payram.lib.money import to_base_units

SATOSHI_DECIMALS = 8
HASH_RE = re.compile(r"^[0-9a-f]{64}$")
GENESIS_PARENT = "0" * 64
MAX_MONEY = 21_000_000 * 10**SATOSHI_DECIMALS

# Core's default RPC port per chain, for a URL that names none.
DEFAULT_PORT_BY_SLUG: dict[str, int] = {
    "bitcoin": 8332,
    "bitcoin-testnet4": 48332,
    "bitcoin-signet": 38332,
    "bitcoin-regtest": 18443,
}

# What `getblockchaininfo` calls each catalogue network's chain.
CORE_CHAIN_BY_SLUG: dict[str, str] = {
    "bitcoin": "main",
    "bitcoin-testnet4": "testnet4",
    "bitcoin-signet": "signet",
    "bitcoin-regtest": "regtest",
}
CORE_CHAIN_NAMES: dict[str, str] = {
    "main": "Bitcoin mainnet",
    "test": "testnet3",
    "testnet4": "testnet4",
    "signet": "signet",
    "regtest": "regtest",
}

# Decoded mempool outputs per node, kept across adapter instances: txid -> its outputs
# paying an address. Pruned to the node's mempool on every call, so it holds no more than
# the mempool does.
_MEMPOOL_OUTPUTS: dict[str, dict[str, tuple[Transfer, ...]]] = {}
_MEMPOOL_LOCK = threading.Lock()

# Core error codes the adapter treats specially.
RPC_INVALID_ADDRESS_OR_KEY = -5  # also "No such mempool or blockchain transaction"


class WrongChainError(NodeError):
    """The node follows another chain than the catalogue network (mainnet vs regtest...)."""


@dataclass(frozen=True)
class RpcError:
    """One error object from Core: {"code": int, "message": str}."""

    code: int
    message: str

    def as_node_error(self, method: str) -> NodeError:
        return NodeError(f"Bitcoin Core answered {method} with error {self.code}: {self.message}")


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN, Infinity: never a Core amount


class BitcoinCoreAdapter:
    """The ChainAdapter of one Bitcoin network, talking to one Bitcoin Core node."""

    # The scanner may read several batches at once from several threads: each thread has
    # its own keep-alive connection; the request ids are drawn under a lock.
    thread_safe = True

    # A mainnet mempool can hold hundreds of thousands of transactions; decoding them all
    # in one poll would swamp the node. At most this many new ones are decoded per
    # mempool() call (see there).
    MEMPOOL_LIMIT = 2000
    # getblock verbosity 2 of a full mainnet block is 5-10 MB of JSON, of a regtest block
    # a few kB. Blocks are batched so one answer stays near this size: one block per
    # request on mainnet, many on small chains.
    TARGET_RESPONSE_BYTES = 8_000_000
    MAX_BLOCKS_PER_REQUEST = 16
    TXS_PER_REQUEST = 200

    def __init__(self, network: Network, *, timeout: float | None = None, mempool_limit: int | None = None) -> None:
        if not network.rpc_url:
            raise NodeError(f"{network.name} has no node RPC URL (set {network.rpc_env_var})")
        self.network = network
        self.timeout = base.NODE_TIMEOUT_SECONDS if timeout is None else timeout
        self.mempool_limit = self.MEMPOOL_LIMIT if mempool_limit is None else mempool_limit
        self.asset = network.native.symbol
        parsed = urlparse(network.rpc_url)
        self._scheme = parsed.scheme
        self._host = parsed.hostname or ""
        try:
            port = parsed.port
        except ValueError:
            raise NodeError(f"the RPC URL of {network.name} ({network.display_rpc_url}) has an invalid port") from None
        self._port = port or (443 if parsed.scheme == "https" else DEFAULT_PORT_BY_SLUG.get(network.slug, 8332))
        self._path = parsed.path or "/"
        self._auth = None
        if parsed.username is not None or parsed.password is not None:
            user_pass = f"{unquote(parsed.username or '')}:{unquote(parsed.password or '')}"
            self._auth = "Basic " + base64.b64encode(user_pass.encode()).decode("ascii")
        # bitcoind writes a new cookie at every start; naming the file (instead of copying
        # its password into the URL) keeps payram working across node restarts.
        self.cookie_file = settings.PAYRAM_NETWORK_ENV.get(f"{network.rpc_env_var}_COOKIE", "").strip()
        self._next_id = 0
        self._id_lock = threading.Lock()
        self._chain_checked = False
        self._blocks_per_request = 1  # grows once the node's block size is known
        self._local = threading.local()  # this thread's connection and last answer size
        self._open: set[http.client.HTTPConnection] = set()
        self._open_lock = threading.Lock()

    @property
    def where(self) -> str:
        return f"the Bitcoin Core node at {self.network.display_rpc_url}"

    # -- transport -------------------------------------------------------------------

    @property
    def last_response_bytes(self) -> int:
        """The size of the last answer this thread read."""
        return getattr(self._local, "last_response_bytes", 0)

    def _connection(self) -> tuple[http.client.HTTPConnection, bool]:
        """This thread's keep-alive connection (one scan makes many requests: a new TCP
        connection each cost a round trip more), and whether it was used before."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            return conn, True
        conn_class = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        conn = self._local.conn = conn_class(self._host, self._port, timeout=self.timeout)
        with self._open_lock:
            self._open.add(conn)
        return conn, False

    def _close_mine(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
            with self._open_lock:
                self._open.discard(conn)

    def close(self) -> None:
        """Close every thread's connection."""
        lock = getattr(self, "_open_lock", None)  # None when __init__ refused the network
        if lock is None:
            return
        with lock:
            conns, self._open = self._open, set()
        for conn in conns:
            conn.close()
        self._local.conn = None

    def __del__(self) -> None:
        self.close()

    def _post(self, payload: Any) -> tuple[int, bytes]:
        body = json.dumps(payload).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        auth = self._cookie_auth() if self.cookie_file else self._auth
        if auth:
            headers["Authorization"] = auth
        conn, reused = self._connection()
        keep = False
        try:
            try:
                conn.request("POST", self._path, body=body, headers=headers)
                response = conn.getresponse()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError, http.client.CannotSendRequest):
                if not reused:
                    raise
                # The node closed the idle keep-alive connection (-rpcservertimeout): every
                # call here only reads, so asking again on a new connection is safe.
                self._close_mine()
                conn, _ = self._connection()
                conn.request("POST", self._path, body=body, headers=headers)
                response = conn.getresponse()
            limit = base.NODE_ANSWER_MAX_BYTES
            raw = response.read(limit + 1)
            if len(raw) > limit:
                raise NodeError(
                    f"{self.where} answered more than {limit // (1024 * 1024)} MB; refused (PAYRAM_NODE_ANSWER_MAX_MB)"
                )
            self._local.last_response_bytes = len(raw)
            keep = not response.will_close
            return response.status, raw
        except TimeoutError:
            raise NodeUnreachable(f"{self.where} did not answer within {self.timeout:g} s") from None
        except ConnectionRefusedError:
            raise NodeUnreachable(
                f"{self.where} refused the connection (is bitcoind running and rpcbind/rpcport right?)"
            ) from None
        except http.client.HTTPException as exc:
            raise NodeUnreachable(f"{self.where} sent a broken HTTP answer ({type(exc).__name__})") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise NodeUnreachable(f"cannot reach {self.where}: {reason}") from None
        finally:
            if not keep:
                self._close_mine()

    def _cookie_auth(self) -> str:
        try:
            with open(self.cookie_file, encoding="utf-8") as fh:
                cookie = fh.read().strip()
        except OSError as exc:
            raise NodeError(
                f"cannot read the RPC cookie file {self.cookie_file} ({exc.strerror}): is bitcoind running, and is its datadir shared with payram?"
            ) from None
        if ":" not in cookie:
            raise NodeError(f"the RPC cookie file {self.cookie_file} does not hold user:password")
        return "Basic " + base64.b64encode(cookie.encode()).decode("ascii")

    def _decode(self, status: int, raw: bytes, what: str) -> Any:
        if status == 401:
            raise NodeError(f"{self.where} refused the RPC credentials (check user:password or the cookie in the URL)")
        if status == 403:
            raise NodeError(f"{self.where} refused access from this host (rpcallowip)")
        # json's C scanner would segfault the worker on pathological nesting: refuse it unparsed.
        if json_too_deep(raw, NODE_ANSWER_MAX_DEPTH):
            raise NodeError(f"{self.where} answered {what} with JSON nested deeper than {NODE_ANSWER_MAX_DEPTH} (HTTP {status})")
        try:
            return json.loads(raw, parse_float=Decimal, parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError, RecursionError):
            if status != 200:
                # e.g. 503 "Work queue depth exceeded" in plain text from a busy node
                raise NodeError(f"{self.where} answered {what} with HTTP {status}") from None
            raise NodeError(f"{self.where} answered {what} with malformed JSON (HTTP {status})") from None

    def _envelope(self, reply: Any, method: str, status: int) -> tuple[Any, RpcError | None]:
        """Result and error of one JSON-RPC reply, 1.0 style (both keys) or 2.0 style (one)."""
        if not isinstance(reply, dict):
            raise NodeError(f"{self.where} answered {method} with something that is not a JSON-RPC reply (HTTP {status})")
        error = reply.get("error")
        if error is not None:
            if not isinstance(error, dict) or not isinstance(error.get("code"), int):
                raise NodeError(f"{self.where} answered {method} with a malformed error (HTTP {status})")
            return None, RpcError(error["code"], str(error.get("message", ""))[:300])
        if "result" not in reply:
            raise NodeError(f"{self.where} answered {method} without a result (HTTP {status})")
        if status != 200:
            raise NodeError(f"{self.where} answered {method} with HTTP {status}")
        return reply["result"], None

    def _request(self, method: str, params: list[Any]) -> dict[str, Any]:
        with self._id_lock:
            self._next_id += 1
            ident = self._next_id
        return {"jsonrpc": "1.0", "id": ident, "method": method, "params": params}

    def call(self, method: str, *params: Any) -> Any:
        """One RPC; Core's error becomes a NodeError with Core's message."""
        status, raw = self._post(self._request(method, list(params)))
        result, error = self._envelope(self._decode(status, raw, method), method, status)
        if error is not None:
            raise error.as_node_error(method)
        return result

    def batch(self, method: str, params_list: list[list[Any]]) -> list[tuple[Any, RpcError | None]]:
        """Many calls of one method in one HTTP round trip, answers in the order asked."""
        if not params_list:
            return []
        requests = [self._request(method, params) for params in params_list]
        status, raw = self._post(requests)
        replies = self._decode(status, raw, f"a batch of {method}")
        if isinstance(replies, dict):
            # Core answers a batch it cannot run at all (e.g. a parse error) with one reply.
            _, error = self._envelope(replies, method, status)
            if error is not None:
                raise error.as_node_error(method)
            raise NodeError(f"{self.where} answered a batch of {method} with a single reply")
        if not isinstance(replies, list) or len(replies) != len(requests):
            raise NodeError(f"{self.where} answered a batch of {len(requests)} {method} calls with a different number of replies")
        by_id: dict[Any, Any] = {}
        for reply in replies:
            if not isinstance(reply, dict) or "id" not in reply:
                raise NodeError(f"{self.where} answered a batch of {method} with a reply that has no id")
            by_id[reply["id"]] = reply
        answers = []
        for request in requests:
            if request["id"] not in by_id:
                raise NodeError(f"{self.where} left a {method} call of a batch unanswered")
            # Inside a batch Core uses HTTP 200 for the whole; errors are per reply.
            answers.append(self._envelope(by_id[request["id"]], method, 200))
        return answers

    def batch_results(self, method: str, params_list: list[list[Any]]) -> list[Any]:
        results = []
        for result, error in self.batch(method, params_list):
            if error is not None:
                raise error.as_node_error(method)
            results.append(result)
        return results

    # -- the adapter protocol ---------------------------------------------------------

    def check_chain(self) -> None:
        """Once per adapter, before the first answer relied on: the node follows this
        network's chain (a mainnet node behind a regtest URL must not be scanned)."""
        if not self._chain_checked:
            self.check()

    def check(self) -> dict[str, Any]:
        """The node is reachable, accepts our credentials and follows this network's chain.
        Returns getblockchaininfo's answer; raises NodeError (WrongChainError for the
        wrong chain) saying what is wrong."""
        info = self.call("getblockchaininfo")
        chain = info.get("chain") if isinstance(info, dict) else None
        if not isinstance(chain, str):
            raise NodeError(f"{self.where} answered getblockchaininfo without its chain")
        expected = CORE_CHAIN_BY_SLUG.get(self.network.slug)
        if expected is not None and chain != expected:
            raise WrongChainError(
                f"{self.where} follows {CORE_CHAIN_NAMES.get(chain, chain)} (chain {chain!r}), not "
                f"{self.network.name} (chain {expected!r}): point {self.network.rpc_env_var} at a "
                f"{CORE_CHAIN_NAMES[expected]} node"
            )
        self._chain_checked = True
        return info

    def head(self) -> int:
        self.check_chain()
        return self._height(self.call("getblockcount"), "getblockcount")

    def block_hash(self, height: int) -> str:
        self.check_chain()
        return self._hash(self.call("getblockhash", height), "getblockhash")

    def blocks(self, start: int, end: int) -> list[Block]:
        if start > end:
            return []
        self.check_chain()
        heights = list(range(start, end + 1))
        hashes = [self._hash(h, "getblockhash") for h in self.batch_results("getblockhash", [[h] for h in heights])]
        blocks: list[Block] = []
        offset = 0
        while offset < len(hashes):
            chunk = hashes[offset : offset + self._blocks_per_request]
            raw_blocks = self.batch_results("getblock", [[block_hash, 2] for block_hash in chunk])
            for block_hash, height, raw in zip(chunk, heights[offset:], raw_blocks):
                blocks.append(self._block(raw, block_hash, height))
            offset += len(chunk)
            per_block = max(self.last_response_bytes // len(chunk), 1)
            self._blocks_per_request = min(max(self.TARGET_RESPONSE_BYTES // per_block, 1), self.MAX_BLOCKS_PER_REQUEST)
        for parent, child in zip(blocks, blocks[1:]):
            if child.parent_hash != parent.hash:
                # A reorg happened between our calls: the range is not one chain. Record
                # nothing from it; the next scan reads it again.
                raise NodeError(f"{self.where} switched chains while blocks {start}..{end} were read; they will be read again")
        return blocks

    def mempool(self) -> list[Transfer]:
        """Outputs paying an address in the node's mempool, in the node's order.

        A transaction's outputs never change, so they are decoded once and remembered per
        node (every scan makes a new adapter) for as long as the transaction stays in the
        mempool. Each call decodes at most `mempool_limit` transactions it has not seen
        yet: a huge mempool (mainnet holds hundreds of thousands) is covered over a few
        polls instead of swamping the node, and once covered the view stays complete, so
        a payment seen pending keeps being seen until it is mined or dropped. A payment
        not yet decoded is not lost: the block scan finds it when it is mined."""
        self.check_chain()
        txids = self.call("getrawmempool")
        if not isinstance(txids, list) or not all(isinstance(t, str) and HASH_RE.match(t) for t in txids):
            raise NodeError(f"{self.where} answered getrawmempool with something other than a list of txids")
        with _MEMPOOL_LOCK:
            known = _MEMPOOL_OUTPUTS.setdefault(self._mempool_key, {})
            current = set(txids)
            for gone in [t for t in known if t not in current]:
                del known[gone]
            fresh = [t for t in txids if t not in known][: self.mempool_limit]
        for offset in range(0, len(fresh), self.TXS_PER_REQUEST):
            chunk = fresh[offset : offset + self.TXS_PER_REQUEST]
            decoded: dict[str, tuple[Transfer, ...]] = {}
            # The node's own clock says when it first had each transaction: that, not
            # when payram happened to look, is when the customer paid.
            entries = self.batch("getmempoolentry", [[txid] for txid in chunk])
            raw_txs = self.batch("getrawtransaction", [[txid, 1] for txid in chunk])
            for txid, (entry, entry_error), (tx, error) in zip(chunk, entries, raw_txs):
                if error is not None or entry_error is not None:
                    code = (error or entry_error).code
                    if code == RPC_INVALID_ADDRESS_OR_KEY:
                        continue  # mined or evicted since getrawmempool: the block scan has it
                    raise (error or entry_error).as_node_error("getrawtransaction" if error else "getmempoolentry")
                if not isinstance(tx, dict) or tx.get("txid") != txid:
                    raise NodeError(f"{self.where} answered getrawtransaction {txid} with another transaction")
                entered = entry.get("time") if isinstance(entry, dict) else None
                if isinstance(entered, bool) or not isinstance(entered, int) or entered < 0:
                    raise NodeError(f"{self.where} answered getmempoolentry {txid} without its entry time")
                decoded[txid] = tuple(self._outputs(tx, seen_at=entered))
            with _MEMPOOL_LOCK:
                known.update(decoded)
        with _MEMPOOL_LOCK:
            return [transfer for txid in txids for transfer in known.get(txid, ())]

    @property
    def _mempool_key(self) -> str:
        return f"{self.network.slug} {self.network.rpc_url}"

    # -- reading Core's answers -------------------------------------------------------

    def _height(self, value: Any, method: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise NodeError(f"{self.where} answered {method} with {str(value)[:40]!r} instead of a block height")
        return value

    def _hash(self, value: Any, method: str) -> str:
        if not isinstance(value, str) or not HASH_RE.match(value):
            raise NodeError(f"{self.where} answered {method} with {str(value)[:80]!r} instead of a block hash")
        return value

    def _block(self, raw: Any, block_hash: str, height: int) -> Block:
        if not isinstance(raw, dict):
            raise NodeError(f"{self.where} answered getblock {block_hash} with something other than a block")
        if raw.get("hash") != block_hash or raw.get("height") != height:
            raise NodeError(f"{self.where} answered getblock {block_hash} with another block")
        if raw.get("confirmations") == -1:
            raise NodeError(f"{self.where} switched chains while block {height} was read; it will be read again")
        parent = raw.get("previousblockhash", GENESIS_PARENT if height == 0 else None)
        parent = self._hash(parent, "getblock (previousblockhash)")
        txs = raw.get("tx")
        if not isinstance(txs, list):
            raise NodeError(f"{self.where} answered getblock {block_hash} without its transactions")
        transfers: list[Transfer] = []
        for tx in txs:
            transfers.extend(self._outputs(tx))
        return Block(
            height=height,
            hash=block_hash,
            parent_hash=parent,
            transfers=tuple(transfers),
            timestamp=self._time(raw.get("time"), block_hash, "time"),
            median_time=self._time(raw.get("mediantime"), block_hash, "mediantime"),
        )

    def _time(self, value: Any, block_hash: str, key: str) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise NodeError(f"{self.where} answered getblock {block_hash} without a valid {key} ({str(value)[:40]!r})")
        return value

    def _outputs(self, tx: Any, *, seen_at: int = 0) -> list[Transfer]:
        """Every output of a decoded transaction that pays an address (OP_RETURN and bare
        scripts have none and are skipped), its value converted to satoshi exactly. A
        coinbase transaction's outputs are marked: they mature only after 100 blocks."""
        try:
            txid = tx["txid"]
            vouts = tx["vout"]
            if not isinstance(txid, str) or not HASH_RE.match(txid) or not isinstance(vouts, list):
                raise TypeError
            vins = tx.get("vin") or []
            coinbase = bool(vins) and isinstance(vins[0], dict) and "coinbase" in vins[0]
            transfers = []
            for vout in vouts:
                address = vout["scriptPubKey"].get("address")
                if address is None:
                    continue
                index, value = vout["n"], vout["value"]
                if not isinstance(address, str) or isinstance(index, bool) or not isinstance(index, int) or index < 0:
                    raise TypeError
                transfers.append(
                    Transfer(
                        tx_hash=txid,
                        index=index,
                        to_address=address,
                        asset=self.asset,
                        value=self._satoshi(value),
                        coinbase=coinbase,
                        seen_at=seen_at,
                    )
                )
            return transfers
        except (KeyError, TypeError, AttributeError):
            shown = str(tx.get("txid"))[:64] if isinstance(tx, dict) else "?"
            raise NodeError(f"{self.where} answered transaction {shown} without the fields of a decoded transaction") from None

    def _satoshi(self, value: Any) -> int:
        # Core prints amounts as JSON numbers with 8 decimals; json.loads(parse_float=Decimal)
        # keeps them exact. A float here would mean someone parsed them lossily.
        if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
            raise NodeError(f"{self.where} sent an output value {str(value)[:40]!r} that is not a BTC amount")
        try:
            satoshi = to_base_units(value, SATOSHI_DECIMALS)
        except (ValueError, ArithmeticError):
            raise NodeError(f"{self.where} sent an output value {value} with more than 8 decimals") from None
        if not 0 <= satoshi <= MAX_MONEY:
            raise NodeError(f"{self.where} sent an output value {value} outside 0..21,000,000 BTC")
        return satoshi
