"""A merchant's own Bitcoin Core wallet, pasted as a descriptor: for each address type
Core creates (pkh, sh(wpkh), wpkh, tr), the receive descriptor from `listdescriptors`
pasted on the Wallets page makes payram hand out exactly Core's own addresses
(`deriveaddresses`), a payment to one is seen by the scanner, and Core's wallet counts it
as received: the merchant's wallet really watches what payram hands out. Real bitcoind
only (BITCOIND; bin/test sets it where the shared build exists)."""

from __future__ import annotations

import secrets
from decimal import Decimal

import pytest
from django.urls import reverse

from chain import hd
from chain.models import Deposit, Wallet
from chain.scanner import scan_network
from chain.wallets import address_allocate, addresses_preview

pytestmark = [pytest.mark.django_db, pytest.mark.bitcoind]

NETWORK = "bitcoin-regtest"


@pytest.mark.parametrize(
    ("prefix", "script_type"),
    [
        ("pkh(", hd.P2PKH),
        ("sh(wpkh(", hd.P2SH_P2WPKH),
        ("wpkh(", hd.P2WPKH),
        ("tr(", hd.P2TR),
    ],
)
def test_cores_receive_descriptor_gives_cores_addresses_and_cores_wallet_sees_the_payment(
    bitcoind,
    merchant_client,
    project,
    prefix,
    script_type,
):
    name = f"merchant-{script_type}-{secrets.token_hex(3)}"
    bitcoind.node_rpc.call("createwallet", name)
    merchant_wallet = bitcoind.rpc_for_wallet(name)
    [descriptor] = [
        d["desc"]
        for d in merchant_wallet.call("listdescriptors")["descriptors"]
        if d["desc"].startswith(prefix) and not d["internal"]
    ]

    response = merchant_client.post(
        reverse("chain:wallet_key_set", args=[project.pk, NETWORK]),
        {"xpub": descriptor},
        follow=True,
    )
    assert response.status_code == 200
    wallet = Wallet.objects.get(project=project, family=NETWORK)
    assert wallet.script_type == script_type
    cores_addresses = bitcoind.node_rpc.call("deriveaddresses", descriptor, [0, 2])
    assert addresses_preview(wallet, 3) == cores_addresses
    assert cores_addresses[0] in response.content.decode()  # the page shows them to compare

    to = address_allocate(project=project, family=NETWORK, purpose="test")
    assert to.address == cores_addresses[0]
    scan_network(NETWORK)
    txid = bitcoind.send(to.address, "0.01230000")
    bitcoind.mine()
    assert scan_network(NETWORK).ok
    [deposit] = Deposit.objects.filter(address=to)
    assert (deposit.tx_hash, deposit.value, deposit.confirmations) == (txid, Decimal(1_230_000), 1)
    assert merchant_wallet.call("getreceivedbyaddress", to.address) == Decimal("0.01230000")
    [received] = [r for r in merchant_wallet.call("listreceivedbyaddress") if r["address"] == to.address]
    assert received["txids"] == [txid]
