"""Checkout services: what a customer may pay with, and quotes (amount, rate, expiry and
the link's one deposit address per chain family)."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from chain.models import DepositAddress
from links.checkout import CheckoutError, PriceUnavailable, available_assets, quote_create
from links.models import LinkStatus, PaymentLink
from tests.links.pay_support import EVM_XPUB, deposit, make_link, make_shop, mark_scanned

# EVM_XPUB's first address (tests/security and test_checkout_browser import both from here).
FIRST_ADDRESS = "0x9858EfFD232B4033E47d90003D41EC34EcaEda94"


@pytest.fixture
def stall():
    """stall(slug): the network's scanner last succeeded an hour ago (chain.health: stalled)."""
    return lambda slug: mark_scanned(slug, ago=timedelta(hours=1))


@pytest.fixture
def shop(project, monkeypatch, settings):
    """The project with an EVM wallet, the devnet and Bitcoin enabled (no node is asked; Base
    off but scanned), fixed rates for the volatile coins."""
    yield from make_shop(project, monkeypatch, settings, networks=("devnet", "bitcoin"), scanned=("devnet", "bitcoin", "base"))


@pytest.fixture
def link(shop, member):
    return make_link(shop, member, amount="25.00")


pytestmark = pytest.mark.django_db


def test_stablecoin_quote_is_one_to_one_with_a_fresh_address_and_expiry(link, settings):
    before = timezone.now()
    quote = quote_create(link=link, network="devnet", asset="USDC")
    assert (quote.amount_due, quote.rate, quote.network, quote.asset) == (25_000_000, Decimal(1), "devnet", "USDC")
    assert quote.deposit_address.address == FIRST_ADDRESS
    assert quote.deposit_address.link_address.link_id == link.pk
    assert before + timedelta(minutes=settings.PAYRAM_QUOTE_MINUTES) <= quote.expires_at
    assert quote.expires_at <= timezone.now() + timedelta(minutes=settings.PAYRAM_QUOTE_MINUTES)


def test_volatile_coin_uses_the_price_source_rounded_up(link):
    quote = quote_create(link=link, network="devnet", asset="ETH")
    assert quote.rate == Decimal(3000)
    assert quote.rate_source == "fixed"
    assert quote.amount_due == 8_334_000_000_000_000  # 25/3000 ETH, rounded up to 0.000001 ETH


def test_wei_amounts_survive_the_database(link):
    quote = quote_create(link=link, network="devnet", asset="ETH")
    quote.refresh_from_db()
    assert quote.amount_due == 8_334_000_000_000_000


def test_picking_again_or_switching_asset_keeps_the_one_address(link):
    first = quote_create(link=link, network="devnet", asset="USDC")
    assert quote_create(link=link, network="devnet", asset="USDC").pk == first.pk  # a double click: same quote
    switched = quote_create(link=link, network="devnet", asset="ETH")
    assert switched.pk != first.pk
    assert switched.deposit_address_id == first.deposit_address_id
    assert DepositAddress.objects.filter(link=link).count() == 1


def test_expired_quote_is_refreshed_at_a_new_rate_with_the_same_address(link, settings):
    from django.core.cache import cache

    old = quote_create(link=link, network="devnet", asset="ETH")
    settings.PAYRAM_FIXED_RATES = "ETH=2500"
    cache.clear()
    later = timezone.now() + timedelta(minutes=settings.PAYRAM_QUOTE_MINUTES + 1)
    new = quote_create(link=link, network="devnet", asset="ETH", now=later)
    assert new.pk != old.pk
    assert (new.rate, new.amount_due) == (Decimal(2500), 10_000_000_000_000_000)
    assert new.deposit_address_id == old.deposit_address_id


def test_quote_never_outlives_the_link(shop, member):
    link = make_link(shop, member, expires_at=timezone.now() + timedelta(minutes=3))
    quote = quote_create(link=link, network="devnet", asset="USDC")
    assert quote.expires_at == link.expires_at


@pytest.mark.parametrize(
    "make_closed, message",
    [
        (lambda link: PaymentLink.objects.filter(pk=link.pk).update(cancelled_at=timezone.now()), "was cancelled"),
        (
            lambda link: PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(seconds=1)),
            "has expired",
        ),
    ],
)
def test_closed_links_get_no_quote(link, make_closed, message):
    make_closed(link)
    link.refresh_from_db()
    with pytest.raises(CheckoutError, match=message):
        quote_create(link=link, network="devnet", asset="USDC")
    assert not DepositAddress.objects.filter(link=link).exists()


def test_paid_link_gets_no_new_quote(link):
    quote = quote_create(link=link, network="devnet", asset="USDC")
    deposit(quote.deposit_address, quote.amount_due, confirmations=3)
    link.refresh_from_db()
    assert link.status == LinkStatus.SUCCESSFUL
    with pytest.raises(CheckoutError, match="already been paid"):
        quote_create(link=link, network="devnet", asset="ETH")


def test_network_not_enabled_is_refused(link):
    with pytest.raises(CheckoutError, match="Base is not enabled"):
        quote_create(link=link, network="base", asset="USDC")


def test_unknown_asset_is_refused(link):
    with pytest.raises(CheckoutError, match="not offered"):
        quote_create(link=link, network="devnet", asset="DOGE")


def test_network_without_a_project_wallet_is_refused(link):
    with pytest.raises(CheckoutError, match="does not accept payments on Bitcoin"):
        quote_create(link=link, network="bitcoin", asset="BTC")


