"""The Celery app. With REDIS_URL unset (the embedded default) tasks run eagerly in the
calling process and block scanning is done by `manage.py scanloop` instead of beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "payram.settings")

app = Celery("payram")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@app.on_after_configure.connect
def _schedule_network_scans(sender: Celery, **kwargs) -> None:
    """One beat entry per enabled network, built when the app is configured (the
    catalogue reads the environment, so it cannot be built at import time)."""
    from chain.schedule import beat_schedule

    sender.conf.beat_schedule = {**(sender.conf.beat_schedule or {}), **beat_schedule()}
