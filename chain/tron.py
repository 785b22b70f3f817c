"""Tron addresses: the base58check `T…` form people see and the hex forms nodes speak.

A Tron account address is the last 20 bytes of keccak256(uncompressed public key without
its 0x04 byte), the same 20 bytes as the Ethereum address of that key, behind a 0x41
prefix byte:

    base58check(0x41 || keccak256(X || Y)[12:])            T… (34 characters)

Nodes speak two hex forms of those bytes:
- the FullNode HTTP API (without "visible": true): "41" + 40 hex digits
  (transactions' owner_address, to_address, contract_address);
- the TVM and its logs (and java-tron's JSON-RPC): the 20 bytes alone, 40 hex digits
  (TransactionInfo.log[].address, and the 32-byte topics that hold an address).

Pure: no database, no network. Base58check itself is chain.hd's (Bitcoin's alphabet and
double-SHA-256 checksum, which Tron uses unchanged).
"""

from __future__ import annotations

import re

from eth_hash.auto import keccak

from chain.base58 import b58check_decode, b58check_encode

PREFIX = 0x41
_HEX40 = re.compile(r"^[0-9a-fA-F]{40}$")
_HEX42 = re.compile(r"^41[0-9a-fA-F]{40}$")
_BASE58 = re.compile(r"^T[1-9A-HJ-NP-Za-km-z]{33}$")


class AddressError(ValueError):
    """Not a Tron address (the message is safe to show)."""


def from_public_key(uncompressed_body: bytes) -> str:
    """The T… address of a public key given as its 64-byte X || Y (no 0x04 prefix)."""
    if len(uncompressed_body) != 64:
        raise ValueError("an uncompressed public key body is 64 bytes")
    return from_account_bytes(keccak(uncompressed_body)[-20:])


def from_account_bytes(account: bytes) -> str:
    """The T… address of 20 account bytes."""
    if len(account) != 20:
        raise ValueError("a Tron account is 20 bytes")
    return b58check_encode(bytes([PREFIX]) + account)


def from_hex(value: str) -> str:
    """The T… address of either hex form a node answers: "41" + 40 hex digits, or the 40
    digits alone (TVM form, as in logs); an optional 0x is accepted before either."""
    text = value[2:] if value[:2] in ("0x", "0X") else value
    if _HEX42.match(text):
        text = text[2:]
    elif not _HEX40.match(text):
        raise AddressError(f"not a Tron hex address: {value[:50]!r}")
    return from_account_bytes(bytes.fromhex(text))


def to_account_bytes(address: str) -> bytes:
    """The 20 account bytes of a T… address, checking its checksum and prefix."""
    if not isinstance(address, str) or not _BASE58.match(address):
        raise AddressError("A Tron address starts with T and has 34 characters.")
    try:
        payload = b58check_decode(address)
    except ValueError:
        raise AddressError("That Tron address has a bad checksum: a character is missing or mistyped.") from None
    if len(payload) != 21 or payload[0] != PREFIX:
        raise AddressError("That is not a Tron account address.")
    return payload[1:]


def to_hex(address: str) -> str:
    """The HTTP API form, "41" + 40 lower-case hex digits."""
    return "41" + to_account_bytes(address).hex()


def to_evm_hex(address: str) -> str:
    """The TVM / JSON-RPC form, "0x" + 40 lower-case hex digits."""
    return "0x" + to_account_bytes(address).hex()


def is_address(value: str) -> bool:
    try:
        to_account_bytes(value)
    except AddressError:
        return False
    return True
