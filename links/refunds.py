"""Refunds without holding keys. The merchant asks (links.refunds.refund_create); the
customer gives an address on a public page (refund_address_give, checked for the
network); the merchant's link page then shows a payment request for the merchant's own
wallet; the scanner records transfers to that address like any other watched address
(it is a chain.DepositAddress row, purpose "refund", belonging to no link), and
`refunds_check` marks the refund Sent when a transfer of at least the amount, in that
asset, is in a block, seen after the refund was asked. payram never holds or asks for a
private key. Each step is a webhook (refund.requested, refund.address_given,
refund.sent)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from chain import catalogue
from chain.addresses import AddressRefused, address_check
from chain.models import Deposit, DepositAddress
from links import pricing
from links.models import LinkStatus, PaymentLink, Refund, RefundState
from links.resolution import ResolutionRefused, may_resolve
from links.signals import refund_changed
from links.status import Detail, LinkState, derive_status
from payram.lib.money import fiat_to_base_units, format_fiat, format_units
from payram.lib.times import iso_utc

logger = logging.getLogger("links.refunds")

REFUNDABLE = {Detail.REFUND_DUE: "refund_due", Detail.OVERPAID: "overpaid", Detail.UNDERPAID: "underpaid"}
# Above any wallet's receive index: the watch row of a refund address is never a derived one.
REFUND_WATCH_INDEX_BASE = 2_000_000_000
OPEN_STATES = (RefundState.REQUESTED, RefundState.ADDRESS_GIVEN)


@dataclass(frozen=True)
class RefundOption:
    key: str  # "received", "excess", "fiat"
    label: str
    amount: int | None  # base units; None for "fiat" (the merchant types it)


def refund_options(link: PaymentLink, state: LinkState | None = None) -> list[RefundOption]:
    """What the merchant may return, or [] when the link has nothing to refund now."""
    state = state or derive_status(link)
    if state.detail not in REFUNDABLE or not state.amount_received or not state.received_asset:
        return []
    if link.refunds.exists():  # one refund per link: a second could pay the customer twice
        return []
    try:
        decimals = catalogue.get(state.received_network).asset(state.received_asset).decimals
    except KeyError:
        return []
    unit = state.received_asset
    options = [
        RefundOption(
            "received",
            f"All that was received: {format_units(state.amount_received, decimals)} {unit}",
            int(state.amount_received),
        )
    ]
    if state.detail == Detail.OVERPAID and state.excess:
        options.insert(0, RefundOption("excess", f"The excess: {format_units(state.excess, decimals)} {unit}", state.excess))
    options.append(RefundOption("fiat", f"An amount in {link.currency} at the current rate", None))
    return options


def refund_reason(link: PaymentLink, state: LinkState | None = None) -> str:
    state = state or derive_status(link)
    if link.refunds.filter(state__in=OPEN_STATES).exists():
        return "A refund for this link is already under way."
    if link.refunds.exists():
        return "This link has already been refunded."
    if state.detail not in REFUNDABLE or not state.amount_received:
        return "Only a refund-due, overpaid or underpaid link with money received can be refunded."
    return ""


def refund_create(*, link: PaymentLink, option: str, fiat_amount: Decimal | None = None, user=None, by_name: str = "") -> Refund:
    """Ask for a refund of the chosen amount in the coin received. Sends refund.requested
    and, when email is set up, the refund link to the member."""
    if user is not None and not may_resolve(user, link):
        raise ResolutionRefused("Only the project's merchant can refund a link.")
    state = derive_status(link)
    reason = refund_reason(link, state)
    if reason:
        raise ResolutionRefused(reason)
    net = catalogue.get(state.received_network)
    coin = net.asset(state.received_asset)
    choices = {o.key: o for o in refund_options(link, state)}
    if option not in choices:
        raise ResolutionRefused("Choose what to refund.")
    if option == "fiat":
        if fiat_amount is None or fiat_amount <= 0:
            raise ResolutionRefused(f"Enter the amount in {link.currency} to refund, such as 5 or 2.50.")
        try:
            price = pricing.get_price(coin, link.currency)
        except pricing.PriceUnavailable:
            raise ResolutionRefused(
                f"No exchange rate for {coin.symbol} right now: refund an amount in {coin.symbol} instead."
            ) from None
        amount = fiat_to_base_units(fiat_amount, price.rate, coin.decimals)
        if amount > int(state.amount_received):
            raise ResolutionRefused(
                f"{format_fiat(fiat_amount, link.currency)} is {format_units(amount, coin.decimals)} {coin.symbol} at the current rate, "
                f"more than the {format_units(state.amount_received, coin.decimals)} {coin.symbol} received."
            )
    else:
        amount = choices[option].amount
    if amount < net.min_amount:
        raise ResolutionRefused(f"{format_units(amount, coin.decimals)} {coin.symbol} is less than {net.name} can carry.")
    with transaction.atomic():
        PaymentLink.objects.select_for_update(of=("self",)).filter(pk=link.pk).first()
        if link.refunds.exists():
            raise ResolutionRefused("A refund for this link is already under way, or done.")
        refund = Refund.objects.create(
            link=link,
            network=net.slug,
            asset=coin.symbol,
            amount=amount,
            reason=REFUNDABLE[state.detail],
            requested_by_name=(by_name or (user.get_username() if user else ""))[:150],
        )
        _announce(refund, "refund.requested")
    return refund


def refund_address_give(*, refund: Refund, address: str) -> Refund:
    """The customer's address for the refund, checked for the network. The address is
    then watched (a DepositAddress row of purpose "refund") for the merchant's transfer."""

    net = catalogue.get(refund.network)
    canonical = address_check(net, address)
    with transaction.atomic():
        refund = Refund.objects.select_for_update().select_related("link__project").get(pk=refund.pk)
        if refund.state != RefundState.REQUESTED:
            raise AddressRefused("This refund already has an address. Ask the merchant if it must change.")
        existing = DepositAddress.objects.filter(family=net.family, address=canonical).first()
        if existing is not None and existing.purpose != "refund":
            raise AddressRefused(
                "This is a payment address of this shop, not your wallet's. Enter an address of your own wallet."
            )
        watch = existing or _watch_row(refund, net.family, canonical)
        refund.address, refund.watch = canonical, watch
        refund.state, refund.address_given_at = RefundState.ADDRESS_GIVEN, timezone.now()
        refund.save(update_fields=["address", "watch", "state", "address_given_at"])
        _announce(refund, "refund.address_given")
    refunds_check([watch.pk])  # a transfer may already be recorded
    return refund


