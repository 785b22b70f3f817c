"""Wallet services: keys are validated before anything is stored, refused secrets leave
no trace, and address allocation hands out distinct gap-free indexes under concurrency."""

from __future__ import annotations

import logging
import threading

import pytest
from django.db import connection, connections

from chain import wallets
from chain.models import Deposit, DepositAddress, Wallet
from tests.chain.test_hd import EVM_XPUB, MNEMONIC, VPUB, XPUB_BIP44, YPUB, ZPRV, ZPUB

pytestmark = pytest.mark.django_db


def test_wallet_set_stores_the_key_and_its_address_type(project):
    wallet = wallets.wallet_set(project=project, family="bitcoin", xpub=f"  {ZPUB} ")
    assert (wallet.xpub, wallet.script_type, wallet.next_index) == (ZPUB, "p2wpkh", 0)
    assert wallets.addresses_preview(wallet) == [
        "bc1qcr8te4kr609gcawutmrza0j4xv80jy8z306fyu",
        "bc1qnjg0jd8228aq7egyzacy8cys3knf9xvrerkf9g",
        "bc1qp59yckz4ae5c4efgw2s5wfyvrz0ala7rgvuz8z",
    ]


def test_wallet_set_replaces_an_unused_key(project):
    wallets.wallet_set(project=project, family="bitcoin", xpub=ZPUB)
    wallet = wallets.wallet_set(project=project, family="bitcoin", xpub=YPUB)
    assert Wallet.objects.filter(project=project).count() == 1
    assert (wallet.xpub, wallet.script_type) == (YPUB, "p2sh-p2wpkh")


def test_wallet_set_keeps_a_key_that_has_handed_out_addresses(project):
    wallets.wallet_set(project=project, family="bitcoin", xpub=ZPUB)
    wallets.address_allocate(project=project, family="bitcoin")
    with pytest.raises(wallets.WalletError, match="already handed out"):
        wallets.wallet_set(project=project, family="bitcoin", xpub=YPUB)
    assert Wallet.objects.get(project=project).xpub == ZPUB
    # Pasting the same key again is fine.
    assert wallets.wallet_set(project=project, family="bitcoin", xpub=ZPUB).next_index == 1


def test_a_key_used_by_another_project_is_refused(project, other_project):
    wallets.wallet_set(project=other_project, family="evm", xpub=EVM_XPUB)
    with pytest.raises(wallets.WalletError, match="can't be used for this project") as refused:
        wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    assert not Wallet.objects.filter(project=project).exists()
    # Another merchant's key: refused without saying that someone else on the server has it.
    message = str(refused.value)
    assert "another project" not in message and "already used" not in message and other_project.name not in message


def test_a_key_used_by_the_merchants_own_other_project_names_it(project, merchant):
    from members.models import Project

    second = Project.objects.create(name="Second Shop")
    second.owners.add(merchant)
    wallets.wallet_set(project=second, family="evm", xpub=EVM_XPUB)
    with pytest.raises(wallets.WalletError, match="already used by your project \u201cSecond Shop\u201d"):
        wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)


def test_the_same_account_under_another_prefix_is_refused_for_another_project(project, other_project):
    wallets.wallet_set(project=other_project, family="bitcoin", xpub=XPUB_BIP44, script_type="p2wpkh")
    from chain.management.commands.xpub_from_seed import PrivateNode, mnemonic_to_seed

    same_as_zpub = PrivateNode.from_seed(mnemonic_to_seed(MNEMONIC)).derive("m/44'/0'/0'").extended_public_key("zpub")
    with pytest.raises(wallets.WalletError, match="can't be used for this project"):
        wallets.wallet_set(project=project, family="bitcoin", xpub=same_as_zpub)
    # The same account for a different address type derives different addresses: allowed.
    wallets.wallet_set(project=project, family="bitcoin", xpub=same_as_zpub, script_type="p2pkh")


def test_script_type_override(project):
    wallet = wallets.wallet_set(project=project, family="bitcoin", xpub=XPUB_BIP44, script_type="p2wpkh")
    assert wallets.addresses_preview(wallet, 1)[0].startswith("bc1q")
    with pytest.raises(wallets.WalletError, match="address type"):
        wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB, script_type="p2wpkh")


@pytest.mark.parametrize(
    ("secret", "family"),
    [
        (ZPRV, "bitcoin"),
        (MNEMONIC, "evm"),
        ("0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318", "evm"),
        ("KwDiBf89QgGbjEhKnhXJuH7LrciVrZi3qYjgd9M7rFU73sVHnoWn", "bitcoin"),
    ],
)
def test_private_material_is_refused_and_leaves_no_trace(project, secret, family, caplog):
    caplog.set_level(logging.DEBUG)
    with pytest.raises(wallets.WalletError) as err:
        wallets.wallet_set(project=project, family=family, xpub=secret)
    assert err.value.private
    assert secret not in str(err.value)
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert not Wallet.objects.exists()
    assert secret not in caplog.text and secret.split()[0][:12] not in caplog.text
    with connection.cursor() as cursor:
        for table in ("chain_wallet", "chain_depositaddress"):
            cursor.execute(f"SELECT * FROM {table}")  # noqa: S608 - fixed table names
            assert secret not in repr(cursor.fetchall())


