"""The Celery app. With REDIS_URL unset (the embedded default) tasks run eagerly in the
calling process and block scanning is done by `manage.py scanloop` instead of beat."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "payram.settings")

app = Celery("payram")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
