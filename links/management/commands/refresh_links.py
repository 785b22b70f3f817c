"""python manage.py refresh_links [--all]

Rerun the one status function where time alone changes the answer: Pending links whose
own expiry has passed become Expired (or stay Pending while their money is confirming).
The pay page refreshes its link on every view; this keeps All Payments right for links
nobody opens. Schedule it (cron, or Celery beat) every few minutes. --all refreshes
every link, e.g. after changing PAYRAM_LATE_PAYMENT_HOURS or a confirmation threshold.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from links.models import PaymentLink
from links.status import refresh_expired_links, refresh_link_status


class Command(BaseCommand):
    help = "Refresh the derived status of links whose expiry passed (--all: of every link)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="refresh every link, not only expired pending ones")

    def handle(self, *args, all: bool = False, **options):
        if all:
            count = 0
            for link in PaymentLink.objects.iterator():
                refresh_link_status(link)
                count += 1
            self.stdout.write(f"Refreshed {count} links.")
        else:
            self.stdout.write(f"{refresh_expired_links()} links changed status.")
