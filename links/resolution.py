"""Resolving a link by hand: settle ("Mark as paid") now, refunds beside it. Writes go
through these services; the status is then derived again (links.status), never set."""

from __future__ import annotations

from django.db import transaction

from links.models import LinkSettlement, LinkStatus, PaymentLink
from links.signals import link_action
from links.status import Detail, derive_status, update_link_state
from members.permissions import can
from payram.lib.times import iso_utc

NOTE_MAX = 500


class ResolutionRefused(Exception):
    """The link cannot be resolved this way (the message says why, for the merchant)."""


def may_resolve(user, link: PaymentLink) -> bool:
    """Settle or refund: only the project's owners, never its staff (members.permissions).
    The one place both the dashboard and services ask."""
    return can(user, link.project_id, "settle") and can(user, link.project_id, "refund")


def settle_reason(link: PaymentLink, state=None) -> str:
    """'' when the link can be marked as paid, else why not."""
    state = state or derive_status(link)
    if state.detail == Detail.SETTLED:
        return "This link has already been marked as paid."
    if state.detail == Detail.UNDERPAID or state.detail == Detail.REFUND_DUE:
        return ""
    if state.status == LinkStatus.SUCCESSFUL:
        return "This link has already been paid."
    return "Only an underpaid link, or one with money received after it closed, can be marked as paid."


def link_settle(*, link: PaymentLink, note: str, user=None, by_name: str = "") -> LinkSettlement:
    """Mark the link as paid by hand, with the merchant's note. Keeps the state it was in;
    recorded deposits are untouched. Sends link.settled (after commit)."""
    note = (note or "").strip()
    if not note:
        raise ResolutionRefused("Write a note: why is this link settled by hand?")
    if len(note) > NOTE_MAX:
        raise ResolutionRefused(f"Keep the note to {NOTE_MAX} characters.")
    if user is not None and not may_resolve(user, link):
        raise ResolutionRefused("Only the project's merchant can mark a link as paid.")
    with transaction.atomic():
        locked = PaymentLink.objects.select_for_update(of=("self",)).select_related("project", "member").get(pk=link.pk)
        update_link_state(locked)  # a payment may have landed since the page was drawn
        reason = settle_reason(locked)
        if reason:
            raise ResolutionRefused(reason)
        settlement = LinkSettlement.objects.create(
            link=locked,
            settled_by=user,
            settled_by_name=(by_name or getattr(user, "get_username", lambda: "")())[:150],
            note=note,
            status_before=locked.status,
            detail_before=locked.status_detail,
            amount_received_before=locked.amount_received,
            received_network_before=locked.received_network,
            received_asset_before=locked.received_asset,
        )
        update_link_state(locked)
        link_action.send(sender=PaymentLink, link=locked, action="settled")
    update_link_state(link)
    return settlement


def settlement_payload(link: PaymentLink) -> dict | None:
    """The audit record as the API and webhooks show it."""
    try:
        settlement = link.settlement  # select_related by list pages
    except LinkSettlement.DoesNotExist:
        return None
    return {
        "settled_at": iso_utc(settlement.created_at),
        "settled_by": settlement.settled_by_name,
        "note": settlement.note,
        "status_before": settlement.status_before,
        "detail_before": settlement.detail_before,
        "amount_received_before_base_units": None
        if settlement.amount_received_before is None
        else str(int(settlement.amount_received_before)),
    }
