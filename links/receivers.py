"""links listens to chain and members: new facts about deposit addresses (deposits,
confirmations, orphaned blocks) rerun the one status writer for their links, a project's
new payment policy (thresholds, tolerance) reruns it for the project's pending links, and
transfers to a customer's refund address (a watched row of no link) may be the
merchant's refund. links also answers chain's question of how many open links hold a
wallet's addresses."""

from __future__ import annotations

from chain.signals import deposits_changed, wallet_addresses_held
from links.models import LinkStatus, PaymentLink
from links.refunds import refunds_check
from links.status import refresh_links_for_addresses, update_project_links
from members.signals import project_policy_changed


def on_deposits_changed(sender, address_ids=(), **kwargs) -> None:
    if address_ids:
        refresh_links_for_addresses(address_ids)
        refunds_check(address_ids)


def pending_links_holding(sender, wallet, **kwargs) -> int:
    """How many pending links hold an address of `wallet` (for the key replacement page)."""
    return PaymentLink.objects.filter(status=LinkStatus.PENDING, deposit_addresses__wallet=wallet).distinct().count()


def on_project_policy_changed(sender, project=None, **kwargs) -> None:
    if project is not None and project.pk:
        update_project_links(project.pk)


def connect() -> None:
    deposits_changed.connect(on_deposits_changed, dispatch_uid="links.refresh_on_deposits_changed")
    wallet_addresses_held.connect(pending_links_holding, dispatch_uid="links.pending_links_holding")
    project_policy_changed.connect(on_project_policy_changed, dispatch_uid="links.update_on_project_policy_changed")
