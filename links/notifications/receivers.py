"""notifications listens to links: every change of a link's state, every action on a
link and every refund step becomes webhook events and emails here, written in the
transaction of the change (links.signals) and sent after it commits.

A failure here is logged and must not undo the change that caused it: the status of a
link is what the chain says, whether or not its webhook could be recorded."""

from __future__ import annotations

import logging

from links.models import PaymentLink, Refund
from links.notifications import emails, events
from links.notifications.models import EmailKind
from links.notifications.webhooks import event_record
from links.refunds import refund_payload, refund_url
from links.signals import link_action, link_changed, refund_changed
from members.models import Invitation
from members.signals import invitation_created
from payram.lib.mail import email_enabled

logger = logging.getLogger("links.notifications")

_ACTIONS = {"created": events.link_created, "cancelled": events.link_cancelled, "settled": events.link_settled}


def on_link_changed(sender, *, link: PaymentLink, old, new, **kwargs) -> None:
    events.link_changed(link, old, new)  # logs its own failures


def on_link_action(sender, *, link: PaymentLink, action: str, **kwargs) -> None:
    _ACTIONS[action](link)


def on_refund_changed(sender, *, refund: Refund, event: str, **kwargs) -> None:
    link = refund.link
    payload = {
        "project": {"id": link.project_id, "name": link.project.name},
        "link": events.link_payload(link),
        "refund": refund_payload(refund),
    }
    event_record(project=link.project, event_type=event, payload_without_id=payload, link=link)
    if event == "refund.requested":
        _email_refund_request(refund)


def _email_refund_request(refund: Refund) -> None:
    """Ask the customer where to send their refund."""
    if not email_enabled():
        return
    link = refund.link
    emails._queue(
        kind=EmailKind.REFUND_REQUEST,
        link=link,
        to=[link.member.email],
        subject=f"Your refund from {link.project.name}: where should we send it?",
        template="member_refund_request",
        context={"refund": refund, "payload": refund_payload(refund), "url": refund_url(refund), "member": link.member},
    )


def on_invitation_created(sender, *, invitation: Invitation, url: str, **kwargs) -> None:
    """Email the invitation when email is on; the owner also sees the link once, to share."""
    if email_enabled():
        emails.queue_team_invitation(invitation=invitation, url=url)


def connect() -> None:
    link_changed.connect(on_link_changed, sender=PaymentLink, dispatch_uid="notifications.link_changed")
    link_action.connect(on_link_action, sender=PaymentLink, dispatch_uid="notifications.link_action")
    refund_changed.connect(on_refund_changed, sender=Refund, dispatch_uid="notifications.refund_changed")
    invitation_created.connect(on_invitation_created, sender=Invitation, dispatch_uid="notifications.invitation_created")
