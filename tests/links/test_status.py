"""The one status function: every state a merchant or customer can see, derived from
quotes and recorded deposits only (so reorgs and replays are safe)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from chain.wallets import project_confirmations_set
from links.models import LinkStatus, PaymentLink
from links.status import derive_status, link_deposits, update_link_state
from tests.links.pay_support import deposit, make_link, make_quote, set_confirmations

pytestmark = pytest.mark.django_db

DUE = 25_000_000  # 25 USDC


@pytest.fixture
def link(project, member):
    return make_link(project, member)


@pytest.fixture
def address(evm_address, link):
    a = evm_address()
    link.deposit_addresses.add(a)
    return a


@pytest.fixture
def quoted(link, address):
    make_quote(link, address, amount_due=DUE)
    return link


def stored(link) -> PaymentLink:
    return PaymentLink.objects.get(pk=link.pk)


def test_new_link_awaits_payment(link):
    state = derive_status(link)
    assert (state.status, state.detail) == (LinkStatus.PENDING, "awaiting_payment")
    assert state.amount_received is None


def test_quoted_link_awaits_payment_until_money_arrives(quoted):
    state = derive_status(quoted)
    assert (state.status, state.detail) == (LinkStatus.PENDING, "awaiting_payment")
    assert state.amount_due == DUE


def test_full_amount_in_mempool_is_payment_seen(quoted, address):
    deposit(address, DUE, confirmations=0)
    link = stored(quoted)
    assert (link.status, link.status_detail) == (LinkStatus.PENDING, "payment_seen")
    assert link.amount_received == DUE


def test_confirming_counts_n_of_n(quoted, address):
    dep = deposit(address, DUE, confirmations=1)
    state = derive_status(quoted)
    assert (state.status, state.detail) == (LinkStatus.PENDING, "confirming")
    assert (state.confirmations, state.confirmations_required) == (1, 3)
    set_confirmations(dep, 2)
    assert derive_status(quoted).confirmations == 2
    assert stored(quoted).status_detail == "confirming"


def test_exact_payment_reaching_the_threshold_is_successful(quoted, address):
    dep = deposit(address, DUE, confirmations=3)
    link = stored(quoted)
    assert (link.status, link.status_detail) == (LinkStatus.SUCCESSFUL, "paid")
    assert (link.amount_received, link.received_network, link.received_asset) == (DUE, "devnet", "USDC")
    assert link.paid_at == dep.first_seen_at


def test_project_threshold_override_is_used(quoted, address, project):
    project.confirmation_overrides = {"devnet": 1}
    project.save()
    deposit(address, DUE, confirmations=1)
    assert stored(quoted).status == LinkStatus.SUCCESSFUL


def test_a_lower_threshold_completes_confirming_links_at_once(quoted, address, project):
    """The wallet page's thresholds save the project; members.signals.project_policy_changed
    has links update its pending links then, not when someone next opens them."""
    deposit(address, DUE, confirmations=1)
    assert stored(quoted).status_detail == "confirming"
    project_confirmations_set(project=project, thresholds={"devnet": 1})
    assert (stored(quoted).status, stored(quoted).status_detail) == (LinkStatus.SUCCESSFUL, "paid")


def test_overpaid_is_successful_and_shows_the_excess(quoted, address):
    deposit(address, DUE + 1_500_000)
    state = derive_status(stored(quoted))
    assert (state.status, state.detail) == (LinkStatus.SUCCESSFUL, "overpaid")
    assert state.excess == 1_500_000
    assert stored(quoted).amount_received == DUE + 1_500_000


def test_underpaid_shows_received_and_remaining_then_a_top_up_completes_it(quoted, address):
    deposit(address, 10_000_000)
    state = derive_status(quoted)
    assert (state.status, state.detail) == (LinkStatus.PENDING, "underpaid")
    assert (state.amount_received, state.remaining) == (10_000_000, 15_000_000)
    top_up = deposit(address, 15_000_000, confirmations=1)
    assert stored(quoted).status_detail == "confirming"  # all there, the top-up still confirming
    set_confirmations(top_up, 3)
    link = stored(quoted)
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.SUCCESSFUL, "paid", DUE)
    assert link.paid_at == top_up.first_seen_at


def test_unconfirmed_part_does_not_make_it_successful(quoted, address):
    deposit(address, 20_000_000, confirmations=3)
    deposit(address, 5_000_000, confirmations=0)
    state = derive_status(quoted)
    assert state.status == LinkStatus.PENDING
    assert state.amount_confirmed == 20_000_000


def test_payment_after_quote_expiry_within_window_is_paid_late(link, address):
    long_ago = timezone.now() - timedelta(hours=2)
    make_quote(link, address, amount_due=DUE, created_at=long_ago)
    deposit(address, DUE)
    link = stored(link)
    assert (link.status, link.status_detail) == (LinkStatus.SUCCESSFUL, "paid_late")


def test_payment_after_the_monitoring_window_is_flagged_for_refund(link, address, settings):
    settings.PAYRAM_LATE_PAYMENT_HOURS = 24
    make_quote(link, address, amount_due=DUE, created_at=timezone.now() - timedelta(hours=30))
    deposit(address, DUE)
    link = stored(link)
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.PENDING, "refund_due", DUE)


def test_refreshed_quote_makes_the_payment_on_time(link, address):
    make_quote(link, address, amount_due=DUE, created_at=timezone.now() - timedelta(hours=2))
    make_quote(link, address, amount_due=DUE - 100)  # refreshed: new rate, same address
    deposit(address, DUE - 100)
    assert stored(link).status_detail == "paid"


def test_cancelled_link_without_money(link):
    link.cancelled_at = timezone.now()
    link.save()
    update_link_state(link)
    assert (stored(link).status, stored(link).status_detail) == (LinkStatus.CANCELLED, "cancelled")


def test_payment_to_a_cancelled_link_is_recorded_and_flagged_for_refund(quoted, address):
    PaymentLink.objects.filter(pk=quoted.pk).update(cancelled_at=timezone.now())
    deposit(address, DUE)
    link = stored(quoted)
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.CANCELLED, "refund_due", DUE)


def test_expired_link(project, member):
    link = make_link(project, member, expires_at=timezone.now() - timedelta(minutes=1))
    update_link_state(link)
    assert (stored(link).status, stored(link).status_detail) == (LinkStatus.EXPIRED, "expired")


def test_reorg_removing_the_only_deposit_takes_the_link_back_to_awaiting(quoted, address):
    dep = deposit(address, DUE, confirmations=2)
    assert stored(quoted).status_detail == "confirming"
    set_confirmations(dep, 0, orphaned=True)  # the scanner marks it orphaned and tells links
    link = stored(quoted)
    assert (link.status, link.status_detail, link.amount_received) == (LinkStatus.PENDING, "awaiting_payment", None)


def test_orphaned_deposits_never_count(quoted, address):
    deposit(address, DUE, confirmations=50, orphaned=True)
    assert derive_status(quoted).detail == "awaiting_payment"
    orphan = link_deposits(quoted)[0]
    assert orphan.deposit.orphaned and not orphan.counted


def test_another_asset_to_the_same_address_is_shown_not_counted(quoted, address):
    deposit(address, 10**18, asset="ETH")  # 1 ETH to the USDC quote's EVM address
    state = derive_status(quoted)
    assert (state.status, state.detail) == (LinkStatus.PENDING, "awaiting_payment")
    assert state.uncounted_deposits == 1
    (shown,) = link_deposits(quoted, state=state)
    assert (shown.deposit.asset, shown.counted, shown.asset_decimals) == ("ETH", False, 18)


def test_deposits_for_display_carry_confirmations_and_explorer_url(link, address):
    make_quote(link, address, network="base", asset="USDC", amount_due=DUE)
    dep = deposit(address, DUE, network="base", confirmations=5)
    (shown,) = link_deposits(link)
    assert shown.tx_url == f"https://basescan.org/tx/{dep.tx_hash}"
    assert (shown.confirmations, shown.confirmations_required, shown.counted) == (5, 20, True)
    assert stored(link).status_detail == "confirming"


def test_status_is_idempotent(quoted, address):
    deposit(address, DUE)
    before = stored(quoted).status_updated_at
    update_link_state(stored(quoted))
    assert stored(quoted).status_updated_at == before


def test_refresh_links_command_expires_links_nobody_opened(project, member):
    from django.core.management import call_command

    link = make_link(project, member, expires_at=timezone.now() + timedelta(hours=1))
    PaymentLink.objects.filter(pk=link.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert stored(link).status == LinkStatus.PENDING  # stored, not yet refreshed
    call_command("refresh_links")
    assert stored(link).status == LinkStatus.EXPIRED
