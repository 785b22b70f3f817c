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
app.conf.include = ["links.housekeeping"]
logger = logging.getLogger("payram.celery")


@app.on_after_configure.connect
def _schedule_network_scans(sender: Celery, **kwargs) -> None:
    """One beat entry per enabled network, built when the app is configured (the
    catalogue reads the environment, so it cannot be built at import time)."""
    from chain.schedule import beat_schedule
    from links import housekeeping

    sender.conf.beat_schedule = {**(sender.conf.beat_schedule or {}), **beat_schedule(), **housekeeping.beat_schedule()}


@beat_init.connect
def _report_networks(sender, **kwargs) -> None:
    """Say at start which networks beat schedules and which are misconfigured (and not watched)."""
    from chain.health import configured_networks

    enabled, errors = configured_networks()
    for slug, message in errors.items():
        logger.error("network %s is misconfigured and not watched: %s", slug, message)
    logger.info("scanning %s", ", ".join(f"{n.slug} every {n.poll_interval:g} s" for n in enabled) or "no network (set PAYRAM_RPC_<NETWORK>)")
