"""Send every webhook attempt that is due (retries on the backoff schedule). Beat runs
links.tasks.retry_due_webhooks every minute with a worker; the embedded default runs it
from `manage.py scanloop`, or from cron with this command."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from links.notifications.webhooks import retry_due_webhooks


class Command(BaseCommand):
    help = "Send due webhook deliveries and retries once, then exit."

    def handle(self, *args, **options) -> None:
        made = retry_due_webhooks()
        self.stdout.write(f"{made} webhook attempt(s) made")
