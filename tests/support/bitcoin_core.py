"""A regtest node for the tests, two ways, behind one set of controls:

- `bitcoin_core`: a small in-process server that answers JSON-RPC exactly as Bitcoin
  Core 31 does (field names and order, error codes and messages, HTTP statuses, amounts
  as JSON numbers with 8 decimals), over a real in-memory chain: transactions and blocks
  are serialized as Core would, so txids, block hashes, merkle roots, sizes, weights,
  proof of work and descriptor checksums are computed, not made up.
  The recordings in tests/fixtures/bitcoin-core/ (from shared/fixtures/) are the reference
  (tests/chain/test_bitcoin_core_fixtures.py compares the two).
- `bitcoind`: a real `bitcoind -regtest` when the environment variable BITCOIND names its
  binary; skipped otherwise.

Both are driven through the same RPCs (sendtoaddress, generatetoaddress, invalidateblock,
generateblock), so the control code the fake exercises is the code that drives the real
node. Only the fake can also answer slowly, answer malformed JSON or tamper with results.
Each fixture points PAYRAM_RPC_BITCOIN_REGTEST at its node and reloads the catalogue.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

COIN = 100_000_000
SKIP_BITCOIND = "set BITCOIND=/path/to/bitcoind to run against a real Bitcoin Core"
RPC_USER = "payram"
RPC_PASSWORD = "regtest-only-secret"
WALLET = "payer"

# -- encodings: bech32/bech32m, base58check, descriptor checksums (as Core computes them) --

BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
BECH32M_CONST = 0x2BC830A3
REGTEST_HRP = "bcrt"
P2PKH_VERSION = 0x6F  # regtest/testnet: m... / n...
P2SH_VERSION = 0xC4  # regtest/testnet: 2...
B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _bech32_polymod(values: list[int]) -> int:
    generator = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
    chk = 1
    for value in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= generator[i] if ((top >> i) & 1) else 0
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(x) >> 5 for x in hrp] + [0] + [ord(x) & 31 for x in hrp]


def _convertbits(data: bytes | list[int], frombits: int, tobits: int, pad: bool = True) -> list[int] | None:
    acc = bits = 0
    ret = []
    maxv = (1 << tobits) - 1
    for value in data:
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            ret.append((acc >> bits) & maxv)
    if pad and bits:
        ret.append((acc << (tobits - bits)) & maxv)
    elif not pad and (bits >= frombits or ((acc << (tobits - bits)) & maxv)):
        return None
    return ret


def segwit_address(version: int, program: bytes, hrp: str = REGTEST_HRP) -> str:
    data = [version] + (_convertbits(program, 8, 5) or [])
    const = 1 if version == 0 else BECH32M_CONST
    polymod = _bech32_polymod(_hrp_expand(hrp) + data + [0] * 6) ^ const
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH32_CHARSET[d] for d in data + checksum)


def decode_segwit_address(address: str, hrp: str = REGTEST_HRP) -> tuple[int, bytes] | None:
    if address.lower() != address and address.upper() != address:
        return None
    address = address.lower()
    pos = address.rfind("1")
    if address[:pos] != hrp or pos + 7 > len(address) or any(c not in BECH32_CHARSET for c in address[pos + 1 :]):
        return None
    data = [BECH32_CHARSET.find(c) for c in address[pos + 1 :]]
    const = _bech32_polymod(_hrp_expand(hrp) + data)
    version = data[0]
    if const != (1 if version == 0 else BECH32M_CONST):
        return None
    program = _convertbits(data[1:-6], 5, 8, pad=False)
    if program is None or not 2 <= len(program) <= 40 or version > 16:
        return None
    if version == 0 and len(program) not in (20, 32):
        return None
    return version, bytes(program)


def sha256d(data: bytes) -> bytes:
    return hashlib.sha256(hashlib.sha256(data).digest()).digest()


def base58check(version: int, payload: bytes) -> str:
    raw = bytes([version]) + payload
    raw += sha256d(raw)[:4]
    n = int.from_bytes(raw, "big")
    out = ""
    while n:
        n, rem = divmod(n, 58)
        out = B58_ALPHABET[rem] + out
    return "1" * (len(raw) - len(raw.lstrip(b"\0"))) + out


def decode_base58check(address: str) -> tuple[int, bytes] | None:
    n = 0
    for c in address:
        if c not in B58_ALPHABET:
            return None
        n = n * 58 + B58_ALPHABET.index(c)
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    raw = b"\0" * (len(address) - len(address.lstrip("1"))) + raw
    if len(raw) != 25 or sha256d(raw[:-4])[:4] != raw[-4:]:
        return None
    return raw[0], raw[1:-4]


_DESC_INPUT = "0123456789()[],'/*abcdefgh@:$%{}IJKLMNOPQRSTUVWXYZ&+-.;<=>?!^_|~ijklmnopqrstuvwxyzABCDEFGH`#\"\\ "
_DESC_GENERATOR = [0xF5DEE51989, 0xA9FDCA3312, 0x1BAB10E32D, 0x3706B1677A, 0x644D626FFD]


def descriptor(text: str) -> str:
    """`text#checksum`, Core's descriptor checksum."""
    symbols: list[int] = []
    groups: list[int] = []
    for c in text:
        v = _DESC_INPUT.find(c)
        symbols.append(v & 31)
        groups.append(v >> 5)
        if len(groups) == 3:
            symbols.append(groups[0] * 9 + groups[1] * 3 + groups[2])
            groups = []
    if len(groups) == 1:
        symbols.append(groups[0])
    elif len(groups) == 2:
        symbols.append(groups[0] * 3 + groups[1])
    chk = 1
    for value in symbols + [0] * 8:
        top = chk >> 35
        chk = (chk & 0x7FFFFFFFF) << 5 ^ value
        for i in range(5):
            chk ^= _DESC_GENERATOR[i] if ((top >> i) & 1) else 0
    chk ^= 1
    return text + "#" + "".join(BECH32_CHARSET[(chk >> (5 * (7 - i))) & 31] for i in range(8))


def script_for_address(address: str) -> bytes:
    """The scriptPubKey paying a regtest address; ValueError for anything else."""
    segwit = decode_segwit_address(address)
    if segwit:
        version, program = segwit
        return bytes([0x50 + version if version else 0, len(program)]) + program
    decoded = decode_base58check(address)
    if decoded and decoded[0] == P2PKH_VERSION:
        return b"\x76\xa9\x14" + decoded[1] + b"\x88\xac"
    if decoded and decoded[0] == P2SH_VERSION:
        return b"\xa9\x14" + decoded[1] + b"\x87"
    raise ValueError(f"not a regtest address: {address!r}")


def random_address(kind: str = "p2wpkh") -> str:
    """A fresh regtest address nobody holds the key of (valid for Core too)."""
    if kind == "p2wpkh":
        return segwit_address(0, secrets.token_bytes(20))
    if kind == "p2tr":
        return segwit_address(1, secrets.token_bytes(32))
    if kind == "p2pkh":
        return base58check(P2PKH_VERSION, secrets.token_bytes(20))
    if kind == "p2sh":
        return base58check(P2SH_VERSION, secrets.token_bytes(20))
    raise ValueError(kind)


