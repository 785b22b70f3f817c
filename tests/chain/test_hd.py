"""Extended public keys: the published vectors hold, and everything that is not an
account-level public key for the family is refused with a message that never repeats it."""

from __future__ import annotations

import pytest

from chain import hd

# BIP84 / BIP49 / BIP44 / SLIP-132 vectors for "abandon ×11 about".
ZPUB = "zpub6rFR7y4Q2AijBEqTUquhVz398htDFrtymD9xYYfG1m4wAcvPhXNfE3EfH1r1ADqtfSdVCToUG868RvUUkgDKf31mGDtKsAYz2oz2AGutZYs"
YPUB = "ypub6Ww3ibxVfGzLrAH1PNcjyAWenMTbbAosGNB6VvmSEgytSER9azLDWCxoJwW7Ke7icmizBMXrzBx9979FfaHxHcrArf3zbeJJJUZPf663zsP"
XPUB_BIP44 = "xpub6BosfCnifzxcFwrSzQiqu2DBVTshkCXacvNsWGYJVVhhawA7d4R5WSWGFNbi8Aw6ZRc1brxMyWMzG3DSSSSoekkudhUd9yLb6qx39T9nMdj"
VPUB = "vpub5Y6cjg78GGuNLsaPhmYsiw4gYX3HoQiRBiSwDaBXKUafCt9bNwWQiitDk5VZ5BVxYnQdwoTyXSs2JHRPAgjAvtbBrf8ZhDYe2jWAqvZVnsc"
EVM_XPUB = "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt"
# The private counterparts, from BIP84/BIP49 and the same mnemonic: must be refused.
ZPRV = "zprvAdG4iTXWBoARxkkzNpNh8r6Qag3irQB8PzEMkAFeTRXxHpbF9z4QgEvBRmfvqWvGp42t42nvgGpNgYSJA9iefm1yYNZKEm7z6qUWCroSQnE"
XPRV_ROOT = "xprv9s21ZrQH143K3GJpoapnV8SFfukcVBSfeCficPSGfubmSFDxo1kuHnLisriDvSnRRuL2Qrg5ggqHKNVpxR86QEC8w35uxmGoggxtQTPvfUu"
MNEMONIC = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about"


def key(value: str, family: str) -> hd.AccountKey:
    return hd.parse_account_key(value, family)


def test_bip84_zpub_gives_the_published_native_segwit_addresses():
    k = key(ZPUB, "bitcoin")
    assert (k.prefix, k.script_type, k.depth) == ("zpub", "p2wpkh", 3)
    assert hd.receive_addresses(k, 0, 3) == [
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
        "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g",
        "bc1qp59yckz4ae5c4efgw2s5wfyvrz0ala7rgvuz8z",
    ]


def test_bip49_ypub_gives_nested_segwit_addresses():
    k = key(YPUB, "bitcoin")
    assert k.script_type == "p2sh-p2wpkh"
    assert hd.receive_address(k, 0) == "37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf"


def test_bip44_xpub_gives_legacy_addresses():
    k = key(XPUB_BIP44, "bitcoin")
    assert k.script_type == "p2pkh"
    assert hd.receive_address(k, 0) == "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"


def test_test_network_vpub_gives_tb1_for_testnet_and_bcrt1_for_regtest():
    assert hd.receive_address(key(VPUB, "bitcoin-testnet"), 0) == "tb1q6rz28mcfaxtmd6v789l9rrlrusdprr9pqcpvkl"
    assert hd.receive_address(key(VPUB, "bitcoin-regtest"), 0) == "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk"


def test_test_vectors_agree_with_bitcoinlib():
    """An independent implementation derives the same addresses (regtest is not compared:
    bitcoinlib's regtest version bytes differ from Bitcoin Core's)."""
    from bitcoinlib.keys import HDKey

    for xpub, family, witness, network in (
        (ZPUB, "bitcoin", "segwit", "bitcoin"),
        (YPUB, "bitcoin", "p2sh-segwit", "bitcoin"),
        (XPUB_BIP44, "bitcoin", "legacy", "bitcoin"),
        (VPUB, "bitcoin-testnet", "segwit", "testnet"),
    ):
        theirs = HDKey(xpub, network=network, witness_type=witness)
        for i in (0, 1, 7):
            expected = theirs.subkey_for_path(f"0/{i}").address()
            assert hd.receive_address(key(xpub, family), i) == expected


def test_bip49_testnet_vector_via_upub():
    """BIP49's own vector: m/49'/1'/0'/0/0 of the test mnemonic is 2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2."""
    from chain.management.commands.xpub_from_seed import PrivateNode, mnemonic_to_seed

    account = PrivateNode.from_seed(mnemonic_to_seed(MNEMONIC)).derive("m/49'/1'/0'")
    upub = account.extended_public_key("upub")
    assert hd.receive_address(key(upub, "bitcoin-testnet"), 0) == "2Mww8dCYPUpKHofjgcXcBCEGmniw9CoaiD2"


def test_evm_account_xpub_gives_the_checksummed_metamask_address():
    k = key(EVM_XPUB, "evm")
    assert k.script_type == "evm"
    assert hd.receive_address(k, 0) == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"