def test_wrong_network_key_is_refused(project):
    with pytest.raises(wallets.WalletError, match="mainnet key"):
        wallets.wallet_set(project=project, family="bitcoin-regtest", xpub=ZPUB)
    with pytest.raises(wallets.WalletError, match="test-network key"):
        wallets.wallet_set(project=project, family="bitcoin", xpub=VPUB)
    assert not Wallet.objects.exists()


def test_address_allocate_remembers_what_it_was_for(project):
    wallets.wallet_set(project=project, family="bitcoin-regtest", xpub=VPUB)
    first = wallets.address_allocate(project=project, family="bitcoin-regtest", purpose="test deposit")
    second = wallets.address_allocate(project=project, family="bitcoin-regtest")
    assert (first.index, first.address, first.purpose, first.family, first.project_id) == (
        0,
        "bcrt1q6rz28mcfaxtmd6v789l9rrlrusdprr9pz3cppk",
        "test deposit",
        "bitcoin-regtest",
        project.pk,
    )
    assert (second.index, second.purpose) == (1, "payment link")
    assert Wallet.objects.get(project=project).next_index == 2


def test_address_allocate_for_evm_gives_the_metamask_accounts(project):
    wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    address = wallets.address_allocate(project=project, family="evm")
    assert address.address == "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"


def test_address_allocate_without_a_wallet_says_so(project):
    with pytest.raises(wallets.NoWallet, match="Wallets page"):
        wallets.address_allocate(project=project, family="evm")


def test_family_for_network_uses_the_catalogue():
    assert wallets.family_for_network("base") == "evm"
    assert wallets.family_for_network("bitcoin-signet") == "bitcoin-testnet"
    assert wallets.family_for_network("bitcoin-regtest") == "bitcoin-regtest"
    with pytest.raises(KeyError):
        wallets.family_for_network("dogecoin")


def _deposit(address: DepositAddress, n: int, *, orphaned: bool = False) -> Deposit:
    return Deposit.objects.create(
        network="devnet",
        asset="ETH",
        tx_hash=f"0x{n:064x}",
        index=0,
        address=address,
        value=1,
        orphaned=orphaned,
    )


def test_unused_gap_counts_the_latest_addresses_without_a_deposit(project):
    wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    assert wallets.unused_gap(project, "evm") == 0
    addresses = [wallets.address_allocate(project=project, family="evm") for _ in range(25)]
    assert wallets.unused_gap(project, "evm") == 25
    _deposit(addresses[2], 1)
    assert wallets.unused_gap(project, "evm") == 22
    _deposit(addresses[10], 2, orphaned=True)  # a deposit whose block left the chain does not count
    assert wallets.unused_gap(project, "evm") == 22
    assert wallets.gap_is_too_wide(project, "evm")
    assert wallets.wide_gaps([project]) == [(project, "evm", 22)]
    _deposit(addresses[4], 3)
    assert wallets.unused_gap(project, "evm") == 20
    assert not wallets.gap_is_too_wide(project, "evm")
    assert wallets.wide_gaps([project]) == []


def test_project_confirmations_set(project):
    saved = wallets.project_confirmations_set(project=project, thresholds={"base": 5, "ethereum": None, "bitcoin": 3})
    assert saved == {"base": 5}  # 3 is Bitcoin's default: nothing to override
    project.refresh_from_db()
    assert project.confirmation_overrides == {"base": 5}
    wallets.project_confirmations_set(project=project, thresholds={"polygon": 200})
    project.refresh_from_db()
    assert project.confirmation_overrides == {"base": 5, "polygon": 200}
    with pytest.raises(wallets.WalletError, match="at least 1"):
        wallets.project_confirmations_set(project=project, thresholds={"base": 0})
    with pytest.raises(wallets.WalletError, match="Unknown network"):
        wallets.project_confirmations_set(project=project, thresholds={"nope": 3})
    project.refresh_from_db()
    assert project.confirmation_overrides == {"base": 5, "polygon": 200}


@pytest.mark.django_db(transaction=True)
def test_200_concurrent_allocations_get_200_distinct_gap_free_indexes(project):
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite serialises every write with one file lock; the race this test provokes needs PostgreSQL (DATABASE_URL)"
        )
    wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    threads_count, per_thread = 40, 5  # 40 connections: below PostgreSQL's default limit of 100, shared with other test runs
    start = threading.Barrier(threads_count)
    errors: list[BaseException] = []

    def allocate() -> None:
        try:
            start.wait()
            for _ in range(per_thread):
                wallets.address_allocate(project=project, family="evm", purpose="concurrency")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=allocate) for _ in range(threads_count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    indexes = sorted(DepositAddress.objects.filter(project=project, family="evm").values_list("index", flat=True))
    assert indexes == list(range(200))
    assert DepositAddress.objects.filter(project=project).values("address").distinct().count() == 200
    assert Wallet.objects.get(project=project, family="evm").next_index == 200
