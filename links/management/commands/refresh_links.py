"""python manage.py refresh_links [--all]

Rerun the one status writer where time alone changes the answer: Pending links whose
own expiry has passed become Expired (or stay Pending while their money is confirming).
Pages only show a passed expiry (they never write); this stores it, sends its webhook
and keeps All Payments right. Schedule it (cron, or Celery beat) every few minutes. --all refreshes
every link, e.g. after changing PAYRAM_LATE_PAYMENT_HOURS (a project's thresholds and tolerance
update its pending links by themselves: members.signals.project_policy_changed).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from links.models import PaymentLink
from links.status import refresh_expired_links, update_link_state


class Command(BaseCommand):
    help = "Refresh the derived status of links whose expiry passed (--all: of every link)."

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="refresh every link, not only expired pending ones")

    def handle(self, *args, all: bool = False, **options):
        if all:
            count = 0
            for link in PaymentLink.objects.iterator():
                update_link_state(link)
                count += 1
            self.stdout.write(f"Refreshed {count} links.")
        else:
            self.stdout.write(f"{refresh_expired_links()} links changed status.")