def script_json(script: bytes) -> dict[str, Any]:
    """scriptPubKey as Core's ScriptToUniv: asm, desc, hex, address (when there is one), type."""
    h = script.hex()
    if len(script) == 22 and script[:2] == b"\x00\x14":
        address = segwit_address(0, script[2:])
        return {
            "asm": f"0 {script[2:].hex()}",
            "desc": descriptor(f"addr({address})"),
            "hex": h,
            "address": address,
            "type": "witness_v0_keyhash",
        }
    if len(script) == 34 and script[:2] == b"\x00\x20":
        address = segwit_address(0, script[2:])
        return {
            "asm": f"0 {script[2:].hex()}",
            "desc": descriptor(f"addr({address})"),
            "hex": h,
            "address": address,
            "type": "witness_v0_scripthash",
        }
    if len(script) == 34 and script[:2] == b"\x51\x20":
        address = segwit_address(1, script[2:])
        return {
            "asm": f"1 {script[2:].hex()}",
            "desc": descriptor(f"rawtr({script[2:].hex()})"),
            "hex": h,
            "address": address,
            "type": "witness_v1_taproot",
        }
    if len(script) == 25 and script[:3] == b"\x76\xa9\x14" and script[23:] == b"\x88\xac":
        address = base58check(P2PKH_VERSION, script[3:23])
        return {
            "asm": f"OP_DUP OP_HASH160 {script[3:23].hex()} OP_EQUALVERIFY OP_CHECKSIG",
            "desc": descriptor(f"addr({address})"),
            "hex": h,
            "address": address,
            "type": "pubkeyhash",
        }
    if len(script) == 23 and script[:2] == b"\xa9\x14" and script[22:] == b"\x87":
        address = base58check(P2SH_VERSION, script[2:22])
        return {
            "asm": f"OP_HASH160 {script[2:22].hex()} OP_EQUAL",
            "desc": descriptor(f"addr({address})"),
            "hex": h,
            "address": address,
            "type": "scripthash",
        }
    if len(script) in (35, 67) and script[0] == len(script) - 2 and script[-1] == 0xAC:
        key = script[1:-1].hex()
        return {"asm": f"{key} OP_CHECKSIG", "desc": descriptor(f"pk({key})"), "hex": h, "type": "pubkey"}
    if script[:1] == b"\x6a":
        data = script[2:] if len(script) > 1 else b""
        asm = f"OP_RETURN {data.hex()}" if data else "OP_RETURN"
        return {"asm": asm, "desc": descriptor(f"raw({h})"), "hex": h, "type": "nulldata"}
    return {"asm": h, "desc": descriptor(f"raw({h})"), "hex": h, "type": "nonstandard"}


# -- Core's JSON: compact, amounts with 8 decimals, a trailing newline ------------------


class Amount(int):
    """Satoshi, written as Core writes BTC amounts: 0.50000000."""


class RawNumber(str):
    """A number literal written verbatim (Core's doubles, e.g. regtest difficulty)."""


