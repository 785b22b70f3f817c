"""Thin Celery tasks for webhooks and email: take row ids, call a service."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("links.tasks")


@shared_task(name="links.tasks.deliver_webhooks_task", ignore_result=True, acks_late=True)
def deliver_webhooks_task(delivery_ids: list[int]) -> int:
    """First attempt of these deliveries, right after the event's transaction committed.
    Failures are scheduled on the delivery row and retried by retry_due_webhooks."""
    from links.notifications.webhooks import deliver

    made = 0
    for delivery_id in delivery_ids:
        try:
            made += deliver(delivery_id) is not None
        except Exception:  # the sweep retries it: the row is still pending
            logger.exception("webhook delivery %s failed unexpectedly", delivery_id)
    return made


@shared_task(name="links.tasks.retry_due_webhooks", ignore_result=True)
def retry_due_webhooks() -> int:
    """Every webhook attempt that is due (retries on the backoff schedule, first tries
    whose task was lost). Beat runs it every minute; so does `manage.py scanloop`."""
    from links.notifications.webhooks import retry_due_webhooks as sweep

    return sweep()


@shared_task(name="links.tasks.send_email_task", ignore_result=True, acks_late=True)
def send_email_task(email_id: int | dict) -> bool | None:
    """First try of one queued email (an OutboundEmail id), right after the transaction
    that wrote it committed. A failure is scheduled on the row and retried by
    retry_due_emails, never by Celery: the task itself does not retry."""
    from links.notifications.emails import send_email

    if isinstance(email_id, dict):  # queued by a payram from before the email outbox
        email_id = _outbox_row_for_composed(email_id)
        if email_id is None:
            return None
    try:
        return send_email(email_id)
    except Exception:  # the sweep retries it: the row is still queued
        logger.exception("email %s failed unexpectedly", email_id)
        return None


def _outbox_row_for_composed(message: dict) -> int | None:
    """A message composed into a dict (before the outbox) becomes an outbox row."""
    from django.utils import timezone

    from links.models import PaymentLink
    from links.notifications.models import OutboundEmail

    link = PaymentLink.objects.filter(code=message.get("link")).first()
    if link is None:
        logger.error("email %s for a link that no longer exists dropped", message.get("kind"))
        return None
    return OutboundEmail.objects.create(
        link=link,
        kind=message["kind"],
        recipients=message["to"],
        from_email=message["from"],
        subject=message["subject"][:200],
        text=message["text"],
        html=message.get("html", ""),
        next_attempt_at=timezone.now(),
    ).pk


@shared_task(name="links.tasks.retry_due_emails", ignore_result=True)
def retry_due_emails() -> int:
    """Every queued email whose try is due (retries on the backoff schedule, first tries
    whose task was lost). Beat runs it every minute; so does `manage.py scanloop`."""
    from links.notifications.emails import retry_due_emails as sweep

    return sweep()
