"""Checkout services: what a customer can pay with, and quotes (where to pay, exactly
how much, until when).

A link gets one deposit address per chain family, allocated the first time a customer
picks an asset of that family and reused for every later quote of the link (switching
USDC on Base to ETH on Ethereum keeps the EVM address; a refreshed quote keeps it too).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from chain import catalogue
from chain.catalogue import Asset, Network
from chain.hd import KeyRefused
from chain.health import network_is_healthy
from chain.models import DepositAddress, Wallet
from chain.wallets import address_allocate
from links import pricing
from links.models import LinkAddress, LinkStatus, PaymentLink, Quote
from links.pricing import PriceUnavailable
from links.status import derive_status, update_link_state
from payram.lib.money import fiat_to_payable_units, format_fiat_for, format_units, payable_step, round_up_to_step

__all__ = ["AssetChoice", "CheckoutError", "PriceUnavailable", "available_assets", "current_quote", "quote_create"]


class CheckoutError(Exception):
    """The customer's pick cannot be quoted. The message is shown on the pay page."""


@dataclass(frozen=True)
class AssetChoice:
    network: Network
    asset: Asset
    available: bool = True
    reason: str = ""  # why not available, in words

    @property
    def key(self) -> str:
        return f"{self.network.slug}:{self.asset.symbol}"


logger = logging.getLogger("links.checkout")


def _network_is_healthy(slug: str) -> bool:
    return network_is_healthy(slug)


def _wallet_families(project) -> set[str]:
    return set(Wallet.objects.active().filter(project=project).values_list("family", flat=True))


def available_assets(link: PaymentLink) -> list[AssetChoice]:
    """Every asset the link's project can take: networks enabled on this server (they
    have a node) for whose family the project has a wallet. A network whose scanner has
    stalled is listed as temporarily unavailable, never offered."""
    families = _wallet_families(link.project)
    choices = []
    for net in catalogue.enabled():
        if net.family not in families:
            continue
        healthy = _network_is_healthy(net.slug)
        for asset in net.assets:
            choices.append(AssetChoice(net, asset, healthy, "" if healthy else "temporarily unavailable"))
    return choices


def current_quote(link: PaymentLink) -> Quote | None:
    return link.quotes.select_related("deposit_address").order_by("-created_at", "-id").first()


def _closed_reason(link: PaymentLink) -> str:
    state = derive_status(link)
    if state.status == LinkStatus.CANCELLED:
        return _("This payment link was cancelled.")
    if state.status == LinkStatus.EXPIRED:
        return _("This payment link has expired.")
    if state.status == LinkStatus.SUCCESSFUL:
        return _("This payment link has already been paid.")
    return ""


def quote_create(*, link: PaymentLink, network: str, asset: str, now: datetime | None = None) -> Quote:
    """Quote `asset` on `network` for the link: the amount due in base units (rounded up,
    so paying the shown amount never falls a unit short), the rate, the expiry and the
    link's deposit address for the network's family (allocated once per link and
    family, concurrency-safe). Picking the same asset again while its quote is valid
    returns that quote; after it expired, a new one at a fresh rate, same address."""
    now = now or timezone.now()
    try:
        net = catalogue.get(network)
        coin = net.asset(asset)
    except KeyError:
        raise CheckoutError(_("That coin and network is not offered here.")) from None
    if not net.enabled:
        raise CheckoutError(_("%(network)s is not enabled on this server.") % {"network": net.name})
    reason = _closed_reason(link)
    if reason:
        raise CheckoutError(reason)
    if net.family not in _wallet_families(link.project):
        raise CheckoutError(
            _("%(merchant)s does not accept payments on %(network)s.") % {"merchant": link.project.name, "network": net.name}
        )
    if not _network_is_healthy(net.slug):
        raise CheckoutError(
            _("%(network)s is temporarily unavailable. Please pick another network or try again in a few minutes.")
            % {"network": net.name}
        )

    # The rate is asked for before any lock is taken: a slow ticker must not hold the link.
    price = pricing.get_price(coin, link.currency)
    amount_due = fiat_to_payable_units(link.amount, price.rate, coin.decimals, coin.step_units)
    if amount_due <= 0:
        raise CheckoutError(_("The amount is too small to pay in this coin."))
    if amount_due < net.min_amount:
        raise CheckoutError(
            _(
                "%(amount)s is too small to send in %(coin)s on %(network)s: the network does not carry payments "
                "under %(minimum)s %(coin)s. Please pick another coin or network."
            )
            % {
                "amount": format_fiat_for(link.amount, link.currency, get_language()),
                "coin": coin.symbol,
                "network": net.name,
                "minimum": format_units(net.min_amount, coin.decimals),
            }
        )
    expires_at = now + timedelta(minutes=settings.PAYRAM_QUOTE_MINUTES)
    if link.expires_at:
        expires_at = min(expires_at, link.expires_at)

    with transaction.atomic():
        locked = PaymentLink.objects.select_for_update(of=("self",)).select_related("project").get(pk=link.pk)
        reason = _closed_reason(locked)
        if reason:
            raise CheckoutError(reason)
        state = derive_status(locked, now=now)
        if state.received_asset and (state.received_network, state.received_asset) != (net.slug, coin.symbol):
            paid_in = catalogue.get(state.received_network)
            raise CheckoutError(
                _(
                    "A payment in %(coin)s on %(network)s has already been received for this link. "
                    "Please pay the rest in %(coin)s on %(network)s."
                )
                % {"coin": state.received_asset, "network": paid_in.name}
            )
        latest = current_quote(locked)
        if latest and (latest.network, latest.asset) == (net.slug, coin.symbol) and latest.expires_at > now:
            return latest
        address = _deposit_address(locked, net.family)
        quote = Quote.objects.create(
            link=locked,
            network=net.slug,
            asset=coin.symbol,
            deposit_address=address,
            amount_due=amount_due,
            rate=price.rate,
            rate_source=price.source[:40],
            expires_at=expires_at,
        )
    update_link_state(link, now=now)
    return quote


def _deposit_address(link: PaymentLink, family: str):
    """The link's address for the family, allocated on first use. Called with the link
    row locked, so two customers' tabs racing here get the same address."""

    existing = DepositAddress.objects.filter(link=link, family=family).order_by("id").first()
    if existing:
        return existing
    try:
        address = address_allocate(project=link.project, family=family, purpose="payment link")
        LinkAddress.objects.create(link=link, address=address)  # in the caller's transaction, with the allocation
        return address
    except KeyRefused as exc:  # a stored key that no longer parses (changed by hand in the database)
        logger.error("project %s: its %s key cannot derive addresses: %s", link.project_id, family, exc.message)
        raise CheckoutError(
            _("%(merchant)s cannot take payments on this network right now. Please pick another one.")
            % {"merchant": link.project.name}
        ) from None


def payable_amount(quote: Quote, units: int) -> int:
    """`units` of the quote's asset rounded up to the step its amount due was quoted in,
    for what the pay page asks (a remainder never shows more digits than the quote)."""
    try:
        coin = catalogue.get(quote.network).asset(quote.asset)
    except KeyError:
        return units
    step = payable_step(coin.step_units, rate=quote.rate, fiat=quote.link.amount, decimals=coin.decimals)
    return round_up_to_step(units, step) if units > 0 else units


def quote_is_expired(quote: Quote, *, now: datetime | None = None) -> bool:
    return quote.expires_at <= (now or timezone.now())
