"""Tron addresses and keys, checked against values payram did not compute: vectors
published with other implementations, and a second implementation in the test (BIP32 from
bitcoinlib, keccak from pycryptodome, base58check from bitcoinlib's encoder)."""

from __future__ import annotations

import pytest

from chain import hd, tron
from chain.management.commands.xpub_from_seed import PrivateNode, account_keys, mnemonic_to_seed

ABANDON = "abandon " * 11 + "about"
# tetherto/wdk-wallet-tron's tests: m/44'/195'/0'/0/0 of this phrase, with its public key.
WDK_PHRASE = "cook voyage document eight skate token alien guide drink uncle term abuse"
WDK_ADDRESS = "TXngH8bVadn9ZWtKBgjKQcqN1GsZ7A1jcb"


def tron_xpub(phrase: str) -> str:
    root = PrivateNode.from_seed(mnemonic_to_seed(phrase))
    return root.derive("m/44'/195'/0'").extended_public_key("xpub")


@pytest.mark.parametrize(
    ("hex41", "base58"),
    [
        # developers.tron.network, "Account" (address format): the documentation's own pair.
        ("418840E6C55B9ADA326D211D818C34A994AECED808", "TNPeeaaFB7K9cmo4uQpcU32zGK8G1NYqeL"),
        # Tether's USD₮ contract as Tronscan shows it, and the 41… form in its transaction infos.
        ("41a614f803b6fd780986a42c78ec9c7f77e6ded13c", "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t"),
    ],
)
def test_published_hex_and_base58_forms_convert_both_ways(hex41, base58):
    assert tron.from_hex(hex41) == base58
    assert tron.from_hex(hex41[2:]) == base58  # the TVM / log form, without 41
    assert tron.from_hex("0x" + hex41[2:]) == base58  # the JSON-RPC form
    assert tron.to_hex(base58) == hex41.lower()
    assert tron.to_evm_hex(base58) == "0x" + hex41[2:].lower()


def test_the_usdt_address_in_the_issue_hint_is_not_a_tron_address():
    # 35 characters and no valid checksum: the catalogue carries the checksummed one.
    assert not tron.is_address("TR7NHqjeKQxGTCi8q8ZvbVSzBFcCHR1n9Kt")
    assert tron.is_address("TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6t")


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "TR7NHqjeKQxGTCi8q8ZY4pL8otSzgjLj6T",
        "0xa614f803b6fd780986a42c78ec9c7f77e6ded13c",
        "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
    ],
)
def test_malformed_or_foreign_addresses_are_refused(bad):
    with pytest.raises(tron.AddressError):
        tron.to_account_bytes(bad)


def test_published_seed_vectors_derive_through_the_account_xpub():
    for phrase, expected in ((WDK_PHRASE, WDK_ADDRESS), (ABANDON, "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH")):
        key = hd.parse_account_key(tron_xpub(phrase), "tron")
        assert key.script_type == hd.TRON_SCRIPT
        assert hd.receive_address(key, 0) == expected


def test_derivation_matches_an_independent_implementation():
    bitcoinlib_keys = pytest.importorskip("bitcoinlib.keys")
    from bitcoinlib.encoding import pubkeyhash_to_addr_base58
    from Crypto.Hash import keccak

    seed = mnemonic_to_seed(ABANDON)
    master = bitcoinlib_keys.HDKey.from_seed(seed)
    key = hd.parse_account_key(tron_xpub(ABANDON), "tron")
    for index in range(5):
        child = master.subkey_for_path(f"m/44'/195'/0'/0/{index}")
        point = bytes.fromhex(child.public_uncompressed_hex)[1:]
        account = keccak.new(digest_bits=256, data=point).digest()[-20:]
        assert hd.receive_address(key, index) == pubkeyhash_to_addr_base58(account, prefix=b"\x41")


def test_xpub_from_seed_prints_the_tron_account_and_its_first_addresses():
    tron_rows = [(a, x, addrs) for a, x, addrs in account_keys(ABANDON) if a.family == "tron"]
    assert len(tron_rows) == 1
    account, xpub, addresses = tron_rows[0]
    assert account.path == "m/44'/195'/0'"
    assert xpub == tron_xpub(ABANDON)
    assert addresses[0] == "TUEZSdKsoDHQMeZwihtdoBiN46zxhGWYdH"
    assert all(a.startswith("T") and len(a) == 34 for a in addresses)


def test_private_keys_seeds_and_bitcoin_keys_are_refused_for_tron():
    root = PrivateNode.from_seed(mnemonic_to_seed(ABANDON))
    zpub = root.derive("m/84'/0'/0'").extended_public_key("zpub")
    with pytest.raises(hd.KeyRefused) as refused:
        hd.parse_account_key(ABANDON, "tron")
    assert refused.value.private
    with pytest.raises(hd.KeyRefused) as refused:
        hd.parse_account_key("a" * 64, "tron")
    assert refused.value.private
    with pytest.raises(hd.KeyRefused, match="m/44'/195'/0'"):
        hd.parse_account_key(zpub, "tron")
    with pytest.raises(hd.KeyRefused, match="That is an address"):
        hd.parse_account_key(WDK_ADDRESS, "tron")
    master = root.extended_public_key("xpub")
    with pytest.raises(hd.KeyRefused, match="m/44'/195'/0'"):
        hd.parse_account_key(master, "tron")