def _watch_row(refund: Refund, family: str, address: str):
    paid_to = refund.link.deposit_addresses.filter(family=family).select_related("wallet").first()
    if paid_to is None:
        raise AddressRefused("This refund cannot be watched on that network.")
    return DepositAddress.objects.create(
        project=refund.link.project,
        wallet=paid_to.wallet,
        family=family,
        index=REFUND_WATCH_INDEX_BASE + refund.pk,
        address=address,
        purpose="refund",  # and no LinkAddress: it belongs to no link
    )


def refunds_check(address_ids) -> int:
    """The deposits_changed receiver's work for refund addresses: mark Sent each refund
    waiting on one of these addresses that received, in a block, at least its amount in
    its asset after it was asked. Returns how many were marked."""

    marked = 0
    for refund in Refund.objects.filter(watch_id__in=list(address_ids), state=RefundState.ADDRESS_GIVEN).select_related("link"):
        sent = Deposit.objects.filter(
            address_id=refund.watch_id,
            network=refund.network,
            asset=refund.asset,
            orphaned=False,
            confirmations__gte=1,
            first_seen_at__gte=refund.created_at,
        ).order_by("first_seen_at", "id")
        match = next((d for d in sent if int(d.value) >= int(refund.amount)), None)
        if match is None:
            continue
        with transaction.atomic():
            updated = Refund.objects.filter(pk=refund.pk, state=RefundState.ADDRESS_GIVEN).update(
                state=RefundState.SENT, sent_tx=match.tx_hash, sent_at=timezone.now()
            )
            if updated:
                refund.refresh_from_db()
                _announce(refund, "refund.sent")
                marked += 1
                logger.info("refund %s of link %s sent in %s", refund.pk, refund.link_id, match.tx_hash)
    return marked


def refund_url(refund: Refund) -> str:
    return f"{settings.PAYRAM_BASE_URL.rstrip('/')}{reverse('pay:refund', args=[refund.link.code, refund.code])}"


def refund_payload(refund: Refund) -> dict:
    try:
        decimals = catalogue.get(refund.network).asset(refund.asset).decimals
        amount = format_units(refund.amount, decimals)
    except KeyError:
        amount = None
    return {
        "code": refund.code,
        "state": refund.state,
        "reason": refund.reason,
        "network": refund.network,
        "asset": refund.asset,
        "amount": amount,
        "amount_base_units": str(int(refund.amount)),
        "url": refund_url(refund),
        "address": refund.address or None,
        "sent_tx": refund.sent_tx or None,
        "created_at": iso_utc(refund.created_at),
        "address_given_at": iso_utc(refund.address_given_at),
        "sent_at": iso_utc(refund.sent_at),
    }


def _announce(refund: Refund, event_type: str) -> None:
    """Webhooks and the customer's email hear of it through links.signals."""
    refund_changed.send(sender=Refund, refund=refund, event=event_type)


def link_refunds(link: PaymentLink) -> list[Refund]:
    return list(link.refunds.all().order_by("-created_at", "-id"))


__all__ = [
    "AddressRefused",
    "REFUNDABLE",
    "RefundOption",
    "ResolutionRefused",
    "refund_address_give",
    "refund_create",
    "refund_options",
    "refund_payload",
    "refund_reason",
    "refund_url",
    "refunds_check",
    "link_refunds",
    "LinkStatus",
]