def test_stalled_network_is_refused_and_listed_as_temporarily_unavailable(link, stall):
    stall("devnet")
    with pytest.raises(CheckoutError, match="temporarily unavailable"):
        quote_create(link=link, network="devnet", asset="USDC")
    choices = available_assets(link)
    assert {(c.key, c.available, c.reason) for c in choices} == {
        ("devnet:ETH", False, "temporarily unavailable"),
        ("devnet:USDC", False, "temporarily unavailable"),
    }


def test_available_assets_are_enabled_networks_with_a_wallet(link):
    # Bitcoin is enabled but the project has no Bitcoin key; Base has no node here.
    assert [c.key for c in available_assets(link)] == ["devnet:ETH", "devnet:USDC"]
    assert all(c.available for c in available_assets(link))


def test_no_price_anywhere_is_an_error_and_stablecoins_still_work(link, settings):
    settings.PAYRAM_FIXED_RATES = "BTC=60000"  # nothing for ETH
    with pytest.raises(PriceUnavailable, match="No exchange rate for ETH"):
        quote_create(link=link, network="devnet", asset="ETH")
    assert not link.quotes.exists()
    assert quote_create(link=link, network="devnet", asset="USDC").amount_due == 25_000_000


def test_underpaid_then_topped_up_through_real_deposits(link):
    quote = quote_create(link=link, network="devnet", asset="USDC")
    deposit(quote.deposit_address, 20_000_000)
    link.refresh_from_db()
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.PENDING, "underpaid", 20_000_000)
    deposit(quote.deposit_address, 5_000_000)
    link.refresh_from_db()
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.SUCCESSFUL, "paid", 25_000_000)


def test_after_a_part_payment_the_coin_cannot_be_switched(link):
    quote = quote_create(link=link, network="devnet", asset="USDC")
    deposit(quote.deposit_address, 1_000_000, confirmations=0)
    with pytest.raises(CheckoutError, match="pay the rest in USDC"):
        quote_create(link=link, network="devnet", asset="ETH")


def test_overpaid_through_real_deposits(link):
    quote = quote_create(link=link, network="devnet", asset="USDC")
    deposit(quote.deposit_address, 30_000_000)
    link.refresh_from_db()
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.SUCCESSFUL, "overpaid", 30_000_000)


def test_paid_late_through_real_deposits(link, settings):
    long_ago = timezone.now() - timedelta(hours=1)
    quote = quote_create(link=link, network="devnet", asset="USDC", now=long_ago)
    assert quote.expires_at < timezone.now()
    deposit(quote.deposit_address, 25_000_000)
    link.refresh_from_db()
    assert (link.status, link.status_detail) == (LinkStatus.SUCCESSFUL, "paid_late")


def test_cancelled_then_paid_is_recorded_and_flagged_for_refund(link):
    quote = quote_create(link=link, network="devnet", asset="USDC")
    PaymentLink.objects.filter(pk=link.pk).update(cancelled_at=timezone.now())
    deposit(quote.deposit_address, 25_000_000)
    link.refresh_from_db()
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.CANCELLED, "refund_due", 25_000_000)


@pytest.mark.django_db(transaction=True)
def test_concurrent_first_picks_allocate_one_address(link):
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite runs one writer at a time (IMMEDIATE transactions), and its shared in-memory test "
            "database answers 'table is locked' instead of waiting: the race is PostgreSQL's to show"
        )
    errors: list[Exception] = []
    barrier = threading.Barrier(4)

    def pick(asset: str) -> None:
        from django.db import connection as thread_connection

        try:
            barrier.wait(timeout=10)
            quote_create(link=PaymentLink.objects.get(pk=link.pk), network="devnet", asset=asset)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=pick, args=(a,)) for a in ("USDC", "ETH", "USDC", "ETH")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert DepositAddress.objects.filter(link=link).count() == 1
    assert len({q.deposit_address_id for q in link.quotes.all()}) == 1


@pytest.mark.anvil
def test_a_real_reorg_takes_a_confirming_link_back_to_awaiting(shop, member, devnet):  # noqa: F811
    from chain.scanner import scan_network

    link = make_link(shop, member)
    quote = quote_create(link=link, network="devnet", asset="USDC")
    before_payment = devnet.snapshot()
    devnet.send_token(quote.deposit_address.address, int(quote.amount_due))
    devnet.mine(1)
    assert scan_network("devnet").new_deposits == 1
    link.refresh_from_db()
    assert (link.status, link.status_detail) == (LinkStatus.PENDING, "confirming")

    devnet.revert(before_payment)  # a longer fork without the payment
    devnet.mine(4)
    assert scan_network("devnet").orphaned == 1
    link.refresh_from_db()
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.PENDING, "awaiting_payment", None)


def test_demo_setup_is_rerunnable(db, settings, tmp_path, capsys):
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from chain.models import Wallet
    from members.models import Project

    settings.VAR_DIR = tmp_path
    call_command("demo_setup", "--no-devnet")
    first = capsys.readouterr().out
    call_command("demo_setup", "--no-devnet")
    second = capsys.readouterr().out
    password = re.search(r"password: (\S+)", first).group(1)
    assert f"password: {password}" in second  # the same password on a re-run
    assert get_user_model().objects.get(username="demo").check_password(password)
    project = Project.objects.get(name="Demo Store")
    assert Wallet.objects.get(project=project, family="evm").xpub == EVM_XPUB
    assert project.links.count() == 1
    assert "PUBLIC" in first and "never use it for real money" in first
