"""The one function that says what a payment link's state is. Everything else (scanner,
cancel, expiry) records facts and calls refresh_link_status; nothing sets
PaymentLink.status by hand.

(First version: cancelled/expired/pending only. Deposits and quotes come with checkout.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from links.models import LinkStatus, PaymentLink


@dataclass(frozen=True)
class LinkState:
    status: str
    detail: str
    amount_received: int | None = None
    received_network: str = ""
    received_asset: str = ""
    paid_at: datetime | None = None


def derive_status(link: PaymentLink, *, now: datetime | None = None) -> LinkState:
    now = now or timezone.now()
    if link.cancelled_at:
        return LinkState(LinkStatus.CANCELLED, "cancelled")
    if link.expires_at and link.expires_at <= now:
        return LinkState(LinkStatus.EXPIRED, "expired")
    return LinkState(LinkStatus.PENDING, "awaiting_payment")


def refresh_link_status(link: PaymentLink, *, now: datetime | None = None) -> PaymentLink:
    state = derive_status(link, now=now)
    fields = {
        "status": state.status,
        "status_detail": state.detail,
        "amount_received": state.amount_received,
        "received_network": state.received_network,
        "received_asset": state.received_asset,
        "paid_at": state.paid_at,
    }
    changed = [name for name, value in fields.items() if getattr(link, name) != value]
    if changed:
        for name in changed:
            setattr(link, name, fields[name])
        link.status_updated_at = now or timezone.now()
        link.save(update_fields=[*changed, "status_updated_at"])
    return link
