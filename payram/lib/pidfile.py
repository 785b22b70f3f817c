"""Where a running `manage.py scanloop` leaves its process id, so `manage.py resetscan
--wake-scanloop` (and bin/reset-scanning) can tell it to re-read its configuration."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def scanloop_pidfile() -> Path:
    return Path(settings.VAR_DIR) / "scanloop.pid"
