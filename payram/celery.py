"""The Celery app. With REDIS_URL unset (the embedded default) tasks run eagerly in the
calling process and block scanning is done by `manage.py scanloop` instead of beat."""

import logging
import os

from celery import Celery
from celery.signals import beat_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "payram.settings")

app = Celery("payram")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.include = ["links.housekeeping", "links.tasks"]
logger = logging.getLogger("payram.celery")

# Periodic jobs besides scanning (links/housekeeping.py; the scan loop runs the same ones).
# Named by string: importing the task module here could configure the app mid-import.
HOUSEKEEPING_SCHEDULE = {
    "refresh-expired-links": {
        "task": "links.housekeeping.refresh_expired_links_task",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "retry-due-webhooks": {
        "task": "links.tasks.retry_due_webhooks",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
    "retry-due-emails": {
        "task": "links.tasks.retry_due_emails",
        "schedule": 60.0,
        "options": {"expires": 60.0},
    },
}


@app.on_after_configure.connect
def _schedule_network_scans(sender: Celery, **kwargs) -> None:
    """One beat entry per enabled network, built when the app is configured (the
    catalogue reads the environment, so it cannot be built at import time)."""
    from chain.schedule import beat_schedule

    sender.conf.beat_schedule = {**(sender.conf.beat_schedule or {}), **beat_schedule(), **HOUSEKEEPING_SCHEDULE}


@beat_init.connect
def _report_networks(sender, **kwargs) -> None:
    """Say at start which networks beat schedules and which are misconfigured (and not watched)."""
    from chain.health import configured_networks

    enabled, errors = configured_networks()
    for slug, message in errors.items():
        logger.error("network %s is misconfigured and not watched: %s", slug, message)
    logger.info(
        "scanning %s",
        ", ".join(f"{n.slug} every {n.poll_interval:g} s" for n in enabled) or "no network (set PAYRAM_RPC_<NETWORK>)",
    )
