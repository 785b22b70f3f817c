"""The Core-format test server against Bitcoin Core 31's own recordings
(tests/fixtures/bitcoin-core/, a copy of shared/fixtures/bitcoin-core/ kept in the
repository so that every clone checks against them): if the server drifted from what
Core answers, the adapter tests would be testing against fiction.

Two checks:
1. Byte for byte: the recorded raw block and transactions, decoded and written back by
   the server's serializer and JSON writer, give exactly the recorded hashes, sizes and
   response text (amount formatting, field order, descriptors and their checksums).
2. Replay: the recorded session (sends, a block, reads at every verbosity, errors, a
   batch, a reorg and a re-mined payment) is played against the server in the same
   order; each answer must have the recorded HTTP status, the same keys in the same
   order, the same JSON types and number formats, the same heights, confirmations and
   paid values, and byte-identical error answers.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.bitcoin_core import (
    COIN,
    Amount,
    FakeBlock,
    FakeNode,
    Tx,
    TxIn,
    core_json,
    merkle_root,
    sha256d,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "bitcoin-core"
SHARED_RECORDINGS = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "bitcoin-core"
ALL = sorted(FIXTURES.glob("[0-9][0-9]-*.json"))
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX = re.compile(r"^(?:[0-9a-f]{2})*$")


def test_the_recordings_are_in_the_repository():
    """No silent skip: a clone outside the shared layout still checks against Core."""
    assert len(ALL) == 41, f"expected the 41 Bitcoin Core recordings in {FIXTURES}"


@pytest.mark.skipif(not SHARED_RECORDINGS.is_dir(), reason=f"no shared recordings at {SHARED_RECORDINGS} to compare with")
def test_the_repository_copy_is_the_shared_recordings_byte_for_byte():
    shared = sorted(p.name for p in SHARED_RECORDINGS.iterdir())
    assert sorted(p.name for p in FIXTURES.iterdir()) == shared
    for name in shared:
        assert (FIXTURES / name).read_bytes() == (SHARED_RECORDINGS / name).read_bytes(), name


def recording(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def recorded_result(name: str) -> Any:
    return json.loads(recording(name)["response_text"])["result"]


# -- 1. byte for byte --------------------------------------------------------------------


def _varint(raw: bytes, pos: int) -> tuple[int, int]:
    first = raw[pos]
    if first < 0xFD:
        return first, pos + 1
    size = {0xFD: 2, 0xFE: 4, 0xFF: 8}[first]
    return int.from_bytes(raw[pos + 1 : pos + 1 + size], "little"), pos + 1 + size


def _parse_tx(raw: bytes, pos: int = 0) -> tuple[Tx, int]:
    version = int.from_bytes(raw[pos : pos + 4], "little")
    pos += 4
    segwit = raw[pos] == 0 and raw[pos + 1] == 1
    if segwit:
        pos += 2
    count, pos = _varint(raw, pos)
    vin = []
    for _ in range(count):
        prev, index = raw[pos : pos + 32][::-1].hex(), int.from_bytes(raw[pos + 32 : pos + 36], "little")
        length, pos = _varint(raw, pos + 36)
        script, pos = raw[pos : pos + length], pos + length
        sequence, pos = int.from_bytes(raw[pos : pos + 4], "little"), pos + 4
        coinbase = prev == "00" * 32 and index == 0xFFFFFFFF
        vin.append(TxIn(None if coinbase else prev, index, script, [], sequence))
    count, pos = _varint(raw, pos)
    vout = []
    for _ in range(count):
        value = int.from_bytes(raw[pos : pos + 8], "little")
        length, pos = _varint(raw, pos + 8)
        vout.append((value, raw[pos : pos + length]))
        pos += length
    if segwit:
        for txin in vin:
            items, pos = _varint(raw, pos)
            for _ in range(items):
                length, pos = _varint(raw, pos)
                txin.witness.append(raw[pos : pos + length])
                pos += length
    locktime = int.from_bytes(raw[pos : pos + 4], "little")
    return Tx(vin=vin, vout=vout, locktime=locktime, version=version), pos + 4


def _parse_block(raw: bytes) -> FakeBlock:
    header = raw[:80]
    count, pos = _varint(raw, 80)
    txs = []
    for _ in range(count):
        tx, pos = _parse_tx(raw, pos)
        txs.append(tx)
    assert pos == len(raw)
    block = FakeBlock(
        height=-1,
        parent=header[4:36][::-1].hex(),
        txs=txs,
        time=int.from_bytes(header[68:72], "little"),
        version=int.from_bytes(header[:4], "little"),
        nonce=int.from_bytes(header[76:80], "little"),
    )
    block.merkleroot = merkle_root([bytes.fromhex(t.txid)[::-1] for t in txs])[::-1].hex()
    block.hash = sha256d(block.header())[::-1].hex()
    return block


def test_the_recorded_block_decodes_and_hashes_as_core_says():
    block = _parse_block(bytes.fromhex(recorded_result("15-getblock-verbosity0")))
    header = recorded_result("16-getblock-verbosity1")
    assert block.hash == header["hash"]
    assert block.merkleroot == header["merkleroot"]
    assert block.parent == header["previousblockhash"]
    assert [t.txid for t in block.txs] == header["tx"]
    stripped, size = len(block.serialize(False)), len(block.serialize(True))
    assert (stripped, size, stripped * 3 + size) == (header["strippedsize"], header["size"], header["weight"])
    assert block.serialize().hex() == recorded_result("15-getblock-verbosity0")


def test_transactions_are_written_exactly_as_core_writes_them():
    text = recording("17-getblock-verbosity2")["response_text"]
    recorded = json.loads(text, parse_float=str)["result"]["tx"]
    block = _parse_block(bytes.fromhex(recorded_result("15-getblock-verbosity0")))
    for tx, seen in zip(block.txs, recorded):
        if "fee" in seen:
            tx.fee = int(seen["fee"].replace(".", ""))
        written = core_json(tx.to_json(with_fee=True))
        assert written in text, f"transaction {tx.txid} is not written as Core wrote it"
        assert (tx.size, tx.vsize, tx.weight) == (seen["size"], seen["vsize"], seen["weight"])

    mempool_text = recording("08-getrawtransaction-mempool-verbose1")["response_text"]
    tx, _ = _parse_tx(bytes.fromhex(recorded_result("08-getrawtransaction-mempool-verbose1")["hex"]))
    assert mempool_text == '{"result":' + core_json(tx.to_json(with_fee=False)) + ',"error":null,"id":"rec"}\n'


def test_amounts_keep_eight_decimals():
    assert core_json({"value": Amount(50 * COIN + 7440)}) == '{"value":50.00007440}'
    assert '"value":0.00000000' in recording("17-getblock-verbosity2")["response_text"]


# -- 2. replaying the recorded session ------------------------------------------------

CONTROL = {"03", "04", "10", "32", "33", "39"}  # answers name new txids and block hashes
EXACT_INTS = {"height", "confirmations", "blocks", "headers", "nTx", "n", "version", "sequence", "locktime", "branchlen"}
EXACT_STRINGS = {"chain", "type", "bits", "target", "versionHex", "status", "subversion", "name", "message"}


class Number(str):
    """A JSON number's literal, kept to compare formats."""


