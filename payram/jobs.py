"""One table of periodic jobs, for both runtimes.

With a worker (REDIS_URL set) Celery beat sends them (`beat_schedule()`, installed by
payram/celery.py); in the embedded default `manage.py scanloop` runs the same functions
in-process (`run_housekeeping()`). Scanning is one job per enabled network at its poll
interval; housekeeping (link expiry, webhook and email retries) runs every minute.

Tasks are named by string and their functions by dotted path, imported when run: importing
the task modules here would configure the Celery app in the middle of its own import."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

logger = logging.getLogger("payram.jobs")

EVERY_MINUTE = 60.0
SCAN_TASK = "chain.tasks.scan_network_task"


@dataclass(frozen=True)
class Job:
    name: str  # the beat entry's name
    task: str  # the Celery task's registered name
    function: str  # "module:attribute", what scanloop calls in-process
    every: float  # seconds between runs
    args: tuple = field(default=())

    def run(self) -> Any:
        module, _, attribute = self.function.partition(":")
        target = getattr(import_module(module), attribute)
        return target.run(*self.args) if hasattr(target, "run") else target(*self.args)

    def beat_entry(self) -> dict[str, Any]:
        # A run not started by the next tick is superseded by that tick's.
        entry: dict[str, Any] = {"task": self.task, "schedule": self.every, "options": {"expires": max(self.every, 2.0)}}
        if self.args:
            entry["args"] = self.args
        return entry


HOUSEKEEPING: dict[str, Job] = {
    job.name: job
    for job in (
        Job(
            "refresh-expired-links",
            "links.housekeeping.refresh_expired_links_task",
            "links.tasks:refresh_expired_links_task",
            EVERY_MINUTE,
        ),
        # webhook retries whose time has come
        Job("retry-due-webhooks", "links.tasks.retry_due_webhooks", "links.notifications.tasks:retry_due_webhooks", EVERY_MINUTE),
        # email retries, and first tries lost to a restart
        Job("retry-due-emails", "links.tasks.retry_due_emails", "links.notifications.tasks:retry_due_emails", EVERY_MINUTE),
    )
}

# The modules holding the tasks above, for the worker to import.
TASK_MODULES = ["chain.tasks", "links.tasks", "links.notifications.tasks"]


def scan_jobs() -> dict[str, Job]:
    """One scan per enabled network at its poll interval. Built when asked (the catalogue
    reads the configuration); misconfigured networks are reported by health, not scheduled."""
    from chain.health import configured_networks  # the catalogue is built on first use, not at import

    enabled, _errors = configured_networks()
    return {
        f"scan-{net.slug}": Job(f"scan-{net.slug}", SCAN_TASK, "chain.tasks:scan_network_task", net.poll_interval, (net.slug,))
        for net in enabled
    }


def beat_schedule() -> dict[str, dict[str, Any]]:
    """Celery beat's whole schedule: every scan and every housekeeping job."""
    return {name: job.beat_entry() for name, job in {**scan_jobs(), **HOUSEKEEPING}.items()}


def run_housekeeping(jobs: dict[str, Job] | None = None) -> None:
    """One pass of every housekeeping job, in-process (the scan loop's way). A failing job
    is logged and does not stop the others or the scanning."""
    for name, job in (HOUSEKEEPING if jobs is None else jobs).items():
        try:
            job.run()
        except Exception:  # logged with traceback; scanning must go on
            logger.exception("housekeeping job %s failed", name)
