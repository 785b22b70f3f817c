"""The customer's receipt for a Successful link: /pay/<code>/receipt/, as unguessable as
the pay page (the same 128-bit code), and emailed to the member when email is set up."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.urls import reverse
from django.utils import translation

from links.models import LinkStatus, PaymentLink
from links.selectors import amount_received, network_name
from links.status import derive_status, link_deposits
from payram.lib.money import format_fiat_for


@dataclass(frozen=True)
class Receipt:
    link: PaymentLink
    merchant: str  # the merchant's name where they gave one; never a login name
    project: str
    description: str
    amount_asked: str
    amount_received: str  # "25 USDC"
    network: str
    transactions: list  # DepositView, counted ones
    paid_at: datetime | None
    settled: bool


def receipt_for(link: PaymentLink) -> Receipt | None:
    """The receipt of a Successful link, None for any other; the amount asked written
    the way the active language writes money (the customer's, see links.checkout_language)."""

    if link.status != LinkStatus.SUCCESSFUL:
        return None
    state = derive_status(link)
    owner = link.project.owners.order_by("id").first()
    merchant = owner.get_full_name().strip() if owner else ""
    return Receipt(
        link=link,
        merchant=merchant,
        project=link.project.name,
        description=link.description,
        amount_asked=format_fiat_for(link.amount, link.currency, translation.get_language()),
        amount_received=amount_received(link),
        network=network_name(link.received_network),
        transactions=[d for d in link_deposits(link, state=state) if d.counted],
        paid_at=link.paid_at,
        settled=link.status_detail == "settled",
    )


def receipt_url(link: PaymentLink) -> str:
    return f"{settings.PAYRAM_BASE_URL.rstrip('/')}{reverse('pay:receipt', args=[link.code])}"