def _literal_json(text: str) -> Any:
    return json.loads(text, parse_float=Number, parse_int=Number)


def _number_format(literal: str) -> str:
    if "e" in literal or "E" in literal:
        return "exponent"
    if "." in literal:
        return f"{len(literal.split('.')[1])} decimals"
    return "integer"


def _address_class(address: str) -> str:
    if address.startswith("bcrt1"):
        return address[:6] + str(len(address))
    return {"m": "p2pkh", "n": "p2pkh", "2": "p2sh"}.get(address[0], address)


def _learn(recorded: Any, ours: Any, ids: dict[str, str]) -> None:
    """Pair the recorded answer's txids and hashes with ours."""
    if isinstance(recorded, str) and HEX64.match(recorded):
        ids[recorded] = ours
    elif isinstance(recorded, list):
        for r, o in zip(recorded, ours):
            _learn(r, o, ids)
    elif isinstance(recorded, dict):
        for key in recorded:
            _learn(recorded[key], ours[key], ids)


def _translate(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return ids.get(value, value)
    if isinstance(value, list):
        return [_translate(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _translate(v, ids) for k, v in value.items()}
    return value


def _same_shape(ours: Any, recorded: Any, where: str, problems: list[str], key: str = "") -> None:
    if isinstance(recorded, dict):
        if not isinstance(ours, dict):
            problems.append(f"{where}: {type(ours).__name__} instead of an object")
            return
        shown = lambda d: ["<txid>" if HEX64.match(k) else k for k in d]  # noqa: E731
        if shown(ours) != shown(recorded):
            problems.append(f"{where}: keys {shown(ours)} instead of {shown(recorded)}")
            return
        paying_same = (
            isinstance(recorded.get("scriptPubKey"), dict)
            and isinstance(ours.get("scriptPubKey"), dict)
            and recorded["scriptPubKey"].get("address") == ours["scriptPubKey"].get("address")
        )
        if paying_same and "value" in recorded and ours["value"] != recorded["value"]:
            problems.append(f"{where}.value: {ours['value']} paid instead of {recorded['value']}")
        for (k, o), r in zip(ours.items(), recorded.values()):
            _same_shape(o, r, f"{where}.{k}", problems, k)
    elif isinstance(recorded, list):
        if not isinstance(ours, list):
            problems.append(f"{where}: {type(ours).__name__} instead of an array")
            return
        if key == "vout" and len(ours) == len(recorded):
            # Core's wallet puts change at a random position: pair outputs by the address
            # they pay, then by type; `n` must still be each output's position.
            unmatched = list(recorded)
            for i, o in enumerate(ours):
                if o.get("n") != Number(str(i)):
                    problems.append(f"{where}[{i}].n: {o.get('n')} at position {i}")
                address = o.get("scriptPubKey", {}).get("address")
                kind = o.get("scriptPubKey", {}).get("type")
                match = next((r for r in unmatched if r["scriptPubKey"].get("address") == address), None) or next(
                    (r for r in unmatched if r["scriptPubKey"].get("type") == kind), unmatched[0]
                )
                unmatched.remove(match)
                _same_shape({**o, "n": match["n"]}, match, f"{where}[{i}]", problems)
        elif len(ours) == len(recorded):
            for i, (o, r) in enumerate(zip(ours, recorded)):
                _same_shape(o, r, f"{where}[{i}]", problems, key)
        elif recorded:
            for i, o in enumerate(ours):
                _same_shape(o, recorded[0], f"{where}[{i}]", problems, key)
    elif isinstance(recorded, Number):
        if not isinstance(ours, Number):
            problems.append(f"{where}: {ours!r} instead of a number")
        elif _number_format(ours) != _number_format(recorded):
            problems.append(
                f"{where}: {ours} written as {_number_format(ours)}, Core writes {recorded} ({_number_format(recorded)})"
            )
        elif (key in EXACT_INTS or where == "$.result") and ours != recorded:
            problems.append(f"{where}: {ours} instead of {recorded}")
    elif isinstance(recorded, str):
        if not isinstance(ours, str):
            problems.append(f"{where}: {ours!r} instead of a string")
        elif key in EXACT_STRINGS:
            if ours != recorded:
                problems.append(f"{where}: {ours!r} instead of {recorded!r}")
        elif HEX64.match(recorded):
            if not HEX64.match(ours):
                problems.append(f"{where}: {ours!r} is not a 64-digit hash")
        elif HEX.match(recorded):
            if not HEX.match(ours):
                problems.append(f"{where}: {ours!r} is not hex")
        elif key == "address":
            if _address_class(ours) != _address_class(recorded):
                problems.append(f"{where}: {ours!r} is not the kind of address {recorded!r} is")
        elif key == "desc":
            pattern = lambda d: re.sub(r"\(.*\)#[a-z0-9]{8}$", "(…)#checksum", d)  # noqa: E731
            if pattern(ours) != pattern(recorded):
                problems.append(f"{where}: descriptor {ours!r} is not shaped like {recorded!r}")
        elif key == "asm":
            pattern = lambda a: re.sub(r"\b[0-9a-f]{8,}\b", "<hex>", a)  # noqa: E731
            if pattern(ours) != pattern(recorded):
                problems.append(f"{where}: asm {ours!r} is not shaped like {recorded!r}")
        elif ours != recorded:
            problems.append(f"{where}: {ours!r} instead of {recorded!r}")
    elif ours != recorded:
        problems.append(f"{where}: {ours!r} instead of {recorded!r}")


def _post(node: FakeNode, path: str, body: Any, *, credentials: str | None = None) -> tuple[int, str]:
    server = node.server
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    auth = base64.b64encode((credentials or f"{server.user}:{server.password}").encode()).decode()
    conn.request(
        "POST", path, body=json.dumps(body), headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"}
    )
    response = conn.getresponse()
    text = response.read().decode()
    conn.close()
    return response.status, text


def test_the_recorded_session_replays_with_cores_answers(bitcoin_core: FakeNode):
    """From a chain at height 111, like the recording's."""
    bitcoin_core.mine(111 - bitcoin_core.height)
    ids: dict[str, str] = {}
    problems: list[str] = []
    for path in ALL:
        number = path.name[:2]
        fixture = json.loads(path.read_text())
        request = fixture["request"]
        body = _translate(request["body"], ids)
        credentials = "payram:wrong-password" if "bad-auth" in path.name else None
        status, text = _post(bitcoin_core, request["path"], body, credentials=credentials)
        where = path.stem
        if status != fixture["status"]:
            problems.append(f"{where}: HTTP {status} instead of {fixture['status']}")
            continue
        recorded_text = fixture["response_text"]
        if not recorded_text or '"error":{' in recorded_text:
            if text != recorded_text:
                problems.append(f"{where}: answered {text!r} instead of {recorded_text!r}")
            continue
        if not text.endswith("\n"):
            problems.append(f"{where}: no trailing newline")
        ours, recorded = _literal_json(text), _literal_json(recorded_text)
        _same_shape(ours, recorded, "$", problems)
        if number in CONTROL:
            _learn(json.loads(recorded_text)["result"], json.loads(text)["result"], ids)
    assert problems == [], "\n".join(problems)