def core_json(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, Amount):
        sign = "-" if value < 0 else ""
        whole, frac = divmod(abs(int(value)), COIN)
        return f"{sign}{whole}.{frac:08d}"
    if isinstance(value, RawNumber):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (Decimal, float)):
        return str(value)  # only from tests' tamper(): Core itself writes Amounts
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{core_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(core_json(v) for v in value) + "]"
    raise TypeError(f"cannot write {type(value).__name__} as Core JSON")


# -- transactions and blocks, serialized as on the wire -------------------------------


def varint(n: int) -> bytes:
    if n < 0xFD:
        return bytes([n])
    if n <= 0xFFFF:
        return b"\xfd" + n.to_bytes(2, "little")
    if n <= 0xFFFFFFFF:
        return b"\xfe" + n.to_bytes(4, "little")
    return b"\xff" + n.to_bytes(8, "little")


def push_data(data: bytes) -> bytes:
    assert len(data) < 0x4C
    return bytes([len(data)]) + data


def script_num(n: int) -> bytes:
    """BIP34 height push as CScript() << nHeight writes it."""
    if n == 0:
        return b"\x00"
    if 1 <= n <= 16:
        return bytes([0x50 + n])
    body = bytearray()
    while n:
        body.append(n & 0xFF)
        n >>= 8
    if body[-1] & 0x80:
        body.append(0)
    return push_data(bytes(body))


@dataclass
class TxIn:
    prev_txid: str | None  # None: coinbase
    vout: int
    script_sig: bytes = b""
    witness: list[bytes] = field(default_factory=list)
    sequence: int = 0xFFFFFFFD
    prevout: tuple[bool, int, int, bytes] | None = None  # (generated, height, satoshi, scriptPubKey) of the coin spent
    # height -1: the coin's transaction was unconfirmed when spent; its block tells


@dataclass
class Tx:
    vin: list[TxIn]
    vout: list[tuple[int, bytes]]  # (satoshi, scriptPubKey)
    locktime: int = 0
    version: int = 2
    fee: int | None = None  # satoshi; None for a coinbase
    time: int = 0  # when it entered the mempool
    entry_height: int = 0

    def serialize(self, with_witness: bool = True) -> bytes:
        witness = with_witness and any(i.witness for i in self.vin)
        out = self.version.to_bytes(4, "little")
        if witness:
            out += b"\x00\x01"
        out += varint(len(self.vin))
        for i in self.vin:
            prev = bytes(32)[::-1] if i.prev_txid is None else bytes.fromhex(i.prev_txid)[::-1]
            index = 0xFFFFFFFF if i.prev_txid is None else i.vout
            out += (
                prev + index.to_bytes(4, "little") + varint(len(i.script_sig)) + i.script_sig + i.sequence.to_bytes(4, "little")
            )
        out += varint(len(self.vout))
        for value, script in self.vout:
            out += value.to_bytes(8, "little") + varint(len(script)) + script
        if witness:
            for i in self.vin:
                out += varint(len(i.witness)) + b"".join(varint(len(w)) + w for w in i.witness)
        return out + self.locktime.to_bytes(4, "little")

    @property
    def is_coinbase(self) -> bool:
        return self.vin[0].prev_txid is None

    @property
    def txid(self) -> str:
        return sha256d(self.serialize(False))[::-1].hex()

    @property
    def wtxid(self) -> str:
        return sha256d(self.serialize(True))[::-1].hex()

    @property
    def size(self) -> int:
        return len(self.serialize(True))

    @property
    def weight(self) -> int:
        return len(self.serialize(False)) * 3 + self.size

    @property
    def vsize(self) -> int:
        return (self.weight + 3) // 4

    def to_json(
        self, *, with_fee: bool, with_prevout: bool = False, coin_height: Callable[[TxIn], int] | None = None
    ) -> dict[str, Any]:
        """Core's TxToUniv; fee and prevouts where Core has the block's undo data."""
        vin = []
        for i in self.vin:
            if i.prev_txid is None:
                entry: dict[str, Any] = {"coinbase": i.script_sig.hex()}
            else:
                entry = {"txid": i.prev_txid, "vout": i.vout, "scriptSig": {"asm": "", "hex": i.script_sig.hex()}}
            if i.witness:
                entry["txinwitness"] = [w.hex() for w in i.witness]
            if with_prevout and i.prevout is not None:
                generated, height, value, script = i.prevout
                height = coin_height(i) if coin_height else height
                entry["prevout"] = {
                    "generated": generated,
                    "height": height,
                    "value": Amount(value),
                    "scriptPubKey": script_json(script),
                }
            entry["sequence"] = i.sequence
            vin.append(entry)
        out: dict[str, Any] = {
            "txid": self.txid,
            "hash": self.wtxid,
            "version": self.version,
            "size": self.size,
            "vsize": self.vsize,
            "weight": self.weight,
            "locktime": self.locktime,
            "vin": vin,
            "vout": [{"value": Amount(v), "n": n, "scriptPubKey": script_json(s)} for n, (v, s) in enumerate(self.vout)],
        }
        if with_fee and self.fee is not None:
            out["fee"] = Amount(self.fee)
        out["hex"] = self.serialize(True).hex()
        return out


def merkle_root(hashes: list[bytes]) -> bytes:
    level = list(hashes)
    while len(level) > 1:
        if len(level) % 2:
            level.append(level[-1])
        level = [sha256d(level[i] + level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


REGTEST_BITS = 0x207FFFFF
REGTEST_TARGET = 0x7FFFFF << (8 * (0x20 - 3))
REGTEST_DIFFICULTY = RawNumber("4.656542373906925e-10")
BLOCK_VERSION = 0x20000000


@dataclass
class FakeBlock:
    height: int
    parent: str
    txs: list[Tx]
    time: int
    version: int = BLOCK_VERSION
    nonce: int = 0
    hash: str = ""
    merkleroot: str = ""

    def header(self) -> bytes:
        return (
            self.version.to_bytes(4, "little")
            + bytes.fromhex(self.parent)[::-1]
            + bytes.fromhex(self.merkleroot)[::-1]
            + self.time.to_bytes(4, "little")
            + REGTEST_BITS.to_bytes(4, "little")
            + self.nonce.to_bytes(4, "little")
        )

    def seal(self) -> FakeBlock:
        """Merkle root, then proof of work at regtest difficulty, as Core's miner does."""
        self.merkleroot = merkle_root([bytes.fromhex(t.txid)[::-1] for t in self.txs])[::-1].hex()
        while True:
            digest = sha256d(self.header())
            if int.from_bytes(digest, "little") <= REGTEST_TARGET:
                self.hash = digest[::-1].hex()
                return self
            self.nonce += 1

    def serialize(self, with_witness: bool = True) -> bytes:
        return self.header() + varint(len(self.txs)) + b"".join(t.serialize(with_witness) for t in self.txs)


def genesis_block() -> FakeBlock:
    """Regtest's genesis block, byte for byte (hash 0f9188f1...)."""
    message = b"The Times 03/Jan/2009 Chancellor on brink of second bailout for banks"
    script_sig = bytes.fromhex("04ffff001d0104") + push_data(message)
    key = bytes.fromhex(
        "04678afdb0fe5548271967f1a67130b7105cd6a828e03909a67962e0ea1f61deb649f6bc3f4cef38c4f35504e51ec112de5c384df7ba0b8d578a4c702b6bf11d5f"
    )
    coinbase = Tx(
        vin=[TxIn(None, 0, script_sig, [], 0xFFFFFFFF)], vout=[(50 * COIN, push_data(key) + b"\xac")], locktime=0, version=1
    )
    block = FakeBlock(0, "0" * 64, [coinbase], time=1296688602, version=1, nonce=2)
    block.merkleroot = merkle_root([bytes.fromhex(coinbase.txid)[::-1]])[::-1].hex()
    block.hash = sha256d(block.header())[::-1].hex()
    return block


class RpcFailure(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


TX_NOT_FOUND = "No such mempool or blockchain transaction. Use gettransaction for wallet transactions."


def _http_status_for(code: int) -> int:
    """Legacy (JSON-RPC 1.0) status codes, as Core's JSONErrorReply picks them."""
    return {-32600: 400, -32601: 404}.get(code, 500)


def _hex_hash(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise RpcFailure(-3, f"JSON value of type {_json_type(value)} is not of expected type string")
    if len(value) != 64:
        raise RpcFailure(-8, f"{name} must be of length 64 (not {len(value)}, for '{value}')")
    if any(c not in "0123456789abcdefABCDEF" for c in value):
        raise RpcFailure(-8, f"{name} must be hexadecimal string (not '{value}')")
    return value.lower()


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float, Decimal)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _int_param(value: Any) -> int:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, Decimal))
        or (isinstance(value, Decimal) and value != value.to_integral_value())
    ):
        raise RpcFailure(-3, f"JSON value of type {_json_type(value)} is not of expected type number")
    return int(value)


def _amount_param(value: Any) -> int:
    try:
        amount = Decimal(str(value))
    except Exception:
        raise RpcFailure(-3, "Invalid amount") from None
    if amount <= 0:
        raise RpcFailure(-3, "Amount out of range")
    satoshi = amount.scaleb(8)
    if satoshi != satoshi.to_integral_value():
        raise RpcFailure(-3, "Invalid amount")
    return int(satoshi)


class FakeChain:
    """The in-memory node: a block tree with one active chain, a mempool and a txindex."""

    FEE_RATE = 20  # sat/vB, the fixtures' payer wallet rate

    def __init__(self) -> None:
        genesis = genesis_block()
        self.lock = threading.RLock()
        self.blocks: dict[str, FakeBlock] = {genesis.hash: genesis}
        self.active: list[str] = [genesis.hash]
        self.invalid: set[str] = set()
        self.mempool: dict[str, Tx] = {}
        self.wallet_addresses: list[str] = []
        self.change_coins: list[tuple[str, int, int, bytes]] = []  # (txid, n, satoshi, script) the wallet may spend
        self.clock = 0
        self.extra_nonce = 0

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        del state["lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.lock = threading.RLock()

    # state
    @property
    def height(self) -> int:
        return len(self.active) - 1

    @property
    def tip(self) -> FakeBlock:
        return self.blocks[self.active[-1]]

    def in_active_chain(self, block: FakeBlock) -> bool:
        return block.height < len(self.active) and self.active[block.height] == block.hash

    def confirmations(self, block: FakeBlock) -> int:
        return self.height - block.height + 1 if self.in_active_chain(block) else -1

    def mediantime(self, block: FakeBlock) -> int:
        times, cursor = [], block
        for _ in range(11):
            times.append(cursor.time)
            if cursor.height == 0:
                break
            cursor = self.blocks[cursor.parent]
        return sorted(times)[len(times) // 2]

    def find_tx(self, txid: str) -> tuple[Tx, FakeBlock | None] | None:
        """txindex: the active chain's transaction, else the mempool's."""
        for block_hash in reversed(self.active):
            for tx in self.blocks[block_hash].txs:
                if tx.txid == txid:
                    return tx, self.blocks[block_hash]
        if txid in self.mempool:
            return self.mempool[txid], None
        return None

    # changes (what sendtoaddress, generatetoaddress, invalidateblock do)
    def next_extra_nonce(self) -> int:
        self.extra_nonce = getattr(self, "extra_nonce", 0) + 1
        return self.extra_nonce

    def tick(self) -> int:
        """Now, as a real node's clock says it (never backwards): mempool entry times and,
        kept above the median time past, block times follow the wall clock as on Core."""
        self.clock = max(self.clock, int(time.time()))
        return self.clock

    def new_wallet_address(self, kind: str = "p2wpkh") -> str:
        address = random_address(kind)
        self.wallet_addresses.append(address)
        return address

    def send(self, outputs: dict[str, int]) -> str:
        """A wallet payment as Core's wallet makes it: one input (the change of the wallet's
        last unconfirmed payment when it covers this one, else a confirmed 20 BTC coin),
        the outputs asked for, and change at a random position, bech32m when paying a
        taproot address. Fee at 20 sat/vB, like the recordings'."""
        with self.lock:
            scripts = [(value, script_for_address(address)) for address, value in outputs.items()]
            taproot = any(script[:2] == b"\x51\x20" for _, script in scripts)
            change_script = script_for_address(self.new_wallet_address("p2tr" if taproot else "p2wpkh"))
            witness = [secrets.token_bytes(71), b"\x02" + secrets.token_bytes(32)]
            wanted = sum(value for value, _ in scripts) + 100_000
            parent = next((c for c in reversed(self.change_coins) if c[0] in self.mempool and c[2] >= wanted + 100_000), None)
            if parent is not None:
                self.change_coins.remove(parent)
                txid, n, coin, coin_script = parent
                spent = TxIn(txid, n, b"", witness, prevout=(False, -1, coin, coin_script))
            else:
                coin = 20 * COIN if wanted < 20 * COIN else wanted + COIN
                coin_script = script_for_address(self.new_wallet_address())
                spent = TxIn(secrets.token_hex(32), 1, b"", witness, prevout=(False, self.height, coin, coin_script))
            position = secrets.randbelow(len(scripts) + 1)
            vout = list(scripts)
            vout.insert(position, (0, change_script))
            tx = Tx(vin=[spent], vout=vout, locktime=self.height, time=self.tick(), entry_height=self.height)
            tx.fee = tx.vsize * self.FEE_RATE
            tx.vout[position] = (coin - sum(value for value, _ in scripts) - tx.fee, change_script)
            self.mempool[tx.txid] = tx
            self.change_coins.append((tx.txid, position, tx.vout[position][0], change_script))
            return tx.txid

    def coin_height(self, txin: TxIn) -> int:
        """The height of the block holding the coin an input spends."""
        assert txin.prevout is not None
        if txin.prevout[1] >= 0:
            return txin.prevout[1]
        found = self.find_tx(txin.prev_txid or "")
        return found[1].height if found and found[1] is not None else -1

    def mempool_parents(self, tx: Tx) -> list[str]:
        return [i.prev_txid for i in tx.vin if i.prev_txid in self.mempool]

    def mempool_children(self, txid: str) -> list[str]:
        return [other for other, t in self.mempool.items() if any(i.prev_txid == txid for i in t.vin)]

    def _closure(self, txid: str, step: Callable[[str], list[str]]) -> list[str]:
        seen: list[str] = []
        todo = step(txid)
        while todo:
            current = todo.pop()
            if current not in seen:
                seen.append(current)
                todo.extend(step(current))
        return seen

    def ancestors(self, txid: str) -> list[str]:
        return self._closure(txid, lambda t: self.mempool_parents(self.mempool[t]))

    def descendants(self, txid: str) -> list[str]:
        return self._closure(txid, self.mempool_children)

    def evict(self, txid: str) -> None:
        """Remove a transaction and everything spending it from the mempool."""
        with self.lock:
            for gone in [txid, *self.descendants(txid)] if txid in self.mempool else []:
                self.mempool.pop(gone, None)

    def mine(self, address: str, txids: list[str] | None = None) -> FakeBlock:
        """A block on the tip holding the given mempool transactions (all when None)."""
        with self.lock:
            chosen = list(self.mempool) if txids is None else txids
            txs = [self.mempool.pop(t) for t in chosen]
            height = self.height + 1
            subsidy = (50 * COIN) >> (height // 150)
            fees = sum(t.fee or 0 for t in txs)
            witness_root = merkle_root([bytes(32)] + [bytes.fromhex(t.wtxid)[::-1] for t in txs])
            commitment = b"\x6a\x24\xaa\x21\xa9\xed" + sha256d(witness_root + bytes(32))
            coinbase = Tx(
                # An extra nonce, as Core's miner adds: a block mined again at a height in the
                # same second is still a new block.
                vin=[TxIn(None, 0, script_num(height) + script_num(self.next_extra_nonce()), [bytes(32)], 0xFFFFFFFE)],
                vout=[(subsidy + fees, script_for_address(address)), (0, commitment)],
                locktime=height - 1,
            )
            block = FakeBlock(
                height, self.tip.hash, [coinbase, *txs], time=max(self.tick(), self.mediantime(self.tip) + 1)
            ).seal()
            self.blocks[block.hash] = block
            self.active.append(block.hash)
            return block

    def invalidate(self, block_hash: str) -> None:
        """invalidateblock: the block and its descendants leave the active chain; their
        transactions go back to the mempool."""
        with self.lock:
            block = self.blocks[block_hash]
            self.invalid.add(block_hash)
            if not self.in_active_chain(block):
                return
            removed = self.active[block.height :]
            del self.active[block.height :]
            for stale in removed:
                self.invalid.add(stale)
                for tx in self.blocks[stale].txs[1:]:
                    self.mempool[tx.txid] = tx


class CoreRpc:
    """JSON-RPC methods answered as Core 31 answers them."""

    def __init__(self, chain: FakeChain) -> None:
        self.chain = chain
        self.stopping = False  # `stop` was called (only the stand-in process acts on it)

    def dispatch(self, method: str, params: list[Any], wallet: str | None) -> Any:
        handler = getattr(self, f"rpc_{method}", None)
        if handler is None:
            raise RpcFailure(-32601, "Method not found")
        # One wallet is loaded, so like Core its RPCs also answer at "/".
        if method in WALLET_METHODS and wallet not in (None, WALLET):
            raise RpcFailure(-18, "Requested wallet does not exist or is not loaded")
        try:
            inspect.signature(handler).bind(*params)
        except TypeError:
            raise RpcFailure(-1, f"{method} called with {len(params)} parameters; see help {method}") from None
        with self.chain.lock:
            return handler(*params)

    # blockchain
    def rpc_getblockcount(self) -> int:
        return self.chain.height

    def rpc_getbestblockhash(self) -> str:
        return self.chain.tip.hash

    def rpc_getblockhash(self, height: Any = None) -> str:
        height = _int_param(height)
        if not 0 <= height <= self.chain.height:
            raise RpcFailure(-8, "Block height out of range")
        return self.chain.active[height]

    def _block(self, block_hash: Any) -> FakeBlock:
        block = self.chain.blocks.get(_hex_hash(block_hash, "blockhash"))
        if block is None:
            raise RpcFailure(-5, "Block not found")
        return block

    def _header_json(self, block: FakeBlock) -> dict[str, Any]:
        out: dict[str, Any] = {
            "hash": block.hash,
            "confirmations": self.chain.confirmations(block),
            "height": block.height,
            "version": block.version,
            "versionHex": f"{block.version:08x}",
            "merkleroot": block.merkleroot,
            "time": block.time,
            "mediantime": self.chain.mediantime(block),
            "nonce": block.nonce,
            "bits": f"{REGTEST_BITS:08x}",
            "target": f"{REGTEST_TARGET:064x}",
            "difficulty": REGTEST_DIFFICULTY,
            "chainwork": f"{2 * (block.height + 1):064x}",
            "nTx": len(block.txs),
        }
        if block.height > 0:
            out["previousblockhash"] = block.parent
        if self.chain.in_active_chain(block) and block.height < self.chain.height:
            out["nextblockhash"] = self.chain.active[block.height + 1]
        return out

    def rpc_getblockheader(self, block_hash: Any = None, verbose: Any = True) -> Any:
        block = self._block(block_hash)
        return self._header_json(block) if verbose else block.header().hex()

    def rpc_getblock(self, block_hash: Any = None, verbosity: Any = 1) -> Any:
        block = self._block(block_hash)
        verbosity = int(verbosity) if isinstance(verbosity, bool) else _int_param(verbosity)
        if verbosity <= 0:
            return block.serialize().hex()
        out = self._header_json(block)
        out["strippedsize"] = len(block.serialize(False))
        out["size"] = len(block.serialize(True))
        out["weight"] = out["strippedsize"] * 3 + out["size"]
        if block.height > 0:
            coinbase = block.txs[0]
            out["coinbase_tx"] = {
                "version": coinbase.version,
                "locktime": coinbase.locktime,
                "sequence": coinbase.vin[0].sequence,
                "coinbase": coinbase.vin[0].script_sig.hex(),
                "witness": coinbase.vin[0].witness[0].hex(),
            }
        if verbosity == 1:
            out["tx"] = [t.txid for t in block.txs]
        else:
            out["tx"] = [
                t.to_json(with_fee=True, with_prevout=verbosity >= 3, coin_height=self.chain.coin_height) for t in block.txs
            ]
        return out

    def rpc_getblockchaininfo(self) -> dict[str, Any]:
        tip = self.chain.tip
        return {
            "chain": "regtest",
            "blocks": self.chain.height,
            "headers": self.chain.height,
            "bestblockhash": tip.hash,
            "bits": f"{REGTEST_BITS:08x}",
            "target": f"{REGTEST_TARGET:064x}",
            "difficulty": REGTEST_DIFFICULTY,
            "time": tip.time,
            "mediantime": self.chain.mediantime(tip),
            "verificationprogress": 1,
            "initialblockdownload": False,
            "chainwork": f"{2 * (tip.height + 1):064x}",
            "size_on_disk": 293 + sum(len(self.chain.blocks[h].serialize()) + 8 for h in self.chain.active),
            "pruned": False,
            "warnings": [],
        }

    def rpc_getnetworkinfo(self) -> dict[str, Any]:
        networks = [
            {
                "name": name,
                "limited": name not in ("ipv4", "ipv6"),
                "reachable": name in ("ipv4", "ipv6"),
                "proxy": "",
                "proxy_randomize_credentials": False,
            }
            for name in ("ipv4", "ipv6", "onion", "i2p", "cjdns")
        ]
        return {
            "version": 310000,
            "subversion": "/Satoshi:31.0.0/",
            "protocolversion": 70016,
            "localservices": "0000000000000c09",
            "localservicesnames": ["NETWORK", "WITNESS", "NETWORK_LIMITED", "P2P_V2"],
            "localrelay": True,
            "timeoffset": 0,
            "networkactive": True,
            "connections": 0,
            "connections_in": 0,
            "connections_out": 0,
            "networks": networks,
            "relayfee": Amount(100),
            "incrementalfee": Amount(100),
            "localaddresses": [],
            "warnings": [],
        }

    def rpc_getchaintips(self) -> list[dict[str, Any]]:
        tips = [{"height": self.chain.height, "hash": self.chain.tip.hash, "branchlen": 0, "status": "active"}]
        parents = {b.parent for b in self.chain.blocks.values()}
        for block in self.chain.blocks.values():
            if block.hash not in parents and not self.chain.in_active_chain(block):
                fork = block
                while not self.chain.in_active_chain(fork):
                    fork = self.chain.blocks[fork.parent]
                status = "invalid" if block.hash in self.chain.invalid else "valid-fork"
                tips.append(
                    {"height": block.height, "hash": block.hash, "branchlen": block.height - fork.height, "status": status}
                )
        return tips

    # mempool and transactions
    def rpc_getrawmempool(self, verbose: Any = False, mempool_sequence: Any = False) -> Any:
        if verbose:
            return {txid: self._mempool_entry(tx) for txid, tx in self.chain.mempool.items()}
        return list(self.chain.mempool)

    def _mempool_entry(self, tx: Tx) -> dict[str, Any]:
        pool = self.chain.mempool
        ancestors = [tx] + [pool[t] for t in self.chain.ancestors(tx.txid)]
        descendants = [tx] + [pool[t] for t in self.chain.descendants(tx.txid)]
        fee = Amount(tx.fee or 0)
        return {
            "vsize": tx.vsize,
            "weight": tx.weight,
            "time": tx.time,
            "height": tx.entry_height,
            "descendantcount": len(descendants),
            "descendantsize": sum(t.vsize for t in descendants),
            "ancestorcount": len(ancestors),
            "ancestorsize": sum(t.vsize for t in ancestors),
            "wtxid": tx.wtxid,
            "chunkweight": tx.weight,
            "fees": {
                "base": fee,
                "modified": fee,
                "ancestor": Amount(sum(t.fee or 0 for t in ancestors)),
                "descendant": Amount(sum(t.fee or 0 for t in descendants)),
                "chunk": fee,
            },
            "depends": self.chain.mempool_parents(tx),
            "spentby": self.chain.mempool_children(tx.txid),
            "bip125-replaceable": True,
            "unbroadcast": True,
        }

    def rpc_getmempoolentry(self, txid: Any = None) -> dict[str, Any]:
        tx = self.chain.mempool.get(_hex_hash(txid, "parameter 1"))
        if tx is None:
            raise RpcFailure(-5, "Transaction not in mempool")
        return self._mempool_entry(tx)

    def rpc_getrawtransaction(self, txid: Any = None, verbosity: Any = 0, block_hash: Any = None) -> Any:
        txid = _hex_hash(txid, "parameter 1")
        verbosity = int(verbosity) if isinstance(verbosity, bool) else _int_param(verbosity)
        if block_hash is not None:
            block = self._block(block_hash) if block_hash in self.chain.blocks else None
            if block is None:
                raise RpcFailure(-5, "Block hash not found")
            tx = next((t for t in block.txs if t.txid == txid), None)
            if tx is None:
                raise RpcFailure(
                    -5, "No such transaction found in the provided block. Use gettransaction for wallet transactions."
                )
        else:
            found = self.chain.find_tx(txid)
            if found is None:
                raise RpcFailure(-5, TX_NOT_FOUND)
            tx, block = found
        if verbosity == 0:
            return tx.serialize().hex()
        # Verbosity 2 adds fee and prevouts from the block's undo data: none in the mempool.
        undo = verbosity >= 2 and block is not None
        body = tx.to_json(with_fee=undo, with_prevout=undo, coin_height=self.chain.coin_height)
        if block is None:
            return body
        out: dict[str, Any] = {"in_active_chain": self.chain.in_active_chain(block)} if block_hash is not None else {}
        out.update(body)
        out["blockhash"] = block.hash
        if self.chain.in_active_chain(block):
            out.update({"confirmations": self.chain.confirmations(block), "time": block.time, "blocktime": block.time})
        else:
            out["confirmations"] = 0
        return out

    # mining and control (what the tests' controls call)
    def rpc_generatetoaddress(self, nblocks: Any = None, address: Any = None, maxtries: Any = None) -> list[str]:
        script_address = self._address(address)
        return [self.chain.mine(script_address).hash for _ in range(_int_param(nblocks))]

    def rpc_generateblock(self, output: Any = None, transactions: Any = None) -> dict[str, str]:
        address = self._address(output)
        txids = [_hex_hash(t, "txid") for t in (transactions or [])]
        for txid in txids:
            if txid not in self.chain.mempool:
                raise RpcFailure(-5, f"Transaction {txid} not in mempool.")
        return {"hash": self.chain.mine(address, txids).hash}

    def rpc_invalidateblock(self, block_hash: Any = None) -> None:
        self.chain.invalidate(self._block(block_hash).hash)

    def _address(self, address: Any) -> str:
        try:
            script_for_address(str(address))
        except ValueError:
            raise RpcFailure(-5, "Invalid address") from None
        return str(address)

    # wallet (one wallet, "payer", with unlimited funds)
    def rpc_getnewaddress(self, label: Any = "", address_type: Any = None) -> str:
        return self.chain.new_wallet_address()

    def rpc_sendtoaddress(self, address: Any = None, amount: Any = None, *rest: Any) -> str:
        return self.chain.send({self._address(address): _amount_param(amount)})

    def rpc_sendmany(self, dummy: Any = "", amounts: Any = None, *rest: Any) -> str:
        if not isinstance(amounts, dict) or not amounts:
            raise RpcFailure(-8, "Invalid parameter, amounts must be a non-empty object")
        return self.chain.send({self._address(a): _amount_param(v) for a, v in amounts.items()})

    def rpc_createwallet(self, wallet_name: Any = None, *rest: Any) -> dict[str, Any]:
        return {"name": wallet_name}

    def rpc_stop(self) -> str:
        self.stopping = True
        return "Bitcoin Core stopping"


WALLET_METHODS = {"getnewaddress", "sendtoaddress", "sendmany"}


class FakeBitcoinCore:
    """The test server: Core's HTTP JSON-RPC over a FakeChain, with test-only modes."""

    def __init__(self, user: str = RPC_USER, password: str = RPC_PASSWORD) -> None:
        self.chain = FakeChain()
        self.rpc = CoreRpc(self.chain)
        self.user, self.password = user, password
        self.cookie = "__cookie__:" + secrets.token_hex(32)
        self.slow_seconds = 0.0  # answer after this long (a node that hangs)
        self.malformed = False  # answer bodies that are not JSON
        self.tampers: dict[str, Callable[[Any], Any]] = {}  # method -> rewrite of its result
        self.http_requests: list[list[str]] = []  # the methods of each HTTP request, in order
        self.client_connections: set[tuple[str, int]] = set()  # the TCP connections clients opened
        self.open_sockets: set[socket.socket] = set()  # closed by stop(), as a stopping node does
        self.port = _free_port()
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.user}:{self.password}@127.0.0.1:{self.port}"

    @property
    def cookie_url(self) -> str:
        return f"http://{self.cookie}@127.0.0.1:{self.port}"

    def start(self) -> None:
        if self._server is not None:
            return
        handler = type("Handler", (_CoreHandler,), {"node": self})
        server = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        server.daemon_threads = True
        self._server = server
        threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name=f"fake-bitcoind-{self.port}", daemon=True
        ).start()

    def stop(self) -> None:
        """Like a node that went down: open (keep-alive) connections are closed and new
        ones refused until start()."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for sock in list(self.open_sockets):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.open_sockets.clear()

    def authorized(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        try:
            given = base64.b64decode(header[6:], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return False
        return secrets.compare_digest(given, f"{self.user}:{self.password}") or secrets.compare_digest(given, self.cookie)

    def answer(self, body: bytes, wallet: str | None) -> tuple[int, str]:
        """HTTP status and body for a POSTed JSON-RPC request or batch."""
        try:
            request = json.loads(body, parse_float=Decimal)
        except ValueError:
            return 500, core_json({"result": None, "error": {"code": -32700, "message": "Parse error"}, "id": None}) + "\n"
        if isinstance(request, list):
            self.http_requests.append([r.get("method") if isinstance(r, dict) else None for r in request])
            replies = [self._reply(r, wallet, in_batch=True) for r in request]
            return 200, core_json([r for _, r in replies if r is not None]) + "\n"
        self.http_requests.append([request.get("method") if isinstance(request, dict) else None])
        status, reply = self._reply(request, wallet, in_batch=False)
        if reply is None:
            return 204, ""  # a JSON-RPC 2.0 notification: Core runs it and answers nothing
        return status, core_json(reply) + "\n"

    def _reply(self, request: Any, wallet: str | None, in_batch: bool) -> tuple[int, Any]:
        if not isinstance(request, dict):
            return 400, {"result": None, "error": {"code": -32600, "message": "Invalid Request object"}, "id": None}
        version2 = request.get("jsonrpc") == "2.0"
        request_id = request.get("id")
        method = request.get("method")
        params = request.get("params", [])
        try:
            if not isinstance(method, str):
                raise RpcFailure(-32600, "Method must be a string")
            if isinstance(params, dict):
                raise RpcFailure(-32600, "Named parameters are not supported by this test server")
            if not isinstance(params, list):
                raise RpcFailure(-32600, "Params must be an array or object")
            result = self.rpc.dispatch(method, params, wallet)
            if method in self.tampers:
                result = self.tampers[method](result)
            if version2 and "id" not in request:
                return 204, None
        except RpcFailure as failure:
            error = {"code": failure.code, "message": failure.message}
            if version2:
                return 200, {"jsonrpc": "2.0", "error": error, "id": request_id}
            return (200 if in_batch else _http_status_for(failure.code)), {"result": None, "error": error, "id": request_id}
        if version2:
            return 200, {"jsonrpc": "2.0", "result": result, "id": request_id}
        return 200, {"result": result, "error": None, "id": request_id}

    # -- direct controls for tests that need no RPC ---------------------------------

    def evict(self, txid: str) -> None:
        """The transaction (and what spends it) leaves the mempool unmined: replaced, expired."""
        self.chain.evict(txid)

    def tamper(self, method: str, rewrite: Callable[[Any], Any]) -> None:
        """From now on, `method`'s results pass through `rewrite` (a node gone wrong)."""
        self.tampers[method] = rewrite


class _CoreHandler(BaseHTTPRequestHandler):
    node: FakeBitcoinCore

    def setup(self) -> None:
        super().setup()
        self.node.open_sockets.add(self.connection)

    def finish(self) -> None:
        self.node.open_sockets.discard(self.connection)
        super().finish()

    protocol_version = "HTTP/1.1"
    server_version = ""
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - keep test output quiet
        pass

    def _send(self, status: int, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response_only(status)
        self.send_header("Date", self.date_time_string())
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(405, b"JSONRPC server handles only POST requests", {"Content-Type": "text/html; charset=ISO-8859-1"})

    def do_POST(self) -> None:
        node = self.node
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if not node.authorized(self.headers.get("Authorization")):
            self._send(401, b"", {"WWW-Authenticate": 'Basic realm="jsonrpc"'})
            return
        wallet = None
        if self.path.startswith("/wallet/"):
            wallet = self.path[len("/wallet/") :]
        elif self.path not in ("/", ""):
            self._send(404, b"")
            return
        node.client_connections.add(self.client_address)  # (host, port): one per TCP connection
        if node.slow_seconds:
            time.sleep(node.slow_seconds)
        if node.malformed:
            self._send(200, b'{"result":{"hash":"00', {"Content-Type": "application/json"})
            return
        status, text = node.answer(body, wallet)
        self._send(status, text.encode(), {"Content-Type": "application/json"})


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- one set of controls over either node ------------------------------------------


class RegtestNode:
    """What a test does to a regtest node, through the RPCs a real bitcoind has too."""

    kind = "node"

    def __init__(self, url: str) -> None:
        self.url = url
        self.node_rpc = _rpc_client(url)
        self.wallet_rpc = _rpc_client(f"{url}/wallet/{WALLET}")
        self._miner: str | None = None

    @property
    def miner_address(self) -> str:
        if self._miner is None:
            self._miner = self.wallet_rpc.call("getnewaddress")
        return self._miner

    @property
    def height(self) -> int:
        return self.node_rpc.call("getblockcount")

    def block_hash(self, height: int) -> str:
        return self.node_rpc.call("getblockhash", height)

    def new_address(self, kind: str = "p2wpkh") -> str:
        """An address of nobody's wallet."""
        return random_address(kind)

    def send(self, address: str, btc: Decimal | str) -> str:
        """Pay `btc` to `address`; the transaction waits in the mempool. Returns the txid."""
        return self.wallet_rpc.call("sendtoaddress", address, _btc_text(btc))

    def send_many(self, outputs: dict[str, Decimal | str]) -> str:
        return self.wallet_rpc.call("sendmany", "", {a: _btc_text(v) for a, v in outputs.items()})

    def mine(self, blocks: int = 1) -> list[str]:
        """Mine blocks; the first takes the mempool."""
        return self.node_rpc.call("generatetoaddress", blocks, self.miner_address)

    def mine_to(self, address: str, blocks: int = 1) -> list[str]:
        """Mine blocks whose coinbase pays `address` (e.g. a payram deposit address, for
        coinbase maturity); the first takes the mempool."""
        return self.node_rpc.call("generatetoaddress", blocks, address)

    def mine_empty(self, blocks: int = 1) -> list[str]:
        """Mine blocks that leave the mempool alone."""
        return [self.node_rpc.call("generateblock", self.miner_address, [])["hash"] for _ in range(blocks)]

    def reorg(self, depth: int, length: int | None = None, *, remine: bool = False) -> list[str]:
        """Replace the top `depth` blocks by a longer branch of `length` (default depth+1)
        empty blocks (invalidateblock, then generateblock with no transactions, as in the
        recordings). The dropped blocks' payments go back to the mempool; with remine, one
        more block takes them into the new branch (else a later mine() does)."""
        fork_height = self.height - depth + 1
        self.node_rpc.call("invalidateblock", self.block_hash(fork_height))
        hashes = self.mine_empty(depth + 1 if length is None else length)
        return hashes + (self.mine() if remine else [])

    def mempool(self) -> list[str]:
        return self.node_rpc.call("getrawmempool")

    def rpc_for_wallet(self, name: str):
        """An RPC client for another wallet of this node (createwallet it first)."""
        return _rpc_client(f"{self.url}/wallet/{name}")

    def stop(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        raise NotImplementedError


class FakeNode(RegtestNode):
    kind = "fake"

    def __init__(self, server: FakeBitcoinCore) -> None:
        self.server = server
        super().__init__(server.url)

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server.start()


class BitcoindNode(RegtestNode):
    """A real `bitcoind -regtest` in a temporary datadir on free ports."""

    kind = "bitcoind"

    def __init__(self, binary: str, datadir: str, *, extra_args: tuple[str, ...] = ()) -> None:
        self.binary, self.datadir = binary, datadir
        self.extra_args = extra_args  # e.g. -zmqpubsequence=tcp://127.0.0.1:PORT
        self.rpc_port, self.p2p_port = _free_port(), _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        super().__init__(f"http://{RPC_USER}:{RPC_PASSWORD}@127.0.0.1:{self.rpc_port}")

    def start(self) -> None:
        if self.process is not None:
            return
        wallet_exists = os.path.isdir(os.path.join(self.datadir, "regtest", "wallets", WALLET))
        args = [
            self.binary,
            "-regtest",
            f"-datadir={self.datadir}",
            "-server=1",
            "-listen=0",
            "-txindex=1",
            f"-port={self.p2p_port}",
            f"-rpcport={self.rpc_port}",
            "-rpcbind=127.0.0.1",
            "-rpcallowip=127.0.0.1",
            f"-rpcuser={RPC_USER}",
            f"-rpcpassword={RPC_PASSWORD}",
            "-fallbackfee=0.0002",
            "-printtoconsole=0",
        ]
        args.extend(self.extra_args)
        if wallet_exists:
            args.append(f"-wallet={WALLET}")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while True:
            try:
                self.node_rpc.call("getblockcount")
                break
            except Exception as exc:  # warming up (-28) or not listening yet
                if self.process.poll() is not None:
                    err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                    raise RuntimeError(f"bitcoind exited with {self.process.returncode}: {err[-500:]}") from exc
                if time.monotonic() > deadline:
                    raise RuntimeError(f"bitcoind did not answer RPC within 60 s: {exc}") from exc
                time.sleep(0.2)
        if not wallet_exists:
            self.node_rpc.call("createwallet", WALLET)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            self.node_rpc.call("stop")
        except Exception:
            self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None


def _btc_text(btc: Decimal | str) -> str:
    """An amount as Core's RPC takes it without float: a string with 8 decimals."""
    return str(Decimal(btc).quantize(Decimal("0.00000001")))


def _rpc_client(url: str):
    from chain import catalogue
    from chain.adapters.bitcoin import BitcoinCoreAdapter

    regtest = next(n for n in catalogue.BUILTIN if n.slug == "bitcoin-regtest")
    client = BitcoinCoreAdapter(replace(regtest, rpc_url=url), timeout=60)
    client.cookie_file = ""  # the controls use the URL's credentials whatever the environment says
    return client


def _point_payram_at(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    from chain import catalogue

    monkeypatch.setenv("PAYRAM_RPC_BITCOIN_REGTEST", url)
    catalogue.reload()


@pytest.fixture
def bitcoin_core(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeNode]:
    """The Core-format test server at height 101 (the first coinbase spendable, as after
    a real node's usual `generatetoaddress 101`), payram pointed at it."""
    from chain import catalogue

    server = FakeBitcoinCore()
    server.start()
    node = FakeNode(server)
    node.mine(101)
    server.http_requests.clear()
    _point_payram_at(monkeypatch, server.url)
    try:
        yield node
    finally:
        server.stop()
        monkeypatch.delenv("PAYRAM_RPC_BITCOIN_REGTEST", raising=False)
        catalogue.reload()


def bitcoind_binary() -> str | None:
    """The bitcoind BITCOIND names (bin/test sets it from ../shared/bitcoin-core-31 when
    that folder exists), or None when it is unset."""
    binary = os.environ.get("BITCOIND", "").strip()
    if not binary:
        return None
    resolved = shutil.which(binary)
    if resolved is None:
        pytest.fail(f"BITCOIND={binary!r} is not an executable")
    return resolved


@pytest.fixture(scope="session")
def bitcoind_session() -> Iterator[BitcoindNode]:
    """One real `bitcoind -regtest` for the whole test session (starting a node and
    mining its first 101 blocks costs seconds; tests share it and only ever look at
    heights relative to its tip). Its datadir is a temporary directory. Skipped without
    BITCOIND."""
    binary = bitcoind_binary()
    if binary is None:
        pytest.skip(SKIP_BITCOIND)
    datadir = tempfile.mkdtemp(prefix="payram-bitcoind-")
    node = BitcoindNode(binary, datadir)
    try:
        node.start()
        node.mine(101)
        yield node
    finally:
        node.stop()
        shutil.rmtree(datadir, ignore_errors=True)


@pytest.fixture
def bitcoind(bitcoind_session: BitcoindNode, monkeypatch: pytest.MonkeyPatch) -> Iterator[BitcoindNode]:
    """A real bitcoind -regtest with a funded wallet ("payer"), payram pointed at it:
    the session's node (started again if an earlier test stopped it), with a few blocks
    mined first (the mempool included). Skipped without BITCOIND; bin/test sets BITCOIND
    where ../shared/bitcoin-core-31 exists, so in CI this runs.

    Take this fixture for real-node-only tests (or `regtest`, which runs a test on the
    Core-format fake too), marked `bitcoind`:

        pytestmark = [pytest.mark.django_db, pytest.mark.bitcoind]

        def test_something(bitcoind, project):
            wallet_set(project=project, family="bitcoin-regtest", xpub=VPUB)  # or a descriptor
            to = address_allocate(project=project, family="bitcoin-regtest")
            txid = bitcoind.send(to.address, "0.001")     # from "payer"; waits in the mempool
            [block_hash] = bitcoind.mine()                 # 1 block to "payer"'s own address
            bitcoind.mine_to(to.address, 1)                # a coinbase paying payram (matures 100 blocks later)
            bitcoind.reorg(1)                              # invalidateblock + a longer branch of empty blocks
            bitcoind.node_rpc.call("invalidateblock", bitcoind.block_hash(bitcoind.height))
            bitcoind.node_rpc.call("generateblock", bitcoind.miner_address, [])  # an empty replacement tip
            bitcoind.node_rpc.call("getblockheader", block_hash)["time"]         # the block's timestamp
            bitcoind.wallet_rpc.call("gettransaction", txid)                     # any "payer" wallet RPC
            bitcoind.node_rpc.call("createwallet", "merchant")
            bitcoind.rpc_for_wallet("merchant").call("listdescriptors")          # another wallet's RPC
            bitcoind.stop(); bitcoind.start()              # the node down, then back (same datadir, ports)

    PAYRAM_RPC_BITCOIN_REGTEST points at the node and the catalogue is reloaded for the
    test. The chain is shared by the session: read `bitcoind.height` rather than assume
    one. Each test starts a few blocks above the previous test's payments, out of reach
    of a new cursor (which starts its confirmation threshold under the tip), so reusing
    a test key's addresses is safe. Blocks take milliseconds: 100 for coinbase maturity
    are fine in a test now and then. The datadir is a temporary directory."""
    node = bitcoind_session
    if node.process is not None and node.process.poll() is not None:
        node.process = None  # it died: start a new one on the same datadir
    node.start()
    # Earlier tests paid the same test keys' addresses: mine their payments (and the
    # mempool) below where a new cursor starts (its confirmation threshold under the tip).
    from chain import catalogue

    # A new cursor's first block is head - confirmations; the mempool goes into the first
    # block mined here, so mine one more than that reach.
    node.mine(catalogue.get("bitcoin-regtest").confirmations + 2)
    _point_payram_at(monkeypatch, node.url)
    try:
        yield node
    finally:
        monkeypatch.delenv("PAYRAM_RPC_BITCOIN_REGTEST", raising=False)
        from chain import catalogue

        catalogue.reload()


@pytest.fixture(params=["bitcoin_core", pytest.param("bitcoind", marks=pytest.mark.bitcoind)])
def regtest(request: pytest.FixtureRequest) -> RegtestNode:
    """The same scenario against the Core-format server and, with BITCOIND set, a real node."""
    return request.getfixturevalue(request.param)


# -- a stand-in `bitcoind` process, to test the bitcoind tier's process handling -------


def _stand_in_bitcoind(argv: list[str]) -> None:
    """`python -m tests.support.bitcoin_core -regtest -datadir=D -rpcport=P -rpcuser=U
    -rpcpassword=W ...`: serves the fake until the `stop` RPC, keeping its chain in the
    datadir across restarts like a real node. Not a Bitcoin Core; it only lets the tests
    check how BitcoindNode starts, waits for, restarts and stops a node process."""
    import pickle
    from pathlib import Path

    options = dict(arg.lstrip("-").split("=", 1) if "=" in arg else (arg.lstrip("-"), "1") for arg in argv)
    state = Path(options["datadir"]) / "regtest" / "stand-in-chain.pickle"
    server = FakeBitcoinCore(user=options["rpcuser"], password=options["rpcpassword"])
    server.port = int(options["rpcport"])
    if state.exists():
        server.chain = pickle.loads(state.read_bytes())
        server.rpc = CoreRpc(server.chain)
    server.start()
    while not server.rpc.stopping:
        time.sleep(0.05)
    if "wallet" in options or server.chain.wallet_addresses:
        (state.parent / "wallets" / WALLET).mkdir(parents=True, exist_ok=True)
    state.parent.mkdir(parents=True, exist_ok=True)
    with server.chain.lock:
        state.write_bytes(pickle.dumps(server.chain))
    time.sleep(0.1)  # let the answer to `stop` go out
    server.stop()


if __name__ == "__main__":
    import sys

    _stand_in_bitcoind(sys.argv[1:])
