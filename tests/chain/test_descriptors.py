"""Output descriptors as Bitcoin Core's `listdescriptors` and Sparrow export them, and
Taproot (BIP86) receive addresses: the published vectors hold (BIP86 for the Taproot
tweak and bech32m, BIP380 for the checksum), the descriptor names the address type, and
a private, change-only, mistyped or multisig descriptor is refused with a clear message
that never repeats it."""

from __future__ import annotations

import pytest

from chain import hd
from tests.chain.test_hd import XPUB_BIP44, YPUB, ZPUB

# BIP86 "abandon ×11 about": the account m/86'/0'/0' and its published receive addresses,
# internal keys and output keys.
BIP86_ACCOUNT_XPUB = (
    "xpub6BgBgsespWvERF3LHQu6CnqdvfEvtMcQjYrcRzx53QJjSxarj2afYWcLteoGVky7D3UKDP9QyrLprQ3VCECoY49yfdDEHGCtMMj92pReUsQ"
)
BIP86_ACCOUNT_XPRV = (
    "xprv9xgqHN7yz9MwCkxsBPN5qetuNdQSUttZNKw1dcYTV4mkq4NcRGhHBoPf9Rp4kcLeymJTtm5AS6Pbq5HHLHyE3WVgBaWTKeeFsxPWEhK4ZNm"
)
BIP86_RECEIVE = [
    (
        "cc8a4bc64d897bddc5fbc2f670f7a8ba0b386779106cf1223c6fc5d7cd6fc115",
        "a60869f0dbcf1dc659c9cecbaf8050135ea9e8cdc487053f1dc6880949dc684c",
        "bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr",
    ),
    (
        "83dfe85a3151d2517290da461fe2815591ef69f2b18a2ce63f01697a8b313145",
        "a82f29944d65b86ae6b5e5cc75e294ead6c59391a1edc5e016e3498c67fc7bbb",
        "bc1p4qhjn9zdvkux4e44uhx8tc55attvtyu358kutcqkudyccelu0was9fqzwh",
    ),
]
FINGERPRINT = "73c5da0a"  # the master key of "abandon ×11 about"


def with_checksum(body: str) -> str:
    return f"{body}#{hd.descriptor_checksum(body)}"


def test_bip380_checksum_examples():
    assert hd.descriptor_checksum("raw(deadbeef)") == "89f8spxm"
    for bad in (
        "raw(deadbeef)#",
        "raw(deadbeef)#89f8spxmx",
        "raw(deadbeef)#89f8spx",
        "raw(deedbeef)#89f8spxm",
        "raw(deadbeef)##9f8spxm",
        "raw(deadbeef)#89f8spxn",
    ):
        body, _, checksum = bad.partition("#")
        assert checksum != hd.descriptor_checksum(body), bad
    with pytest.raises(ValueError):
        hd.descriptor_checksum("raw(Ü)")


def test_bip86_taproot_addresses_internal_and_output_keys():
    key = hd.parse_account_key(BIP86_ACCOUNT_XPUB, "bitcoin")
    branch = key.node.child(0)
    for index, (internal, output, address) in enumerate(BIP86_RECEIVE):
        point = branch.child(index).point
        assert point.x.to_bytes(32, "big").hex() == internal
        assert hd.taproot_output_key(point).hex() == output
        assert hd.receive_address(key, index, script_type=hd.P2TR) == address


@pytest.mark.parametrize("hardened", ["h", "'"])
def test_a_taproot_descriptor_gives_the_bip86_addresses(hardened):
    h = hardened
    text = with_checksum(f"tr([{FINGERPRINT}/86{h}/0{h}/0{h}]{BIP86_ACCOUNT_XPUB}/0/*)")
    parsed = hd.parse_descriptor(text, "bitcoin")
    assert parsed.script_type == hd.P2TR
    assert hd.receive_addresses(parsed.key, 0, 2, script_type=parsed.script_type) == [a for _, _, a in BIP86_RECEIVE]


