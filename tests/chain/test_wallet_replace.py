"""Replacing a wallet key after it handed out addresses: the old key is retired, not
deleted, and everything already shown to customers keeps working. Services, the
Wallets page, checkout, the scanner on a real anvil, and the database's rules."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, connections, transaction
from django.test import Client
from django.urls import reverse

from chain import catalogue, hd, wallets
from chain.models import DepositAddress, Wallet
from links.models import LinkStatus
from tests.chain.test_hd import EVM_XPUB, MNEMONIC, VPUB, ZPRV, ZPUB
from tests.links.pay_support import make_link, make_quote, mark_scanned

pytestmark = pytest.mark.django_db

# The same public test phrase, accounts m/44'/60'/1' and m/44'/60'/2': the keys a merchant
# moving to a new account (or a new wallet) would paste.
EVM_XPUB_1 = "xpub6DCoCpSuQZB2k9PnGSMK9tinTK8kx3hcv7F4BWwhs5N2wnwGiLg17r9J7j2JcYP9gkip3sC87J1F99YxeBHGuFMg6ejA8qQEKSuzzaKvqBR"
EVM_XPUB_1_ADDRESSES = ["0x78839F6054d7ed13918bAe0473BA31b1Ca9D7265", "0x61C1a3DD47433e58033cc812E520C0fFd9007198"]
EVM_XPUB_2 = "xpub6DCoCpSuQZB2ot5sZMhVj1zbCa9smR2h7YGPfJjzjauzsnCqqp8GHwUQTDMrFK2gExmmpCjspBVanYdRaTg3H1eyxyG1ddXfZyNT2JRAYWk"
ZPUB_1 = "zpub6rFR7y4Q2AijF6Gk1bofHLs1d66hKFamhXWdWBup1Em25wfabZqkDqvaieV63fDQFaYmaatCG7jVNUpUiM2hAMo6SAVHcrUpSnHDpNzucB7"
# ZPUB's account (m/84'/0'/0') exported with the "xpub" prefix, as some wallets do.
ZPUB_AS_XPUB = "xpub6CatWdiZiodmUeTDp8LT5or8nmbKNcuyvz7WyksVFkKB4RHwCD3XyuvPEbvqAQY3rAPshWcMLoP2fMFMKHPJ4ZeZXYVUhLv1VMrjPC7PW6V"
FIRST_ADDRESS = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"  # EVM_XPUB's #0

PAGE = reverse("chain:wallets")


def replace_url(project, family: str = "evm") -> str:
    return reverse("chain:wallet_key_replace", args=[project.pk, family])


def used_evm_wallet(project, addresses: int = 3) -> Wallet:
    wallet = wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    for _ in range(addresses):
        wallets.address_allocate(project=project, family="evm")
    wallet.refresh_from_db()
    return wallet


# --- services ---------------------------------------------------------------------------


def test_replacing_a_used_key_retires_it_and_new_addresses_start_at_index_0_of_the_new_key(project):
    old = used_evm_wallet(project)
    old_addresses = list(DepositAddress.objects.filter(wallet=old).order_by("index").values_list("address", flat=True))

    new = wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=old.pk)

    old.refresh_from_db()
    assert old.retired_at is not None and old.next_index == 3 and old.xpub == EVM_XPUB  # kept as it was
    assert new.pk != old.pk and new.retired_at is None and new.next_index == 0
    assert wallets.wallet_get(project=project, family="evm") == new
    assert list(DepositAddress.objects.filter(wallet=old).order_by("index").values_list("address", flat=True)) == old_addresses
    fresh = [wallets.address_allocate(project=project, family="evm") for _ in range(2)]
    assert [(a.wallet_id, a.index, a.address) for a in fresh] == [
        (new.pk, 0, EVM_XPUB_1_ADDRESSES[0]),
        (new.pk, 1, EVM_XPUB_1_ADDRESSES[1]),
    ]
    # The unused gap is the new key's: its wallet app scans its own addresses.
    assert wallets.unused_gap(project, "evm") == 2
    assert wallets.unused_gap(project, "evm", wallet=old) == 3


def test_a_key_can_be_replaced_again_and_every_retired_key_stays(project):
    first = used_evm_wallet(project, 1)
    second = wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=first.pk)
    wallets.address_allocate(project=project, family="evm")
    third = wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_2, current=second.pk)
    rows = Wallet.objects.filter(project=project).order_by("id")
    assert [(w.pk, w.retired_at is None) for w in rows] == [(first.pk, False), (second.pk, False), (third.pk, True)]


def test_the_check_stores_nothing_and_says_what_replacing_does(project, member):
    old = used_evm_wallet(project, 2)
    link = make_link(project, member)
    link.deposit_addresses.add(DepositAddress.objects.get(wallet=old, index=0))
    replacement = wallets.wallet_replace_check(project=project, family="evm", xpub=f" {EVM_XPUB_1}\n")
    assert replacement.current == old
    assert (replacement.xpub, replacement.script_type) == (EVM_XPUB_1, "evm")
    assert replacement.preview == [*EVM_XPUB_1_ADDRESSES, replacement.preview[2]]
    assert replacement.open_links == 1
    assert Wallet.objects.filter(project=project).count() == 1
    assert Wallet.objects.get(project=project).retired_at is None


def test_an_unused_key_is_overwritten_not_retired(project):
    wallet = wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    replaced = wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=wallet.pk)
    assert replaced.pk == wallet.pk and replaced.xpub == EVM_XPUB_1
    assert Wallet.objects.filter(project=project).count() == 1


def test_setting_over_a_used_key_asks_for_a_replacement_and_changes_nothing(project):
    old = used_evm_wallet(project)
    with pytest.raises(wallets.KeyInUse, match="already handed out") as err:
        wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB_1)
    assert err.value.wallet == old
    assert list(Wallet.objects.filter(project=project).values_list("xpub", "retired_at")) == [(EVM_XPUB, None)]


@pytest.mark.parametrize(("secret", "family"), [(ZPRV, "bitcoin"), (MNEMONIC, "evm")])
def test_private_key_or_seed_is_refused_on_replace_and_leaves_no_trace(project, secret, family, caplog):
    caplog.set_level(logging.DEBUG)
    xpub = ZPUB if family == "bitcoin" else EVM_XPUB
    wallet = wallets.wallet_set(project=project, family=family, xpub=xpub)
    wallets.address_allocate(project=project, family=family)
    for attempt in (
        lambda: wallets.wallet_replace_check(project=project, family=family, xpub=secret),
        lambda: wallets.wallet_replace(project=project, family=family, xpub=secret, current=wallet.pk),
    ):
        with pytest.raises(wallets.WalletError) as err:
            attempt()
        assert err.value.private and secret not in str(err.value)
    assert list(Wallet.objects.values_list("xpub", "retired_at")) == [(xpub, None)]
    assert secret not in caplog.text and secret.split()[0][:12] not in caplog.text


def test_wrong_network_key_is_refused_on_replace(project):
    wallets.wallet_set(project=project, family="bitcoin", xpub=ZPUB)
    wallets.address_allocate(project=project, family="bitcoin")
    with pytest.raises(wallets.WalletError, match="test-network key"):
        wallets.wallet_replace_check(project=project, family="bitcoin", xpub=VPUB)
    with pytest.raises(wallets.WalletError, match="Bitcoin zpub"):
        wallets.wallet_replace_check(project=project, family="evm", xpub=ZPUB)


def test_a_retired_key_cannot_come_back_to_its_project(project):
    old = used_evm_wallet(project, 1)
    new = wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=old.pk)
    with pytest.raises(wallets.WalletError, match="retired from this project on"):
        wallets.wallet_replace_check(project=project, family="evm", xpub=EVM_XPUB)
    with pytest.raises(wallets.WalletError, match="retired from this project on"):
        wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB, current=new.pk)
    with pytest.raises(wallets.WalletError, match="retired from this project on"):
        wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)  # the new key is unused: a plain set
    assert wallets.wallet_get(project=project, family="evm") == new


def test_a_retired_bitcoin_account_under_another_prefix_cannot_come_back(project):
    old = wallets.wallet_set(project=project, family="bitcoin", xpub=ZPUB)
    wallets.address_allocate(project=project, family="bitcoin")
    new = wallets.wallet_replace(project=project, family="bitcoin", xpub=ZPUB_1, current=old.pk)
    with pytest.raises(wallets.WalletError, match="retired"):
        wallets.wallet_replace(project=project, family="bitcoin", xpub=ZPUB_AS_XPUB, script_type="p2wpkh", current=new.pk)


def test_a_retired_key_still_belongs_to_its_project(project, other_project):
    old = used_evm_wallet(project, 1)
    wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=old.pk)
    with pytest.raises(wallets.WalletError, match="can't be used for this project"):
        wallets.wallet_set(project=other_project, family="evm", xpub=EVM_XPUB)


def test_the_same_key_again_is_nothing_to_replace(project):
    old = used_evm_wallet(project, 1)
    with pytest.raises(wallets.WalletError, match="nothing to replace"):
        wallets.wallet_replace_check(project=project, family="evm", xpub=EVM_XPUB)
    assert wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB, current=old.pk) == old
    assert not Wallet.objects.filter(retired_at__isnull=False).exists()


def test_the_current_key_with_another_address_type_is_refused_once_used(project):
    old = wallets.wallet_set(project=project, family="bitcoin", xpub=ZPUB_AS_XPUB)  # legacy addresses, by its prefix
    wallets.address_allocate(project=project, family="bitcoin")
    with pytest.raises(wallets.WalletError, match="paste the same account exported for that type"):
        wallets.wallet_replace(project=project, family="bitcoin", xpub=ZPUB_AS_XPUB, script_type="p2wpkh", current=old.pk)
    # The same account as a zpub derives other (native SegWit) addresses: a replacement.
    new = wallets.wallet_replace(project=project, family="bitcoin", xpub=ZPUB, current=old.pk)
    assert new.script_type == "p2wpkh" and wallets.address_allocate(project=project, family="bitcoin").index == 0


def test_a_stale_confirmation_is_refused(project):
    old = used_evm_wallet(project, 1)
    new = wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=old.pk)
    # A second tab confirms replacing the key that is already retired, with another key.
    with pytest.raises(wallets.KeyChanged, match="changed meanwhile"):
        wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_2, current=old.pk)
    # A double submit of the same confirmation gets the wallet the first one made.
    assert wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=old.pk) == new
    assert Wallet.objects.filter(project=project).count() == 2


def test_replacing_without_a_key_says_save_one(project):
    with pytest.raises(wallets.NoWallet, match="Save one"):
        wallets.wallet_replace_check(project=project, family="evm", xpub=EVM_XPUB)


def test_the_audit_line_names_the_keys_by_fingerprint_only(project, merchant, caplog):
    caplog.set_level(logging.INFO, logger="chain.wallets")
    old = used_evm_wallet(project, 3)
    caplog.clear()
    new = wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=old.pk, by=merchant)
    [record] = [r for r in caplog.records if r.name == "chain.wallets"]
    line = record.getMessage()
    assert f"user {merchant.pk}" in line and f"project {project.pk} evm" in line
    assert f"retired wallet {old.pk}" in line and "addresses handed out: 3" in line and f"active wallet {new.pk}" in line
    assert hd.parse_account_key(EVM_XPUB, "evm").fingerprint in line
    assert "fingerprint 9f58a406" in line  # EVM_XPUB_1's
    for key in (EVM_XPUB, EVM_XPUB_1):
        assert key not in caplog.text and key[-12:] not in caplog.text


# --- the database's rules -----------------------------------------------------------------


def test_two_active_wallets_for_one_family_are_impossible(project):
    Wallet.objects.create(project=project, family="evm", xpub="test-key-a", script_type="evm")
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.create(project=project, family="evm", xpub="test-key-b", script_type="evm")
    # Retired ones beside the active one are fine; a key is still never stored twice.
    Wallet.objects.create(project=project, family="evm", xpub="test-key-c", script_type="evm", retired_at="2026-01-01T00:00Z")
    Wallet.objects.create(project=project, family="evm", xpub="test-key-d", script_type="evm", retired_at="2026-02-01T00:00Z")
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.create(project=project, family="evm", xpub="test-key-c", script_type="evm", retired_at="2026-03-01T00:00Z")
    with pytest.raises(IntegrityError), transaction.atomic():
        Wallet.objects.filter(xpub="test-key-d").update(retired_at=None)
    assert Wallet.objects.active().filter(project=project).count() == 1


def _run_together(target, args_list) -> list[BaseException]:
    start = threading.Barrier(len(args_list))
    errors: list[BaseException] = []

    def run(*args) -> None:
        try:
            start.wait(timeout=10)
            target(*args)
        except BaseException as exc:  # noqa: BLE001 - returned to the test
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=args) for args in args_list]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_replacements_leave_one_active_key(project):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises every write with one file lock; the race this test provokes needs PostgreSQL")
    old = used_evm_wallet(project, 2)
    keys = [EVM_XPUB_1, EVM_XPUB_2] * 3  # two merchants' tabs, each confirming a different key three times

    def replace(xpub: str) -> None:
        wallets.wallet_replace(project=project, family="evm", xpub=xpub, current=old.pk)

    errors = _run_together(replace, [(k,) for k in keys])
    assert all(isinstance(e, wallets.KeyChanged) for e in errors), errors
    active = Wallet.objects.active().get(project=project, family="evm")  # exactly one
    assert active.xpub in (EVM_XPUB_1, EVM_XPUB_2)
    winners = keys.count(active.xpub)
    assert len(errors) == len(keys) - winners  # the winner's double submits got its wallet back
    old.refresh_from_db()
    assert old.retired_at is not None
    assert Wallet.objects.filter(project=project).count() == 2


@pytest.mark.django_db(transaction=True)
def test_allocations_racing_a_replacement_stay_gap_free_on_both_keys(project):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite serialises every write with one file lock; the race this test provokes needs PostgreSQL")
    old = used_evm_wallet(project, 1)

    def work(kind: str) -> None:
        if kind == "replace":
            wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=old.pk)
        else:
            for _ in range(5):
                wallets.address_allocate(project=project, family="evm", purpose="race")

    errors = _run_together(work, [("allocate",)] * 8 + [("replace",)])
    assert errors == []
    new = Wallet.objects.active().get(project=project, family="evm")
    for wallet in (Wallet.objects.get(pk=old.pk), new):
        indexes = sorted(DepositAddress.objects.filter(wallet=wallet).values_list("index", flat=True))
        assert indexes == list(range(wallet.next_index))
    assert DepositAddress.objects.filter(project=project).count() == 1 + 8 * 5
    assert new.xpub == EVM_XPUB_1


# --- checkout: open quotes keep their address, new quotes use the new key -----------------


@pytest.fixture
def shop(project, monkeypatch, settings):
    """The project taking USDC on the devnet (no node asked), with a used EVM key."""
    from django.core.cache import cache

    monkeypatch.setenv("PAYRAM_RPC_DEVNET", "http://127.0.0.1:1")
    monkeypatch.delenv("PAYRAM_RPC_BASE", raising=False)
    catalogue.reload()
    mark_scanned("devnet")
    settings.PAYRAM_PRICE_SOURCES = "fixed"
    settings.PAYRAM_FIXED_RATES = "ETH=3000,BTC=60000"
    cache.clear()
    wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    yield project
    monkeypatch.undo()
    catalogue.reload()
    cache.clear()


def test_open_quote_keeps_its_address_and_new_quotes_use_the_new_key(shop, member):
    from links.checkout import available_assets, quote_create

    open_link = make_link(shop, member)
    old_quote = quote_create(link=open_link, network="devnet", asset="USDC")
    assert old_quote.deposit_address.address == FIRST_ADDRESS
    old = wallets.wallet_get(project=shop, family="evm")

    wallets.wallet_replace(project=shop, family="evm", xpub=EVM_XPUB_1, current=old.pk)

    assert "devnet:USDC" in {c.key for c in available_assets(open_link)}
    # The same quote is still the link's; switching coin or refreshing keeps the old-key address.
    assert quote_create(link=open_link, network="devnet", asset="USDC").pk == old_quote.pk
    switched = quote_create(link=open_link, network="devnet", asset="ETH")
    assert switched.deposit_address_id == old_quote.deposit_address_id
    from links.models import Quote

    Quote.objects.filter(link=open_link).update(expires_at=old_quote.created_at - timedelta(minutes=1))
    refreshed = quote_create(link=open_link, network="devnet", asset="USDC")
    assert refreshed.pk != old_quote.pk and refreshed.deposit_address.address == FIRST_ADDRESS

    new_link = make_link(shop, member, description="after the new key")
    new_quote = quote_create(link=new_link, network="devnet", asset="USDC")
    assert (new_quote.deposit_address.address, new_quote.deposit_address.index) == (EVM_XPUB_1_ADDRESSES[0], 0)


def test_a_deposit_to_a_retired_key_address_still_pays_its_link(shop, member):
    from tests.links.pay_support import deposit

    link = make_link(shop, member)
    old = wallets.wallet_get(project=shop, family="evm")
    address = wallets.address_allocate(project=shop, family="evm")
    link.deposit_addresses.add(address)
    make_quote(link, address)
    wallets.wallet_replace(project=shop, family="evm", xpub=EVM_XPUB_1, current=old.pk)
    deposit(address, 25_000_000)
    link.refresh_from_db()
    assert (link.status, link.amount_received) == (LinkStatus.SUCCESSFUL, Decimal(25_000_000))


@pytest.mark.anvil
def test_scan_network_still_detects_a_payment_to_a_retired_key_address(shop, member, devnet):
    """The merchant replaces the key while a customer's quote is open on the old one; the
    customer pays that old address on a real chain, and the scanner credits the link."""
    from chain.models import Deposit
    from chain.scanner import scan_network
    from links.checkout import quote_create

    link = make_link(shop, member)
    quote = quote_create(link=link, network="devnet", asset="USDC")
    old_address = quote.deposit_address
    wallets.wallet_replace(project=shop, family="evm", xpub=EVM_XPUB_1, current=old_address.wallet_id)
    new_link = make_link(shop, member, description="after the new key")
    new_quote = quote_create(link=new_link, network="devnet", asset="USDC")
    assert new_quote.deposit_address.wallet.retired_at is None and new_quote.deposit_address.index == 0

    devnet.send_token(old_address.address, int(quote.amount_due))
    devnet.send_token(new_quote.deposit_address.address, int(new_quote.amount_due))
    devnet.mine(catalogue.get("devnet").confirmations)
    result = scan_network("devnet")

    assert result.ok and result.new_deposits == 2
    assert Deposit.objects.get(address=old_address).value == quote.amount_due
    for paid in (link, new_link):
        paid.refresh_from_db()
        assert (paid.status, paid.status_detail) == (LinkStatus.SUCCESSFUL, "paid")


# --- the Wallets page -------------------------------------------------------------------


def test_the_page_replaces_a_used_key_in_two_steps(merchant_client, project, member):
    old = used_evm_wallet(project, 3)
    link = make_link(project, member)
    link.deposit_addresses.add(DepositAddress.objects.get(wallet=old, index=2))
    html = merchant_client.get(PAGE).content.decode()
    assert replace_url(project) in html and "Review replacement" in html

    # Step 1: the new key is checked and its first addresses shown; nothing changes yet.
    response = merchant_client.post(replace_url(project), {"xpub": EVM_XPUB_1})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Replace this key?" in html
    for address in EVM_XPUB_1_ADDRESSES:
        assert address in html
    assert "Open quotes keep their old addresses." in html
    assert "1 open payment link already shows an address of the current key and keeps it" in html
    assert "the 3 addresses it handed out stay watched" in html
    assert f'name="current" value="{old.pk}"' in html
    assert list(Wallet.objects.values_list("pk", "retired_at")) == [(old.pk, None)]

    # Step 2: confirmed.
    response = merchant_client.post(replace_url(project), {"xpub": EVM_XPUB_1, "current": old.pk, "confirm": "yes"}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "key replaced for Corner Shop" in html and "still watched" in html
    assert EVM_XPUB_1_ADDRESSES[0] in html  # the active key's first address, to compare
    assert "Retired key" in html and "3 addresses (#0–#2)" in html
    assert hd.shorten(EVM_XPUB) in html
    old.refresh_from_db()
    assert old.retired_at is not None
    assert wallets.wallet_get(project=project, family="evm").xpub == EVM_XPUB_1
    assert html.index("First receive addresses") < html.index("Retired key")  # below the active one


def test_saving_over_a_used_key_leads_to_the_confirmation(merchant_client, project):
    used_evm_wallet(project, 1)
    response = merchant_client.post(reverse("chain:wallet_key_set", args=[project.pk, "evm"]), {"xpub": EVM_XPUB_1})
    assert response.status_code == 200
    assert "Replace this key?" in response.content.decode()
    assert not Wallet.objects.filter(retired_at__isnull=False).exists()


@pytest.mark.parametrize("confirm", [False, True])
def test_private_key_is_refused_on_the_replace_page_and_never_echoed(merchant_client, project, confirm, caplog):
    caplog.set_level(logging.DEBUG)
    old = used_evm_wallet(project, 1)
    data = {"xpub": MNEMONIC, **({"current": old.pk, "confirm": "yes"} if confirm else {})}
    response = merchant_client.post(replace_url(project), data)
    assert response.status_code == 400
    html = response.content.decode()
    assert "payram never needs it" in html and "errorlist" in html
    assert MNEMONIC not in html and MNEMONIC[:24] not in html
    assert MNEMONIC[:24] not in caplog.text
    assert list(Wallet.objects.values_list("xpub", "retired_at")) == [(EVM_XPUB, None)]


def test_a_stale_confirmation_on_the_page_is_a_field_error(merchant_client, project):
    old = used_evm_wallet(project, 1)
    new = wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=old.pk)
    response = merchant_client.post(replace_url(project), {"xpub": EVM_XPUB_2, "current": old.pk, "confirm": "yes"})
    assert response.status_code == 400
    assert "changed meanwhile" in response.content.decode()
    assert wallets.wallet_get(project=project, family="evm") == new


def test_another_merchants_project_is_404_on_replace(merchant_client, project, other_project):
    old = used_evm_wallet(other_project, 1)
    assert merchant_client.post(replace_url(other_project), {"xpub": EVM_XPUB_1}).status_code == 404
    confirm = {"xpub": EVM_XPUB_1, "current": old.pk, "confirm": "yes"}
    assert merchant_client.post(replace_url(other_project), confirm).status_code == 404
    # Naming the other merchant's wallet from one's own project replaces nothing either.
    own = wallets.wallet_set(project=project, family="evm", xpub=EVM_XPUB_2)
    wallets.address_allocate(project=project, family="evm")
    assert merchant_client.post(replace_url(project), confirm).status_code == 400
    assert list(Wallet.objects.filter(retired_at__isnull=False)) == []
    assert wallets.wallet_get(project=project, family="evm") == own
    assert merchant_client.post(replace_url(project, "dogecoin"), {"xpub": EVM_XPUB_1}).status_code == 404


def test_replace_needs_csrf_post_and_sign_in(client, merchant, project):
    old = used_evm_wallet(project, 1)
    confirm = {"xpub": EVM_XPUB_1, "current": old.pk, "confirm": "yes"}
    csrf_client = Client(enforce_csrf_checks=True)
    csrf_client.force_login(merchant)
    assert csrf_client.post(replace_url(project), confirm).status_code == 403
    anonymous = client.post(replace_url(project), confirm)
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]
    client.force_login(merchant)
    assert client.get(replace_url(project)).status_code == 405
    assert not Wallet.objects.filter(retired_at__isnull=False).exists()


def test_checkout_and_link_page_see_the_active_key(merchant_client, project, member):
    old = used_evm_wallet(project, 1)
    wallets.wallet_replace(project=project, family="evm", xpub=EVM_XPUB_1, current=old.pk)
    link = make_link(project, member)
    response = merchant_client.get(reverse("links:detail", args=[link.code]))
    assert response.status_code == 200
    assert response.context["project_has_wallet"] is True