def test_evm_address_matches_eth_account_from_the_mnemonic():
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    k = key(EVM_XPUB, "evm")
    for i in (1, 5):
        expected = Account.from_mnemonic(MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").address
        assert hd.receive_address(k, i) == expected


def test_whitespace_around_a_key_is_ignored():
    assert key(f"  {ZPUB}\n", "bitcoin").xpub == ZPUB


def test_a_key_wrapped_over_lines_is_joined():
    assert key(f"{ZPUB[:56]}\n{ZPUB[56:]}", "bitcoin").xpub == ZPUB


def test_script_type_override_for_an_xpub_exported_by_a_segwit_wallet():
    k = key(XPUB_BIP44, "bitcoin")
    assert hd.receive_address(k, 0, script_type="p2wpkh").startswith("bc1q")


@pytest.mark.parametrize(
    "secret",
    [
        ZPRV,
        XPRV_ROOT,
        "tprv8ZgxMBicQKsPe5YMU9gHen4Ez3ApihUfykaqUorj9t6FDqy3nP6eoXiAo2ssvpAjoLroQxHqr3R5nE3a5dU3DHTjTgJDd7zrbniJr6nrCzd",
        # Truncated or mistyped private keys are still private keys.
        ZPRV[:-3],
        "xprv" + "9" * 40,
        # Raw hex private key, with and without 0x.
        "4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318",
        # WIF, compressed and uncompressed, mainnet and testnet.
        "KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn",
        "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ",
        "cMahea7zqjxrtgAbB7LSGbcQUr1uX1ojuat9jZodMN87JcbXMTcA",
    ],
)
@pytest.mark.parametrize("family", ["bitcoin", "bitcoin-regtest", "evm"])
def test_private_keys_are_refused_without_echoing_them(secret, family):
    with pytest.raises(hd.KeyRefused) as err:
        hd.parse_account_key(secret, family)
    assert err.value.private
    assert "private key" in err.value.message and "PUBLIC" in err.value.message
    assert secret not in str(err.value) and secret[4:20] not in str(err.value)


@pytest.mark.parametrize(
    "phrase",
    [MNEMONIC, "  " + MNEMONIC.upper() + "\n", "legal winner thank year wave sausage worth useful legal winner thank yellow"],
)
def test_seed_phrases_are_refused(phrase):
    with pytest.raises(hd.KeyRefused) as err:
        hd.parse_account_key(phrase, "bitcoin")
    assert err.value.private
    assert "seed phrase" in err.value.message
    assert "abandon" not in err.value.message and "legal" not in err.value.message


@pytest.mark.parametrize(
    ("value", "family", "fragment"),
    [
        ("", "bitcoin", "Paste"),
        ("hello", "bitcoin", "not an extended public key"),
        (ZPUB[:-1] + ("t" if ZPUB[-1] != "t" else "u"), "bitcoin", "bad checksum"),
        (ZPUB[:40] + ZPUB[41:], "bitcoin", "bad checksum"),
        (ZPUB, "bitcoin-regtest", "mainnet key"),
        (ZPUB, "bitcoin-testnet", "mainnet key"),
        (VPUB, "bitcoin", "test-network key"),
        (ZPUB, "evm", "EVM chains need the xpub"),
        (VPUB, "evm", "EVM chains need the xpub"),
        ("0x9858EfFD232B4033E47d90003D41EC34EcaEda94", "evm", "address"),
        ("bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu", "bitcoin", "address"),
        ("37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf", "bitcoin", "address"),
        ("02" + "11" * 32, "evm", "single public key"),
    ],
)
def test_wrong_keys_are_refused_with_a_clear_message(value, family, fragment):
    with pytest.raises(hd.KeyRefused) as err:
        hd.parse_account_key(value, family)
    assert fragment in err.value.message
    assert not err.value.private
    if value:
        assert value not in err.value.message


def test_keys_not_at_account_depth_are_refused():
    from chain.management.commands.xpub_from_seed import PrivateNode, mnemonic_to_seed

    root = PrivateNode.from_seed(mnemonic_to_seed(MNEMONIC))
    master = root.extended_public_key("xpub")
    address_level = root.derive("m/84'/0'/0'/0/0").extended_public_key("zpub")
    purpose_level = root.derive("m/44'/60'").extended_public_key("xpub")
    for value, family in ((master, "evm"), (master, "bitcoin"), (address_level, "bitcoin"), (purpose_level, "evm")):
        with pytest.raises(hd.KeyRefused, match="depth 3"):
            hd.parse_account_key(value, family)


def test_multisig_keys_are_refused():
    from chain.management.commands.xpub_from_seed import PrivateNode, mnemonic_to_seed

    account = PrivateNode.from_seed(mnemonic_to_seed(MNEMONIC)).derive("m/48'/0'/0'")
    with pytest.raises(hd.KeyRefused, match="multisig"):
        hd.parse_account_key(account.extended_public_key("Zpub"), "bitcoin")


def test_a_bitcoin_xpub_at_account_depth_is_accepted_for_evm():
    assert hd.receive_address(key(XPUB_BIP44, "evm"), 0).startswith("0x")


def test_unknown_family_is_refused():
    with pytest.raises(hd.KeyRefused, match="family"):
        hd.parse_account_key(ZPUB, "dogecoin")


def test_shorten_keeps_both_ends():
    short = hd.shorten(ZPUB)
    assert short.startswith("zpub6rFR7y") and short.endswith("AGutZYs"[-7:]) and "…" in short
