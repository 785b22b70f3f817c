"""The outboxes' sweeps as Celery tasks (the job table, payram/jobs.py, runs them every
minute). The first-try tasks live beside what they call: webhooks.deliver_webhooks_task,
emails.send_email_task."""

from __future__ import annotations

from celery import shared_task

from links.notifications import emails, webhooks
from links.notifications.emails import send_email_task
from links.notifications.webhooks import deliver_webhooks_task

__all__ = ["deliver_webhooks_task", "retry_due_emails", "retry_due_webhooks", "send_email_task"]


@shared_task(name="links.tasks.retry_due_webhooks", ignore_result=True)
def retry_due_webhooks() -> int:
    """Every webhook attempt that is due (retries on the backoff schedule, first tries
    whose task was lost). Beat runs it every minute; so does `manage.py scanloop`."""
    return webhooks.retry_due_webhooks()


@shared_task(name="links.tasks.retry_due_emails", ignore_result=True)
def retry_due_emails() -> int:
    """Every queued email whose try is due (retries on the backoff schedule, first tries
    whose task was lost). Beat runs it every minute; so does `manage.py scanloop`."""
    return emails.retry_due_emails()
