"""What the outside world hears about a link: webhook events and the merchant's email.

Called from the places where a link's state is seen to change, inside their transaction:
links.status.update_link_state (derived status, detail, amount received) and
links.services (created, cancelled). Events are stored in that transaction and sent
after it commits, so a rolled-back change announces nothing."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.db import transaction

from links.models import LinkStatus, PaymentLink
from links.notifications import emails
from links.notifications.webhooks import event_record
from links.shape import webhook_link
from links.status import Detail

logger = logging.getLogger("links.events")

# detail -> event type, sent when the link's detail becomes it
DETAIL_EVENTS = {
    Detail.UNDERPAID: "payment.underpaid",
    Detail.OVERPAID: "payment.overpaid",
    Detail.PAID_LATE: "payment.late",
    Detail.REFUND_DUE: "payment.late",  # money after the link closed (expired, cancelled, too late)
}
ATTENTION_DETAILS = tuple(DETAIL_EVENTS)


def link_payload(link: PaymentLink, state=None) -> dict:
    """The `link` object of every event: the API's link (links.shape) plus the keys
    webhooks carried before it, kept as deprecated aliases (docs/webhooks.md)."""
    return webhook_link(link, state)


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
    if new.status == LinkStatus.SUCCESSFUL and old.get("status") != LinkStatus.SUCCESSFUL and new.detail != Detail.SETTLED:
        types.append("payment.confirmed")  # a settlement by hand is announced as link.settled
    detail_event = DETAIL_EVENTS.get(new.detail)
    if detail_event and old.get("status_detail") != new.detail and detail_event not in types:
        types.append(detail_event)
    if new.status == LinkStatus.EXPIRED and old.get("status") != LinkStatus.EXPIRED:
        types.append("link.expired")
    return types


def link_changed(link: PaymentLink, old: Mapping, new) -> None:
    """update_link_state's hook: the link's derived state changed from `old` to `new`.
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
        and new.detail in (Detail.PAID, Detail.PAID_SHORT)
    ):
        emails.notify_payment_received(link, new)
    elif new.detail in ATTENTION_DETAILS and old.get("status_detail") != new.detail:
        emails.notify_needs_attention(link, new)
