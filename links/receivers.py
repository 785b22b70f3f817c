"""links listens to chain: new facts about deposit addresses (deposits, confirmations,
orphaned blocks) rerun the one status writer for their links, and transfers to a
customer's refund address (a watched row of no link) may be the merchant's refund."""

from __future__ import annotations

from chain.signals import deposits_changed
from links.refunds import refunds_check
from links.status import refresh_links_for_addresses


def on_deposits_changed(sender, address_ids=(), **kwargs) -> None:
    if address_ids:
        refresh_links_for_addresses(address_ids)
        refunds_check(address_ids)


def connect() -> None:
    deposits_changed.connect(on_deposits_changed, dispatch_uid="links.refresh_on_deposits_changed")
