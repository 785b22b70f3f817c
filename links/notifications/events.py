"""What the outside world hears about a link: webhook events and the merchant's email.

Called from the places where a link's state is seen to change, inside their transaction:
links.status.refresh_link_state (derived status, detail, amount received) and
links.services (created, cancelled). Events are stored in that transaction and sent
after it commits, so a rolled-back change announces nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import transaction

from links.models import LinkStatus, PaymentLink
from links.notifications import emails
from links.notifications.webhooks import event_record
from links.refunds import refund_payload
from links.resolution import settlement_payload
from links.selectors import coin_amount, public_url
from links.status import derive_status, link_deposits
from payram.lib.times import iso_utc

logger = logging.getLogger("links.events")

# detail -> event type, sent when the link's detail becomes it
DETAIL_EVENTS = {
    "underpaid": "payment.underpaid",
    "overpaid": "payment.overpaid",
    "paid_late": "payment.late",
    "refund_due": "payment.late",  # money after the link closed (expired, cancelled, too late)
}
ATTENTION_DETAILS = ("underpaid", "overpaid", "paid_late", "refund_due")


def _amount(units, network: str, asset: str) -> str | None:
    return coin_amount(units, network, asset)


def link_payload(link: PaymentLink, state=None) -> dict:
    """The `link` object of every event: amounts are strings, never floats."""

    state = state or derive_status(link)
    quote = state.quote
    network = state.received_network or (quote.network if quote else "")
    asset = state.received_asset or (quote.asset if quote else "")
    transactions = [
        {
            "network": view.deposit.network,
            "asset": view.deposit.asset,
            "tx_hash": view.deposit.tx_hash,
            "index": view.deposit.index,
            "amount": _amount(view.deposit.value, view.deposit.network, view.deposit.asset),
            "amount_base_units": str(int(view.deposit.value)),
            "confirmations": view.confirmations,
            "confirmations_required": view.confirmations_required,
            "counted": view.counted,
            "orphaned": view.deposit.orphaned,
            "first_seen": iso_utc(view.deposit.first_seen_at),
            "sent_at": iso_utc(view.deposit.paid_time),
        }
        for view in reversed(link_deposits(link, state=state))  # oldest first
    ]
    return {
        "code": link.code,
        "url": public_url(link),
        "status": str(state.status),
        "detail": state.detail,
        "description": link.description,
        "member_email": link.member.email,
        "amount": str(link.amount),
        "currency": link.currency,
        "network": network,
        "asset": asset,
        "amount_due": _amount(state.amount_due, network, asset),
        "amount_due_base_units": None if state.amount_due is None else str(state.amount_due),
        "amount_received": _amount(state.amount_received, network, asset) if state.amount_received is not None else None,
        "amount_received_base_units": None if state.amount_received is None else str(state.amount_received),
        "amount_short": _amount(state.amount_short, network, asset) if state.amount_short else None,
        "amount_short_base_units": str(state.amount_short) if state.amount_short else None,
        "created": iso_utc(link.created_at),
        "expires_at": iso_utc(link.expires_at),
        "paid_at": iso_utc(state.paid_at),
        "cancelled_at": iso_utc(link.cancelled_at),
        "transactions": transactions,
        "settlement": settlement_payload(link),
        "refunds": [refund_payload(r) for r in link.refunds.order_by("created_at", "id")],
    }


def _emit(link: PaymentLink, event_type: str, state=None) -> None:
    payload = {"project": {"id": link.project_id, "name": link.project.name}, "link": link_payload(link, state)}
    event_record(project=link.project, event_type=event_type, payload_without_id=payload, link=link)


def link_created(link: PaymentLink) -> None:
    _emit(link, "link.created")


def link_cancelled(link: PaymentLink) -> None:
    _emit(link, "link.cancelled")


def link_settled(link: PaymentLink) -> None:
    _emit(link, "link.settled")


def event_types_for_change(old: Mapping, new) -> list[str]:
    """The events a change of derived state means, in the order they happened.
    `old` holds the persisted fields before (status, status_detail, amount_received);
    `new` is the LinkState after. Cancellation is announced by links.services."""
    types: list[str] = []
    before = int(old.get("amount_received") or 0)
    after = int(new.amount_received or 0)
    if after > before:
        types.append("payment.detected")
    if new.status == LinkStatus.SUCCESSFUL and old.get("status") != LinkStatus.SUCCESSFUL and new.detail != "settled":
        types.append("payment.confirmed")  # a settlement by hand is announced as link.settled
    detail_event = DETAIL_EVENTS.get(new.detail)
    if detail_event and old.get("status_detail") != new.detail and detail_event not in types:
        types.append(detail_event)
    if new.status == LinkStatus.EXPIRED and old.get("status") != LinkStatus.EXPIRED:
        types.append("link.expired")
    return types


def link_changed(link: PaymentLink, old: Mapping, new) -> None:
    """refresh_link_state's hook: the link's derived state changed from `old` to `new`.
    Must not fail the refresh: a problem here is logged and the status still changes."""
    try:
        with _savepoint():
            for event_type in event_types_for_change(old, new):
                _emit(link, event_type, new)
            _notify_merchant(link, old, new)
    except Exception:
        logger.exception("could not record the events of link %s", link.code)


def _savepoint():
    return transaction.atomic()


def _notify_merchant(link: PaymentLink, old: Mapping, new) -> None:
    if new.status == LinkStatus.SUCCESSFUL and old.get("status") != LinkStatus.SUCCESSFUL:
        emails.send_receipt_to_member(link)
    if (
        new.status == LinkStatus.SUCCESSFUL
        and old.get("status") != LinkStatus.SUCCESSFUL
        and new.detail in ("paid", "paid_short")
    ):
        emails.notify_payment_received(link, new)
    elif new.detail in ATTENTION_DETAILS and old.get("status_detail") != new.detail:
        emails.notify_needs_attention(link, new)