@pytest.mark.parametrize(
    ("body", "script_type", "first"),
    [
        (f"wpkh([{FINGERPRINT}/84h/0h/0h]{{key}}/0/*)", hd.P2WPKH, "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"),
        (f"sh(wpkh([{FINGERPRINT}/49h/0h/0h]{{key}}/0/*))", hd.P2SH_P2WPKH, "37VucYSaXLCAsxYyAPfbSi9eh4iEcbShgf"),
        (f"pkh([{FINGERPRINT}/44h/0h/0h]{{key}}/0/*)", hd.P2PKH, "1LqBGSKuX5yYUonjxT5qGfpUsXKYYWeabA"),
    ],
)
def test_the_descriptor_function_gives_the_address_type_whatever_the_prefix(body, script_type, first):
    """Core exports every type's account key as a plain xpub: the function says the type."""
    accounts = {hd.P2WPKH: ZPUB, hd.P2SH_P2WPKH: YPUB, hd.P2PKH: XPUB_BIP44}
    xpub = _as_xpub(accounts[script_type])
    parsed = hd.parse_descriptor(with_checksum(body.format(key=xpub)), "bitcoin")
    assert parsed.script_type == script_type
    assert hd.receive_address(parsed.key, 0, script_type=parsed.script_type) == first


def _as_xpub(slip132: str) -> str:
    raw = hd.b58check_decode(slip132)
    return hd.b58check_encode(bytes.fromhex("0488b21e") + raw[4:])


def test_sparrows_multipath_receive_and_change_form_is_accepted():
    text = with_checksum(f"wpkh([{FINGERPRINT}/84'/0'/0']{_as_xpub(ZPUB)}/<0;1>/*)")
    parsed = hd.parse_descriptor(text, "bitcoin")
    assert hd.receive_address(parsed.key, 0, script_type=parsed.script_type) == "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu"


def refused(text: str, family: str = "bitcoin") -> hd.KeyRefused:
    with pytest.raises(hd.KeyRefused) as caught:
        hd.parse_descriptor(text, family)
    assert text.split("#")[0][5:40] not in caught.value.message
    return caught.value


def test_a_wrong_checksum_is_refused():
    good = with_checksum(f"tr({BIP86_ACCOUNT_XPUB}/0/*)")
    wrong = good[:-1] + ("q" if good[-1] != "q" else "p")
    assert "checksum does not match" in refused(wrong).message
    assert "no checksum" in refused(good.split("#")[0]).message


def test_a_private_descriptor_is_refused_like_a_private_key():
    wif = "L4rK1yDtCWekvXuE6oXD9jCYfFNV2cWRpVuPLBcCU2z8TrisoyY1"  # a mainnet WIF (private key)
    for text in (
        with_checksum(f"tr({BIP86_ACCOUNT_XPRV}/0/*)"),
        f"wpkh({BIP86_ACCOUNT_XPRV}/0/*)#aaaaaaaa",
        with_checksum(f"wpkh({wif})"),
        f"pkh([{FINGERPRINT}/44h/0h/0h]{wif})",
    ):
        error = refused(text)
        assert error.private and "private key" in error.message


def test_a_change_descriptor_is_explained():
    error = refused(with_checksum(f"wpkh([{FINGERPRINT}/84h/0h/0h]{_as_xpub(ZPUB)}/1/*)"))
    assert "change descriptor" in error.message and "/0/*" in error.message


