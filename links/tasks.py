"""Links nobody opens still turn Expired: a periodic job (payram/jobs.py) runs this with
Celery beat, and `manage.py scanloop` runs the same function in the embedded default."""

from __future__ import annotations

from celery import shared_task

from links.status import refresh_expired_links


# The name is kept from before links/ was split: beat schedules and queued tasks use it.
@shared_task(name="links.housekeeping.refresh_expired_links_task", ignore_result=True)
def refresh_expired_links_task() -> int:
    """Links whose expiry passed turn Expired even when nobody opens them."""
    return refresh_expired_links()
