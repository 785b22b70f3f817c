"""Checking an address someone typed for a network: Bitcoin base58check (P2PKH, P2SH),
bech32 (witness v0, BIP173) and bech32m (v1+, BIP350) with the network's prefix; EVM
20-byte hex with its EIP-55 checksum when written in mixed case; Tron base58check (T…).
Used for customers'
refund addresses; payram never derives or spends from these."""

from __future__ import annotations

import re

from eth_utils import to_checksum_address

from chain import tron
from chain.catalogue import BITCOIN, EVM, TRON, Network
from chain.hd import _BECH32, _bech32_hrp_expand, _bech32_polymod, b58check_decode, family_params

BECH32_CONST = 1
BECH32M_CONST = 0x2BC830A3


class AddressRefused(ValueError):
    """The text is not a valid address for the network; the message says why, for people."""


def _from_5bit(data: list[int]) -> bytes | None:
    acc = bits = 0
    out = bytearray()
    for value in data:
        acc = (acc << 5) | value
        bits += 5
        if bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
    if bits >= 5 or (acc << (8 - bits)) & 0xFF:
        return None  # non-zero or too much padding
    return bytes(out)


def _segwit(net: Network, text: str, hrp: str) -> str:
    if text != text.lower() and text != text.upper():
        raise AddressRefused("This address mixes capital and small letters; copy it again from your wallet.")
    lower = text.lower()
    body = lower[len(hrp) + 1 :]
    if len(lower) > 90 or len(body) < 7 or any(c not in _BECH32 for c in body):
        raise AddressRefused(f"This is not a valid {net.name} address.")
    data = [_BECH32.index(c) for c in body]
    const = _bech32_polymod(_bech32_hrp_expand(hrp) + data)
    version, program = data[0], _from_5bit(data[1:-6])
    expected = BECH32_CONST if version == 0 else BECH32M_CONST
    if const != expected:
        raise AddressRefused(f"This {net.name} address has a typo: its checksum does not match. Copy it again from your wallet.")
    if program is None or version > 16 or not 2 <= len(program) <= 40 or (version == 0 and len(program) not in (20, 32)):
        raise AddressRefused(f"This is not a valid {net.name} address.")
    return lower


def _base58(net: Network, text: str) -> str:
    params = family_params(net.family)
    try:
        payload = b58check_decode(text)
    except ValueError:
        raise AddressRefused(f"This is not a valid {net.name} address (or it has a typo: its checksum does not match).") from None
    if len(payload) != 21 or payload[0] not in (params.p2pkh_version, params.p2sh_version):
        raise AddressRefused(f"This is an address of another network, not {net.name}.")
    return text


def _evm(net: Network, text: str) -> str:
    if not re.fullmatch(r"0x[0-9a-fA-F]{40}", text):
        raise AddressRefused(f"Enter a {net.name} address: 0x followed by 40 hexadecimal characters.")
    checksummed = to_checksum_address(text)
    digits = text[2:]
    if digits != digits.lower() and digits != digits.upper() and text != checksummed:
        raise AddressRefused(
            "This address's capital letters do not match its checksum (EIP-55): a character may be mistyped. Copy it again from your wallet."
        )
    return checksummed


def address_check(net: Network, text: str) -> str:
    """The address in its canonical form (bech32 lower case, EIP-55 checksummed), or
    AddressRefused with the reason."""
    text = (text or "").strip()
    if not text:
        raise AddressRefused("Enter the address to send the refund to.")
    if net.kind == EVM:
        return _evm(net, text)
    if net.kind == BITCOIN:
        hrp = family_params(net.family).hrp
        if text.lower().startswith(hrp + "1"):
            return _segwit(net, text, hrp)
        if re.match(r"^[a-z]{2,4}1", text.lower()):
            raise AddressRefused(f"This is an address of another network, not {net.name}.")
        return _base58(net, text)
    if net.kind == TRON:
        if not tron.is_address(text):
            raise AddressRefused(
                f"This is not a valid {net.name} address: a Tron address starts with T and has a checksum; copy it again from your wallet."
            )
        return text
    raise AddressRefused(f"Refunds on {net.name} are not supported.")