@pytest.mark.parametrize(
    "body",
    [
        f"wsh(multi(1,{BIP86_ACCOUNT_XPUB}/0/*,{BIP86_ACCOUNT_XPUB}/1/*))",
        f"tr({BIP86_ACCOUNT_XPUB}/0/*,pk({BIP86_ACCOUNT_XPUB}/1/*))",
        f"wpkh({BIP86_ACCOUNT_XPUB}/0/*h)",
        f"wpkh({BIP86_ACCOUNT_XPUB}/0/0/*)",
        f"wpkh({BIP86_ACCOUNT_XPUB})",
        "addr(bc1p5cyxnuxmeuwuvkwfem96lqzszd02n6xdcjrs20cac6yqjjwudpxqkedrcr)",
    ],
)
def test_other_descriptors_are_refused_with_a_reason(body):
    assert refused(with_checksum(body)).message


def test_a_mainnet_descriptor_is_refused_for_a_test_network():
    error = refused(with_checksum(f"tr({BIP86_ACCOUNT_XPUB}/0/*)"), "bitcoin-regtest")
    assert "mainnet key" in error.message


# -- through the wallet service ----------------------------------------------------------


@pytest.mark.django_db
def test_a_pasted_descriptor_sets_the_key_and_its_address_type(project):
    from chain import wallets

    text = with_checksum(f"tr([{FINGERPRINT}/86h/0h/0h]{BIP86_ACCOUNT_XPUB}/0/*)")
    wallet = wallets.wallet_set(project=project, family="bitcoin", xpub=text)
    assert (wallet.xpub, wallet.script_type) == (BIP86_ACCOUNT_XPUB, hd.P2TR)
    assert wallets.addresses_preview(wallet, 2) == [a for _, _, a in BIP86_RECEIVE]
    assert wallets.address_allocate(project=project, family="bitcoin").address == BIP86_RECEIVE[0][2]


@pytest.mark.django_db
def test_an_address_type_that_contradicts_the_descriptor_is_refused(project):
    from chain import wallets
    from chain.models import Wallet

    text = with_checksum(f"wpkh([{FINGERPRINT}/84h/0h/0h]{_as_xpub(ZPUB)}/0/*)")
    with pytest.raises(wallets.WalletError, match="leave the address type on automatic"):
        wallets.wallet_set(project=project, family="bitcoin", xpub=text, script_type=hd.P2PKH)
    assert not Wallet.objects.filter(project=project).exists()
    assert wallets.wallet_set(project=project, family="bitcoin", xpub=text, script_type=hd.P2WPKH).script_type == hd.P2WPKH


@pytest.mark.django_db
def test_a_private_descriptor_leaves_no_trace(project, caplog):
    from chain import wallets
    from chain.models import Wallet

    text = with_checksum(f"tr([{FINGERPRINT}/86h/0h/0h]{BIP86_ACCOUNT_XPRV}/0/*)")
    with pytest.raises(wallets.WalletError) as caught:
        wallets.wallet_set(project=project, family="bitcoin", xpub=text)
    assert caught.value.private
    assert not Wallet.objects.filter(project=project).exists()
    assert BIP86_ACCOUNT_XPRV[:20] not in caplog.text


@pytest.mark.django_db
def test_a_mistyped_descriptor_is_a_form_error_on_the_wallets_page(merchant_client, project):
    from django.urls import reverse

    from chain.models import Wallet

    good = with_checksum(f"tr([{FINGERPRINT}/86h/0h/0h]{BIP86_ACCOUNT_XPUB}/0/*)")
    wrong = good[:-1] + ("q" if good[-1] != "q" else "p")
    response = merchant_client.post(reverse("chain:wallet_key_set", args=[project.pk, "bitcoin"]), {"xpub": wrong})
    page = response.content.decode()
    assert response.status_code == 400
    assert "checksum does not match" in page
    assert BIP86_ACCOUNT_XPUB not in page  # never echoed back
    assert not Wallet.objects.filter(project=project).exists()

    response = merchant_client.post(reverse("chain:wallet_key_set", args=[project.pk, "bitcoin"]), {"xpub": good}, follow=True)
    assert "Taproot (BIP86)" in response.content.decode()
    assert BIP86_RECEIVE[0][2] in response.content.decode()
