"""The Celery app. With REDIS_URL unset (the embedded default) tasks run eagerly in the
calling process and block scanning is done by `manage.py scanloop` instead of beat."""

import logging
import os

from celery import Celery
from celery.signals import beat_init

from payram.jobs import TASK_MODULES, beat_schedule

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "payram.settings")

app = Celery("payram")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# The task modules the worker imports, and beat's schedule: both from the one job table
# (payram/jobs.py) that `manage.py scanloop` runs in the embedded default.
app.conf.include = list(TASK_MODULES)
logger = logging.getLogger("payram.celery")


@app.on_after_configure.connect
def _schedule_jobs(sender: Celery, **kwargs) -> None:
    """Beat's entries: one scan per enabled network and the housekeeping jobs, built when
    the app is configured (the catalogue reads the configuration, not at import time)."""
    sender.conf.beat_schedule = {**(sender.conf.beat_schedule or {}), **beat_schedule()}


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
