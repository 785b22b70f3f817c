"""Periodic jobs that are not block scanning: Celery beat runs them with a worker
(REDIS_URL set); `manage.py scanloop` runs the same functions in the embedded default."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("links.housekeeping")

EVERY_SECONDS = 60.0


@shared_task(name="links.housekeeping.refresh_expired_links_task", ignore_result=True)
def refresh_expired_links_task() -> int:
    """Links whose expiry passed turn Expired even when nobody opens them."""
    from links.status import refresh_expired_links

    return refresh_expired_links()


def _jobs() -> dict:
    from links.tasks import retry_due_emails, retry_due_webhooks

    return {
        "refresh-expired-links": refresh_expired_links_task,
        "retry-due-webhooks": retry_due_webhooks,  # webhook retries whose time has come
        "retry-due-emails": retry_due_emails,  # email retries, and first tries lost to a restart
    }


# Celery beat's entries for these are payram.celery.HOUSEKEEPING_SCHEDULE.
JOBS = _jobs()


def run_all() -> None:
    """One pass of every job, in-process (the scan loop's way). A failing job is logged
    and does not stop the others or the scanning."""
    for name, task in JOBS.items():
        try:
            task.run()
        except Exception:  # logged with traceback; scanning must go on
            logger.exception("housekeeping job %s failed", name)
