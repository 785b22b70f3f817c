"""Writes for payment links. Status is never set here: record the fact, then
links.status.update_link_state derives what it means."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from links.models import LinkStatus, PaymentLink
from links.signals import link_action
from links.status import update_link_state
from members.models import Member, Project


class LinkNotCancellable(Exception):
    """The link was already paid: the merchant cannot cancel it."""


@transaction.atomic
def link_create(
    *,
    project: Project,
    member: Member,
    amount: Decimal,
    currency: str = "USD",
    description: str = "",
    expires_at: datetime | None = None,
    created_by=None,
    created_by_api_key=None,
) -> PaymentLink:
    if member.project_id != project.pk:
        raise ValidationError({"member": "This member belongs to another project."})
    if not isinstance(amount, Decimal) or amount <= 0:
        raise ValidationError({"amount": "Enter an amount greater than zero."})
    link = PaymentLink.objects.create(
        project=project,
        member=member,
        amount=amount,
        currency=currency,
        description=description,
        expires_at=expires_at,
        created_by=created_by,
        created_by_api_key=created_by_api_key,
    )
    update_link_state(link)
    link_action.send(sender=PaymentLink, link=link, action="created")  # webhook, sent after commit
    return link


@transaction.atomic
def link_cancel(*, link: PaymentLink) -> PaymentLink:
    """Cancel a link that has not been paid. Cancelling twice changes nothing."""
    link = PaymentLink.objects.select_for_update().get(pk=link.pk)
    update_link_state(link)  # a payment may have landed since the page was drawn
    if link.status == LinkStatus.SUCCESSFUL:
        raise LinkNotCancellable("This link has already been paid, so it cannot be cancelled.")
    if link.cancelled_at is None:
        link.cancelled_at = timezone.now()
        link.save(update_fields=["cancelled_at"])
        update_link_state(link)
        link_action.send(sender=PaymentLink, link=link, action="cancelled")  # webhook, sent after commit
        return link
    update_link_state(link)
    return link
