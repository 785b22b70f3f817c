"""Helpers for the checkout tests: links, quotes and deposits made through the ORM the
way checkout and the scanner would make them."""

from __future__ import annotations

import itertools
import secrets
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

# m/44'/60'/0' of the public test mnemonic "abandon ×11 about": its first address is well known.
EVM_XPUB = "xpub6DCoCpSuQZB2jawqnGMEPS63ePKWkwWPH4TU45Q7LPXWuNd8TMtVxRrgjtEshuqpK3mdhaWHPFsBngh5GFZaM6si3yZdUsT8ddYM3PwnATt"
# An RPC URL enables a network; nothing listens there, so no node is ever asked.
_NO_NODE = {"devnet": "http://127.0.0.1:1", "bitcoin": "http://127.0.0.1:2"}

_log_index = itertools.count()


def make_shop(project, monkeypatch, settings, *, networks=("devnet",), scanned=None):
    """Make `project` ready for checkout, for a fixture to `yield from`: the `networks`
    enabled (no node is asked; Base off), `scanned` (default: those networks) with a scanner
    that has just succeeded, fixed rates for the volatile coins, an EVM wallet (EVM_XPUB).
    Yields the project; afterwards undoes `monkeypatch` and reloads the catalogue."""
    from django.core.cache import cache

    from chain import catalogue
    from chain.wallets import wallet_set

    for slug in networks:
        monkeypatch.setenv("PAYRAM_RPC_" + slug.upper(), _NO_NODE[slug])
    monkeypatch.delenv("PAYRAM_RPC_BASE", raising=False)
    catalogue.reload()
    for slug in networks if scanned is None else scanned:
        mark_scanned(slug)
    settings.PAYRAM_PRICE_SOURCES = "fixed"
    settings.PAYRAM_FIXED_RATES = "ETH=3000,BTC=60000"
    cache.clear()
    wallet_set(project=project, family="evm", xpub=EVM_XPUB)
    yield project
    monkeypatch.undo()
    catalogue.reload()
    cache.clear()


def make_link(project, member, *, amount: str = "25.00", **kw):
    from links.models import PaymentLink

    return PaymentLink.objects.create(
        project=project, member=member, amount=Decimal(amount), description=kw.pop("description", "Order #1"), **kw
    )


def make_quote(
    link,
    address,
    *,
    network: str = "devnet",
    asset: str = "USDC",
    amount_due: int = 25_000_000,
    rate: str = "1",
    minutes: int = 15,
    created_at: datetime | None = None,
):
    from links.models import Quote

    quote = Quote.objects.create(
        link=link,
        network=network,
        asset=asset,
        deposit_address=address,
        amount_due=amount_due,
        rate=Decimal(rate),
        rate_source="test",
        expires_at=(created_at or timezone.now()) + timedelta(minutes=minutes),
    )
    if created_at:
        Quote.objects.filter(pk=quote.pk).update(created_at=created_at)
        quote.refresh_from_db()
    return quote


def deposit(
    address,
    value: int,
    *,
    network: str = "devnet",
    asset: str = "USDC",
    confirmations: int = 3,
    seen_at: datetime | None = None,
    orphaned: bool = False,
    tx_hash: str | None = None,
):
    """Record a deposit as the scanner would (confirmations 0 = mempool) and tell links."""
    from chain.models import Deposit
    from chain.signals import deposits_changed

    d = Deposit.objects.create(
        network=network,
        asset=asset,
        tx_hash=tx_hash or "0x" + secrets.token_hex(32),
        index=next(_log_index),
        address=address,
        value=value,
        confirmations=confirmations,
        orphaned=orphaned,
        block_height=None if confirmations == 0 else 100,
        block_hash="" if confirmations == 0 else "0x" + "ab" * 32,
    )
    if seen_at:  # payram recorded it then, and the chain had it then too
        Deposit.objects.filter(pk=d.pk).update(first_seen_at=seen_at, chain_time=seen_at)
        d.refresh_from_db()
    deposits_changed.send(sender=None, address_ids={address.pk})
    return d


def set_confirmations(dep, confirmations: int, *, orphaned: bool = False) -> None:
    from chain.models import Deposit
    from chain.signals import deposits_changed

    Deposit.objects.filter(pk=dep.pk).update(confirmations=confirmations, orphaned=orphaned)
    deposits_changed.send(sender=None, address_ids={dep.address_id})


def mark_scanned(slug: str, *, ago: timedelta = timedelta(0)) -> None:
    """Record that the network's scanner succeeded `ago` ago, as chain.health reads it."""
    from chain.models import Cursor

    Cursor.objects.update_or_create(
        network=slug,
        defaults={"height": 100, "node_head": 100, "block_hash": "0x" + "cd" * 32, "last_success_at": timezone.now() - ago},
    )
