"""Thin Celery tasks for webhooks and email: take ids or a composed message, call a service."""

from __future__ import annotations

import logging
import smtplib

from celery import shared_task

logger = logging.getLogger("links.tasks")


@shared_task(name="links.tasks.deliver_webhooks_task", ignore_result=True, acks_late=True)
def deliver_webhooks_task(delivery_ids: list[int]) -> int:
    """First attempt of these deliveries, right after the event's transaction committed.
    Failures are scheduled on the delivery row and retried by retry_due_webhooks."""
    from links.webhooks import deliver

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
    from links.webhooks import retry_due_webhooks as sweep

    return sweep()


@shared_task(
    name="links.tasks.send_email_task",
    ignore_result=True,
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,  # 30 s, 60 s, 2 min ... with jitter
    retry_backoff_max=3600,
    retry_jitter=True,
    max_retries=6,
)
def send_email_task(message: dict) -> None:
    """Send one composed email (links.emails.compose_*). The message carries no secrets."""
    from links.emails import send_composed

    send_composed(message)
