"""Work that must not hold up a page or a scan: run a Celery task after the current
transaction commits. With a worker (REDIS_URL set) it is queued. In the embedded
default (no Redis, eager tasks) it runs in a short-lived thread, so a slow webhook
receiver or mail server never blocks the request; a failure is logged, never raised.
Nothing waits and retries here: webhook deliveries and emails are rows whose retries
the housekeeping sweeps make, so a restart loses none of them."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections, transaction

logger = logging.getLogger("links.background")

# Tests set this to False to run the work inline, where the test's transaction is visible.
EAGER_IN_THREAD = True


def run_after_commit(task, *args: Any) -> None:
    transaction.on_commit(lambda: _start(task, args))


def _start(task, args: tuple) -> None:
    try:
        if not getattr(settings, "CELERY_TASK_ALWAYS_EAGER", False):
            task.delay(*args)
        elif EAGER_IN_THREAD:
            threading.Thread(target=_run_in_thread, args=(task, args), name=f"payram-{task.name}", daemon=True).start()
        else:
            _run(task, args)
    except Exception:  # never break the page or scan that caused the work
        logger.exception("could not start background task %s", task.name)


def _run(task, args: tuple) -> None:
    """Run the task here, once. Errors are logged by type only (an SMTP or HTTP error
    message can carry an address or a credential)."""
    try:
        task.apply(args=args, throw=True)
    except Exception as exc:
        logger.error("background task %s failed (%s)", task.name, type(exc).__name__)


def _run_in_thread(task, args: tuple) -> None:
    close_old_connections()
    try:
        _run(task, args)
    finally:
        connections.close_all()
